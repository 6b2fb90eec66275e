//! `toolkit.mode`: the injection mode in `/etc/nvidia-container-runtime/config.toml` (csv or auto
//! on Jetson, or cdi), and that the file parses: the runtime refuses a config.toml it cannot
//! read, and a wrong mode gives containers no GPU.

use super::{docker_common::jetson, CheckDef, Outcome};
use crate::context::Context;
use crate::facts::toolkit_config::CONFIG_PATH;
use crate::host::Reason;
use crate::probes::Toolkit;
use crate::report::Area;

pub static CHECK: CheckDef = CheckDef {
    id: "toolkit.mode",
    area: Area::Containers,
    title: "The runtime's injection mode in config.toml (csv or auto on Jetson, or cdi)",
    run,
};

fn run(ctx: &Context) -> Outcome {
    let tk = ctx.get::<Toolkit>();
    let c = match &tk.config {
        crate::fact::Fact::Known { value, .. } => value,
        crate::fact::Fact::Absent(a) if a.reason == Reason::Missing && !tk.any_installed() => {
            return Outcome::skip("the NVIDIA container toolkit is not installed")
        }
        crate::fact::Fact::Absent(a) if a.reason == Reason::Missing => {
            return Outcome::warn(format!("{CONFIG_PATH} is missing: the runtime uses built-in defaults (mode auto)"))
                .hint("regenerate it: `sudo nvidia-ctk config --config-file /etc/nvidia-container-runtime/config.toml --in-place`")
        }
        crate::fact::Fact::Absent(a) if a.reason == Reason::NeedsRoot => {
            return Outcome::warn(format!("{CONFIG_PATH}: {}", a.reason)).hint("run jetdoc with sudo to read it")
        }
        crate::fact::Fact::Absent(a) if matches!(a.reason, Reason::Malformed(_)) => {
            return Outcome::fail(format!("{CONFIG_PATH}: {}", a.reason)).hint("the runtime refuses a config.toml it cannot parse: fix the TOML syntax at that line")
        }
        crate::fact::Fact::Absent(a) => {
            return Outcome::fail(format!("{CONFIG_PATH}: {}", a.reason)).hint("the runtime reads this file at every container start: replace it with a regular TOML file (`sudo nvidia-ctk config --config-file /etc/nvidia-container-runtime/config.toml --in-place` writes the defaults)")
        }
    };
    let shown = if c.mode_set { format!("mode {}", c.mode) } else { "mode auto (default)".to_string() };
    match (jetson(ctx), c.mode.as_str()) {
        (true, "auto") => Outcome::pass(format!("{shown}: resolves to csv on Jetson")),
        (true, "csv") => Outcome::pass(shown),
        (true, "cdi") => {
            Outcome::pass(format!("{shown}: containers get the devices of the CDI spec (see toolkit.cdi)"))
        }
        (true, other) => Outcome::warn(format!(
            "mode {other} on Jetson: the GPU libraries are injected only in csv (or cdi) mode"
        ))
        .hint(format!("set `mode = \"auto\"` under [nvidia-container-runtime] in {CONFIG_PATH}")),
        (false, _) => Outcome::info(shown),
    }
}
