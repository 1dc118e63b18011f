//! The shipped regression suites name real rows of the shared datasets: every file is there
//! with the recorded SHA-256, every line exists, and every row's label is what the suite says
//! (must-catch rows are attacks, must-not-act rows benign). Skipped without the data, except in
//! CI (`ARBITER_REQUIRE_DATA=1`).

use std::path::{Path, PathBuf};

use arbiter_gate::{Expect, load_suite};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[test]
fn the_shipped_suites_name_real_rows_of_the_shared_data_with_the_labels_they_claim() {
    let Some(data) = arbiter_ingest::shared_data_for_test(&repo(), "NSL-KDD and UNSW-NB15") else {
        return;
    };
    for (suite, schema, catch, calm) in [
        ("suites/nsl-kdd.yaml", "schemas/nsl-kdd.yaml", 200, 100),
        ("suites/unsw-nb15.yaml", "schemas/unsw-nb15.yaml", 409, 100),
    ] {
        let schema = arbiter_ingest::load_schema(&repo().join(schema)).unwrap();
        let s = load_suite(&repo().join(suite), &schema, &data)
            .unwrap_or_else(|e| panic!("{suite}: {e}"));
        assert_eq!(
            (s.count(Expect::MustCatch), s.count(Expect::MustNotAct)),
            (catch, calm),
            "{suite}"
        );
    }
}
