//! The only code that changes the host. For every file it writes it re-reads the file and compares
//! it with what the plan saw, backs the original up to `<root>/var/lib/jetdoc/backups/<id>/`,
//! writes atomically (temp file in the same directory, fsync, rename, same mode and owner), and
//! records a journal entry in `<root>/var/lib/jetdoc/journal.jsonl` so that `--undo` can restore
//! it. When a later step fails (a command, the validation, the restart, the runtime check) the
//! files written so far are restored and Docker is restarted again.

use serde::{Deserialize, Serialize};
use std::fs;
use std::io::Write;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::{Cmd, Plan, Step};
use crate::host::{CmdStatus, Host};
use crate::probes::docker::{query_daemon, DaemonState};

/// jetdoc's own state on the host (inside the root).
pub const STATE_DIR: &str = "/var/lib/jetdoc";
const JOURNAL: &str = "journal.jsonl";
/// apt may download hundreds of MB on a slow link.
const RUN_TIMEOUT: Duration = Duration::from_secs(30 * 60);
const RESTART_TIMEOUT: Duration = Duration::from_secs(180);
/// How long Docker may take to answer again after its restart command returned.
const COME_BACK: Duration = Duration::from_secs(20);

/// Progress of an apply, for the command layer to show (core never prints).
pub trait Reporter {
    fn step(&self, what: &str);
}

pub struct Silent;
impl Reporter for Silent {
    fn step(&self, _: &str) {}
}

#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    #[error("{path} changed since it was read (another program edited it); nothing was written: run jetdoc fix again")]
    Changed { path: String },
    #[error("{path}: {source}")]
    Io { path: String, source: std::io::Error },
    #[error("{0}")]
    Journal(String),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> ApplyError + '_ {
    move |source| ApplyError::Io { path: path.display().to_string(), source }
}

#[derive(Debug, Clone, Serialize)]
pub struct ChangedFile {
    pub path: String,
    /// The backup of the original (inside the root), `None` when the file was created.
    pub backup: Option<String>,
}

/// What an apply (or undo) did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Applied {
    pub fix: String,
    /// The journal id (`--undo ID`), when files were written.
    pub id: Option<String>,
    pub changed: Vec<ChangedFile>,
    pub ran: Vec<String>,
    pub notes: Vec<String>,
    pub rolled_back: bool,
    pub error: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct JournalFile {
    pub path: String,
    /// Backup path relative to the state dir; `None`: the file did not exist before.
    pub backup: Option<String>,
    pub mode: Option<u32>,
    pub uid: Option<u32>,
    pub gid: Option<u32>,
    pub sha256_after: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct JournalEntry {
    pub id: String,
    pub fix: String,
    /// `apply`, `rolled-back` (not undoable: already restored) or `undo`.
    pub action: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub undoes: Option<String>,
    pub time: u64,
    pub files: Vec<JournalFile>,
    pub commands: Vec<String>,
    /// The restart command used, so that undo restarts the same way.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restart: Option<Vec<String>>,
}

pub fn sha256(bytes: &[u8]) -> String {
    crate::digest::sha256_hex(bytes)
}

fn state_dir(host: &Host) -> PathBuf {
    host.root().join(STATE_DIR.trim_start_matches('/'))
}

fn read_optional(path: &Path) -> Result<Option<Vec<u8>>, ApplyError> {
    match fs::read(path) {
        Ok(b) => Ok(Some(b)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io(path)(e)),
    }
}

/// Writes `bytes` to `path` atomically: a temp file in the same directory, fsync, the mode and
/// owner of `like` (0644 root for a new file), rename over the target, fsync the directory.
pub fn atomic_write(
    path: &Path,
    bytes: &[u8],
    mode: Option<u32>,
    owner: Option<(u32, u32)>,
) -> Result<(), ApplyError> {
    let dir = path
        .parent()
        .ok_or_else(|| ApplyError::Journal(format!("{} has no parent directory", path.display())))?;
    fs::create_dir_all(dir).map_err(io(dir))?;
    let mut tmp = tempfile::Builder::new().prefix(".jetdoc-").tempfile_in(dir).map_err(io(dir))?;
    tmp.write_all(bytes).map_err(io(tmp.path()))?;
    tmp.as_file().sync_all().map_err(io(path))?;
    fs::set_permissions(tmp.path(), fs::Permissions::from_mode(mode.unwrap_or(0o644) & 0o7777))
        .map_err(io(path))?;
    if let Some((uid, gid)) = owner {
        // Only root can give a file away; keeping our own uid is the best a user can do.
        if tmp.as_file().metadata().map(|m| (m.uid(), m.gid())).ok() != Some((uid, gid)) {
            std::os::unix::fs::fchown(tmp.as_file(), Some(uid), Some(gid)).map_err(io(path))?;
        }
    }
    tmp.persist(path).map_err(|e| io(path)(e.error))?;
    fs::File::open(dir).and_then(|d| d.sync_all()).map_err(io(dir))?;
    Ok(())
}

/// `20261122T213900Z-gpu-runtime`, made unique among the backups.
fn new_id(state: &Path, fix: &str) -> String {
    let secs = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    let base = format!("{}-{}", utc_stamp(secs), fix.replace('.', "-"));
    let mut id = base.clone();
    let mut n = 2;
    while state.join("backups").join(&id).exists() || journal_has(state, &id) {
        id = format!("{base}-{n}");
        n += 1;
    }
    id
}

fn journal_has(state: &Path, id: &str) -> bool {
    read_journal(state).map(|j| j.iter().any(|e| e.id == id)).unwrap_or(false)
}

/// `YYYYMMDDTHHMMSSZ` from Unix seconds (days-to-civil, proleptic Gregorian).
fn utc_stamp(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}{m:02}{d:02}T{:02}{:02}{:02}Z", rem / 3600, rem % 3600 / 60, rem % 60)
}

pub fn read_journal(state: &Path) -> Result<Vec<JournalEntry>, ApplyError> {
    let path = state.join(JOURNAL);
    let Some(bytes) = read_optional(&path)? else { return Ok(Vec::new()) };
    String::from_utf8_lossy(&bytes)
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            serde_json::from_str(l).map_err(|e| {
                ApplyError::Journal(format!(
                    "{} line {}: {e}; the journal is damaged: restore files from {}/backups by hand",
                    path.display(),
                    i + 1,
                    state.display()
                ))
            })
        })
        .collect()
}

fn append_journal(state: &Path, entry: &JournalEntry) -> Result<(), ApplyError> {
    fs::create_dir_all(state).map_err(io(state))?;
    let path = state.join(JOURNAL);
    let mut f = fs::OpenOptions::new().create(true).append(true).open(&path).map_err(io(&path))?;
    let line = serde_json::to_string(entry).map_err(|e| ApplyError::Journal(e.to_string()))?;
    writeln!(f, "{line}").map_err(io(&path))?;
    f.sync_all().map_err(io(&path))
}

fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

/// A file written by this apply, with what is needed to put it back.
struct Written {
    path: String,
    real: PathBuf,
    original: Option<Vec<u8>>,
    mode: Option<u32>,
    owner: Option<(u32, u32)>,
    journal: JournalFile,
}

fn run_cmd(host: &Host, cmd: &Cmd, timeout: Duration) -> Result<(), String> {
    let args: Vec<&str> = cmd.argv[1..].iter().map(String::as_str).collect();
    let out = host.run_with_timeout(&cmd.argv[0], &args, timeout);
    if out.success() {
        Ok(())
    } else {
        Err(out.describe_failure(&cmd.display()))
    }
}

/// Waits until `docker info` answers (Docker may take a moment after its restart command).
fn wait_for_docker(host: &Host) -> DaemonState {
    let deadline = std::time::Instant::now() + COME_BACK;
    loop {
        let (state, _) = query_daemon(host);
        let retry = matches!(state, DaemonState::Unreachable(_))
            && std::time::Instant::now() < deadline
            && host.runner_kind() == "real";
        if !retry {
            return state;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// Executes a plan. `Err` only when nothing could be started (the file changed since planning,
/// the state dir is not writable); a failure half-way is an `Applied` with `error` set, after the
/// rollback.
pub fn apply(host: &Host, plan: &Plan, rep: &dyn Reporter) -> Result<Applied, ApplyError> {
    let state = state_dir(host);
    let mut out = Applied { fix: plan.fix.to_string(), notes: plan.notes.clone(), ..Applied::default() };
    let id = new_id(&state, plan.fix);
    let mut written: Vec<Written> = Vec::new();
    let mut restart: Option<Cmd> = None;
    let mut failure: Option<String> = None;
    let last_write = plan.steps.iter().rposition(|s| matches!(s, Step::Write(_)));
    // The restart the plan will use, recorded with the entry so that undo restarts the same way.
    let planned_restart = plan.steps.iter().find_map(|s| match s {
        Step::RestartDocker { cmd } => Some(cmd.argv.clone()),
        _ => None,
    });
    let planned_commands: Vec<String> = plan
        .steps
        .iter()
        .filter_map(|s| match s {
            Step::Run { cmd, .. } | Step::Validate { cmd, .. } | Step::RestartDocker { cmd } => {
                Some(cmd.display())
            }
            _ => None,
        })
        .collect();
    let entry = |action: &str, files: Vec<JournalFile>| JournalEntry {
        id: id.clone(),
        fix: plan.fix.to_string(),
        action: action.into(),
        undoes: None,
        time: now(),
        files,
        commands: planned_commands.clone(),
        restart: planned_restart.clone(),
    };

    for (index, step) in plan.steps.iter().enumerate() {
        let result: Result<(), String> = match step {
            Step::Run { cmd, .. } => {
                rep.step(&format!("running {}", cmd.display()));
                let r = run_cmd(host, cmd, RUN_TIMEOUT);
                out.ran.push(cmd.display());
                r
            }
            Step::Write(fc) => {
                let real = host.resolve(&fc.path).map_err(|a| ApplyError::Journal(a.to_string()))?;
                let current = read_optional(&real)?;
                if current != fc.before {
                    if written.is_empty() {
                        return Err(ApplyError::Changed { path: fc.path.clone() });
                    }
                    Err(format!("{} changed since it was read", fc.path))
                } else {
                    rep.step(&format!("writing {}", fc.path));
                    let meta = fs::metadata(&real).ok();
                    let mode = meta.as_ref().map(|m| m.mode() & 0o7777);
                    let owner = meta.as_ref().map(|m| (m.uid(), m.gid()));
                    let backup_rel = match &current {
                        Some(bytes) => {
                            let rel = format!("backups/{id}/{}", fc.path.trim_start_matches('/'));
                            atomic_write(&state.join(&rel), bytes, mode, owner)?;
                            Some(rel)
                        }
                        None => None,
                    };
                    atomic_write(&real, &fc.after, mode, owner)?;
                    out.changed.push(ChangedFile {
                        path: fc.path.clone(),
                        backup: backup_rel.as_ref().map(|r| format!("{STATE_DIR}/{r}")),
                    });
                    written.push(Written {
                        path: fc.path.clone(),
                        real,
                        original: current,
                        mode,
                        owner,
                        journal: JournalFile {
                            path: fc.path.clone(),
                            backup: backup_rel,
                            mode,
                            uid: owner.map(|o| o.0),
                            gid: owner.map(|o| o.1),
                            sha256_after: sha256(&fc.after),
                        },
                    });
                    if Some(index) == last_write {
                        // Journaled before anything can go wrong with Docker: even if jetdoc is
                        // killed during the restart, `--undo` knows this change.
                        append_journal(
                            &state,
                            &entry("apply", written.iter().map(|w| w.journal.clone()).collect()),
                        )?;
                        out.id = Some(id.clone());
                    }
                    Ok(())
                }
            }
            Step::Validate { cmd, file } => {
                rep.step(&format!("validating {file}"));
                let real =
                    host.resolve(file).map(|p| p.display().to_string()).unwrap_or_else(|_| file.clone());
                let argv: Vec<String> =
                    cmd.argv.iter().map(|a| if a == file { real.clone() } else { a.clone() }).collect();
                let args: Vec<&str> = argv[1..].iter().map(String::as_str).collect();
                let r = host.run_with_timeout(&argv[0], &args, RESTART_TIMEOUT);
                out.ran.push(cmd.display());
                match r.status {
                    CmdStatus::Exited(0) => Ok(()),
                    CmdStatus::NotFound => {
                        out.notes.push(
                            "dockerd is not on PATH: the new file was not validated before the restart"
                                .into(),
                        );
                        Ok(())
                    }
                    _ => {
                        Err(format!("dockerd rejects the new {file}: {}", r.describe_failure(&cmd.display())))
                    }
                }
            }
            Step::RestartDocker { cmd } => {
                rep.step("restarting Docker");
                restart = Some(cmd.clone());
                out.ran.push(cmd.display());
                run_cmd(host, cmd, RESTART_TIMEOUT).map_err(|e| format!("Docker did not restart: {e}"))
            }
            Step::VerifyRuntime { runtime, default } => {
                rep.step("checking that Docker lists the runtime");
                match wait_for_docker(host) {
                    DaemonState::Up(info) if !info.runtimes.contains_key(runtime) => {
                        Err(format!(
                            "Docker came back but does not list the {runtime} runtime (does this daemon read /etc/docker/daemon.json? rootless Docker, DOCKER_HOST or a --config-file in its service unit point elsewhere)"
                        ))
                    }
                    DaemonState::Up(info) if *default && info.default_runtime != *runtime => {
                        Err(format!("Docker came back with default runtime {} instead of {runtime}", info.default_runtime))
                    }
                    DaemonState::Up(_) => Ok(()),
                    other => Err(format!("Docker did not come back after the restart ({})", describe(&other))),
                }
            }
        };
        if let Err(e) = result {
            failure = Some(e);
            break;
        }
    }

    match failure {
        None => {}
        Some(err) => {
            out.error = Some(err);
            if !written.is_empty() {
                rep.step("restoring the original files");
                for w in written.iter().rev() {
                    match &w.original {
                        Some(bytes) => atomic_write(&w.real, bytes, w.mode, w.owner)?,
                        None => fs::remove_file(&w.real).map_err(io(&w.real))?,
                    }
                    out.notes.push(format!("restored {} from the backup", w.path));
                }
                out.rolled_back = true;
                if let Some(cmd) = &restart {
                    rep.step("restarting Docker with the original configuration");
                    out.ran.push(cmd.display());
                    match run_cmd(host, cmd, RESTART_TIMEOUT) {
                        Ok(()) => match wait_for_docker(host) {
                            DaemonState::Up(_) => out
                                .notes
                                .push("Docker is running again with the original configuration".into()),
                            other => {
                                out.notes.push(format!("Docker is still not answering: {}", describe(&other)))
                            }
                        },
                        Err(e) => out.notes.push(format!(
                            "the second restart failed too: {e}; check `journalctl -u docker -n 50`"
                        )),
                    }
                }
                // Same id: the apply entry above is cancelled and no longer offered to --undo.
                append_journal(
                    &state,
                    &entry("rolled-back", written.iter().map(|w| w.journal.clone()).collect()),
                )?;
                out.id = Some(id.clone());
            }
        }
    }
    Ok(out)
}

fn describe(state: &DaemonState) -> String {
    match state {
        DaemonState::Up(i) => format!("Docker {}", i.server_version),
        DaemonState::NotInstalled => "docker is not installed".into(),
        DaemonState::Unreachable(u) => format!("{u:?}"),
        DaemonState::NotProbed(w) => w.clone(),
    }
}

/// Restores what journal entry `id` (default: the latest applied and not undone) changed. A file
/// edited since is left alone unless `force`.
pub fn undo(host: &Host, id: Option<&str>, force: bool, rep: &dyn Reporter) -> Result<Applied, ApplyError> {
    let state = state_dir(host);
    let journal = read_journal(&state)?;
    // Undone by a later `undo` entry, or restored at once by a `rolled-back` entry of the same id.
    let undone: Vec<&str> = journal
        .iter()
        .filter_map(|e| if e.action == "rolled-back" { Some(e.id.as_str()) } else { e.undoes.as_deref() })
        .collect();
    let candidates: Vec<&JournalEntry> =
        journal.iter().filter(|e| e.action == "apply" && !undone.contains(&e.id.as_str())).collect();
    let entry = match id {
        Some(id) => match journal.iter().find(|e| e.id == id) {
            Some(e) if e.action != "apply" => {
                return Err(ApplyError::Journal(format!(
                    "journal entry {id} is a {}, not a change that can be undone",
                    e.action
                )))
            }
            Some(_) if undone.contains(&id) => {
                return Err(ApplyError::Journal(format!("{id} was already undone or rolled back")))
            }
            Some(e) => e,
            None => {
                return Err(ApplyError::Journal(format!(
                    "no journal entry {id} in {}; ids: {}",
                    state.join(JOURNAL).display(),
                    ids(&candidates)
                )))
            }
        },
        None => match candidates.last() {
            Some(e) => e,
            None => {
                return Err(ApplyError::Journal(format!(
                    "nothing to undo: {} lists no change that is not undone yet",
                    state.join(JOURNAL).display()
                )))
            }
        },
    };
    let mut out = Applied { fix: entry.fix.clone(), ..Applied::default() };
    // Check every file first: undo all or nothing.
    let mut restores = Vec::new();
    for f in &entry.files {
        let real = host.resolve(&f.path).map_err(|a| ApplyError::Journal(a.to_string()))?;
        let current = read_optional(&real)?;
        if !force && current.as_deref().map(sha256).as_deref() != Some(f.sha256_after.as_str()) {
            return Err(ApplyError::Journal(format!(
                "{} was changed after jetdoc wrote it: not undoing {} (pass --force to restore the backup anyway)",
                f.path, entry.id
            )));
        }
        let original = match &f.backup {
            Some(rel) => Some(fs::read(state.join(rel)).map_err(io(&state.join(rel)))?),
            None => None,
        };
        restores.push((f, real, original));
    }
    for (f, real, original) in restores {
        rep.step(&format!("restoring {}", f.path));
        match original {
            Some(bytes) => atomic_write(&real, &bytes, f.mode, f.uid.zip(f.gid))?,
            None => {
                if real.exists() {
                    fs::remove_file(&real).map_err(io(&real))?
                }
            }
        }
        out.changed.push(ChangedFile {
            path: f.path.clone(),
            backup: f.backup.as_ref().map(|r| format!("{STATE_DIR}/{r}")),
        });
    }
    if let Some(argv) = &entry.restart {
        let cmd = Cmd { argv: argv.clone() };
        rep.step("restarting Docker");
        out.ran.push(cmd.display());
        if let Err(e) = run_cmd(host, &cmd, RESTART_TIMEOUT) {
            out.error = Some(format!("files restored, but Docker did not restart: {e}"));
        }
    }
    let undo_id = new_id(&state, &format!("undo-{}", entry.fix));
    append_journal(
        &state,
        &JournalEntry {
            id: undo_id.clone(),
            fix: entry.fix.clone(),
            action: "undo".into(),
            undoes: Some(entry.id.clone()),
            time: now(),
            files: Vec::new(),
            commands: out.ran.clone(),
            restart: None,
        },
    )?;
    out.id = Some(entry.id.clone());
    Ok(out)
}

fn ids(entries: &[&JournalEntry]) -> String {
    if entries.is_empty() {
        "none".into()
    } else {
        entries.iter().map(|e| e.id.as_str()).collect::<Vec<_>>().join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_stamps() {
        assert_eq!(utc_stamp(0), "19700101T000000Z");
        assert_eq!(utc_stamp(1_795_383_540), "20261122T213900Z");
        assert_eq!(utc_stamp(951_782_400), "20000229T000000Z");
    }

    #[test]
    fn atomic_write_keeps_the_mode() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("daemon.json");
        fs::write(&p, "{}").unwrap();
        fs::set_permissions(&p, fs::Permissions::from_mode(0o600)).unwrap();
        let m = fs::metadata(&p).unwrap();
        atomic_write(&p, b"{\"a\": 1}\n", Some(m.mode() & 0o7777), Some((m.uid(), m.gid()))).unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"{\"a\": 1}\n");
        assert_eq!(fs::metadata(&p).unwrap().mode() & 0o777, 0o600);
        // No temp file left behind.
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
