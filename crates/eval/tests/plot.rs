//! Rendering tests: the PNGs exist, are PNGs and have the promised size.

use std::path::Path;

use arbiter_core::stats::{ReliabilityBin, RiskCoveragePoint, reliability, risk_coverage};
use arbiter_eval::{EvalError, reliability_png, risk_coverage_png};

const PNG_SIGNATURE: [u8; 8] = [0x89, b'P', b'N', b'G', b'\r', b'\n', 0x1a, b'\n'];

/// Width and height from a PNG's IHDR chunk, which must come first.
fn png_dimensions(path: &Path) -> (u32, u32) {
    let bytes = std::fs::read(path).unwrap();
    assert!(
        bytes.len() > 33,
        "{} is too short to be a PNG",
        path.display()
    );
    assert_eq!(
        bytes[..8],
        PNG_SIGNATURE,
        "{} lacks the PNG signature",
        path.display()
    );
    let chunk_len = u32::from_be_bytes(bytes[8..12].try_into().unwrap());
    assert_eq!(chunk_len, 13, "IHDR must be 13 bytes long");
    assert_eq!(&bytes[12..16], b"IHDR", "first chunk must be IHDR");
    let width = u32::from_be_bytes(bytes[16..20].try_into().unwrap());
    let height = u32::from_be_bytes(bytes[20..24].try_into().unwrap());
    (width, height)
}

/// Deterministic xorshift so tests need no RNG crate.
struct Xorshift(u64);

impl Xorshift {
    fn next_f64(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Scores on a 10% base rate; `separation` in [0, 1] says how far attacks
/// are pushed towards 1 (0 = useless scorer).
fn synthetic_scores(n: usize, seed: u64, separation: f64) -> (Vec<f64>, Vec<bool>) {
    let mut rng = Xorshift(seed);
    (0..n)
        .map(|_| {
            let attack = rng.next_f64() < 0.1;
            let noise = rng.next_f64() * rng.next_f64().sqrt();
            let p = if attack {
                separation + (1.0 - separation) * noise
            } else {
                noise * 0.6
            };
            (p, attack)
        })
        .unzip()
}

fn sample_bins() -> Vec<ReliabilityBin> {
    let (p, y) = synthetic_scores(20_000, 7, 0.3);
    reliability(&p, &y, 15)
}

fn sample_curves() -> (Vec<RiskCoveragePoint>, Vec<RiskCoveragePoint>) {
    let (p, y) = synthetic_scores(20_000, 11, 0.3);
    let model = risk_coverage(&p, &y);
    let mut rng = Xorshift(99);
    let random: Vec<f64> = y.iter().map(|_| rng.next_f64()).collect();
    (model, risk_coverage(&random, &y))
}

#[test]
fn a_reliability_diagram_is_an_800_by_600_png() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("reliability.png");
    reliability_png(&path, &sample_bins(), "Calibration", "15 equal-width bins").unwrap();
    assert_eq!(png_dimensions(&path), (800, 600));
}

#[test]
fn a_risk_coverage_plot_is_an_800_by_600_png() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("risk.png");
    let (model, random) = sample_curves();
    let curves: [(&str, &[RiskCoveragePoint]); 2] = [("model", &model), ("random", &random)];
    risk_coverage_png(&path, &curves, "Risk vs coverage", "synthetic").unwrap();
    assert_eq!(png_dimensions(&path), (800, 600));
}

#[test]
fn plots_of_empty_inputs_still_render() {
    let dir = tempfile::tempdir().unwrap();
    let rel = dir.path().join("empty-reliability.png");
    reliability_png(&rel, &reliability(&[], &[], 10), "", "").unwrap();
    assert_eq!(png_dimensions(&rel), (800, 600));
    let risk = dir.path().join("empty-risk.png");
    risk_coverage_png(&risk, &[("nothing", &[])], "", "").unwrap();
    assert_eq!(png_dimensions(&risk), (800, 600));
}

#[test]
fn writing_into_a_missing_directory_is_an_error_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("no/such/dir/plot.png");
    let err = reliability_png(&path, &sample_bins(), "t", "s").unwrap_err();
    assert!(matches!(err, EvalError::Plot { .. }), "{err:?}");
    let prefix = format!("cannot write plot {}: ", path.display());
    assert!(err.to_string().starts_with(&prefix), "{err}");
}

/// Writes both plots to /tmp/arbiter-plot-check/ for a human to look at.
#[test]
#[ignore = "writes to /tmp for visual inspection; run with --ignored"]
fn sample_plots_render_for_visual_inspection() {
    let dir = Path::new("/tmp/arbiter-plot-check");
    std::fs::create_dir_all(dir).unwrap();
    reliability_png(
        &dir.join("reliability.png"),
        &sample_bins(),
        "Reliability of the triage model",
        "20,000 synthetic alerts, 15 equal-width bins",
    )
    .unwrap();
    let (model, random) = sample_curves();
    let (p, y) = synthetic_scores(20_000, 5, 0.05);
    let other = risk_coverage(&p, &y);
    let curves: [(&str, &[RiskCoveragePoint]); 3] = [
        ("gradient boosting (calibrated)", &model),
        ("weak baseline", &other),
        ("random order", &random),
    ];
    risk_coverage_png(
        &dir.join("risk_coverage.png"),
        &curves,
        "Risk–coverage of auto-closing",
        "lower is better; risk = attacks among auto-closed alerts",
    )
    .unwrap();
}
