//! Wheels for the target: resolve requirements on the JetPack/CUDA index (then PyPI for
//! pure-Python wheels), plan, download, and write a hash-pinned lock file.
//!
//! - `resolve`: the resolver (index pages, the choice of a file, dependencies level by level);
//! - `metadata`: `Requires-Dist` from PEP 658 files or from the wheel, read within caps;
//! - `lock`: the download into the wheelhouse and the lock file;
//! - `index`, `requirements`, `tags`: the formats (PEP 503/691, requirements.txt, PEP 425/427).
//!
//! Resolution is greedy and breadth-first: top-level requirements first (nothing is downloaded
//! before their plan is known), then their `Requires-Dist` dependencies, read from PEP 658
//! metadata files when the index serves them, else from the wheel itself. A version once chosen
//! is kept; a later requirement it does not satisfy is reported as a conflict, not backtracked.

pub mod index;
pub mod lock;
pub mod metadata;
pub mod requirements;
pub mod resolve;
pub mod tags;

use pep508_rs::{MarkerEnvironment, MarkerEnvironmentBuilder};
use serde::Serialize;

use tags::Target;

pub use lock::{download, lock_file, lock_path, Pinned};
pub use metadata::{requires_dist, wheel_metadata};
pub use resolve::Resolver;

/// One index with its mirrors, in order.
#[derive(Debug, Clone, Serialize)]
pub struct IndexSpec {
    /// What output shows (a table row's name, or the URL given, credentials masked).
    #[serde(serialize_with = "crate::redact::serialize_url")]
    pub name: String,
    /// With credentials, for the requests; masked when serialized.
    #[serde(serialize_with = "crate::redact::serialize_urls")]
    pub urls: Vec<String>,
    /// Only wheels that need no compiler and no CUDA (`py3-none-any`) are taken from it (PyPI:
    /// its aarch64 torch is a CPU build).
    pub pure_only: bool,
}

#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Choice {
    Wheel {
        filename: String,
        version: String,
        /// With credentials when the index has them; masked when serialized.
        #[serde(serialize_with = "crate::redact::serialize_url")]
        url: String,
        sha256: Option<String>,
        /// Bytes, when the index tells (PEP 700): the download may not be larger.
        #[serde(skip_serializing_if = "Option::is_none")]
        size: Option<u64>,
        index: String,
    },
    /// No wheel for the target: pip would build this from source.
    Source { version: Option<String>, why: String },
    /// Not on any index at all, or no version matches.
    Missing { why: String },
    /// A direct URL or the like: pip handles it.
    LeftToPip { why: String },
}

#[derive(Debug, Clone, Serialize)]
pub struct PlanItem {
    pub name: String,
    pub requirement: String,
    /// The package that needs it; `None` for a line of the requirements file.
    pub required_by: Option<String>,
    #[serde(flatten)]
    pub choice: Choice,
}

impl PlanItem {
    pub fn builds_from_source(&self) -> bool {
        matches!(self.choice, Choice::Source { .. } | Choice::Missing { .. })
    }
}

#[derive(Debug, Default, Serialize)]
pub struct Plan {
    pub items: Vec<PlanItem>,
    /// Dead indexes, version conflicts, ignored options.
    pub warnings: Vec<String>,
    /// Every index failed for every project asked: "not found" then means "not reachable".
    #[serde(skip)]
    pub no_index_answered: bool,
}

impl Plan {
    pub fn wheels(&self) -> impl Iterator<Item = &PlanItem> {
        self.items.iter().filter(|i| matches!(i.choice, Choice::Wheel { .. }))
    }
    pub fn from_source(&self) -> impl Iterator<Item = &PlanItem> {
        self.items.iter().filter(|i| i.builds_from_source())
    }
    pub fn missing(&self) -> impl Iterator<Item = &PlanItem> {
        self.items.iter().filter(|i| matches!(i.choice, Choice::Missing { .. }))
    }
}

/// PEP 508 marker values for a Linux CPython target.
pub fn marker_env(t: &Target) -> MarkerEnvironment {
    let v = format!("{}.{}", t.python.0, t.python.1);
    let full = format!("{v}.0");
    MarkerEnvironment::try_from(MarkerEnvironmentBuilder {
        implementation_name: "cpython",
        implementation_version: &full,
        os_name: "posix",
        platform_machine: t.arch(),
        platform_python_implementation: "CPython",
        platform_release: "",
        platform_system: "Linux",
        platform_version: "",
        python_full_version: &full,
        python_version: &v,
        sys_platform: "linux",
    })
    .expect("numeric python version")
}

#[derive(Debug, thiserror::Error)]
pub enum WheelsError {
    #[error(transparent)]
    Requirements(#[from] requirements::RequirementsError),
    #[error(transparent)]
    Fetch(#[from] super::FetchError),
    #[error("{0}")]
    Other(String),
}
