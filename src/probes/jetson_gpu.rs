//! The Jetson iGPU's device nodes (`/dev/nvmap`, `/dev/nvhost-*`, `/dev/nvgpu/igpu0/*`, or
//! OpenRM's `/dev/nvidia*` on Thor): present only while the GPU driver is loaded, and what the
//! NVIDIA container runtime passes into containers.

use crate::context::{Context, Probe};
use crate::probes::Identity;

pub struct JetsonGpuNodes {
    /// Why the nodes were not looked at (not a Jetson, no `/dev` in a foreign root, unknown SoC).
    pub not_checked: Option<String>,
    pub soc: Option<String>,
    pub present: Vec<String>,
    pub missing_all: Vec<String>,
    /// Set when none of the `any` candidates exists: the candidates.
    pub missing_any: Vec<String>,
}

impl Probe for JetsonGpuNodes {
    fn probe(ctx: &Context) -> Self {
        let host = &ctx.host;
        let id = ctx.get::<Identity>();
        let mut r = JetsonGpuNodes {
            not_checked: None,
            soc: id.soc.value().cloned(),
            present: vec![],
            missing_all: vec![],
            missing_any: vec![],
        };
        if !id.jetson {
            r.not_checked = Some("not a Jetson".into());
            return r;
        }
        // A mounted image has an empty /dev: nodes exist only while the device runs.
        if !host.is_live() && host.read_dir("/dev").map(|d| d.is_empty()).unwrap_or(true) {
            r.not_checked = Some(
                "the inspected root has no /dev entries (device nodes exist only on the running device)"
                    .into(),
            );
            return r;
        }
        let Some(rule) = r.soc.as_deref().and_then(|s| ctx.knowledge.gpu_nodes(s)) else {
            r.not_checked =
                Some(format!("no gpu_nodes row for SoC {}", r.soc.as_deref().unwrap_or("unknown")));
            return r;
        };
        for n in &rule.all {
            if host.exists(n) {
                r.present.push(n.clone())
            } else {
                r.missing_all.push(n.clone())
            }
        }
        let any: Vec<&String> = rule.any.iter().filter(|n| host.exists(n)).collect();
        if any.is_empty() {
            r.missing_any = rule.any.clone();
        }
        r.present.extend(any.into_iter().cloned());
        r
    }
}
