//! `jetdoc image select`: choose a compatible image and say why.

use anyhow::{Context as _, Result};
use console::style;
use std::fmt::Write as _;
use std::io::Write as _;
use std::time::Duration;

use super::reporters::SelectProgress;
use super::{build_context, use_color, ExitCode};
use crate::cli::{Format, GlobalArgs, ImageSelectArgs};
use crate::container::registry::{Credentials, RegistryClient};
use crate::container::rules::{HostFacts, Verdict};
use crate::container::select::{self, Action, Candidate, DecidedOn, Request, Selection, Silent};
use crate::units::human_bytes;

pub fn run(g: &GlobalArgs, args: &ImageSelectArgs) -> Result<ExitCode> {
    let ctx = build_context(g)?;
    // Credentials belong to the user running jetdoc, not to an inspected root: read the real
    // environment's Docker config, as `docker pull` will.
    let creds = match Credentials::default_path(|k| std::env::var(k).ok()) {
        Some(path) => Credentials::load(&path)?,
        None => Credentials::default(),
    };
    let mut client = RegistryClient::new(creds, Duration::from_secs(args.timeout.max(1)))?;
    let profile = match &args.profile {
        Some(name) => Some(crate::provision::base_candidates(&ctx, name)?),
        None => None,
    };
    let req = Request { profile, candidates: args.candidates.clone(), pull: args.pull };
    let progress = SelectProgress::new(g.quiet || g.format == Format::Json);
    let selection = if g.format == Format::Json && !args.pull {
        select::select(&ctx, &req, &mut client, &Silent)
    } else {
        select::select(&ctx, &req, &mut client, &progress)
    };
    progress.finish();
    let selection = selection.context("choosing an image")?;
    let text = match g.format {
        Format::Json => serde_json::to_string_pretty(&selection)? + "\n",
        Format::Human | Format::Prometheus | Format::Npd => {
            render(&selection, args.explain, use_color(g.color, console::Term::stdout().is_term()))
        }
    };
    match g.format {
        Format::Json => std::io::stdout().lock().write_all(text.as_bytes())?,
        Format::Human | Format::Prometheus | Format::Npd => super::print_human(&text)?,
    }
    Ok(if selection.succeeded() { 0 } else { 1 })
}

fn render(s: &Selection, explain: bool, color: bool) -> String {
    let paint = |text: &str, f: fn(console::StyledObject<&str>) -> console::StyledObject<&str>| {
        if color {
            f(style(text)).to_string()
        } else {
            text.to_string()
        }
    };
    let mut out = String::new();
    let _ = writeln!(out, "host     {}", host_line(&s.host));
    if explain {
        let _ = writeln!(out, "\ncandidates");
        for c in &s.candidates {
            render_candidate(&mut out, c, &paint);
        }
        if !s.notes.is_empty() {
            let _ = writeln!(out);
        }
    }
    for n in &s.notes {
        let _ = writeln!(out, "note     {n}");
    }
    let action = match s.chosen.action {
        Action::UseLocal => paint("use local", |t| t.green().bold()),
        Action::Pull => paint("pull", |t| t.green().bold()),
        Action::Build => paint("build", |t| t.yellow().bold()),
    };
    let _ = writeln!(out, "\nchosen   {action}: {}", s.chosen.reason);
    if !explain {
        if let Some(c) =
            s.candidates.iter().find(|c| Some(&c.reference) == s.chosen.reference.as_ref() && c.accepted)
        {
            for w in &c.warnings {
                let _ = writeln!(out, "{} {w}", paint("warning:", |t| t.yellow()));
            }
        }
    }
    let rejected =
        s.candidates.iter().filter(|c| !c.accepted && c.decided_on != DecidedOn::NotQueried).count();
    if !explain && rejected > 0 {
        let _ =
            writeln!(out, "         {rejected} candidate(s) rejected: --explain lists each with its rule");
    }
    if let Some(p) = &s.pull {
        match (&p.error, &p.recheck) {
            (Some(e), _) => {
                let _ = writeln!(
                    out,
                    "{}   {} ({}): {e}",
                    paint("pull", |t| t.red().bold()),
                    p.reference,
                    p.platform
                );
            }
            (None, Some(c)) if c.accepted => {
                let _ = writeln!(
                    out,
                    "pulled   {} ({}): re-checked, passes every rule ({} layers)",
                    p.reference,
                    p.platform,
                    c.layers.map_or("?".into(), |n| n.to_string())
                );
            }
            (None, Some(c)) => {
                let _ = writeln!(
                    out,
                    "{} {} ({}): the pulled image fails {}",
                    paint("pulled", |t| t.red().bold()),
                    p.reference,
                    p.platform,
                    c.summary()
                );
            }
            (None, None) => {}
        }
    }
    out
}

/// Styles a piece of text when colors are on.
type Paint<'a> = &'a dyn Fn(&str, fn(console::StyledObject<&str>) -> console::StyledObject<&str>) -> String;

fn render_candidate(out: &mut String, c: &Candidate, paint: Paint) {
    let mark = match (c.accepted, c.decided_on) {
        (true, _) => paint("✔", |t| t.green()),
        (false, DecidedOn::NotQueried) => paint("-", |t| t.dim()),
        (false, _) => paint("✘", |t| t.red()),
    };
    let source = match c.source {
        select::Source::Local => "local",
        select::Source::Registry => "registry",
    };
    let _ = writeln!(out, "  {mark} {source:<8} {}  ({})", c.reference, c.origin);
    let mut facts = Vec::new();
    if c.decided_on == DecidedOn::Tag {
        facts.push("decided on the tag, not queried".to_string());
    }
    if let Some(n) = c.layers {
        facts.push(format!("{n} layers"));
    }
    if let Some(b) = c.size_bytes {
        facts.push(match c.source {
            select::Source::Local => format!("{} on disk", human_bytes(b)),
            select::Source::Registry => format!("{} compressed", human_bytes(b)),
        });
    }
    if !c.platforms.is_empty() {
        facts.push(format!("index: {}", c.platforms.join(", ")));
    }
    if let Some(r) = &c.rate_limit {
        facts.push(format!("ratelimit-remaining {}", r.remaining.as_deref().unwrap_or("?")));
    }
    if !facts.is_empty() {
        let _ = writeln!(out, "             {}", facts.join(" · "));
    }
    if let Some(e) = &c.error {
        for (i, line) in e.lines().enumerate() {
            let _ = writeln!(out, "             {}{}", if i == 0 { "registry: " } else { "" }, line.trim());
        }
    }
    // A candidate rejected on its tag was never inspected: its "not stated" rows say nothing.
    let shown =
        c.decisions.iter().filter(|d| c.decided_on == DecidedOn::Image || d.verdict != Verdict::Unknown);
    for d in shown {
        let verdict = match d.verdict {
            Verdict::Pass => paint("pass", |t| t.green()),
            Verdict::Fail => paint("FAIL", |t| t.red().bold()),
            Verdict::Unknown => paint("  - ", |t| t.dim()),
        };
        let _ = writeln!(out, "             {verdict} {:<15} {}", d.rule, d.message);
        if d.verdict == Verdict::Fail && !d.why.is_empty() {
            let _ = writeln!(out, "                  why: {}", d.why);
        }
    }
    for w in &c.warnings {
        let _ = writeln!(out, "             {} {w}", paint("warning:", |t| t.yellow()));
    }
    if let Some(n) = &c.note {
        let _ = writeln!(out, "             note: {n}");
    }
}

fn host_line(h: &HostFacts) -> String {
    let mut parts = Vec::new();
    match h.l4t.value() {
        Some(l) => parts.push(format!("L4T {l}")),
        None if h.jetson => parts.push("L4T unknown".into()),
        None => parts.push("not a Jetson".into()),
    }
    if let Some(c) = h.cuda.value() {
        parts.push(format!("CUDA {c}"));
    }
    if let Some(u) = h.ubuntu.value() {
        parts.push(format!("Ubuntu {u}"));
    }
    if let Some(a) = h.arch.value() {
        parts.push(a.clone());
    }
    if let Some(p) = h.platform.value() {
        parts.push(p.clone());
    }
    parts.join(" · ")
}
