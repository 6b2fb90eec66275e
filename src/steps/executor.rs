//! The executor: lock, recovery, write-ahead journal, execute and verify, rollback, undo. How it
//! is used is documented in the module above.

use std::collections::BTreeSet;
use std::time::Duration;

use serde::Serialize;

use super::command::RUN_TIMEOUT;
use super::journal::{
    backup_rel, inside_state_dir, FileRecord, Journal, JournalError, Record, BACKUPS, STATE_DIR,
};
use super::lock::{LockError, StateLock};
use super::{Cmd, Plan, Reporter, StepCx, StepError, Undo};
use crate::context::Context;
use crate::host::{EntryKind, Host, HostError, TEMP_PREFIX};

/// How long `apply` and `undo` wait for another jetdoc to release the state lock by default.
pub const LOCK_WAIT: Duration = Duration::from_secs(10 * 60);

#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    #[error(transparent)]
    Lock(#[from] LockError),
    #[error(transparent)]
    Journal(#[from] JournalError),
    #[error(transparent)]
    Host(#[from] HostError),
    /// A step's preparation failed: nothing on the host was changed.
    #[error("{0}")]
    NotStarted(String),
    /// The write-ahead record could not be written: nothing on the host was changed.
    #[error("{0}; nothing was changed (jetdoc changes nothing it cannot journal)")]
    NoRecord(JournalError),
    /// `--undo` has nothing (or not that) to undo, or refuses.
    #[error("{0}")]
    Undo(String),
}

#[derive(Debug, Clone, Serialize)]
pub struct ChangedFile {
    pub path: String,
    /// The backup of the original (inside the root), `None` when the file was created.
    pub backup: Option<String>,
}

/// What an apply (or undo) did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Outcome {
    /// The plan's name (the fix id).
    #[serde(rename = "fix")]
    pub plan: String,
    /// The journal id (`--undo ID`).
    pub id: Option<String>,
    /// Whether `--undo ID` can take something back.
    pub undoable: bool,
    pub changed: Vec<ChangedFile>,
    pub ran: Vec<String>,
    pub notes: Vec<String>,
    pub rolled_back: bool,
    pub error: Option<String>,
}

/// The one executor of host changes (see the module documentation).
pub struct Executor<'a> {
    ctx: &'a Context,
    rep: &'a dyn Reporter,
    lock: Option<StateLock>,
    lock_wait: Duration,
    /// What recovery found, told in the next outcome.
    recovered: Vec<String>,
}

/// What undoing one file found or did.
#[derive(Debug, PartialEq, Eq)]
enum OnDisk {
    /// Holds what jetdoc wrote.
    AsAfter,
    /// Holds what was there before (or is missing, as it was): nothing to restore.
    AsBefore,
    /// Something else.
    Changed,
}

impl<'a> Executor<'a> {
    pub fn new(ctx: &'a Context, rep: &'a dyn Reporter) -> Executor<'a> {
        Executor { ctx, rep, lock: None, lock_wait: LOCK_WAIT, recovered: Vec::new() }
    }

    /// How long to wait for another jetdoc's lock (default ten minutes).
    pub fn lock_wait(mut self, wait: Duration) -> Executor<'a> {
        self.lock_wait = wait;
        self
    }

    fn host(&self) -> &'a Host {
        &self.ctx.host
    }

    /// Takes the state lock (once; held until the executor is dropped) and cleans up after a run
    /// that crashed. `apply` and `undo` call it; a caller that plans under the lock calls it first.
    pub fn lock(&mut self) -> Result<(), ExecError> {
        if self.lock.is_none() {
            self.lock = Some(StateLock::acquire(self.host(), self.lock_wait, self.rep)?);
            self.recover();
        }
        Ok(())
    }

    /// After a crash: cut a torn journal line, remove backups no record names (the run died
    /// before its write-ahead record, so it changed nothing) and `.jetdoc-*` temp files.
    fn recover(&mut self) {
        let host = self.host();
        let journal = Journal::new(host);
        match journal.repair() {
            Ok(true) => self.recovered.push(format!(
                "{}: cut off a torn last line (a run was killed while writing it)",
                journal.shown()
            )),
            Ok(false) => {}
            Err(e) => self.recovered.push(format!("could not repair the journal: {e}")),
        }
        let records = match journal.read() {
            Ok(c) => c.records,
            Err(e) => {
                // Without the journal no backup can be told an orphan: keep them all.
                self.recovered.push(e.to_string());
                return;
            }
        };
        let mut temps = 0;
        match host.list_dir(BACKUPS) {
            Ok(entries) => {
                for (name, kind) in entries {
                    let path = format!("{BACKUPS}/{name}");
                    if kind == EntryKind::File && name.starts_with(TEMP_PREFIX) {
                        temps += usize::from(host.remove_file(&path).unwrap_or(false));
                    } else if kind == EntryKind::Dir && !records.iter().any(|r| r.id == name) {
                        match host.remove_tree(&path) {
                            Ok(_) => self.recovered.push(format!(
                                "removed {}: a run was interrupted before it journaled (and so before it changed) anything",
                                host.shown(&path)
                            )),
                            Err(e) => self.recovered.push(format!("could not remove an orphan backup: {e}")),
                        }
                    }
                }
            }
            Err(e) => self.recovered.push(format!("could not look for orphan backups: {e}")),
        }
        // Temp files live beside the files they replace (resolved: a linked daemon.json is
        // written where the link leads) and in the state directory.
        let mut dirs: BTreeSet<String> = BTreeSet::from([STATE_DIR.to_string()]);
        for f in records.iter().flat_map(|r| r.files.iter()) {
            if let Ok(real) = host.resolve_in_root(&f.path) {
                if let Some((dir, _)) = real.rsplit_once('/') {
                    dirs.insert(if dir.is_empty() { "/".into() } else { dir.to_string() });
                }
            }
        }
        for dir in dirs {
            for (name, kind) in host.list_dir(&dir).unwrap_or_default() {
                if kind == EntryKind::File && name.starts_with(TEMP_PREFIX) {
                    let path = format!("{}/{name}", dir.trim_end_matches('/'));
                    temps += usize::from(host.remove_file(&path).unwrap_or(false));
                }
            }
        }
        if temps > 0 {
            self.recovered.push(format!(
                "removed {temps} temp file(s) ({TEMP_PREFIX}*) an interrupted run left behind"
            ));
        }
    }

    fn discard_backups(&self, id: &str) {
        let _ = self.host().remove_tree(&format!("{BACKUPS}/{id}"));
    }

    /// Executes a plan. `Err` when nothing was changed (the lock, the journal, a file that moved
    /// since planning); a failure half-way is an `Outcome` with `error` set, after the rollback.
    /// An empty or plan-only plan does nothing and takes no lock.
    pub fn apply(&mut self, plan: &Plan) -> Result<Outcome, ExecError> {
        let mut out = Outcome { plan: plan.name.clone(), notes: plan.notes.clone(), ..Outcome::default() };
        if plan.is_empty() || plan.plan_only {
            return Ok(out);
        }
        self.lock()?;
        out.notes.splice(0..0, self.recovered.drain(..));
        let journal = Journal::new(self.host());
        let records = journal.read().map_err(ExecError::NoRecord)?.records;
        let id = journal.new_id(&plan.name, &records).map_err(ExecError::NoRecord)?;
        let mut cx = StepCx::new(self.ctx, &id, self.rep);

        // 1. Prepare: the host is as planned; backups saved. Nothing else changes yet.
        let mut undos = Vec::with_capacity(plan.steps.len());
        for step in &plan.steps {
            match step.prepare(&mut cx) {
                Ok(u) => undos.push(u),
                Err(e) => {
                    self.discard_backups(&id);
                    return Err(ExecError::NotStarted(match e {
                        StepError::Changed { .. } => e.to_string(),
                        e => format!("{}: {e}; nothing was changed", step.describe()),
                    }));
                }
            }
        }

        // 2. Write-ahead: the record is on disk before the first change.
        let mut record = Record::new(&id, &plan.name, "apply");
        record.files = undos
            .iter()
            .filter_map(|u| match u {
                Undo::RestoreFile(f) => Some(f.clone()),
                _ => None,
            })
            .collect();
        record.commands = plan.steps.iter().filter_map(|s| s.command().map(Cmd::display)).collect();
        record.restart = undos.iter().find_map(|u| match u {
            Undo::Again { argv } => Some(argv.clone()),
            _ => None,
        });
        record.undo = Some(undos.clone());
        if let Err(e) = journal.append(&record) {
            self.discard_backups(&id);
            return Err(ExecError::NoRecord(e));
        }
        out.id = Some(id.clone());
        out.undoable = record.undoable();

        // 3. Execute and verify, against fresh probes.
        let mut failure = None;
        for (i, step) in plan.steps.iter().enumerate() {
            if let Err(e) = step.execute(&mut cx, &undos[i]) {
                failure = Some((i, false, e));
                break;
            }
            match &undos[i] {
                Undo::RestoreFile(f) => out.changed.push(changed(&id, f)),
                Undo::RestoreLink { path, .. } => {
                    out.changed.push(ChangedFile { path: path.clone(), backup: None })
                }
                _ => {}
            }
            self.ctx.invalidate();
            if let Err(e) = step.verify(&mut cx) {
                failure = Some((i, true, e));
                break;
            }
        }

        // 4. Roll back on failure.
        if let Some((k, executed, err)) = failure {
            out.error = Some(err.to_string());
            out.undoable = false;
            out.rolled_back = self.rollback(plan, &undos, k, executed, &mut cx);
            let mut rec = Record::new(&id, &plan.name, "rolled-back");
            rec.files = record.files.clone();
            rec.commands = record.commands.clone();
            rec.restart = record.restart.clone();
            if let Err(e) = journal.append(&rec) {
                cx.note(format!("the rollback could not be journaled ({e}); `jetdoc fix --undo {id}` will find its files already restored"));
            }
            self.ctx.invalidate();
        }
        out.ran = cx.ran;
        out.notes.extend(cx.notes);
        Ok(out)
    }

    /// Undoes steps `0..=k` in reverse; `executed`: step `k` itself ran (its verify failed).
    /// Returns whether anything was taken back.
    fn rollback(&self, plan: &Plan, undos: &[Undo], k: usize, executed: bool, cx: &mut StepCx<'_>) -> bool {
        cx.progress("restoring the original files");
        let mut undone = false;
        let mut again = Vec::new();
        for j in (0..=k).rev() {
            let ran = j < k || executed;
            match &undos[j] {
                Undo::Nothing => {}
                // Also for the failing step: its write may have happened before it failed.
                Undo::RestoreFile(f) => match file_state(self.host(), f) {
                    Ok(OnDisk::AsBefore) => {}
                    Ok(_) => match put_back(self.host(), cx.id, f) {
                        Ok(()) => {
                            undone = true;
                            cx.note(if f.backup.is_some() {
                                format!("restored {} from the backup", f.path)
                            } else {
                                format!("removed {} (jetdoc had created it)", f.path)
                            });
                        }
                        Err(e) => cx.note(format!("could not restore {}: {e}", f.path)),
                    },
                    Err(e) => cx.note(format!("could not restore {}: {e}", f.path)),
                },
                Undo::Run { argv } if ran => {
                    let cmd = Cmd { argv: argv.clone() };
                    cx.progress(&format!("running {}", cmd.display()));
                    let o = cx.run(&cmd, RUN_TIMEOUT);
                    if o.success() {
                        undone = true;
                    } else {
                        cx.note(format!("could not undo: {}", o.describe_failure(&cmd.display())));
                    }
                }
                Undo::Cannot { what, why } if ran => cx.note(format!("not undone: `{what}`: {why}")),
                // Also for the failing step, as for a file.
                Undo::RestoreLink { path, before, after } => {
                    match put_link_back(self.host(), path, before, after) {
                        Ok(true) => {
                            undone = true;
                            cx.note(match before {
                                Some(b) => format!("pointed the link {path} back at {b}"),
                                None => format!("removed the link {path} (jetdoc had created it)"),
                            });
                        }
                        Ok(false) => {}
                        Err(e) => cx.note(format!("could not restore the link {path}: {e}")),
                    }
                }
                Undo::Again { .. } => again.push(j),
                Undo::Run { .. } | Undo::Cannot { .. } => {}
            }
        }
        if undone {
            let mut seen = BTreeSet::new();
            for j in again.into_iter().rev() {
                if let Undo::Again { argv } = &undos[j] {
                    if seen.insert(argv.clone()) {
                        if let Err(e) = plan.steps[j].again(cx) {
                            cx.note(e.to_string());
                        }
                    }
                }
            }
        }
        undone
    }

    /// Restores what journal entry `id` (default: the latest applied and not undone) changed. A
    /// file edited since is left alone unless `force`; every file is checked before any is
    /// touched.
    pub fn undo(&mut self, id: Option<&str>, force: bool) -> Result<Outcome, ExecError> {
        self.lock()?;
        let host = self.host();
        let journal = Journal::new(host);
        let records = journal.read()?.records;
        let undone: Vec<&str> = records
            .iter()
            .filter_map(|r| if r.action == "rolled-back" { Some(r.id.as_str()) } else { r.undoes.as_deref() })
            .collect();
        let open: Vec<&Record> = records
            .iter()
            .filter(|r| r.action == "apply" && !undone.contains(&r.id.as_str()) && r.undoable())
            .collect();
        let ids = || {
            if open.is_empty() {
                "none".to_string()
            } else {
                open.iter().map(|r| r.id.as_str()).collect::<Vec<_>>().join(", ")
            }
        };
        let entry = match id {
            Some(id) => match records.iter().find(|r| r.id == id) {
                Some(r) if r.action != "apply" => {
                    return Err(ExecError::Undo(format!(
                        "journal entry {id} is a {}, not a change that can be undone",
                        r.action
                    )))
                }
                Some(_) if undone.contains(&id) => {
                    return Err(ExecError::Undo(format!("{id} was already undone or rolled back")))
                }
                Some(r) => r,
                None => {
                    return Err(ExecError::Undo(format!(
                        "no journal entry {id} in {}; ids: {}",
                        journal.shown(),
                        ids()
                    )))
                }
            },
            None => match open.last() {
                Some(r) => r,
                None => {
                    return Err(ExecError::Undo(format!(
                        "nothing to undo: {} lists no change that is not undone yet",
                        journal.shown()
                    )))
                }
            },
        };
        let mut out = Outcome { plan: entry.fix.clone(), id: Some(entry.id.clone()), ..Outcome::default() };
        out.notes.append(&mut self.recovered);
        let undos = entry.undos();

        // Check every file first: all or nothing.
        let mut restore = vec![false; undos.len()];
        for (j, u) in undos.iter().enumerate() {
            let Undo::RestoreFile(f) = u else { continue };
            backup_rel(&entry.id, &f.path).map_err(ExecError::Undo)?;
            match file_state(host, f)? {
                OnDisk::AsAfter => restore[j] = true,
                OnDisk::AsBefore => out.notes.push(format!("{} is already as it was before {}", f.path, entry.id)),
                OnDisk::Changed if force => restore[j] = true,
                OnDisk::Changed => {
                    return Err(ExecError::Undo(format!(
                        "{} was changed after jetdoc wrote it: not undoing {} (pass --force to restore the backup anyway)",
                        f.path, entry.id
                    )))
                }
            }
        }

        for (j, u) in undos.iter().enumerate() {
            let Undo::RestoreLink { path, before, after } = u else { continue };
            match host.link_at(path)? {
                Some(Ok(t)) if &t == after => restore[j] = true,
                Some(Ok(t)) if Some(&t) == before.as_ref() => {
                    out.notes.push(format!("the link {path} is already as it was before {}", entry.id))
                }
                None if before.is_none() => {
                    out.notes.push(format!("the link {path} is already gone, as before {}", entry.id))
                }
                _ if force => restore[j] = true,
                _ => {
                    return Err(ExecError::Undo(format!(
                        "{path} was changed after jetdoc linked it to {after}: not undoing {} (pass --force to restore it anyway)",
                        entry.id
                    )))
                }
            }
        }

        let mut cx = StepCx::new(self.ctx, &entry.id, self.rep);
        let mut took_back = false;
        let mut failures: Vec<String> = Vec::new();
        let mut again: Vec<Vec<String>> = Vec::new();
        for (j, u) in undos.iter().enumerate().rev() {
            match u {
                Undo::RestoreFile(f) if restore[j] => {
                    cx.progress(&format!("restoring {}", f.path));
                    put_back(host, &entry.id, f).map_err(ExecError::Undo)?;
                    out.changed.push(changed(&entry.id, f));
                    took_back = true;
                }
                Undo::Run { argv } => {
                    let cmd = Cmd { argv: argv.clone() };
                    cx.progress(&format!("running {}", cmd.display()));
                    let o = cx.run(&cmd, RUN_TIMEOUT);
                    if o.success() {
                        took_back = true;
                    } else {
                        failures.push(o.describe_failure(&cmd.display()));
                    }
                }
                Undo::RestoreLink { path, before, .. } if restore[j] => {
                    cx.progress(&format!("restoring the link {path}"));
                    restore_link(host, path, before).map_err(|e| ExecError::Undo(e.to_string()))?;
                    out.changed.push(ChangedFile { path: path.clone(), backup: None });
                    took_back = true;
                }
                Undo::Again { argv } if !again.contains(argv) => again.insert(0, argv.clone()),
                Undo::Cannot { what, why } => cx.note(format!("not undone: `{what}`: {why}")),
                _ => {}
            }
        }
        if !took_back && !failures.is_empty() {
            // Nothing was taken back: no undo record, so the change stays open for another try.
            return Err(ExecError::Undo(format!(
                "could not undo {}: {}; nothing was changed",
                entry.id,
                failures.join("; ")
            )));
        }
        if took_back {
            for argv in again {
                let cmd = Cmd { argv };
                cx.progress(&format!("running {}", cmd.display()));
                let o = cx.run(&cmd, RUN_TIMEOUT);
                if !o.success() {
                    failures.push(format!("files restored, but {}", o.describe_failure(&cmd.display())));
                }
            }
        } else {
            cx.note(format!("nothing of {} needed taking back", entry.id));
        }
        if !failures.is_empty() {
            out.error = Some(failures.join("; "));
        }
        self.ctx.invalidate();

        let mut rec =
            Record::new(&journal.new_id(&format!("undo-{}", entry.fix), &records)?, &entry.fix, "undo");
        rec.undoes = Some(entry.id.clone());
        rec.commands = cx.ran.clone();
        if let Err(e) = journal.append(&rec) {
            cx.note(format!("the undo could not be journaled ({e}); the files are restored all the same"));
        }
        out.ran = cx.ran;
        out.notes.extend(cx.notes);
        Ok(out)
    }
}

fn changed(id: &str, f: &FileRecord) -> ChangedFile {
    ChangedFile {
        path: f.path.clone(),
        backup: f
            .backup
            .as_ref()
            .and_then(|_| backup_rel(id, &f.path).ok())
            .map(|rel| format!("{STATE_DIR}/{rel}")),
    }
}

fn file_state(host: &Host, f: &FileRecord) -> Result<OnDisk, HostError> {
    // Streamed: the file may be a binary or a bundle, larger than anything `read_file` takes.
    let current = host.sha256_file(&f.path)?;
    if current.as_deref() == Some(f.sha256_after.as_str()) {
        return Ok(OnDisk::AsAfter);
    }
    let before_known = f.backup.is_none() || f.sha256_before.is_some();
    if before_known && current == f.sha256_before {
        return Ok(OnDisk::AsBefore);
    }
    Ok(OnDisk::Changed)
}

/// Puts the original of `f` back: the backup of entry `id`, found by id and path only and only
/// inside the state directory, with the recorded owner and permission bits (never setuid); or
/// removes a file jetdoc created.
fn put_back(host: &Host, id: &str, f: &FileRecord) -> Result<(), String> {
    let rel = backup_rel(id, &f.path)?;
    if f.backup.is_none() {
        host.remove_file(&f.path).map_err(|e| e.to_string())?;
        return Ok(());
    }
    let backup = format!("{STATE_DIR}/{rel}");
    inside_state_dir(host, &backup)?;
    let Some((mut original, meta)) = host.open_file(&backup).map_err(|e| e.to_string())? else {
        return Err(format!("the backup {} is missing", host.shown(&backup)));
    };
    let mode = f.mode.unwrap_or(meta.mode) & 0o777;
    host.write_atomic_from(&f.path, &mut original, mode, f.uid.zip(f.gid))
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// Rollback of a link: put it back unless it no longer points where jetdoc pointed it (then it
/// is another program's now, or it was never made). `true` when something was put back.
fn put_link_back(host: &Host, path: &str, before: &Option<String>, after: &str) -> Result<bool, HostError> {
    match host.link_at(path)? {
        Some(Ok(t)) if t == after => {
            restore_link(host, path, before)?;
            Ok(true)
        }
        _ => Ok(false),
    }
}

fn restore_link(host: &Host, path: &str, before: &Option<String>) -> Result<(), HostError> {
    match before {
        Some(b) => host.symlink(path, b),
        None => host.remove_link(path).map(|_| ()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::runner::FakeCommands;
    use crate::host::{EnvSource, FakeRunner};
    use crate::knowledge::Knowledge;
    use crate::steps::{RunCommand, Silent, Step, WriteFile};
    use serde::Serialize;

    /// A host whose commands answer from `table` (a `commands.toml` text).
    fn context(root: &std::path::Path, table: &str) -> Context {
        let table: FakeCommands = toml::from_str(table).unwrap();
        let runner = FakeRunner::from_table(table, root.to_path_buf());
        let host = Host::with_root(root, Box::new(runner), EnvSource::Map(Default::default())).unwrap();
        Context::new(host, Knowledge::builtin())
    }

    /// A kind of step defined outside `steps/`, as provision will: it runs a command, undoes
    /// itself by running it again after the rest is undone, and fails its verify on demand.
    #[derive(Debug, Serialize)]
    struct Reload {
        fail: bool,
    }

    impl Step for Reload {
        fn kind(&self) -> &'static str {
            "reload"
        }
        fn describe(&self) -> String {
            "run: reload".into()
        }
        fn prepare(&self, _cx: &mut StepCx<'_>) -> Result<Undo, StepError> {
            Ok(Undo::Again { argv: vec!["reload".into()] })
        }
        fn execute(&self, cx: &mut StepCx<'_>, _undo: &Undo) -> Result<(), StepError> {
            cx.run(&Cmd::new(&["reload"]), Duration::from_secs(5));
            Ok(())
        }
        fn verify(&self, _cx: &mut StepCx<'_>) -> Result<(), StepError> {
            if self.fail {
                Err(StepError::Failed("reload did not take".into()))
            } else {
                Ok(())
            }
        }
    }

    const TABLE: &str = "[[command]]\nrun = \"usermod -aG docker nvidia\"\n[[command]]\nrun = \"gpasswd -d nvidia docker\"\n[[command]]\nrun = \"reload\"\n";

    fn plan(fail: bool) -> Plan {
        let mut plan = Plan::new("demo");
        plan.push(WriteFile::new("/etc/demo.conf", Some(b"old\n".to_vec()), b"new\n".to_vec(), "demo"));
        plan.push(
            RunCommand::new(Cmd::new(&["usermod", "-aG", "docker", "nvidia"]), "group")
                .undoing(Cmd::new(&["gpasswd", "-d", "nvidia", "docker"])),
        );
        plan.push(Reload { fail });
        plan
    }

    #[test]
    fn a_failed_verify_undoes_in_reverse_then_runs_again_steps() {
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir(root.path().join("etc")).unwrap();
        std::fs::write(root.path().join("etc/demo.conf"), "old\n").unwrap();
        let ctx = context(root.path(), TABLE);
        let out = Executor::new(&ctx, &Silent).apply(&plan(true)).unwrap();
        assert_eq!(out.error.as_deref(), Some("reload did not take"));
        assert!(out.rolled_back);
        assert_eq!(out.ran, ["usermod -aG docker nvidia", "reload", "gpasswd -d nvidia docker", "reload"]);
        assert_eq!(std::fs::read(root.path().join("etc/demo.conf")).unwrap(), b"old\n");
        let records = Journal::new(&ctx.host).read().unwrap().records;
        let actions: Vec<&str> = records.iter().map(|r| r.action.as_str()).collect();
        assert_eq!(actions, ["apply", "rolled-back"]);
        let kinds: Vec<String> = records[0]
            .undo
            .as_ref()
            .unwrap()
            .iter()
            .map(|u| serde_json::to_value(u).unwrap()["kind"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(kinds, ["restore-file", "run", "again"]);
    }

    #[test]
    fn undo_takes_back_in_reverse_and_a_failed_undo_leaves_the_change_open() {
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir(root.path().join("etc")).unwrap();
        std::fs::write(root.path().join("etc/demo.conf"), "old\n").unwrap();
        // gpasswd missing: the undo of the run step fails, the file is still restored.
        let ctx = context(
            root.path(),
            "[[command]]\nrun = \"usermod -aG docker nvidia\"\n[[command]]\nrun = \"reload\"\n",
        );
        let out = Executor::new(&ctx, &Silent).apply(&plan(false)).unwrap();
        assert_eq!((out.error.as_deref(), out.undoable), (None, true));
        let id = out.id.unwrap();
        let undo = Executor::new(&ctx, &Silent).undo(None, false).unwrap();
        assert!(undo.error.as_deref().unwrap().contains("gpasswd"), "{undo:?}");
        assert_eq!(undo.ran, ["gpasswd -d nvidia docker", "reload"], "reverse order, then again");
        assert_eq!(std::fs::read(root.path().join("etc/demo.conf")).unwrap(), b"old\n");
        // Partly undone is undone: the record says so.
        let e = Executor::new(&ctx, &Silent).undo(Some(&id), false).unwrap_err();
        assert!(e.to_string().contains("already undone"), "{e}");

        // Nothing taken back at all: no undo record, the change stays open.
        let root = tempfile::tempdir().unwrap();
        let ctx = context(root.path(), "[[command]]\nrun = \"usermod -aG docker nvidia\"\n");
        let mut only_run = Plan::new("group");
        only_run.push(
            RunCommand::new(Cmd::new(&["usermod", "-aG", "docker", "nvidia"]), "group")
                .undoing(Cmd::new(&["gpasswd", "-d", "nvidia", "docker"])),
        );
        let id = Executor::new(&ctx, &Silent).apply(&only_run).unwrap().id.unwrap();
        let e = Executor::new(&ctx, &Silent).undo(None, false).unwrap_err();
        assert!(e.to_string().contains("nothing was changed"), "{e}");
        let records = Journal::new(&ctx.host).read().unwrap().records;
        assert_eq!(records.len(), 1, "no undo record");
        assert_eq!(records[0].id, id);
    }

    #[test]
    fn a_file_changed_since_planning_stops_the_plan_before_anything() {
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir(root.path().join("etc")).unwrap();
        std::fs::write(root.path().join("etc/demo.conf"), "edited\n").unwrap();
        let ctx = context(root.path(), TABLE);
        let e = Executor::new(&ctx, &Silent).apply(&plan(false)).unwrap_err();
        assert!(e.to_string().contains("changed since it was read"), "{e}");
        assert!(Journal::new(&ctx.host).read().unwrap().records.is_empty());
        assert!(ctx.host.list_dir(BACKUPS).unwrap().is_empty(), "no backup left");
    }
}
