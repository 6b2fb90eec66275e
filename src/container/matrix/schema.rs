//! The matrix file (`profiles/edge-node.matrix.toml`): its serde shape and the checks that run
//! before anything is resolved. Every error names the file, line and column of the value at fault;
//! the schema is documented in docs/image-matrix.md.
//!
//! Values that end up in a Dockerfile (versions, package names, requirements, env, labels) are
//! checked against their own grammar here, and quoted again by the generator: a value that
//! passed here still cannot change the Dockerfile's structure.

use regex::Regex;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::LazyLock;
use toml::Spanned;

use super::tags::{self, Template};

/// Matrix files shipped inside the binary (`jetdoc image matrix edge-node`).
pub const BUILTIN: &[(&str, &str)] =
    &[("edge-node", include_str!("../../../profiles/edge-node.matrix.toml"))];

/// The DinD entrypoint embedded in every image that carries Docker-in-Docker (`entrypoint = "builtin"`).
pub const DIND_ENTRYPOINT: &str = include_str!("../../../contrib/dind/entrypoint.sh");

pub const SCHEMA: u32 = 1;

#[derive(Debug, thiserror::Error)]
pub enum MatrixError {
    #[error("cannot read matrix file {path}: {source}; pass a matrix file or a built-in name ({builtin})")]
    Read { path: String, source: std::io::Error, builtin: String },
    #[error("{path}:{line}:{column}: {message}; the schema is in docs/image-matrix.md (example: profiles/edge-node.matrix.toml)")]
    Parse { path: String, line: usize, column: usize, message: String },
    #[error("{path}:{line}:{column}: {message}")]
    Invalid { path: String, line: usize, column: usize, message: String },
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MatrixFile {
    pub schema: Spanned<u32>,
    pub name: Spanned<String>,
    #[serde(default)]
    pub description: Option<Spanned<String>>,
    /// `org.opencontainers.image.source`; a CI run's repository URL or `--source` wins.
    #[serde(default)]
    pub source: Option<Spanned<String>>,
    pub tags: TagsSection,
    #[serde(default)]
    pub defaults: Defaults,
    pub snippets: Snippets,
    #[serde(default)]
    pub dind: Option<DindSection>,
    pub smoke: SmokeSection,
    #[serde(rename = "variant")]
    pub variants: Vec<VariantSpec>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TagsSection {
    pub template: Spanned<String>,
    #[serde(default = "yes")]
    pub latest: bool,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Defaults {
    pub python: Option<Spanned<String>>,
    /// Used instead of `python` with `--python-fallback`.
    pub python_fallback: Option<Spanned<String>>,
    pub torch: Option<Spanned<String>>,
    pub dind: Option<bool>,
    #[serde(default)]
    pub apt: Vec<Spanned<String>>,
    #[serde(default)]
    pub pip: Vec<Spanned<String>>,
    #[serde(default)]
    pub env: BTreeMap<Spanned<String>, Spanned<String>>,
    #[serde(default)]
    pub labels: BTreeMap<Spanned<String>, Spanned<String>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Snippets {
    /// Installs Python, the venv, torch and the pip list (see the built-in matrix for the contract).
    pub python: Spanned<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DindSection {
    /// Packages Docker-in-Docker needs (dockerd, fuse-overlayfs, uidmap, openssl, ...).
    #[serde(default)]
    pub apt: Vec<Spanned<String>>,
    /// `builtin` (contrib/dind/entrypoint.sh as embedded in jetdoc) or a path relative to the file.
    #[serde(default = "builtin")]
    pub entrypoint: Spanned<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmokeSection {
    pub command: Spanned<Vec<String>>,
    #[serde(default)]
    pub expect: Vec<String>,
    /// Written to /opt/jetdoc/smoke.py in every image.
    pub script: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VariantSpec {
    pub name: Spanned<String>,
    pub arch: Spanned<String>,
    pub base: Option<Spanned<String>>,
    pub python: Option<Spanned<String>>,
    pub torch: Option<Spanned<String>>,
    pub torch_index: Option<Spanned<String>>,
    pub cuda: Option<Spanned<String>>,
    pub dind: Option<bool>,
    #[serde(default)]
    pub apt: Vec<Spanned<String>>,
    #[serde(default)]
    pub pip: Vec<Spanned<String>>,
    #[serde(default)]
    pub env: BTreeMap<Spanned<String>, Spanned<String>>,
    #[serde(default)]
    pub labels: BTreeMap<Spanned<String>, Spanned<String>>,
    /// More repositories this variant is pushed to; a tag that variants of different
    /// architectures share there becomes an OCI image index.
    #[serde(default)]
    pub publish_as: Vec<Spanned<String>>,
    /// Present on a Jetson variant: base, Python, torch index, CUDA and TensorRT come from the
    /// JetPack of the resolved L4T.
    pub jetpack: Option<JetpackSpec>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JetpackSpec {
    /// The L4T to resolve against when neither `--l4t` nor a detected Jetson gives one.
    pub l4t: Option<Spanned<String>>,
}

fn yes() -> bool {
    true
}

fn builtin() -> Spanned<String> {
    Spanned::new(0..0, "builtin".to_string())
}

/// A parsed and checked matrix file.
#[derive(Debug, Clone)]
pub struct Matrix {
    pub file: MatrixFile,
    pub template: Template,
    /// `builtin:<name>` or the path given.
    pub origin: String,
    /// The directory relative paths are taken from (None for a built-in file).
    pub dir: Option<PathBuf>,
    pub sha256: String,
    /// The DinD entrypoint script's text.
    pub dind_entrypoint: String,
    text: String,
}

impl Matrix {
    /// A built-in matrix by name, or a matrix file by path.
    pub fn load(name_or_path: &str) -> Result<Matrix, MatrixError> {
        if let Some((name, text)) = BUILTIN.iter().find(|(n, _)| *n == name_or_path) {
            return Matrix::parse(text, &format!("builtin:{name}"), None);
        }
        let path = Path::new(name_or_path);
        let text = read_regular(path).map_err(|source| MatrixError::Read {
            path: path.display().to_string(),
            source,
            builtin: BUILTIN.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", "),
        })?;
        let dir = path.parent().map(|p| if p.as_os_str().is_empty() { PathBuf::from(".") } else { p.into() });
        Matrix::parse(&text, &path.display().to_string(), dir)
    }

    /// Parses and checks matrix text; `origin` names it in errors.
    pub fn parse(text: &str, origin: &str, dir: Option<PathBuf>) -> Result<Matrix, MatrixError> {
        let file: MatrixFile = toml::from_str(text).map_err(|e| {
            let (line, column) = e.span().map(|s| line_col(text, s.start)).unwrap_or((1, 1));
            let message = e.message().trim().replace('\n', "; ");
            MatrixError::Parse { path: origin.to_string(), line, column, message }
        })?;
        let mut m = Matrix {
            template: Template::default(),
            origin: origin.to_string(),
            dir,
            sha256: hex::encode(<sha2::Sha256 as sha2::Digest>::digest(text.as_bytes())),
            dind_entrypoint: String::new(),
            text: text.to_string(),
            file,
        };
        m.validate()?;
        Ok(m)
    }

    /// An error at the position of a spanned value.
    pub fn at<T>(&self, v: &Spanned<T>, message: impl Into<String>) -> MatrixError {
        let (line, column) = line_col(&self.text, v.span().start);
        MatrixError::Invalid { path: self.origin.clone(), line, column, message: message.into() }
    }

    pub fn variant(&self, name: &str) -> Option<&VariantSpec> {
        self.file.variants.iter().find(|v| v.name.get_ref() == name)
    }

    fn validate(&mut self) -> Result<(), MatrixError> {
        let f = &self.file;
        if *f.schema.get_ref() != SCHEMA {
            return Err(self.at(
                &f.schema,
                format!(
                    "schema {} is not supported by this jetdoc (it reads schema {SCHEMA}): update jetdoc",
                    f.schema.get_ref()
                ),
            ));
        }
        if !is_simple_name(f.name.get_ref()) {
            return Err(self.at(
                &f.name,
                format!("name `{}` must be lowercase letters, digits, `.`, `_` or `-`", f.name.get_ref()),
            ));
        }
        if let Some(src) = &f.source {
            check_url(src.get_ref()).map_err(|why| self.at(src, format!("source: {why}")))?;
        }
        if let Some(d) = &f.description {
            no_control(d.get_ref()).map_err(|why| self.at(d, format!("description: {why}")))?;
        }
        let template = Template::parse(f.tags.template.get_ref())
            .map_err(|why| self.at(&f.tags.template, format!("tags.template: {why}")))?;
        if !template.has_arch() {
            return Err(self.at(
                &f.tags.template,
                "tags.template must contain <arch>: each architecture needs a tag of its own (an image index is built from them)",
            ));
        }
        self.template = template;

        let d = &f.defaults;
        for (what, v) in [("defaults.python", &d.python), ("defaults.python_fallback", &d.python_fallback)] {
            if let Some(v) = v {
                check_python(v.get_ref()).map_err(|why| self.at(v, format!("{what}: {why}")))?;
            }
        }
        if let Some(t) = &d.torch {
            check_torch(t.get_ref()).map_err(|why| self.at(t, format!("defaults.torch: {why}")))?;
        }
        self.check_lists("defaults", &d.apt, &d.pip, &d.env, &d.labels)?;

        let snippet = &f.snippets.python;
        if snippet.get_ref().trim().is_empty() {
            return Err(
                self.at(snippet, "snippets.python is empty: it must install Python, torch and the pip list")
            );
        }
        if let Some(line) =
            snippet.get_ref().lines().find(|l| l.trim_start().to_ascii_uppercase().starts_with("FROM "))
        {
            return Err(
                self.at(snippet, format!("snippets.python must not start a build stage (`{}`)", line.trim()))
            );
        }

        if let Some(dind) = &f.dind {
            for p in &dind.apt {
                check_apt(p.get_ref()).map_err(|why| self.at(p, format!("dind.apt: {why}")))?;
            }
        }
        let cmd = &f.smoke.command;
        if cmd.get_ref().is_empty() || cmd.get_ref()[0].is_empty() {
            return Err(self.at(cmd, "smoke.command is empty: give the program and its arguments"));
        }

        if f.variants.is_empty() {
            return Err(MatrixError::Invalid {
                path: self.origin.clone(),
                line: 1,
                column: 1,
                message: "no [[variant]]: a matrix needs at least one".into(),
            });
        }
        let mut seen: BTreeMap<&str, ()> = BTreeMap::new();
        for v in &f.variants {
            let name = v.name.get_ref();
            tags::check_repository(name)
                .map_err(|why| self.at(&v.name, format!("variant name `{name}`: {why}")))?;
            if seen.insert(name, ()).is_some() {
                return Err(self.at(&v.name, format!("variant `{name}` is defined twice")));
            }
            if !matches!(v.arch.get_ref().as_str(), "amd64" | "arm64") {
                return Err(self.at(
                    &v.arch,
                    format!("variant `{name}`: arch `{}` is not amd64 or arm64", v.arch.get_ref()),
                ));
            }
            let jetson = v.jetpack.is_some();
            if jetson && v.arch.get_ref() != "arm64" {
                return Err(self.at(&v.arch, format!("variant `{name}`: a [variant.jetpack] image is arm64")));
            }
            if let Some(b) = &v.base {
                tags::check_reference(b.get_ref())
                    .map_err(|why| self.at(b, format!("variant `{name}`: base: {why}")))?;
            } else if !jetson {
                return Err(self.at(
                    &v.name,
                    format!(
                        "variant `{name}` has no base: set `base` (or [variant.jetpack] for a Jetson image)"
                    ),
                ));
            }
            if let Some(p) = &v.python {
                check_python(p.get_ref())
                    .map_err(|why| self.at(p, format!("variant `{name}`: python: {why}")))?;
            } else if !jetson && d.python.is_none() {
                return Err(
                    self.at(&v.name, format!("variant `{name}` has no python: set it here or in [defaults]"))
                );
            }
            match (&v.torch, &d.torch) {
                (Some(t), _) => check_torch(t.get_ref())
                    .map_err(|why| self.at(t, format!("variant `{name}`: torch: {why}")))?,
                (None, None) => {
                    return Err(self.at(
                        &v.name,
                        format!("variant `{name}` has no torch version: set it here or in [defaults]"),
                    ))
                }
                _ => {}
            }
            if let Some(u) = &v.torch_index {
                check_url(u.get_ref())
                    .map_err(|why| self.at(u, format!("variant `{name}`: torch_index: {why}")))?;
            } else if !jetson {
                return Err(self.at(&v.name, format!("variant `{name}` has no torch_index (the PyTorch wheel index, e.g. https://download.pytorch.org/whl/cpu)")));
            }
            if let Some(c) = &v.cuda {
                check_major_minor(c.get_ref())
                    .map_err(|why| self.at(c, format!("variant `{name}`: cuda: {why}")))?;
            }
            for p in &v.publish_as {
                tags::check_repository(p.get_ref()).map_err(|why| {
                    self.at(p, format!("variant `{name}`: publish_as `{}`: {why}", p.get_ref()))
                })?;
            }
            if let Some(l4t) = v.jetpack.as_ref().and_then(|j| j.l4t.as_ref()) {
                if crate::knowledge::L4tVersion::parse(l4t.get_ref()).is_none() {
                    return Err(self.at(
                        l4t,
                        format!(
                            "variant `{name}`: jetpack.l4t `{}` is not an L4T release such as 36.4 or 36.4.3",
                            l4t.get_ref()
                        ),
                    ));
                }
            }
            self.check_lists(&format!("variant `{name}`"), &v.apt, &v.pip, &v.env, &v.labels)?;
        }

        // The entrypoint last: reading a file is the only side effect of loading a matrix.
        let wants_dind = f.variants.iter().any(|v| v.dind.or(d.dind).unwrap_or(false));
        self.dind_entrypoint = match &f.dind {
            None if wants_dind => {
                return Err(MatrixError::Invalid {
                    path: self.origin.clone(),
                    line: 1,
                    column: 1,
                    message: "variants ask for Docker-in-Docker (dind = true) but there is no [dind] section"
                        .into(),
                })
            }
            None => String::new(),
            Some(s) if s.entrypoint.get_ref() == "builtin" => DIND_ENTRYPOINT.to_string(),
            Some(s) => {
                let rel = Path::new(s.entrypoint.get_ref());
                let path = match &self.dir {
                    Some(dir) if rel.is_relative() => dir.join(rel),
                    _ => rel.to_path_buf(),
                };
                read_regular(&path).map_err(|e| {
                    self.at(&s.entrypoint, format!("dind.entrypoint: cannot read {}: {e}", path.display()))
                })?
            }
        };
        Ok(())
    }

    fn check_lists(
        &self,
        what: &str,
        apt: &[Spanned<String>],
        pip: &[Spanned<String>],
        env: &BTreeMap<Spanned<String>, Spanned<String>>,
        labels: &BTreeMap<Spanned<String>, Spanned<String>>,
    ) -> Result<(), MatrixError> {
        for p in apt {
            check_apt(p.get_ref()).map_err(|why| self.at(p, format!("{what}: apt: {why}")))?;
        }
        for p in pip {
            check_pip(p.get_ref()).map_err(|why| self.at(p, format!("{what}: pip: {why}")))?;
        }
        for (k, v) in env {
            check_env_key(k.get_ref()).map_err(|why| self.at(k, format!("{what}: env: {why}")))?;
            no_control(v.get_ref())
                .map_err(|why| self.at(v, format!("{what}: env {}: {why}", k.get_ref())))?;
        }
        for (k, v) in labels {
            check_label_key(k.get_ref()).map_err(|why| self.at(k, format!("{what}: labels: {why}")))?;
            no_control(v.get_ref())
                .map_err(|why| self.at(v, format!("{what}: label {}: {why}", k.get_ref())))?;
        }
        Ok(())
    }
}

/// A matrix file and the entrypoint it names are a few KiB; this bounds what a wrong path costs.
pub const MAX_FILE_BYTES: u64 = 1 << 20;

/// Reads a file the user named: a regular file of at most [`MAX_FILE_BYTES`], in UTF-8. Anything
/// else is refused before it is read: a FIFO would block forever, `/dev/zero` never ends, and
/// opening a device can have side effects. The open is non-blocking all the same, in case the
/// path is swapped between the `stat` and the `open`.
fn read_regular(path: &Path) -> std::io::Result<String> {
    use std::io::{Error, ErrorKind, Read};
    use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
    let not_regular = |ft: std::fs::FileType| {
        let kind = if ft.is_dir() {
            "a directory"
        } else if ft.is_fifo() {
            "a FIFO"
        } else if ft.is_char_device() {
            "a character device"
        } else if ft.is_block_device() {
            "a block device"
        } else if ft.is_socket() {
            "a socket"
        } else {
            "not a file"
        };
        Error::new(ErrorKind::InvalidInput, format!("{kind}, not a regular file"))
    };
    let meta = std::fs::metadata(path)?;
    if !meta.is_file() {
        return Err(not_regular(meta.file_type()));
    }
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags((rustix::fs::OFlags::NONBLOCK | rustix::fs::OFlags::NOCTTY).bits() as i32)
        .open(path)?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(not_regular(meta.file_type()));
    }
    let mut bytes = Vec::new();
    file.take(MAX_FILE_BYTES + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(Error::new(
            ErrorKind::InvalidData,
            format!("larger than {} MiB: not a matrix file", MAX_FILE_BYTES >> 20),
        ));
    }
    String::from_utf8(bytes).map_err(|e| {
        Error::new(ErrorKind::InvalidData, format!("not UTF-8 text (byte {})", e.utf8_error().valid_up_to()))
    })
}

/// 1-based line and column (in characters) of a byte offset.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map(|l| l.chars().count()).unwrap_or(0) + 1;
    (line, column)
}

fn is_simple_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 128
        && s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-".contains(c))
}

/// Control characters cannot be written into a Dockerfile value faithfully (a newline would end
/// the instruction), so they are refused rather than mangled.
pub fn no_control(s: &str) -> Result<(), String> {
    match s.chars().find(|c| c.is_control()) {
        Some(c) => {
            Err(format!("contains the control character {c:?}, which a Dockerfile value cannot carry"))
        }
        None => Ok(()),
    }
}

pub fn check_python(s: &str) -> Result<(), String> {
    let ok = s
        .strip_prefix("3.")
        .is_some_and(|m| !m.is_empty() && m.len() <= 2 && m.chars().all(|c| c.is_ascii_digit()));
    if ok {
        Ok(())
    } else {
        Err(format!("`{s}` is not a Python 3 MAJOR.MINOR version such as 3.13"))
    }
}

pub fn check_major_minor(s: &str) -> Result<(), String> {
    let mut parts = s.split('.');
    let ok = parts.next().is_some_and(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()))
        && parts.next().is_some_and(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()))
        && parts.next().is_none();
    if ok {
        Ok(())
    } else {
        Err(format!("`{s}` is not MAJOR.MINOR such as 12.8"))
    }
}

/// A torch release as pip pins it and as a tag carries it: a PEP 440 version without a local
/// part (`+cu128` cannot be in a Docker tag; the index already picks the build).
pub fn check_torch(s: &str) -> Result<(), String> {
    if s.contains('+') {
        return Err(format!(
            "`{s}` has a local version part: Docker tags cannot carry `+`; write the public version (the torch_index picks the CPU or CUDA build)"
        ));
    }
    s.parse::<pep440_rs::Version>().map_err(|e| format!("`{s}` is not a PEP 440 version: {e}"))?;
    if !s.chars().all(|c| c.is_ascii_alphanumeric() || c == '.') {
        return Err(format!("`{s}`: only letters, digits and dots can go into the tag"));
    }
    Ok(())
}

/// http(s) URLs only (pip index, OCI source label).
pub fn check_url(s: &str) -> Result<(), String> {
    no_control(s)?;
    let url = reqwest::Url::parse(s).map_err(|e| format!("`{s}` is not a URL: {e}"))?;
    if !matches!(url.scheme(), "https" | "http") || url.host_str().is_none() {
        return Err(format!("`{s}` is not an http(s) URL"));
    }
    if s.chars().any(|c| c.is_whitespace() || c == '"' || c == '\'' || c == '\\') {
        return Err(format!("`{s}` contains whitespace, quotes or backslashes"));
    }
    Ok(())
}

/// A Debian package name (Policy 5.6.1), optionally `:arch` and `=version`.
pub fn check_apt(s: &str) -> Result<(), String> {
    if APT.is_match(s) {
        Ok(())
    } else {
        Err(format!("`{s}` is not a Debian package name (lowercase letters, digits, `+`, `-`, `.`; optional :arch and =version)"))
    }
}

/// A PEP 508 requirement; pip options (`--index-url`, `-r`) are not requirements.
pub fn check_pip(s: &str) -> Result<(), String> {
    no_control(s)?;
    if s.trim_start().starts_with('-') {
        return Err(format!("`{s}` is a pip option, not a requirement: the matrix sets indexes itself"));
    }
    s.parse::<pep508_rs::Requirement>().map(|_| ()).map_err(|e| {
        format!("`{s}` is not a PEP 508 requirement: {}", e.to_string().lines().next().unwrap_or(""))
    })
}

pub fn check_env_key(s: &str) -> Result<(), String> {
    if ENV_KEY.is_match(s) {
        Ok(())
    } else {
        Err(format!("`{s}` is not an environment variable name (letters, digits, `_`)"))
    }
}

/// Docker accepts almost any label key; jetdoc keeps to the reverse-DNS convention so that a key
/// never needs quoting tricks, and leaves its own namespace to itself.
pub fn check_label_key(s: &str) -> Result<(), String> {
    if !LABEL_KEY.is_match(s) {
        return Err(format!(
            "`{s}` is not a label key (letters, digits, `.`, `_`, `-`, e.g. com.example.team)"
        ));
    }
    if s.starts_with("io.jetdoc.") {
        return Err(format!("`{s}`: the io.jetdoc.* labels are jetdoc's own (it records them itself)"));
    }
    Ok(())
}

static APT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^[a-z0-9][a-z0-9+.-]+(:[a-z0-9-]+)?(=[A-Za-z0-9.+~:-]+)?$").expect("pattern")
});
static ENV_KEY: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^[A-Za-z_][A-Za-z0-9_]*$").expect("pattern"));
static LABEL_KEY: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?$").expect("pattern"));

#[cfg(test)]
mod tests {
    use super::*;

    fn minimal(variant: &str) -> String {
        format!(
            "schema = 1\nname = \"t\"\n[tags]\ntemplate = \"<arch>-py<python>\"\n[snippets]\npython = \"RUN true\"\n[smoke]\ncommand = [\"python\"]\n[[variant]]\n{variant}"
        )
    }

    #[test]
    fn the_builtin_matrix_parses() {
        let m = Matrix::load("edge-node").unwrap();
        let names: Vec<&str> = m.file.variants.iter().map(|v| v.name.get_ref().as_str()).collect();
        assert_eq!(
            names,
            [
                "base_edge_node_amd64_gpu",
                "base_edge_node_amd64_cpu",
                "base_edge_node_arm64_cpu",
                "base_edge_node_arm64_tegra"
            ]
        );
        assert!(m.dind_entrypoint.starts_with("#!/bin/sh"));
        assert_eq!(m.sha256.len(), 64);
    }

    #[test]
    fn syntax_errors_name_file_line_and_column() {
        let err = Matrix::parse("schema = 1\nname = \"t\"\n[tags\n", "m.toml", None).unwrap_err().to_string();
        assert!(err.starts_with("m.toml:3:"), "{err}");
        let text = minimal("name = \"v\"\narch = \"amd64\"\nbase = \"ubuntu:24.04\"\nbogus = 1\n");
        let err = Matrix::parse(&text, "m.toml", None).unwrap_err().to_string();
        assert!(err.starts_with("m.toml:13:1: unknown field `bogus`"), "{err}");
    }

    #[test]
    fn bad_values_are_refused_at_their_position() {
        let cases = [
            ("name = \"v\"\narch = \"riscv64\"\n", "m.toml:11:8:", "not amd64 or arm64"),
            ("name = \"Bad Name\"\narch = \"amd64\"\n", "m.toml:10:8:", "variant name"),
            (
                "name = \"v\"\narch = \"amd64\"\nbase = \"ubuntu:24.04\"\npython = \"3.13\"\ntorch = \"2.8.0+cu128\"\ntorch_index = \"https://x/\"\n",
                "m.toml:14:9:",
                "cannot carry `+`",
            ),
            (
                "name = \"v\"\narch = \"amd64\"\nbase = \"ubuntu:24.04\"\npython = \"3.13\"\ntorch = \"2.8\"\ntorch_index = \"https://x/\"\napt = [\"curl; rm -rf /\"]\n",
                "m.toml:16:8:",
                "not a Debian package name",
            ),
            (
                "name = \"v\"\narch = \"amd64\"\nbase = \"ubuntu:24.04\"\npython = \"3.13\"\ntorch = \"2.8\"\ntorch_index = \"https://x/\"\npip = [\"--index-url=http://evil/\"]\n",
                "m.toml:16:8:",
                "pip option",
            ),
            (
                "name = \"v\"\narch = \"amd64\"\nbase = \"ubuntu:24.04\"\npython = \"3.13\"\ntorch = \"2.8\"\ntorch_index = \"https://x/\"\nlabels = { \"a.b\" = \"x\\nRUN touch /pwned\" }\n",
                "m.toml:16:",
                "control character",
            ),
            (
                "name = \"v\"\narch = \"amd64\"\nbase = \"ubuntu:24.04\"\npython = \"3.13\"\ntorch = \"2.8\"\ntorch_index = \"https://x/\"\nenv = { \"A B\" = \"x\" }\n",
                "m.toml:16:",
                "not an environment variable name",
            ),
            (
                "name = \"v\"\narch = \"amd64\"\nbase = \"ubuntu:24.04\"\npython = \"3.13\"\ntorch = \"2.8\"\ntorch_index = \"https://x/\"\nlabels = { \"io.jetdoc.l4t\" = \"1\" }\n",
                "m.toml:16:",
                "jetdoc's own",
            ),
            ("name = \"v\"\narch = \"amd64\"\npython = \"3.13\"\ntorch = \"2.8\"\n", "m.toml:10:8:", "has no base"),
            ("name = \"v\"\narch = \"amd64\"\n[variant.jetpack]\nl4t = \"36.4\"\n", "m.toml:11:8:", "is arm64"),
        ];
        for (variant, at, why) in cases {
            let err = Matrix::parse(&minimal(variant), "m.toml", None).unwrap_err().to_string();
            assert!(err.starts_with(at) && err.contains(why), "{variant}\n=> {err}");
        }
    }

    #[test]
    fn the_template_needs_arch() {
        let text = minimal("name = \"v\"\narch = \"amd64\"\n").replace("<arch>-py<python>", "py<python>");
        let err = Matrix::parse(&text, "m.toml", None).unwrap_err().to_string();
        assert!(err.starts_with("m.toml:4:12:") && err.contains("must contain <arch>"), "{err}");
    }

    /// A path that is no matrix file is refused at once: no hang on a FIFO, no endless read of a
    /// device, no huge allocation.
    #[test]
    fn only_a_small_regular_file_is_read() {
        use rustix::fs::{FileType, Mode};
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("m.toml");
        rustix::fs::mknodat(rustix::fs::CWD, &fifo, FileType::Fifo, Mode::from_raw_mode(0o600), 0).unwrap();
        let big = dir.path().join("big.toml");
        std::fs::write(&big, "#".repeat(MAX_FILE_BYTES as usize + 1)).unwrap();
        let binary = dir.path().join("bin.toml");
        std::fs::write(&binary, b"schema = 1\n\xff\xfe").unwrap();
        let cases = [
            (fifo.to_str().unwrap(), "a FIFO, not a regular file"),
            ("/dev/zero", "a character device, not a regular file"),
            (dir.path().to_str().unwrap(), "a directory, not a regular file"),
            (big.to_str().unwrap(), "larger than 1 MiB"),
            (binary.to_str().unwrap(), "not UTF-8 text (byte 11)"),
        ];
        for (path, why) in cases {
            let err = Matrix::load(path).unwrap_err().to_string();
            assert!(err.starts_with(&format!("cannot read matrix file {path}: {why}")), "{err}");
        }
        // The DinD entrypoint a matrix file names is read the same way.
        let text =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/profiles/edge-node.matrix.toml"))
                .unwrap()
                .replace("entrypoint = \"builtin\"", "entrypoint = \"m.toml\"");
        let file = dir.path().join("edge.matrix.toml");
        std::fs::write(&file, text).unwrap();
        let err = Matrix::load(file.to_str().unwrap()).unwrap_err().to_string();
        assert!(
            err.contains("dind.entrypoint: cannot read") && err.contains("a FIFO, not a regular file"),
            "{err}"
        );
    }

    #[test]
    fn value_grammars() {
        assert!(check_apt("python3.13-venv").is_ok());
        assert!(check_apt("docker.io").is_ok());
        assert!(check_apt("libc6:arm64=2.39-0ubuntu8").is_ok());
        assert!(check_apt("-oAPT::Foo").is_err());
        assert!(check_pip("transformers>=4.56,<5").is_ok());
        assert!(check_pip("torch[opt]==2.8; python_version >= '3.10'").is_ok());
        assert!(check_pip("-r /etc/passwd").is_err());
        assert!(check_python("3.13").is_ok());
        assert!(check_python("3.13.1").is_err());
        assert!(check_python("2.7").is_err());
        assert!(check_torch("2.8.0").is_ok());
        assert!(check_torch("2.8.0rc1").is_ok());
        assert!(check_url("https://download.pytorch.org/whl/cu128").is_ok());
        assert!(check_url("file:///etc").is_err());
        assert!(check_url("https://x/\" evil").is_err());
    }
}
