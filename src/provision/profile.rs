//! A provisioning profile (`profiles/<name>.toml`): the base image candidates, apt packages,
//! Python wheels, the ZED SDK installer, application files, environment and labels of an image.
//!
//! Paths in a profile are relative to its build context: the profile's own directory unless the
//! caller says otherwise.

use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Profiles shipped inside the binary, by name (`jetdoc image build --profile locomotion`).
pub const BUILTIN: &[(&str, &str)] = &[("locomotion", include_str!("../../profiles/locomotion.toml"))];

#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    #[error(
        "cannot read profile {path}: {source}; pass a profile file or one of the built-in names ({builtin})"
    )]
    Read { path: String, source: std::io::Error, builtin: String },
    #[error("{path}:{line}:{column}: {message}; see profiles/locomotion.toml for a complete example")]
    Parse { path: String, line: usize, column: usize, message: String },
    #[error("{path}: {message}")]
    Invalid { path: String, message: String },
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    pub base: Base,
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
    /// Where a profile came from (file path or `builtin:<name>`); not part of the file.
    #[serde(skip)]
    pub source: String,
    /// SHA-256 of the profile text, recorded in the image's labels.
    #[serde(skip)]
    pub sha256: String,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Base {
    /// Base images in order of preference. Selection (`jetdoc image select`) decides among them.
    pub candidates: Vec<String>,
    /// The L4T release the image targets (`36.4.0`): recorded as a label, compared by `image doctor`.
    pub l4t: Option<String>,
    /// CUDA major.minor the image targets (`12.6`).
    pub cuda: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Apt {
    #[serde(default)]
    pub packages: Vec<String>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Python {
    /// A directory of wheels (`jetdoc fetch` fills it): installed with `pip install --no-index`.
    pub wheelhouse: String,
    /// A requirements file inside the build context; without one every wheel is installed.
    pub requirements: Option<String>,
    #[serde(default = "default_pip")]
    pub pip: String,
}

fn default_pip() -> String {
    "python3 -m pip".to_string()
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Zed {
    /// The `ZED_SDK_Tegra_L4T*.run` installer, inside the build context.
    pub installer: String,
    /// Installer arguments: `silent skip_tools skip_drivers` (devel) or `silent runtime_only
    /// skip_drivers` (runtime), as Stereolabs' own Dockerfiles pass them.
    #[serde(default = "default_zed_flags")]
    pub flags: Vec<String>,
    /// Write `/etc/nv_tegra_release` for the installer's L4T check when the base lacks it.
    #[serde(default = "yes")]
    pub release_stub: bool,
    /// Remove `/usr/local/zed/resources/*` (AI models, downloaded at run time or mounted).
    #[serde(default = "yes")]
    pub drop_resources: bool,
}

fn default_zed_flags() -> Vec<String> {
    ["silent", "skip_tools", "skip_drivers"].map(String::from).to_vec()
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct FileCopy {
    pub src: String,
    pub dest: String,
    /// `--chown` for the copy (`1000:1000`). (No `--chmod`: the classic builder lacks it.)
    pub chown: Option<String>,
}

/// The silent-install flags the ZED installer accepts (Stereolabs' and Isaac ROS' scripts).
const ZED_FLAGS: &[&str] =
    &["silent", "skip_tools", "skip_drivers", "runtime_only", "skip_od_module", "skip_python", "skip_cuda"];

impl Profile {
    /// Loads a built-in profile by name, or a profile file by path.
    pub fn load(name_or_path: &str) -> Result<Profile, ProfileError> {
        if let Some((name, text)) = BUILTIN.iter().find(|(n, _)| *n == name_or_path) {
            return Profile::parse(text, &format!("builtin:{name}"));
        }
        let path = Path::new(name_or_path);
        let text = std::fs::read_to_string(path).map_err(|source| ProfileError::Read {
            path: path.display().to_string(),
            source,
            builtin: BUILTIN.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", "),
        })?;
        Profile::parse(&text, &path.display().to_string())
    }

    /// Parses profile text; `origin` names it in errors (`path:line:column: ...`).
    pub fn parse(text: &str, origin: &str) -> Result<Profile, ProfileError> {
        let mut profile: Profile = toml::from_str(text).map_err(|e| {
            let (line, column) = e.span().map(|s| line_col(text, s.start)).unwrap_or((1, 1));
            let message = e.message().trim().replace('\n', "; ");
            ProfileError::Parse { path: origin.to_string(), line, column, message }
        })?;
        profile.source = origin.to_string();
        profile.sha256 = crate::digest::sha256_hex(text.as_bytes());
        profile.validate(text)?;
        Ok(profile)
    }

    /// The directory relative paths of a profile file are taken from.
    pub fn default_context(&self) -> PathBuf {
        match self.source.strip_prefix("builtin:") {
            Some(_) => PathBuf::from("."),
            None => Path::new(&self.source)
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                .map(Path::to_path_buf)
                .unwrap_or_else(|| PathBuf::from(".")),
        }
    }

    fn validate(&self, text: &str) -> Result<(), ProfileError> {
        let invalid = |key: &str, message: String| {
            let line = find_line(text, key);
            ProfileError::Invalid { path: format!("{}:{line}", self.source), message }
        };
        if self.base.candidates.is_empty() {
            return Err(invalid(
                "candidates",
                "[base] candidates is empty: list at least one base image".into(),
            ));
        }
        if let Some(zed) = &self.zed {
            for flag in &zed.flags {
                if !ZED_FLAGS.contains(&flag.as_str()) {
                    return Err(invalid(
                        "flags",
                        format!(
                            "[zed] flags: unknown installer flag `{flag}` (known: {})",
                            ZED_FLAGS.join(", ")
                        ),
                    ));
                }
            }
            if !zed.flags.iter().any(|f| f == "silent") {
                return Err(invalid(
                    "flags",
                    "[zed] flags must contain `silent`: the installer otherwise waits for keyboard input"
                        .into(),
                ));
            }
            if zed.flags.iter().any(|f| f == "runtime_only") && zed.flags.iter().any(|f| f == "skip_tools") {
                return Err(invalid("flags", "[zed] flags: `runtime_only` and `skip_tools` are alternatives (runtime vs devel image): keep one".into()));
            }
        }
        for f in &self.files {
            if !f.dest.starts_with('/') {
                return Err(invalid(
                    &f.dest,
                    format!("[[files]] dest `{}` must be an absolute path in the image", f.dest),
                ));
            }
        }
        for key in self.env.keys().chain(self.labels.keys()) {
            if key.is_empty() || key.contains(char::is_whitespace) || key.contains('=') {
                return Err(invalid(key, format!("`{key}` is not a valid ENV/LABEL key")));
            }
        }
        Ok(())
    }
}

/// 1-based line and column of a byte offset.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map(|l| l.chars().count()).unwrap_or(0) + 1;
    (line, column)
}

/// The first line mentioning `needle` (1 when none does), for errors found after parsing.
fn find_line(text: &str, needle: &str) -> usize {
    text.lines().position(|l| l.contains(needle)).map(|i| i + 1).unwrap_or(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_builtin_profile_parses() {
        let p = Profile::load("locomotion").unwrap();
        assert_eq!(p.name, "locomotion");
        assert!(!p.base.candidates.is_empty());
        assert_eq!(p.zed.unwrap().flags, vec!["silent", "skip_tools", "skip_drivers"]);
        assert_eq!(p.sha256.len(), 64);
    }

    #[test]
    fn syntax_errors_name_file_line_and_column() {
        let text = "name = \"x\"\n[base]\ncandidates = [\"a\"]\n[apt]\npackages = [\"curl\" \"wget\"]\n[env]\nA = \"b\"\n";
        let err = Profile::parse(text, "p.toml").unwrap_err().to_string();
        assert!(err.starts_with("p.toml:5:"), "{err}");
    }

    #[test]
    fn unknown_keys_are_refused_with_their_line() {
        let text = "name = \"x\"\n[base]\ncandidates = [\"a\"]\nbogus = 1\n";
        let err = Profile::parse(text, "p.toml").unwrap_err().to_string();
        assert!(err.starts_with("p.toml:4:1: unknown field `bogus`"), "{err}");
    }

    #[test]
    fn zed_flags_are_checked() {
        let base = "name = \"x\"\n[base]\ncandidates = [\"a\"]\n[zed]\ninstaller = \"z.run\"\n";
        let err = Profile::parse(
            &format!("{base}flags = [\"silent\", \"runtime_only\", \"skip_tools\"]\n"),
            "p.toml",
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("p.toml:6") && err.contains("alternatives"), "{err}");
        let err =
            Profile::parse(&format!("{base}flags = [\"skip_drivers\"]\n"), "p.toml").unwrap_err().to_string();
        assert!(err.contains("must contain `silent`"), "{err}");
        let ok = Profile::parse(
            &format!("{base}flags = [\"silent\", \"runtime_only\", \"skip_drivers\"]\n"),
            "p.toml",
        )
        .unwrap();
        assert_eq!(ok.zed.unwrap().flags.len(), 3);
    }
}
