//! The NVIDIA container toolkit: its four packages (from dpkg), its programs, its
//! `config.toml`, the CSV mount specs Jetson containers are built from, and CDI specs.

use crate::context::{Context, Probe};
use crate::fact::Fact;
use crate::facts::toolkit_config::{self, CsvEntry, RuntimeConfig};
use crate::host::Absence;
use crate::probes::Packages;

/// The packages that must share one version (NCT `packaging/debian/control`; since 1.18.0 exact).
pub const PACKAGES: [&str; 4] = [
    "nvidia-container-toolkit",
    "nvidia-container-toolkit-base",
    "libnvidia-container-tools",
    "libnvidia-container1",
];
const BIN_DIRS: [&str; 3] = ["/usr/bin", "/usr/local/bin", "/usr/sbin"];
const CDI_DIRS: [&str; 2] = ["/etc/cdi", "/var/run/cdi"];

pub struct CsvFile {
    pub path: String,
    pub entries: Vec<CsvEntry>,
    pub bad_lines: Vec<usize>,
}

pub struct Toolkit {
    /// Each of `PACKAGES` with its full installed version, or `None`.
    pub packages: Vec<(&'static str, Option<String>)>,
    /// Other toolkit-related packages that are installed (`nvidia-container`, `libnvidia-container0`).
    pub extra: Vec<(String, String)>,
    pub nvidia_ctk: Option<String>,
    pub runtime: Option<String>,
    pub hook: Option<String>,
    pub config: Fact<RuntimeConfig>,
    /// The CSV mount specs in the configured directory, or why it could not be listed.
    pub csv: Result<Vec<CsvFile>, Absence>,
    /// CDI spec files found (`/etc/cdi/nvidia.yaml`).
    pub cdi_specs: Vec<String>,
}

impl Toolkit {
    pub fn any_installed(&self) -> bool {
        self.packages.iter().any(|(_, v)| v.is_some()) || self.runtime.is_some()
    }
}

fn find_bin(ctx: &Context, name: &str) -> Option<String> {
    BIN_DIRS.iter().map(|d| format!("{d}/{name}")).find(|p| ctx.host.exists(p))
}

impl Probe for Toolkit {
    fn probe(ctx: &Context) -> Self {
        let host = &ctx.host;
        let pk = ctx.get::<Packages>();
        let packages = PACKAGES.iter().map(|n| (*n, pk.installed(n).map(|p| p.version.clone()))).collect();
        let extra =
            ["nvidia-container", "libnvidia-container0", "nvidia-container-runtime", "nvidia-docker2"]
                .iter()
                .filter_map(|n| pk.installed(n).map(|p| (p.name.clone(), p.version.clone())))
                .collect();
        let path = toolkit_config::CONFIG_PATH;
        let config = match host.read_text(path) {
            Ok(t) => match toolkit_config::parse_config(&t) {
                Ok(c) => Fact::known(c, path),
                Err(e) => Fact::Absent(Absence::malformed(path, e)),
            },
            Err(a) => Fact::Absent(a),
        };
        let csv_dir = config
            .value()
            .map(|c| c.csv_dir.clone())
            .unwrap_or_else(|| toolkit_config::DEFAULT_CSV_DIR.to_string());
        let csv = host.read_dir(&csv_dir).map(|names| {
            names
                .into_iter()
                .filter(|n| n.ends_with(".csv"))
                .map(|n| {
                    let path = format!("{csv_dir}/{n}");
                    let text = host.read_text(&path).unwrap_or_default();
                    let (entries, bad_lines) = toolkit_config::parse_csv(&text);
                    CsvFile { path, entries, bad_lines }
                })
                .collect()
        });
        let cdi_specs = CDI_DIRS
            .iter()
            .flat_map(|d| {
                host.read_dir(d)
                    .unwrap_or_default()
                    .into_iter()
                    .filter(|n| n.ends_with(".yaml") || n.ends_with(".json"))
                    .map(move |n| format!("{d}/{n}"))
            })
            .collect();
        Toolkit {
            packages,
            extra,
            nvidia_ctk: find_bin(ctx, "nvidia-ctk"),
            runtime: find_bin(ctx, "nvidia-container-runtime"),
            hook: find_bin(ctx, "nvidia-container-runtime-hook"),
            config,
            csv,
            cdi_specs,
        }
    }
}
