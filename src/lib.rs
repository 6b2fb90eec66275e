//! jetdoc: doctor, fixer and provisioner for GPU containers on NVIDIA Jetson.
//!
//! Layers, from the outside in: `cli` (clap definitions) and `commands` (terminal, exit codes);
//! `checks` (one file per check) over `probes` (facts gathered through the `Host`) over `facts`
//! (pure parsers); `knowledge` holds the data tables of `checks/*.toml`; `report` renders;
//! `fixes` plan host changes and `steps`, the one executor, applies and undoes them.

pub mod checks;
pub mod cli;
pub mod commands;
// Docker is spawned here its own way until it moves behind the Host (REVIEW seam 2, the docker
// branch's src/host/docker.rs); remove this allow then.
#[allow(clippy::disallowed_methods, reason = "Docker streams outside the Host until seam 2 is mended")]
pub mod container;
pub mod context;
pub mod digest;
pub mod fact;
pub mod facts;
pub mod fetch;
pub mod fixes;
// The one door to the machine: only its runners spawn processes (clippy.toml).
#[allow(clippy::disallowed_methods, reason = "host/ is where jetdoc spawns, with timeouts and LC_ALL=C")]
pub mod host;
pub mod knowledge;
pub mod probes;
pub mod provision;
pub mod redact;
pub mod report;
pub mod steps;
pub mod units;

use clap::FromArgMatches;

/// Parses arguments, runs the command, and returns the process exit code.
#[allow(clippy::print_stderr, reason = "the last word of a failed command: its error on stderr")]
pub fn main_with_args<I, T>(args: I) -> i32
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let args: Vec<std::ffi::OsString> = args.into_iter().map(Into::into).collect();
    // Help is laid out for the terminal (commands::help) only when it may be shown: the layout
    // costs more than the whole parse of an ordinary run.
    let wants_help = args.iter().skip(1).any(|a| a == "-h" || a == "--help" || a == "help");
    let mut command = if wants_help {
        commands::help::command(commands::help::terminal_width())
    } else {
        <cli::Cli as clap::CommandFactory>::command()
    };
    let parsed = command.try_get_matches_from_mut(args).and_then(|m| {
        let cli = cli::Cli::from_arg_matches(&m);
        std::mem::forget(m);
        cli
    });
    // The process ends soon: freeing these trees of a few hundred allocations would only cost
    // time (a tenth of a `check` run, with the context `check` forgets too).
    std::mem::forget(command);
    let cli = match parsed {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { 2 } else { 0 };
        }
    };
    commands::init_color(cli.global.color);
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
            cli::ImageCommand::Matrix(m) => commands::image_matrix::run(&cli.global, m),
        },
        cli::Command::Fix(a) => commands::fix::run(&cli.global, a),
        cli::Command::Fetch(f) => commands::fetch::run(&cli.global, f),
        cli::Command::Profiles(p) => commands::profiles::run(&cli.global, p),
        cli::Command::Provision(a) => commands::provision::run(&cli.global, a),
        cli::Command::Run(a) => commands::provision_run::run(&cli.global, a),
        cli::Command::Status(a) => commands::status::run(&cli.global, a),
        cli::Command::Completions(a) => commands::completions::completions(a),
        cli::Command::Man(a) => commands::completions::man(a),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            // Errors carry paths, server answers and Docker's stderr: cleaned of terminal escapes.
            let clean = report::human::clean;
            eprintln!("{} {}", console::style("error:").for_stderr().red().bold(), clean(&e.to_string()));
            for cause in e.chain().skip(1) {
                eprintln!("  {}", clean(&cause.to_string()));
            }
            2
        }
    }
}
