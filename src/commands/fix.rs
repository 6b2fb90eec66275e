//! `jetdoc fix`: plan the selected fixes, show them (`--dry-run` stops there), confirm, apply,
//! report. `--undo` restores a journaled change.

use anyhow::Result;
use serde_json::json;
use std::fmt::Write as _;

use super::reporters::FixProgress;
use super::{build_context, ExitCode};
use crate::cli::{FixArgs, Format, GlobalArgs};
use crate::fixes::{self, Options, Planned};
use crate::host::is_root;
use crate::steps::{Executor, Outcome};

pub fn run(g: &GlobalArgs, args: &FixArgs) -> Result<ExitCode> {
    let ctx = build_context(g)?;
    let needs_root = ctx.host.is_live() || ctx.host.runs_real_commands();

    if let Some(id) = &args.undo {
        if needs_root && !is_root() {
            return refuse_not_root("undo a fix (it restores files under /etc and restarts Docker)");
        }
        let progress = FixProgress::new(g.quiet || g.format == Format::Json);
        let result =
            Executor::new(&ctx, &progress).undo(Some(id.as_str()).filter(|s| !s.is_empty()), args.force);
        progress.finish();
        return match result {
            Ok(a) => {
                print_outcomes(g, std::slice::from_ref(&a), "undid");
                Ok(i32::from(a.error.is_some()))
            }
            Err(e) => {
                eprintln!("error: {e}");
                Ok(1)
            }
        };
    }

    let wanted: Vec<String> = args
        .gpu_runtime
        .then(|| "gpu-runtime".to_string())
        .into_iter()
        .chain(args.ids.iter().cloned())
        .collect();
    let defs = fixes::select(&wanted)?;
    let planned = fixes::plan(&ctx, &defs, &Options { force: args.force });
    for r in &planned.refused {
        eprintln!("error: {}: {}", r.fix, r.message);
    }

    // Plans show daemon.json as found on disk: cleaned of terminal escapes.
    let shown = crate::report::human::clean(&planned.render()).into_owned();
    if args.dry_run || planned.to_apply().next().is_none() {
        if g.format == Format::Json {
            println!("{}", serde_json::to_string_pretty(&plans_json(&planned, &[]))?);
        } else {
            print!("{shown}");
        }
        return Ok(i32::from(!planned.refused.is_empty()));
    }

    if needs_root && !is_root() {
        return refuse_not_root(
            "apply these fixes (they edit files under /etc, run apt or usermod, and restart Docker)",
        );
    }
    if !args.yes {
        eprint!("{shown}");
        match super::ask_yes_no("Apply?")? {
            None => {
                eprintln!("error: not applied: confirm with --yes when running without a terminal (or look first with --dry-run)");
                return Ok(1);
            }
            Some(false) => {
                eprintln!("nothing changed");
                return Ok(1);
            }
            Some(true) => {}
        }
    } else if g.format == Format::Human && !g.quiet {
        print!("{shown}");
    }

    let progress = FixProgress::new(g.quiet || g.format == Format::Json);
    let applied = fixes::apply(&mut Executor::new(&ctx, &progress), &planned);
    progress.finish();
    if g.format == Format::Json {
        println!("{}", serde_json::to_string_pretty(&plans_json(&planned, &applied.outcomes))?);
    } else {
        print_outcomes(g, &applied.outcomes, "applied");
    }
    Ok(i32::from(applied.failed))
}

fn refuse_not_root(what: &str) -> Result<ExitCode> {
    eprintln!("error: jetdoc needs root to {what}: run it with sudo (nothing was changed; `--dry-run` shows the plan without root)");
    Ok(1)
}

fn plans_json(planned: &Planned, outcomes: &[Outcome]) -> serde_json::Value {
    let mut fixes: Vec<serde_json::Value> = planned
        .plans
        .iter()
        .map(|p| {
            let applied = outcomes.iter().find(|o| o.plan == p.name);
            json!({ "fix": p.name, "nothing_to_do": p.is_empty(), "plan_only": p.plan_only, "steps": p.steps_json(), "diffs": p.diffs(), "notes": p.notes, "applied": applied })
        })
        .collect();
    for r in &planned.refused {
        fixes.push(json!({ "fix": r.fix, "refused": r.message }));
    }
    json!({ "fixes": fixes })
}

fn print_outcomes(g: &GlobalArgs, outcomes: &[Outcome], verb: &str) {
    if g.format == Format::Json {
        println!("{}", serde_json::to_string_pretty(&json!({ verb: outcomes })).unwrap_or_default());
        return;
    }
    let mut out = String::new();
    for a in outcomes {
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
                (Some(id), "applied") if a.undoable => {
                    let _ = writeln!(out, "{}: done; undo with `sudo jetdoc fix --undo {id}`", a.plan);
                }
                (Some(id), "undid") => {
                    let _ = writeln!(out, "{}: undid {id}", a.plan);
                }
                _ => {
                    let _ = writeln!(out, "{}: done", a.plan);
                }
            },
        }
    }
    print!("{}", crate::report::human::clean(&out));
}
