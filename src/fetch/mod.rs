//! Downloads users can trust: a content-addressed cache, HTTP Range resume, retries with backoff,
//! mirror fallback, sha256 verification and files that appear only complete. On top of the
//! engine: the ZED SDK resolver (`zed`) and the wheel resolver (`wheels`).
//!
//! Core code never prints: progress goes through [`Reporter`], implemented by the command layer.
//! What to fetch for a device (wheel target, indexes, ZED installer) is decided in [`device`],
//! which `fetch` and `provision` share.
//!
//! Bounds (issue 10): every body read into memory is capped ([`Limits`]); a download stops at
//! the size first declared or known, at `--max-time`, and when slower than the minimum rate;
//! a resume is complete only at exactly the length first declared. URLs in output are redacted
//! ([`redact`]).

pub mod body;
pub mod cache;
pub mod device;
pub mod engine;
pub mod wheels;
pub mod zed;

use std::time::Duration;

pub use cache::Cache;
pub use engine::{Artifact, Fetched, Fetcher, Limits, Options};

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
    #[error("--max-time {secs} s reached while downloading {name} from {url} ({bytes} bytes so far)\n  raise --max-time, or run again: a file of known length resumes where it stopped")]
    Deadline { name: String, url: String, secs: u64, bytes: u64 },
    #[error("--offline: {name} is not in the cache ({cache})\n  run the same command without --offline to download it")]
    NotCached { name: String, cache: String },
    #[error("{path}: {source}\n  the cache directory must be writable: check its permissions and free space, or pass --cache-dir")]
    Io { path: String, source: std::io::Error },
    #[error("{path}: {source}\n  check that the output directory (-o) exists, is writable and has room")]
    Place { path: String, source: std::io::Error },
    #[error("{path}: {needed} bytes needed but {free} bytes free for {url}\n  free some space or pass --cache-dir on a larger filesystem")]
    NoSpace { path: String, url: String, needed: u64, free: u64 },
    #[error("cannot start the HTTP client: {0}")]
    Client(String),
}

impl FetchError {
    pub(crate) fn io(path: &std::path::Path, source: std::io::Error) -> FetchError {
        FetchError::Io { path: path.display().to_string(), source }
    }
    pub(crate) fn place(path: &std::path::Path, source: std::io::Error) -> FetchError {
        FetchError::Place { path: path.display().to_string(), source }
    }
}

/// Normalises a sha256 given by a user or an index (`sha256:ABC..`, upper case) to lower hex.
pub fn normalize_sha256(s: &str) -> Option<String> {
    let h = s.trim().trim_start_matches("sha256:").trim_start_matches("sha256=").to_ascii_lowercase();
    (h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit())).then_some(h)
}
