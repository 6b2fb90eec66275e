//! A provisioning profile: what a device should run, independent of any one L4T release. One
//! concept for every command: `jetdoc provision NAME`, `jetdoc image select --profile NAME` and
//! `jetdoc image build --profile NAME` read the same file. The schema is documented in
//! `docs/profiles.md`; every key is checked (unknown keys, bad ranges, unknown installer flags)
//! and errors name the file, line and column.
//!
//! A profile says *what* (platforms, base images in order of preference, apt packages, Python
//! requirements, the ZED SDK, files, environment, how to run it, smoke tests); resolution against
//! a device (`resolve.rs`) says *which* (the base rows for this JetPack, the ZED build for this
//! L4T, the cameras found, the runtime flags).

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::locate::{locate, Seg};
use super::range::Range;

/// Profiles shipped inside the binary, by name.
pub const BUILTIN: &[(&str, &str)] = &[
    ("locomotion", include_str!("../../profiles/locomotion.toml")),
    ("testing-arm", include_str!("../../profiles/testing-arm.toml")),
    ("testing-x86", include_str!("../../profiles/testing-x86.toml")),
    ("isaacsim", include_str!("../../profiles/isaacsim.toml")),
];

/// Where a user's profiles live (`NAME.toml`); a file there overrides a built-in of that name.
pub const USER_DIR: &str = "/etc/jetdoc/profiles.d";
/// Overrides [`USER_DIR`].
pub const USER_DIR_ENV: &str = "JETDOC_PROFILES_DIR";

#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    #[error("unknown profile `{name}`; profiles: {known}\n  pass a profile file (./my.toml), or put {name}.toml in {dir}")]
    Unknown { name: String, known: String, dir: String },
    #[error("cannot read profile {path}: {source}\n  pass a readable profile file or one of the profile names of `jetdoc profiles list`")]
    Read { path: String, source: std::io::Error },
    #[error("{path}:{line}:{column}: {message}\n  the profile schema: docs/profiles.md; a complete example: `jetdoc profiles show locomotion --source`")]
    Invalid { path: String, line: usize, column: usize, message: String },
}

/// The platform kinds a profile can target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum PlatformKind {
    /// An NVIDIA Jetson (L4T), any generation the ranges admit.
    Jetson,
    /// An x86_64 machine (with an NVIDIA GPU unless `gpu = false`).
    #[serde(rename = "x86_64")]
    X86_64,
}

impl PlatformKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PlatformKind::Jetson => "jetson",
            PlatformKind::X86_64 => "x86_64",
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    /// Where the profile runs; a platform left out, or with `refuse`, is refused with a reason.
    #[serde(default)]
    pub platforms: Platforms,
    /// Base image rows: for each platform the first row whose ranges hold the device applies.
    #[serde(default)]
    pub base: Vec<BaseRow>,
    #[serde(default)]
    pub apt: Apt,
    #[serde(default)]
    pub python: Option<Python>,
    #[serde(default)]
    pub zed: Option<Zed>,
    /// Application files copied into the image, in order.
    #[serde(default)]
    pub files: Vec<FileCopy>,
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    #[serde(default)]
    pub requires: Requires,
    #[serde(default)]
    pub run: Run,
    /// Commands run inside the container, with the profile's runtime and devices, after a build.
    #[serde(default)]
    pub smoke: Vec<Smoke>,
    /// Where a profile came from (file path or `builtin:<name>`); not part of the file.
    #[serde(skip_deserializing)]
    pub source: String,
    /// SHA-256 of the profile text: recorded in the image's labels, the state and the lock.
    #[serde(skip_deserializing)]
    pub sha256: String,
    /// The profile text, for `profiles show --format toml` and error positions.
    #[serde(skip)]
    pub text: String,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Platforms {
    pub jetson: Option<JetsonPlatform>,
    pub x86_64: Option<X86Platform>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct JetsonPlatform {
    /// L4T releases admitted (`">=35.1"`); PEP 440 specifier syntax.
    pub l4t: Option<String>,
    /// JetPack releases admitted (`">=5.1, <8"`).
    pub jetpack: Option<String>,
    /// Why the ranges are what they are: shown when a device falls outside them.
    pub why: Option<String>,
    /// Refuse every Jetson, with this reason.
    pub refuse: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct X86Platform {
    /// An NVIDIA GPU (driver loaded) is required.
    #[serde(default = "yes")]
    pub gpu: bool,
    /// Refuse every x86_64 machine, with this reason.
    pub refuse: Option<String>,
}

/// Base images for the devices a platform and optional ranges select.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct BaseRow {
    pub platform: PlatformKind,
    pub l4t: Option<String>,
    pub jetpack: Option<String>,
    /// In order of preference; each is judged by the rules of `checks/images.toml`.
    pub candidates: Vec<Candidate>,
    /// Tried after every candidate failed (community images): said so in the plan.
    #[serde(default)]
    pub fallback: Vec<Candidate>,
    pub note: Option<String>,
}

/// A base image: a reference, or a table with what the profile knows about it.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(untagged)]
pub enum Candidate {
    Plain(String),
    Detailed(CandidateDetail),
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct CandidateDetail {
    pub image: String,
    /// The image's Python `major.minor`: wheels are resolved for it (default: the JetPack's).
    pub python: Option<String>,
    pub note: Option<String>,
}

impl Candidate {
    pub fn image(&self) -> &str {
        match self {
            Candidate::Plain(s) => s,
            Candidate::Detailed(d) => &d.image,
        }
    }
    pub fn python(&self) -> Option<&str> {
        match self {
            Candidate::Plain(_) => None,
            Candidate::Detailed(d) => d.python.as_deref(),
        }
    }
    pub fn note(&self) -> Option<&str> {
        match self {
            Candidate::Plain(_) => None,
            Candidate::Detailed(d) => d.note.as_deref(),
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Apt {
    #[serde(default)]
    pub packages: Vec<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Python {
    /// Requirement lines (PEP 508), resolved into wheels for the device's JetPack.
    #[serde(default)]
    pub requirements: Vec<String>,
    /// A requirements file, relative to the profile file (added after `requirements`).
    pub requirements_file: Option<String>,
    /// Index URLs instead of the JetPack's index from `checks/wheel_indexes.toml`.
    #[serde(default)]
    pub indexes: Vec<String>,
    /// How pip is started inside the image.
    #[serde(default = "default_pip")]
    pub pip: String,
}

fn default_pip() -> String {
    "python3 -m pip".to_string()
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Zed {
    /// SDK `major.minor` (or `major.minor.patch`); default: the newest build for the L4T
    /// (`checks/zed.toml`).
    pub version: Option<String>,
    /// `devel`, `runtime` or `tools-devel`: the installer flags of `checks/zed.toml`
    /// `[[zed_flags]]` (`x86-devel` on x86_64).
    pub variant: Option<String>,
    /// Installer flags instead of a variant.
    pub flags: Option<Vec<String>>,
    /// Install the Python API (the `pyzed` wheel for the SDK and the image's Python).
    #[serde(default)]
    pub python: bool,
    /// When the L4T has no ZED build: go on without it (a warning) instead of refusing.
    #[serde(default)]
    pub optional: bool,
    /// Write `/etc/nv_tegra_release` for the installer's L4T check when the base lacks it.
    #[serde(default = "yes")]
    pub release_stub: bool,
    /// Remove `/usr/local/zed/resources/*` (AI models, downloaded at run time or mounted).
    #[serde(default = "yes")]
    pub drop_resources: bool,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct FileCopy {
    /// Relative to the profile file's directory (or `--context`).
    pub src: String,
    pub dest: String,
    /// `--chown` for the copy (`1000:1000`). (No `--chmod`: the classic builder lacks it.)
    pub chown: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Requires {
    /// Free space on Docker's data root, in GB, for the image and its build.
    pub disk_gb: Option<f64>,
    /// Installed RAM, in GB.
    pub ram_gb: Option<f64>,
    /// A registry that needs a login (`nvcr.io`): checked up front in `~/.docker/config.json`.
    pub login: Option<String>,
    /// Check ids (or prefixes, or areas) whose failure does not stop a provision.
    #[serde(default)]
    pub ignore_checks: Vec<String>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum X11 {
    /// No display.
    #[default]
    Off,
    /// Pass the display when the device has one; run headless otherwise.
    Optional,
    /// Refuse to run without a display the container can reach.
    Required,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RuntimeChoice {
    /// `--runtime nvidia` on a Jetson, `--gpus all` on x86_64.
    #[default]
    Auto,
    Nvidia,
    GpusAll,
    /// No GPU access (a CPU-only tool image).
    None,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Run {
    /// The command (default: the image's CMD).
    pub command: Option<Vec<String>>,
    /// Container name (default `jetdoc-<profile>`).
    pub name: Option<String>,
    #[serde(default)]
    pub runtime: RuntimeChoice,
    /// `host`, `bridge`, `none` (default: Docker's).
    pub network: Option<String>,
    pub ipc: Option<String>,
    #[serde(default)]
    pub privileged: bool,
    /// Pass the cameras found on the device (their `/dev/videoN` nodes; the Argus socket for
    /// CSI and GMSL cameras).
    #[serde(default)]
    pub cameras: bool,
    /// More device nodes (`/dev/ttyTHS1`).
    #[serde(default)]
    pub devices: Vec<String>,
    #[serde(default)]
    pub mounts: Vec<MountSpec>,
    /// Run-time environment (besides the image's).
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    #[serde(default)]
    pub x11: X11,
    /// `--restart` policy (`unless-stopped`).
    pub restart: Option<String>,
    /// `--shm-size` (`8g`): PyTorch data loaders need more than Docker's 64 MB.
    pub shm_size: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct MountSpec {
    /// A host path (absolute, or `~/` for the invoking user's home).
    pub source: String,
    pub target: String,
    #[serde(default)]
    pub read_only: bool,
    /// Leave it out, with a note, when the source does not exist on the device.
    #[serde(default)]
    pub optional: bool,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Smoke {
    pub name: String,
    /// argv run inside the container (no shell unless you start one).
    pub command: Vec<String>,
    #[serde(default = "default_smoke_timeout")]
    pub timeout_s: u64,
}

fn default_smoke_timeout() -> u64 {
    300
}

fn yes() -> bool {
    true
}

/// The silent-install flags the ZED installer accepts (Stereolabs' and Isaac ROS' scripts).
pub const ZED_FLAGS: &[&str] =
    &["silent", "skip_tools", "skip_drivers", "runtime_only", "skip_od_module", "skip_python", "skip_cuda"];
/// Variants of `checks/zed.toml` `[[zed_flags]]`.
pub const ZED_VARIANTS: &[&str] = &["devel", "runtime", "tools-devel", "x86-devel"];

/// One profile as `jetdoc profiles list` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct Listed {
    pub name: String,
    pub source: String,
    pub description: Option<String>,
    pub platforms: Vec<String>,
    /// Set when the file does not load; the message names the line.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The user profile directory: `$JETDOC_PROFILES_DIR`, else `/etc/jetdoc/profiles.d`.
pub fn user_dir() -> PathBuf {
    std::env::var_os(USER_DIR_ENV)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| USER_DIR.into())
}

/// Whether an argument names a file rather than a profile name.
fn is_path(arg: &str) -> bool {
    arg.contains('/') || arg.ends_with(".toml")
}

impl Profile {
    /// Loads a profile by name (the user directory first, then the built-ins) or by path.
    pub fn load(name_or_path: &str) -> Result<Profile, ProfileError> {
        Self::load_from(name_or_path, &user_dir())
    }

    pub fn load_from(name_or_path: &str, dir: &Path) -> Result<Profile, ProfileError> {
        if is_path(name_or_path) {
            return Self::read_file(Path::new(name_or_path));
        }
        let user = dir.join(format!("{name_or_path}.toml"));
        if user.is_file() {
            return Self::read_file(&user);
        }
        if let Some((name, text)) = BUILTIN.iter().find(|(n, _)| *n == name_or_path) {
            return Profile::parse(text, &format!("builtin:{name}"));
        }
        let mut known: Vec<String> = list_from(dir).into_iter().map(|l| l.name).collect();
        known.dedup();
        Err(ProfileError::Unknown {
            name: name_or_path.to_string(),
            known: known.join(", "),
            dir: dir.display().to_string(),
        })
    }

    fn read_file(path: &Path) -> Result<Profile, ProfileError> {
        let text = std::fs::read_to_string(path)
            .map_err(|source| ProfileError::Read { path: path.display().to_string(), source })?;
        Profile::parse(&text, &path.display().to_string())
    }

    /// Parses profile text; `origin` names it in errors (`path:line:column: ...`).
    pub fn parse(text: &str, origin: &str) -> Result<Profile, ProfileError> {
        let mut profile: Profile = toml::from_str(text).map_err(|e| {
            let (line, column) = e.span().map(|s| super::locate::line_col(text, s.start)).unwrap_or((1, 1));
            let message = e.message().trim().replace('\n', "; ");
            ProfileError::Invalid { path: origin.to_string(), line, column, message }
        })?;
        profile.source = origin.to_string();
        profile.sha256 = crate::digest::sha256_hex(text.as_bytes());
        profile.text = text.to_string();
        profile.validate()?;
        Ok(profile)
    }

    pub fn is_builtin(&self) -> bool {
        self.source.starts_with("builtin:")
    }

    /// The directory relative paths of a profile file are taken from.
    pub fn default_context(&self) -> PathBuf {
        if self.is_builtin() {
            return PathBuf::from(".");
        }
        Path::new(&self.source)
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."))
    }

    /// The platforms it runs on (not refused).
    pub fn supported(&self) -> Vec<PlatformKind> {
        let mut out = Vec::new();
        if self.platforms.jetson.as_ref().is_some_and(|j| j.refuse.is_none()) {
            out.push(PlatformKind::Jetson);
        }
        if self.platforms.x86_64.as_ref().is_some_and(|x| x.refuse.is_none()) {
            out.push(PlatformKind::X86_64);
        }
        out
    }

    /// `jetson (JetPack >=5.1)`, `x86_64 with an NVIDIA GPU`: for lists and refusals.
    pub fn platform_words(&self) -> Vec<String> {
        let mut out = Vec::new();
        if let Some(j) = self.platforms.jetson.as_ref().filter(|j| j.refuse.is_none()) {
            let ranges: Vec<String> = [
                j.l4t.as_ref().map(|r| format!("L4T {r}")),
                j.jetpack.as_ref().map(|r| format!("JetPack {r}")),
            ]
            .into_iter()
            .flatten()
            .collect();
            out.push(if ranges.is_empty() {
                "jetson".to_string()
            } else {
                format!("jetson ({})", ranges.join(", "))
            });
        }
        if let Some(x) = self.platforms.x86_64.as_ref().filter(|x| x.refuse.is_none()) {
            out.push(if x.gpu { "x86_64 with an NVIDIA GPU".to_string() } else { "x86_64".to_string() });
        }
        out
    }

    fn validate(&self) -> Result<(), ProfileError> {
        let err = |path: &[Seg], message: String| {
            let (line, column) = locate(&self.text, path);
            ProfileError::Invalid { path: self.source.clone(), line, column, message }
        };
        use Seg::{Index as I, Key as K};
        if self.name.is_empty()
            || !self.name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "-_.".contains(c))
            || !self.name.starts_with(|c: char| c.is_ascii_alphanumeric())
        {
            return Err(err(
                &[K("name")],
                format!("name `{}`: use lowercase letters, digits, `-`, `_` and `.` (it names images and containers)", self.name),
            ));
        }
        if let Some(j) = &self.platforms.jetson {
            for (key, value) in [("l4t", &j.l4t), ("jetpack", &j.jetpack)] {
                if let Some(r) = value {
                    Range::parse(r).map_err(|m| err(&[K("platforms"), K("jetson"), K(key)], m))?;
                }
            }
        }
        if self.supported().is_empty() {
            return Err(err(
                &[K("platforms")],
                "no platform to run on: add [platforms.jetson] and/or [platforms.x86_64] (without `refuse`)"
                    .into(),
            ));
        }
        for (i, row) in self.base.iter().enumerate() {
            let at = |key: &'static str| [K("base"), I(i), K(key)];
            let declared = match row.platform {
                PlatformKind::Jetson => self.platforms.jetson.is_some(),
                PlatformKind::X86_64 => self.platforms.x86_64.is_some(),
            };
            if !declared {
                return Err(err(
                    &at("platform"),
                    format!(
                        "[[base]] for {} but [platforms.{}] is not declared",
                        row.platform.as_str(),
                        row.platform.as_str()
                    ),
                ));
            }
            for (key, value) in [("l4t", &row.l4t), ("jetpack", &row.jetpack)] {
                if let Some(r) = value {
                    if row.platform != PlatformKind::Jetson {
                        return Err(err(&at(key), format!("`{key}` ranges apply to Jetson rows only")));
                    }
                    Range::parse(r).map_err(|m| err(&at(key), m))?;
                }
            }
            if row.candidates.is_empty() {
                return Err(err(
                    &at("candidates"),
                    "[[base]] candidates is empty: list at least one image".into(),
                ));
            }
            for (list, items) in [("candidates", &row.candidates), ("fallback", &row.fallback)] {
                for (j, c) in items.iter().enumerate() {
                    if let Err(e) = crate::container::registry::Reference::parse(c.image()) {
                        return Err(err(&[K("base"), I(i), K(list), I(j)], e.to_string()));
                    }
                    if let Some(p) = c.python() {
                        if !is_major_minor(p) {
                            return Err(err(
                                &[K("base"), I(i), K(list), I(j)],
                                format!("python `{p}`: write MAJOR.MINOR such as 3.10"),
                            ));
                        }
                    }
                }
            }
        }
        for platform in self.supported() {
            if !self.base.iter().any(|r| r.platform == platform) {
                return Err(err(
                    &[K("base")],
                    format!(
                        "no [[base]] row for {}: add one with `platform = \"{}\"` and its candidates",
                        platform.as_str(),
                        platform.as_str()
                    ),
                ));
            }
        }
        for (i, p) in self.apt.packages.iter().enumerate() {
            let ok = !p.is_empty()
                && p.chars().all(|c| c.is_ascii_alphanumeric() || "+-.:=~".contains(c))
                && p.starts_with(|c: char| c.is_ascii_alphanumeric());
            if !ok {
                return Err(err(
                    &[K("apt"), K("packages"), I(i)],
                    format!("`{p}` is not a Debian package name (or name=version)"),
                ));
            }
        }
        if let Some(py) = &self.python {
            for (i, line) in py.requirements.iter().enumerate() {
                if let Err(e) = line.parse::<pep508_rs::Requirement>() {
                    return Err(err(
                        &[K("python"), K("requirements"), I(i)],
                        format!("`{line}` is not a requirement (PEP 508): {}", e.message),
                    ));
                }
            }
            if py.requirements.is_empty() && py.requirements_file.is_none() {
                return Err(err(
                    &[K("python")],
                    "[python] has neither `requirements` nor `requirements_file`".into(),
                ));
            }
            for (i, url) in py.indexes.iter().enumerate() {
                if !(url.starts_with("https://") || url.starts_with("http://")) {
                    return Err(err(
                        &[K("python"), K("indexes"), I(i)],
                        format!("index `{url}` is not an http(s) URL"),
                    ));
                }
            }
            if py.pip.trim().is_empty() {
                return Err(err(
                    &[K("python"), K("pip")],
                    "pip is empty: the command that starts pip in the image".into(),
                ));
            }
        }
        if let Some(zed) = &self.zed {
            match (&zed.variant, &zed.flags) {
                (Some(_), Some(_)) => {
                    return Err(err(
                        &[K("zed"), K("flags")],
                        "[zed] has both `variant` and `flags`: keep one".into(),
                    ))
                }
                (Some(v), None) if !ZED_VARIANTS.contains(&v.as_str()) => {
                    return Err(err(
                        &[K("zed"), K("variant")],
                        format!("[zed] variant `{v}` is unknown (known: {})", ZED_VARIANTS.join(", ")),
                    ))
                }
                _ => {}
            }
            if let Some(flags) = &zed.flags {
                for (i, flag) in flags.iter().enumerate() {
                    if !ZED_FLAGS.contains(&flag.as_str()) {
                        return Err(err(
                            &[K("zed"), K("flags"), I(i)],
                            format!(
                                "[zed] flags: unknown installer flag `{flag}` (known: {})",
                                ZED_FLAGS.join(", ")
                            ),
                        ));
                    }
                }
                if !flags.iter().any(|f| f == "silent") {
                    return Err(err(
                        &[K("zed"), K("flags")],
                        "[zed] flags must contain `silent`: the installer otherwise waits for keyboard input"
                            .into(),
                    ));
                }
                if flags.iter().any(|f| f == "runtime_only") && flags.iter().any(|f| f == "skip_tools") {
                    return Err(err(
                        &[K("zed"), K("flags")],
                        "[zed] flags: `runtime_only` and `skip_tools` are alternatives (runtime vs devel image): keep one".into(),
                    ));
                }
            }
            if let Some(v) = &zed.version {
                let parts: Vec<&str> = v.split('.').collect();
                if !(2..=3).contains(&parts.len())
                    || parts.iter().any(|p| p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()))
                {
                    return Err(err(
                        &[K("zed"), K("version")],
                        format!("[zed] version `{v}`: write MAJOR.MINOR (5.4) or MAJOR.MINOR.PATCH"),
                    ));
                }
            }
        }
        for (i, f) in self.files.iter().enumerate() {
            if !f.dest.starts_with('/') {
                return Err(err(
                    &[K("files"), I(i), K("dest")],
                    format!("[[files]] dest `{}` must be an absolute path in the image", f.dest),
                ));
            }
            if f.src.starts_with('/')
                || Path::new(&f.src).components().any(|c| c == std::path::Component::ParentDir)
            {
                return Err(err(
                    &[K("files"), I(i), K("src")],
                    format!(
                        "[[files]] src `{}` must stay inside the profile's directory (relative, no `..`)",
                        f.src
                    ),
                ));
            }
        }
        for (table, map) in [("env", &self.env), ("labels", &self.labels), ("run.env", &self.run.env)] {
            for key in map.keys() {
                if key.is_empty() || key.contains(char::is_whitespace) || key.contains('=') {
                    let path: Vec<Seg> = table.split('.').map(K).chain([K(key.as_str())]).collect();
                    return Err(err(&path, format!("`{key}` is not a valid environment or label key")));
                }
            }
        }
        if let Some(r) = &self.requires.disk_gb {
            if !(r.is_finite() && *r > 0.0) {
                return Err(err(
                    &[K("requires"), K("disk_gb")],
                    "disk_gb must be a positive number of GB".into(),
                ));
            }
        }
        if let Some(r) = &self.requires.ram_gb {
            if !(r.is_finite() && *r > 0.0) {
                return Err(err(
                    &[K("requires"), K("ram_gb")],
                    "ram_gb must be a positive number of GB".into(),
                ));
            }
        }
        if let Some(login) = &self.requires.login {
            if login.is_empty() || login.contains('/') || login.contains(char::is_whitespace) {
                return Err(err(
                    &[K("requires"), K("login")],
                    format!("login `{login}`: name a registry host such as nvcr.io"),
                ));
            }
        }
        for (i, d) in self.run.devices.iter().enumerate() {
            if !d.starts_with("/dev/") {
                return Err(err(
                    &[K("run"), K("devices"), I(i)],
                    format!("device `{d}` must be a path under /dev"),
                ));
            }
        }
        for (i, m) in self.run.mounts.iter().enumerate() {
            if !(m.source.starts_with('/') || m.source.starts_with("~/")) {
                return Err(err(
                    &[K("run"), K("mounts"), I(i), K("source")],
                    format!("mount source `{}` must be absolute (or start with ~/)", m.source),
                ));
            }
            if !m.target.starts_with('/') {
                return Err(err(
                    &[K("run"), K("mounts"), I(i), K("target")],
                    format!("mount target `{}` must be an absolute path in the container", m.target),
                ));
            }
            if m.source.contains(':') || m.target.contains(':') {
                return Err(err(
                    &[K("run"), K("mounts"), I(i)],
                    "mount paths cannot contain `:` (Docker's separator)".into(),
                ));
            }
        }
        if let Some(n) = &self.run.network {
            if n.is_empty() || n.contains(char::is_whitespace) {
                return Err(err(
                    &[K("run"), K("network")],
                    format!("network `{n}`: host, bridge, none or a network name"),
                ));
            }
        }
        if let Some(c) = &self.run.command {
            if c.is_empty() {
                return Err(err(
                    &[K("run"), K("command")],
                    "run.command is empty: leave it out to use the image's CMD".into(),
                ));
            }
        }
        for (i, s) in self.smoke.iter().enumerate() {
            if s.command.is_empty() || s.command[0].is_empty() {
                return Err(err(
                    &[K("smoke"), I(i), K("command")],
                    format!("smoke test `{}` has no command", s.name),
                ));
            }
            if s.timeout_s == 0 {
                return Err(err(&[K("smoke"), I(i), K("timeout_s")], "timeout_s must be at least 1".into()));
            }
        }
        Ok(())
    }
}

fn is_major_minor(s: &str) -> bool {
    let mut it = s.split('.');
    let ok = |p: Option<&str>| p.is_some_and(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    ok(it.next()) && ok(it.next()) && it.next().is_none()
}

/// Every profile: the user directory's (sorted by name), then the built-ins it does not override.
pub fn list() -> Vec<Listed> {
    list_from(&user_dir())
}

pub fn list_from(dir: &Path) -> Vec<Listed> {
    let mut out = Vec::new();
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "toml"))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    for path in files {
        let name = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
        match Profile::read_file(&path) {
            Ok(p) => out.push(listed(&p, name)),
            Err(e) => out.push(Listed {
                name,
                source: path.display().to_string(),
                description: None,
                platforms: Vec::new(),
                error: Some(e.to_string().lines().next().unwrap_or_default().to_string()),
            }),
        }
    }
    for (name, text) in BUILTIN {
        if out.iter().any(|l| l.name == *name) {
            continue;
        }
        let p = Profile::parse(text, &format!("builtin:{name}")).expect("built-in profiles are tested");
        out.push(listed(&p, name.to_string()));
    }
    out
}

fn listed(p: &Profile, name: String) -> Listed {
    Listed {
        name,
        source: p.source.clone(),
        description: p.description.clone(),
        platforms: p.platform_words(),
        error: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str =
        "name = \"x\"\n[platforms.jetson]\n\n[[base]]\nplatform = \"jetson\"\ncandidates = [\"a:1\"]\n";

    #[test]
    fn every_builtin_profile_parses_and_supports_a_platform() {
        for (name, text) in BUILTIN {
            let p = Profile::parse(text, &format!("builtin:{name}")).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(&p.name, name);
            assert!(!p.supported().is_empty());
            assert!(!p.smoke.is_empty(), "{name}: a built-in profile proves itself with a smoke test");
            assert_eq!(p.sha256.len(), 64);
        }
    }

    #[test]
    fn every_profile_a_builtin_names_exists() {
        // Refusals send the user to another profile: it must be there.
        let names: Vec<&str> = BUILTIN.iter().map(|(n, _)| *n).collect();
        for (name, text) in BUILTIN {
            let p = Profile::parse(text, name).unwrap();
            let said = [
                p.platforms.jetson.as_ref().and_then(|j| j.refuse.clone()),
                p.platforms.x86_64.as_ref().and_then(|x| x.refuse.clone()),
            ];
            for text in said.iter().flatten() {
                for quoted in text.split('`').skip(1).step_by(2) {
                    assert!(
                        names.contains(&quoted),
                        "{name} names profile `{quoted}`, which is not built in"
                    );
                }
            }
        }
    }

    #[test]
    fn syntax_errors_name_file_line_and_column() {
        let text = format!("{MINIMAL}[apt]\npackages = [\"curl\" \"wget\"]\n");
        let err = Profile::parse(&text, "p.toml").unwrap_err().to_string();
        assert!(err.starts_with("p.toml:8:"), "{err}");
    }

    #[test]
    fn unknown_keys_are_refused_with_their_line() {
        let text = format!("{MINIMAL}bogus = 1\n");
        let err = Profile::parse(&text, "p.toml").unwrap_err().to_string();
        assert!(err.starts_with("p.toml:7:1: unknown field `bogus`"), "{err}");
    }

    #[test]
    fn semantic_errors_point_at_the_value() {
        let bad_range = MINIMAL.replace("[platforms.jetson]\n", "[platforms.jetson]\njetpack = \"six\"\n");
        let err = Profile::parse(&bad_range, "p.toml").unwrap_err().to_string();
        assert!(err.starts_with("p.toml:3:11: `six` is not a version range"), "{err}");

        let bad_ref = MINIMAL.replace("[\"a:1\"]", "[\"ok:1\", \"Bad Image\"]");
        let err = Profile::parse(&bad_ref, "p.toml").unwrap_err().to_string();
        assert!(err.starts_with("p.toml:6:23:") && err.contains("Bad Image"), "{err}");

        let no_x86_base = format!("{MINIMAL}[platforms.x86_64]\n");
        let err = Profile::parse(&no_x86_base, "p.toml").unwrap_err().to_string();
        assert!(err.contains("no [[base]] row for x86_64"), "{err}");

        let refused_only = "name = \"x\"\n[platforms.jetson]\nrefuse = \"no\"\n";
        let err = Profile::parse(refused_only, "p.toml").unwrap_err().to_string();
        assert!(err.starts_with("p.toml:2:") && err.contains("no platform to run on"), "{err}");

        let bad_req = format!("{MINIMAL}[python]\nrequirements = [\"pyzmq>=\"]\n");
        let err = Profile::parse(&bad_req, "p.toml").unwrap_err().to_string();
        assert!(err.starts_with("p.toml:8:17:") && err.contains("PEP 508"), "{err}");

        let escape = format!("{MINIMAL}[[files]]\nsrc = \"../secrets\"\ndest = \"/opt\"\n");
        let err = Profile::parse(&escape, "p.toml").unwrap_err().to_string();
        assert!(err.starts_with("p.toml:8:7:") && err.contains("inside the profile's directory"), "{err}");
    }

    #[test]
    fn zed_flags_are_checked() {
        let base = format!("{MINIMAL}[zed]\n");
        let err = Profile::parse(
            &format!("{base}flags = [\"silent\", \"runtime_only\", \"skip_tools\"]\n"),
            "p.toml",
        )
        .unwrap_err()
        .to_string();
        assert!(err.starts_with("p.toml:8:") && err.contains("alternatives"), "{err}");
        let err =
            Profile::parse(&format!("{base}flags = [\"skip_drivers\"]\n"), "p.toml").unwrap_err().to_string();
        assert!(err.contains("must contain `silent`"), "{err}");
        let err = Profile::parse(&format!("{base}flags = [\"silent\", \"turbo\"]\n"), "p.toml")
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("p.toml:8:20:") && err.contains("`turbo`"), "{err}");
        let err = Profile::parse(&format!("{base}variant = \"fast\"\n"), "p.toml").unwrap_err().to_string();
        assert!(err.contains("variant `fast` is unknown"), "{err}");
        let ok = Profile::parse(
            &format!("{base}flags = [\"silent\", \"runtime_only\", \"skip_drivers\"]\n"),
            "p.toml",
        )
        .unwrap();
        assert_eq!(ok.zed.unwrap().flags.unwrap().len(), 3);
    }

    #[test]
    fn names_resolve_user_directory_first_then_builtins() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("locomotion.toml"), MINIMAL.replace("\"x\"", "\"locomotion\""))
            .unwrap();
        std::fs::write(dir.path().join("broken.toml"), "name = ").unwrap();
        let p = Profile::load_from("locomotion", dir.path()).unwrap();
        assert!(p.source.ends_with("locomotion.toml"), "{}", p.source);
        assert!(Profile::load_from("isaacsim", dir.path()).unwrap().is_builtin());
        let err = Profile::load_from("pytorch", dir.path()).unwrap_err().to_string();
        assert!(
            err.contains("unknown profile `pytorch`")
                && err.contains("isaacsim")
                && err.contains("testing-arm"),
            "{err}"
        );
        let listed = list_from(dir.path());
        let names: Vec<&str> = listed.iter().map(|l| l.name.as_str()).collect();
        assert_eq!(names, ["broken", "locomotion", "testing-arm", "testing-x86", "isaacsim"]);
        assert!(listed[0].error.as_ref().unwrap().contains("broken.toml:1:"));
        assert!(matches!(Profile::load_from("./nope.toml", dir.path()), Err(ProfileError::Read { .. })));
    }
}
