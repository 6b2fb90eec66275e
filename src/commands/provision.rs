//! `jetdoc provision PROFILE`: the plan (`--dry-run`), then the run. Rendering of resolved
//! profiles and plans lives here too (`profiles show` shares it).

use anyhow::Result;
use std::fmt::Write as _;
use std::io::Write as _;
use std::time::Duration;

use super::reporters::SelectProgress;
use super::{build_context, use_color, ExitCode};
use crate::cli::{Format, GlobalArgs, ProvisionArgs};
use crate::container::registry::{Credentials, RegistryClient};
use crate::fetch::Cache;
use crate::provision::lock::Lock;
use crate::provision::plan::{self, CandidateVerdict, Plan, Sources};
use crate::provision::resolve::{Met, Refused, Resolved, Runtime};
use crate::provision::{execute, run, Profile};

/// Terminal styles, off when colors are.
pub struct Style {
    color: bool,
}

impl Style {
    pub fn new(color: bool) -> Style {
        Style { color }
    }
    fn paint(&self, s: &str, f: fn(console::StyledObject<&str>) -> console::StyledObject<&str>) -> String {
        if self.color {
            f(console::style(s)).to_string()
        } else {
            s.to_string()
        }
    }
    pub fn bold(&self, s: &str) -> String {
        self.paint(s, |t| t.bold())
    }
    pub fn red(&self, s: &str) -> String {
        self.paint(s, |t| t.red().bold())
    }
    pub fn green(&self, s: &str) -> String {
        self.paint(s, |t| t.green())
    }
    pub fn yellow(&self, s: &str) -> String {
        self.paint(s, |t| t.yellow())
    }
    pub fn dim(&self, s: &str) -> String {
        self.paint(s, |t| t.dim())
    }
    fn met(&self, m: Met) -> String {
        match m {
            Met::Yes => self.green("✔"),
            Met::No => self.red("✘"),
            Met::Unknown => self.yellow("?"),
        }
    }
}

pub fn print_json(v: &serde_json::Value) -> Result<()> {
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, v)?;
    writeln!(out)?;
    Ok(())
}

pub fn run(g: &GlobalArgs, a: &ProvisionArgs) -> Result<ExitCode> {
    let profile = Profile::load(&a.profile)?;
    let ctx = build_context(g)?;
    let lock = match &a.locked {
        Some(path) => Some(Lock::read(path)?),
        None => None,
    };
    let foreign_root = g.root.is_some() && !g.live_commands;
    let offline_reason = if foreign_root {
        Some("another root filesystem (--root): nothing is asked of this machine's Docker or the network")
    } else if a.offline {
        Some("--offline")
    } else {
        None
    };
    // This machine's cache says nothing about another root's robot, unless asked for.
    let cache = match (&a.cache_dir, foreign_root) {
        (Some(d), _) => Some(Cache::new(d.clone())),
        (None, true) => None,
        (None, false) => Some(Cache::new(default_cache_root())),
    };
    let st = Style::new(use_color(g.color, console::Term::stdout().is_term()));
    // Credentials belong to the user running jetdoc, as `docker pull` reads them; another
    // root's user has their own.
    let creds = match (foreign_root, Credentials::default_path(|k| std::env::var(k).ok())) {
        (true, _) => None,
        (false, Some(path)) => Some(Credentials::load(&path)?),
        (false, None) => Some(Credentials::default()),
    };
    if !a.dry_run {
        return provision(g, a, &ctx, &profile, lock, creds);
    }
    let progress = SelectProgress::new(g.quiet || g.format == Format::Json);
    let mut client;
    let online = match offline_reason {
        Some(_) => None,
        None => {
            client = RegistryClient::new(
                creds.clone().unwrap_or_default(),
                Duration::from_secs(a.timeout.max(1)),
            )?;
            Some((&mut client, &progress as &dyn crate::container::select::SelectReporter))
        }
    };
    let sources = Sources {
        online,
        cache: cache.as_ref(),
        lock: lock.as_ref(),
        offline_reason: offline_reason.unwrap_or_default().to_string(),
        credentials: creds.as_ref(),
    };
    let planned = plan::plan(&ctx, &profile, sources);
    progress.finish();
    let plan = match planned {
        Ok(p) => p,
        Err(refused) => {
            if g.format == Format::Json {
                print_json(&serde_json::json!({ "schema": plan::SCHEMA, "refused": refused }))?;
            } else {
                std::io::stdout().lock().write_all(render_refusal(&refused, &st).as_bytes())?;
            }
            return Ok(1);
        }
    };
    if g.format == Format::Json {
        print_json(&serde_json::to_value(&plan)?)?;
    } else {
        std::io::stdout().lock().write_all(render_plan(&plan, &st).as_bytes())?;
    }
    Ok(plan.exit_code())
}

/// The run itself: it plans under the state lock, after the "up to date" check (which needs no
/// network).
fn provision(
    g: &GlobalArgs,
    a: &ProvisionArgs,
    ctx: &crate::context::Context,
    profile: &Profile,
    lock: Option<Lock>,
    creds: Option<Credentials>,
) -> Result<ExitCode> {
    if !a.yes {
        let what = format!(
            "provision {} on this device: fetch, pull, build, smoke-test{}",
            profile.name,
            if a.no_run { "" } else { ", start" }
        );
        match super::ask_yes_no(&format!("{}?", capitalise(&what)))? {
            None => {
                eprintln!("error: not provisioned: confirm with --yes when running without a terminal (or look first with --dry-run)\n  would {what}");
                return Ok(1);
            }
            Some(false) => {
                eprintln!("nothing changed");
                return Ok(1);
            }
            Some(true) => {}
        }
    }
    let cache_dir = a.cache_dir.clone().unwrap_or_else(Cache::default_root_for_this_process);
    let mut fetch = crate::fetch::Options::new(cache_dir.clone());
    fetch.offline = a.offline;
    let opts = execute::Options {
        fix: a.fix,
        force: a.force,
        no_run: a.no_run,
        offline: a.offline,
        context: a.context.clone(),
        cache_dir,
        build_network: a.network.clone(),
        lock_out: a.lock.clone(),
        locked: match (lock, &a.locked) {
            (Some(l), Some(p)) => Some((l, p.clone())),
            _ => None,
        },
        registry_timeout: Duration::from_secs(a.timeout.max(1)),
        credentials: creds.unwrap_or_default(),
        fetch,
    };
    let progress = std::rc::Rc::new(super::provision_exec::ProvisionProgress::new(g));
    let finished = execute::provision(ctx, profile, &opts, progress)?;
    super::provision_exec::run(g, a, finished)
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}

/// The cache directory of this process (the fetch commands' rule).
fn default_cache_root() -> std::path::PathBuf {
    Cache::default_root_for_this_process()
}

fn gb(bytes: u64) -> String {
    format!("{:.1} GB", bytes as f64 / 1e9)
}

fn short(sha: &str) -> &str {
    let hex = sha.strip_prefix("sha256:").unwrap_or(sha);
    &hex[..12.min(hex.len())]
}

pub fn render_refusal(r: &Refused, st: &Style) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{} profile `{}` does not apply to this device", st.red("refused:"), r.profile);
    let _ = writeln!(out, "device    {}", r.device);
    let _ = writeln!(out, "why       {}", r.reason);
    if let Some(h) = &r.hint {
        let _ = writeln!(out, "next      {h}");
    }
    out
}

fn runtime_words(r: Runtime) -> &'static str {
    match r {
        Runtime::Nvidia => "--runtime nvidia",
        Runtime::GpusAll => "--gpus all",
        Runtime::None => "no GPU",
    }
}

/// `profiles show`: the profile as resolved for the device.
pub fn render_resolved(r: &Resolved, st: &Style) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} ({}, sha256 {})",
        st.bold(&r.profile.name),
        r.profile.source,
        short(&r.profile.sha256)
    );
    let _ = writeln!(out, "device    {}", r.device.summary());
    let _ = writeln!(out, "platform  {}: {}", r.platform.as_str(), r.admitted);
    let _ = writeln!(out, "base      [[base]] {}", r.base.row);
    if let Some(n) = &r.base.note {
        let _ = writeln!(out, "          {}", st.dim(n));
    }
    for (i, c) in r.base.candidates.iter().enumerate() {
        let fallback = if c.fallback { " (fallback)" } else { "" };
        let py = c.python.as_ref().map(|p| format!(", Python {p}")).unwrap_or_default();
        let _ = writeln!(out, "          {}. {}{fallback}{py}", i + 1, c.image);
        if let Some(n) = &c.note {
            let _ = writeln!(out, "             {}", st.dim(n));
        }
    }
    if !r.apt.is_empty() {
        let _ = writeln!(out, "apt       {}", r.apt.join(" "));
    }
    if let Some(p) = &r.python {
        let mut reqs = p.requirements.join(", ");
        if let Some(f) = &p.requirements_file {
            reqs.push_str(&format!(" + {f}"));
        }
        let _ = writeln!(out, "python    {reqs}");
    }
    if let Some(z) = &r.zed {
        let _ = writeln!(
            out,
            "zed       ZED SDK {} for {} ({}): {}",
            z.wanted.as_deref().unwrap_or(&z.sdk),
            z.token,
            z.variant,
            z.flags.join(" ")
        );
        let _ = writeln!(out, "          {}", z.url);
        if let Some(p) = &z.pyzed_url {
            let _ = writeln!(out, "          pyzed: {p}");
        }
    }
    for f in &r.files {
        let _ = writeln!(out, "file      {} -> {}", f.src, f.dest);
    }
    if !r.env.is_empty() {
        let env: Vec<String> = r.env.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let _ = writeln!(out, "env       {}", env.join(" "));
    }
    render_run(&mut out, &r.run, st);
    render_requirements(&mut out, &r.requirements, st);
    render_smoke(&mut out, &r.smoke);
    for w in &r.warnings {
        let _ = writeln!(out, "{} {w}", st.yellow("warning:"));
    }
    out
}

fn render_run(out: &mut String, run: &crate::provision::resolve::RunResolution, st: &Style) {
    let mut flags = vec![runtime_words(run.runtime).to_string()];
    if let Some(n) = &run.network {
        flags.push(format!("network {n}"));
    }
    if let Some(i) = &run.ipc {
        flags.push(format!("ipc {i}"));
    }
    if run.privileged {
        flags.push("privileged".into());
    }
    if let Some(s) = &run.shm_size {
        flags.push(format!("shm {s}"));
    }
    if let Some(r) = &run.restart {
        flags.push(format!("restart {r}"));
    }
    let _ = writeln!(out, "run       {} ({})", run.name, flags.join(" · "));
    for d in &run.devices {
        let _ = writeln!(out, "          device {}  {}", d.path, st.dim(&d.why));
    }
    for m in &run.mounts {
        let ro = if m.read_only { " (read-only)" } else { "" };
        let _ = writeln!(out, "          mount  {} -> {}{ro}  {}", m.source, m.target, st.dim(&m.why));
    }
    for (k, v) in &run.env {
        let _ = writeln!(out, "          env    {k}={v}");
    }
    if let Some(c) = &run.command {
        let _ = writeln!(out, "          cmd    {}", run::shell_line(&c[0], &c[1..]));
    }
    let _ = writeln!(out, "          x11    {}: {}", if run.x11 { "yes" } else { "no" }, run.x11_reason);
    for n in &run.notes {
        let _ = writeln!(out, "          {} {n}", st.dim("note:"));
    }
}

fn render_requirements(out: &mut String, reqs: &[crate::provision::resolve::Requirement], st: &Style) {
    for (i, q) in reqs.iter().enumerate() {
        let label = if i == 0 { "requires" } else { "" };
        let _ = writeln!(out, "{label:<9} {} {:<4}  {}", st.met(q.met), q.what, q.message);
        if let (Met::No, Some(h)) = (q.met, &q.hint) {
            let _ = writeln!(out, "                 {h}");
        }
    }
}

fn render_smoke(out: &mut String, smoke: &[crate::provision::profile::Smoke]) {
    for (i, s) in smoke.iter().enumerate() {
        let label = if i == 0 { "smoke" } else { "" };
        let _ = writeln!(
            out,
            "{label:<9} {}. {}: {}",
            i + 1,
            s.name,
            run::shell_line(&s.command[0], &s.command[1..])
        );
    }
}

/// `provision --dry-run`: the plan.
pub fn render_plan(p: &Plan, st: &Style) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} {} ({}, sha256 {}): dry run, nothing changed",
        st.bold("plan for"),
        st.bold(&p.profile.name),
        p.profile.source,
        short(&p.profile.sha256)
    );
    let _ = writeln!(out, "device    {}", p.device.summary());
    let _ = writeln!(out, "platform  {}: {}", p.platform.as_str(), p.admitted);
    let _ = writeln!(out, "registry  {}", p.registry);

    let c = &p.checks;
    let _ = writeln!(
        out,
        "checks    {} passed · {} warned · {} failed, {} of them blocking",
        c.passed,
        c.warned,
        c.blocking.len() + c.not_blocking.len(),
        c.blocking.len()
    );
    for b in &c.blocking {
        let fix = b.fix.as_ref().map(|f| format!(" (--fix applies `jetdoc fix {f}`)")).unwrap_or_default();
        let _ = writeln!(out, "          {} {}  {}{fix}", st.red("✘"), b.id, b.summary);
    }
    for b in &c.not_blocking {
        let _ = writeln!(
            out,
            "          {} {}  {} {}",
            st.yellow("✘"),
            b.id,
            b.summary,
            st.dim("(does not block this profile)")
        );
    }

    let _ = writeln!(out, "base      [[base]] {}", p.base.row);
    for cand in &p.base.candidates {
        let mark = match cand.verdict {
            CandidateVerdict::Fits => st.green("✔"),
            CandidateVerdict::Rejected => st.red("✘"),
            CandidateVerdict::Unverified => st.yellow("?"),
            CandidateVerdict::NotConsidered => st.dim("-"),
        };
        let fallback = if cand.fallback { " (fallback)" } else { "" };
        let _ = writeln!(out, "          {mark} {}{fallback}", cand.image);
        let mut facts = vec![cand.reason.clone()];
        if let Some(n) = cand.layers {
            facts.push(format!("{n} layers"));
        }
        if let Some(b) = cand.size_bytes {
            facts.push(format!("{} to download", gb(b)));
        }
        let _ = writeln!(out, "            {}", st.dim(&facts.join(" · ")));
    }
    let _ = writeln!(
        out,
        "          → {} ({})",
        p.base.chosen.as_deref().unwrap_or("no base image"),
        p.base.action
    );
    let _ = writeln!(out, "            {}", p.base.reason);

    let i = &p.image;
    let budget = match &i.budget {
        Some(b) => b.reason.clone(),
        None => format!(
            "+{} layers on the base; its own count is known once the registry answers (Docker's limit is {})",
            i.added_layers, i.limit
        ),
    };
    let _ = writeln!(out, "image     build {}: {budget}", i.tag);

    for (n, a) in p.artifacts.iter().enumerate() {
        let label = if n == 0 { "download" } else { "" };
        let size = a.size_bytes.map(gb).unwrap_or_else(|| "size ?".into());
        let sha =
            a.sha256.as_deref().map(|s| format!("sha256 {}", short(s))).unwrap_or_else(|| "sha256 ?".into());
        let _ = writeln!(out, "{label:<9} {}  ({size}, {sha}: {})", a.name, a.known_from);
        let _ = writeln!(out, "            {}", a.url);
    }
    if let Some(w) = &p.wheels {
        let mut reqs = w.requirements.join(", ");
        if let Some(f) = &w.requirements_file {
            reqs.push_str(&format!(" + {f}"));
        }
        let _ = writeln!(
            out,
            "wheels    {reqs}\n            for Python {} {}, from {}; resolved and hash-pinned when fetched",
            w.python.as_deref().unwrap_or("?"),
            w.platform,
            w.indexes.join(", ")
        );
    }
    let d = &p.disk;
    let disk = match (d.needed_bytes, d.free_bytes) {
        (Some(n), Some(f)) => format!("needs {} of {} free for Docker ({})", gb(n), gb(f), d.docker_root),
        (None, Some(f)) => {
            format!("{} free for Docker ({}); the profile states no minimum", gb(f), d.docker_root)
        }
        (Some(n), None) => format!("needs {}; free space on {} not measured", gb(n), d.docker_root),
        (None, None) => format!("free space on {} not measured", d.docker_root),
    };
    let _ = writeln!(out, "disk      {} {disk}", st.met(d.met));
    render_requirements(&mut out, &p.requirements, st);
    let _ = writeln!(out, "run       {}", p.run.command_line);
    for n in &p.run.run.notes {
        let _ = writeln!(out, "          {} {n}", st.dim("note:"));
    }
    render_smoke(&mut out, &p.smoke);
    for w in &p.warnings {
        let _ = writeln!(out, "{} {w}", st.yellow("warning:"));
    }
    if p.blocked_by.is_empty() {
        let _ =
            writeln!(out, "\n{} nothing stops this provision: run it without --dry-run", st.green("ready:"));
    } else {
        let _ =
            writeln!(out, "\n{} the provision would stop here (--force goes on anyway):", st.red("blocked:"));
        for b in &p.blocked_by {
            let _ = writeln!(out, "  - {b}");
        }
    }
    out
}
