//! The `arbiter` binary end to end on a small generated (SYNTHETIC) scenario, and its answers to
//! bad input.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

fn arbiter(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_arbiter"))
        .args(args)
        .output()
        .expect("the binary runs")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn ok(args: &[&str]) -> String {
    let out = arbiter(args);
    assert!(
        out.status.success(),
        "arbiter {args:?} failed:\n{}\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    text(&out.stdout) + &text(&out.stderr)
}

struct Work {
    _dir: tempfile::TempDir,
    root: PathBuf,
}

/// A small scenario and a bundle trained on it, shared by the tests.
fn work() -> &'static Work {
    static W: OnceLock<Work> = OnceLock::new();
    W.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_path_buf();
        let s = |p: &str| root.join(p).display().to_string();
        ok(&[
            "generate",
            "--scenario",
            "soc-mixed",
            "--seed",
            "5",
            "--out",
            &s("scn"),
            "--train-rows",
            "3000",
            "--test-rows",
            "1500",
            "--drift",
        ]);
        ok(&[
            "train",
            "--schema",
            &s("scn/schema.yaml"),
            "--data",
            &s("scn/train.csv"),
            "--out",
            &s("bundle"),
            "--members",
            "3",
            "--iterations",
            "30",
        ]);
        Work { _dir: dir, root }
    })
}

fn path(p: &str) -> String {
    work().root.join(p).display().to_string()
}

#[test]
fn score_writes_one_json_score_per_input_row() {
    let out = ok(&[
        "score",
        "--model",
        &path("bundle"),
        "--data",
        &path("scn/test.csv"),
        "--out",
        &path("scores.ndjson"),
    ]);
    assert!(out.contains("scored 1500 rows"), "{out}");
    let lines: Vec<serde_json::Value> = std::fs::read_to_string(path("scores.ndjson"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 1500);
    for key in [
        "p_malicious",
        "member_spread",
        "interval",
        "conformal_set",
        "categories",
        "ood_score",
        "flags",
        "bundle",
        "schema",
        "source",
    ] {
        assert!(!lines[0][key].is_null(), "score lacks {key}: {}", lines[0]);
    }
    assert_eq!(lines[0]["schema"], "soc-synthetic@1");
    assert_eq!(lines[0]["source"]["line"], 2, "line 1 is the header");
}

#[test]
fn eval_writes_the_report_and_prints_the_auto_close_table() {
    let out = ok(&[
        "eval",
        "--model",
        &path("bundle"),
        "--data",
        &path("scn/test.csv"),
        "--out",
        &path("report"),
    ]);
    assert!(
        out.contains("SYNTHETIC"),
        "synthetic data is labelled as such: {out}"
    );
    assert!(
        out.contains("| baseline: plain single LightGBM model"),
        "{out}"
    );
    assert!(out.contains("| arbiter: "), "{out}");
    for f in [
        "report.md",
        "report.json",
        "reliability.png",
        "risk_coverage.png",
    ] {
        assert!(Path::new(&path("report")).join(f).is_file(), "{f}");
    }
    let md = std::fs::read_to_string(Path::new(&path("report")).join("report.md")).unwrap();
    assert!(md.contains("SYNTHETIC DATA"));
}

#[test]
fn an_unknown_key_in_a_schema_is_an_error_naming_file_and_line() {
    let schema = std::fs::read_to_string(path("scn/schema.yaml")).unwrap();
    let bad = schema.replacen("revision: 1", "revision: 1\nrevison: 2", 1);
    let file = work().root.join("typo.yaml");
    std::fs::write(&file, bad).unwrap();
    let line = schema.lines().position(|l| l == "revision: 1").unwrap() + 2;
    let out = arbiter(&[
        "train",
        "--schema",
        &file.display().to_string(),
        "--data",
        &path("scn/train.csv"),
        "--out",
        &path("never"),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains(&format!(
            "typo.yaml line {line} column 1: unknown field `revison`"
        )),
        "{err}"
    );
}

#[test]
fn a_malformed_row_stops_scoring_by_default_and_is_counted_when_skipping() {
    let good = std::fs::read_to_string(path("scn/test.csv")).unwrap();
    let mut lines: Vec<String> = good.lines().take(20).map(str::to_string).collect();
    let header: Vec<&str> = lines[0].split(',').collect();
    let col = header.iter().position(|h| *h == "bytes_out").unwrap();
    let mut cells: Vec<String> = lines[5].split(',').map(str::to_string).collect();
    cells[col] = "lots".into();
    lines[5] = cells.join(",");
    let file = work().root.join("bad.csv");
    std::fs::write(&file, lines.join("\n") + "\n").unwrap();
    let f = file.display().to_string();

    let out = arbiter(&[
        "score",
        "--model",
        &path("bundle"),
        "--data",
        &f,
        "--out",
        &path("x.ndjson"),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains(&format!(
            "invalid value \"lots\" for field bytes_out at line 6 of {f}: expected a number"
        )),
        "{err}"
    );

    let out = ok(&[
        "score",
        "--model",
        &path("bundle"),
        "--data",
        &f,
        "--out",
        &path("y.ndjson"),
        "--on-error",
        "skip",
    ]);
    assert!(
        out.contains("18 rows accepted, 1 skipped (bytes_out: 1)"),
        "{out}"
    );
    let scored = std::fs::read_to_string(path("y.ndjson"))
        .unwrap()
        .lines()
        .count();
    assert_eq!(scored, 18, "the good rows are all kept");
}

#[test]
fn a_schema_with_other_features_is_refused_for_scoring() {
    let schema = std::fs::read_to_string(path("scn/schema.yaml")).unwrap();
    let other = schema.replacen("name: bytes_out\n", "name: bytes_sent\n", 1);
    assert_ne!(other, schema);
    let file = work().root.join("other.yaml");
    std::fs::write(&file, other).unwrap();
    let out = arbiter(&[
        "score",
        "--model",
        &path("bundle"),
        "--data",
        &path("scn/test.csv"),
        "--schema",
        &file.display().to_string(),
        "--out",
        &path("z.ndjson"),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("bytes_sent"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn explain_writes_one_evidence_package_per_row_and_text_for_a_terminal() {
    let out = path("packages.ndjson");
    ok(&[
        "explain",
        "--model",
        &path("bundle"),
        "--data",
        &path("scn/test.csv"),
        "--out",
        &out,
        "--skip",
        "100",
        "--limit",
        "40",
        "--cases",
        &path("scn/train.csv"),
    ]);
    let lines: Vec<serde_json::Value> = std::fs::read_to_string(&out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 40);
    // After --skip 100, the first package is data row 101: line 102 under the header.
    assert_eq!(lines[0]["source"]["line"], 102);
    for p in &lines {
        assert_eq!(p["schema_version"], "1.1");
        assert!(!p["drivers"].as_array().unwrap().is_empty());
        assert!(!p["similar_cases"]["cases"].as_array().unwrap().is_empty());
    }
    let text = ok(&[
        "explain",
        "--model",
        &path("bundle"),
        "--data",
        &path("scn/test.csv"),
        "--out",
        "-",
        "--format",
        "text",
        "--limit",
        "1",
    ]);
    for part in [
        "WHY",
        "CHECK",
        "drivers",
        "hypotheses",
        "counterfactual",
        "falsify",
    ] {
        assert!(text.contains(part), "no {part} in:\n{text}");
    }
}

fn policy_file() -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../policies/default.yaml")
        .display()
        .to_string()
}

fn sqlite_count(db: &str, sql: &str) -> i64 {
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.query_row(sql, [], |r| r.get(0)).unwrap()
}

#[test]
fn triage_decides_audits_and_stores_every_alert_once_even_when_rerun() {
    let db = path("triage/arbiter.db");
    let run = || {
        ok(&[
            "triage",
            "--model",
            &path("bundle"),
            "--policy",
            &policy_file(),
            "--data",
            &path("scn/test.csv"),
            "--db",
            &db,
        ])
    };
    let first = run();
    assert!(first.contains("tiers"), "{first}");
    let alerts = sqlite_count(&db, "SELECT COUNT(*) FROM alerts");
    assert_eq!(alerts, 1500);
    let decisions = sqlite_count(&db, "SELECT COUNT(*) FROM decisions");
    assert_eq!(decisions, 1500);
    // Every stored decision points at its audit entry.
    assert_eq!(
        sqlite_count(
            &db,
            "SELECT COUNT(*) FROM decisions WHERE audit_index IS NULL"
        ),
        0
    );
    // Nothing uncertain was automated.
    assert_eq!(
        sqlite_count(
            &db,
            "SELECT COUNT(*) FROM alerts WHERE tier = 'auto' AND flags != '[]'"
        ),
        0
    );
    let second = run();
    assert!(second.contains("0 new, 1500 already stored"), "{second}");
    assert_eq!(sqlite_count(&db, "SELECT COUNT(*) FROM alerts"), 1500);
    assert_eq!(sqlite_count(&db, "SELECT COUNT(*) FROM decisions"), 1500);

    let audit = path("triage/audit");
    let verified = ok(&["audit", "--audit", &audit, "verify"]);
    assert!(verified.to_lowercase().contains("ok"), "{verified}");
    let first_key: String = rusqlite::Connection::open(&db)
        .unwrap()
        .query_row("SELECT key FROM alerts ORDER BY id LIMIT 1", [], |r| {
            r.get(0)
        })
        .unwrap();
    // Identity is the source and the alert's own id, never the file it was read from.
    assert_eq!(first_key, "soc-synthetic/test-000001");
    let answer = ok(&[
        "audit",
        "--audit",
        &audit,
        "query",
        "--entity",
        &format!("alert:{first_key}"),
    ]);
    assert!(answer.contains("Decision"), "{answer}");
}

#[test]
fn a_missed_scoring_deadline_sends_every_alert_to_an_analyst_never_to_automation() {
    let db = path("deadline/arbiter.db");
    ok(&[
        "triage",
        "--model",
        &path("bundle"),
        "--policy",
        &policy_file(),
        "--data",
        &path("scn/test.csv"),
        "--db",
        &db,
        "--deadline-ms",
        "0",
    ]);
    assert_eq!(sqlite_count(&db, "SELECT COUNT(*) FROM alerts"), 1500);
    assert_eq!(
        sqlite_count(&db, "SELECT COUNT(*) FROM alerts WHERE tier = 'analyst'"),
        1500
    );
    assert_eq!(
        sqlite_count(
            &db,
            "SELECT COUNT(*) FROM decisions WHERE reasons LIKE '%model_timeout%'"
        ),
        1500
    );
}

#[test]
fn a_flipped_byte_in_the_audit_log_fails_verification_with_its_position() {
    let db = path("tamper/arbiter.db");
    ok(&[
        "triage",
        "--model",
        &path("bundle"),
        "--policy",
        &policy_file(),
        "--data",
        &path("scn/test.csv"),
        "--db",
        &db,
    ]);
    let audit = work().root.join("tamper/audit");
    let log = audit.join("entries.log");
    let mut bytes = std::fs::read(&log).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x01;
    std::fs::write(&log, bytes).unwrap();
    let out = arbiter(&["audit", "--audit", &audit.display().to_string(), "verify"]);
    assert!(!out.status.success());
    let said = text(&out.stdout) + &text(&out.stderr);
    assert!(
        said.contains("corrupt record: entry") && said.contains("byte"),
        "{said}"
    );
}

#[test]
fn a_simulation_file_with_an_unknown_key_is_refused_naming_file_and_line() {
    let sims = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../sims/synthetic.yaml");
    let text_in = std::fs::read_to_string(sims).unwrap();
    let bad = text_in.replacen("days: 7\n", "days: 7\nday: 8\n", 1);
    let line = bad.lines().position(|l| l == "day: 8").unwrap() + 1;
    let file = work().root.join("sim-typo.yaml");
    std::fs::write(&file, bad).unwrap();
    let out_dir = work().root.join("sim-never");
    let out = arbiter(&[
        "simulate",
        "--config",
        &file.display().to_string(),
        "--out",
        &out_dir.display().to_string(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains(&format!("sim-typo.yaml line {line}: unknown field `day`")),
        "{err}"
    );
    assert!(
        !out_dir.exists(),
        "a refused simulation wrote {}",
        out_dir.display()
    );
}

#[test]
fn incident_labels_import_into_the_teaching_set_once_and_list_with_their_provenance() {
    let db = path("teach/arbiter.db");
    ok(&[
        "triage",
        "--model",
        &path("bundle"),
        "--policy",
        &policy_file(),
        "--data",
        &path("scn/test.csv"),
        "--db",
        &db,
    ]);
    let dir = work().root.join("teach");
    let bad = dir.join("bad.csv");
    std::fs::write(
        &bad,
        "alert,label,ticket\n\
         soc-synthetic/test-000001,benign,INC-1\n\
         soc-synthetic/test-000002,Not a family,INC-2\n",
    )
    .unwrap();
    let refused = arbiter(&[
        "teach",
        "--db",
        &db,
        "import",
        "--file",
        &bad.display().to_string(),
    ]);
    assert!(!refused.status.success());
    let err = text(&refused.stderr);
    assert!(err.contains("line 3, field `label`"), "{err}");
    assert_eq!(sqlite_count(&db, "SELECT COUNT(*) FROM examples"), 0);

    let unknown = dir.join("unknown.ndjson");
    std::fs::write(
        &unknown,
        "{\"alert\":\"soc-synthetic/no-such-alert\",\"label\":\"benign\",\"ticket\":\"INC-9\"}\n",
    )
    .unwrap();
    let refused = arbiter(&[
        "teach",
        "--db",
        &db,
        "import",
        "--file",
        &unknown.display().to_string(),
    ]);
    assert!(!refused.status.success());
    assert!(
        text(&refused.stderr).contains("line 1: alert"),
        "{}",
        text(&refused.stderr)
    );

    let good = dir.join("tickets.csv");
    std::fs::write(
        &good,
        "alert,label,ticket,responder,note\n\
         soc-synthetic/test-000001,benign,INC-1,carol,scheduled backup\n\
         soc-synthetic/test-000002,brute_force,INC-2,carol,\n",
    )
    .unwrap();
    let file = good.display().to_string();
    let first = ok(&["teach", "--db", &db, "import", "--file", &file]);
    assert!(first.contains("imported 2 labels"), "{first}");
    let again = ok(&["teach", "--db", &db, "import", "--file", &file]);
    assert!(
        again.contains("imported 0 labels") && again.contains("2 already"),
        "{again}"
    );
    assert_eq!(sqlite_count(&db, "SELECT COUNT(*) FROM examples"), 2);

    let listed = ok(&["teach", "--db", &db, "list"]);
    assert!(
        listed.contains("incident_import") && listed.contains("INC-2"),
        "{listed}"
    );
    assert!(listed.contains("incident/carol"), "{listed}");
    let json = ok(&["teach", "--db", &db, "list", "--json"]);
    let first: serde_json::Value = serde_json::from_str(json.lines().next().unwrap()).unwrap();
    assert_eq!(first["source"], "incident_import");
    assert_eq!(first["label"], "benign");
    assert!(
        first["features"].as_object().is_some_and(|f| !f.is_empty()),
        "the features the model read are kept: {first}"
    );
    assert_eq!(first["package_sha256"].as_str().map(str::len), Some(64));
    let screened = ok(&["teach", "--db", &db, "quarantine", "--all"]);
    assert!(
        screened.contains("2 examples, 0 quarantined") && screened.contains("incident/carol 1.000"),
        "imported incident labels are the trusted tier: {screened}"
    );
    let released = ok(&[
        "teach",
        "--db",
        &db,
        "release",
        "2",
        "--reason",
        "the IR team confirmed it",
    ]);
    assert!(released.contains("released example 2"), "{released}");
    let twice = arbiter(&["teach", "--db", &db, "release", "2", "--reason", "again"]);
    assert!(!twice.status.success());
    assert!(
        text(&twice.stderr).contains("already released"),
        "{}",
        text(&twice.stderr)
    );
    let verified = ok(&["audit", "--audit", &path("teach/audit"), "verify"]);
    assert!(verified.to_lowercase().contains("ok"), "{verified}");
}

#[test]
fn a_retrained_bundle_is_a_candidate_that_activation_refuses_and_promotion_needs_a_gate_and_an_admin()
 {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("arbiter.db").display().to_string();
    let base = path("bundle");
    let reg = ok(&["model", "--db", &db, "register", &base]);
    let id = reg
        .split_whitespace()
        .find(|w| w.starts_with("sha256:"))
        .unwrap()
        .to_string();
    ok(&["model", "--db", &db, "activate", &id]);
    // A retraining of it: its changes.json (inside the content hash) names the champion.
    let (_, mut files) = arbiter_model::bundle::read(std::path::Path::new(&base)).unwrap();
    files.insert(
        arbiter_model::CHANGES.into(),
        format!("{{\"champion\": \"{id}\", \"held_back\": {{\"examples\": []}}}}").into_bytes(),
    );
    let twin = dir.path().join("twin");
    arbiter_train::bundle::write(&twin, &files).unwrap();
    let twin = twin.display().to_string();
    let reg = ok(&["model", "--db", &db, "register", &twin]);
    assert!(reg.contains(&format!("retrained from {id}")), "{reg}");
    let tid = reg
        .split_whitespace()
        .find(|w| w.starts_with("sha256:"))
        .unwrap()
        .to_string();

    let refused = arbiter(&["model", "--db", &db, "activate", &tid]);
    assert!(!refused.status.success());
    assert!(
        text(&refused.stderr).contains("only by promotion"),
        "{}",
        text(&refused.stderr)
    );
    let no_token = arbiter(&["model", "--db", &db, "promote", &tid]);
    assert!(text(&no_token.stderr).contains("needs an admin's token"));
    let ann = ok(&[
        "token", "create", "--role", "admin", "--name", "ann", "--db", &db,
    ]);
    let ann = ann.lines().next().unwrap().trim().to_string();
    let ungated = arbiter(&["model", "--db", &db, "promote", &tid, "--token", &ann]);
    assert!(!ungated.status.success());
    assert!(
        text(&ungated.stderr).contains("none is recorded"),
        "{}",
        text(&ungated.stderr)
    );
    let shown = ok(&["model", "--db", &db, "show", &tid]);
    assert!(
        shown.contains("candidate") && shown.contains(&format!("parent    {id}")),
        "{shown}"
    );
    let diff = ok(&["model", "--db", &db, "diff", &id, &tid]);
    assert!(diff.contains("parent\n  a: none\n  b: sha256:"), "{diff}");
    assert!(
        !diff.contains("training data"),
        "the twin trained on the same data: {diff}"
    );
    ok(&["model", "--db", &db, "shadow", &tid, "--token", &ann]);
    let list = ok(&["model", "--db", &db, "list"]);
    assert!(list.contains(&format!("{id}  champion")), "{list}");
    assert!(list.contains(&format!("{tid}  shadow")), "{list}");
    let audit = dir.path().join("audit").display().to_string();
    let q = ok(&[
        "audit",
        "--audit",
        &audit,
        "query",
        "--entity",
        &format!("model:{tid}"),
    ]);
    assert!(
        q.contains("is now the shadow (decisions recorded, never acted on) (by admin:ann)"),
        "{q}"
    );
}
