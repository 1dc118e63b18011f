//! The report: golden `report.json` and `report.md` from a fixed hand-built input, byte-for-byte
//! determinism, the targets' verdicts and the plots.
//!
//! Regenerate the golden files with `UPDATE_GOLDEN=1 cargo test -p arbiter-simulate --test
//! metrics_report` and review the diff.

#[path = "support/metrics_fixture.rs"]
mod fixture;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use arbiter_simulate::metrics::{RunMetrics, Summary, measure, summarise};
use arbiter_simulate::report::{
    PLOTS, ReportError, ReportMeta, check_targets, json, markdown, write_report,
};
use fixture::*;

const PNG_SIGNATURE: [u8; 8] = [0x89, b'P', b'N', b'G', b'\r', b'\n', 0x1a, b'\n'];

fn meta() -> ReportMeta {
    ReportMeta {
        title: "Golden simulation".to_owned(),
        config: "golden.yaml".to_owned(),
        seeds: vec![1, 2],
        days: 3,
        alerts_per_seed: 1_020,
        command: "arbiter simulate --config golden.yaml --seeds 1,2".to_owned(),
        description: "A hand-built input that exercises every metric.".to_owned(),
    }
}

/// 1,020 alerts over three days (340 a day). `extra_fp` benign alerts are contained on top of the arm's
/// own; `silent` attacks are auto-closed; the novel family adapts on `adapts`.
fn arm_run(arm: &str, seed: u64, extra_fp: u64, silent: u64, adapts: Option<u32>) -> RunMetrics {
    let mut outcomes = Vec::new();
    let mut seq = 0;
    let mut next = || {
        seq += 1;
        seq
    };
    for day in 0..3u32 {
        for i in 0..300u64 {
            let mut o = benign(next(), day);
            o.p_malicious = Some(0.05 + 0.001 * (i % 50) as f64);
            if i < extra_fp + u64::from(day) {
                o = contained(o);
            } else if i % 10 == 0 {
                o = by_a_person(o, &[5 + i as i64 % 40, 60 + i as i64]);
                o.reviews[0].changed_outcome = i % 20 == 0;
            }
            outcomes.push(o);
        }
        for i in 0..30u64 {
            let mut o = attack(next(), day);
            o.p_malicious = Some(0.7 + 0.01 * i as f64);
            if i % 3 == 0 {
                o = by_a_person(contained(o), &[15 + i as i64]);
                o.reviews[0].label = Some("dos".to_owned());
                o.reviews[0].label_correct = Some(i % 2 == 0);
            } else if i - i / 3 > silent {
                o = contained(o);
            }
            outcomes.push(o);
        }
        for i in 0..10u64 {
            let o = novel(next(), day, "zeroday");
            outcomes.push(if Some(day) == adapts || i < 4 {
                contained(o)
            } else {
                o
            });
        }
    }
    let mut r = run(arm, seed, 3, outcomes);
    r.analysts = (0..3)
        .flat_map(|day| {
            [
                analyst_day("ana", day, 20 + day),
                analyst_day("bob", day, 11),
            ]
        })
        .collect();
    r.backlog = vec![5 + seed, 12, 3 * seed];
    measure(&r)
}

fn summary() -> Summary {
    let runs = BTreeMap::from([
        (
            "arbiter".to_owned(),
            vec![
                arm_run("arbiter", 1, 0, 0, Some(1)),
                arm_run("arbiter", 2, 1, 1, None),
            ],
        ),
        (
            "baseline".to_owned(),
            vec![
                arm_run("baseline", 1, 6, 4, None),
                arm_run("baseline", 2, 7, 3, None),
            ],
        ),
    ]);
    summarise(&runs)
}

fn golden(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name)
}

/// Compares `actual` with the golden file exactly, or rewrites it under `UPDATE_GOLDEN=1`.
fn assert_golden(name: &str, actual: &str) {
    let path = golden(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some_and(|v| v == "1") {
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "cannot read {}: {e}; run with UPDATE_GOLDEN=1",
            path.display()
        )
    });
    assert!(
        expected == actual,
        "{} differs from the output; rerun with UPDATE_GOLDEN=1 and review the diff",
        path.display()
    );
}

#[test]
fn report_json_matches_its_golden_file() {
    assert_golden("report.json", &json(&meta(), &summary()).unwrap());
}

#[test]
fn report_md_matches_its_golden_file() {
    assert_golden("report.md", &markdown(&meta(), &summary()));
}

#[test]
fn the_same_input_gives_the_same_bytes_twice() {
    assert_eq!(
        json(&meta(), &summary()).unwrap(),
        json(&meta(), &summary()).unwrap()
    );
    assert_eq!(markdown(&meta(), &summary()), markdown(&meta(), &summary()));
}

#[test]
fn each_target_is_checked_on_each_arm_with_its_margin() {
    let checks = check_targets(&summary());
    assert_eq!(checks.len(), 6 * 2);
    let fpoa = |arm: &str| {
        checks
            .iter()
            .find(|c| c.target == "fpoa" && c.arm == arm)
            .unwrap()
            .clone()
    };
    // arbiter: 0 + 1 + 2 benign contained per seed 1 and 1 + 2 + 3 per seed 2, of 1,020.
    let arbiter = fpoa("arbiter");
    let mean = (3.0 + 6.0) / 2.0 / 1_020.0 * 1_000.0;
    let check = &arbiter.checks[0];
    assert!((check.value.unwrap() - mean).abs() < 1e-12);
    assert!((check.margin.unwrap() - (5.7 - mean)).abs() < 1e-12);
    assert_eq!(arbiter.met, Some(true));
    // baseline: (6 + 7 + 8) and (7 + 8 + 9) of 1,020 → 22.1 per 1,000: missed.
    assert_eq!(fpoa("baseline").met, Some(false));
}

#[test]
fn a_family_that_never_adapted_misses_the_tta_anchor_whatever_the_mean() {
    let checks = check_targets(&summary());
    let tta = checks
        .iter()
        .find(|c| c.target == "tta" && c.arm == "arbiter")
        .unwrap();
    // Seed 1 adapted on day 1 (1 day), seed 2 never.
    assert_eq!(tta.checks[0].value, Some(1.0));
    assert_eq!(tta.met, Some(false));
    assert_eq!(
        tta.checks[0].note.as_deref(),
        Some("1 of 2 family-seed runs never adapted")
    );
}

#[test]
fn the_report_writes_json_markdown_and_every_plot() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("report");
    write_report(&out, &meta(), &summary()).unwrap();
    let json_text = std::fs::read_to_string(out.join("report.json")).unwrap();
    assert_eq!(json_text, json(&meta(), &summary()).unwrap());
    assert!(std::fs::metadata(out.join("report.md")).unwrap().len() > 0);
    let files: Vec<&str> = PLOTS.iter().map(|p| p.file).collect();
    assert_eq!(
        files,
        [
            "adr.png",
            "fpoa.png",
            "silent_misses.png",
            "backlog.png",
            "ece.png"
        ]
    );
    for file in files {
        let bytes = std::fs::read(out.join(file)).unwrap();
        assert!(bytes.starts_with(&PNG_SIGNATURE), "{file} is not a PNG");
    }
}

#[test]
fn a_report_directory_that_cannot_be_created_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a-file");
    std::fs::write(&file, b"").unwrap();
    let target = file.join("report");
    let err = write_report(&target, &meta(), &summary()).unwrap_err();
    assert!(matches!(err, ReportError::CreateDir { .. }), "{err:?}");
    let prefix = format!("cannot create report directory {}: ", target.display());
    assert!(err.to_string().starts_with(&prefix), "{err}");
}
