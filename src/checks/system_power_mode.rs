//! `system.power-mode`: the nvpmodel mode from `/var/lib/nvpmodel/status` and the board's
//! `nvpmodel.conf`, and whether it is the fastest: a board left in a 10-15 W mode runs inference at
//! a fraction of its speed with nothing else wrong.

use super::{CheckDef, Outcome};
use crate::context::Context;
use crate::probes::power::CONF;
use crate::probes::{Identity, Power};
use crate::report::Area;

pub static CHECK: CheckDef = CheckDef {
    id: "system.power-mode",
    area: Area::System,
    title: "nvpmodel power mode, and whether it is the board's fastest",
    run,
};

fn run(ctx: &Context) -> Outcome {
    if !ctx.get::<Identity>().jetson {
        return Outcome::skip("not a Jetson: no nvpmodel");
    }
    let p = ctx.get::<Power>();
    let Some(cur) = p.current.value() else {
        let why = p.current.absence().map(|a| a.to_string()).unwrap_or_default();
        return Outcome::skip(format!("power mode unknown: {why}"));
    };
    let cur_name = if cur.name.is_empty() { "unnamed".to_string() } else { cur.name.clone() };
    let here = format!("power mode {cur_name} (ID {}, from {})", cur.id, p.current.source());
    let Some(max) = &p.max else {
        let why = p.conf.absence().map(|a| a.to_string()).unwrap_or_else(|| format!("{CONF} lists no mode"));
        return Outcome::info(format!("{here}; the board's fastest mode is unknown: {why}"));
    };
    if max.id == cur.id {
        return Outcome::pass(format!("{here}, the board's fastest")).hint(
            "`sudo jetson_clocks` additionally pins the clocks at this mode's maximum until the next reboot",
        );
    }
    Outcome::warn(format!(
        "{here}; the board's fastest is {} (ID {}): GPU and CPU clocks are capped",
        max.name, max.id
    ))
    .hint(format!(
        "switch with `sudo nvpmodel -m {}` (it persists across reboots; some mode changes ask for a reboot)",
        max.id
    ))
    .hint("keep the lower mode if the power supply or cooling cannot sustain the faster one")
}
