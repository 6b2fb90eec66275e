//! jetdoc: doctor, fixer and provisioner for GPU containers on NVIDIA Jetson.
//!
//! Layers, from the outside in: `cli` (clap definitions) and `commands` (terminal, exit codes);
//! `checks` (one file per check) over `probes` (facts gathered through the `Host`) over `facts`
//! (pure parsers); `knowledge` holds the data tables of `checks/*.toml`; `report` renders;
//! `fixes` plan host changes and `steps`, the one executor, applies and undoes them.

pub mod checks;
pub mod cli;
pub mod commands;
pub mod container;
pub mod context;
pub mod digest;
pub mod fact;
pub mod facts;
pub mod fetch;
pub mod fixes;
pub mod host;
pub mod knowledge;
pub mod probes;
pub mod provision;
pub mod report;
pub mod steps;
pub mod units;

use clap::Parser;

/// Parses arguments, runs the command, and returns the process exit code.
pub fn main_with_args<I, T>(args: I) -> i32
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let cli = match cli::Cli::try_parse_from(args) {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { 2 } else { 0 };
        }
    };
    checks::install_panic_hook();
    if matches!(cli.global.format, cli::Format::Prometheus | cli::Format::Npd)
        && !matches!(cli.command, cli::Command::Check(_))
    {
        eprintln!(
            "error: --format prometheus and --format npd are for `jetdoc check`; use human or json here"
        );
        return 2;
    }
    let result = match &cli.command {
        cli::Command::Check(a) => commands::check::run(&cli.global, a),
        cli::Command::Image(a) => match &a.command {
            cli::ImageCommand::Select(s) => commands::image_select::run(&cli.global, s),
            cli::ImageCommand::Build(b) => commands::image_build::build(&cli.global, b),
            cli::ImageCommand::Flatten(f) => commands::image_build::flatten(&cli.global, f),
            cli::ImageCommand::Doctor(d) => commands::image_build::doctor(&cli.global, d),
        },
        cli::Command::Fix(a) => commands::fix::run(&cli.global, a),
        cli::Command::Fetch(f) => commands::fetch::run(&cli.global, f),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            let color = commands::use_color(cli.global.color, console::Term::stderr().is_term());
            let prefix =
                if color { console::style("error:").red().bold().to_string() } else { "error:".to_string() };
            eprintln!("{prefix} {e}");
            for cause in e.chain().skip(1) {
                eprintln!("  {cause}");
            }
            2
        }
    }
}
