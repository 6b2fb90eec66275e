//! The download engine: one artifact = a list of mirror URLs and, when known, its sha256.

use reqwest::blocking::{Client, Response};
use reqwest::header::{
    CONTENT_DISPOSITION, CONTENT_LENGTH, CONTENT_RANGE, ETAG, IF_RANGE, LAST_MODIFIED, RANGE,
};
use reqwest::StatusCode;
use sha2::{Digest, Sha256};
use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use super::cache::{hex_sha256, read_json, write_json_atomic, Cache, UrlRecord};
use super::{FetchError, Finish, Reporter};

#[derive(Debug, Clone)]
pub struct Options {
    pub cache_dir: PathBuf,
    /// Serve from the cache only.
    pub offline: bool,
    /// Extra attempts per URL after the first one, on connect errors, timeouts, 5xx, 408 and 429.
    pub retries: u32,
    pub backoff_base: Duration,
    pub backoff_max: Duration,
    /// No retry starts once this much time has passed for one artifact (every mirror still gets
    /// its first attempt).
    pub total: Duration,
    pub connect_timeout: Duration,
    /// Longest silence while reading headers or body.
    pub read_timeout: Duration,
    /// Parallel downloads at most.
    pub jobs: usize,
}

impl Options {
    pub fn new(cache_dir: PathBuf) -> Options {
        Options {
            cache_dir,
            offline: false,
            retries: 4,
            backoff_base: Duration::from_millis(500),
            backoff_max: Duration::from_secs(20),
            total: Duration::from_secs(600),
            connect_timeout: Duration::from_secs(10),
            read_timeout: Duration::from_secs(30),
            jobs: 4,
        }
    }
}

/// What to download: mirrors in order of preference, and the hash when one is published.
#[derive(Debug, Clone)]
pub struct Artifact {
    /// Shown in progress and errors (a wheel's file name, `ZED SDK 5.0 for L4T 36.4`).
    pub name: String,
    pub urls: Vec<String>,
    pub sha256: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Fetched {
    pub name: String,
    /// The verified file in the cache.
    pub path: PathBuf,
    pub sha256: String,
    pub size: u64,
    /// The mirror URL that served it (before redirects).
    pub url: String,
    /// After redirects.
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
    client: Client,
    pub cache: Cache,
    pub opts: Options,
}

/// Why one attempt at one URL failed, and what to do about it.
enum AttemptError {
    /// Worth retrying the same URL (network, 5xx, short body).
    Retry(String),
    /// Move to the next mirror (404, 403, ...).
    NextMirror(String),
    Mismatch(FetchError),
    /// Our own failure (disk): stop.
    Local(FetchError),
}

const BUF: usize = 256 * 1024;

impl Fetcher {
    pub fn new(opts: Options) -> Result<Fetcher, FetchError> {
        let client = Client::builder()
            .user_agent(concat!("jetdoc/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(opts.connect_timeout)
            .timeout(opts.read_timeout)
            .redirect(reqwest::redirect::Policy::limited(10))
            .build()
            .map_err(|e| FetchError::Client(e.to_string()))?;
        Ok(Fetcher { client, cache: Cache::new(opts.cache_dir.clone()), opts })
    }

    /// The HTTP client, for small requests such as index pages.
    pub fn client(&self) -> &Client {
        &self.client
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
            None => hex_sha256(a.urls.first().map(String::as_str).unwrap_or("").as_bytes()),
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
        let deadline = Instant::now() + self.opts.total;
        let mut failures = Vec::new();
        let mut mismatches = Vec::new();
        for url in &a.urls {
            let mut attempt = 0u32;
            loop {
                match self.attempt(id, url, a, &key, rep) {
                    Ok(f) => return Ok(f),
                    Err(AttemptError::Local(e)) => return Err(e),
                    Err(AttemptError::Mismatch(e)) => {
                        failures.push(e.to_string());
                        mismatches.push(e);
                        break;
                    }
                    Err(AttemptError::NextMirror(why)) => {
                        failures.push(format!("{url}: {why}"));
                        break;
                    }
                    Err(AttemptError::Retry(why)) => {
                        let wait = backoff(self.opts.backoff_base, self.opts.backoff_max, attempt);
                        attempt += 1;
                        if attempt > self.opts.retries || Instant::now() + wait > deadline {
                            failures.push(format!("{url}: {why} (after {attempt} attempts)"));
                            break;
                        }
                        rep.retrying(id, url, attempt, wait, &why);
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
        rep: &dyn Reporter,
    ) -> Result<Fetched, AttemptError> {
        let part = self.cache.partial(key);
        let meta_path = self.cache.partial_meta(key);
        let local = |p: &std::path::Path| {
            let p = p.to_path_buf();
            move |e: std::io::Error| AttemptError::Local(FetchError::io(&p, e))
        };

        // A partial file is resumed only from the same URL and with a validator, so that the
        // server can tell us (If-Range) when the file changed under it.
        let meta: Option<UrlRecord> = read_json(&meta_path).filter(|m: &UrlRecord| m.url == url);
        let validator = meta
            .as_ref()
            .and_then(|m| m.etag.clone().filter(|e| !e.starts_with("W/")).or(m.last_modified.clone()));
        let mut have = match (&meta, &validator) {
            (Some(_), Some(_)) => std::fs::metadata(&part).map(|m| m.len()).unwrap_or(0),
            _ => 0,
        };
        let mut req = self.client.get(url);
        if have > 0 {
            req = req
                .header(RANGE, format!("bytes={have}-"))
                .header(IF_RANGE, validator.clone().unwrap_or_default());
        }
        let resp = req.send().map_err(|e| classify(&e))?;
        let status = resp.status();
        let total = match status {
            StatusCode::PARTIAL_CONTENT if have > 0 => match content_range(&resp) {
                Some((start, total)) if start == have => total,
                _ => {
                    // A range we did not ask for: start over rather than splice.
                    discard(&part, &meta_path);
                    return Err(AttemptError::Retry(
                        "server answered an unexpected range; restarting".into(),
                    ));
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
            s if s.is_server_error()
                || s == StatusCode::REQUEST_TIMEOUT
                || s == StatusCode::TOO_MANY_REQUESTS =>
            {
                return Err(AttemptError::Retry(format!("HTTP {s}")));
            }
            s => return Err(AttemptError::NextMirror(format!("HTTP {s}"))),
        };

        let final_url = resp.url().to_string();
        let file_name = file_name_of(&resp).unwrap_or_else(|| a.name.clone());
        let record = UrlRecord {
            url: url.to_string(),
            final_url: final_url.clone(),
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
            OpenOptions::new().append(true).open(&part).map_err(local(&part))?
        } else {
            File::create(&part).map_err(local(&part))?
        };

        rep.started(id, &a.name, total, have);
        let transferred =
            stream(resp, &mut file, &mut hasher, |n| rep.progress(id, n)).map_err(|(n, e)| {
                let _ = file.flush();
                AttemptError::Retry(format!("connection lost after {} bytes: {e}", have + n))
            })?;
        let size = have + transferred;
        if let Some(t) = total {
            if size != t {
                return Err(AttemptError::Retry(format!("body ended at {size} of {t} bytes")));
            }
        }
        file.sync_all().map_err(local(&part))?;
        drop(file);

        let actual = hex::encode(hasher.finalize());
        if let Some(expected) = &a.sha256 {
            if *expected != actual {
                discard(&part, &meta_path);
                return Err(AttemptError::Mismatch(FetchError::HashMismatch {
                    url: url.to_string(),
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
            url: url.to_string(),
            final_url,
            file_name: record.file_name,
            etag: record.etag,
            last_modified: record.last_modified,
            transferred,
            cached: false,
        })
    }
}

/// Copies the body to the file while hashing. Hashing runs on a second thread so that it
/// overlaps the network and the disk (sha256 is the slowest part on a fast link).
fn stream(
    mut resp: Response,
    file: &mut File,
    hasher: &mut Sha256,
    progress: impl Fn(u64),
) -> Result<u64, (u64, std::io::Error)> {
    let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<u8>>(8);
    let (back_tx, back_rx) = std::sync::mpsc::channel::<Vec<u8>>();
    let taken = std::mem::take(hasher);
    std::thread::scope(|s| {
        let h = s.spawn(move || {
            let mut hasher = taken;
            for chunk in rx {
                hasher.update(&chunk);
                let _ = back_tx.send(chunk);
            }
            hasher
        });
        let mut n = 0u64;
        let result = loop {
            let mut buf = back_rx.try_recv().unwrap_or_else(|_| vec![0u8; BUF]);
            buf.resize(BUF, 0);
            let (read, read_error) = read_full(&mut resp, &mut buf);
            if read == 0 {
                break match read_error {
                    Some(e) => Err((n, e)),
                    None => Ok(n),
                };
            }
            buf.truncate(read);
            if let Err(e) = file.write_all(&buf) {
                break Err((n, e));
            }
            n += read as u64;
            progress(read as u64);
            if tx.send(buf).is_err() {
                break Err((n, std::io::Error::other("hasher stopped")));
            }
            if let Some(e) = read_error {
                break Err((n, e));
            }
        };
        drop(tx);
        *hasher = h.join().expect("hasher thread");
        result
    })
}

/// Fills `buf` as far as the body allows (fewer, larger writes and hash updates). An error after
/// some bytes is returned with them, so that they are kept for the resume.
fn read_full(r: &mut impl Read, buf: &mut [u8]) -> (usize, Option<std::io::Error>) {
    let mut filled = 0;
    while filled < buf.len() {
        match r.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return (filled, Some(e)),
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
        (Some(h), Some(u)) => format!("{} ({u}, sha256 {h})", a.name),
        (None, Some(u)) => format!("{} ({u})", a.name),
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

fn classify(e: &reqwest::Error) -> AttemptError {
    let mut msg = e.to_string();
    let mut src = std::error::Error::source(e);
    while let Some(s) = src {
        msg.push_str(": ");
        msg.push_str(&s.to_string());
        src = s.source();
    }
    if e.is_builder() || e.is_redirect() {
        AttemptError::NextMirror(msg)
    } else {
        AttemptError::Retry(msg)
    }
}

fn header_str(resp: &Response, name: reqwest::header::HeaderName) -> Option<String> {
    resp.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_string)
}

fn header_u64(resp: &Response, name: reqwest::header::HeaderName) -> Option<u64> {
    header_str(resp, name).and_then(|v| v.trim().parse().ok())
}

/// `Content-Range: bytes START-END/TOTAL` -> (START, TOTAL).
fn content_range(resp: &Response) -> Option<(u64, Option<u64>)> {
    let v = header_str(resp, CONTENT_RANGE)?;
    let rest = v.trim().strip_prefix("bytes ")?;
    let (range, total) = rest.split_once('/')?;
    let start = range.split_once('-')?.0.trim().parse().ok()?;
    Some((start, total.trim().parse().ok()))
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

/// A server-given name as a plain file name: the last path component, never `.`, `..` or
/// hidden, so that it cannot place a file outside the output directory.
pub fn safe_file_name(name: &str) -> Option<String> {
    let last = name.rsplit(['/', '\\']).next().unwrap_or("").trim();
    (!last.is_empty() && !last.starts_with('.') && !last.contains('\0')).then(|| last.to_string())
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let Ok(b) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
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
    }
}
