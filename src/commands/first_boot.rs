//! `jetdoc first-boot`: install the first-boot unit into a root (plan, confirm, apply through the
//! executor, undo), read back its status, and the two commands the unit itself runs (`record`
//! after each attempt, `backoff` before the next).

use anyhow::{anyhow, Context as _, Result};
use serde_json::json;
use std::io::{BufRead, IsTerminal, Write};
use std::time::Duration;

use super::reporters::FixProgress;
use super::{build_context, ExitCode};
use crate::cli::{FirstBootBackoffArgs, FirstBootCommand, FirstBootInstallArgs, Format, GlobalArgs};
use crate::context::Context;
use crate::firstboot::install::{self, Request, PLAN};
use crate::firstboot::record::{self, ServiceResult};
use crate::firstboot::status;
use crate::host::is_root;
use crate::steps::journal::Journal;
use crate::steps::{Executor, Outcome, Silent};

pub fn run(g: &GlobalArgs, cmd: &FirstBootCommand) -> Result<ExitCode> {
    let ctx = build_context(g)?;
    match cmd {
        FirstBootCommand::Install(a) => install_cmd(g, &ctx, a),
        FirstBootCommand::Status => status_cmd(g, &ctx),
        FirstBootCommand::Record(a) => record_cmd(&ctx, &a.profile),
        FirstBootCommand::Backoff(a) => backoff_cmd(&ctx, a),
    }
}

fn install_cmd(g: &GlobalArgs, ctx: &Context, a: &FirstBootInstallArgs) -> Result<ExitCode> {
    let live = ctx.host.is_live();
    if let Some(id) = &a.undo {
        if live && !is_root() {
            return refuse_not_root("undo a first-boot install (it removes files under /etc)");
        }
        let id = match id.as_str() {
            "" => match last_install(ctx)? {
                Some(id) => id,
                None => {
                    eprintln!("error: nothing to undo: the journal under {} lists no first-boot install that is not undone yet", ctx.host.shown("/var/lib/jetdoc"));
                    return Ok(1);
                }
            },
            id => id.to_string(),
        };
        let progress = FixProgress::new(g.quiet || g.format == Format::Json);
        let result = Executor::new(ctx, &progress).undo(Some(&id), false);
        progress.finish();
        return match result {
            Ok(o) => {
                print_outcome(g, ctx, &o, "undid");
                Ok(i32::from(o.error.is_some()))
            }
            Err(e) => {
                eprintln!("error: {e}");
                Ok(1)
            }
        };
    }

    let profile = a.profile.clone().ok_or_else(|| anyhow!("the profile to provision is required"))?;
    let binary = match &a.binary {
        Some(b) => b.clone(),
        None => std::env::current_exe().context("cannot tell where this jetdoc binary is: pass --binary")?,
    };
    let req = Request {
        profile,
        lock: a.lock.clone(),
        bundle: a.bundle.clone(),
        binary,
        target_binary: format!("{}/bin/jetdoc", a.prefix.trim_end_matches('/')),
    };
    let plan = install::plan(&ctx.host, &req)?;
    let shown = plan.render();
    if a.dry_run || plan.is_empty() {
        if g.format == Format::Json {
            println!("{}", serde_json::to_string_pretty(&json!({ "root": ctx.host.root(), "plan": plan }))?);
        } else {
            print!("{shown}");
            if plan.is_empty() {
                println!("first boot is installed in {} as asked: nothing to do", ctx.host.root().display());
            }
        }
        return Ok(0);
    }
    if live && !is_root() {
        return refuse_not_root("install first boot on this system (it writes under /etc and /usr/local)");
    }
    if !a.yes {
        if !std::io::stdin().is_terminal() {
            eprint!("{shown}");
            eprintln!("error: not installed: confirm with --yes when running without a terminal (or look first with --dry-run)");
            return Ok(1);
        }
        eprint!("{shown}Install? [y/N] ");
        let _ = std::io::stderr().flush();
        let mut answer = String::new();
        std::io::stdin().lock().read_line(&mut answer)?;
        if !matches!(answer.trim(), "y" | "Y" | "yes") {
            eprintln!("nothing changed");
            return Ok(1);
        }
    } else if g.format == Format::Human && !g.quiet {
        print!("{shown}");
    }
    let progress = FixProgress::new(g.quiet || g.format == Format::Json);
    let result = Executor::new(ctx, &progress).apply(&plan);
    progress.finish();
    match result {
        Ok(o) => {
            if g.format == Format::Json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(
                        &json!({ "root": ctx.host.root(), "plan": plan, "applied": o })
                    )?
                );
            } else {
                print_outcome(g, ctx, &o, "applied");
            }
            Ok(i32::from(o.error.is_some()))
        }
        Err(e) => {
            eprintln!("error: {e}");
            Ok(1)
        }
    }
}

/// The newest first-boot install the journal holds that is not undone or rolled back.
fn last_install(ctx: &Context) -> Result<Option<String>> {
    let records = Journal::new(&ctx.host).read()?.records;
    let closed: Vec<&str> = records
        .iter()
        .filter_map(|r| if r.action == "rolled-back" { Some(r.id.as_str()) } else { r.undoes.as_deref() })
        .collect();
    Ok(records
        .iter()
        .rev()
        .find(|r| r.fix == PLAN && r.action == "apply" && !closed.contains(&r.id.as_str()))
        .map(|r| r.id.clone()))
}

fn print_outcome(g: &GlobalArgs, ctx: &Context, o: &Outcome, verb: &str) {
    if g.format == Format::Json {
        println!("{}", serde_json::to_string_pretty(&json!({ verb: o })).unwrap_or_default());
        return;
    }
    for c in &o.changed {
        match (&c.backup, verb) {
            (Some(b), "applied") => println!("changed {} (backup: {b})", c.path),
            (None, "applied") => println!("created {}", c.path),
            (Some(_), _) => println!("restored {}", c.path),
            (None, _) => println!("removed {} (the install had created it)", c.path),
        }
    }
    for n in &o.notes {
        println!("note: {n}");
    }
    let root =
        if ctx.host.is_live() { String::new() } else { format!("--root {} ", ctx.host.root().display()) };
    match (&o.error, o.rolled_back, &o.id) {
        (Some(e), true, _) => println!("FAILED: {e}; rolled back"),
        (Some(e), false, _) => println!("FAILED: {e}"),
        (None, _, Some(id)) if verb == "applied" => println!(
            "first boot installed: the unit runs at the next boot of {}; check with `jetdoc {root}first-boot status`; undo with `jetdoc {root}first-boot install --undo {id}`",
            ctx.host.root().display()
        ),
        (None, _, Some(id)) => println!("undid {id}"),
        (None, _, None) => {}
    }
}

fn refuse_not_root(what: &str) -> Result<ExitCode> {
    eprintln!("error: jetdoc needs root to {what}: run it with sudo (nothing was changed; `--dry-run` shows the plan without root)");
    Ok(1)
}

fn status_cmd(g: &GlobalArgs, ctx: &Context) -> Result<ExitCode> {
    let s = status::status(&ctx.host)?;
    if g.format == Format::Json {
        println!("{}", serde_json::to_string_pretty(&s)?);
    } else {
        print!("{}", s.render());
    }
    Ok(i32::from(s.has_problems()))
}

/// What the unit runs after each attempt. Its output goes to the journal.
fn record_cmd(ctx: &Context, profile: &str) -> Result<ExitCode> {
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    let result = ServiceResult {
        service_result: env("SERVICE_RESULT"),
        exit_code: env("EXIT_CODE"),
        exit_status: env("EXIT_STATUS"),
    };
    let mut exec = Executor::new(ctx, &Silent);
    exec.lock()?;
    let now = jiff::Timestamp::now().to_string();
    let fb = record::record(&ctx.host, profile, &result, &now)?;
    let last = fb.last.as_ref().map_or(0, |l| l.number);
    if result.success() {
        println!(
            "first boot: `jetdoc provision {profile}` succeeded (attempt {last}); {} written: jetdoc-provision.service will not run again",
            ctx.host.shown(record::MARKER)
        );
    } else {
        let how = match (&result.exit_code, &result.exit_status) {
            (Some(c), Some(s)) if c == "exited" => format!("exit status {s}"),
            (Some(c), Some(s)) => format!("{c} {s}"),
            _ => result.service_result.clone().unwrap_or_else(|| "no result from systemd".into()),
        };
        let next = if result.exit_status.as_deref() == Some("2") {
            "not retried in this boot: exit status 2 is a problem with the lock, the profile or the command line, which a retry does not mend (fix it, then `systemctl restart jetdoc-provision.service`, or reboot)"
        } else {
            "systemd starts it again after the backoff, and at every boot until it succeeds"
        };
        println!("first boot: attempt {last} of `jetdoc provision {profile}` failed ({how}); {next}");
    }
    Ok(0)
}

/// What the unit runs before each attempt: sleeps the backoff. Prints what it waits for.
fn backoff_cmd(ctx: &Context, a: &FirstBootBackoffArgs) -> Result<ExitCode> {
    let fb = record::read(&ctx.host)?;
    let boot = record::boot_id(&ctx.host);
    let wait = record::backoff(
        fb.as_ref(),
        boot.as_deref(),
        Duration::from_secs(a.restart_sec),
        Duration::from_secs(a.max_sec),
    );
    if !wait.is_zero() {
        let failures = fb.as_ref().and_then(|f| f.last.as_ref()).map_or(0, |l| l.failures_this_boot);
        println!(
            "first boot: {failures} failed attempt(s) in this boot; waiting {} s more before the next (backoff up to {} s between attempts)",
            wait.as_secs(),
            a.max_sec
        );
        let _ = std::io::stdout().flush();
        std::thread::sleep(wait);
    }
    Ok(0)
}
