//! The command-line interface: clap definitions only. Commands live in `crate::commands`.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

pub const EXIT_CODES: &str = "\
Exit codes:
  0  success: no check failed (with --strict: no warning either); a fix applied or had nothing to do
  1  at least one check failed (--strict: or warned); a fix or fetch did not complete
  2  jetdoc's own error: bad arguments, unreadable --root, broken table file";

#[derive(Debug, Parser)]
#[command(
    name = "jetdoc",
    version,
    about = "Doctor, fixer and provisioner for GPU containers on NVIDIA Jetson",
    long_about = "jetdoc identifies a Jetson (module, L4T, JetPack, CUDA, cuDNN, TensorRT), checks the \
Docker and NVIDIA container runtime set-up, and repairs what it can.\n\n\
Start with `jetdoc check`; every problem it reports names the command that fixes it.",
    after_help = EXIT_CODES
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Inspect another filesystem (a mounted SD card or a copy of a device's root) instead of `/`.
    /// Commands are not run against a foreign root: only its files are read.
    #[arg(long, global = true, env = "JETDOC_ROOT", value_name = "DIR")]
    pub root: Option<PathBuf>,

    /// Output format: `human` for people, `json` for machines (to stdout; logs go to stderr).
    #[arg(long, global = true, value_enum, default_value_t = Format::Human)]
    pub format: Format,

    /// When to use colors (NO_COLOR in the environment also turns them off).
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,

    /// Extra knowledge tables (*.toml), added to the built-in ones [default: /etc/jetdoc/checks.d].
    #[arg(long, global = true, env = "JETDOC_CHECKS_DIR", value_name = "DIR")]
    pub checks_dir: Option<PathBuf>,

    /// Only problems and the summary line.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,

    /// Also the hints of passing checks and every fact with its source.
    #[arg(short, long, global = true)]
    pub verbose: bool,

    /// Test hook: answer commands from this `commands.toml` instead of running them.
    #[arg(long, global = true, env = "JETDOC_COMMANDS", hide = true)]
    pub commands: Option<PathBuf>,

    /// Test hook: run real commands even with --root (e.g. a test-owned Docker daemon).
    #[arg(long, global = true, env = "JETDOC_LIVE_COMMANDS", hide = true)]
    pub live_commands: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Human,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Probe the device and print a doctor report with a fix for every problem.
    #[command(after_help = CHECK_HELP)]
    Check(CheckArgs),
    /// Repair what `jetdoc check` found: plan, show, back up, write atomically, journal for undo.
    #[command(after_help = FIX_HELP)]
    Fix(FixArgs),
}

const FIX_HELP: &str = "\
Fixes:
  gpu-runtime          install the NVIDIA container toolkit if missing, register the nvidia runtime in
                       /etc/docker/daemon.json (the default runtime on Jetson), validate, restart Docker,
                       verify; repairs docker.nvidia-runtime, docker.default-runtime, docker.daemon-json,
                       docker.gpus, toolkit.packages, toolkit.nvidia-ctk
  docker.group         add the invoking user (SUDO_USER) to the docker group
  docker.iptables-raw  Docker 28 without iptable_raw: show both remedies (plan only, applies nothing)

Examples:
  jetdoc fix --gpu-runtime --dry-run    the diff and the commands, nothing changed
  sudo jetdoc fix --gpu-runtime --yes   apply unattended
  sudo jetdoc fix docker.default-runtime
  sudo jetdoc fix --undo                restore what the last fix changed (or --undo ID)

Every changed file is backed up to /var/lib/jetdoc/backups/<id>/ and journaled in
/var/lib/jetdoc/journal.jsonl. Running a fix again when nothing is wrong changes nothing.

Exit codes:
  0  applied, or nothing to do
  1  refused (a file that does not parse, not root, not confirmed) or failed (rolled back)
  2  jetdoc's own error";

#[derive(Debug, Args)]
pub struct FixArgs {
    /// Fix ids or the check ids they repair (`docker.default-runtime`); see the list below.
    #[arg(value_name = "ID")]
    pub ids: Vec<String>,

    /// The GPU container runtime fix (same as the id `gpu-runtime`).
    #[arg(long)]
    pub gpu_runtime: bool,

    /// Print the unified diff of every file change and every command, change nothing.
    #[arg(long, conflicts_with = "undo")]
    pub dry_run: bool,

    /// Do not ask for confirmation (unattended use).
    #[arg(short, long)]
    pub yes: bool,

    /// Restore the files of the last fix (or of journal entry ID) and restart Docker if it was.
    #[arg(long, value_name = "ID", num_args = 0..=1, default_missing_value = "")]
    pub undo: Option<String>,

    /// Replace a daemon.json that does not parse (after a backup); undo a file edited since.
    #[arg(long)]
    pub force: bool,
}

const CHECK_HELP: &str = "\
Examples:
  jetdoc check                          the full report
  jetdoc check --format json | jq .device
  jetdoc check --only containers        one area (or an id, or an id prefix such as `docker`)
  jetdoc check --root /mnt/sdcard       a device's filesystem mounted elsewhere
  jetdoc check --list                   every check id

Exit codes:
  0  no check failed (with --strict: no warning either)
  1  at least one check failed (--strict: or warned)
  2  jetdoc's own error";

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// List the check ids and what each looks at, then exit.
    #[arg(long)]
    pub list: bool,

    /// Run only these checks: ids, id prefixes or areas, comma-separated.
    #[arg(long, value_delimiter = ',', value_name = "IDS")]
    pub only: Vec<String>,

    /// Skip these checks: ids, id prefixes or areas, comma-separated.
    #[arg(long, value_delimiter = ',', value_name = "IDS")]
    pub skip: Vec<String>,

    /// Exit 1 on warnings too, not only on failures.
    #[arg(long)]
    pub strict: bool,
}
