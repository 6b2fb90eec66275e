//! What first boot did: each attempt of the unit, recorded by `jetdoc first-boot record` (the
//! unit's ExecStopPost, with systemd's `$SERVICE_RESULT`, `$EXIT_CODE` and `$EXIT_STATUS`) in
//! the `first_boot` member of the state file, and the marker that stops the unit after a
//! success. `first-boot backoff` (ExecStartPre) reads the attempts to wait longer after each
//! failure of this boot; `first-boot status` and `jetdoc status` read them back.
//!
//! The state file is provision's (`crate::provision::state::State`, `/var/lib/jetdoc/state.json`,
//! versioned, fields only ever added, unknown members kept by every writer); first boot owns its
//! `first_boot` member (`State::first_boot`) and rewrites the file whole and atomically under the
//! state-directory lock, keeping every other member as it found it.

use serde::{Deserialize, Serialize};
use std::time::Duration;

use crate::host::{Host, HostError, Reason};
use crate::provision::state::{State, STATE_FILE};
/// The member of the state file first boot owns.
pub const MEMBER: &str = "first_boot";
/// Present once a first-boot provision succeeded; the unit's `ConditionPathExists=!` reads it.
pub const MARKER: &str = "/var/lib/jetdoc/first-boot.done";
/// The kernel's id of the running boot (a new one at every boot).
const BOOT_ID: &str = "/proc/sys/kernel/random/boot_id";

/// The `first_boot` member of the state file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FirstBoot {
    pub profile: String,
    /// Attempts so far, over all boots.
    pub attempts: u32,
    /// Boots in which an attempt was made.
    pub boots: u32,
    /// RFC 3339, UTC.
    pub first_attempt: Option<String>,
    pub last: Option<Attempt>,
    /// When the provision succeeded (the marker was written then).
    pub succeeded: Option<String>,
    /// Members written by newer versions, kept as they are.
    #[serde(flatten)]
    pub other: serde_json::Map<String, serde_json::Value>,
}

/// One run of the unit, as systemd reported it to ExecStopPost.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Attempt {
    /// 1 for the first attempt ever.
    pub number: u32,
    pub time: String,
    pub boot_id: Option<String>,
    /// `$SERVICE_RESULT`: `success`, `exit-code`, `signal`, `timeout`, `core-dump`, ...
    pub service_result: String,
    /// `$EXIT_CODE`: `exited`, `killed`, `dumped`.
    pub exit_code: Option<String>,
    /// `$EXIT_STATUS`: the exit status (`1`) or the signal (`TERM`).
    pub exit_status: Option<String>,
    pub success: bool,
    /// Failures in a row in this boot, this one included (0 after a success).
    pub failures_this_boot: u32,
}

/// What systemd tells ExecStopPost about the run that just ended.
#[derive(Debug, Clone, Default)]
pub struct ServiceResult {
    pub service_result: Option<String>,
    pub exit_code: Option<String>,
    pub exit_status: Option<String>,
}

impl ServiceResult {
    /// A success as systemd means it: the service result and the main process both say so.
    pub fn success(&self) -> bool {
        self.service_result.as_deref() == Some("success")
            && self.exit_code.as_deref().is_none_or(|c| c == "exited")
            && self.exit_status.as_deref().is_none_or(|s| s == "0")
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    #[error(transparent)]
    Host(#[from] HostError),
    #[error("{path}: {message}; move it away (jetdoc writes a new one) or repair it")]
    Damaged { path: String, message: String },
}

/// The state file (an empty state when there is none).
pub fn read_state(host: &Host) -> Result<State, RecordError> {
    let text = match host.read_text(STATE_FILE) {
        Ok(t) => t,
        Err(a) if a.reason == Reason::Missing => return Ok(State::new()),
        Err(a) => {
            return Err(RecordError::Damaged {
                path: host.shown(STATE_FILE),
                message: format!("cannot read: {a}"),
            })
        }
    };
    State::parse(&text, &host.shown(STATE_FILE))
        .map_err(|e| RecordError::Damaged { path: e.path, message: e.message })
}

/// The `first_boot` member, if any.
pub fn read(host: &Host) -> Result<Option<FirstBoot>, RecordError> {
    Ok(read_state(host)?.first_boot)
}

/// The marker's text, when present.
pub fn marker(host: &Host) -> Result<Option<String>, RecordError> {
    Ok(host.read_file(MARKER)?.map(|f| String::from_utf8_lossy(&f.bytes).trim().to_string()))
}

pub fn boot_id(host: &Host) -> Option<String> {
    host.read_text(BOOT_ID).ok().map(|s| s.trim().to_string()).filter(|s| !s.is_empty())
}

/// Records one attempt and, after a success, writes the marker. The caller holds the state
/// lock. Returns the updated member.
pub fn record(
    host: &Host,
    profile: &str,
    result: &ServiceResult,
    now: &str,
) -> Result<FirstBoot, RecordError> {
    let mut state = read_state(host)?;
    let mut fb = state.first_boot.take().unwrap_or_default();
    let boot = boot_id(host);
    let same_boot = fb.last.as_ref().is_some_and(|l| l.boot_id.is_some() && l.boot_id == boot);
    let success = result.success();
    let failures_before = if same_boot { fb.last.as_ref().map_or(0, |l| l.failures_this_boot) } else { 0 };
    fb.profile = profile.to_string();
    fb.attempts += 1;
    if !same_boot {
        fb.boots += 1;
    }
    fb.first_attempt.get_or_insert_with(|| now.to_string());
    fb.last = Some(Attempt {
        number: fb.attempts,
        time: now.to_string(),
        boot_id: boot,
        service_result: result.service_result.clone().unwrap_or_else(|| "unknown".into()),
        exit_code: result.exit_code.clone(),
        exit_status: result.exit_status.clone(),
        success,
        failures_this_boot: if success { 0 } else { failures_before + 1 },
    });
    if success {
        fb.succeeded = Some(now.to_string());
    }
    state.first_boot = Some(fb.clone());
    host.write_atomic(STATE_FILE, state.to_text().as_bytes(), 0o644, None)?;
    if success {
        let line = format!(
            "jetdoc first boot: `jetdoc provision {profile}` succeeded at {now} (attempt {}); jetdoc-provision.service will not run again while this file exists\n",
            fb.attempts
        );
        host.write_atomic(MARKER, line.as_bytes(), 0o644, None)?;
    }
    Ok(fb)
}

/// How long `first-boot backoff` waits before the next attempt, on top of the unit's
/// `RestartSec` (`restart`): the wait between attempts doubles from `restart` with each failure
/// in a row in this boot, up to `max`. No wait before the first attempt of a boot: the network
/// that was missing may be there now.
pub fn backoff(fb: Option<&FirstBoot>, boot: Option<&str>, restart: Duration, max: Duration) -> Duration {
    let Some(last) = fb.and_then(|f| f.last.as_ref()) else { return Duration::ZERO };
    if last.success || boot.is_none() || last.boot_id.as_deref() != boot || last.failures_this_boot == 0 {
        return Duration::ZERO;
    }
    let doublings = (last.failures_this_boot - 1).min(20);
    let total = restart.saturating_mul(1u32 << doublings).min(max.max(restart));
    total.saturating_sub(restart)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::{EnvSource, OfflineRunner};
    use crate::provision::state::Outcome;

    fn host(root: &std::path::Path) -> Host {
        Host::with_root(root, Box::new(OfflineRunner), EnvSource::Map(Default::default())).unwrap()
    }

    fn failed(status: &str) -> ServiceResult {
        ServiceResult {
            service_result: Some("exit-code".into()),
            exit_code: Some("exited".into()),
            exit_status: Some(status.into()),
        }
    }

    fn set_boot(root: &std::path::Path, id: &str) {
        std::fs::create_dir_all(root.join("proc/sys/kernel/random")).unwrap();
        std::fs::write(root.join("proc/sys/kernel/random/boot_id"), format!("{id}\n")).unwrap();
    }

    #[test]
    fn attempts_count_per_boot_and_a_success_writes_the_marker_keeping_other_members() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("var/lib/jetdoc")).unwrap();
        let provision = r#"{"schema":1,"profiles":{"locomotion":{"profile":"locomotion",
            "source":"builtin:locomotion","profile_sha256":"aa","result":"failed",
            "started":"2026-11-29T23:56:53Z","finished":null,"image":null,"lock_sha256":null,
            "failed_step":"fetch","message":null,"resume":null}},"future":[1]}"#;
        std::fs::write(root.join("var/lib/jetdoc/state.json"), provision).unwrap();
        let h = host(root);
        set_boot(root, "boot-1");
        record(&h, "locomotion", &failed("1"), "t1").unwrap();
        let fb = record(&h, "locomotion", &failed("1"), "t2").unwrap();
        assert_eq!((fb.attempts, fb.boots, fb.last.as_ref().unwrap().failures_this_boot), (2, 1, 2));
        assert!(marker(&h).unwrap().is_none());
        set_boot(root, "boot-2");
        let fb = record(&h, "locomotion", &failed("1"), "t3").unwrap();
        assert_eq!((fb.attempts, fb.boots, fb.last.as_ref().unwrap().failures_this_boot), (3, 2, 1));
        let ok = ServiceResult {
            service_result: Some("success".into()),
            exit_code: Some("exited".into()),
            exit_status: Some("0".into()),
        };
        let fb = record(&h, "locomotion", &ok, "t4").unwrap();
        assert_eq!((fb.succeeded.as_deref(), fb.first_attempt.as_deref()), (Some("t4"), Some("t1")));
        assert!(marker(&h).unwrap().unwrap().contains("succeeded at t4 (attempt 4)"));
        let state = read_state(&h).unwrap();
        assert_eq!(state.profiles["locomotion"].result, Outcome::Failed, "provision's members kept");
        assert_eq!(state.other["future"][0], 1);
        assert_eq!(read(&h).unwrap().unwrap(), fb);
    }

    #[test]
    fn a_killed_or_timed_out_run_is_a_failure() {
        let killed = ServiceResult {
            service_result: Some("signal".into()),
            exit_code: Some("killed".into()),
            exit_status: Some("TERM".into()),
        };
        assert!(!killed.success());
        assert!(!failed("2").success());
        assert!(!ServiceResult::default().success(), "no $SERVICE_RESULT: not run by systemd");
    }

    #[test]
    fn a_damaged_state_file_is_named_and_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("var/lib/jetdoc")).unwrap();
        std::fs::write(dir.path().join("var/lib/jetdoc/state.json"), "{\"schema\":").unwrap();
        let h = host(dir.path());
        let e = record(&h, "p", &failed("1"), "t").unwrap_err().to_string();
        assert!(e.contains("state.json") && e.contains("move it away"), "{e}");
        assert_eq!(std::fs::read(dir.path().join("var/lib/jetdoc/state.json")).unwrap(), b"{\"schema\":");
    }

    #[test]
    fn backoff_doubles_within_a_boot_and_resets_at_the_next() {
        let s = Duration::from_secs;
        let fb = |failures, boot: &str, success| FirstBoot {
            last: Some(Attempt {
                boot_id: Some(boot.into()),
                failures_this_boot: failures,
                success,
                ..Attempt::default()
            }),
            ..FirstBoot::default()
        };
        let wait = |f: &FirstBoot, boot| backoff(Some(f), Some(boot), s(30), s(900));
        assert_eq!(backoff(None, Some("b"), s(30), s(900)), s(0), "first attempt ever");
        // Totals between attempts: 30, 60, 120, 240, 480, 900, 900 s (RestartSec included).
        let totals: Vec<u64> = (1..=7).map(|k| 30 + wait(&fb(k, "b", false), "b").as_secs()).collect();
        assert_eq!(totals, [30, 60, 120, 240, 480, 900, 900]);
        assert_eq!(wait(&fb(5, "old", false), "b"), s(0), "a new boot starts over");
        assert_eq!(wait(&fb(0, "b", true), "b"), s(0));
        assert_eq!(wait(&fb(u32::MAX, "b", false), "b"), s(870), "no overflow");
    }
}
