//! The one executor of host changes. `fix` and `provision` plan (read-only) and hand a [`Plan`]
//! of [`Step`]s to an [`Executor`], which alone changes the host: it takes the state-directory
//! lock, journals the intent, executes and verifies each step, rolls back on failure, and undoes a
//! journaled change later (`jetdoc fix --undo`).
//!
//! # A step
//! A step describes itself (one line and, for a file, a diff for `--dry-run`; its fields as JSON
//! for `--format json`), then, under the lock:
//! 1. [`Step::prepare`]: checks that the host is still as planned (a file's bytes), saves what its
//!    undo needs (the executor keeps a file's backup under the journal id) and returns its
//!    [`Undo`]: restore a file, run a command, run the step again after the others are undone
//!    (restart Docker), nothing to undo, or "cannot be undone" with the reason. Nothing on the host
//!    changes in this phase except backups.
//! 2. [`Step::execute`]: makes the change.
//! 3. [`Step::verify`]: checks it took. The probes are re-read first (`Context::invalidate`), so
//!    a step verifies against the host as it is now, not as it was when planned.
//!
//! # Adding a kind of step
//! Implement [`Step`] for a struct in the module that owns the domain (`provision/` for "pull an
//! image", "install a systemd unit"; nothing here changes) and `#[derive(Serialize)]` it: its
//! fields are its JSON description. Give it a stable kebab-case `kind`, a `describe` line, and an
//! honest `Undo` from `prepare`: a file write goes through [`StepCx::back_up`] and
//! [`Undo::RestoreFile`] (or reuse [`WriteFile`]); a command that can be taken back returns
//! [`Undo::Run`] with the command that does it (`docker rmi TAG`, `systemctl disable --now UNIT`);
//! one that reloads what other steps wrote returns [`Undo::Again`] (it runs again after them, as
//! Docker's restart does); anything else returns [`Undo::Cannot`] with what the user can do. Run
//! commands through [`StepCx::run`] (it goes through the `Host`'s runner and is recorded), write
//! files through the `Host`'s in-root primitives, report progress through [`StepCx::progress`].
//! The executor needs no change: the journal stores the `Undo` values, and `--undo` carries them
//! out without the step object.
//!
//! # Executing a plan
//! ```no_run
//! # use jetdoc::steps::{ExecError, Executor, Plan, RestartDocker, Silent, WriteFile};
//! # fn demo(ctx: &jetdoc::context::Context, before: Vec<u8>, after: Vec<u8>) -> Result<(), ExecError> {
//! let mut plan = Plan::new("gpu-runtime");
//! plan.push(WriteFile::new("/etc/docker/daemon.json", Some(before), after, "register the nvidia runtime"));
//! plan.push(RestartDocker::for_host(&ctx.host));
//! print!("{}", plan.render()); // --dry-run: the plan; nothing changes
//! let mut exec = Executor::new(ctx, &Silent); // a Reporter shows progress (core never prints)
//! let outcome = exec.apply(&plan)?; // Err: nothing changed (lock, journal, a file moved)
//! if outcome.error.is_some() {
//!     // failed half-way and rolled back (outcome.rolled_back), journaled as `rolled-back`
//! } else if let Some(id) = &outcome.id {
//!     exec.undo(Some(id), false)?; // what `jetdoc fix --undo ID` does
//! }
//! # Ok(()) }
//! ```
//! `Executor::apply`:
//! 1. takes an exclusive lock on `<root>/var/lib/jetdoc/lock` (waiting, with a message, while
//!    another jetdoc holds it), then recovers from a crash of an earlier run: a torn last journal
//!    line is cut, `.jetdoc-*` temp files and backups no journal entry names are removed;
//! 2. prepares every step (backups under `var/lib/jetdoc/backups/<id>/<path>`);
//! 3. appends the write-ahead record (below) with one `write` and an fsync; if that fails,
//!    nothing has changed and the backups are removed;
//! 4. executes and verifies each step in order; on the first failure it undoes what ran, in
//!    reverse (files restored, undo commands run, `Again` steps run once more) and appends a
//!    `rolled-back` record under the same id.
//!
//! # The journal
//! `<root>/var/lib/jetdoc/journal.jsonl`, one JSON object per line, appended only:
//! ```json
//! {"id":"20261122T213900Z-gpu-runtime","fix":"gpu-runtime","action":"apply","time":1795383540,
//!  "files":[{"path":"/etc/docker/daemon.json","backup":"backups/20261122T213900Z-gpu-runtime/etc/docker/daemon.json",
//!            "mode":416,"uid":0,"gid":0,"sha256_before":"…","sha256_after":"…"}],
//!  "commands":["dockerd --validate --config-file /etc/docker/daemon.json","systemctl restart docker"],
//!  "restart":["systemctl","restart","docker"],
//!  "undo":[{"kind":"restore-file","path":"/etc/docker/daemon.json",…},{"kind":"nothing"},
//!          {"kind":"again","argv":["systemctl","restart","docker"]},{"kind":"nothing"}]}
//! ```
//! `action` is `apply` (written before the first change: the intent), `rolled-back` (the apply of
//! the same id failed and was restored at once) or `undo` (with `undoes`: the id it restored). An
//! `apply` record is undoable until a `rolled-back` or `undo` record names it. `undo` has one entry
//! per step (restore-file, run, again, cannot, nothing); records written before it existed are
//! read from `files` and `restart`. Backups are addressed by id and path, never by the `backup`
//! string of a record (a hostile root could point it anywhere); modes are restored as permission
//! bits only. A torn last line (a crash in the middle of a write) is ignored, and cut at the next
//! lock.

mod command;
mod copy;
mod docker;
mod executor;
pub mod journal;
mod link;
mod lock;
mod write;

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::context::Context;
use crate::host::{CmdOutput, CmdStatus, Host, HostError};

pub use command::RunCommand;
pub use copy::CopyFile;
pub use docker::{docker_restart_cmd, RestartDocker, ValidateDaemonConfig, VerifyRuntime};
pub use executor::{ChangedFile, ExecError, Executor, Outcome};
pub use journal::{FileRecord, STATE_DIR};
pub use link::Symlink;
pub use write::{unified_diff, WriteFile};

/// A command line: program and arguments, never through a shell unless the program is `sh`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cmd {
    pub argv: Vec<String>,
}

impl Cmd {
    pub fn new(argv: &[&str]) -> Cmd {
        Cmd { argv: argv.iter().map(|s| s.to_string()).collect() }
    }

    /// Shell-quoted for display.
    pub fn display(&self) -> String {
        self.argv
            .iter()
            .map(|a| {
                if !a.is_empty() && a.chars().all(|c| c.is_ascii_alphanumeric() || "-_./=:+,@%".contains(c)) {
                    a.clone()
                } else {
                    format!("'{}'", a.replace('\'', r"'\''"))
                }
            })
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// How a step is taken back, by a rollback or by `jetdoc fix --undo`. Stored in the journal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Undo {
    /// The step changes nothing (a validation, a check).
    Nothing,
    /// Put the file back from the backup kept under the journal id (or remove it: it was created).
    RestoreFile(FileRecord),
    /// Run this command.
    Run { argv: Vec<String> },
    /// Run the step again once everything else is undone, so that what it loads is the restored
    /// state (restart Docker after daemon.json is put back).
    Again { argv: Vec<String> },
    /// The change stays; `why` tells the user what they can do instead.
    Cannot { what: String, why: String },
    /// Put a symlink back as it was: remove the one jetdoc made (`before` `None`) or point it at
    /// `before` again. Taken back only while the link still points at `after`.
    RestoreLink { path: String, before: Option<String>, after: String },
}

impl Undo {
    /// Whether undoing this takes something back (a file, a command's effect).
    pub fn takes_back(&self) -> bool {
        matches!(self, Undo::RestoreFile(_) | Undo::Run { .. } | Undo::RestoreLink { .. })
    }
}

/// A unified diff of one file, for `--dry-run` and JSON.
#[derive(Debug, Clone, Serialize)]
pub struct FileDiff {
    pub path: String,
    pub diff: String,
}

/// Why a step failed.
#[derive(Debug, thiserror::Error)]
pub enum StepError {
    /// The host is no longer as the plan saw it: nothing was done; plan again.
    #[error(
        "{path} changed since it was read (another program edited it); nothing was written: run jetdoc again"
    )]
    Changed { path: String },
    #[error(transparent)]
    Host(#[from] HostError),
    #[error("{0}")]
    Failed(String),
}

/// The fields of a step as JSON: every `#[derive(Serialize)]` step has it.
pub trait StepJson {
    fn to_json(&self) -> serde_json::Value;
}

impl<T: Serialize> StepJson for T {
    fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }
}

/// One change to the host. See the module documentation for the life of a step and how to add a
/// kind.
pub trait Step: StepJson + fmt::Debug {
    /// Stable kebab-case kind, the `kind` of its JSON (`write`, `run`, `restart-docker`).
    fn kind(&self) -> &'static str;
    /// One line for people: `write /etc/docker/daemon.json (why)`, `run: CMD   # why`.
    fn describe(&self) -> String;
    /// The diff of a file the step writes.
    fn diff(&self) -> Option<FileDiff> {
        None
    }
    /// The command the step runs, for the journal's list of commands.
    fn command(&self) -> Option<&Cmd> {
        None
    }
    /// Before any change: check the host is as planned, save what undo needs, say how to undo.
    fn prepare(&self, _cx: &mut StepCx<'_>) -> Result<Undo, StepError> {
        Ok(Undo::Nothing)
    }
    /// Make the change. `undo` is what `prepare` returned (a file's mode and owner are there).
    fn execute(&self, cx: &mut StepCx<'_>, undo: &Undo) -> Result<(), StepError>;
    /// Check the change took; the probes were refreshed just before.
    fn verify(&self, _cx: &mut StepCx<'_>) -> Result<(), StepError> {
        Ok(())
    }
    /// For `Undo::Again`: run once more after a rollback restored the rest. Notes what happened.
    fn again(&self, cx: &mut StepCx<'_>) -> Result<(), StepError> {
        self.execute(cx, &Undo::Nothing)?;
        cx.ctx.invalidate();
        self.verify(cx)
    }
}

/// Progress of the executor, for the command layer to show (core never prints).
pub trait Reporter {
    /// A step (or the executor itself) starts doing something.
    fn step(&self, what: &str);
}

/// Shows nothing.
pub struct Silent;

impl Reporter for Silent {
    fn step(&self, _: &str) {}
}

/// What a step works with: the context (host and probes), the journal id, the reporter, and the
/// record of commands run and notes for the outcome.
pub struct StepCx<'a> {
    pub ctx: &'a Context,
    /// The journal id of this run; backups live under it.
    pub id: &'a str,
    rep: &'a dyn Reporter,
    pub(crate) ran: Vec<String>,
    pub(crate) notes: Vec<String>,
}

impl<'a> StepCx<'a> {
    pub(crate) fn new(ctx: &'a Context, id: &'a str, rep: &'a dyn Reporter) -> StepCx<'a> {
        StepCx { ctx, id, rep, ran: Vec::new(), notes: Vec::new() }
    }

    pub fn host(&self) -> &Host {
        &self.ctx.host
    }

    pub fn progress(&self, what: &str) {
        self.rep.step(what);
    }

    /// A note for the user in the outcome.
    pub fn note(&mut self, note: impl Into<String>) {
        self.notes.push(note.into());
    }

    /// Runs a command through the host's runner and records it in the outcome.
    pub fn run(&mut self, cmd: &Cmd, timeout: Duration) -> CmdOutput {
        self.run_shown_as(cmd, cmd.display(), timeout)
    }

    /// Runs `cmd` but records it as `shown` (the command with paths inside the root, when `cmd`
    /// names them as they are on this machine).
    pub fn run_shown_as(&mut self, cmd: &Cmd, shown: String, timeout: Duration) -> CmdOutput {
        self.ran.push(shown);
        let Some((program, args)) = cmd.argv.split_first() else {
            return CmdOutput {
                status: CmdStatus::Failed("empty command line".into()),
                stdout: String::new(),
                stderr: String::new(),
            };
        };
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        self.ctx.host.run_with_timeout(program, &args, timeout)
    }

    /// Saves `bytes` (with the mode and owner of the original) as the backup of `path` for this
    /// run; returns the backup's path relative to the state directory.
    /// The backup must resolve inside the state directory (undo refuses any other), so a
    /// `backups` link that leads elsewhere stops the run before anything changes.
    pub fn back_up(&self, path: &str, original: &crate::host::FileState) -> Result<String, StepError> {
        let rel = journal::backup_rel(self.id, path).map_err(StepError::Failed)?;
        let backup = format!("{STATE_DIR}/{rel}");
        journal::inside_state_dir(&self.ctx.host, &backup).map_err(StepError::Failed)?;
        self.ctx.host.write_atomic(
            &backup,
            &original.bytes,
            original.mode & 0o777,
            Some((original.uid, original.gid)),
        )?;
        Ok(rel)
    }

    /// `back_up` for a file too big to hold in memory (a binary, a bundle): streamed from `path`
    /// to the backup. Returns the backup's path relative to the state directory and the
    /// original's metadata and sha256; `None` when `path` is missing.
    pub fn back_up_file(
        &self,
        path: &str,
    ) -> Result<Option<(String, crate::host::FileState, String)>, StepError> {
        let host = &self.ctx.host;
        let Some((file, meta)) = host.open_file(path)? else { return Ok(None) };
        let rel = journal::backup_rel(self.id, path).map_err(StepError::Failed)?;
        let backup = format!("{STATE_DIR}/{rel}");
        journal::inside_state_dir(host, &backup).map_err(StepError::Failed)?;
        let mut hashing = crate::digest::HashingReader::new(file);
        host.write_atomic_from(&backup, &mut hashing, meta.mode & 0o777, Some((meta.uid, meta.gid)))?;
        Ok(Some((rel, meta, hashing.hex())))
    }
}

/// Steps in order, with notes for the user. A plan is made read-only and executed by
/// `Executor::apply`; `render` is its dry run.
#[derive(Debug, Default)]
pub struct Plan {
    /// The fix id (or provision stage) the plan belongs to, in the journal as `fix`.
    pub name: String,
    pub steps: Vec<Box<dyn Step>>,
    /// Things the user should know (a validation that cannot run, log out to get a new group).
    pub notes: Vec<String>,
    /// Shown but never applied (`docker.iptables-raw`: the user picks one of two remedies).
    pub plan_only: bool,
}

impl Plan {
    pub fn new(name: impl Into<String>) -> Plan {
        Plan { name: name.into(), ..Plan::default() }
    }

    pub fn push(&mut self, step: impl Step + 'static) {
        self.steps.push(Box::new(step));
    }

    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }

    /// The plan for people: each step's line and diff, then the notes (the `--dry-run` output).
    pub fn render(&self) -> String {
        let mut out = String::new();
        if self.is_empty() {
            out.push_str(&format!("{}: nothing to do\n", self.name));
        } else {
            let only = if self.plan_only { " (plan only, not applied)" } else { "" };
            out.push_str(&format!("{}:{only}\n", self.name));
        }
        for step in &self.steps {
            out.push_str(&format!("  {}\n", step.describe()));
            if let Some(d) = step.diff() {
                out.push_str(&d.diff);
            }
        }
        for n in &self.notes {
            out.push_str(&format!("  note: {n}\n"));
        }
        out
    }

    /// Each step as JSON, `kind` first.
    pub fn steps_json(&self) -> Vec<serde_json::Value> {
        self.steps
            .iter()
            .map(|s| {
                let mut obj = serde_json::Map::new();
                obj.insert("kind".into(), s.kind().into());
                match s.to_json() {
                    serde_json::Value::Object(fields) => obj.extend(fields),
                    serde_json::Value::Null => {}
                    other => {
                        obj.insert("value".into(), other);
                    }
                }
                serde_json::Value::Object(obj)
            })
            .collect()
    }

    pub fn diffs(&self) -> Vec<FileDiff> {
        self.steps.iter().filter_map(|s| s.diff()).collect()
    }
}

impl Serialize for Plan {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("Plan", 4)?;
        st.serialize_field("name", &self.name)?;
        st.serialize_field("plan_only", &self.plan_only)?;
        st.serialize_field("steps", &self.steps_json())?;
        st.serialize_field("notes", &self.notes)?;
        st.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_are_quoted_for_display() {
        assert_eq!(Cmd::new(&["sh", "-c", "kill -HUP 1"]).display(), "sh -c 'kill -HUP 1'");
        assert_eq!(Cmd::new(&["usermod", "-aG", "docker", "nvidia"]).display(), "usermod -aG docker nvidia");
    }

    #[test]
    fn a_plan_renders_its_steps_and_json_kinds() {
        let mut plan = Plan::new("demo");
        plan.push(RunCommand::new(Cmd::new(&["true"]), "nothing really"));
        plan.push(WriteFile::new("/etc/demo.conf", None, b"a = 1\n".to_vec(), "a demo file"));
        plan.notes.push("a note".into());
        assert_eq!(
            plan.render(),
            "demo:\n  run: true   # nothing really\n  write /etc/demo.conf (a demo file)\n--- /dev/null\n+++ b/etc/demo.conf\n@@ -0,0 +1 @@\n+a = 1\n  note: a note\n"
        );
        let kinds: Vec<String> =
            plan.steps_json().iter().map(|s| s["kind"].as_str().unwrap().into()).collect();
        assert_eq!(kinds, ["run", "write"]);
        assert_eq!(plan.steps_json()[1]["path"], "/etc/demo.conf");
        assert_eq!(Plan::new("x").render(), "x: nothing to do\n");
    }
}
