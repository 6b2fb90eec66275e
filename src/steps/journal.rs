//! The journal of host changes (`<root>/var/lib/jetdoc/journal.jsonl`) and the addresses of the
//! backups it refers to. The record format is documented in the module above.
//!
//! A line is appended with a single `write(2)` of the whole line and its newline, then fsynced: a
//! crash leaves either the whole line or a torn tail without a newline, never two records glued
//! together. A torn tail is ignored when reading and cut off (under the state lock) before the
//! next append.

use std::io::Write;

use serde::{Deserialize, Serialize};

use super::Undo;
use crate::host::{Host, HostError};

/// jetdoc's own state on the host (inside the root).
pub const STATE_DIR: &str = "/var/lib/jetdoc";
pub const JOURNAL: &str = "/var/lib/jetdoc/journal.jsonl";
pub const BACKUPS: &str = "/var/lib/jetdoc/backups";

#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    #[error(transparent)]
    Host(#[from] HostError),
    #[error("{path} line {line}: {message}; the journal is damaged: restore files from {backups} by hand, or move the journal away to start a new one")]
    Damaged { path: String, line: usize, message: String, backups: String },
    #[error("{path}: {message}")]
    Write { path: String, message: String },
}

/// One file a step writes, as the journal keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileRecord {
    pub path: String,
    /// `backups/<id>/<path>` relative to the state directory when the file existed before; `None`:
    /// jetdoc created it. Only whether it is set is trusted: undo finds the backup by id and path.
    pub backup: Option<String>,
    pub mode: Option<u32>,
    pub uid: Option<u32>,
    pub gid: Option<u32>,
    pub sha256_after: String,
    /// Absent in records written before write-ahead journaling.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256_before: Option<String>,
}

/// One line of the journal.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Record {
    pub id: String,
    /// The plan's name: a fix id, or a provision stage.
    pub fix: String,
    /// `apply`, `rolled-back` or `undo`.
    pub action: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub undoes: Option<String>,
    /// Unix seconds.
    pub time: i64,
    #[serde(default)]
    pub files: Vec<FileRecord>,
    #[serde(default)]
    pub commands: Vec<String>,
    /// The restart command (the first `again` undo), for readers of the format before `undo`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restart: Option<Vec<String>>,
    /// One entry per step, in plan order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub undo: Option<Vec<Undo>>,
}

impl Record {
    pub fn new(id: &str, fix: &str, action: &str) -> Record {
        Record {
            id: id.to_string(),
            fix: fix.to_string(),
            action: action.to_string(),
            undoes: None,
            time: jiff::Timestamp::now().as_second(),
            files: Vec::new(),
            commands: Vec::new(),
            restart: None,
            undo: None,
        }
    }

    /// How to undo this record's steps, in plan order: the `undo` list, or for a record written
    /// before it existed, its files then its restart.
    pub fn undos(&self) -> Vec<Undo> {
        if let Some(u) = &self.undo {
            return u.clone();
        }
        let mut out: Vec<Undo> = self.files.iter().cloned().map(Undo::RestoreFile).collect();
        if let Some(argv) = &self.restart {
            out.push(Undo::Again { argv: argv.clone() });
        }
        out
    }

    /// Whether `--undo` has anything to take back.
    pub fn undoable(&self) -> bool {
        self.undos().iter().any(Undo::takes_back)
    }
}

pub fn sha256(bytes: &[u8]) -> String {
    crate::digest::sha256_hex(bytes)
}

/// A journal id: letters, digits, `-`, `_`, `.`, not starting with a dot.
fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && !id.starts_with('.')
        && id.len() <= 200
        && id.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
}

/// The backup of `path` for journal entry `id`, relative to the state directory. Both come from
/// the journal, which a hostile root may have written: the id must be a plain name and the path
/// absolute without `..`, so the backup can only be under `backups/<id>/`.
pub fn backup_rel(id: &str, path: &str) -> Result<String, String> {
    if !valid_id(id) {
        return Err(format!(
            "journal id `{id}` is not a plain name: refusing to use it as a backup directory"
        ));
    }
    let clean =
        path.starts_with('/') && path.split('/').skip(1).all(|c| !c.is_empty() && c != "." && c != "..");
    if !clean {
        return Err(format!("`{path}` is not a plain absolute path: refusing to derive a backup from it"));
    }
    Ok(format!("backups/{id}{path}"))
}

/// Checks that `path` (under the state directory) resolves inside it: a `backups` link that leads
/// elsewhere in the root is refused, for writing a backup and for restoring from one.
pub fn inside_state_dir(host: &Host, path: &str) -> Result<(), String> {
    let resolve = |p: &str| host.resolve_in_root(p).map_err(|e| e.to_string());
    let (state, real) = (resolve(STATE_DIR)?, resolve(path)?);
    if real.starts_with(&format!("{}/", state.trim_end_matches('/'))) {
        Ok(())
    } else {
        Err(format!(
            "{} leads to {real}, outside the state directory {STATE_DIR}: refusing to keep or read a backup there (replace the link with a directory)",
            host.shown(path)
        ))
    }
}

/// The journal of a host: read, append, repair.
pub struct Journal<'h> {
    host: &'h Host,
}

/// The records, and whether a torn last line was skipped.
pub struct Contents {
    pub records: Vec<Record>,
    pub torn_tail: bool,
}

impl<'h> Journal<'h> {
    pub fn new(host: &'h Host) -> Journal<'h> {
        Journal { host }
    }

    pub fn shown(&self) -> String {
        self.host.shown(JOURNAL)
    }

    /// Every record. A last line without its newline is a write a crash cut short: skipped. Any
    /// other line that does not parse is damage, and an error that says where.
    pub fn read(&self) -> Result<Contents, JournalError> {
        let Some(file) = self.host.read_file(JOURNAL)? else {
            return Ok(Contents { records: Vec::new(), torn_tail: false });
        };
        let text = String::from_utf8_lossy(&file.bytes);
        let torn_tail = !text.is_empty() && !text.ends_with('\n');
        let complete = match text.rfind('\n') {
            Some(end) => &text[..=end],
            None => "",
        };
        let mut records = Vec::new();
        for (i, line) in complete.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let r = serde_json::from_str(line).map_err(|e| JournalError::Damaged {
                path: self.shown(),
                line: i + 1,
                message: e.to_string(),
                backups: self.host.shown(BACKUPS),
            })?;
            records.push(r);
        }
        Ok(Contents { records, torn_tail })
    }

    /// Cuts a torn last line off (call under the state lock). Returns whether there was one.
    pub fn repair(&self) -> Result<bool, JournalError> {
        let Some(file) = self.host.read_file(JOURNAL)? else { return Ok(false) };
        if file.bytes.is_empty() || file.bytes.ends_with(b"\n") {
            return Ok(false);
        }
        let keep = file.bytes.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
        let f = self.host.open_rw(JOURNAL, 0o600)?;
        f.set_len(keep as u64).and_then(|()| f.sync_all()).map_err(|e| JournalError::Write {
            path: self.shown(),
            message: format!("cannot cut the torn last line: {e}"),
        })?;
        Ok(true)
    }

    /// Appends one record: one `write` of the line with its newline, then fsync. A short write is
    /// cut back off, so the journal never keeps half a record.
    pub fn append(&self, record: &Record) -> Result<(), JournalError> {
        let mut line = serde_json::to_vec(record)
            .map_err(|e| JournalError::Write { path: self.shown(), message: e.to_string() })?;
        line.push(b'\n');
        let mut f = self.host.open_append(JOURNAL, 0o600)?;
        let before = f.metadata().map(|m| m.len()).unwrap_or(0);
        let fail = |e: std::io::Error| JournalError::Write {
            path: self.shown(),
            message: format!("cannot append the record: {e}"),
        };
        match f.write(&line) {
            Ok(n) if n == line.len() => {}
            Ok(n) => {
                let _ = f.set_len(before);
                return Err(fail(std::io::Error::other(format!(
                    "short write ({n} of {} bytes)",
                    line.len()
                ))));
            }
            Err(e) => {
                let _ = f.set_len(before);
                return Err(fail(e));
            }
        }
        f.sync_all().map_err(fail)
    }

    /// A new id, `20261122T213900Z-gpu-runtime`, unique among the records and backups (call under
    /// the state lock).
    pub fn new_id(&self, name: &str, records: &[Record]) -> Result<String, JournalError> {
        let stamp = jiff::Timestamp::now().strftime("%Y%m%dT%H%M%SZ").to_string();
        let name: String =
            name.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '-' }).collect();
        let base = format!("{stamp}-{name}");
        let backups = self.host.list_dir(BACKUPS)?;
        let taken = |id: &str| records.iter().any(|r| r.id == id) || backups.iter().any(|(n, _)| n == id);
        let mut id = base.clone();
        let mut n = 2;
        while taken(&id) {
            id = format!("{base}-{n}");
            n += 1;
        }
        Ok(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backups_are_addressed_by_plain_ids_and_paths_only() {
        assert_eq!(
            backup_rel("20261122T213900Z-gpu-runtime", "/etc/docker/daemon.json").unwrap(),
            "backups/20261122T213900Z-gpu-runtime/etc/docker/daemon.json"
        );
        for (id, path) in [
            ("../..", "/etc/x"),
            ("a/b", "/etc/x"),
            ("", "/etc/x"),
            (".hidden", "/etc/x"),
            ("ok", "etc/x"),
            ("ok", "/etc/../../x"),
            ("ok", "/etc//x"),
            ("ok", "/"),
        ] {
            assert!(backup_rel(id, path).is_err(), "{id} {path}");
        }
    }

    #[test]
    fn old_records_undo_their_files_then_restart() {
        let line = r#"{"id":"a","fix":"gpu-runtime","action":"apply","time":1,"files":[{"path":"/etc/docker/daemon.json","backup":"backups/a/etc/docker/daemon.json","mode":420,"uid":0,"gid":0,"sha256_after":"x"}],"commands":[],"restart":["systemctl","restart","docker"]}"#;
        let r: Record = serde_json::from_str(line).unwrap();
        let u = r.undos();
        assert!(matches!(&u[0], Undo::RestoreFile(f) if f.path == "/etc/docker/daemon.json"));
        assert_eq!(u[1], Undo::Again { argv: vec!["systemctl".into(), "restart".into(), "docker".into()] });
        assert!(r.undoable());
        // An empty restart is kept as it is (the executor refuses to run an empty command).
        let empty: Record =
            serde_json::from_str(&line.replace(r#"["systemctl","restart","docker"]"#, "[]")).unwrap();
        assert_eq!(empty.undos()[1], Undo::Again { argv: vec![] });
    }
}
