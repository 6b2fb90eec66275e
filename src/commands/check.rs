use anyhow::{bail, Result};
use std::io::Write;
use std::time::Instant;

use super::{textfile, use_color, ExitCode};
use crate::checks::{self, Selection};
use crate::cli::{CheckArgs, Format, GlobalArgs};
use crate::report::{human, json, npd, prometheus};

pub fn run(g: &GlobalArgs, args: &CheckArgs) -> Result<ExitCode> {
    let result = run_check(g, args);
    if let (Format::Npd, Err(e)) = (g.format, &result) {
        // node-problem-detector shows stdout only (the whole error still goes to stderr). jetdoc's
        // errors put the fault outermost and the way out below it (see `root_error`), so the
        // chain in its own order keeps the fault inside the 80 bytes NPD shows.
        let chain: Vec<String> = e.chain().map(ToString::to_string).collect();
        println!("{}", npd::error_line(&chain.join("; ")));
    }
    result
}

fn run_check(g: &GlobalArgs, args: &CheckArgs) -> Result<ExitCode> {
    let started = Instant::now();
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
    let mut code = report.exit_code(args.strict);
    let metrics = (g.format == Format::Prometheus || args.textfile.is_some())
        .then(|| prometheus::render(&prometheus::collect(&ctx, &report, started), None));
    // The probes' cache, the tables and the report are freed by the process's exit, which is
    // near: dropping them one allocation at a time was a tenth of a whole run.
    std::mem::forget(ctx);
    if let (Some(dir), Some(text)) = (&args.textfile, &metrics) {
        textfile::write(dir, text)?;
    }
    let text = match g.format {
        Format::Prometheus => metrics.unwrap_or_default(),
        Format::Npd => {
            let v = npd::verdict(&report, args.strict);
            code = v.exit_code;
            v.line + "\n"
        }
        Format::Json => {
            std::io::stdout().lock().write_all(json::render(&report).as_bytes())?;
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
    if g.format == Format::Human {
        super::print_human(&text)?;
    } else {
        // Prometheus and NPD output is read by programs; label values are escaped by the renderer.
        std::io::stdout().lock().write_all(text.as_bytes())?;
    }
    std::mem::forget(report);
    Ok(code)
}
