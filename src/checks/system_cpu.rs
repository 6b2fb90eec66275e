//! `system.cpu`: the CPU count and model from `/proc/cpuinfo`, as information: the count is what
//! `make -j` and parallel image builds should use, and a count below the module's tells of cores
//! parked by the power mode.

use super::{CheckDef, Outcome};
use crate::context::Context;
use crate::probes::Memory;
use crate::report::Area;

pub static CHECK: CheckDef =
    CheckDef { id: "system.cpu", area: Area::System, title: "CPU count and model", run };

fn run(ctx: &Context) -> Outcome {
    let mem = ctx.get::<Memory>();
    match mem.cpus.value() {
        Some(c) => {
            let model = c.model.as_deref().map(|m| format!(" ({m})")).unwrap_or_default();
            Outcome::info(format!("{} CPUs{model}, from {}", c.count, mem.cpus.source()))
        }
        None => Outcome::skip(format!(
            "CPUs not read: {}",
            mem.cpus.absence().map(|a| a.to_string()).unwrap_or_default()
        )),
    }
}
