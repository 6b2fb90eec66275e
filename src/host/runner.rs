//! Command runners: the real one (duct, with a timeout and `LC_ALL=C`), a fake one answering from
//! a fixture's `commands.toml`, and an offline one for foreign roots, where the running machine's
//! commands would describe the wrong device.

use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CmdStatus {
    Exited(i32),
    /// The program is not installed (not on `PATH`).
    NotFound,
    TimedOut(Duration),
    /// Commands are not run because the inspected root is not this machine.
    Offline,
    /// The program exists but could not be started (or was killed by a signal).
    Failed(String),
}

#[derive(Debug, Clone)]
pub struct CmdOutput {
    pub status: CmdStatus,
    pub stdout: String,
    pub stderr: String,
}

impl CmdOutput {
    pub fn success(&self) -> bool {
        self.status == CmdStatus::Exited(0)
    }

    fn status_only(status: CmdStatus) -> CmdOutput {
        CmdOutput { status, stdout: String::new(), stderr: String::new() }
    }

    /// One line saying why the command gave no usable answer.
    pub fn describe_failure(&self, cmdline: &str) -> String {
        match &self.status {
            CmdStatus::Exited(0) => format!("`{cmdline}` succeeded"),
            CmdStatus::Exited(code) => {
                let err = self.stderr.trim();
                let first = err.lines().last().unwrap_or("");
                if first.is_empty() {
                    format!("`{cmdline}` exited with status {code}")
                } else {
                    format!("`{cmdline}` exited with status {code}: {first}")
                }
            }
            CmdStatus::NotFound => {
                format!("`{}` is not installed (not on PATH)", cmdline.split(' ').next().unwrap_or(""))
            }
            CmdStatus::TimedOut(t) => format!("`{cmdline}` did not answer within {}s", t.as_secs()),
            CmdStatus::Offline => format!("`{cmdline}` not run: inspecting another root filesystem"),
            CmdStatus::Failed(e) => format!("`{cmdline}` could not run: {e}"),
        }
    }
}

/// What answers a host's commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunnerKind {
    /// Real processes on this machine.
    Real,
    /// Canned answers from a fixture's `commands.toml`.
    Fake,
    /// Nothing: a foreign root is inspected.
    Offline,
}

pub trait CommandRunner: Send + Sync {
    fn run(&self, program: &str, args: &[&str], timeout: Duration) -> CmdOutput;
    fn kind(&self) -> RunnerKind;
}

/// Runs real processes with duct: stdin closed, output captured, `LC_ALL=C` so messages are
/// parseable, killed after the timeout.
pub struct RealRunner;

impl CommandRunner for RealRunner {
    fn run(&self, program: &str, args: &[&str], timeout: Duration) -> CmdOutput {
        let path = match which::which(program) {
            Ok(p) => p,
            Err(_) => return CmdOutput::status_only(CmdStatus::NotFound),
        };
        let handle = match duct::cmd(path, args)
            .env("LC_ALL", "C")
            .stdin_null()
            .stdout_capture()
            .stderr_capture()
            .unchecked()
            .start()
        {
            Ok(h) => h,
            Err(e) => return CmdOutput::status_only(CmdStatus::Failed(e.to_string())),
        };
        let deadline = Instant::now() + timeout;
        loop {
            match handle.try_wait() {
                Ok(Some(out)) => {
                    let status = match out.status.code() {
                        Some(code) => CmdStatus::Exited(code),
                        None => CmdStatus::Failed("killed by a signal".into()),
                    };
                    return CmdOutput {
                        status,
                        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
                        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
                    };
                }
                Ok(None) if Instant::now() >= deadline => {
                    let _ = handle.kill();
                    return CmdOutput::status_only(CmdStatus::TimedOut(timeout));
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(2)),
                Err(e) => return CmdOutput::status_only(CmdStatus::Failed(e.to_string())),
            }
        }
    }

    fn kind(&self) -> RunnerKind {
        RunnerKind::Real
    }
}

/// Answers "not run" to everything: used with `--root` so that a check never mixes the running
/// machine's command output into another device's report.
pub struct OfflineRunner;

impl CommandRunner for OfflineRunner {
    fn run(&self, _program: &str, _args: &[&str], _timeout: Duration) -> CmdOutput {
        CmdOutput::status_only(CmdStatus::Offline)
    }

    fn kind(&self) -> RunnerKind {
        RunnerKind::Offline
    }
}

/// One canned answer in a fixture's `commands.toml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FakeCommand {
    /// The command line: program and arguments joined by single spaces.
    pub run: String,
    #[serde(default)]
    pub exit: i32,
    #[serde(default)]
    pub stdout: String,
    /// Read stdout from this file, relative to the `commands.toml`.
    pub stdout_file: Option<String>,
    #[serde(default)]
    pub stderr: String,
    /// The program is not installed.
    #[serde(default)]
    pub missing: bool,
    /// The command hangs until the timeout.
    #[serde(default)]
    pub hangs: bool,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FakeCommands {
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    #[serde(default, rename = "command")]
    pub commands: Vec<FakeCommand>,
}

/// Answers from a fixture's `commands.toml`; a command not listed there is "not installed".
/// Records every call so tests can assert what a fix ran.
pub struct FakeRunner {
    dir: PathBuf,
    table: FakeCommands,
    calls: Mutex<Vec<String>>,
}

impl FakeRunner {
    pub fn load(path: &Path) -> Result<FakeRunner, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let table: FakeCommands = toml::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        Ok(FakeRunner { dir, table, calls: Mutex::new(Vec::new()) })
    }

    pub fn from_table(table: FakeCommands, dir: PathBuf) -> FakeRunner {
        FakeRunner { dir, table, calls: Mutex::new(Vec::new()) }
    }

    pub fn env(&self) -> BTreeMap<String, String> {
        self.table.env.clone()
    }

    pub fn calls(&self) -> Vec<String> {
        self.calls.lock().map(|c| c.clone()).unwrap_or_default()
    }
}

impl CommandRunner for FakeRunner {
    fn run(&self, program: &str, args: &[&str], timeout: Duration) -> CmdOutput {
        let line = std::iter::once(program).chain(args.iter().copied()).collect::<Vec<_>>().join(" ");
        if let Ok(mut calls) = self.calls.lock() {
            calls.push(line.clone());
        }
        let Some(cmd) = self.table.commands.iter().find(|c| c.run == line) else {
            return CmdOutput::status_only(CmdStatus::NotFound);
        };
        if cmd.missing {
            return CmdOutput::status_only(CmdStatus::NotFound);
        }
        if cmd.hangs {
            return CmdOutput::status_only(CmdStatus::TimedOut(timeout));
        }
        let stdout = match &cmd.stdout_file {
            Some(file) => match std::fs::read_to_string(self.dir.join(file)) {
                Ok(s) => s,
                Err(e) => return CmdOutput::status_only(CmdStatus::Failed(format!("fixture {file}: {e}"))),
            },
            None => cmd.stdout.clone(),
        };
        CmdOutput { status: CmdStatus::Exited(cmd.exit), stdout, stderr: cmd.stderr.clone() }
    }

    fn kind(&self) -> RunnerKind {
        RunnerKind::Fake
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn real_runner_captures_output_and_status() {
        let out = RealRunner.run("sh", &["-c", "echo hi; echo err >&2; exit 3"], Duration::from_secs(5));
        assert_eq!(out.status, CmdStatus::Exited(3));
        assert_eq!(out.stdout, "hi\n");
        assert_eq!(out.stderr, "err\n");
    }

    #[test]
    fn real_runner_kills_on_timeout() {
        let started = Instant::now();
        let out = RealRunner.run("sleep", &["5"], Duration::from_millis(200));
        assert!(matches!(out.status, CmdStatus::TimedOut(_)));
        assert!(started.elapsed() < Duration::from_secs(3));
    }

    #[test]
    fn real_runner_reports_missing_programs() {
        let out = RealRunner.run("jetdoc-no-such-program", &[], Duration::from_secs(1));
        assert_eq!(out.status, CmdStatus::NotFound);
    }

    #[test]
    fn fake_runner_answers_from_the_table_and_records_calls() {
        let table: FakeCommands = toml::from_str(
            r#"
            [env]
            USER = "nvidia"
            [[command]]
            run = "docker version"
            stdout = "28.0.1"
            [[command]]
            run = "nvcc --version"
            missing = true
            "#,
        )
        .unwrap();
        let fake = FakeRunner::from_table(table, PathBuf::new());
        assert_eq!(fake.run("docker", &["version"], Duration::from_secs(1)).stdout, "28.0.1");
        assert_eq!(fake.run("nvcc", &["--version"], Duration::from_secs(1)).status, CmdStatus::NotFound);
        assert_eq!(fake.run("ls", &[], Duration::from_secs(1)).status, CmdStatus::NotFound);
        assert_eq!(fake.calls(), vec!["docker version", "nvcc --version", "ls"]);
        assert_eq!(fake.env()["USER"], "nvidia");
    }
}
