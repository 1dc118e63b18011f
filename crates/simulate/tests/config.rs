//! The simulation file: the shipped ones parse, and every kind of mistake is refused with a
//! message naming the file, the line where there is one, and what was wrong.

use std::path::Path;

use arbiter_simulate::SimError;
use arbiter_simulate::config::parse;

fn sims() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../sims")
}

fn synthetic() -> String {
    std::fs::read_to_string(sims().join("synthetic.yaml")).unwrap()
}

fn refused(text: &str) -> String {
    match parse(text, "sim.yaml") {
        Ok(_) => panic!("accepted:\n{text}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn every_shipped_simulation_file_parses() {
    for name in ["synthetic.yaml", "nsl-kdd.yaml", "unsw-nb15.yaml"] {
        let path = sims().join(name);
        let loaded = arbiter_simulate::config::load(&path)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert_eq!(
            loaded.config.seeds, 20,
            "{name} does not default to 20 seeds"
        );
        assert_eq!(loaded.config.arms.len(), 2, "{name}");
    }
}

#[test]
fn an_unknown_key_is_refused_naming_the_file_and_the_line() {
    let text = synthetic().replace("days: 7\n", "days: 7\nweeks: 1\n");
    let line = text.lines().position(|l| l == "weeks: 1").unwrap() + 1;
    let e = refused(&text);
    assert!(e.starts_with(&format!("sim.yaml line {line}:")), "{e}");
    assert!(e.contains("weeks"), "{e}");
}

#[test]
fn another_version_is_refused_naming_the_supported_one() {
    let e = refused(&synthetic().replace("version: 1", "version: 2"));
    assert!(e.contains("version 2 is not supported"), "{e}");
}

#[test]
fn an_event_outside_the_run_is_refused_naming_it() {
    let e = refused(&synthetic().replace(
        "{kind: timeout, from_day: 1, to_day: 2,",
        "{kind: timeout, from_day: 6, to_day: 9,",
    ));
    assert!(e.contains("events[0]") && e.contains("6..9"), "{e}");
}

#[test]
fn poisoned_feedback_from_someone_outside_the_team_is_refused() {
    let e =
        refused(&synthetic().replace("analyst: eve, flip_share", "analyst: mallory, flip_share"));
    assert!(e.contains("\"mallory\" is not in the team"), "{e}");
}

#[test]
fn an_impossible_analyst_setting_is_refused_naming_the_analyst_and_the_field() {
    let e = refused(&synthetic().replace("miss_rate: 0.07", "miss_rate: 0.9"));
    assert!(e.contains("\"ben\"") && e.contains("miss_rate"), "{e}");
}

#[test]
fn a_stream_file_and_a_stream_share_together_are_refused() {
    let text = synthetic().replace(
        "data: {kind: scenario, name: soc-mixed, seed: 7, train_rows: 6000, stream_rows: 5600, drift: false, gaps: 0.0}",
        "data: {kind: files, schema: s.yaml, train: t.csv, stream: u.csv, stream_share: 0.3}",
    );
    assert!(
        text.contains("kind: files"),
        "the test's replacement did not apply"
    );
    let e = refused(&text);
    assert!(e.contains("stream_share"), "{e}");
}

#[test]
fn a_flood_with_no_hours_is_refused() {
    let e =
        refused(&synthetic().replace("from_hour: 10, to_hour: 12", "from_hour: 12, to_hour: 12"));
    assert!(e.contains("12..12"), "{e}");
}

#[test]
fn an_event_on_a_field_the_schema_lacks_is_refused_before_anything_runs() {
    let text = synthetic().replace("missing: [process_starts,", "missing: [process_sarts,");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sim.yaml");
    std::fs::write(
        &path,
        text.replace("../policies/default.yaml", "policy.yaml"),
    )
    .unwrap();
    let loaded = arbiter_simulate::config::load(&path).unwrap();
    let opts = arbiter_simulate::run::RunOptions {
        seeds: Some(1),
        out: dir.path().join("out"),
        data_dir: dir.path().to_path_buf(),
        keep_work: false,
    };
    let e = match arbiter_simulate::run::run(&loaded, &opts, &mut arbiter_simulate::run::Quiet) {
        Err(e @ SimError::Config { .. }) => e.to_string(),
        Err(e) => panic!("refused for another reason: {e}"),
        Ok(_) => panic!("a misspelt field was accepted"),
    };
    assert!(e.contains("\"process_sarts\" is not a feature"), "{e}");
    assert!(
        !dir.path().join("out/bundle").exists(),
        "a bundle was trained first"
    );
}
