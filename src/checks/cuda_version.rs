//! `cuda.version`: the installed CUDA toolkit (`version.json`, `version.txt`, `/usr/local/cuda-*`,
//! dpkg, then `nvcc`) against the one the L4T release ships. Wheels and images are built for a CUDA
//! major.minor; an upgraded CUDA on JetPack 5+ is information, a mismatch on older ones an error.

use super::{CheckDef, Outcome};
use crate::context::Context;
use crate::facts::cuda_version::major_minor;
use crate::probes::{Identity, Software};
use crate::report::Area;

pub static CHECK: CheckDef = CheckDef {
    id: "cuda.version",
    area: Area::Software,
    title: "The CUDA toolkit installed against the one the L4T release ships",
    run,
};

fn run(ctx: &Context) -> Outcome {
    let id = ctx.get::<Identity>();
    let sw = ctx.get::<Software>();
    let stock = id
        .l4t
        .value()
        .and_then(|v| ctx.knowledge.release(v).map(|i| (v, i.cuda().to_string(), i.family.major)));
    let installed = sw.cuda.value();
    let others = if sw.cuda_toolkits.len() > 1 {
        format!(" (toolkits present: {})", sw.cuda_toolkits.join(", "))
    } else {
        String::new()
    };
    match (installed, stock) {
        (None, None) => {
            if id.jetson {
                Outcome::info(format!(
                    "no CUDA toolkit found ({})",
                    sw.cuda.absence().map(|a| a.to_string()).unwrap_or_default()
                ))
            } else {
                Outcome::info(
                    "no CUDA toolkit on the host (containers bring their own; only the driver is needed)",
                )
            }
        }
        (None, Some((l4t, want, _))) => {
            let pkg = format!("cuda-toolkit-{}", want.replace('.', "-"));
            Outcome::warn(format!("CUDA toolkit not installed (L4T {l4t} ships CUDA {want})"))
                .hint(format!("install the full JetPack: `sudo apt update && sudo apt install nvidia-jetpack`, or only CUDA: `sudo apt install {pkg}`"))
                .hint("containers based on l4t-jetpack bring their own CUDA; a bare host only matters for building on the host")
        }
        (Some(have), None) => Outcome::pass(format!("CUDA {have} (from {}){others}", sw.cuda.source())),
        (Some(have), Some((l4t, want, major))) => {
            let have_mm = major_minor(have);
            if have_mm == want {
                return Outcome::pass(format!("CUDA {have} as shipped with L4T {l4t}{others}"));
            }
            let newer = version_key(have_mm) > version_key(&want);
            // From JetPack 5 on, CUDA can be upgraded without reflashing (CUDA upgradable packages).
            if major >= 35 && newer {
                Outcome::info(format!(
                    "CUDA {have} installed; L4T {l4t} ships {want} (an upgraded CUDA){others}"
                ))
                .hint(format!("containers and wheels must be built for CUDA {have_mm}, not the stock {want}"))
            } else {
                Outcome::warn(format!("CUDA {have} installed but L4T {l4t} ships CUDA {want}{others}"))
                    .hint(format!("CUDA {have_mm} is not a supported toolkit for this L4T: reinstall the stock one with `sudo apt install cuda-toolkit-{}`", want.replace('.', "-")))
            }
        }
    }
}

fn version_key(v: &str) -> Vec<u32> {
    v.split('.').filter_map(|p| p.parse().ok()).collect()
}
