//! `l4t.jetpack`: the JetPack release of the L4T: the exact table row, else the `nvidia-jetpack`
//! package, else the family (R32→4.x, R35→5.x, R36→6.x, R38→7.x) with a warning and the snippet that
//! teaches jetdoc the release: NVIDIA ships releases faster than jetdoc's tables.

use super::{CheckDef, Outcome};
use crate::context::Context;
use crate::knowledge::Match;
use crate::probes::identity::JetpackFrom;
use crate::probes::Identity;
use crate::report::Area;

pub static CHECK: CheckDef = CheckDef {
    id: "l4t.jetpack",
    area: Area::Device,
    title: "The JetPack release: the nvidia-jetpack package, else the L4T table row, else the family",
    run,
};

fn run(ctx: &Context) -> Outcome {
    let id = ctx.get::<Identity>();
    let Some(l4t) = id.l4t.value() else {
        return Outcome::skip(if id.jetson { "L4T release unknown" } else { "not a Jetson" });
    };
    let add_row = format!(
        "if you know the release, teach jetdoc without a rebuild: add to /etc/jetdoc/checks.d/local.toml\n[[release]]\nl4t = \"{l4t}\"\njetpack = \"...\"\ncuda = \"...\""
    );
    match &id.jetpack {
        Some(jp) => match jp.from {
            JetpackFrom::Table => Outcome::pass(format!("JetPack {} (L4T {l4t})", jp.version)),
            JetpackFrom::Package => match ctx.knowledge.release(l4t).filter(|i| i.matched == Match::Exact) {
                Some(_) => Outcome::pass(format!("JetPack {} (nvidia-jetpack; L4T {l4t})", jp.version)),
                None => Outcome::warn(format!(
                    "L4T {l4t} is not in jetdoc's release table; JetPack {} taken from the nvidia-jetpack package",
                    jp.version
                ))
                .hint(add_row),
            },
            JetpackFrom::Family => Outcome::warn(format!(
                "L4T R{l4t} → JetPack {} (exact release unknown to this jetdoc version)",
                jp.version
            ))
            .hint(format!("CUDA, Ubuntu and Python are assumed from the R{} family defaults", l4t.major))
            .hint(add_row),
        },
        None => Outcome::warn(format!("L4T {l4t} belongs to no known JetPack family (R{})", l4t.major)).hint(add_row),
    }
}
