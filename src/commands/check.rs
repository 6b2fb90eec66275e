use anyhow::{bail, Result};
use std::io::Write;
use std::time::Instant;

use super::{build_context, textfile, use_color, ExitCode};
use crate::checks::{self, Selection};
use crate::cli::{CheckArgs, Format, GlobalArgs};
use crate::report::{human, json, npd, prometheus};

pub fn run(g: &GlobalArgs, args: &CheckArgs) -> Result<ExitCode> {
    let result = run_check(g, args);
    if let (Format::Npd, Err(e)) = (g.format, &result) {
        // node-problem-detector shows stdout only (the whole error still goes to stderr); the
        // root cause first, since the line is cut at 80 bytes and outer contexts are advice.
        let chain: Vec<String> = e.chain().rev().map(ToString::to_string).collect();
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
    let ctx = build_context(g)?;
    let report = checks::run(&ctx, &selection);
    let mut code = report.exit_code(args.strict);
    let metrics = (g.format == Format::Prometheus || args.textfile.is_some())
        .then(|| prometheus::render(&prometheus::collect(&ctx, &report, started), None));
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
        Format::Json => json::render(&report),
        Format::Human => human::render(
            &report,
            &human::Options {
                color: use_color(g.color, console::Term::stdout().is_term()),
                quiet: g.quiet,
                verbose: g.verbose,
            },
        ),
    };
    std::io::stdout().lock().write_all(text.as_bytes())?;
    Ok(code)
}
