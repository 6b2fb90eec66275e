//! The download engine: one artifact = a list of mirror URLs and, when known, its sha256 and size.
//!
//! Every transfer is bounded: it ends at the length the server first declared (or the size a
//! table, lock or index knows), at the `--max-time` deadline, and when it is slower than the
//! minimum rate for `speed_time` (as curl's `--speed-limit`/`--speed-time`). A file is complete
//! only when its length equals the length first declared; only then is it hashed, fsynced and
//! renamed into the cache.

use crate::redact;
use reqwest::blocking::{Client, Response};
use reqwest::header::{
    CONTENT_DISPOSITION, CONTENT_LENGTH, CONTENT_RANGE, ETAG, IF_RANGE, LAST_MODIFIED, LOCATION, RANGE,
};
use reqwest::StatusCode;
use sha2::{Digest, Sha256};
use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use super::body::human_bytes;
use super::cache::{read_json, url_key, write_json_atomic, Cache, UrlRecord};
use super::{FetchError, Finish, Reporter};

/// Caps on bodies read into memory.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// A simple-repository project page (PyPI's largest are a few MiB).
    pub index_page: u64,
    /// A PEP 658 `.metadata` file (the whole file is hashed, so it is downloaded whole).
    pub metadata_file: u64,
    /// The header block of core metadata (what `Requires-Dist` needs), from a `.metadata` file or
    /// a wheel's `METADATA`.
    pub metadata_header: usize,
    /// Files one index page may list.
    pub index_files: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            index_page: 64 << 20,
            metadata_file: 16 << 20,
            metadata_header: 1 << 20,
            index_files: 200_000,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Options {
    pub cache_dir: PathBuf,
    /// Serve from the cache only.
    pub offline: bool,
    /// Extra attempts per URL after the first one, on connect errors, timeouts, 5xx, 408 and 429.
    pub retries: u32,
    pub backoff_base: Duration,
    pub backoff_max: Duration,
    /// A deadline for each artifact, retries and mirrors included: a running transfer stops
    /// there. `None`: no deadline (the minimum rate and the read timeout end stalled transfers).
    pub max_time: Option<Duration>,
    pub connect_timeout: Duration,
    /// Longest silence while reading headers or body.
    pub read_timeout: Duration,
    /// A transfer slower than `speed_limit` bytes/s over `speed_time` is abandoned (and
    /// retried); 0 turns the rule off.
    pub speed_limit: u64,
    pub speed_time: Duration,
    /// Parallel downloads at most.
    pub jobs: usize,
    pub limits: Limits,
}

impl Options {
    pub fn new(cache_dir: PathBuf) -> Options {
        Options {
            cache_dir,
            offline: false,
            retries: 4,
            backoff_base: Duration::from_millis(500),
            backoff_max: Duration::from_secs(20),
            max_time: None,
            connect_timeout: Duration::from_secs(10),
            read_timeout: Duration::from_secs(30),
            speed_limit: 1024,
            speed_time: Duration::from_secs(30),
            jobs: 4,
            limits: Limits::default(),
        }
    }
}

/// What to download: mirrors in order of preference, and the hash and size when known.
#[derive(Debug, Clone, Default)]
pub struct Artifact {
    /// Shown in progress and errors (a wheel's file name, `ZED SDK 5.0 for L4T 36.4`).
    pub name: String,
    pub urls: Vec<String>,
    pub sha256: Option<String>,
    /// The exact size when a lock, a table or the index tells it: a server declaring another
    /// length is refused, and no more than this is written.
    pub size: Option<u64>,
    /// At most this many bytes, whatever the server declares (a `.metadata` file).
    pub max_size: Option<u64>,
}

impl Artifact {
    pub fn new(name: impl Into<String>, url: impl Into<String>, sha256: Option<String>) -> Artifact {
        Artifact { name: name.into(), urls: vec![url.into()], sha256, ..Artifact::default() }
    }
}

#[derive(Debug, Clone)]
pub struct Fetched {
    pub name: String,
    /// The verified file in the cache.
    pub path: PathBuf,
    pub sha256: String,
    pub size: u64,
    /// The mirror URL that served it (before redirects), without credentials.
    pub url: String,
    /// After redirects, without credentials.
    pub final_url: String,
    /// From `Content-Disposition` or the final URL's last segment.
    pub file_name: String,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    /// Bytes that came over the network in this run.
    pub transferred: u64,
    pub cached: bool,
}

pub struct Fetcher {
    /// Built on first use: a run served from the cache never reads the certificate store.
    client: OnceLock<Result<Client, String>>,
    pub cache: Cache,
    pub opts: Options,
}

/// Why one attempt at one URL failed, and what to do about it.
enum AttemptError {
    /// Worth retrying the same URL (network, 5xx, short body).
    Retry(String),
    /// Move to the next mirror (404, 403, a certificate not trusted, ...).
    NextMirror(String),
    Mismatch(FetchError),
    /// Stop this artifact: our own failure (disk), or the deadline.
    Local(FetchError),
}

/// Read size: large enough that a 1 GB file is a few thousand writes and hash updates, small
/// enough that a buffer is still in the CPU's cache (L2) when it is written and hashed.
const BUF: usize = 256 << 10;
/// Buffers in flight between the reader and the hashing thread (peak memory: BUF * (this + 1)).
const IN_FLIGHT: usize = 8;
/// How often the writeback of what was written is started (see `stream`).
const WRITEBACK_EVERY: u64 = 32 << 20;

impl Fetcher {
    pub fn new(opts: Options) -> Result<Fetcher, FetchError> {
        Ok(Fetcher { client: OnceLock::new(), cache: Cache::new(opts.cache_dir.clone()), opts })
    }

    fn build_client(opts: &Options) -> Result<Client, String> {
        Client::builder()
            .user_agent(concat!("jetdoc/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(opts.connect_timeout)
            .timeout(opts.read_timeout)
            .redirect(reqwest::redirect::Policy::limited(10))
            .build()
            .map_err(|e| error_chain(&e))
    }

    /// The HTTP client, for small requests such as index pages.
    pub fn client(&self) -> Result<&Client, FetchError> {
        self.client
            .get_or_init(|| Fetcher::build_client(&self.opts))
            .as_ref()
            .map_err(|e| FetchError::Client(e.clone()))
    }

    /// Downloads (or finds in the cache) every artifact, `opts.jobs` at a time. Results are in
    /// the order of `artifacts`.
    pub fn fetch_all(&self, artifacts: &[Artifact], rep: &dyn Reporter) -> Vec<Result<Fetched, FetchError>> {
        let next = AtomicUsize::new(0);
        let results: Vec<std::sync::Mutex<Option<Result<Fetched, FetchError>>>> =
            artifacts.iter().map(|_| std::sync::Mutex::new(None)).collect();
        let workers = self.opts.jobs.max(1).min(artifacts.len().max(1));
        std::thread::scope(|s| {
            for _ in 0..workers {
                s.spawn(|| loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(a) = artifacts.get(i) else { break };
                    let r = self.fetch(i, a, rep);
                    *results[i].lock().unwrap() = Some(r);
                });
            }
        });
        results.into_iter().map(|m| m.into_inner().unwrap().expect("every artifact was fetched")).collect()
    }

    /// Looks an artifact up in the cache without any network access.
    pub fn lookup(&self, a: &Artifact) -> Option<Fetched> {
        let from_record = |rec: &UrlRecord, sha: &str| Fetched {
            name: a.name.clone(),
            path: self.cache.blob(sha),
            sha256: sha.to_string(),
            size: rec.size.unwrap_or(0),
            url: rec.url.clone(),
            final_url: rec.final_url.clone(),
            file_name: rec.file_name.clone(),
            etag: rec.etag.clone(),
            last_modified: rec.last_modified.clone(),
            transferred: 0,
            cached: true,
        };
        if let Some(sha) = &a.sha256 {
            if !self.cache.has_blob(sha) {
                return None;
            }
            let rec = a.urls.iter().find_map(|u| self.cache.url_record(u)).unwrap_or_default();
            let mut f = from_record(&rec, sha);
            f.size = std::fs::metadata(&f.path).map(|m| m.len()).unwrap_or(0);
            if a.size.is_some_and(|s| s != f.size) {
                return None;
            }
            if f.file_name.is_empty() {
                f.file_name = a.name.clone();
            }
            return Some(f);
        }
        // No published hash: what this URL served last time (trust on first use).
        a.urls.iter().find_map(|u| {
            let rec = self.cache.url_record(u)?;
            let sha = rec.sha256.clone()?;
            self.cache.has_blob(&sha).then(|| from_record(&rec, &sha))
        })
    }

    pub fn fetch(&self, id: usize, a: &Artifact, rep: &dyn Reporter) -> Result<Fetched, FetchError> {
        if let Some(hit) = self.lookup(a) {
            rep.finished(id, &a.name, &Finish::Cached);
            return Ok(hit);
        }
        if self.opts.offline {
            let e = FetchError::NotCached { name: describe(a), cache: self.cache.root.display().to_string() };
            rep.finished(id, &a.name, &Finish::Failed(e.to_string()));
            return Err(e);
        }
        let r = self.download(id, a, rep);
        match &r {
            Ok(f) => rep.finished(id, &a.name, &Finish::Downloaded { bytes: f.transferred }),
            Err(e) => rep.finished(id, &a.name, &Finish::Failed(e.to_string())),
        }
        r
    }

    fn download(&self, id: usize, a: &Artifact, rep: &dyn Reporter) -> Result<Fetched, FetchError> {
        self.cache.ensure_dirs()?;
        let key = match &a.sha256 {
            Some(h) => h.clone(),
            None => url_key(a.urls.first().map(String::as_str).unwrap_or("")),
        };
        // Two jetdoc processes fetching the same file (two robots' provisioning on one cache,
        // a parallel CI job) must not write one partial file together: the second waits, then
        // finds the first one's result in the cache.
        let lock_path = self.cache.lock(&key);
        let lock = File::create(&lock_path).map_err(|e| FetchError::io(&lock_path, e))?;
        lock.lock().map_err(|e| FetchError::io(&lock_path, e))?;
        if let Some(hit) = self.lookup(a) {
            return Ok(hit);
        }
        let deadline = self.opts.max_time.map(|d| Instant::now() + d);
        let mut failures = Vec::new();
        let mut mismatches = Vec::new();
        for url in &a.urls {
            let mut attempt = 0u32;
            loop {
                match self.attempt(id, url, a, &key, deadline, rep) {
                    Ok(f) => return Ok(f),
                    Err(AttemptError::Local(e)) => return Err(e),
                    Err(AttemptError::Mismatch(e)) => {
                        failures.push(e.to_string());
                        mismatches.push(e);
                        break;
                    }
                    Err(AttemptError::NextMirror(why)) => {
                        failures.push(format!("{}: {why}", redact::url(url)));
                        break;
                    }
                    Err(AttemptError::Retry(_)) if deadline.is_some_and(|d| Instant::now() >= d) => {
                        return Err(FetchError::Deadline {
                            name: a.name.clone(),
                            url: redact::url(url),
                            secs: self.opts.max_time.unwrap_or_default().as_secs(),
                            bytes: std::fs::metadata(self.cache.partial(&key)).map(|m| m.len()).unwrap_or(0),
                        });
                    }
                    Err(AttemptError::Retry(why)) => {
                        let wait = backoff(self.opts.backoff_base, self.opts.backoff_max, attempt);
                        attempt += 1;
                        if attempt > self.opts.retries || deadline.is_some_and(|d| Instant::now() + wait > d)
                        {
                            failures.push(format!("{}: {why} (after {attempt} attempts)", redact::url(url)));
                            break;
                        }
                        rep.retrying(id, &redact::url(url), attempt, wait, &why);
                        std::thread::sleep(wait);
                    }
                }
            }
        }
        if a.urls.len() == 1 && mismatches.len() == 1 {
            return Err(mismatches.pop().unwrap());
        }
        Err(FetchError::AllFailed {
            name: describe(a),
            attempts: failures,
            mismatch: mismatches.pop().map(Box::new),
        })
    }

    fn attempt(
        &self,
        id: usize,
        url: &str,
        a: &Artifact,
        key: &str,
        deadline: Option<Instant>,
        rep: &dyn Reporter,
    ) -> Result<Fetched, AttemptError> {
        let part = self.cache.partial(key);
        let meta_path = self.cache.partial_meta(key);
        let local = |p: &std::path::Path| {
            let p = p.to_path_buf();
            move |e: std::io::Error| AttemptError::Local(FetchError::io(&p, e))
        };
        let shown = redact::url(url);
        let left = match deadline {
            Some(d) => match d.checked_duration_since(Instant::now()) {
                Some(left) if !left.is_zero() => Some(left),
                _ => return Err(self.deadline_error(a, url, 0)),
            },
            None => None,
        };

        // A partial file is resumed only from the same URL, with a validator, so that the server
        // can tell us (If-Range) when the file changed under it, and with the length it declared
        // first, which the resumed file must reach exactly.
        let stored_url = redact::strip_credentials(url);
        let meta: Option<UrlRecord> = read_json(&meta_path).filter(|m: &UrlRecord| m.url == stored_url);
        let validator = meta
            .as_ref()
            .and_then(|m| m.etag.clone().filter(|e| !e.starts_with("W/")).or(m.last_modified.clone()));
        let declared_first = meta.as_ref().and_then(|m| m.size);
        let mut have = match (&validator, declared_first) {
            (Some(_), Some(total)) => std::fs::metadata(&part).map(|m| m.len()).unwrap_or(0).min(total),
            _ => 0,
        };
        if have > 0 && declared_first == Some(have) {
            // Complete but never verified (a crash between the last write and the rename): a
            // range request from there would be unsatisfiable; start over.
            have = 0;
        }
        // Each read waits at most the client's read timeout; a request's own timeout is reqwest's
        // total deadline for the request and its body: the time left before --max-time.
        let mut req = self.client().map_err(AttemptError::Local)?.get(url);
        if let Some(left) = left {
            req = req.timeout(left);
        }
        if have > 0 {
            req = req
                .header(RANGE, format!("bytes={have}-"))
                .header(IF_RANGE, validator.clone().unwrap_or_default());
        }
        let resp = req.send().map_err(|e| classify(&e, &shown))?;
        let status = resp.status();
        let total = match status {
            StatusCode::PARTIAL_CONTENT if have > 0 => match content_range(&resp) {
                // The rest of the file we started: from where we stopped, to the length first
                // declared (`*` is no length, so the end position must tell it).
                Some((start, end, total))
                    if start == have
                        && end < declared_first.unwrap_or(0)
                        && total.is_none_or(|t| Some(t) == declared_first) =>
                {
                    declared_first
                }
                _ => {
                    // A range we did not ask for, or another length: start over rather than splice.
                    discard(&part, &meta_path);
                    return Err(AttemptError::Retry(format!(
                        "server answered the resume with another range ({}); restarting from zero",
                        header_str(&resp, CONTENT_RANGE).unwrap_or_else(|| "no Content-Range".into())
                    )));
                }
            },
            StatusCode::OK => {
                // Range ignored, or the file changed (If-Range did not match): from zero.
                have = 0;
                header_u64(&resp, CONTENT_LENGTH)
            }
            StatusCode::RANGE_NOT_SATISFIABLE => {
                discard(&part, &meta_path);
                return Err(AttemptError::Retry("416 for the resume range; restarting from zero".into()));
            }
            s if s.is_redirection() => {
                // reqwest follows http(s) redirects; what is left is one it refused.
                let to = header_str(&resp, LOCATION).map(|l| redact::url(&l));
                return Err(AttemptError::NextMirror(match to {
                    Some(to) => format!(
                        "redirect ({}) to {to} not followed: only http and https redirects are followed",
                        s.as_u16()
                    ),
                    None => format!("HTTP {s} without a Location to follow"),
                }));
            }
            s if s.is_server_error()
                || s == StatusCode::REQUEST_TIMEOUT
                || s == StatusCode::TOO_MANY_REQUESTS =>
            {
                return Err(AttemptError::Retry(format!("HTTP {s}")));
            }
            s => return Err(AttemptError::NextMirror(format!("HTTP {s}"))),
        };
        if let (Some(known), Some(t)) = (a.size, total) {
            if known != t {
                discard(&part, &meta_path);
                return Err(AttemptError::NextMirror(format!(
                    "the server declares {t} bytes but {known} bytes are expected (index or lock file)"
                )));
            }
        }
        // What this file may grow to: the length declared, else the size known, else the cap.
        let limit = total.or(a.size).or(a.max_size);
        if let (Some(t), Some(max)) = (total, a.max_size) {
            if t > max {
                return Err(AttemptError::NextMirror(format!(
                    "the server declares {t} bytes, over the cap of {} for this file",
                    human_bytes(max)
                )));
            }
        }
        if let Some(t) = total {
            self.check_space(url, t.saturating_sub(have))?;
        }

        let final_url = resp.url().to_string();
        let file_name = file_name_of(&resp).unwrap_or_else(|| a.name.clone());
        let record = UrlRecord {
            url: stored_url,
            final_url: redact::strip_credentials(&final_url),
            file_name,
            sha256: None,
            size: total,
            etag: header_str(&resp, ETAG),
            last_modified: header_str(&resp, LAST_MODIFIED),
        };
        write_json_atomic(&meta_path, &record).map_err(AttemptError::Local)?;

        let mut hasher = Sha256::new();
        let mut file = if have > 0 {
            // Re-hash what is already there so the final hash covers the whole file.
            let mut f = File::open(&part).map_err(local(&part))?;
            let mut buf = vec![0u8; BUF];
            let mut left = have;
            while left > 0 {
                let n = f.read(&mut buf[..BUF.min(left as usize)]).map_err(local(&part))?;
                if n == 0 {
                    break;
                }
                hasher.update(&buf[..n]);
                left -= n as u64;
            }
            let f = OpenOptions::new().write(true).open(&part).map_err(local(&part))?;
            // Whatever lies past `have` (a torn last write) is not part of the file.
            f.set_len(have).map_err(local(&part))?;
            let mut f = f;
            std::io::Seek::seek(&mut f, std::io::SeekFrom::Start(have)).map_err(local(&part))?;
            f
        } else {
            let f = File::create(&part).map_err(local(&part))?;
            if let Some(t) = total {
                // Reserve the blocks at once: one allocation instead of one per write, and a full
                // disk shows now rather than at the end. KEEP_SIZE: the file's length stays the
                // count of bytes received, which the resume relies on.
                let _ = rustix::fs::fallocate(&f, rustix::fs::FallocateFlags::KEEP_SIZE, 0, t);
            }
            f
        };

        rep.started(id, &a.name, total, have);
        let rules = Rules {
            offset: have,
            limit: limit.map(|l| l.saturating_sub(have)),
            deadline,
            speed_limit: self.opts.speed_limit,
            speed_time: self.opts.speed_time,
        };
        let streamed = stream(resp, &mut file, &mut hasher, &rules, |n| rep.progress(id, n));
        let (transferred, ended) = match streamed {
            Ok(n) => (n, None),
            Err((n, e)) => (n, Some(e)),
        };
        let size = have + transferred;
        let keep = total.is_some();
        let fail = |e: AttemptError| {
            // Only a file of declared length can be resumed: anything else starts over.
            if !keep {
                discard(&part, &meta_path);
            }
            e
        };
        match ended {
            None => {}
            Some(Ended::Deadline) => return Err(fail(self.deadline_error(a, url, size))),
            Some(Ended::TooSlow(why)) => return Err(fail(AttemptError::Retry(why))),
            Some(Ended::TooBig(max)) => {
                discard(&part, &meta_path);
                return Err(AttemptError::NextMirror(format!(
                    "the body goes on past {max} bytes ({}): refused",
                    match (total, a.size) {
                        (Some(_), _) => "the length the server declared",
                        (None, Some(_)) => "the size the index or lock file gives",
                        _ => "jetdoc's cap for this file",
                    }
                )));
            }
            Some(Ended::Read(e)) => {
                return Err(fail(AttemptError::Retry(format!(
                    "connection lost after {size} bytes: {}",
                    redact::text(&io_message(&e))
                ))))
            }
            Some(Ended::Write(e)) => return Err(AttemptError::Local(FetchError::io(&part, e))),
        }
        // Complete only at exactly the length first declared (or known).
        if let Some(t) = total.or(a.size) {
            if size != t {
                return Err(fail(AttemptError::Retry(format!("body ended at {size} of {t} bytes"))));
            }
        }
        file.sync_all().map_err(local(&part))?;
        drop(file);

        let actual = hex::encode(hasher.finalize());
        if let Some(expected) = &a.sha256 {
            if *expected != actual {
                discard(&part, &meta_path);
                return Err(AttemptError::Mismatch(FetchError::HashMismatch {
                    url: shown,
                    expected: expected.clone(),
                    actual,
                }));
            }
        }
        let blob = self.cache.blob(&actual);
        std::fs::rename(&part, &blob).map_err(local(&blob))?;
        let _ = std::fs::remove_file(&meta_path);
        let record = UrlRecord { sha256: Some(actual.clone()), size: Some(size), ..record };
        self.cache.put_url_record(&record).map_err(AttemptError::Local)?;
        Ok(Fetched {
            name: a.name.clone(),
            path: blob,
            sha256: actual,
            size,
            url: record.url,
            final_url: record.final_url,
            file_name: record.file_name,
            etag: record.etag,
            last_modified: record.last_modified,
            transferred,
            cached: false,
        })
    }

    fn deadline_error(&self, a: &Artifact, url: &str, bytes: u64) -> AttemptError {
        AttemptError::Local(FetchError::Deadline {
            name: a.name.clone(),
            url: redact::url(url),
            secs: self.opts.max_time.unwrap_or_default().as_secs(),
            bytes,
        })
    }

    /// Refuses a download that cannot fit in the cache's filesystem before writing a byte.
    fn check_space(&self, url: &str, needed: u64) -> Result<(), AttemptError> {
        let dir = self.cache.root.join("partial");
        if let Ok(st) = rustix::fs::statvfs(&dir) {
            let free = st.f_bavail.saturating_mul(st.f_frsize);
            if needed > free {
                return Err(AttemptError::Local(FetchError::NoSpace {
                    path: dir.display().to_string(),
                    url: redact::url(url),
                    needed,
                    free,
                }));
            }
        }
        Ok(())
    }
}

/// The bounds of one transfer.
struct Rules {
    /// Where in the file this transfer starts (a resume appends).
    offset: u64,
    /// Bytes this transfer may bring at most.
    limit: Option<u64>,
    deadline: Option<Instant>,
    speed_limit: u64,
    speed_time: Duration,
}

/// Why a transfer stopped before the body ended.
enum Ended {
    Read(std::io::Error),
    Write(std::io::Error),
    Deadline,
    TooSlow(String),
    TooBig(u64),
}

/// Copies the body to the file while hashing. The reader thread reads and writes; a second
/// thread hashes the same buffers meanwhile (sha256 is the slowest part on a fast link). The
/// buffers go round between the two: allocated and zeroed once, at most `IN_FLIGHT + 1`.
fn stream(
    mut resp: Response,
    file: &mut File,
    hasher: &mut Sha256,
    rules: &Rules,
    progress: impl Fn(u64),
) -> Result<u64, (u64, Ended)> {
    let (tx, rx) = std::sync::mpsc::sync_channel::<(Vec<u8>, usize)>(IN_FLIGHT);
    let (back_tx, back_rx) = std::sync::mpsc::sync_channel::<Vec<u8>>(IN_FLIGHT + 1);
    let taken = std::mem::take(hasher);
    for _ in 0..=IN_FLIGHT {
        let _ = back_tx.send(vec![0u8; BUF]);
    }
    std::thread::scope(|s| {
        let h = s.spawn(move || {
            let mut hasher = taken;
            for (chunk, len) in rx {
                hasher.update(&chunk[..len]);
                let _ = back_tx.send(chunk);
            }
            hasher
        });
        let mut n = 0u64;
        let mut flushed = 0u64;
        let mut window = (Instant::now(), 0u64);
        let result = loop {
            let Ok(mut buf) = back_rx.recv() else {
                break Err((n, Ended::Write(std::io::Error::other("hasher stopped"))));
            };
            // Never more than the limit allows, plus one byte to see a body that goes on.
            let room = rules.limit.map_or(BUF as u64, |l| (l - n.min(l) + 1).min(BUF as u64)) as usize;
            let (read, read_error) = read_full(&mut resp, &mut buf[..room], rules);
            if read == 0 && read_error.is_none() {
                break Ok(n);
            }
            if let Some(l) = rules.limit {
                if n + read as u64 > l {
                    break Err((n, Ended::TooBig(l)));
                }
            }
            if read > 0 {
                if let Err(e) = file.write_all(&buf[..read]) {
                    break Err((n, Ended::Write(e)));
                }
                n += read as u64;
                progress(read as u64);
                // Start the disk writes now rather than all at the fsync: the writeback of a
                // large file then overlaps the download (POSIX_FADV_DONTNEED starts it and
                // drops clean pages; pages still dirty or under writeback stay).
                if n - flushed >= WRITEBACK_EVERY {
                    let _ = rustix::fs::fadvise(
                        &*file,
                        rules.offset + flushed,
                        std::num::NonZeroU64::new(n - flushed),
                        rustix::fs::Advice::DontNeed,
                    );
                    flushed = n;
                }
                if tx.send((buf, read)).is_err() {
                    break Err((n, Ended::Write(std::io::Error::other("hasher stopped"))));
                }
            }
            if let Some(e) = read_error {
                break Err((n, e));
            }
            if rules.deadline.is_some_and(|d| Instant::now() >= d) {
                break Err((n, Ended::Deadline));
            }
            // The minimum rate, judged over whole windows of `speed_time`.
            if rules.speed_limit > 0 {
                let elapsed = window.0.elapsed();
                if elapsed >= rules.speed_time {
                    let got = n - window.1;
                    let rate = got as f64 / elapsed.as_secs_f64();
                    if rate < rules.speed_limit as f64 {
                        break Err((
                            n,
                            Ended::TooSlow(format!(
                                "too slow: {got} bytes in {:.1} s, under the minimum of {} bytes/s (--speed-limit) over {} s (--speed-time)",
                                elapsed.as_secs_f64(),
                                rules.speed_limit,
                                rules.speed_time.as_secs()
                            )),
                        ));
                    }
                    window = (Instant::now(), n);
                }
            }
        };
        drop(tx);
        *hasher = h.join().expect("hasher thread");
        result
    })
}

/// Fills `buf` as far as the body allows: fewer, larger writes and hash updates. Returns early
/// (with what it has) after a quarter of a second, so that a slow body is judged by the rate
/// rule and the deadline; with the error of a read that failed or timed out, bytes read before
/// it are returned too, so that they are kept for the resume.
fn read_full(r: &mut impl Read, buf: &mut [u8], rules: &Rules) -> (usize, Option<Ended>) {
    let started = Instant::now();
    let mut filled = 0;
    while filled < buf.len() {
        match r.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(k) => filled += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => {
                if rules.deadline.is_some_and(|d| Instant::now() >= d) {
                    return (filled, Some(Ended::Deadline));
                }
                return (filled, Some(Ended::Read(e)));
            }
        }
        // Hand over what we have rather than wait for a full buffer from a slow server.
        if filled > 0 && started.elapsed() >= Duration::from_millis(250) {
            break;
        }
    }
    (filled, None)
}

fn discard(part: &std::path::Path, meta: &std::path::Path) {
    let _ = std::fs::remove_file(part);
    let _ = std::fs::remove_file(meta);
}

fn describe(a: &Artifact) -> String {
    match (&a.sha256, a.urls.first()) {
        (Some(h), Some(u)) => format!("{} ({}, sha256 {h})", a.name, redact::url(u)),
        (None, Some(u)) => format!("{} ({})", a.name, redact::url(u)),
        _ => a.name.clone(),
    }
}

/// Full jitter on an exponential schedule: a random wait in [d/2, d] with d = base * 2^attempt,
/// so that many robots retrying one dead host do not come back in lockstep.
pub fn backoff(base: Duration, max: Duration, attempt: u32) -> Duration {
    let d = base.saturating_mul(1u32 << attempt.min(16)).min(max);
    let half = d / 2;
    half + Duration::from_nanos(fastrand::u64(0..=(d - half).as_nanos() as u64))
}

/// The message of an error and every error under it, joined by `: `.
pub(crate) fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut msg = e.to_string();
    let mut src = e.source();
    while let Some(s) = src {
        let m = s.to_string();
        if !msg.contains(&m) {
            msg.push_str(": ");
            msg.push_str(&m);
        }
        src = s.source();
    }
    msg
}

/// An I/O error from reading a body, with the reqwest/hyper errors it wraps.
pub(crate) fn io_message(e: &std::io::Error) -> String {
    match e.get_ref() {
        Some(inner) => error_chain(inner),
        None => e.to_string(),
    }
}

/// What went wrong with a request, as far as the user can act on it.
#[derive(Debug, Clone, PartialEq)]
pub enum RequestFailure {
    /// Worth trying again (network, timeout).
    Transient(String),
    /// Not worth repeating on this URL: a certificate not trusted, a header too large, a bad URL.
    Permanent(String),
}

impl RequestFailure {
    pub fn message(&self) -> &str {
        match self {
            RequestFailure::Transient(m) | RequestFailure::Permanent(m) => m,
        }
    }
}

/// Sorts a reqwest error into what to do and a message without credentials (`shown` is the URL
/// as output may show it).
pub fn describe_request_error(e: &reqwest::Error, shown: &str) -> RequestFailure {
    let mut src: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = src {
        if let Some(h) = err.downcast_ref::<hyper::Error>() {
            // `is_parse_too_large` needs hyper's server feature; the kind's text is stable.
            if h.is_parse() && h.to_string().contains("too large") {
                return RequestFailure::Permanent(
                    "the response header is too large (over hyper's limit of about 400 KiB): not an HTTP file server, or a broken proxy; not retried".into(),
                );
            }
        }
        let tls = err
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
            .and_then(|inner| inner.downcast_ref::<rustls::Error>())
            .or_else(|| err.downcast_ref::<rustls::Error>());
        if let Some(rustls::Error::InvalidCertificate(cert)) = tls {
            let what = match cert {
                rustls::CertificateError::UnknownIssuer => {
                    "signed by an authority this machine does not trust".to_string()
                }
                other => format!("rejected: {other:?}"),
            };
            return RequestFailure::Permanent(format!(
                "certificate not trusted: the certificate of {shown} is {what}\n    if a private CA or a TLS-inspecting proxy signs it, put that CA in the system store (update-ca-certificates) or set SSL_CERT_FILE=/path/to/ca.pem (or SSL_CERT_DIR)"
            ));
        }
        src = err.source();
    }
    // reqwest's own text names the URL with its credentials: drop it, keep the causes.
    let msg = redact::text(&error_chain(e));
    if msg.contains("invalid peer certificate") {
        // The same, when the rustls error came wrapped in a type the walk above cannot see into.
        return RequestFailure::Permanent(format!(
            "certificate not trusted: the certificate of {shown} was refused ({})\n    if a private CA or a TLS-inspecting proxy signs it, put that CA in the system store (update-ca-certificates) or set SSL_CERT_FILE=/path/to/ca.pem (or SSL_CERT_DIR)",
            msg.rsplit("invalid peer certificate: ").next().unwrap_or("")
        ));
    }
    if e.is_builder() || e.is_redirect() {
        RequestFailure::Permanent(msg)
    } else {
        RequestFailure::Transient(msg)
    }
}

fn classify(e: &reqwest::Error, shown: &str) -> AttemptError {
    match describe_request_error(e, shown) {
        RequestFailure::Transient(m) => AttemptError::Retry(m),
        RequestFailure::Permanent(m) => AttemptError::NextMirror(m),
    }
}

fn header_str(resp: &Response, name: reqwest::header::HeaderName) -> Option<String> {
    resp.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_string)
}

fn header_u64(resp: &Response, name: reqwest::header::HeaderName) -> Option<u64> {
    header_str(resp, name).and_then(|v| v.trim().parse().ok())
}

/// `Content-Range: bytes START-END/TOTAL` -> (START, END, TOTAL); TOTAL `*` is `None`.
fn content_range(resp: &Response) -> Option<(u64, u64, Option<u64>)> {
    parse_content_range(&header_str(resp, CONTENT_RANGE)?)
}

fn parse_content_range(v: &str) -> Option<(u64, u64, Option<u64>)> {
    let rest = v.trim().strip_prefix("bytes ")?;
    let (range, total) = rest.split_once('/')?;
    let (start, end) = range.split_once('-')?;
    let (start, end): (u64, u64) = (start.trim().parse().ok()?, end.trim().parse().ok()?);
    (start <= end).then_some((start, end, total.trim().parse().ok()))
}

fn file_name_of(resp: &Response) -> Option<String> {
    if let Some(cd) = header_str(resp, CONTENT_DISPOSITION) {
        if let Some(i) = cd.find("filename=") {
            if let Some(name) =
                safe_file_name(cd[i + 9..].split(';').next().unwrap_or("").trim().trim_matches('"'))
            {
                return Some(name);
            }
        }
    }
    safe_file_name(&percent_decode(resp.url().path_segments()?.next_back()?))
}

/// Longest file name Linux file systems take (NAME_MAX), in bytes.
pub const NAME_MAX: usize = 255;

/// A server-given name as a plain file name: the last path component, never `.`, `..`, hidden,
/// or longer than a file system takes, so that it cannot place a file outside the output
/// directory nor fail there.
pub fn safe_file_name(name: &str) -> Option<String> {
    let last = name.rsplit(['/', '\\']).next().unwrap_or("").trim();
    (!last.is_empty() && !last.starts_with('.') && !last.contains('\0') && last.len() <= NAME_MAX)
        .then(|| last.to_string())
}

fn percent_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s).decode_utf8_lossy().into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_is_capped_and_jittered() {
        let base = Duration::from_millis(100);
        let max = Duration::from_secs(1);
        for attempt in 0..10 {
            let d = backoff(base, max, attempt);
            let full = (base * (1 << attempt)).min(max);
            assert!(d >= full / 2 && d <= full, "attempt {attempt}: {d:?}");
        }
        let samples: std::collections::HashSet<_> = (0..20).map(|_| backoff(base, max, 3)).collect();
        assert!(samples.len() > 1, "no jitter");
    }

    #[test]
    fn server_file_names_cannot_escape_the_output_directory() {
        assert_eq!(safe_file_name("../../etc/passwd").as_deref(), Some("passwd"));
        assert_eq!(safe_file_name(&percent_decode("..%2F..%2Fx.run")).as_deref(), Some("x.run"));
        assert_eq!(safe_file_name(".."), None);
        assert_eq!(safe_file_name("dir/"), None);
        assert_eq!(
            safe_file_name("ZED_SDK_Tegra_L4T36.4_v5.0.7.zstd.run").as_deref(),
            Some("ZED_SDK_Tegra_L4T36.4_v5.0.7.zstd.run")
        );
    }

    #[test]
    fn percent_decoding_of_file_names() {
        assert_eq!(
            percent_decode("torch-2.5.0a0%2B872d972e41-cp310.whl"),
            "torch-2.5.0a0+872d972e41-cp310.whl"
        );
        assert_eq!(percent_decode("a%2"), "a%2");
        // Multi-byte characters around a `%` must not be sliced in the middle.
        assert_eq!(percent_decode("é%"), "é%");
        assert_eq!(percent_decode("%C3%A9%zz"), "é%zz");
    }

    #[test]
    fn content_ranges() {
        assert_eq!(parse_content_range("bytes 300000-999999/1000000"), Some((300000, 999999, Some(1000000))));
        assert_eq!(parse_content_range("bytes 300000-999999/*"), Some((300000, 999999, None)));
        assert_eq!(parse_content_range("bytes 9-3/10"), None);
        assert_eq!(parse_content_range("bytes */10"), None);
    }

    #[test]
    fn file_names_longer_than_name_max_are_refused() {
        assert_eq!(safe_file_name(&"a".repeat(NAME_MAX)).map(|n| n.len()), Some(NAME_MAX));
        assert_eq!(safe_file_name(&"a".repeat(NAME_MAX + 1)), None);
    }
}
