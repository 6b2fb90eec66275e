//! `toolkit.cdi`: where CDI is in use (config.toml mode `cdi`, or daemon.json `features.cdi`), a
//! CDI spec must exist in `/etc/cdi` or `/var/run/cdi`: without one every GPU container fails to
//! start with "unresolvable CDI devices".

use super::{CheckDef, Outcome};
use crate::context::Context;
use crate::probes::{DaemonConfig, Toolkit};
use crate::report::Area;

pub static CHECK: CheckDef =
    CheckDef { id: "toolkit.cdi", area: Area::Containers, title: "A CDI spec exists where CDI is used", run };

fn run(ctx: &Context) -> Outcome {
    let tk = ctx.get::<Toolkit>();
    let c = ctx.get::<DaemonConfig>();
    let mode_cdi = tk.config.value().is_some_and(|c| c.mode == "cdi");
    let docker_cdi = c
        .parsed
        .as_ref()
        .ok()
        .and_then(|m| m.get("features"))
        .and_then(|f| f.get("cdi"))
        .and_then(|v| v.as_bool())
        == Some(true);
    let used_by: Vec<&str> =
        [mode_cdi.then_some("config.toml mode cdi"), docker_cdi.then_some("daemon.json features.cdi")]
            .into_iter()
            .flatten()
            .collect();
    match (used_by.is_empty(), tk.cdi_specs.is_empty()) {
        (true, true) => Outcome::skip("CDI is not in use"),
        (true, false) => Outcome::info(format!("CDI spec present ({}), not required by the configuration", tk.cdi_specs.join(", "))),
        (false, false) => Outcome::pass(format!("{} with {}", used_by.join(" and "), tk.cdi_specs.join(", "))),
        (false, true) => Outcome::fail(format!("{} but no CDI spec in /etc/cdi or /var/run/cdi", used_by.join(" and ")))
            .hint("generate it: `sudo nvidia-ctk cdi generate --output=/etc/cdi/nvidia.yaml` (check with `nvidia-ctk cdi list`)"),
    }
}
