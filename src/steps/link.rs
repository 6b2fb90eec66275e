//! `link`: create or re-point one symlink (a systemd enablement link in
//! `multi-user.target.wants/`). Prepare checks the link is still as planned (missing, or pointing
//! where it did) and refuses a file or directory in its place; execute replaces it atomically;
//! verify reads it back; undo removes it or points it back, only while it still points where
//! jetdoc pointed it.

use serde::Serialize;

use super::{Step, StepCx, StepError, Undo};

#[derive(Debug, Clone, Serialize)]
pub struct Symlink {
    /// Absolute, inside the root; the link itself (never followed).
    pub path: String,
    /// What it points at, stored as given (resolved on the device, inside its own root).
    pub target: String,
    /// The link's target when planned; `None`: there was no link.
    pub before: Option<String>,
    pub why: String,
}

impl Symlink {
    pub fn new(path: &str, target: &str, before: Option<String>, why: impl Into<String>) -> Symlink {
        Symlink { path: path.into(), target: target.into(), before, why: why.into() }
    }
}

impl Step for Symlink {
    fn kind(&self) -> &'static str {
        "link"
    }

    fn describe(&self) -> String {
        match &self.before {
            Some(b) => format!("link {} -> {} (was -> {b}; {})", self.path, self.target, self.why),
            None => format!("link {} -> {} ({})", self.path, self.target, self.why),
        }
    }

    fn prepare(&self, cx: &mut StepCx<'_>) -> Result<Undo, StepError> {
        match cx.host().link_at(&self.path)? {
            Some(Ok(t)) if Some(&t) == self.before.as_ref() => {}
            None if self.before.is_none() => {}
            Some(Err(kind)) => {
                return Err(StepError::Failed(format!(
                    "{} is {kind}, not a link: jetdoc does not replace it (move it away first)",
                    cx.host().shown(&self.path)
                )))
            }
            _ => return Err(StepError::Changed { path: self.path.clone() }),
        }
        Ok(Undo::RestoreLink {
            path: self.path.clone(),
            before: self.before.clone(),
            after: self.target.clone(),
        })
    }

    fn execute(&self, cx: &mut StepCx<'_>, _undo: &Undo) -> Result<(), StepError> {
        cx.progress(&format!("linking {} -> {}", self.path, self.target));
        cx.host().symlink(&self.path, &self.target)?;
        Ok(())
    }

    fn verify(&self, cx: &mut StepCx<'_>) -> Result<(), StepError> {
        match cx.host().link_at(&self.path)? {
            Some(Ok(t)) if t == self.target => Ok(()),
            _ => Err(StepError::Failed(format!("{} does not point at {}", self.path, self.target))),
        }
    }
}
