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
    /// Container images: choose a compatible one (and, later, build, flatten, doctor).
    #[command(subcommand)]
    Image(ImageCommand),
}

#[derive(Debug, Subcommand)]
pub enum ImageCommand {
    /// Choose an image this device can run: local images first, then registries, else build.
    #[command(after_help = IMAGE_SELECT_HELP)]
    Select(ImageSelectArgs),
}

const IMAGE_SELECT_HELP: &str = "\
Order: local images (`docker image inspect`) that pass the rules; then registries, queried live
(manifest, platform, layer count and download size are read before any pull); else build.
Rules (checks/images.toml): architecture, platform class (tegra/sbsa/x86_64), the L4T band
(r36.0-36.3 and r36.4+ do not mix), CUDA major.minor, Ubuntu release. Labels beat tags.

Examples:
  jetdoc image select --profile pytorch --explain
  jetdoc image select --candidate dustynv/l4t-pytorch:r36.4.0 --pull
  jetdoc image select --profile base --format json | jq .chosen

Exit codes:
  0  a compatible image was chosen (and with --pull, pulled and re-checked)
  1  nothing compatible (build one: `jetdoc image build`), or the pull failed
  2  jetdoc's own error: bad arguments, unknown profile, unreadable tables";

#[derive(Debug, Args)]
pub struct ImageSelectArgs {
    /// Candidates from the tables for this profile (`base`, `pytorch`, `ml`, `zed`, ...).
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,

    /// An image to consider (repeatable), after the profile's.
    #[arg(long = "candidate", value_name = "IMAGE")]
    pub candidates: Vec<String>,

    /// List every candidate, accepted or rejected, with each rule's decision.
    #[arg(long)]
    pub explain: bool,

    /// Pull the chosen registry image with `docker pull` and check it again.
    #[arg(long)]
    pub pull: bool,

    /// Seconds to wait for each registry request.
    #[arg(long, default_value_t = 30, value_name = "SECS")]
    pub timeout: u64,
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
