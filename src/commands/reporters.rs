//! Every progress bar and spinner of jetdoc lives here: the core reports through small traits,
//! and these implementations draw on stderr (bars only on a terminal; plain lines otherwise).

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::cell::RefCell;
use std::time::Duration;

use crate::container::build::BuildReporter;
use crate::container::select::SelectReporter;
use crate::fixes::apply;

/// Progress of `jetdoc image select`: a spinner per step, a bar over the layers of a pull.
pub struct SelectProgress {
    tty: bool,
    quiet: bool,
    bar: RefCell<Option<ProgressBar>>,
}

impl SelectProgress {
    pub fn new(quiet: bool) -> SelectProgress {
        SelectProgress { tty: console::Term::stderr().is_term(), quiet, bar: RefCell::new(None) }
    }

    fn replace(&self, bar: Option<ProgressBar>) {
        if let Some(old) = self.bar.replace(bar) {
            old.finish_and_clear();
        }
    }

    /// Clears whatever is drawn; call before printing the result.
    pub fn finish(&self) {
        self.replace(None);
    }
}

impl SelectReporter for SelectProgress {
    fn step(&self, message: &str) {
        if !self.tty || self.quiet {
            return;
        }
        let spinner = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
        spinner.set_style(ProgressStyle::with_template("{spinner} {msg}").expect("template"));
        spinner.set_message(message.to_string());
        spinner.enable_steady_tick(Duration::from_millis(100));
        self.replace(Some(spinner));
    }

    fn pull_started(&self, reference: &str, layers: Option<usize>) {
        if self.quiet {
            return;
        }
        if !self.tty {
            eprintln!("pulling {reference}");
            return;
        }
        let bar = ProgressBar::with_draw_target(layers.map(|n| n as u64), ProgressDrawTarget::stderr());
        let template = if layers.is_some() { "{spinner} pulling {prefix} [{bar:30}] {pos}/{len} layers  {msg}" } else { "{spinner} pulling {prefix} {pos} layers  {msg}" };
        bar.set_style(ProgressStyle::with_template(template).expect("template").progress_chars("=> "));
        bar.set_prefix(reference.to_string());
        bar.enable_steady_tick(Duration::from_millis(100));
        self.replace(Some(bar));
    }

    fn pull_line(&self, line: &str) {
        if self.quiet {
            return;
        }
        if !self.tty {
            eprintln!("  {line}");
            return;
        }
        if let Some(bar) = self.bar.borrow().as_ref() {
            // Non-TTY `docker pull` prints one line per layer event.
            if line.ends_with("Pull complete") || line.ends_with("Already exists") {
                bar.inc(1);
            }
            bar.set_message(line.chars().take(60).collect::<String>());
        }
    }

    fn pull_finished(&self, _ok: bool) {
        self.replace(None);
    }
}

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
