//! Triage end to end on the in-memory store: decided, audited and stored once; a missed
//! deadline never automates; the same inputs on the same clock give the same bytes; guardrail
//! state survives a restart.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use arbiter_core::{Actor, AlertState, ManualClock, Tier};
use arbiter_ingest::Record;
use arbiter_ledger::Ledger;
use arbiter_model::Model;
use arbiter_policy::Policy;
use arbiter_store::{MemoryStore, SqliteStore, Store, StoreRead};
use arbiter_triage::{Engine, Incoming, KeyMaker, Scorer, Summary, put_in_force};

struct Fixture {
    _dir: tempfile::TempDir,
    bundle: PathBuf,
    model: Arc<Model>,
    test: Vec<Record>,
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A small SYNTHETIC scenario and a bundle trained on it, once per test binary.
fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let scn = dir.path().join("scn");
        let opts = arbiter_scenario::Options {
            train_rows: 2000,
            test_rows: 400,
            drift: true,
            gaps: 0.03,
        };
        arbiter_scenario::generate("soc-mixed", 11, &opts, &scn).unwrap();
        let schema = arbiter_ingest::load_schema(&scn.join("schema.yaml")).unwrap();
        let load = |name: &str| {
            arbiter_ingest::load(
                &schema,
                &scn.join(name),
                arbiter_ingest::OnError::Fail,
                &mut |_, _| {},
            )
            .unwrap()
        };
        let inputs = vec![arbiter_train::InputFile {
            name: "train.csv".into(),
            sha256: "synthetic".into(),
            data: load("train.csv"),
            weights: None,
        }];
        let options = arbiter_train::TrainOptions {
            members: 3,
            iterations: 25,
            ..Default::default()
        };
        let trained =
            arbiter_train::train(&schema, inputs, &options, &arbiter_train::Quiet).unwrap();
        let bundle = dir.path().join("bundle");
        arbiter_train::bundle::write(&bundle, &trained.files).unwrap();
        let model = Arc::new(Model::load(&bundle).unwrap());
        Fixture {
            test: load("test.csv").records,
            _dir: dir,
            bundle,
            model,
        }
    })
}

fn policy() -> (Arc<Policy>, String) {
    let path = repo().join("policies/default.yaml");
    (
        Arc::new(Policy::load(&path).unwrap()),
        std::fs::read_to_string(&path).unwrap(),
    )
}

/// A ledger over `store` with the policy and model in force, and an engine.
fn engine(
    store: Arc<dyn Store>,
    audit: &Path,
    clock: Arc<ManualClock>,
    deadline: Duration,
) -> (Ledger, Engine) {
    let (ledger, engine, _) = engine_and_scorer(store, audit, clock, deadline);
    (ledger, engine)
}

/// [`engine`], with the scorer it drives (for what a test asks of the scorer itself).
fn engine_and_scorer(
    store: Arc<dyn Store>,
    audit: &Path,
    clock: Arc<ManualClock>,
    deadline: Duration,
) -> (Ledger, Engine, Arc<Scorer>) {
    let f = fixture();
    let mut ledger = Ledger::open(store, audit, clock).unwrap().ledger;
    let (policy, text) = policy();
    put_in_force(
        &mut ledger,
        &text,
        "policies/default.yaml",
        &f.model,
        &f.bundle,
        &Actor::system("test"),
    )
    .unwrap();
    let scorer = Arc::new(Scorer::new(f.model.clone(), None, None).unwrap());
    let engine = Engine::new(scorer.clone(), policy, &ledger, deadline).unwrap();
    (ledger, engine, scorer)
}

fn batches(records: &[Record], size: usize) -> Vec<Vec<Incoming>> {
    let f = fixture();
    let mut keys = KeyMaker::new("test", &f.model.schema).unwrap();
    records
        .chunks(size)
        .map(|c| {
            c.iter()
                .map(|r| Incoming {
                    key: keys.key(r).unwrap(),
                    record: r.clone(),
                })
                .collect()
        })
        .collect()
}

fn clock() -> Arc<ManualClock> {
    Arc::new(ManualClock::at("2026-12-01T09:00:00Z"))
}

#[test]
fn a_batch_is_decided_audited_and_stored_once_and_a_rerun_stores_nothing() {
    let f = fixture();
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(MemoryStore::new());
    let (mut ledger, mut engine) = engine(
        store.clone(),
        &dir.path().join("audit"),
        clock(),
        Duration::from_secs(60),
    );
    let before = ledger.audit().len();
    let mut sum = Summary::default();
    let mut out = Vec::new();
    for b in batches(&f.test[..200], 64) {
        out.extend(engine.triage(b, "test.csv", &mut ledger, &mut sum).unwrap());
    }
    assert_eq!(out.len(), 200);
    assert!(out.iter().all(|t| t.new && t.audit_index.is_some()));
    assert_eq!(ledger.audit().len() - before, 200, "one entry per decision");
    assert_eq!(store.stats().unwrap().alerts, 200);
    assert_eq!(sum.stored, 200);
    for t in out.iter().take(20) {
        let a = store.alert(t.id).unwrap().unwrap();
        assert_eq!(Some(a.state), t.state);
        let p = store.package(t.id).unwrap().unwrap();
        assert_eq!(
            p.alert_id,
            a.key.to_string(),
            "the package names the alert's identity"
        );
        let d = store.decisions(t.id).unwrap();
        assert_eq!(Some(d[0].audit_index), t.audit_index);
    }
    // Nothing uncertain was automated.
    for t in &out {
        if t.tier == Some(Tier::Auto) {
            assert!(t.flags.is_empty(), "{t:?}");
        }
    }
    let mut again = Summary::default();
    for b in batches(&f.test[..200], 64) {
        let o = engine
            .triage(b, "copy-of-test.csv", &mut ledger, &mut again)
            .unwrap();
        assert!(o.iter().all(|t| !t.new));
    }
    assert_eq!(again.already_stored, 200);
    assert_eq!(store.stats().unwrap().alerts, 200);
    assert_eq!(ledger.audit().len() - before, 200);
}

#[test]
fn a_missed_deadline_decides_every_alert_without_the_model_and_never_automates() {
    let f = fixture();
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(MemoryStore::new());
    let (mut ledger, mut engine) = engine(
        store.clone(),
        &dir.path().join("audit"),
        clock(),
        Duration::ZERO,
    );
    let mut sum = Summary::default();
    let out = engine
        .triage(
            batches(&f.test[..50], 50).remove(0),
            "test.csv",
            &mut ledger,
            &mut sum,
        )
        .unwrap();
    assert_eq!(sum.timeouts, 50);
    for t in &out {
        assert_eq!(t.tier, Some(Tier::Analyst), "{t:?}");
        assert_eq!(t.state, Some(AlertState::Analyst));
        assert_eq!(t.action, None, "no model, no recommended action");
        assert!(t.reasons.contains(&"model_timeout".to_string()));
    }
}

#[test]
fn issue_10_the_same_inputs_on_the_same_clock_give_byte_identical_decisions_and_audit_entries() {
    let f = fixture();
    let run = || {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(MemoryStore::new());
        let c = clock();
        let (mut ledger, mut engine) = engine(
            store.clone(),
            &dir.path().join("audit"),
            c.clone(),
            Duration::from_secs(60),
        );
        let mut sum = Summary::default();
        for b in batches(&f.test[..240], 60) {
            engine.triage(b, "test.csv", &mut ledger, &mut sum).unwrap();
            c.advance_ms(30_000);
        }
        let decisions: Vec<_> = (1..=240)
            .map(|id| {
                (
                    store.alert(id).unwrap().unwrap(),
                    store.decisions(id).unwrap(),
                )
            })
            .collect();
        drop(ledger);
        let log = std::fs::read(dir.path().join("audit/entries.log")).unwrap();
        (serde_json::to_string(&decisions).unwrap(), log)
    };
    let (d1, log1) = run();
    let (d2, log2) = run();
    assert!(
        log1.len() > 100_000,
        "the log holds the decisions and their evidence"
    );
    assert_eq!(d1, d2, "the stored decisions");
    assert_eq!(log1, log2, "the audit entries, byte for byte");
}

#[test]
fn rate_limits_and_flood_control_carry_over_a_restart() {
    let f = fixture();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("arbiter.db");
    let audit = dir.path().join("audit");
    let all = batches(&f.test[..300], 150);
    let first = {
        let store = Arc::new(SqliteStore::open(&db).unwrap());
        let (mut ledger, mut engine) = engine(store, &audit, clock(), Duration::from_secs(60));
        let mut sum = Summary::default();
        engine
            .triage(all[0].clone(), "test.csv", &mut ledger, &mut sum)
            .unwrap();
        sum
    };
    assert!(first.new_patterns > 0);
    let store = Arc::new(SqliteStore::open(&db).unwrap());
    let limiter = store.get_state(arbiter_triage::RATE_LIMITER_STATE).unwrap();
    assert!(limiter.is_some(), "stored with the decisions");
    // Restarted: the patterns of the first half are not new again.
    let (mut ledger, mut engine) = engine(store.clone(), &audit, clock(), Duration::from_secs(60));
    let mut replay = Summary::default();
    let repeat: Vec<Incoming> = all[0]
        .iter()
        .map(|i| Incoming {
            key: arbiter_core::AlertKey::new("other-source", i.key.id()).unwrap(),
            record: i.record.clone(),
        })
        .collect();
    engine
        .triage(repeat, "test.csv", &mut ledger, &mut replay)
        .unwrap();
    assert_eq!(replay.stored, 150);
    assert_eq!(
        replay.new_patterns, 0,
        "flood control was rebuilt from the stored cases"
    );
}

#[test]
fn an_alert_a_person_resolved_becomes_a_similar_case_for_every_alert_after_it() {
    let f = fixture();
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(MemoryStore::new());
    let (mut ledger, mut engine, scorer) = engine_and_scorer(
        store.clone(),
        &dir.path().join("audit"),
        clock(),
        Duration::from_secs(60),
    );
    let mut all = batches(&f.test[..60], 30);
    let mut sum = Summary::default();
    let first = engine
        .triage(all.remove(0), "test.csv", &mut ledger, &mut sum)
        .unwrap();
    let p = store.package(first[0].id).unwrap().unwrap();
    assert!(p.similar_cases.cases.is_empty());
    assert!(
        p.similar_cases
            .note
            .as_deref()
            .unwrap()
            .contains("resolved yet"),
        "{:?}",
        p.similar_cases
    );
    let resolved = store.alert(first[0].id).unwrap().unwrap();
    let rules = arbiter_ledger::Rules {
        reason_codes: vec!["model_wrong".into()],
        labels: vec!["benign".into()],
        features: vec![],
    };
    let req = arbiter_ledger::DecisionRequest {
        action: "override".into(),
        reason_code: Some("model_wrong".into()),
        note: Some("a scheduled job".into()),
        label: Some("benign".into()),
        feature: None,
    };
    let ann = Actor::person("ann", arbiter_core::Role::Analyst, 1);
    ledger.decide(resolved.id, &req, &ann, &rules).unwrap();
    assert_eq!(scorer.learn_cases(store.as_ref()).unwrap(), 1);
    assert_eq!(
        scorer.learn_cases(store.as_ref()).unwrap(),
        0,
        "each alert once"
    );
    let later = engine
        .triage(all.remove(0), "test.csv", &mut ledger, &mut sum)
        .unwrap();
    for t in &later {
        let p = store.package(t.id).unwrap().unwrap();
        let c = &p.similar_cases;
        assert_eq!(c.cases.len(), 1, "{c:?}");
        assert_eq!(c.cases[0].alert_id, resolved.key.to_string());
        assert_eq!(c.cases[0].resolution, "benign");
        assert!(
            c.store.as_deref().unwrap().contains("1 resolved alerts"),
            "{c:?}"
        );
    }
}
