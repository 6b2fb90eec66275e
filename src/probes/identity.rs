//! Who is this device: board model, module, carrier, SoC, L4T and JetPack, and whether jetdoc is
//! looking at a container.

use crate::context::{Context, Probe};
use crate::fact::Fact;
use crate::facts::device_tree::{self, Compatible};
use crate::facts::dpkg_status::upstream_version;
use crate::facts::nv_tegra_release::{self, NvTegraRelease};
use crate::host::{Absence, Reason};
use crate::knowledge::{L4tVersion, Match};
use crate::probes::Packages;

pub const NV_TEGRA_RELEASE: &str = "/etc/nv_tegra_release";
pub const DT_MODEL: [&str; 2] = ["/proc/device-tree/model", "/sys/firmware/devicetree/base/model"];
pub const DT_COMPATIBLE: [&str; 2] =
    ["/proc/device-tree/compatible", "/sys/firmware/devicetree/base/compatible"];

/// How the JetPack release was determined.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JetpackFrom {
    /// The exact L4T row of the table (no `nvidia-jetpack` package installed).
    Table,
    /// The `nvidia-jetpack` meta-package version: preferred whenever it is installed.
    Package,
    /// Only the L4T family is known: `6.x`.
    Family,
}

#[derive(Debug, Clone)]
pub struct Jetpack {
    pub version: String,
    pub from: JetpackFrom,
}

#[derive(Debug, Clone)]
pub struct ModuleInfo {
    pub part: String,
    pub name: Option<String>,
}

pub struct Identity {
    pub model: Fact<String>,
    pub compatible: Fact<Compatible>,
    pub module: Option<ModuleInfo>,
    pub carrier: Option<String>,
    pub soc: Fact<String>,
    pub release_file: Fact<NvTegraRelease>,
    /// `nvidia-l4t-core` upstream version when installed.
    pub l4t_core: Option<String>,
    /// The L4T release: release file first, then `nvidia-l4t-core`.
    pub l4t: Fact<L4tVersion>,
    /// `nvidia-jetpack` upstream version when installed.
    pub jetpack_package: Option<String>,
    pub jetpack: Option<Jetpack>,
    /// Evidence that the root is a container, e.g. `/.dockerenv`.
    pub container: Option<String>,
    pub jetson: bool,
    /// Debian architecture (`arm64`, `amd64`) or the running machine's.
    pub arch: Option<String>,
}

impl Probe for Identity {
    fn probe(ctx: &Context) -> Self {
        let host = &ctx.host;
        let packages = ctx.get::<Packages>();
        let model = first_readable(ctx, &DT_MODEL, |b| device_tree::model(b).ok_or("no model string"));
        let compatible = first_readable(ctx, &DT_COMPATIBLE, |b| Ok::<_, &str>(device_tree::compatible(b)));

        let mut module = None;
        let mut carrier = None;
        // Without a readable `compatible`, the SoC is absent for the same reason (a FIFO, no root).
        let mut soc = match &compatible {
            Fact::Absent(a) => Fact::Absent(a.clone()),
            Fact::Known { .. } => Fact::absent(DT_COMPATIBLE[0], Reason::Missing),
        };
        if let Fact::Known { value: c, source } = &compatible {
            // When the DT lists several SKUs (JP5 Orin Nano lists -0003 and -0005), the first one
            // the table knows is the best guess; the EEPROM would be the truth but needs root.
            let part = c.modules.iter().find(|p| ctx.knowledge.module(p).is_some()).or(c.modules.first());
            module = part.map(|p| ModuleInfo {
                part: p.clone(),
                name: ctx.knowledge.module(p).map(|m| m.name.clone()),
            });
            carrier = c.carriers.first().cloned();
            soc = match (&c.soc, part.and_then(|p| ctx.knowledge.module(p))) {
                (Some(s), _) => Fact::known(s.clone(), source.clone()),
                (None, Some(m)) => Fact::known(m.soc.clone(), "module table"),
                (None, None) => Fact::absent(source, Reason::Malformed("no tegraNNN entry".into())),
            };
        }

        let release_file = match host.read_text(NV_TEGRA_RELEASE) {
            Ok(text) => match nv_tegra_release::parse(&text) {
                Ok(r) => Fact::known(r, NV_TEGRA_RELEASE),
                Err(e) => Fact::Absent(Absence::malformed(NV_TEGRA_RELEASE, e)),
            },
            Err(a) => Fact::Absent(a),
        };
        let l4t_core =
            packages.installed("nvidia-l4t-core").map(|p| upstream_version(&p.version).to_string());
        let l4t = release_file.clone().map(|r| r.version).or_else(|| {
            match l4t_core.as_deref().and_then(L4tVersion::parse) {
                Some(v) => Fact::known(v, "dpkg: nvidia-l4t-core"),
                None => Fact::absent("dpkg: nvidia-l4t-core", Reason::Missing),
            }
        });
        let jetpack_package =
            packages.installed("nvidia-jetpack").map(|p| upstream_version(&p.version).to_string());
        // The installed nvidia-jetpack package first: a vendor image may carry a newer JetPack
        // userspace than its L4T's table row (issue 11). Then the exact row, then the family.
        let jetpack = match &jetpack_package {
            Some(pkg) => Some(Jetpack { version: pkg.clone(), from: JetpackFrom::Package }),
            None => l4t.value().and_then(|v| {
                ctx.knowledge.release(v).map(|i| Jetpack {
                    version: i.jetpack().to_string(),
                    from: if i.matched == Match::Exact { JetpackFrom::Table } else { JetpackFrom::Family },
                })
            }),
        };
        let container = detect_container(ctx);
        let jetson = l4t.value().is_some()
            || soc.value().is_some_and(|s| s.starts_with("tegra"))
            || host.exists(NV_TEGRA_RELEASE);
        let arch = packages
            .architecture()
            .map(str::to_string)
            .or_else(|| host.is_live().then(|| debian_arch(std::env::consts::ARCH)));
        Identity {
            model,
            compatible,
            module,
            carrier,
            soc,
            release_file,
            l4t_core,
            l4t,
            jetpack_package,
            jetpack,
            container,
            jetson,
            arch,
        }
    }
}

impl Identity {
    pub fn module_name(&self) -> Option<&str> {
        self.module.as_ref().and_then(|m| m.name.as_deref())
    }
}

/// Reads the first of several equivalent paths that exists (the device tree is reachable both as
/// `/proc/device-tree` and `/sys/firmware/devicetree/base`).
fn first_readable<T, E: std::fmt::Display>(
    ctx: &Context,
    paths: &[&str],
    parse: impl Fn(&[u8]) -> Result<T, E>,
) -> Fact<T> {
    let mut first_absence = None;
    for path in paths {
        match ctx.host.read(path) {
            Ok(bytes) => {
                return match parse(&bytes) {
                    Ok(v) => Fact::known(v, *path),
                    Err(e) => Fact::Absent(Absence::malformed(path, e.to_string())),
                }
            }
            Err(a) => {
                first_absence.get_or_insert(a);
            }
        }
    }
    Fact::Absent(first_absence.unwrap_or_else(|| Absence::new("device tree", Reason::Missing)))
}

fn detect_container(ctx: &Context) -> Option<String> {
    let host = &ctx.host;
    for marker in ["/.dockerenv", "/run/.containerenv"] {
        if host.exists(marker) {
            return Some(marker.to_string());
        }
    }
    if let Ok(cgroup) = host.read_text("/proc/1/cgroup") {
        if let Some(kind) =
            ["docker", "kubepods", "containerd", "libpod"].iter().find(|k| cgroup.contains(*k))
        {
            return Some(format!("/proc/1/cgroup mentions {kind}"));
        }
    }
    host.env("container").map(|v| format!("$container={v}"))
}

pub fn debian_arch(rust_arch: &str) -> String {
    match rust_arch {
        "aarch64" => "arm64",
        "x86_64" => "amd64",
        "arm" => "armhf",
        other => other,
    }
    .to_string()
}
