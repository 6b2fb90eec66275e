//! All progress drawing: indicatif bars and spinners on stderr. Core code reports through traits.

use indicatif::{ProgressBar, ProgressStyle};
use std::time::Duration;

use crate::container::build::BuildReporter;

/// A spinner showing the current Dockerfile step; with `verbose`, the builder's output too.
pub struct TerminalBuildReporter {
    bar: ProgressBar,
    verbose: bool,
}

impl TerminalBuildReporter {
    pub fn new(verbose: bool, quiet: bool) -> TerminalBuildReporter {
        let bar = if quiet { ProgressBar::hidden() } else { ProgressBar::new_spinner() };
        bar.set_style(ProgressStyle::with_template("{spinner} [{elapsed}] {prefix} {wide_msg}").unwrap_or_else(|_| ProgressStyle::default_spinner()));
        bar.enable_steady_tick(Duration::from_millis(120));
        TerminalBuildReporter { bar, verbose }
    }

    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

impl BuildReporter for TerminalBuildReporter {
    fn step(&self, index: usize, total: usize, instruction: &str) {
        self.bar.set_prefix(format!("step {index}/{total}"));
        let first = instruction.lines().next().unwrap_or("");
        self.bar.set_message(first.to_string());
        if self.verbose {
            self.bar.println(format!("step {index}/{total}: {first}"));
        }
    }

    fn output(&self, line: &str) {
        if self.verbose && !line.trim().is_empty() {
            self.bar.println(format!("  {line}"));
        }
    }
}

impl Drop for TerminalBuildReporter {
    fn drop(&mut self) {
        self.bar.finish_and_clear();
    }
}
