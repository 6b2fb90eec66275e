//! `copy`: put a file of this machine (a binary, a lock, a bundle) at a path inside the root,
//! streamed (a bundle is gigabytes: it is never held in memory). Planned with the source's
//! sha256; execute hashes what it copies and keeps the result only when it matches, so a source
//! changed since planning leaves the target untouched. Prepare streams a backup of a file it
//! replaces; undo restores it (or removes a file jetdoc created).

use std::io::{self, Read};
use std::path::PathBuf;

use serde::Serialize;

use super::journal::FileRecord;
use super::{Step, StepCx, StepError, Undo};
use crate::digest::HashingReader;

#[derive(Debug, Clone, Serialize)]
pub struct CopyFile {
    /// Absolute, inside the root.
    pub path: String,
    /// On this machine.
    pub source: PathBuf,
    pub size: u64,
    pub sha256: String,
    /// Permission bits of the copy (`0o755` for a program).
    pub mode: u32,
    /// The sha256 of the file at `path` when planned; `None`: there was none.
    #[serde(skip)]
    pub before: Option<String>,
    pub why: String,
}

impl CopyFile {
    /// Hashes `source` (streaming) and plans its copy to `path`; `before` is the sha256 of what
    /// is at `path` now (`Host::sha256_file`).
    pub fn plan(
        source: PathBuf,
        path: &str,
        mode: u32,
        before: Option<String>,
        why: impl Into<String>,
    ) -> io::Result<CopyFile> {
        let mut hashing = HashingReader::new(std::fs::File::open(&source)?);
        io::copy(&mut hashing, &mut io::sink())?;
        Ok(CopyFile {
            path: path.into(),
            size: hashing.len,
            sha256: hashing.hex(),
            source,
            mode,
            before,
            why: why.into(),
        })
    }

    /// Whether the copy would change nothing.
    pub fn is_noop(&self) -> bool {
        self.before.as_deref() == Some(self.sha256.as_str())
    }
}

/// Fails the read at the end when what passed through does not hash to `want`: the atomic write
/// then discards its temp file and the target stays as it was.
struct Verified<R> {
    inner: HashingReader<R>,
    want: String,
    shown: String,
}

impl<R: Read> Read for Verified<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n == 0 && !buf.is_empty() && self.inner.hex() != self.want {
            return Err(io::Error::other(format!(
                "{} changed since jetdoc planned the copy (sha256 {} now, {} planned); nothing was replaced: run jetdoc again",
                self.shown,
                self.inner.hex(),
                self.want
            )));
        }
        Ok(n)
    }
}

impl Step for CopyFile {
    fn kind(&self) -> &'static str {
        "copy"
    }

    fn describe(&self) -> String {
        format!(
            "copy {} to {} ({}, mode {:o}, sha256 {}; {})",
            self.source.display(),
            self.path,
            crate::units::human_bytes(self.size),
            self.mode,
            &self.sha256[..12.min(self.sha256.len())],
            self.why
        )
    }

    fn prepare(&self, cx: &mut StepCx<'_>) -> Result<Undo, StepError> {
        let record = match cx.back_up_file(&self.path)? {
            Some((backup, meta, sha)) => {
                if Some(&sha) != self.before.as_ref() {
                    return Err(StepError::Changed { path: self.path.clone() });
                }
                FileRecord {
                    path: self.path.clone(),
                    backup: Some(backup),
                    mode: Some(meta.mode),
                    uid: Some(meta.uid),
                    gid: Some(meta.gid),
                    sha256_after: self.sha256.clone(),
                    sha256_before: Some(sha),
                }
            }
            None if self.before.is_some() => return Err(StepError::Changed { path: self.path.clone() }),
            None => FileRecord {
                path: self.path.clone(),
                backup: None,
                mode: None,
                uid: None,
                gid: None,
                sha256_after: self.sha256.clone(),
                sha256_before: None,
            },
        };
        Ok(Undo::RestoreFile(record))
    }

    fn execute(&self, cx: &mut StepCx<'_>, undo: &Undo) -> Result<(), StepError> {
        cx.progress(&format!("copying {} to {}", self.source.display(), self.path));
        let file = std::fs::File::open(&self.source).map_err(|e| {
            StepError::Failed(format!("cannot open {}: {e}; nothing was replaced", self.source.display()))
        })?;
        let owner = match undo {
            Undo::RestoreFile(r) => r.uid.zip(r.gid),
            _ => None,
        };
        let mut verified = Verified {
            inner: HashingReader::new(file),
            want: self.sha256.clone(),
            shown: self.source.display().to_string(),
        };
        cx.host().write_atomic_from(&self.path, &mut verified, self.mode, owner)?;
        Ok(())
    }

    fn verify(&self, cx: &mut StepCx<'_>) -> Result<(), StepError> {
        match cx.host().sha256_file(&self.path)? {
            Some(sha) if sha == self.sha256 => Ok(()),
            _ => Err(StepError::Failed(format!("{} does not hold what jetdoc copied", self.path))),
        }
    }
}
