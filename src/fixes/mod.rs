//! Fixes: each file here only *plans*: it reads through the `Context` and returns the steps it
//! would take, changing nothing. The one executor of host changes (`crate::steps`) applies them.
//!
//! The orchestration lives here too, so that `jetdoc fix` and `jetdoc provision` run fixes the
//! same way: [`select`] turns fix or check ids into fixes, [`plan`] plans them (a fix that refuses
//! says why and the others still plan), and [`apply`] hands every plan with work to the executor.
//! A caller shows the plans between the two (dry run, confirmation).

pub mod docker_group;
pub mod gpu_runtime;
pub mod iptables_raw;

use serde::Serialize;

use crate::context::Context;
use crate::steps::{Executor, Outcome};

pub use crate::steps::{Cmd, Plan};

/// Why a fix will not plan: a file it must edit does not parse, or a precondition is missing.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct Refusal {
    pub message: String,
}

#[derive(Debug)]
pub struct FixDef {
    pub id: &'static str,
    /// Check ids this fix repairs: `jetdoc fix <check id>` picks it.
    pub repairs: &'static [&'static str],
    pub title: &'static str,
    pub plan: fn(&Context, &Options) -> Result<Plan, Refusal>,
}

#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Replace a file that does not parse (after a backup) instead of refusing.
    pub force: bool,
}

pub fn registry() -> Vec<&'static FixDef> {
    vec![&gpu_runtime::FIX, &docker_group::FIX, &iptables_raw::FIX]
}

/// The fix for an id: a fix id (`gpu-runtime`) or the id of a check it repairs.
pub fn find(id: &str) -> Option<&'static FixDef> {
    registry().into_iter().find(|f| f.id == id || f.repairs.contains(&id))
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum SelectError {
    #[error("no fix for `{id}`; fixes and the check ids they repair: {known}")]
    Unknown { id: String, known: String },
    #[error("say what to fix: `jetdoc fix --gpu-runtime`, or fix/check ids such as `jetdoc fix docker.group` (see `jetdoc fix --help`)")]
    Nothing,
}

/// The fixes for fix or check ids, each once, in the order asked.
pub fn select<S: AsRef<str>>(ids: &[S]) -> Result<Vec<&'static FixDef>, SelectError> {
    let mut defs: Vec<&'static FixDef> = Vec::new();
    for id in ids {
        let id = id.as_ref();
        match find(id) {
            Some(d) if !defs.iter().any(|x| x.id == d.id) => defs.push(d),
            Some(_) => {}
            None => {
                let known: Vec<String> =
                    registry().iter().map(|f| format!("{} ({})", f.id, f.repairs.join(", "))).collect();
                return Err(SelectError::Unknown { id: id.to_string(), known: known.join("; ") });
            }
        }
    }
    if defs.is_empty() {
        return Err(SelectError::Nothing);
    }
    Ok(defs)
}

/// A fix that refused to plan, and why.
#[derive(Debug, Clone, Serialize)]
pub struct Refused {
    pub fix: &'static str,
    pub message: String,
}

/// The plans of the selected fixes, and the fixes that refused.
#[derive(Debug, Default)]
pub struct Planned {
    pub plans: Vec<Plan>,
    pub refused: Vec<Refused>,
}

impl Planned {
    /// The plans the executor would apply (not empty, not plan-only).
    pub fn to_apply(&self) -> impl Iterator<Item = &Plan> {
        self.plans.iter().filter(|p| !p.is_empty() && !p.plan_only)
    }

    /// The dry-run text of every plan.
    pub fn render(&self) -> String {
        self.plans.iter().map(Plan::render).collect()
    }
}

/// Plans each fix against the context (read-only).
pub fn plan(ctx: &Context, defs: &[&'static FixDef], opts: &Options) -> Planned {
    let mut planned = Planned::default();
    for d in defs {
        match (d.plan)(ctx, opts) {
            Ok(p) => planned.plans.push(p),
            Err(r) => planned.refused.push(Refused { fix: d.id, message: r.message }),
        }
    }
    planned
}

/// What applying the plans did: one outcome per plan with work, and whether anything failed
/// (a refusal counts).
#[derive(Debug, Default)]
pub struct Applied {
    pub outcomes: Vec<Outcome>,
    pub failed: bool,
}

/// Applies every plan with work, in order, through the executor. A plan that could not start
/// (its file changed, the lock) becomes an outcome with its error; the next plans still run.
pub fn apply(exec: &mut Executor<'_>, planned: &Planned) -> Applied {
    let mut applied = Applied { failed: !planned.refused.is_empty(), ..Applied::default() };
    for plan in planned.to_apply() {
        let outcome = exec.apply(plan).unwrap_or_else(|e| Outcome {
            plan: plan.name.clone(),
            error: Some(e.to_string()),
            ..Outcome::default()
        });
        applied.failed |= outcome.error.is_some();
        applied.outcomes.push(outcome);
    }
    applied
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_ids_find_their_fix() {
        assert_eq!(find("docker.default-runtime").unwrap().id, "gpu-runtime");
        assert_eq!(find("gpu-runtime").unwrap().id, "gpu-runtime");
        assert_eq!(find("docker.group").unwrap().id, "docker.group");
        assert!(find("l4t.release").is_none());
        let checks: Vec<&str> = crate::checks::registry().iter().map(|c| c.id).collect();
        for f in registry() {
            for r in f.repairs {
                assert!(checks.contains(r), "{} repairs unknown check {r}", f.id);
            }
        }
    }

    #[test]
    fn selection_dedups_and_names_the_known_fixes() {
        let defs = select(&["gpu-runtime", "docker.default-runtime", "docker.group"]).unwrap();
        assert_eq!(defs.iter().map(|d| d.id).collect::<Vec<_>>(), ["gpu-runtime", "docker.group"]);
        let e = select(&["l4t.release"]).unwrap_err().to_string();
        assert!(e.contains("no fix for `l4t.release`") && e.contains("gpu-runtime"), "{e}");
        assert!(matches!(select::<&str>(&[]), Err(SelectError::Nothing)));
    }
}
