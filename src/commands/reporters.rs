//! Every progress bar and spinner of jetdoc lives here: the core reports through small traits,
//! and these implementations draw on stderr (bars only on a terminal; plain lines otherwise).

use indicatif::{HumanBytes, MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::cli::Format;
use crate::fetch::{Finish, Reporter, Silent};

use crate::container::build::BuildReporter;
use crate::container::select::SelectReporter;
use crate::report::human::clean_line as clean;
use crate::steps;

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
        spinner.set_message(clean(message).into_owned());
        spinner.enable_steady_tick(Duration::from_millis(100));
        self.replace(Some(spinner));
    }

    fn pull_started(&self, reference: &str, layers: Option<usize>) {
        if self.quiet {
            return;
        }
        if !self.tty {
            eprintln!("pulling {}", clean(reference));
            return;
        }
        let bar = ProgressBar::with_draw_target(layers.map(|n| n as u64), ProgressDrawTarget::stderr());
        let template = if layers.is_some() {
            "{spinner} pulling {prefix} [{bar:30}] {pos}/{len} layers  {msg}"
        } else {
            "{spinner} pulling {prefix} {pos} layers  {msg}"
        };
        bar.set_style(ProgressStyle::with_template(template).expect("template").progress_chars("=> "));
        bar.set_prefix(clean(reference).into_owned());
        bar.enable_steady_tick(Duration::from_millis(100));
        self.replace(Some(bar));
    }

    fn pull_line(&self, line: &str) {
        if self.quiet {
            return;
        }
        if !self.tty {
            eprintln!("  {}", clean(line));
            return;
        }
        if let Some(bar) = self.bar.borrow().as_ref() {
            // Non-TTY `docker pull` prints one line per layer event.
            if line.ends_with("Pull complete") || line.ends_with("Already exists") {
                bar.inc(1);
            }
            bar.set_message(clean(&line.chars().take(60).collect::<String>()).into_owned());
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
        bar.set_style(
            ProgressStyle::with_template("{spinner} [{elapsed}] {prefix} {wide_msg}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
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
        let first = clean(instruction.lines().next().unwrap_or(""));
        self.bar.set_message(first.to_string());
        if self.verbose {
            self.bar.println(format!("step {index}/{total}: {first}"));
        }
    }

    fn output(&self, line: &str) {
        if self.verbose && !line.trim().is_empty() {
            self.bar.println(format!("  {}", clean(line)));
        }
    }
}

/// The same spinner for any Docker work that reports lines (a flatten's phases, a pull).
impl crate::host::docker::Progress for TerminalBuildReporter {
    fn line(&self, line: &str) {
        self.bar.set_message(line.to_string());
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
            b.set_style(
                ProgressStyle::with_template("{spinner} {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
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

impl steps::Reporter for FixProgress {
    fn step(&self, what: &str) {
        match &self.bar {
            Some(b) => b.set_message(clean(what).into_owned()),
            None => eprintln!("jetdoc: {}", clean(what)),
        }
    }
}

/// The reporter for a command: bars when stderr is a terminal, lines when it is not, none for
/// JSON output (stderr stays clean for the caller's own logging).
pub fn fetch_reporter(format: Format, quiet: bool) -> Box<dyn Reporter> {
    if format == Format::Json {
        return Box::new(Silent);
    }
    if console::Term::stderr().is_term() {
        Box::new(Bars::new(quiet))
    } else {
        Box::new(Lines { quiet, started: Mutex::new(HashMap::new()) })
    }
}

struct Bars {
    multi: MultiProgress,
    bars: Mutex<HashMap<usize, ProgressBar>>,
    quiet: bool,
}

impl Bars {
    fn new(quiet: bool) -> Bars {
        let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr_with_hz(10));
        Bars { multi, bars: Mutex::new(HashMap::new()), quiet }
    }
}

fn short(name: &str) -> String {
    let name = clean(name);
    if name.chars().count() <= 40 {
        name.to_string()
    } else {
        format!("{}…", name.chars().take(39).collect::<String>())
    }
}

impl Reporter for Bars {
    fn started(&self, id: usize, name: &str, total: Option<u64>, already: u64) {
        let bar = match total {
            Some(t) => ProgressBar::new(t).with_style(
                ProgressStyle::with_template("{msg:40} {bar:30.cyan/blue} {bytes:>10}/{total_bytes:10} {binary_bytes_per_sec:>12} eta {eta}")
                    .expect("template")
                    .progress_chars("=> "),
            ),
            None => ProgressBar::new_spinner()
                .with_style(ProgressStyle::with_template("{msg:40} {spinner} {bytes:>10} {binary_bytes_per_sec:>12}").expect("template")),
        };
        bar.set_message(short(name));
        bar.set_position(already);
        bar.reset_eta();
        let bar = self.multi.add(bar);
        if let Some(old) = self.bars.lock().unwrap().insert(id, bar) {
            old.finish_and_clear();
        }
    }

    fn progress(&self, id: usize, bytes: u64) {
        if let Some(b) = self.bars.lock().unwrap().get(&id) {
            b.inc(bytes);
        }
    }

    fn retrying(&self, id: usize, url: &str, attempt: u32, wait: Duration, why: &str) {
        if let Some(b) = self.bars.lock().unwrap().remove(&id) {
            b.finish_and_clear();
        }
        let (url, why) = (clean(url), clean(why));
        let _ = self.multi.println(format!("retry {attempt} of {url} in {:.1}s: {why}", wait.as_secs_f64()));
    }

    fn finished(&self, id: usize, name: &str, how: &Finish) {
        if let Some(b) = self.bars.lock().unwrap().remove(&id) {
            b.finish_and_clear();
        }
        let name = clean(name);
        let line = match how {
            Finish::Cached if self.quiet => return,
            Finish::Cached => format!("cached      {name}"),
            Finish::Downloaded { bytes } => format!("downloaded  {name} ({})", HumanBytes(*bytes)),
            Finish::Failed(_) => format!("failed      {name}"),
        };
        let _ = self.multi.println(line);
    }
}

/// One line per event, for logs and CI.
struct Lines {
    quiet: bool,
    started: Mutex<HashMap<usize, Instant>>,
}

impl Reporter for Lines {
    fn started(&self, id: usize, name: &str, total: Option<u64>, already: u64) {
        self.started.lock().unwrap().insert(id, Instant::now());
        if self.quiet {
            return;
        }
        let name = clean(name);
        let size = total.map(|t| format!(" ({})", HumanBytes(t))).unwrap_or_default();
        let resume =
            if already > 0 { format!(", resuming at {}", HumanBytes(already)) } else { String::new() };
        eprintln!("downloading {name}{size}{resume}");
    }

    fn retrying(&self, _id: usize, url: &str, attempt: u32, wait: Duration, why: &str) {
        let (url, why) = (clean(url), clean(why));
        eprintln!("retry {attempt} of {url} in {:.1}s: {why}", wait.as_secs_f64());
    }

    fn finished(&self, id: usize, name: &str, how: &Finish) {
        let t0 = self.started.lock().unwrap().remove(&id);
        let name = clean(name);
        match how {
            Finish::Cached if !self.quiet => eprintln!("cached      {name}"),
            Finish::Downloaded { bytes } if !self.quiet => {
                let secs = t0.map(|t| t.elapsed().as_secs_f64()).unwrap_or(0.0).max(1e-3);
                eprintln!(
                    "downloaded  {name} ({} in {secs:.1}s, {}/s)",
                    HumanBytes(*bytes),
                    HumanBytes((*bytes as f64 / secs) as u64)
                );
            }
            Finish::Failed(_) => eprintln!("failed      {name}"),
            _ => {}
        }
    }
}
