//! The command-line interface: clap definitions only. Commands live in `crate::commands`.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

pub const EXIT_CODES: &str = "\
Examples:
  jetdoc check                        the doctor report: every problem with its fix
  sudo jetdoc fix --gpu-runtime       repair the GPU container runtime (plan, diff, backup)
  jetdoc fetch zed -o /opt/zed        the ZED SDK installer for this device
  jetdoc image select --explain       a container image this device can run
  jetdoc <COMMAND> --help             each command's options, examples and exit codes

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
Docker and NVIDIA container runtime set-up, repairs what it can, and provisions a profile's \
container (fetch, pull or build, smoke-test, record), on the robot or at its first boot.\n\n\
Start with `jetdoc check`; every problem it reports names the command that fixes it. Then \
`jetdoc profiles list` and `jetdoc provision PROFILE --dry-run`.",
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

    /// Output format: `human` for people, `json` for machines (to stdout; logs go to stderr);
    /// `jetdoc check` also speaks `prometheus` and `npd` (node-problem-detector).
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
    #[arg(long, global = true, env = "JETDOC_LIVE_COMMANDS", hide = true, value_parser = clap::builder::BoolishValueParser::new())]
    pub live_commands: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Human,
    Json,
    /// `jetdoc check` only: Prometheus text exposition format.
    Prometheus,
    /// `jetdoc check` only: one line of at most 80 bytes, exit 0 OK, 1 problem, 2 unknown.
    Npd,
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
    /// Download the ZED SDK or Python wheels for this device, verified and cached.
    #[command(subcommand, after_help = FETCH_HELP)]
    Fetch(FetchCommand),
    /// Container images: choose a compatible one, build from a profile within Docker's layer
    /// budget, flatten, diagnose.
    #[command(after_help = IMAGE_HELP)]
    Image(ImageArgs),
    /// First boot: a flashed robot provisions itself (a systemd unit that runs `jetdoc provision`
    /// until it succeeds); install it into a root filesystem and read back how it went.
    #[command(subcommand, name = "first-boot", after_help = FIRST_BOOT_HELP)]
    FirstBoot(FirstBootCommand),
    /// Bundles for robots without network: make one for a device (PROFILE --for-root DIR or
    /// --l4t X.Y, -o FILE), or verify one against its manifest (--verify FILE).
    #[command(after_help = BUNDLE_HELP)]
    Bundle(BundleArgs),
    /// Provisioning profiles: list them, or show one as resolved for this device.
    #[command(subcommand, after_help = PROFILES_HELP)]
    Profiles(ProfilesCommand),
    /// Provision a profile: check, fix (--fix), fetch, pull or build, smoke-test, record.
    #[command(after_help = PROVISION_HELP)]
    Provision(ProvisionArgs),
    /// Start a provisioned profile's container (or write an equivalent compose.yaml).
    #[command(after_help = RUN_HELP)]
    Run(RunArgs),
    /// What jetdoc provisioned on this device, from /var/lib/jetdoc/state.json.
    #[command(after_help = STATUS_HELP)]
    Status(StatusArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell) to stdout.
    #[command(after_help = COMPLETIONS_HELP)]
    Completions(CompletionsArgs),
    /// Print jetdoc's man page (roff) to stdout, or write one page per command to a directory.
    #[command(after_help = MAN_HELP)]
    Man(ManArgs),
}

const BUNDLE_HELP: &str = "\
A bundle is one file (a tar, its manifest first) with everything a provision needs: the lock, the
image (`docker save`, zstd-compressed), the ZED SDK installer, the wheels and their lock, each
with its size and sha256 in the manifest. It is made on a machine with network and Docker (the
image is built for the robot: an arm64 image needs an arm64 machine or qemu-user-static) and
used on the robot by `jetdoc provision PROFILE --bundle FILE`, with no network.
docs/first-boot.md#bundles describes the format.

The robot is described by its root filesystem (--for-root: a mounted SD card or a copy; only its
release, device tree, dpkg status, CUDA and Python files are read) or its L4T release (--l4t).
Checks are the robot's business: they run when it provisions from the bundle.

Examples:
  jetdoc bundle locomotion --l4t 36.4 -o loco.bundle
  jetdoc bundle locomotion --for-root /mnt/sd -o loco.bundle
  jetdoc bundle locomotion --l4t 36.4 --locked loco.lock -o loco.bundle   exactly a lock's inputs
  jetdoc bundle --verify loco.bundle                 every member against the manifest
  jetdoc bundle --verify loco.bundle --format json   the manifest

Exit codes:
  0  written, or (--verify) the bundle is whole
  1  the provision behind it failed or was refused; (--verify) a member differs, is missing or is
     not a plain file, and is named
  2  jetdoc's own error: bad arguments, the file cannot be opened or written";

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BundleCompression {
    Zstd,
    Gzip,
    None,
}

#[derive(Debug, Args)]
pub struct BundleArgs {
    /// The profile to bundle (a name of `jetdoc profiles list`, or a profile file).
    #[arg(required_unless_present = "verify")]
    pub profile: Option<String>,

    /// The robot's root filesystem (a mounted SD card, a copy of its root).
    #[arg(long, value_name = "DIR", conflicts_with = "l4t", required_unless_present_any = ["verify", "l4t"])]
    pub for_root: Option<PathBuf>,

    /// The robot's L4T release (36.4, 35.5.0).
    #[arg(long, value_name = "X.Y")]
    pub l4t: Option<String>,

    /// Where to write the bundle.
    #[arg(short, long, value_name = "FILE", required_unless_present = "verify")]
    pub output: Option<PathBuf>,

    /// Bundle exactly what this lock file pins (`jetdoc provision --lock` wrote it).
    #[arg(long, value_name = "FILE")]
    pub locked: Option<PathBuf>,

    /// The directory the profile's [[files]] are taken from [default: the profile file's].
    #[arg(long, value_name = "DIR")]
    pub context: Option<PathBuf>,

    /// Network for the build's RUN steps (`docker build --network`).
    #[arg(long, value_name = "MODE")]
    pub network: Option<String>,

    /// Cache directory [default: $XDG_CACHE_HOME/jetdoc, or /var/cache/jetdoc as root].
    #[arg(long, env = "JETDOC_CACHE_DIR", value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,

    /// How the image is compressed.
    #[arg(long, value_enum, default_value_t = BundleCompression::Zstd)]
    pub compression: BundleCompression,

    /// Compression level (zstd 1-19, gzip 0-9).
    #[arg(long, default_value_t = 3)]
    pub level: i32,

    /// Seconds to wait for each registry request.
    #[arg(long, default_value_t = 30, value_name = "SECS")]
    pub timeout: u64,

    /// Verify this bundle end to end (reads it once, writes nothing).
    #[arg(long, value_name = "FILE", conflicts_with_all = ["profile", "for_root", "l4t", "output", "locked"])]
    pub verify: Option<PathBuf>,
}

const FIRST_BOOT_HELP: &str = "\
jetdoc-provision.service runs `jetdoc provision PROFILE --yes --locked LOCK` after the network and
Docker are up, until it succeeds: again after a failure (30 s, doubling to 15 min) and at every
boot, never again once done. docs/first-boot.md explains each line of the unit.

Examples:
  jetdoc first-boot install locomotion --root /mnt/sd --lock loco.lock --dry-run
  jetdoc first-boot status --root /mnt/sd
  ./install.sh --first-boot locomotion --lock loco.lock --destdir /mnt/sd   the same from a checkout

Exit codes:
  0  success (see each command)
  1  see each command
  2  jetdoc's own error: bad arguments";

const FIRST_BOOT_RECORD_HELP: &str = "\
Run by jetdoc-provision.service after each attempt (ExecStopPost), with systemd's $SERVICE_RESULT,
$EXIT_CODE and $EXIT_STATUS. Keeps the attempt in the `first_boot` member of
/var/lib/jetdoc/state.json; after a success writes /var/lib/jetdoc/first-boot.done, which stops
the unit for good.

Examples:
  SERVICE_RESULT=exit-code EXIT_CODE=exited EXIT_STATUS=1 jetdoc first-boot record locomotion

Exit codes:
  0  recorded
  2  jetdoc's own error: the state file cannot be read or written (the unit ignores it)";

const FIRST_BOOT_BACKOFF_HELP: &str = "\
Run by jetdoc-provision.service before each attempt (ExecStartPre): after N failures in a row in
this boot it sleeps so that attempts are min(RESTART_SEC * 2^(N-1), MAX_SEC) apart, counting the
RestartSec systemd already waited. Nothing after a success or before the first attempt of a boot.

Examples:
  jetdoc first-boot backoff --restart-sec 30 --max-sec 900

Exit codes:
  0  waited (or had nothing to wait for)
  2  jetdoc's own error: the state file cannot be read";

#[derive(Debug, Subcommand)]
pub enum FirstBootCommand {
    /// Write the unit, its enablement link, the lock (or bundle) and the binary into a root.
    #[command(after_help = FIRST_BOOT_INSTALL_HELP)]
    Install(FirstBootInstallArgs),
    /// Whether first boot is installed, ran, and how its attempts went.
    #[command(after_help = FIRST_BOOT_STATUS_HELP)]
    Status,
    /// The unit's ExecStopPost: record the attempt systemd reports ($SERVICE_RESULT,
    /// $EXIT_CODE, $EXIT_STATUS) and, after a success, write the completion marker.
    #[command(hide = true, after_help = FIRST_BOOT_RECORD_HELP)]
    Record(FirstBootRecordArgs),
    /// The unit's ExecStartPre: wait before the next attempt, longer after each failure.
    #[command(hide = true, after_help = FIRST_BOOT_BACKOFF_HELP)]
    Backoff(FirstBootBackoffArgs),
}

const FIRST_BOOT_INSTALL_HELP: &str = "\
Writes, through the same executor as `jetdoc fix` (journal, backups, undo): PREFIX/bin/jetdoc
(--binary, default: this one), the lock in /etc/jetdoc/ (--lock) or the bundle in
/var/lib/jetdoc/bundles/ (--bundle: no network needed), the unit
/etc/systemd/system/jetdoc-provision.service that runs `jetdoc provision PROFILE --yes --locked
...` at boot until it succeeds, and its link in /etc/systemd/system/multi-user.target.wants/ that
enables it. Nothing is run: the unit starts at the root's next boot. A second install of the same
files changes nothing.

Examples:
  jetdoc first-boot install locomotion --root /mnt/sd --lock loco.lock --dry-run
  sudo jetdoc first-boot install locomotion --root /mnt/sd --lock loco.lock --binary jetdoc-aarch64 --yes
  sudo jetdoc first-boot install --root /mnt/sd --undo     take the last install back

Exit codes:
  0  installed, or nothing to do (with --dry-run: the plan)
  1  not confirmed, or failed (rolled back); --undo: nothing to undo or refused
  2  jetdoc's own error: bad arguments, a lock that does not parse, a binary for another architecture";

#[derive(Debug, Args)]
pub struct FirstBootInstallArgs {
    /// The profile the robot provisions (a name of `jetdoc profiles list`).
    #[arg(required_unless_present = "undo")]
    pub profile: Option<String>,

    /// The lock file to provision from (`jetdoc provision PROFILE --lock FILE` wrote it).
    #[arg(long, value_name = "FILE", conflicts_with = "bundle")]
    pub lock: Option<PathBuf>,

    /// A bundle (`jetdoc bundle`): the robot provisions from it with no network.
    #[arg(long, value_name = "FILE")]
    pub bundle: Option<PathBuf>,

    /// The jetdoc binary to install [default: the one running], e.g. an aarch64 build for a
    /// Jetson's SD card prepared on an x86 laptop.
    #[arg(long, value_name = "FILE")]
    pub binary: Option<PathBuf>,

    /// Where the binary goes on the robot: PREFIX/bin/jetdoc.
    #[arg(long, value_name = "DIR", default_value = "/usr/local")]
    pub prefix: String,

    /// Print the plan (and each file's diff) and change nothing.
    #[arg(long, conflicts_with = "undo")]
    pub dry_run: bool,

    /// Do not ask for confirmation.
    #[arg(short, long)]
    pub yes: bool,

    /// Take back the last first-boot install (or journal entry ID).
    #[arg(long, value_name = "ID", num_args = 0..=1, default_missing_value = "")]
    pub undo: Option<String>,
}

const FIRST_BOOT_STATUS_HELP: &str = "\
Examples:
  jetdoc first-boot status                      on the robot
  jetdoc first-boot status --root /mnt/sd       an SD card read back on a laptop
  jetdoc first-boot status --format json

Exit codes:
  0  done, or installed and waiting for its first boot
  1  not installed, attempts failed so far (the unit keeps trying), or a file the unit needs is missing
  2  jetdoc's own error: a damaged state file";

#[derive(Debug, Args)]
pub struct FirstBootRecordArgs {
    /// The profile the unit provisions.
    pub profile: String,
}

#[derive(Debug, Args)]
pub struct FirstBootBackoffArgs {
    /// The unit's RestartSec: the first wait, which systemd already waited.
    #[arg(long, default_value_t = 30, value_name = "SECS")]
    pub restart_sec: u64,
    /// The longest wait between two attempts.
    #[arg(long, default_value_t = 900, value_name = "SECS")]
    pub max_sec: u64,
}

#[derive(Debug, Subcommand)]
pub enum ProfilesCommand {
    /// The built-in profiles and those in /etc/jetdoc/profiles.d (JETDOC_PROFILES_DIR).
    #[command(after_help = PROFILES_LIST_HELP)]
    List,
    /// A profile as resolved for this device (or --root): base candidates, ZED build, cameras,
    /// runtime flags, requirements.
    #[command(after_help = PROFILES_SHOW_HELP)]
    Show(ProfilesShowArgs),
}

const PROFILES_HELP: &str = "\
Examples:
  jetdoc profiles list
  jetdoc profiles show locomotion
  jetdoc profiles show testing-arm --root /mnt/robot-sd --format json

Exit codes:
  0  listed, or the profile applies to this device
  1  the profile refuses this device (the reason is printed)
  2  jetdoc's own error: unknown profile, a profile file that does not parse (file:line:column)";

const PROFILES_LIST_HELP: &str = "\
Examples:
  jetdoc profiles list
  jetdoc profiles list --format json
  JETDOC_PROFILES_DIR=./profiles jetdoc profiles list    the team's own profiles too

Exit codes:
  0  listed
  2  jetdoc's own error: a profile file that does not parse (file:line:column)";

const PROFILES_SHOW_HELP: &str = "\
Examples:
  jetdoc profiles show locomotion
  jetdoc profiles show testing-arm --root /mnt/robot-sd --format json
  jetdoc profiles show ./my-robot.toml --source      the profile file itself

Exit codes:
  0  the profile applies to this device
  1  the profile refuses this device (the reason is printed)
  2  jetdoc's own error: unknown profile, a profile file that does not parse (file:line:column)";

#[derive(Debug, Args)]
pub struct ProfilesShowArgs {
    /// A profile name (`jetdoc profiles list`) or a profile file.
    pub profile: String,
    /// Print the profile file as written instead of resolving it.
    #[arg(long)]
    pub source: bool,
}

const PROVISION_HELP: &str = "\
Steps: check (stop on failures that block the profile unless --force; --fix repairs them first),
plan, fetch the ZED SDK and the wheels, pull the base, build the image within Docker's layer
budget, smoke-test it inside a container with the profile's runtime and devices, record the state
(/var/lib/jetdoc/state.json). A second run with nothing changed says \"up to date\".

Examples:
  jetdoc provision locomotion --dry-run                      the plan; changes nothing
  jetdoc --root /mnt/robot-sd provision locomotion --dry-run --format json
  sudo jetdoc provision locomotion --fix --yes --lock /etc/jetdoc/locomotion.lock
  sudo jetdoc provision locomotion --locked /etc/jetdoc/locomotion.lock   on the next robot
  sudo jetdoc provision locomotion --bundle loco.bundle --yes   no network: from `jetdoc bundle`

Exit codes:
  0  provisioned (or up to date); with --dry-run: the plan has nothing that stops it
  1  refused by the profile, stopped by a check or a requirement, or a step failed (the step and
     how to resume are printed); --locked: the device or the downloads differ from the lock;
     --bundle: a member is missing or tampered with (named; nothing changed)
  2  jetdoc's own error: bad arguments, unknown profile, a profile or lock file that does not parse";

#[derive(Debug, Args)]
pub struct ProvisionArgs {
    /// A profile name (`jetdoc profiles list`) or a profile file.
    pub profile: String,

    /// Print the plan and change nothing. Makes no network request with --root or --offline
    /// (registry facts are then shown as unverified).
    #[arg(long)]
    pub dry_run: bool,

    /// Apply the fixes for failed checks first (through the same executor as `jetdoc fix`).
    #[arg(long)]
    pub fix: bool,

    /// Go on despite failed checks and unmet requirements.
    #[arg(long)]
    pub force: bool,

    /// Do not ask for confirmation (first boot, scripts).
    #[arg(short, long)]
    pub yes: bool,

    /// Stop after the image is built and smoke-tested: record it, start nothing.
    #[arg(long)]
    pub no_run: bool,

    /// Write a lock file: the base digest, every download's URL and sha256, the profile's sha256.
    #[arg(long, value_name = "FILE", conflicts_with = "locked")]
    pub lock: Option<PathBuf>,

    /// Reproduce exactly what this lock file pins, or stop naming each difference.
    #[arg(long, value_name = "FILE")]
    pub locked: Option<PathBuf>,

    /// Provision from a bundle (`jetdoc bundle`), with no network: every member is verified
    /// first, the image is loaded, nothing is fetched or built.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["lock", "locked"])]
    pub bundle: Option<PathBuf>,

    /// No network: registries are not asked and downloads come from the cache only.
    #[arg(long)]
    pub offline: bool,

    /// The directory the profile's [[files]] are taken from [default: the profile file's].
    #[arg(long, value_name = "DIR")]
    pub context: Option<PathBuf>,

    /// Network for the build's RUN steps (`docker build --network`; `none` on a daemon without a
    /// bridge).
    #[arg(long, value_name = "MODE")]
    pub network: Option<String>,

    /// Cache directory [default: $XDG_CACHE_HOME/jetdoc, or /var/cache/jetdoc as root].
    #[arg(long, env = "JETDOC_CACHE_DIR", value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,

    /// Seconds to wait for each registry request.
    #[arg(long, default_value_t = 30, value_name = "SECS")]
    pub timeout: u64,
}

const RUN_HELP: &str = "\
Examples:
  jetdoc run locomotion                        start the provisioned image (docker run -d ...)
  jetdoc run locomotion --dry-run              the docker run command line
  jetdoc run locomotion --compose compose.yaml an equivalent compose file (docker-compose up -d)

Exit codes:
  0  started (or written)
  1  the profile is not provisioned here, or docker run failed
  2  jetdoc's own error";

#[derive(Debug, Args)]
pub struct RunArgs {
    /// A profile name or file, provisioned before (`jetdoc provision`).
    pub profile: String,
    /// Print the docker run command line instead of running it.
    #[arg(long)]
    pub dry_run: bool,
    /// Write an equivalent compose.yaml here (`-` for stdout) instead of starting the container.
    #[arg(long, value_name = "FILE")]
    pub compose: Option<PathBuf>,
    /// Replace a container of the same name that is already there.
    #[arg(long)]
    pub replace: bool,
}

const STATUS_HELP: &str = "\
Examples:
  jetdoc status
  jetdoc status locomotion --format json
  jetdoc --root /mnt/robot-sd status

First boot (jetdoc-provision.service) is shown too once it is installed or has run: whether it
ran, when, and its result (`first_boot` in JSON, as `jetdoc first-boot status` prints it).

Exit codes:
  0  every recorded provision succeeded (or nothing is recorded)
  1  a recorded provision failed or did not finish, or first boot has not succeeded yet
  2  jetdoc's own error: a damaged state file";

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Only this profile.
    pub profile: Option<String>,
}

const COMPLETIONS_HELP: &str = "\
Examples:   (the Debian package ships all three)
  jetdoc completions bash > ~/.local/share/bash-completion/completions/jetdoc
  jetdoc completions zsh > ~/.zfunc/_jetdoc   (with fpath+=(~/.zfunc) before compinit)
  jetdoc completions fish > ~/.config/fish/completions/jetdoc.fish
  source <(jetdoc completions bash)           try it without installing

Exit codes:
  0  the script was printed
  2  jetdoc's own error: an unknown shell";

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

const MAN_HELP: &str = "\
Examples:
  jetdoc man | man -l -            read the page of `jetdoc` itself
  jetdoc man --dir /tmp/man        jetdoc.1, jetdoc-check.1, jetdoc-fetch-zed.1, ...

Exit codes:
  0  the page was printed, or the pages written
  2  jetdoc's own error: bad arguments, a directory that cannot be written";

#[derive(Debug, Args)]
pub struct ManArgs {
    /// Write jetdoc.1 and a page for every subcommand (jetdoc-check.1, ...) into this directory
    /// (created if missing) instead of printing jetdoc.1.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

const FETCH_HELP: &str = "\
Examples:
  jetdoc fetch zed -o /opt/zed                   the ZED SDK for this device's L4T
  jetdoc fetch wheels -r requirements.txt        CUDA wheels and a hash-pinned lock
  jetdoc fetch url URL --sha256 HASH -o out/     any file, verified and cached

Exit codes:
  0  everything fetched (or already cached)
  1  a download failed, or a hash did not match
  2  jetdoc's own error: bad arguments";

const IMAGE_HELP: &str = "\
Examples:
  jetdoc image select --explain             which image this device can run, and why
  jetdoc image build --profile ./app.toml -t app:dev
  jetdoc image doctor app:dev               layers, architecture, L4T, CUDA, disk

Exit codes:
  0  success (an image chosen, built, flattened; no problem found)
  1  nothing compatible, a build failed, or a problem found
  2  jetdoc's own error: bad arguments, Docker unreachable";

const IMAGE_SELECT_HELP: &str = "\
Order: local images (`docker image inspect`) that pass the rules; then registries, queried live
(manifest, platform, layer count and download size are read before any pull); else build.
Rules (checks/images.toml): architecture, platform class (tegra/sbsa/x86_64), the L4T band
(r36.0-36.3 and r36.4+ do not mix), CUDA major.minor, Ubuntu release. Labels beat tags.

Examples:
  jetdoc image select --profile locomotion --explain
  jetdoc image select --candidate dustynv/l4t-pytorch:r36.4.0 --pull
  jetdoc image select --profile testing-arm --format json | jq .chosen

Exit codes:
  0  a compatible image was chosen (and with --pull, pulled and re-checked)
  1  nothing compatible (build one: `jetdoc image build`), or the pull failed
  2  jetdoc's own error: bad arguments, unknown profile, unreadable tables";

#[derive(Debug, Args)]
pub struct ImageSelectArgs {
    /// The base images of this provisioning profile for this device (a name of `jetdoc profiles
    /// list` or a profile file): the same profile `image build --profile` and `provision` take.
    #[arg(long, value_name = "PROFILE")]
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
/var/lib/jetdoc/journal.jsonl before it is changed; one fix runs at a time (a second one waits
for the lock on /var/lib/jetdoc/lock). Running a fix again when nothing is wrong changes nothing.

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
  2  jetdoc's own error

Fleet (the README's Fleet section):
  jetdoc check --format prometheus      the report as Prometheus metrics
  jetdoc check -q --textfile DIR        also DIR/jetdoc.prom for node_exporter, written atomically
  jetdoc check --only ID --format npd   a node-problem-detector plugin: one line of <= 80 bytes;
                                        exit 0 pass/info/warn, 1 fail/error (--strict: or warn),
                                        2 skip, or jetdoc's own error";

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

    /// Also write the report as Prometheus metrics to DIR/jetdoc.prom (atomically), for
    /// node_exporter's textfile collector; the exit code stays the check's.
    #[arg(long, value_name = "DIR")]
    pub textfile: Option<PathBuf>,
}

/// `jetdoc check`'s own parse: the top level of `Cli` (its global arguments) with the `check`
/// subcommand alone. Building and propagating the whole tree (fetch, image, fix, ... and their
/// arguments) was a tenth of a `check` run, which fleets run on every scrape. Only a parse that
/// succeeds here is used, and it is `Cli`'s parse (the same `GlobalArgs` and `CheckArgs`, read by
/// `Cli::from_arg_matches`); help, `--version` and every error go to the whole tree, so what a
/// user sees of those does not change. A unit test compares the two trees.
#[derive(Debug, Parser)]
#[command(name = "jetdoc", version)]
pub struct CheckOnlyCli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: CheckOnlyCommand,
}

#[derive(Debug, Subcommand)]
pub enum CheckOnlyCommand {
    /// Probe the device and print a doctor report with a fix for every problem.
    #[command(after_help = CHECK_HELP)]
    Check(CheckArgs),
}

#[derive(Debug, Args)]
pub struct ImageArgs {
    #[command(subcommand)]
    pub command: ImageCommand,
}

#[derive(Debug, Subcommand)]
pub enum ImageCommand {
    /// Choose an image this device can run: local images first, then registries, else build.
    #[command(after_help = IMAGE_SELECT_HELP)]
    Select(ImageSelectArgs),
    /// Generate a Dockerfile from a provisioning profile and build it (flattening a too-deep base).
    #[command(after_help = IMAGE_BUILD_HELP)]
    Build(ImageBuildArgs),
    /// Squash an image to one layer, keeping its config (ENV, WORKDIR, ENTRYPOINT, CMD, ...).
    #[command(after_help = IMAGE_FLATTEN_HELP)]
    Flatten(ImageFlattenArgs),
    /// Check an image against this host and read its layers for zero-byte NVIDIA libraries.
    #[command(after_help = IMAGE_DOCTOR_HELP)]
    Doctor(ImageDoctorArgs),
    /// Build a matrix of base images from one file: every variant, its tags, its smoke test,
    /// and with --push the registry tags and multi-architecture image indexes.
    #[command(after_help = IMAGE_MATRIX_HELP)]
    Matrix(ImageMatrixArgs),
}

const IMAGE_BUILD_HELP: &str = "\
Examples:
  jetdoc image build --profile ./app.toml -t app:dev
  jetdoc image build --profile ./app.toml --base nvcr.io/nvidia/l4t-jetpack:r36.4.0 -t app:1
  jetdoc image build --profile ./app.toml --dry-run --emit-dockerfile Dockerfile.app

A plain build takes the profile's own files only: a profile with wheels or the ZED SDK (every
built-in one) is built by `jetdoc provision PROFILE --no-run`, which fetches and verifies them first.

When the base's layers plus the new ones reach Docker's limit of 125, the base is flattened to one
layer first (as `jetdoc image flatten` does, its config kept exactly) and the build starts from it.

Exit codes:
  0  built (or, with --dry-run, generated)
  1  docker build failed
  2  jetdoc's own error: bad profile, no base image, Docker unreachable";

const IMAGE_FLATTEN_HELP: &str = "\
Examples:
  jetdoc image flatten roboflow/l4t-ml:r36.4 -t roboflow/l4t-ml:r36.4-flat
  jetdoc image flatten my/app:1 -t my/app:1-clean --drop-zero-byte

The layers of `docker save IMAGE` are merged into one (whiteouts applied; owners, modes, hard
links, symlinks and xattrs kept) and loaded with `docker load` beside the same image config: ENV,
WORKDIR, USER, ENTRYPOINT, CMD, LABEL, EXPOSE, VOLUME, SHELL, STOPSIGNAL, HEALTHCHECK and ONBUILD
are kept exactly (unlike `docker export | docker import`). No Dockerfile is involved.

Exit codes:
  0  flattened
  1  docker save or docker load failed (Docker's message is shown)
  2  jetdoc's own error";

const IMAGE_DOCTOR_HELP: &str = "\
Examples:
  jetdoc image doctor nvcr.io/nvidia/l4t-jetpack:r36.4.0
  jetdoc image doctor my/app:1 --format json | jq .zero_byte_files

Checks: image.layers (depth vs the 125 limit), image.arch, image.l4t, image.cuda (labels, ENV or
files vs this host), image.disk (size vs free space on Docker's root), image.zero-byte-libs
(placeholders at NVIDIA library paths, read from `docker save` without running the image).

Exit codes:
  0  no check failed
  1  at least one check failed
  2  jetdoc's own error";

#[derive(Debug, Args)]
pub struct ImageBuildArgs {
    /// A built-in profile name (`locomotion`) or a profile file.
    #[arg(long, value_name = "PROFILE")]
    pub profile: String,

    /// The base image; default: the first of the profile's candidates present locally.
    #[arg(long, value_name = "IMAGE")]
    pub base: Option<String>,

    /// The build context; default: the profile file's directory.
    #[arg(long, value_name = "DIR")]
    pub context: Option<PathBuf>,

    /// Keep the generated Dockerfile here (`-` for stdout).
    #[arg(long, value_name = "PATH")]
    pub emit_dockerfile: Option<PathBuf>,

    /// Tag for the result (repeatable).
    #[arg(short = 't', long = "tag", value_name = "TAG")]
    pub tags: Vec<String>,

    /// Generate the Dockerfile and plan the layer budget, but do not build.
    #[arg(long)]
    pub dry_run: bool,

    /// Flatten the base even when it fits the layer budget.
    #[arg(long)]
    pub flatten: bool,

    /// The lock file the build inputs were resolved with; its SHA-256 becomes a label.
    #[arg(long, value_name = "FILE")]
    pub lock: Option<PathBuf>,

    /// Which builder runs `docker build`.
    #[arg(long, value_enum, default_value_t = crate::container::build::BuilderKind::Auto)]
    pub builder: crate::container::build::BuilderKind,

    /// Network for RUN steps (`docker build --network`).
    #[arg(long, value_name = "MODE")]
    pub network: Option<String>,

    /// Do not use Docker's build cache.
    #[arg(long)]
    pub no_cache: bool,
}

const IMAGE_MATRIX_HELP: &str = "\
Examples:
  jetdoc image matrix edge-node --dry-run                  the built-in matrix: variants and tags
  jetdoc image matrix edge-node --dry-run --format json    the plan a CI pipeline reads
  jetdoc image matrix ./my.matrix.toml --push registry.example.com/robots --keep-going
  jetdoc image matrix edge-node --only base_edge_node_arm64_tegra --l4t 36.4 --emit-dockerfiles out/

Tags: the file's template (e.g. <arch>-py<python>-th<torch>[-tr<tensorrt>][-dind]), `latest`, and
sha-<7 hex>, <YYYYMMDD> and v<semver> when the CI run (GITHUB_SHA, CI_COMMIT_SHA,
SOURCE_DATE_EPOCH, a v* git tag) or --git-sha/--date/--version give them. Schema and JSON plan:
docs/image-matrix.md.

Exit codes:
  0  every variant built, passed its smoke test (and was pushed); with --dry-run: the plan
  1  a variant failed to build, its smoke test failed, or a push failed (each one is named)
  2  jetdoc's own error: a matrix file that does not parse or validate (file:line:column), an
     unknown variant, a tag Docker would refuse, Docker unreachable";

#[derive(Debug, Args)]
pub struct ImageMatrixArgs {
    /// A matrix file, or a built-in name (`edge-node`).
    #[arg(value_name = "FILE")]
    pub file: String,

    /// Only this variant (repeatable).
    #[arg(long = "only", value_name = "VARIANT")]
    pub only: Vec<String>,

    /// Resolve and print the plan (and --emit-dockerfiles), build nothing, talk to no Docker.
    #[arg(long)]
    pub dry_run: bool,

    /// Push every tag to this registry (`host[:port][/namespace]`), and an OCI image index where
    /// variants of different architectures share a name and a tag.
    #[arg(long, value_name = "REGISTRY")]
    pub push: Option<String>,

    /// Write each variant's Dockerfile and build context to DIR/<variant>/ (for buildx elsewhere).
    #[arg(long, value_name = "DIR")]
    pub emit_dockerfiles: Option<PathBuf>,

    /// Build the other variants when one fails (its failure is still reported and exits 1).
    #[arg(long)]
    pub keep_going: bool,

    /// The L4T (JetPack) the Jetson variants are built for [default: this Jetson's, or --root's,
    /// else the matrix file's].
    #[arg(long, value_name = "X.Y")]
    pub l4t: Option<String>,

    /// The defaults' python_fallback instead of their python (e.g. 3.12 instead of 3.13).
    #[arg(long)]
    pub python_fallback: bool,

    /// Another base for a variant, VARIANT=IMAGE (a mirror; repeatable).
    #[arg(long = "base", value_name = "VARIANT=IMAGE")]
    pub bases: Vec<String>,

    /// The commit the images are built from [default: GITHUB_SHA or CI_COMMIT_SHA].
    #[arg(long, value_name = "SHA")]
    pub git_sha: Option<String>,

    /// The build date, YYYY-MM-DD [default: SOURCE_DATE_EPOCH's; in CI today's].
    #[arg(long, value_name = "DATE")]
    pub date: Option<String>,

    /// A release version (v1.2.3) [default: a v* git tag of the CI run].
    #[arg(long = "version", value_name = "VERSION")]
    pub release: Option<String>,

    /// org.opencontainers.image.source [default: the CI run's repository URL, else the file's].
    #[arg(long, value_name = "URL")]
    pub source: Option<String>,

    /// Network for RUN steps and smoke tests (`docker build --network`, `docker run --network`).
    #[arg(long, value_name = "MODE")]
    pub network: Option<String>,

    /// Do not use Docker's build cache.
    #[arg(long)]
    pub no_cache: bool,

    /// Seconds a smoke test may run (1 to 86400).
    #[arg(long, default_value_t = 300, value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub smoke_timeout: u64,
}

#[derive(Debug, Args)]
pub struct ImageFlattenArgs {
    /// The image to flatten.
    pub image: String,

    /// Tag for the flattened image.
    #[arg(short = 't', long = "tag", value_name = "TAG", required = true)]
    pub tags: Vec<String>,

    /// Leave out the zero-byte files at NVIDIA library paths that `image doctor` reports
    /// (placeholders of the NVIDIA runtime's bind mounts).
    #[arg(long)]
    pub drop_zero_byte: bool,

    /// Where the image's layers are staged while they are merged (about the image's size)
    /// [default: TMPDIR, else /tmp].
    #[arg(long, value_name = "DIR")]
    pub work_dir: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ImageDoctorArgs {
    /// The image to check (present in the local Docker engine).
    pub image: String,

    /// Do not read the layers (faster on a large image; no zero-byte or file-based checks).
    #[arg(long)]
    pub no_scan: bool,
}

#[derive(Debug, Subcommand)]
pub enum FetchCommand {
    /// The ZED SDK installer for this device's L4T (or --l4t), with its sha256 recorded.
    #[command(after_help = FETCH_ZED_HELP)]
    Zed(FetchZedArgs),
    /// Wheels for a requirements file, resolved for this device's JetPack/CUDA/Python, and a
    /// hash-pinned requirements.lock.
    #[command(after_help = FETCH_WHEELS_HELP)]
    Wheels(FetchWheelsArgs),
    /// Any file: mirrors in order, optional sha256, into the cache and an output directory.
    #[command(after_help = FETCH_URL_HELP)]
    Url(FetchUrlArgs),
}

const FETCH_ZED_HELP: &str = "\
Examples:
  jetdoc fetch zed                            the installer for this device's L4T
  jetdoc fetch zed --l4t 36.4 --version 5.0   another L4T (an image build) or SDK version
  jetdoc fetch zed --sha256 HASH -o /opt/zed  pin what another robot recorded

The file is named after the redirect's target (ZED_SDK_Tegra_L4T36.4_v5.x.y.zstd.run); its sha256
is written beside it (FILE.sha256) and kept in the cache: later runs reuse it (trust on first use)
until --refresh.

Exit codes:
  0  the installer is in the output directory
  1  the download failed or did not match --sha256
  2  jetdoc's own error (bad arguments, no ZED build for this L4T)";

const FETCH_WHEELS_HELP: &str = "\
Examples:
  jetdoc fetch wheels -r requirements.txt                 for this device
  jetdoc fetch wheels -r req.txt --l4t 36.4 -o wheelhouse  for another JetPack
  jetdoc fetch wheels -r req.txt --require-wheels         fail if anything would build from source
  pip install --require-hashes --no-index --find-links wheelhouse -r wheelhouse/requirements.lock

Exit codes:
  0  every wheel is in the wheelhouse and the lock file is written
  1  a download failed, or --require-wheels and a requirement has no compatible wheel
  2  jetdoc's own error (bad arguments, unreadable requirements file)";

const FETCH_URL_HELP: &str = "\
Examples:
  jetdoc fetch url https://host/file.tar --mirror https://mirror/file.tar --sha256 HASH -o out/

Exit codes:
  0  the file is in the output directory
  1  every mirror failed or the hash did not match
  2  jetdoc's own error";

/// Options of every download.
#[derive(Debug, Args)]
pub struct FetchCommon {
    /// Cache directory [default: $XDG_CACHE_HOME/jetdoc, or /var/cache/jetdoc as root].
    #[arg(long, env = "JETDOC_CACHE_DIR", value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,

    /// Use the cache only; fail, naming what is missing, instead of downloading.
    #[arg(long)]
    pub offline: bool,

    /// Parallel downloads at most.
    #[arg(long, default_value_t = 4, value_name = "N")]
    pub jobs: usize,

    /// Retries per URL on connection errors, timeouts and 5xx answers (then the next mirror).
    #[arg(long, default_value_t = 4, value_name = "N")]
    pub retries: u32,

    /// A deadline for each file, retries included: a running transfer stops there (and resumes
    /// on the next run when its length is known) [default: none].
    #[arg(long, value_name = "SECS")]
    pub max_time: Option<u64>,

    /// Longest silence from a server, in seconds, before the attempt counts as failed.
    #[arg(long, default_value_t = 30, value_name = "SECS")]
    pub read_timeout: u64,

    /// Minimum rate in bytes per second: a transfer slower than this over --speed-time is
    /// abandoned and retried (as curl's --speed-limit); 0 turns the rule off.
    #[arg(long, default_value_t = 1024, value_name = "BYTES")]
    pub speed_limit: u64,

    /// The window, in seconds, over which --speed-limit is judged.
    #[arg(long, default_value_t = 30, value_name = "SECS")]
    pub speed_time: u64,

    /// First retry wait in milliseconds (doubles each time, with jitter).
    #[arg(long, default_value_t = 500, value_name = "MS", hide = true)]
    pub retry_base_ms: u64,
}

#[derive(Debug, Args)]
pub struct FetchZedArgs {
    /// SDK version, MAJOR.MINOR (5.0) or MAJOR.MINOR.PATCH (checked against the file served)
    /// [default: the newest build for the L4T].
    #[arg(long, value_name = "V")]
    pub version: Option<String>,

    /// L4T release MAJOR.MINOR [default: the device's].
    #[arg(long, value_name = "X.Y")]
    pub l4t: Option<String>,

    /// The x86_64 installer for CUDA --cuda-major on Ubuntu --ubuntu-major instead (image builds
    /// on a desktop).
    #[arg(long)]
    pub x86: bool,

    /// With --x86: the CUDA major version to download for (12) [default: this machine's CUDA].
    #[arg(long, value_name = "N", requires = "x86")]
    pub cuda_major: Option<String>,

    /// With --x86: the Ubuntu major release to download for (22) [default: this machine's].
    #[arg(long, value_name = "N", requires = "x86")]
    pub ubuntu_major: Option<String>,

    /// Expected sha256 (from another robot's FILE.sha256 or a profile pin).
    #[arg(long, value_name = "HASH")]
    pub sha256: Option<String>,

    /// Ask the server again even if the cache has what this URL served before.
    #[arg(long)]
    pub refresh: bool,

    /// Where to put the installer.
    #[arg(short, long, default_value = ".", value_name = "DIR")]
    pub output: PathBuf,

    #[command(flatten)]
    pub common: FetchCommon,
}

#[derive(Debug, Args)]
pub struct FetchWheelsArgs {
    /// The requirements file.
    #[arg(short = 'r', long = "requirement", value_name = "FILE")]
    pub requirement: PathBuf,

    /// Target Python MAJOR.MINOR [default: the device's, else its JetPack's].
    #[arg(long, value_name = "X.Y")]
    pub python: Option<String>,

    /// Target platform tag [default: from the device's architecture, linux_aarch64].
    #[arg(long, value_name = "TAG")]
    pub platform: Option<String>,

    /// Target glibc for manylinux_2_NN wheels [default: from the device's Ubuntu].
    #[arg(long, value_name = "X.Y")]
    pub glibc: Option<String>,

    /// L4T release MAJOR.MINOR whose JetPack index to use [default: the device's].
    #[arg(long, value_name = "X.Y")]
    pub l4t: Option<String>,

    /// Index URL(s) to use instead of the table's, in order (PEP 503/691 simple API). Wheels of
    /// any kind are taken from them.
    #[arg(long = "index", value_name = "URL")]
    pub index: Vec<String>,

    /// Exit 1 (before downloading) if any requirement has no compatible wheel.
    #[arg(long)]
    pub require_wheels: bool,

    /// Resolve only the requirements file's lines, not their dependencies (the lock then needs
    /// them pinned in the file for --require-hashes).
    #[arg(long)]
    pub no_deps: bool,

    /// The wheelhouse: wheels and requirements.lock.
    #[arg(short, long, default_value = "wheelhouse", value_name = "DIR")]
    pub output: PathBuf,

    #[command(flatten)]
    pub common: FetchCommon,
}

#[derive(Debug, Args)]
pub struct FetchUrlArgs {
    /// The URL.
    pub url: String,

    /// Mirrors tried in order when the URL fails.
    #[arg(long, value_name = "URL")]
    pub mirror: Vec<String>,

    /// Expected sha256 of the file (64 hex digits): a mismatch fails and leaves nothing behind.
    #[arg(long, value_name = "HASH")]
    pub sha256: Option<String>,

    /// Where to put the file (named after the final URL or Content-Disposition).
    #[arg(short, long, default_value = ".", value_name = "DIR")]
    pub output: PathBuf,

    #[command(flatten)]
    pub common: FetchCommon,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::{CommandFactory, FromArgMatches};

    /// `CheckOnlyCli` parses `check` exactly as `Cli` does: the same global arguments, and a
    /// `check` subcommand identical to `Cli`'s once both trees are built (arguments, settings,
    /// help text).
    #[test]
    fn the_check_only_tree_is_cli_with_check_alone() {
        let mut full = Cli::command();
        let mut only = CheckOnlyCli::command();
        full.build();
        only.build();
        let args = |c: &clap::Command| c.get_arguments().map(|a| format!("{a:?}")).collect::<Vec<_>>();
        assert_eq!(args(&only), args(&full));
        assert_eq!(only.get_name(), full.get_name());
        assert_eq!(only.get_version(), full.get_version());
        assert_eq!(only.is_subcommand_required_set(), full.is_subcommand_required_set());
        assert_eq!(only.is_arg_required_else_help_set(), full.is_arg_required_else_help_set());
        let names =
            |c: &clap::Command| c.get_subcommands().map(|s| s.get_name().to_string()).collect::<Vec<_>>();
        assert_eq!(names(&only), ["check", "help"]);
        assert!(names(&full).contains(&"check".to_string()) && names(&full).contains(&"help".to_string()));
        let check = |c: &clap::Command| format!("{:?}", c.find_subcommand("check").unwrap());
        assert_eq!(check(&only), check(&full));
    }

    /// The same command lines give the same `Cli` through either tree.
    #[test]
    fn check_command_lines_parse_the_same_through_both_trees() {
        for line in [
            "jetdoc check",
            "jetdoc check --root /tmp --format json",
            "jetdoc --root /tmp --format json check",
            "jetdoc --color always -q check --only gpu,containers --skip docker.iptables --strict",
            "jetdoc check --list -v",
            "jetdoc --root check check --textfile /tmp/prom --format prometheus",
            "jetdoc check --commands c.toml --live-commands --checks-dir d",
        ] {
            let argv: Vec<&str> = line.split(' ').collect();
            let full = Cli::from_arg_matches(&Cli::command().try_get_matches_from(&argv).unwrap()).unwrap();
            let only =
                Cli::from_arg_matches(&CheckOnlyCli::command().try_get_matches_from(&argv).unwrap()).unwrap();
            assert_eq!(format!("{only:?}"), format!("{full:?}"), "{line}");
        }
        // What is not a plain `check` fails here, and goes to the whole tree.
        for line in ["jetdoc fetch zed check", "jetdoc check -V", "jetdoc -q -v check", "jetdoc check --nope"]
        {
            let argv: Vec<&str> = line.split(' ').collect();
            assert!(CheckOnlyCli::command().try_get_matches_from(&argv).is_err(), "{line}");
        }
    }
}
