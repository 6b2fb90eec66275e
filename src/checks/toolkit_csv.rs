//! `toolkit.csv`: on Jetson in CSV mode the runtime mounts the host files listed in
//! `host-files-for-container.d/*.csv` into each container; a listed library that is missing makes
//! every GPU container fail to start. Only `lib` entries must exist.

use super::{docker_common::jetson, CheckDef, Outcome};
use crate::context::Context;
use crate::probes::Toolkit;
use crate::report::Area;

pub static CHECK: CheckDef = CheckDef {
    id: "toolkit.csv",
    area: Area::Containers,
    title: "Jetson CSV mount specs present and the host files they list exist",
    run,
};

/// How many missing paths a summary names before "and N more".
const SHOWN: usize = 3;

fn run(ctx: &Context) -> Outcome {
    if !jetson(ctx) {
        return Outcome::skip("not a Jetson: CSV mode is Tegra-only");
    }
    let tk = ctx.get::<Toolkit>();
    if tk.config.value().is_some_and(|c| c.mode == "cdi") {
        return Outcome::skip("mode cdi: the CSV files are not read by the runtime");
    }
    let dir = tk
        .config
        .value()
        .map(|c| c.csv_dir.clone())
        .unwrap_or_else(|| crate::facts::toolkit_config::DEFAULT_CSV_DIR.into());
    let files = match &tk.csv {
        Ok(f) if !f.is_empty() => f,
        Ok(_) | Err(_) if !tk.any_installed() => return Outcome::skip("the NVIDIA container toolkit is not installed"),
        _ => {
            return Outcome::fail(format!("no CSV mount specs in {dir}: containers get no GPU libraries"))
                .hint(format!("find the package that owns them with `dpkg -S {dir}` and reinstall it (`sudo apt install --reinstall nvidia-container` on JetPack)"))
        }
    };
    let empty: Vec<&str> = files.iter().filter(|f| f.entries.is_empty()).map(|f| f.path.as_str()).collect();
    // Only `lib` entries must exist: `dev` nodes appear at boot, `sym`/`dir` are optional extras.
    let libs: Vec<(&str, &str)> = files
        .iter()
        .flat_map(|f| {
            f.entries.iter().filter(|e| e.kind == "lib").map(move |e| (f.path.as_str(), e.path.as_str()))
        })
        .collect();
    let missing: Vec<&str> = libs.iter().filter(|(_, p)| !ctx.host.exists(p)).map(|(_, p)| *p).collect();
    let names: Vec<&str> = files.iter().map(|f| f.path.rsplit('/').next().unwrap_or("")).collect();
    if !missing.is_empty() {
        let more = if missing.len() > SHOWN {
            format!(" and {} more", missing.len() - SHOWN)
        } else {
            String::new()
        };
        return Outcome::warn(format!(
            "{} of {} lib entries in {} are missing on the host: {}{more}",
            missing.len(),
            libs.len(),
            names.join(", "),
            missing[..missing.len().min(SHOWN)].join(", ")
        ))
        .hint("containers that need these libraries fail to load them: reinstall the L4T packages that ship them (`dpkg -S <file>` on a good device names the package), e.g. `sudo apt install --reinstall nvidia-l4t-cuda`");
    }
    if !empty.is_empty() {
        return Outcome::warn(format!("empty CSV mount specs: {}", empty.join(", ")));
    }
    Outcome::pass(format!("{} ({} lib entries, all present)", names.join(", "), libs.len()))
}
