//! All progress output of the command layer: core code reports through small traits, and these
//! implementations put it on stderr (with a spinner on a terminal).

use indicatif::{ProgressBar, ProgressStyle};
use std::time::Duration;

use crate::fixes::apply;

/// Shows each step of an apply: a spinner on a terminal, plain lines otherwise.
pub struct FixProgress {
    bar: Option<ProgressBar>,
}

impl FixProgress {
    pub fn new(quiet: bool) -> FixProgress {
        let tty = console::Term::stderr().is_term();
        let bar = (tty && !quiet).then(|| {
            let b = ProgressBar::new_spinner();
            b.set_style(ProgressStyle::with_template("{spinner} {msg}").unwrap_or_else(|_| ProgressStyle::default_spinner()));
            b.enable_steady_tick(Duration::from_millis(100));
            b
        });
        FixProgress { bar }
    }

    pub fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}

impl apply::Reporter for FixProgress {
    fn step(&self, what: &str) {
        match &self.bar {
            Some(b) => b.set_message(what.to_string()),
            None => eprintln!("jetdoc: {what}"),
        }
    }
}
