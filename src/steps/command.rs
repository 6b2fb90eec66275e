//! `run`: one command (apt, usermod, systemctl). Its failure stops the plan and rolls back what
//! ran before it. Undone by the command given with `undoing` (when there is an exact inverse);
//! otherwise it says it cannot be undone.

use std::time::Duration;

use serde::Serialize;

use super::{Cmd, Step, StepCx, StepError, Undo};

/// apt may download hundreds of MB on a slow link.
pub const RUN_TIMEOUT: Duration = Duration::from_secs(30 * 60);

#[derive(Debug, Clone, Serialize)]
pub struct RunCommand {
    pub cmd: Cmd,
    pub why: String,
    /// The command that takes this one back, when there is an exact inverse.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub undo: Option<Cmd>,
    #[serde(skip)]
    pub timeout: Duration,
}

impl RunCommand {
    pub fn new(cmd: Cmd, why: impl Into<String>) -> RunCommand {
        RunCommand { cmd, why: why.into(), undo: None, timeout: RUN_TIMEOUT }
    }

    /// With the command that undoes it (`gpasswd -d USER docker` for `usermod -aG docker USER`).
    pub fn undoing(mut self, undo: Cmd) -> RunCommand {
        self.undo = Some(undo);
        self
    }
}

impl Step for RunCommand {
    fn kind(&self) -> &'static str {
        "run"
    }

    fn describe(&self) -> String {
        format!("run: {}   # {}", self.cmd.display(), self.why)
    }

    fn command(&self) -> Option<&Cmd> {
        Some(&self.cmd)
    }

    fn prepare(&self, _cx: &mut StepCx<'_>) -> Result<Undo, StepError> {
        Ok(match &self.undo {
            Some(u) => Undo::Run { argv: u.argv.clone() },
            None => Undo::Cannot {
                what: self.cmd.display(),
                why: "jetdoc cannot take back what this command did; undo it by hand if you must".into(),
            },
        })
    }

    fn execute(&self, cx: &mut StepCx<'_>, _undo: &Undo) -> Result<(), StepError> {
        cx.progress(&format!("running {}", self.cmd.display()));
        let out = cx.run(&self.cmd, self.timeout);
        if out.success() {
            Ok(())
        } else {
            Err(StepError::Failed(out.describe_failure(&self.cmd.display())))
        }
    }
}
