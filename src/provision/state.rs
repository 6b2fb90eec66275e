//! What jetdoc did to this device: `/var/lib/jetdoc/state.json` (under `--root` for another root
//! filesystem). One entry per profile: the profile and its sha256, the device it was resolved
//! for, the image (tag, ID, base digest), every download's URL and sha256, the lock, the result,
//! the step that failed and how to resume, the smoke tests, and when. `jetdoc status` prints it;
//! the `fleet` exporters read it; first boot (issue 12) adds its own top-level fields.
//!
//! The layout is versioned (`schema`) and documented in `docs/profiles.md#state`: fields are only
//! ever added; a reader ignores fields it does not know (no `deny_unknown_fields` here), so an
//! older jetdoc reads a newer file. The file is written whole, atomically (temp file, fsync,
//! rename), under the state-directory lock, so a Ctrl-C or a crash leaves the old file or the new
//! one, never half of either.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The state file's layout version.
pub const SCHEMA: u32 = 1;
/// Where it lives, under the root.
pub const STATE_FILE: &str = "/var/lib/jetdoc/state.json";

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct State {
    pub schema: u32,
    /// By profile name.
    #[serde(default)]
    pub profiles: BTreeMap<String, ProfileState>,
    /// Fields written by newer jetdoc versions (first boot, ...): kept as they are when this
    /// version rewrites the file.
    #[serde(flatten)]
    pub other: BTreeMap<String, serde_json::Value>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// Provisioned and smoke-tested.
    Success,
    /// A step failed: `failed_step` and `resume` say which and what to do.
    Failed,
    /// Started and not finished (the process was killed): the next run starts over.
    InProgress,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProfileState {
    pub profile: String,
    /// `builtin:locomotion` or the profile file's path.
    pub source: String,
    pub profile_sha256: String,
    pub result: Outcome,
    /// RFC 3339, UTC.
    pub started: String,
    pub finished: Option<String>,
    #[serde(default)]
    pub device: StateDevice,
    pub image: Option<StateImage>,
    #[serde(default)]
    pub artifacts: Vec<StateArtifact>,
    /// SHA-256 of the lock file written (`--lock`) or followed (`--locked`).
    pub lock_sha256: Option<String>,
    #[serde(default)]
    pub smoke: Vec<SmokeResult>,
    /// The step that failed (`fetch`, `pull`, `build`, `smoke`, ...).
    pub failed_step: Option<String>,
    pub message: Option<String>,
    /// What to run to go on after a failure.
    pub resume: Option<String>,
    #[serde(flatten)]
    pub other: BTreeMap<String, serde_json::Value>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StateDevice {
    pub platform: Option<String>,
    pub module_part: Option<String>,
    pub l4t: Option<String>,
    pub jetpack: Option<String>,
    pub cuda: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StateImage {
    pub tag: String,
    /// The image ID (`sha256:...`).
    pub id: String,
    pub base: String,
    pub base_digest: Option<String>,
    pub layers: Option<usize>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StateArtifact {
    pub kind: String,
    pub name: String,
    pub url: String,
    pub sha256: String,
    pub size: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SmokeResult {
    pub name: String,
    pub passed: bool,
    pub seconds: f64,
}

#[derive(Debug, thiserror::Error)]
#[error("{path}: {message}\n  the state file is damaged: move it away and provision again (it only records what was done)")]
pub struct StateError {
    pub path: String,
    pub message: String,
}

impl State {
    pub fn new() -> State {
        State { schema: SCHEMA, ..State::default() }
    }

    /// Parses the file; an empty text is an empty state.
    pub fn parse(text: &str, origin: &str) -> Result<State, StateError> {
        if text.trim().is_empty() {
            return Ok(State::new());
        }
        let state: State = serde_json::from_str(text).map_err(|e| StateError {
            path: origin.into(),
            message: format!("line {} column {}: {e}", e.line(), e.column()),
        })?;
        if state.schema == 0 {
            return Err(StateError { path: origin.into(), message: "no `schema` field".into() });
        }
        Ok(state)
    }

    pub fn to_text(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default() + "\n"
    }
}

/// Now, RFC 3339 in UTC to the second (`2026-11-29T23:56:53Z`).
pub fn now_rfc3339() -> String {
    jiff::Timestamp::now().round(jiff::Unit::Second).map(|t| t.to_string()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn newer_fields_survive_a_rewrite() {
        let text = r#"{"schema": 1, "first_boot": {"result": "success"},
            "profiles": {"locomotion": {"profile": "locomotion", "source": "builtin:locomotion",
            "profile_sha256": "aa", "result": "success", "started": "2026-11-29T23:56:53Z",
            "finished": null, "image": null, "lock_sha256": null, "failed_step": null,
            "message": null, "resume": null, "bundle": "robot.bundle"}}}"#;
        let s = State::parse(text, "state.json").unwrap();
        assert_eq!(s.other["first_boot"]["result"], "success");
        assert_eq!(s.profiles["locomotion"].other["bundle"], "robot.bundle");
        let again = State::parse(&s.to_text(), "state.json").unwrap();
        assert_eq!(again, s);
        assert!(State::parse("{\"profiles\": {}}", "s.json").is_err());
        assert!(State::parse("{", "s.json").unwrap_err().to_string().contains("s.json: line 1"));
        assert_eq!(State::parse("", "s.json").unwrap().schema, SCHEMA);
        assert!(now_rfc3339().ends_with('Z'));
    }
}
