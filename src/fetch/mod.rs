//! Downloads users can trust: a content-addressed cache, HTTP Range resume, retries with backoff,
//! mirror fallback, sha256 verification and files that appear only complete. On top of the
//! engine: the ZED SDK resolver (`zed`) and the wheel resolver (`wheels`).
//!
//! Core code never prints: progress goes through [`Reporter`], implemented by the command layer.

pub mod cache;
pub mod engine;
pub mod wheels;
pub mod zed;

use std::time::Duration;

pub use cache::Cache;
pub use engine::{Artifact, Fetched, Fetcher, Options};

/// How one artifact ended.
#[derive(Debug, Clone)]
pub enum Finish {
    /// Served from the cache: no byte transferred.
    Cached,
    /// Downloaded; `bytes` counts what came over the network in this run (resumes count only the rest).
    Downloaded {
        bytes: u64,
    },
    Failed(String),
}

/// Progress of the downloads. `id` is the artifact's index in the batch. Implementations must be
/// cheap: `progress` is called for every chunk read.
pub trait Reporter: Sync {
    fn started(&self, _id: usize, _name: &str, _total: Option<u64>, _already: u64) {}
    fn progress(&self, _id: usize, _bytes: u64) {}
    fn retrying(&self, _id: usize, _url: &str, _attempt: u32, _wait: Duration, _why: &str) {}
    fn finished(&self, _id: usize, _name: &str, _how: &Finish) {}
}

/// A reporter that reports nothing (JSON mode, tests).
pub struct Silent;
impl Reporter for Silent {}

#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("sha256 mismatch for {url}\n  expected {expected}\n  actual   {actual}\n  the file was deleted; the index or lock file is stale or the server sent another file: re-resolve, or report it to the host's owner")]
    HashMismatch { url: String, expected: String, actual: String },
    #[error("could not download {name}:\n{}\n  check the network, or add a mirror; interrupted downloads resume on the next run", attempts.iter().map(|a| format!("  - {a}")).collect::<Vec<_>>().join("\n"))]
    AllFailed { name: String, attempts: Vec<String>, mismatch: Option<Box<FetchError>> },
    #[error("--offline: {name} is not in the cache ({cache})\n  run the same command without --offline to download it")]
    NotCached { name: String, cache: String },
    #[error("{path}: {source}\n  check that the directory exists and is writable, or pass --cache-dir")]
    Io { path: String, source: std::io::Error },
    #[error("cannot start the HTTP client: {0}")]
    Client(String),
}

impl FetchError {
    pub(crate) fn io(path: &std::path::Path, source: std::io::Error) -> FetchError {
        FetchError::Io { path: path.display().to_string(), source }
    }
}

/// Normalises a sha256 given by a user or an index (`sha256:ABC..`, upper case) to lower hex.
pub fn normalize_sha256(s: &str) -> Option<String> {
    let h = s.trim().trim_start_matches("sha256:").trim_start_matches("sha256=").to_ascii_lowercase();
    (h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit())).then_some(h)
}
