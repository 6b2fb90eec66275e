//! `write`: replace (or create) one file with planned bytes. Prepare re-reads the file and refuses
//! when it is no longer what the plan saw, then backs it up; execute writes atomically with the
//! original mode and owner; verify reads it back; undo restores the backup (or removes a file
//! jetdoc created).

use serde::Serialize;

use super::journal::{sha256, FileRecord};
use super::{FileDiff, Step, StepCx, StepError, Undo};

#[derive(Debug, Clone, Serialize)]
pub struct WriteFile {
    /// Absolute, inside the root.
    pub path: String,
    /// The bytes seen when planning; `None`: the file did not exist.
    #[serde(skip)]
    pub before: Option<Vec<u8>>,
    #[serde(skip)]
    pub after: Vec<u8>,
    pub why: String,
}

impl WriteFile {
    pub fn new(path: &str, before: Option<Vec<u8>>, after: Vec<u8>, why: impl Into<String>) -> WriteFile {
        WriteFile { path: path.to_string(), before, after, why: why.into() }
    }
}

/// Mode of a file jetdoc creates.
const NEW_FILE_MODE: u32 = 0o644;

impl Step for WriteFile {
    fn kind(&self) -> &'static str {
        "write"
    }

    fn describe(&self) -> String {
        format!("write {} ({})", self.path, self.why)
    }

    fn diff(&self) -> Option<FileDiff> {
        Some(FileDiff {
            path: self.path.clone(),
            diff: unified_diff(&self.path, self.before.as_deref(), &self.after),
        })
    }

    fn prepare(&self, cx: &mut StepCx<'_>) -> Result<Undo, StepError> {
        let current = cx.host().read_file(&self.path)?;
        if current.as_ref().map(|c| &c.bytes) != self.before.as_ref() {
            return Err(StepError::Changed { path: self.path.clone() });
        }
        let record = match &current {
            Some(c) => FileRecord {
                path: self.path.clone(),
                backup: Some(cx.back_up(&self.path, c)?),
                mode: Some(c.mode),
                uid: Some(c.uid),
                gid: Some(c.gid),
                sha256_after: sha256(&self.after),
                sha256_before: Some(sha256(&c.bytes)),
            },
            None => FileRecord {
                path: self.path.clone(),
                backup: None,
                mode: None,
                uid: None,
                gid: None,
                sha256_after: sha256(&self.after),
                sha256_before: None,
            },
        };
        Ok(Undo::RestoreFile(record))
    }

    fn execute(&self, cx: &mut StepCx<'_>, undo: &Undo) -> Result<(), StepError> {
        cx.progress(&format!("writing {}", self.path));
        let (mode, owner) = match undo {
            Undo::RestoreFile(r) => (r.mode.unwrap_or(NEW_FILE_MODE), r.uid.zip(r.gid)),
            _ => (NEW_FILE_MODE, None),
        };
        cx.host().write_atomic(&self.path, &self.after, mode, owner)?;
        Ok(())
    }

    fn verify(&self, cx: &mut StepCx<'_>) -> Result<(), StepError> {
        match cx.host().read_file(&self.path)? {
            Some(f) if f.bytes == self.after => Ok(()),
            _ => Err(StepError::Failed(format!("{} does not hold what jetdoc wrote", self.path))),
        }
    }
}

/// The unified diff of one file change, paths shown inside the root.
pub fn unified_diff(path: &str, before: Option<&[u8]>, after: &[u8]) -> String {
    let old = before.map(|b| String::from_utf8_lossy(b).into_owned()).unwrap_or_default();
    let new = String::from_utf8_lossy(after).into_owned();
    let (a, b) =
        (if before.is_some() { format!("a{path}") } else { "/dev/null".to_string() }, format!("b{path}"));
    let mut text =
        similar::TextDiff::from_lines(&old, &new).unified_diff().context_radius(3).header(&a, &b).to_string();
    if !old.is_empty() && !old.ends_with('\n') {
        text.push_str("\\ No newline at end of file\n");
    }
    text
}
