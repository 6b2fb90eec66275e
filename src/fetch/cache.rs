//! The content-addressed cache.
//!
//! ```text
//! <root>/blobs/sha256/<hex>          complete, verified files, named by their content
//! <root>/partial/<key>               an interrupted download, resumed with HTTP Range
//! <root>/partial/<key>.json          what validates it: URL, ETag, Last-Modified
//! <root>/urls/<sha256 of URL>.json   what a URL served last time (trust on first use for files
//!                                    without a published hash, such as the ZED SDK)
//! <root>/locks/<key>                 held while one process downloads that file
//! ```
//! Blobs are written by rename from `partial/` after fsync, so a blob that exists is complete.
//! URLs are stored without credentials (`redact::strip_credentials`).

use crate::redact;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

use super::FetchError;
use crate::digest::sha256_hex;

#[derive(Debug, Clone)]
pub struct Cache {
    pub root: PathBuf,
}

/// What a URL served: the validators for a resume, and the content's hash once complete.
/// `url` and `final_url` never carry a password or token.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct UrlRecord {
    pub url: String,
    /// After redirects (the ZED `/jetsons` URL ends at a versioned `.run`).
    pub final_url: String,
    pub file_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// The length the server declared first (a resume must end at exactly this length).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_modified: Option<String>,
}

impl Cache {
    pub fn new(root: impl Into<PathBuf>) -> Cache {
        Cache { root: root.into() }
    }

    /// The cache of this process: `/var/cache/jetdoc` when it runs as root (effective uid 0),
    /// else `$XDG_CACHE_HOME/jetdoc` or `~/.cache/jetdoc`. The machine jetdoc runs on, not the
    /// `--root` it inspects, owns the cache.
    pub fn default_root_for_this_process() -> PathBuf {
        let env = |k: &str| std::env::var(k).ok();
        Cache::default_root(
            rustix::process::geteuid().is_root(),
            env("XDG_CACHE_HOME").as_deref(),
            env("HOME").as_deref(),
        )
    }

    /// `$XDG_CACHE_HOME/jetdoc` (or `~/.cache/jetdoc`) for users, `/var/cache/jetdoc` for root.
    pub fn default_root(is_root: bool, xdg_cache_home: Option<&str>, home: Option<&str>) -> PathBuf {
        if is_root {
            return PathBuf::from("/var/cache/jetdoc");
        }
        match (xdg_cache_home.filter(|s| !s.is_empty()), home.filter(|s| !s.is_empty())) {
            (Some(x), _) => Path::new(x).join("jetdoc"),
            (None, Some(h)) => Path::new(h).join(".cache/jetdoc"),
            (None, None) => PathBuf::from("/var/cache/jetdoc"),
        }
    }

    pub fn blob(&self, sha256: &str) -> PathBuf {
        self.root.join("blobs/sha256").join(sha256)
    }

    pub fn has_blob(&self, sha256: &str) -> bool {
        self.blob(sha256).is_file()
    }

    pub fn partial(&self, key: &str) -> PathBuf {
        self.root.join("partial").join(key)
    }

    /// An empty file locked while one process downloads `key` (kept: removing a lock file
    /// someone waits on would let a third process take a new one).
    pub fn lock(&self, key: &str) -> PathBuf {
        self.root.join("locks").join(key)
    }

    pub fn partial_meta(&self, key: &str) -> PathBuf {
        self.root.join("partial").join(format!("{key}.json"))
    }

    fn url_record_path(&self, url: &str) -> PathBuf {
        self.root.join("urls").join(format!("{}.json", url_key(url)))
    }

    /// Where the last index page seen at `url` is kept (for `--offline`).
    pub fn index_page(&self, url: &str) -> PathBuf {
        self.root.join("index").join(format!("{}.json", url_key(url)))
    }

    pub fn url_record(&self, url: &str) -> Option<UrlRecord> {
        read_json(&self.url_record_path(url))
    }

    pub fn put_url_record(&self, rec: &UrlRecord) -> Result<(), FetchError> {
        let rec = UrlRecord {
            url: redact::strip_credentials(&rec.url),
            final_url: redact::strip_credentials(&rec.final_url),
            ..rec.clone()
        };
        write_json_atomic(&self.url_record_path(&rec.url), &rec)
    }

    /// Forgets what a URL served, so the next fetch asks the server again.
    pub fn forget_url(&self, url: &str) {
        let _ = std::fs::remove_file(self.url_record_path(url));
    }

    pub fn ensure_dirs(&self) -> Result<(), FetchError> {
        for d in ["blobs/sha256", "partial", "urls", "locks"] {
            let p = self.root.join(d);
            std::fs::create_dir_all(&p).map_err(|e| FetchError::io(&p, e))?;
        }
        Ok(())
    }
}

/// The cache's name for a URL: the sha256 of the URL without its credentials.
pub fn url_key(url: &str) -> String {
    sha256_hex(redact::strip_credentials(url).as_bytes())
}

pub(crate) fn read_json<T: for<'de> Deserialize<'de>>(path: &Path) -> Option<T> {
    let text = std::fs::read_to_string(path).ok()?;
    serde_json::from_str(&text).ok()
}

pub(crate) fn write_json_atomic<T: Serialize>(path: &Path, value: &T) -> Result<(), FetchError> {
    let text = serde_json::to_string_pretty(value).expect("records serialize");
    write_atomic(path, text.as_bytes())
}

/// Writes a file next to its destination and renames it into place, so readers never see half.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), FetchError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| FetchError::io(dir, e))?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(|e| FetchError::io(dir, e))?;
    std::io::Write::write_all(&mut tmp, bytes).map_err(|e| FetchError::io(path, e))?;
    tmp.persist(path).map_err(|e| FetchError::io(path, e.error))?;
    Ok(())
}

/// Puts a cached blob at `dest` without writing its bytes again: a hard link when both are on one
/// filesystem, else a reflink (copy-on-write clone: btrfs, XFS), else a copy. Always through a
/// temporary name in the destination directory and a rename, so `dest` appears complete.
pub fn place(blob: &Path, dest: &Path) -> Result<(), FetchError> {
    let dir = dest.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| FetchError::place(dir, e))?;
    let tmp = dir.join(format!(".jetdoc-tmp-{}-{}", std::process::id(), fastrand::u64(..)));
    if std::fs::hard_link(blob, &tmp).is_err() {
        if let Err(e) = clone_or_copy(blob, &tmp) {
            let _ = std::fs::remove_file(&tmp);
            return Err(FetchError::place(dest, e));
        }
    }
    let r = std::fs::rename(&tmp, dest).map_err(|e| FetchError::place(dest, e));
    // rename(2) between two links to the same file does nothing and leaves the temporary name.
    let _ = std::fs::remove_file(&tmp);
    r
}

fn clone_or_copy(from: &Path, to: &Path) -> std::io::Result<()> {
    let src = std::fs::File::open(from)?;
    let dst = std::fs::File::create(to)?;
    if rustix::fs::ioctl_ficlone(&dst, &src).is_ok() {
        return Ok(());
    }
    drop(dst);
    // copy_file_range(2) under the hood: in the kernel, no user-space buffer.
    std::fs::copy(from, to).map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_root_follows_xdg_for_users_and_var_cache_for_root() {
        assert_eq!(Cache::default_root(true, Some("/x"), Some("/h")), PathBuf::from("/var/cache/jetdoc"));
        assert_eq!(Cache::default_root(false, Some("/x"), Some("/h")), PathBuf::from("/x/jetdoc"));
        assert_eq!(Cache::default_root(false, Some(""), Some("/h")), PathBuf::from("/h/.cache/jetdoc"));
    }

    #[test]
    fn place_links_or_copies_and_leaves_no_temp() {
        let d = tempfile::tempdir().unwrap();
        let blob = d.path().join("blob");
        std::fs::write(&blob, b"abc").unwrap();
        let dest = d.path().join("out/file.whl");
        place(&blob, &dest).unwrap();
        place(&blob, &dest).unwrap();
        assert_eq!(std::fs::read(&dest).unwrap(), b"abc");
        assert_eq!(std::fs::read_dir(d.path().join("out")).unwrap().count(), 1);
    }
}
