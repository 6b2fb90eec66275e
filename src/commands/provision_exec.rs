//! `jetdoc provision PROFILE` without `--dry-run`: progress on stderr, the outcome on stdout.

use anyhow::Result;
use std::fmt::Write as _;
use std::io::Write as _;
use std::time::Duration;

use super::provision::{print_json, render_refusal, Style};
use super::reporters::{fetch_reporter, SelectProgress};
use crate::cli::{Format, GlobalArgs, ProvisionArgs};
use crate::container::select::SelectReporter;
use crate::fetch::Finish;
use crate::provision::execute::{self, Finished};

/// Progress of a provision: one line per step, download bars (or lines), Docker's build steps.
pub struct ProvisionProgress {
    quiet: bool,
    verbose: bool,
    json: bool,
    downloads: Box<dyn crate::fetch::Reporter>,
    select: std::sync::Mutex<SelectProgress>,
}

impl ProvisionProgress {
    pub fn new(g: &GlobalArgs) -> ProvisionProgress {
        ProvisionProgress {
            quiet: g.quiet,
            verbose: g.verbose,
            json: g.format == Format::Json,
            downloads: fetch_reporter(g.format, g.quiet),
            select: std::sync::Mutex::new(SelectProgress::new(g.quiet || g.format == Format::Json)),
        }
    }

    fn line(&self, s: &str) {
        if !self.quiet && !self.json {
            eprintln!("{s}");
        }
    }
}

impl crate::steps::Reporter for ProvisionProgress {
    fn step(&self, what: &str) {
        self.line(&format!("==> {what}"));
    }
}

impl crate::fetch::Reporter for ProvisionProgress {
    fn started(&self, id: usize, name: &str, total: Option<u64>, already: u64) {
        self.downloads.started(id, name, total, already)
    }
    fn progress(&self, id: usize, bytes: u64) {
        self.downloads.progress(id, bytes)
    }
    fn retrying(&self, id: usize, url: &str, attempt: u32, wait: Duration, why: &str) {
        self.downloads.retrying(id, url, attempt, wait, why)
    }
    fn finished(&self, id: usize, name: &str, how: &Finish) {
        self.downloads.finished(id, name, how)
    }
}

impl SelectReporter for ProvisionProgress {
    fn step(&self, message: &str) {
        self.select.lock().unwrap().step(message)
    }
    fn pull_started(&self, reference: &str, layers: Option<usize>) {
        self.select.lock().unwrap().pull_started(reference, layers)
    }
    fn pull_line(&self, line: &str) {
        self.select.lock().unwrap().pull_line(line)
    }
    fn pull_finished(&self, ok: bool) {
        self.select.lock().unwrap().pull_finished(ok)
    }
}

impl execute::Reporter for ProvisionProgress {
    fn docker_line(&self, line: &str) {
        // The builder's step headers say where a long build is; everything else with -v.
        if self.verbose || line.starts_with("Step ") {
            self.line(&format!("    {line}"));
        }
    }
    fn note(&self, line: &str) {
        self.line(&format!("note: {line}"));
    }
}

pub fn render(f: &Finished, st: &Style) -> String {
    let mut out = String::new();
    match f {
        Finished::UpToDate { state, started } => {
            let image = state.image.as_ref();
            let _ = writeln!(
                out,
                "{} {} is up to date: {} ({}), provisioned {}; nothing transferred, nothing rebuilt",
                st.green("✔"),
                st.bold(&state.profile),
                image.map(|i| i.tag.as_str()).unwrap_or("?"),
                image.map(|i| short(&i.id)).unwrap_or_default(),
                state.finished.as_deref().unwrap_or(&state.started)
            );
            if *started {
                let _ = writeln!(out, "  started its container again (it was not running)");
            }
        }
        Finished::Provisioned { state, lock, transferred_bytes } => {
            let _ = writeln!(out, "{} provisioned {}", st.green("✔"), st.bold(&state.profile));
            if let Some(i) = &state.image {
                let base = match &i.base_digest {
                    Some(d) => format!("{}@{}", i.base, short(d)),
                    None => i.base.clone(),
                };
                let layers = i.layers.map(|n| format!(", {n} layers")).unwrap_or_default();
                let _ = writeln!(out, "  image     {} ({}{layers}) on {base}", i.tag, short(&i.id));
            }
            for a in &state.artifacts {
                let _ = writeln!(out, "  download  {}  sha256 {}", a.name, short(&a.sha256));
            }
            let _ = writeln!(out, "  transfer  {} bytes this run", transferred_bytes);
            for s in &state.smoke {
                let _ = writeln!(out, "  smoke     {} {} ({:.1}s)", st.green("✔"), s.name, s.seconds);
            }
            if let Some(l) = lock {
                let _ = writeln!(
                    out,
                    "  lock      {} (another robot: `jetdoc provision {} --locked {}`)",
                    l.display(),
                    state.profile,
                    l.display()
                );
            }
            let _ = writeln!(out, "  state     {}", crate::provision::state::STATE_FILE);
        }
        Finished::Stopped { blocked_by, plan, fixes: ran } => {
            if ran.is_empty() {
                let _ = writeln!(
                    out,
                    "{} provision of {} stopped before changing anything:",
                    st.red("stopped:"),
                    plan.profile.name
                );
            } else {
                let _ = writeln!(
                    out,
                    "{} provision of {} stopped after --fix:",
                    st.red("stopped:"),
                    plan.profile.name
                );
                for f in ran {
                    match &f.error {
                        None => {
                            let _ = writeln!(out, "  {} fix {} applied", st.green("✔"), f.fix);
                        }
                        Some(e) => {
                            let _ = writeln!(out, "  {} fix {}: {e}", st.red("✘"), f.fix);
                        }
                    }
                }
                let _ = writeln!(out, "  still failing:");
            }
            for b in blocked_by {
                let _ = writeln!(out, "  - {b}");
            }
            let fixes: Vec<&str> = plan.checks.blocking.iter().filter_map(|c| c.fix.as_deref()).collect();
            if !fixes.is_empty() && ran.is_empty() {
                let _ = writeln!(out, "  --fix applies the fixes ({}) first", fixes.join(", "));
            }
            if !blocked_by.iter().any(|b| b.starts_with("lock: ")) {
                let _ = writeln!(out, "  --force goes on anyway; `--dry-run` shows the whole plan");
            } else {
                let _ = writeln!(out, "  a lock reproduces exactly what it pins: provision this device without --locked, or write a new lock");
            }
        }
        Finished::Refused { refused } => out.push_str(&render_refusal(refused, st)),
        Finished::Failed { state, step, message, output, resume } => {
            let _ = writeln!(
                out,
                "{} provision of {} failed at step `{step}`: {message}",
                st.red("failed:"),
                state.profile
            );
            if let Some(o) = output {
                let _ = writeln!(out, "  the container said:");
                for line in o.lines().take(200) {
                    let _ = writeln!(out, "  | {line}");
                }
            }
            let _ = writeln!(out, "  resume: {resume}");
            let _ = writeln!(out, "  state:  {} (result failed)", crate::provision::state::STATE_FILE);
        }
    }
    out
}

fn short(s: &str) -> String {
    let hex = s.strip_prefix("sha256:").unwrap_or(s);
    hex.chars().take(12).collect()
}

pub fn run(g: &GlobalArgs, a: &ProvisionArgs, f: Finished) -> Result<i32> {
    let _ = a;
    let code = f.exit_code();
    if g.format == Format::Json {
        print_json(&serde_json::to_value(&f)?)?;
    } else {
        let st = Style::new(super::use_color(g.color, console::Term::stdout().is_term()));
        std::io::stdout().lock().write_all(render(&f, &st).as_bytes())?;
    }
    Ok(code)
}
