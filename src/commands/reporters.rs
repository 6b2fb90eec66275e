//! Every progress bar of jetdoc lives here: the core reports through `fetch::Reporter`, and this
//! file turns that into indicatif bars on a terminal, plain log lines otherwise, and nothing in
//! JSON mode.

use indicatif::{HumanBytes, MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::cli::Format;
use crate::fetch::{Finish, Reporter, Silent};

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
        let _ = self.multi.println(format!("retry {attempt} of {url} in {:.1}s: {why}", wait.as_secs_f64()));
    }

    fn finished(&self, id: usize, name: &str, how: &Finish) {
        if let Some(b) = self.bars.lock().unwrap().remove(&id) {
            b.finish_and_clear();
        }
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
        let size = total.map(|t| format!(" ({})", HumanBytes(t))).unwrap_or_default();
        let resume = if already > 0 { format!(", resuming at {}", HumanBytes(already)) } else { String::new() };
        eprintln!("downloading {name}{size}{resume}");
    }

    fn retrying(&self, _id: usize, url: &str, attempt: u32, wait: Duration, why: &str) {
        eprintln!("retry {attempt} of {url} in {:.1}s: {why}", wait.as_secs_f64());
    }

    fn finished(&self, id: usize, name: &str, how: &Finish) {
        let t0 = self.started.lock().unwrap().remove(&id);
        match how {
            Finish::Cached if !self.quiet => eprintln!("cached      {name}"),
            Finish::Downloaded { bytes } if !self.quiet => {
                let secs = t0.map(|t| t.elapsed().as_secs_f64()).unwrap_or(0.0).max(1e-3);
                eprintln!("downloaded  {name} ({} in {secs:.1}s, {}/s)", HumanBytes(*bytes), HumanBytes((*bytes as f64 / secs) as u64));
            }
            Finish::Failed(_) => eprintln!("failed      {name}"),
            _ => {}
        }
    }
}
