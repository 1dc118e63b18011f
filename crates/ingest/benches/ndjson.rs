//! NDJSON read throughput through [`arbiter_ingest::parse_ndjson`], the path the HTTP API uses.
//!
//! Run with `cargo bench -p arbiter-ingest --bench ndjson` (release profile). Two inputs:
//! 100,000 synthetic Zeek-like connection alerts with a nested object (always), and the real
//! Windows event logs in `$ARBITER_DATA/evtx/*.jsonl.xz` (about 18,000 events of 1.6 KB each,
//! when the shared data folder is present). Each input is parsed several times; the best run
//! is reported, since the fastest run is the one least disturbed by other work on the machine,
//! as wall time and as time on a CPU (which leaves out waiting for a core).

use std::io::Read;
use std::path::Path;
use std::time::{Duration, Instant};

use arbiter_core::Schema;

const RUNS: usize = 10;

const CONN_SCHEMA: &str = r#"
format_version: 1
name: bench-conn
revision: 1
source: {format: ndjson}
label: {benign: [benign]}
fields:
  - {name: ts, role: timestamp}
  - {name: uid, role: identifier}
  - {name: orig_h, role: identifier, path: id.orig_h}
  - {name: resp_h, role: identifier, path: id.resp_h}
  - {name: resp_p, role: numeric, path: id.resp_p}
  - {name: proto, role: categorical}
  - {name: service, role: categorical}
  - {name: duration, role: numeric}
  - {name: orig_bytes, role: numeric}
  - {name: resp_bytes, role: numeric}
  - {name: conn_state, role: categorical}
  - {name: host, role: identifier, path: event.host}
  - {name: process, role: categorical, path: event.process.name}
  - {name: label, role: label}
"#;

const EVTX_SCHEMA: &str = r#"
format_version: 1
name: bench-evtx
revision: 1
source: {format: ndjson}
fields:
  - {name: record_id, role: identifier}
  - {name: time, role: timestamp, path: event.Event.System.TimeCreated.#attributes.SystemTime}
  - {name: event_id, role: categorical, path: event.Event.System.EventID}
  - {name: channel, role: categorical, path: event.Event.System.Channel}
  - {name: computer, role: identifier, path: event.Event.System.Computer}
  - {name: level, role: numeric, path: event.Event.System.Level}
  - {name: image, role: categorical, path: event.Event.EventData.Image}
"#;

/// Deterministic synthetic alerts: a small linear congruential generator, no dependencies.
fn synthetic(lines: usize) -> Vec<u8> {
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        state >> 33
    };
    let protos = ["tcp", "udp", "icmp"];
    let services = ["http", "ssl", "dns", "ssh", "-"];
    let states = ["SF", "S0", "REJ", "RSTO", "OTH"];
    let procs = [
        "chrome.exe",
        "svchost.exe",
        "powershell.exe",
        "curl",
        "sshd",
    ];
    let mut out = Vec::with_capacity(lines * 420);
    for i in 0..lines {
        let r = next();
        let line = format!(
            concat!(
                r#"{{"ts":"2024-05-01T10:{:02}:{:02}.{:03}Z","uid":"C{:016x}","#,
                r#""id.orig_h":"10.0.{}.{}","id.orig_p":{},"id.resp_h":"192.168.{}.{}","#,
                r#""id.resp_p":{},"proto":"{}","service":"{}","duration":{:.6},"#,
                r#""orig_bytes":{},"resp_bytes":{},"conn_state":"{}","history":"ShADadFf","#,
                r#""event":{{"host":"ws-{:03}","user":"user{}","process":{{"name":"{}","pid":{}}}}},"#,
                r#""label":"{}"}}"#,
                "\n"
            ),
            (i / 60) % 60,
            i % 60,
            r % 1000,
            next(),
            r % 256,
            (r >> 8) % 256,
            1024 + r % 60000,
            (r >> 16) % 256,
            (r >> 24) % 256,
            [80, 443, 53, 22][(r % 4) as usize],
            protos[(r % 3) as usize],
            services[(r % 5) as usize],
            (r % 100_000) as f64 / 1000.0,
            next() % 1_000_000,
            next() % 10_000_000,
            states[(r % 5) as usize],
            r % 500,
            r % 40,
            procs[(r % 5) as usize],
            r % 65_536,
            if r % 10 == 0 { "scan" } else { "benign" },
        );
        out.extend_from_slice(line.as_bytes());
    }
    out
}

fn real_evtx() -> Option<Vec<u8>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let dir = arbiter_ingest::shared_data_dir(Some(&root)).join("evtx");
    let mut out = Vec::new();
    for name in ["evtx_attack_samples.jsonl.xz", "evtx_to_mitre.jsonl.xz"] {
        let path = dir.join(name);
        if !path.is_file() {
            eprintln!("skipped the real-data input: {} not found", path.display());
            return None;
        }
        arbiter_ingest::open_text(&path)
            .ok()?
            .read_to_end(&mut out)
            .ok()?;
    }
    Some(out)
}

/// Time this thread spent on a CPU, from the kernel's scheduler statistics (Linux): unlike
/// wall time it leaves out time spent waiting for a core, which on a shared 2-core machine is
/// most of the noise. `None` elsewhere.
fn on_cpu() -> Option<Duration> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns = text.split_whitespace().next()?.parse().ok()?;
    Some(Duration::from_nanos(ns))
}

/// Best wall and on-CPU time of `RUNS` calls of `f`.
struct Timing {
    wall: Duration,
    cpu: Option<Duration>,
}

impl Timing {
    fn new() -> Timing {
        Timing {
            wall: Duration::MAX,
            cpu: None,
        }
    }

    fn time<T>(&mut self, f: impl FnOnce() -> T) -> T {
        let (cpu0, start) = (on_cpu(), Instant::now());
        let out = f();
        let wall = start.elapsed();
        self.wall = self.wall.min(wall);
        if let (Some(a), Some(b)) = (cpu0, on_cpu()) {
            let cpu = b.saturating_sub(a);
            self.cpu = Some(self.cpu.map_or(cpu, |c| c.min(cpu)));
        }
        out
    }

    fn show(&self, lines: usize, bytes: usize) -> String {
        let rate = |d: Duration| {
            let secs = d.as_secs_f64();
            format!(
                "{:.1} ms = {:.0} lines/s, {:.1} MB/s",
                secs * 1e3,
                lines as f64 / secs,
                bytes as f64 / 1e6 / secs
            )
        };
        match self.cpu {
            Some(cpu) => format!("wall {}; on-CPU {}", rate(self.wall), rate(cpu)),
            None => format!("wall {}", rate(self.wall)),
        }
    }
}

fn measure(what: &str, schema_text: &str, bytes: &[u8]) {
    let schema = Schema::from_yaml(schema_text, what).expect("the bench schema is valid");
    let lines = bytes.iter().filter(|b| **b == b'\n').count();
    let mut timing = Timing::new();
    let mut refused = 0;
    let mut first_refusal = None;
    for _ in 0..RUNS {
        let input = bytes.to_vec();
        let out = timing.time(|| arbiter_ingest::parse_ndjson(&schema, what, input));
        refused = out.iter().filter(|r| r.is_err()).count();
        first_refusal = out
            .iter()
            .find_map(|r| r.as_ref().err().map(|e| e.to_string()));
        std::hint::black_box(out);
    }
    println!(
        "{what}: {lines} lines, {:.1} MB, {refused} refused; parse_ndjson, best of {RUNS}: {}",
        bytes.len() as f64 / 1e6,
        timing.show(lines, bytes.len()),
    );
    if let Some(e) = first_refusal {
        println!("  first refusal: {e}");
    }
}

/// The JSON parser alone, line by line: `serde_json` against the strict parser, alternating
/// run by run so that both see the same load on the machine.
fn compare_parsers(what: &str, bytes: &[u8]) {
    // As the reader does: split into lines, check UTF-8 once, then parse text.
    let lines: Vec<&str> = bytes
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| std::str::from_utf8(l).expect("the bench input is UTF-8"))
        .collect();
    let (mut loose, mut strict) = (Timing::new(), Timing::new());
    for _ in 0..RUNS {
        loose.time(|| {
            for l in &lines {
                let v: Result<serde_json::Value, _> = serde_json::from_str(l);
                std::hint::black_box(v.ok());
            }
        });
        strict.time(|| {
            for l in &lines {
                std::hint::black_box(arbiter_ingest::json::from_str_strict(l).ok());
            }
        });
    }
    println!(
        "{what}: JSON parse only, serde_json::from_str: {}",
        loose.show(lines.len(), bytes.len())
    );
    println!(
        "{what}: JSON parse only, from_str_strict:      {}",
        strict.show(lines.len(), bytes.len())
    );
    if let (Some(a), Some(b)) = (loose.cpu, strict.cpu) {
        println!(
            "{what}: strict / serde_json on-CPU time = {:.3}",
            b.as_secs_f64() / a.as_secs_f64()
        );
    }
}

fn main() {
    let conn = synthetic(100_000);
    measure("synthetic-conn", CONN_SCHEMA, &conn);
    compare_parsers("synthetic-conn", &conn);
    if let Some(bytes) = real_evtx() {
        measure("real-evtx", EVTX_SCHEMA, &bytes);
        compare_parsers("real-evtx", &bytes);
    }
}
