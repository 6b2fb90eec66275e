//! `device.jetson`: Jetson or not, and which module, carrier and SoC, from the device-tree
//! `compatible` list (NUL-separated; `-super` and board-revision suffixes handled) and the module
//! table. Every other check's judgement (JetPack, runtimes, power modes) depends on this identity.

use super::{CheckDef, Outcome};
use crate::context::Context;
use crate::probes::Identity;
use crate::report::Area;

pub static CHECK: CheckDef = CheckDef {
    id: "device.jetson",
    area: Area::Device,
    title: "Is this a Jetson, and which module, carrier and SoC",
    run,
};

fn run(ctx: &Context) -> Outcome {
    let id = ctx.get::<Identity>();
    if !id.jetson {
        let arch = id.arch.as_deref().unwrap_or("unknown architecture");
        return Outcome::info(format!(
            "not a Jetson ({arch} host): Jetson checks are skipped, Docker and GPU checks still run"
        ));
    }
    let soc = id.soc.value().map(String::as_str).unwrap_or("SoC unknown");
    let family = id
        .soc
        .value()
        .and_then(|s| ctx.knowledge.soc(s))
        .map(|s| format!(", {} / sm_{}", s.family, s.cuda_arch.replace('.', "")));
    let family = family.unwrap_or_default();
    let carrier = id.carrier.as_deref().map(|c| match ctx.knowledge.carrier(c) {
        Some(k) => format!(" on {c} ({})", k.name),
        None => format!(" on {c}"),
    });
    let carrier = carrier.unwrap_or_default();
    let superb = if id.compatible.value().is_some_and(|c| c.is_super) { " [Super]" } else { "" };
    match &id.module {
        Some(m) => match &m.name {
            Some(name) => Outcome::pass(format!("{name}{superb} — {}{carrier}, {soc}{family}", m.part)),
            None => Outcome::warn(format!("module {} is not in jetdoc's module table ({soc})", m.part)).hint(format!(
                "teach jetdoc the module: add to /etc/jetdoc/checks.d/local.toml\n[[module]]\npart = \"{}\"\nname = \"...\"\nsoc = \"{soc}\"",
                m.part
            )),
        },
        None => {
            let why = match id.compatible.absence() {
                Some(a) => a.to_string(),
                None => "no module part number in the device-tree compatible list".into(),
            };
            let model = id.model.value().cloned().unwrap_or_else(|| "NVIDIA Jetson".into());
            let mut o = Outcome::info(format!("{model}: module unknown ({why})"));
            if id.container.is_some() {
                o = o.hint("inside a container the device tree is usually masked; run jetdoc on the host to identify the module");
            }
            o
        }
    }
}
