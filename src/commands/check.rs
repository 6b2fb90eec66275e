use anyhow::{bail, Result};
use std::io::Write;

use super::{build_context, use_color, ExitCode};
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
    let ctx = build_context(g)?;
    let report = checks::run(&ctx, &selection);
    let text = match g.format {
        Format::Json => {
            std::io::stdout().lock().write_all(json::render(&report).as_bytes())?;
            return Ok(report.exit_code(args.strict));
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
    Ok(report.exit_code(args.strict))
}
