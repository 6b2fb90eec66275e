//! `l4t.lifecycle`: end-of-life L4T families (JetPack 4 and older: no security updates, no new
//! containers) and pre-release (EA/DP) BSPs, with the newest known release of the line to move to.

use super::{CheckDef, Outcome};
use crate::context::Context;
use crate::probes::Identity;
use crate::report::Area;

pub static CHECK: CheckDef = CheckDef {
    id: "l4t.lifecycle",
    area: Area::Device,
    title: "End-of-life and pre-release L4T releases",
    run,
};

fn run(ctx: &Context) -> Outcome {
    let id = ctx.get::<Identity>();
    let Some(l4t) = id.l4t.value() else {
        return Outcome::skip(if id.jetson { "L4T release unknown" } else { "not a Jetson" });
    };
    let Some(info) = ctx.knowledge.release(l4t) else {
        return Outcome::skip(format!("no lifecycle data for R{}", l4t.major));
    };
    let newest = ctx.knowledge.newest_in_major(l4t.major).filter(|n| n > l4t);
    if let Some(eol) = &info.family.eol {
        return Outcome::warn(format!("L4T {l4t} (JetPack {}) is end of life", info.jetpack()))
            .hint(eol.clone())
            .hint("new work should target a supported JetPack; keep this board off untrusted networks");
    }
    if info.release.is_some_and(|r| r.preview) {
        let mut o = Outcome::warn(format!("L4T {l4t} (JetPack {}) is a pre-release (EA/DP)", info.jetpack()))
            .hint("pre-release BSPs have known bugs and no wheels or containers built for them");
        if let Some(n) = newest {
            o = o.hint(format!("flash a production release of this line, e.g. L4T {n}"));
        }
        return o;
    }
    match newest {
        Some(n) => {
            Outcome::pass(format!("L4T {l4t} is a supported release (newest known in R{}: {n})", l4t.major))
        }
        None => Outcome::pass(format!("L4T {l4t} is a supported release")),
    }
}
