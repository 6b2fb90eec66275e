use anyhow::{bail, Result};
use std::io::Write;

use super::{use_color, ExitCode};
use crate::checks::{self, Selection};
use crate::cli::{CheckArgs, Format, GlobalArgs};
use crate::report::{human, json};

pub fn run(g: &GlobalArgs, args: &CheckArgs) -> Result<ExitCode> {
    if args.list {
        let mut out = std::io::stdout().lock();
        for d in checks::registry() {
            writeln!(out, "{:<32} {:<11} {}", d.id, d.area.as_str(), d.title)?;
        }
        return Ok(0);
    }
    let selection = Selection { only: args.only.clone(), skip: args.skip.clone() };
    let unknown = selection.unknown_patterns();
    if !unknown.is_empty() {
        bail!("no check matches {}: see `jetdoc check --list` for ids and areas", unknown.join(", "));
    }
    let ctx = super::build_check_context(g)?;
    let report = checks::run(&ctx, &selection);
    // The probes' cache, the tables and the report are freed by the process's exit, which is
    // near: dropping them one allocation at a time was a tenth of a whole run.
    std::mem::forget(ctx);
    let text = match g.format {
        Format::Json => {
            std::io::stdout().lock().write_all(json::render(&report).as_bytes())?;
            let code = report.exit_code(args.strict);
            std::mem::forget(report);
            return Ok(code);
        }
        Format::Human => human::render(
            &report,
            &human::Options {
                color: use_color(g.color, console::Term::stdout().is_term()),
                quiet: g.quiet,
                verbose: g.verbose,
            },
        ),
    };
    super::print_human(&text)?;
    let code = report.exit_code(args.strict);
    std::mem::forget(report);
    Ok(code)
}
