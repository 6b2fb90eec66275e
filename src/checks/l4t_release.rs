//! `l4t.release`: the L4T (Jetson Linux) release from `/etc/nv_tegra_release` (every real
//! variant, the ZED stub, empty files inside containers), falling back to the `nvidia-l4t-core`
//! package. Images, wheels and the ZED SDK are chosen by this release.

use super::{CheckDef, Outcome};
use crate::context::Context;
use crate::host::Reason;
use crate::probes::identity::NV_TEGRA_RELEASE;
use crate::probes::Identity;
use crate::report::Area;

pub static CHECK: CheckDef = CheckDef {
    id: "l4t.release",
    area: Area::Device,
    title: "The L4T (Jetson Linux) release, from /etc/nv_tegra_release or nvidia-l4t-core",
    run,
};

fn run(ctx: &Context) -> Outcome {
    let id = ctx.get::<Identity>();
    if !id.jetson {
        return Outcome::skip("not a Jetson");
    }
    match (&id.l4t, id.release_file.absence()) {
        (crate::fact::Fact::Known { value, source }, None) => Outcome::pass(format!("L4T {value} (from {source})")),
        (crate::fact::Fact::Known { value, source }, Some(why)) => {
            Outcome::info(format!("L4T {value} (from {source}; {why})")).hint(format!(
                "{NV_TEGRA_RELEASE} is what most tools read: restore it with `sudo apt install --reinstall nvidia-l4t-core`"
            ))
        }
        (crate::fact::Fact::Absent(_), why) => {
            let why = why.map(|a| a.to_string()).unwrap_or_else(|| "unknown".into());
            let in_container = id.container.is_some();
            let mut o = if in_container { Outcome::info(format!("L4T release unknown: {why}")) } else { Outcome::warn(format!("L4T release unknown: {why}")) };
            if in_container {
                o = o.hint(format!(
                    "inside a container this file describes the image; bind-mount the host's: add `-v {NV_TEGRA_RELEASE}:{NV_TEGRA_RELEASE}:ro` to `docker run`"
                ));
            } else if id.release_file.absence().is_some_and(|a| a.reason == Reason::Missing) {
                o = o.hint("the L4T BSP packages look absent or damaged: `sudo apt install --reinstall nvidia-l4t-core`");
            } else {
                o = o.hint(format!("{NV_TEGRA_RELEASE} should start with \"# R36 (release), REVISION: 4.3, ...\"; reinstall it with `sudo apt install --reinstall nvidia-l4t-core`"));
            }
            o
        }
    }
}
