//! `jetdoc fix`: plan the selected fixes, show them (`--dry-run` stops there), confirm, apply,
//! report. `--undo` restores a journaled change.

use anyhow::{bail, Result};
use serde_json::json;
use std::fmt::Write as _;
use std::io::{BufRead, IsTerminal, Write};

use super::reporters::FixProgress;
use super::{build_context, ExitCode};
use crate::cli::{FixArgs, Format, GlobalArgs};
use crate::fixes::apply::{self, Applied};
use crate::fixes::{self, Options, Plan, Step};
use crate::host::is_root;

pub fn run(g: &GlobalArgs, args: &FixArgs) -> Result<ExitCode> {
    let ctx = build_context(g)?;
    let needs_root = ctx.host.is_live() || ctx.host.runner_kind() == "real";

    if let Some(id) = &args.undo {
        if needs_root && !is_root() {
            return refuse_not_root(g, "undo a fix (it restores files under /etc and restarts Docker)");
        }
        let progress = FixProgress::new(g.quiet || g.format == Format::Json);
        let result =
            apply::undo(&ctx.host, Some(id.as_str()).filter(|s| !s.is_empty()), args.force, &progress);
        progress.finish();
        return match result {
            Ok(a) => {
                print_applied(g, &[("undo".into(), a.clone())], "undid");
                Ok(i32::from(a.error.is_some()))
            }
            Err(e) => {
                eprintln!("error: {e}");
                Ok(1)
            }
        };
    }

    let mut defs = Vec::new();
    let wanted =
        args.gpu_runtime.then(|| "gpu-runtime".to_string()).into_iter().chain(args.ids.iter().cloned());
    for id in wanted {
        match fixes::find(&id) {
            Some(d) if !defs.iter().any(|x: &&fixes::FixDef| x.id == d.id) => defs.push(d),
            Some(_) => {}
            None => {
                let known: Vec<String> = fixes::registry()
                    .iter()
                    .map(|f| format!("{} ({})", f.id, f.repairs.join(", ")))
                    .collect();
                bail!("no fix for `{id}`; fixes and the check ids they repair: {}", known.join("; "));
            }
        }
    }
    if defs.is_empty() {
        bail!("say what to fix: `jetdoc fix --gpu-runtime`, or fix/check ids such as `jetdoc fix docker.group` (see `jetdoc fix --help`)");
    }

    let opts = Options { force: args.force };
    let mut plans: Vec<Plan> = Vec::new();
    let mut refused = Vec::new();
    for d in &defs {
        match (d.plan)(&ctx, &opts) {
            Ok(p) => plans.push(p),
            Err(r) => refused.push((d.id, r.message)),
        }
    }
    for (id, msg) in &refused {
        eprintln!("error: {id}: {msg}");
    }

    // Plans show daemon.json as found on disk: cleaned of terminal escapes.
    let shown = crate::report::human::clean(&render_plans(&plans)).into_owned();
    if args.dry_run || plans.iter().all(|p| p.is_empty() || p.plan_only) {
        if g.format == Format::Json {
            println!("{}", serde_json::to_string_pretty(&plans_json(&plans, &refused, &[]))?);
        } else {
            print!("{shown}");
        }
        return Ok(i32::from(!refused.is_empty()));
    }

    if needs_root && !is_root() {
        return refuse_not_root(
            g,
            "apply these fixes (they edit files under /etc, run apt or usermod, and restart Docker)",
        );
    }
    if !args.yes {
        if !std::io::stdin().is_terminal() {
            eprint!("{shown}");
            eprintln!("error: not applied: confirm with --yes when running without a terminal (or look first with --dry-run)");
            return Ok(1);
        }
        eprint!("{shown}Apply? [y/N] ");
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
    let mut results = Vec::new();
    let mut failed = !refused.is_empty();
    for plan in plans.iter().filter(|p| !p.is_empty() && !p.plan_only) {
        match apply::apply(&ctx.host, plan, &progress) {
            Ok(a) => {
                failed |= a.error.is_some();
                results.push((plan.fix.to_string(), a));
            }
            Err(e) => {
                failed = true;
                results.push((
                    plan.fix.to_string(),
                    Applied { fix: plan.fix.to_string(), error: Some(e.to_string()), ..Applied::default() },
                ));
            }
        }
    }
    progress.finish();
    if g.format == Format::Json {
        println!("{}", serde_json::to_string_pretty(&plans_json(&plans, &refused, &results))?);
    } else {
        print_applied(g, &results, "applied");
    }
    Ok(i32::from(failed))
}

fn refuse_not_root(g: &GlobalArgs, what: &str) -> Result<ExitCode> {
    let _ = g;
    eprintln!("error: jetdoc needs root to {what}: run it with sudo (nothing was changed; `--dry-run` shows the plan without root)");
    Ok(1)
}

/// The unified diff of one file change, paths shown inside the root.
pub fn diff(path: &str, before: Option<&[u8]>, after: &[u8]) -> String {
    let old = before.map(|b| String::from_utf8_lossy(b).into_owned()).unwrap_or_default();
    let new = String::from_utf8_lossy(after).into_owned();
    let (a, b) =
        (if before.is_some() { format!("a{path}") } else { "/dev/null".to_string() }, format!("b{path}"));
    let mut text =
        similar::TextDiff::from_lines(&old, &new).unified_diff().context_radius(3).header(&a, &b).to_string();
    if !old.is_empty() && !old.ends_with('\n') {
        text.push_str("\\ No newline at end of file\n");
    }
    text
}

/// The plans for people: per fix, each file's diff and each command it would run.
pub fn render_plans(plans: &[Plan]) -> String {
    let mut out = String::new();
    for p in plans {
        if p.is_empty() {
            let _ = writeln!(out, "{}: nothing to do", p.fix);
        } else {
            let _ = writeln!(out, "{}:{}", p.fix, if p.plan_only { " (plan only, not applied)" } else { "" });
        }
        for step in &p.steps {
            match step {
                Step::Write(fc) => {
                    let _ = writeln!(out, "  write {} ({})", fc.path, fc.why);
                    out.push_str(&diff(&fc.path, fc.before.as_deref(), &fc.after));
                }
                Step::Run { cmd, why } => {
                    let _ = writeln!(out, "  run: {}   # {why}", cmd.display());
                }
                Step::Validate { cmd, .. } => {
                    let _ = writeln!(out, "  run: {}   # validate before the restart", cmd.display());
                }
                Step::RestartDocker { cmd } => {
                    let _ = writeln!(out, "  run: {}   # restart Docker to load it", cmd.display());
                }
                Step::VerifyRuntime { runtime, default } => {
                    let d = if *default { " as the default runtime" } else { "" };
                    let _ = writeln!(out, "  check: `docker info` lists runtime {runtime}{d}; otherwise restore the backup and restart again");
                }
            }
        }
        for n in &p.notes {
            let _ = writeln!(out, "  note: {n}");
        }
    }
    out
}

fn plans_json(
    plans: &[Plan],
    refused: &[(&str, String)],
    results: &[(String, Applied)],
) -> serde_json::Value {
    let mut fixes: Vec<serde_json::Value> = plans
        .iter()
        .map(|p| {
            let diffs: Vec<serde_json::Value> = p
                .steps
                .iter()
                .filter_map(|s| match s {
                    Step::Write(fc) => Some(json!({ "path": fc.path, "diff": diff(&fc.path, fc.before.as_deref(), &fc.after) })),
                    _ => None,
                })
                .collect();
            let applied = results.iter().find(|(f, _)| f == p.fix).map(|(_, a)| a);
            json!({ "fix": p.fix, "nothing_to_do": p.is_empty(), "plan_only": p.plan_only, "steps": p.steps, "diffs": diffs, "notes": p.notes, "applied": applied })
        })
        .collect();
    for (id, msg) in refused {
        fixes.push(json!({ "fix": id, "refused": msg }));
    }
    json!({ "fixes": fixes })
}

fn print_applied(g: &GlobalArgs, results: &[(String, Applied)], verb: &str) {
    if g.format == Format::Json {
        let v: Vec<&Applied> = results.iter().map(|(_, a)| a).collect();
        println!("{}", serde_json::to_string_pretty(&json!({ verb: v })).unwrap_or_default());
        return;
    }
    let mut out = String::new();
    for (_, a) in results {
        for c in &a.changed {
            match (&c.backup, verb) {
                (Some(b), "applied") => {
                    let _ = writeln!(out, "changed {} (backup: {b})", c.path);
                }
                (None, "applied") => {
                    let _ = writeln!(out, "created {}", c.path);
                }
                _ => {
                    let _ = writeln!(out, "restored {}", c.path);
                }
            }
        }
        for r in &a.ran {
            let _ = writeln!(out, "ran: {r}");
        }
        for n in &a.notes {
            let _ = writeln!(out, "note: {n}");
        }
        match (&a.error, a.rolled_back) {
            (Some(e), true) => {
                let _ = writeln!(out, "FAILED: {e}; rolled back to the original files");
            }
            (Some(e), false) => {
                let _ = writeln!(out, "FAILED: {e}");
            }
            (None, _) => match (&a.id, verb) {
                (Some(id), "applied") => {
                    let _ = writeln!(out, "{}: done; undo with `sudo jetdoc fix --undo {id}`", a.fix);
                }
                (Some(id), _) => {
                    let _ = writeln!(out, "{}: undid {id}", a.fix);
                }
                (None, _) => {
                    let _ = writeln!(out, "{}: done", a.fix);
                }
            },
        }
    }
    print!("{}", crate::report::human::clean(&out));
}
