//! What to fetch for a device: the wheel target (Python, platform, glibc), the wheel indexes and
//! the ZED SDK installer, decided from the detected device (`Context`) and the user's overrides.
//!
//! This is the one place these decisions live: `jetdoc fetch` calls it, and so does
//! `jetdoc provision`, so that a profile resolved for a robot fetches exactly what the
//! `fetch` commands would. Pure apart from the probes the `Context` runs (files under the root):
//! no network, no output.
//!
//! ```no_run
//! # use jetdoc::fetch::device::{self, WheelRequest, ZedRequest};
//! # fn demo(ctx: &jetdoc::context::Context) -> Result<(), device::DeviceError> {
//! let want = WheelRequest::default(); // everything from the device
//! let target = device::wheel_target(ctx, &want)?; // cp310 linux_aarch64 glibc 2.35
//! let indexes = device::wheel_indexes(ctx, &want)?; // jp6/cu126, then PyPI (pure-Python only)
//! let zed = device::zed_choice(ctx, &ZedRequest::default())?; // the l4t36.4 installer URL
//! # Ok(()) }
//! ```

use crate::context::Context;
use crate::knowledge::{L4tVersion, ReleaseInfo};
use crate::probes::{Identity, Software};
use crate::redact;

use super::wheels::{tags::Target, IndexSpec};
use super::zed::{self, ZedChoice, ZedError};

/// The user's overrides for a wheel run; `None` means "from the device".
#[derive(Debug, Clone, Default)]
pub struct WheelRequest {
    /// `3.10`.
    pub python: Option<String>,
    /// `linux_aarch64`.
    pub platform: Option<String>,
    /// `2.35`.
    pub glibc: Option<String>,
    /// Another L4T release than the device's: its JetPack's Python, Ubuntu and index are used
    /// instead of the device's own facts.
    pub l4t: Option<L4tVersion>,
    /// Index URLs that replace the table's (any wheel is taken from them).
    pub indexes: Vec<String>,
}

/// The user's overrides for the ZED SDK; `None` means "from the device".
#[derive(Debug, Clone, Default)]
pub struct ZedRequest {
    /// `5.0` or `5.0.2`.
    pub version: Option<String>,
    pub l4t: Option<L4tVersion>,
    /// The x86_64 desktop installer instead of the Jetson one.
    pub x86: bool,
    pub cuda_major: Option<String>,
    pub ubuntu_major: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum DeviceError {
    #[error("{what} `{value}` is not MAJOR.MINOR")]
    NotMajorMinor { what: &'static str, value: String },
    #[error("cannot tell the target Python: pass --python 3.10 (or --l4t X.Y)")]
    NoPython,
    #[error("cannot tell this machine's JetPack (no L4T release found): pass --l4t 36.4, or --index URL")]
    NoJetpack,
    #[error("JetPack {0} has no wheel index in the tables: pass --index URL")]
    NoIndexForJetpack(String),
    #[error("wheel index `{0}` is not in the tables (checks/wheel_indexes.toml): add a [[wheel_index]] row or pass --index URL")]
    UnknownIndex(String),
    #[error("--index `{url}` is not a URL ({why}): pass http://host/simple/ or https://...")]
    BadIndexUrl { url: String, why: String },
    #[error("cannot tell this machine's CUDA ({0}): pass --cuda-major 12")]
    NoCuda(String),
    #[error("cannot tell this machine's Ubuntu release: pass --ubuntu-major 22")]
    NoUbuntu,
    #[error("cannot tell the L4T release of this machine ({0}): pass --l4t 36.4 (or --x86 on a desktop)")]
    NoL4t(String),
    #[error(transparent)]
    Zed(#[from] ZedError),
}

/// `36.4` -> L4T 36.4 (for `--l4t`).
pub fn parse_l4t(s: &str) -> Option<L4tVersion> {
    L4tVersion::parse(s)
}

/// The L4T to work for: the one asked for, else the device's.
pub fn l4t_of(ctx: &Context, asked: Option<&L4tVersion>) -> Option<L4tVersion> {
    asked.cloned().or_else(|| ctx.get::<Identity>().l4t.value().cloned())
}

fn release_of<'k>(ctx: &'k Context, want_l4t: Option<&L4tVersion>) -> Option<ReleaseInfo<'k>> {
    let l4t = l4t_of(ctx, want_l4t)?;
    ctx.knowledge.release(&l4t)
}

/// `3.10` -> (3, 10).
pub fn parse_pair(s: &str, what: &'static str) -> Result<(u32, u32), DeviceError> {
    let mut it = s.trim().split('.');
    let pair = (|| Some((it.next()?.parse().ok()?, it.next()?.parse().ok()?)))();
    pair.ok_or_else(|| DeviceError::NotMajorMinor { what, value: s.to_string() })
}

/// The interpreter and platform to choose wheels for. A device's own facts (its
/// `/usr/bin/python3`, its dpkg architecture, its Ubuntu) win over its JetPack's defaults, unless
/// another L4T is asked for: then the JetPack's defaults describe that other system.
pub fn wheel_target(ctx: &Context, want: &WheelRequest) -> Result<Target, DeviceError> {
    let family = release_of(ctx, want.l4t.as_ref()).map(|r| r.family);
    let from_device = want.l4t.is_none();
    let sw = ctx.get::<Software>();
    let id = ctx.get::<Identity>();

    let python = match (&want.python, from_device.then(|| sw.python.value()).flatten(), family) {
        (Some(p), _, _) => parse_pair(p, "--python")?,
        (None, Some(p), _) => parse_pair(p, "python")?,
        (None, None, Some(f)) => parse_pair(&f.python, "python")?,
        (None, None, None) => return Err(DeviceError::NoPython),
    };
    let platform = match (&want.platform, from_device.then(|| id.arch.clone()).flatten()) {
        (Some(p), _) => p.clone(),
        (None, Some(arch)) if arch == "amd64" => "linux_x86_64".to_string(),
        _ => "linux_aarch64".to_string(),
    };
    let ubuntu =
        from_device.then(|| sw.ubuntu.value().cloned()).flatten().or(family.map(|f| f.ubuntu.clone()));
    let glibc = match (&want.glibc, &ubuntu) {
        (Some(v), _) => Some(parse_pair(v, "--glibc")?),
        (None, Some(u)) => Target::glibc_of(u, &ctx.knowledge.glibc),
        (None, None) => None,
    };
    Ok(Target { python, platform, glibc })
}

/// The indexes to resolve on, in order: the `--index` URLs when given (any wheel), else the
/// JetPack family's index from `checks/wheel_indexes.toml` with its mirrors, then PyPI for
/// pure-Python wheels only (PyPI's aarch64 torch is a CPU build).
///
/// An index's `name` is what output shows: for a URL given by the user it is the URL with any
/// password or token masked; `urls` keep the credentials for the requests.
pub fn wheel_indexes(ctx: &Context, want: &WheelRequest) -> Result<Vec<IndexSpec>, DeviceError> {
    if !want.indexes.is_empty() {
        return want
            .indexes
            .iter()
            .map(|u| {
                let parsed = reqwest::Url::parse(u)
                    .map_err(|e| DeviceError::BadIndexUrl { url: redact::url(u), why: e.to_string() })?;
                if !matches!(parsed.scheme(), "http" | "https") {
                    return Err(DeviceError::BadIndexUrl {
                        url: redact::url(u),
                        why: format!("scheme {} is not http or https", parsed.scheme()),
                    });
                }
                Ok(IndexSpec { name: redact::url(u), urls: vec![u.clone()], pure_only: false })
            })
            .collect();
    }
    let fam = release_of(ctx, want.l4t.as_ref()).map(|r| r.family).ok_or(DeviceError::NoJetpack)?;
    let name = fam.wheel_index.as_ref().ok_or_else(|| DeviceError::NoIndexForJetpack(fam.jetpack.clone()))?;
    let main = ctx.knowledge.wheel_index(name).ok_or_else(|| DeviceError::UnknownIndex(name.clone()))?;
    let mut v =
        vec![IndexSpec { name: main.name.clone(), urls: main.urls.clone(), pure_only: main.pure_only }];
    if let Some(p) = ctx.knowledge.wheel_index("pypi") {
        v.push(IndexSpec { name: p.name.clone(), urls: p.urls.clone(), pure_only: p.pure_only });
    }
    Ok(v)
}

/// The ZED SDK installer for the device (its L4T; on x86 its CUDA and Ubuntu majors), or for
/// what the request names instead.
pub fn zed_choice(ctx: &Context, want: &ZedRequest) -> Result<ZedChoice, DeviceError> {
    if want.x86 {
        let sw = ctx.get::<Software>();
        let cuda = match (&want.cuda_major, sw.cuda.value()) {
            (Some(c), _) => c.clone(),
            (None, Some(v)) => v.split('.').next().unwrap_or("").to_string(),
            (None, None) => return Err(DeviceError::NoCuda(sw.cuda.source().to_string())),
        };
        let ubuntu = match (&want.ubuntu_major, sw.ubuntu.value()) {
            (Some(u), _) => u.clone(),
            (None, Some(v)) => v.split('.').next().unwrap_or("").to_string(),
            (None, None) => return Err(DeviceError::NoUbuntu),
        };
        return Ok(zed::for_x86(&ctx.knowledge, &cuda, &ubuntu, want.version.as_deref())?);
    }
    let Some(l4t) = l4t_of(ctx, want.l4t.as_ref()) else {
        return Err(DeviceError::NoL4t(ctx.get::<Identity>().l4t.source().to_string()));
    };
    Ok(zed::for_jetson(&ctx.knowledge, l4t.major, l4t.minor, want.version.as_deref())?)
}
