//! Progress bars on stderr (hidden when stderr is not a terminal).

use std::sync::Mutex;
use std::time::Duration;

use arbiter_core::Schema;
use arbiter_ingest::{IngestError, Loaded, OnError};
use indicatif::{ProgressBar, ProgressStyle};

fn bar(len: u64, template: &str) -> ProgressBar {
    let pb = ProgressBar::new(len);
    pb.set_style(
        ProgressStyle::with_template(template)
            .expect("static template")
            .progress_chars("=> "),
    );
    pb.enable_steady_tick(Duration::from_millis(200));
    pb
}

/// A bar over the bytes of a file being read.
pub fn bytes(len: u64, what: &str) -> ProgressBar {
    let pb = bar(
        len,
        "{spinner} {msg} [{bar:30}] {bytes}/{total_bytes} ({eta})",
    );
    pb.set_message(what.to_string());
    pb
}

/// A spinner for a step whose length is not known in advance.
pub fn spinner(what: &str) -> ProgressBar {
    let pb = bar(0, "{spinner} {msg} ({elapsed})");
    pb.set_message(what.to_string());
    pb
}

/// Reads a whole file with a progress bar.
pub fn load(
    schema: &Schema,
    path: &std::path::Path,
    on_error: OnError,
) -> Result<Loaded, IngestError> {
    let pb = bytes(0, &format!("reading {}", path.display()));
    let loaded = arbiter_ingest::load(schema, path, on_error, &mut |done, total| {
        pb.set_length(total);
        pb.set_position(done);
    });
    pb.finish_and_clear();
    loaded
}

/// Stages of training, each with its own bar.
pub struct Stages {
    current: Mutex<Option<ProgressBar>>,
}

impl Stages {
    pub fn new() -> Stages {
        Stages {
            current: Mutex::new(None),
        }
    }

    pub fn finish(&self) {
        if let Some(pb) = self.current.lock().expect("not poisoned").take() {
            pb.finish_and_clear();
        }
    }
}

impl arbiter_train::Progress for Stages {
    fn stage(&self, name: &str, steps: u64) {
        let mut cur = self.current.lock().expect("not poisoned");
        if let Some(pb) = cur.take() {
            pb.finish_and_clear();
        }
        let pb = bar(steps, "{spinner} {msg} [{bar:30}] {pos}/{len} ({elapsed})");
        pb.set_message(name.to_string());
        *cur = Some(pb);
    }

    fn step(&self) {
        if let Some(pb) = self.current.lock().expect("not poisoned").as_ref() {
            pb.inc(1);
        }
    }
}

/// A bar over a count of steps.
pub fn counter(len: u64, what: &str) -> ProgressBar {
    let pb = bar(
        len,
        "{spinner} {msg} [{bar:30}] {pos}/{len} {prefix} ({eta})",
    );
    pb.set_prefix(what.to_string());
    pb
}
