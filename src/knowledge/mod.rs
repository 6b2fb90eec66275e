//! Knowledge tables as data: `checks/*.toml`, embedded at build time and extended by the user's
//! files (`/etc/jetdoc/checks.d/*.toml`, `--checks-dir`). Every file has the same shape (any
//! subset of the arrays below); arrays from later files are appended, and lookups take the
//! *last* matching row, so a user's row overrides a built-in one.

mod images;
mod versions;

use serde::Deserialize;
use std::path::{Path, PathBuf};

pub use images::{ImageL4t, ImageLabel, ImagePlatform, ImageRule};
pub use versions::L4tVersion;

/// The built-in tables, in load order: the name of the TOML source and its JSON form (build.rs).
pub const BUILTIN: &[(&str, &str)] = &[
    ("checks/l4t.toml", include_str!(concat!(env!("OUT_DIR"), "/l4t.json"))),
    ("checks/modules.toml", include_str!(concat!(env!("OUT_DIR"), "/modules.json"))),
    ("checks/cameras.toml", include_str!(concat!(env!("OUT_DIR"), "/cameras.json"))),
    ("checks/storage.toml", include_str!(concat!(env!("OUT_DIR"), "/storage.json"))),
    ("checks/system.toml", include_str!(concat!(env!("OUT_DIR"), "/system.json"))),
    ("checks/images.toml", include_str!(concat!(env!("OUT_DIR"), "/images.json"))),
    ("checks/toolkit.toml", include_str!(concat!(env!("OUT_DIR"), "/toolkit.json"))),
    ("checks/zed.toml", include_str!(concat!(env!("OUT_DIR"), "/zed.json"))),
    ("checks/wheel_indexes.toml", include_str!(concat!(env!("OUT_DIR"), "/wheel_indexes.json"))),
];

/// The built-in tables `jetdoc check` reads: the others (images, ZED, wheel indexes) are a third
/// of the parse and serve `image`, `fetch` and `provision`. A unit test in `checks` runs every
/// check on every fixture root with these and with all tables and compares the reports.
pub const CHECK_TABLES: &[&str] = &[
    "checks/l4t.toml",
    "checks/modules.toml",
    "checks/cameras.toml",
    "checks/storage.toml",
    "checks/system.toml",
    "checks/toolkit.toml",
];

/// The TOML sources of the built-in tables, for the test that checks them as TOML.
#[cfg(test)]
const BUILTIN_TOML: &[(&str, &str)] = &[
    ("checks/l4t.toml", include_str!("../../checks/l4t.toml")),
    ("checks/modules.toml", include_str!("../../checks/modules.toml")),
    ("checks/cameras.toml", include_str!("../../checks/cameras.toml")),
    ("checks/storage.toml", include_str!("../../checks/storage.toml")),
    ("checks/system.toml", include_str!("../../checks/system.toml")),
    ("checks/images.toml", include_str!("../../checks/images.toml")),
    ("checks/toolkit.toml", include_str!("../../checks/toolkit.toml")),
    ("checks/zed.toml", include_str!("../../checks/zed.toml")),
    ("checks/wheel_indexes.toml", include_str!("../../checks/wheel_indexes.toml")),
];

/// Where user tables live when `--checks-dir` is not given.
pub const USER_DIR: &str = "/etc/jetdoc/checks.d";

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Knowledge {
    #[serde(default)]
    pub family: Vec<Family>,
    #[serde(default)]
    pub release: Vec<Release>,
    #[serde(default)]
    pub soc: Vec<Soc>,
    #[serde(default)]
    pub module: Vec<Module>,
    #[serde(default)]
    pub carrier: Vec<Carrier>,
    #[serde(default)]
    pub usb_camera: Vec<UsbCamera>,
    #[serde(default)]
    pub csi_sensor: Vec<CsiSensor>,
    #[serde(default)]
    pub free_space: Vec<FreeSpace>,
    #[serde(default)]
    pub memory: Vec<MemoryRule>,
    #[serde(default)]
    pub power_max: Vec<PowerMax>,
    #[serde(default)]
    pub gpu_nodes: Vec<GpuNodes>,
    #[serde(default)]
    pub image_l4t: Vec<ImageL4t>,
    #[serde(default)]
    pub image_platform: Vec<ImagePlatform>,
    #[serde(default)]
    pub image_label: Vec<ImageLabel>,
    #[serde(default)]
    pub image_rule: Vec<ImageRule>,
    #[serde(default)]
    pub toolkit_bad: Vec<ToolkitBad>,
    #[serde(default)]
    pub daemon_keys: Vec<String>,
    #[serde(default)]
    pub zed: Vec<Zed>,
    #[serde(default)]
    pub zed_x86: Vec<ZedX86>,
    #[serde(default)]
    pub zed_url: Vec<ZedUrl>,
    #[serde(default)]
    pub zed_flags: Vec<ZedFlags>,
    #[serde(default)]
    pub wheel_index: Vec<WheelIndex>,
    #[serde(default)]
    pub glibc: Vec<Glibc>,
    /// Files this knowledge was loaded from (built-in names first).
    #[serde(skip)]
    pub sources: Vec<String>,
    /// `release[i].l4t` parsed, on first use: a check run looks releases up a dozen times.
    #[serde(skip)]
    release_versions: std::sync::OnceLock<Vec<Option<L4tVersion>>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Family {
    pub major: u32,
    #[serde(default)]
    pub from_minor: u32,
    pub jetpack: String,
    pub ubuntu: String,
    pub python: String,
    pub cuda: String,
    pub wheel_index: Option<String>,
    pub base_image: Option<String>,
    /// TensorRT major.minor that the JetPack (and its `base_image`) ships.
    pub tensorrt: Option<String>,
    /// Set when the whole family is end of life: the sentence says why.
    pub eol: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Release {
    pub l4t: String,
    pub jetpack: String,
    pub cuda: String,
    #[serde(default)]
    pub preview: bool,
    pub note: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Soc {
    pub id: String,
    pub family: String,
    pub cuda_arch: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Module {
    pub part: String,
    pub name: String,
    pub soc: String,
    pub ram_gb: Option<u32>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Carrier {
    pub part: String,
    pub name: String,
}

/// A USB camera (or a part of one) recognised by its ids.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UsbCamera {
    pub vendor: String,
    pub product: String,
    pub name: String,
    /// `camera`, `sensors` (the IMU MCU of a camera) or `dfu` (firmware-update mode).
    pub kind: String,
    /// Link speed in Mbit/s below which the camera drops frames (5000 = USB 3).
    pub min_mbps: Option<u32>,
}

/// A CSI or GMSL sensor recognised by the sensor token of its V4L2 card name.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CsiSensor {
    pub sensor: String,
    pub name: String,
    /// `csi` or `gmsl`.
    pub bus: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FreeSpace {
    /// `root` or `docker-root`.
    pub target: String,
    pub warn_gb: f64,
    pub fail_gb: f64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MemoryRule {
    pub min_ram_gb_without_swap: u32,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PowerMax {
    /// Module part-number prefix (`p3767`, `p3701-0005`); empty matches every board.
    pub module: String,
    /// nvpmodel mode names, fastest first.
    pub modes: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GpuNodes {
    pub soc: String,
    #[serde(default)]
    pub all: Vec<String>,
    #[serde(default)]
    pub any: Vec<String>,
}

/// A known-bad container toolkit version range (`checks/toolkit.toml`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ToolkitBad {
    pub package: String,
    pub from: Option<String>,
    pub before: Option<String>,
    /// `tegra`, `x86` or `any`.
    pub platform: String,
    /// `fail`, `warn` or `info`.
    pub status: String,
    pub problem: String,
    pub action: String,
}

impl ToolkitBad {
    /// Whether an upstream version (`1.17.0`) falls in `[from, before)`.
    pub fn matches(&self, version: &str, tegra: bool) -> bool {
        let platform_ok = match self.platform.as_str() {
            "tegra" => tegra,
            "x86" => !tegra,
            _ => true,
        };
        let v = dotted(version);
        platform_ok
            && self.from.as_deref().is_none_or(|f| v >= dotted(f))
            && self.before.as_deref().is_none_or(|b| v < dotted(b))
    }
}

/// `1.17.0` -> `[1, 17, 0]`; the first character that is neither digit nor dot ends the number
/// (`1.17.0~rc.1` -> `[1, 17, 0]`).
pub fn dotted(v: &str) -> Vec<u32> {
    let numeric = v.split(|c: char| !(c.is_ascii_digit() || c == '.')).next().unwrap_or("");
    numeric.split('.').map_while(|n| n.parse().ok()).collect()
}

/// ZED SDK builds for one L4T `major.minor` (`checks/zed.toml`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Zed {
    pub l4t: String,
    /// SDK `major.minor`, newest first.
    pub sdk: Vec<String>,
    /// Set when Stereolabs marks the builds for this L4T as beta: the sentence says so.
    pub beta: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ZedX86 {
    pub cuda: String,
    pub ubuntu: String,
    pub sdk: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ZedUrl {
    /// `jetson` or `x86_64`.
    pub platform: String,
    pub pattern: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ZedFlags {
    pub variant: String,
    pub flags: String,
}

/// A Python package index with its mirrors (`checks/wheel_indexes.toml`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WheelIndex {
    pub name: String,
    pub urls: Vec<String>,
    #[serde(default)]
    pub pure_only: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Glibc {
    pub ubuntu: String,
    pub version: String,
}

#[derive(Debug, thiserror::Error)]
pub enum KnowledgeError {
    #[error(
        "{path}: {message}\n  fix the file or remove it; built-in tables are still used for everything else"
    )]
    Parse { path: String, message: String },
    #[error("{path}: cannot read the checks directory: {source}")]
    Dir { path: String, source: std::io::Error },
}

/// How a release was identified.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Match {
    /// An exact `[[release]]` row.
    Exact,
    /// Only the family (major, minor split) is known.
    Family,
}

/// What the tables say about one L4T release.
#[derive(Debug, Clone)]
pub struct ReleaseInfo<'a> {
    pub matched: Match,
    pub family: &'a Family,
    pub release: Option<&'a Release>,
}

impl ReleaseInfo<'_> {
    pub fn jetpack(&self) -> &str {
        self.release.map(|r| r.jetpack.as_str()).unwrap_or(&self.family.jetpack)
    }
    pub fn cuda(&self) -> &str {
        self.release.map(|r| r.cuda.as_str()).unwrap_or(&self.family.cuda)
    }
}

impl Knowledge {
    /// The built-in tables only.
    pub fn builtin() -> Knowledge {
        Knowledge::builtin_only(BUILTIN.iter().map(|(name, _)| *name))
    }

    /// The named built-in tables (`checks/l4t.toml`, ...), in their load order.
    pub fn builtin_only<'a>(names: impl IntoIterator<Item = &'a str>) -> Knowledge {
        let names: Vec<&str> = names.into_iter().collect();
        let mut k = Knowledge::default();
        for (name, json) in BUILTIN.iter().filter(|(n, _)| names.contains(n)) {
            let file: Knowledge =
                serde_json::from_str(json).unwrap_or_else(|e| panic!("built-in table {name} is broken: {e}"));
            k.extend(file, name);
        }
        k
    }

    /// Built-in tables plus every `*.toml` in `dir` (sorted by name). A missing default directory
    /// is normal; a missing `--checks-dir` is an error.
    pub fn load(dir: Option<&Path>) -> Result<Knowledge, KnowledgeError> {
        Knowledge::load_tables(dir, &BUILTIN.iter().map(|(name, _)| *name).collect::<Vec<_>>())
    }

    /// `load` with only the named built-in tables (user tables are always read whole).
    pub fn load_tables(dir: Option<&Path>, builtin: &[&str]) -> Result<Knowledge, KnowledgeError> {
        let mut k = Knowledge::builtin_only(builtin.iter().copied());
        let (dir, required) = match dir {
            Some(d) => (d.to_path_buf(), true),
            None => (PathBuf::from(USER_DIR), false),
        };
        let entries = match std::fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if !required && e.kind() == std::io::ErrorKind::NotFound => return Ok(k),
            Err(source) => return Err(KnowledgeError::Dir { path: dir.display().to_string(), source }),
        };
        let mut files: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            .collect();
        files.sort();
        for path in files {
            let shown = path.display().to_string();
            let text = std::fs::read_to_string(&path)
                .map_err(|e| KnowledgeError::Parse { path: shown.clone(), message: e.to_string() })?;
            let file = parse(&shown, &text)?;
            k.extend(file, &shown);
        }
        Ok(k)
    }

    fn extend(&mut self, other: Knowledge, name: &str) {
        self.release_versions = Default::default();
        self.family.extend(other.family);
        self.release.extend(other.release);
        self.soc.extend(other.soc);
        self.module.extend(other.module);
        self.carrier.extend(other.carrier);
        self.zed.extend(other.zed);
        self.zed_x86.extend(other.zed_x86);
        self.zed_url.extend(other.zed_url);
        self.zed_flags.extend(other.zed_flags);
        self.wheel_index.extend(other.wheel_index);
        self.glibc.extend(other.glibc);
        self.usb_camera.extend(other.usb_camera);
        self.csi_sensor.extend(other.csi_sensor);
        self.free_space.extend(other.free_space);
        self.memory.extend(other.memory);
        self.power_max.extend(other.power_max);
        self.gpu_nodes.extend(other.gpu_nodes);
        self.image_l4t.extend(other.image_l4t);
        self.image_platform.extend(other.image_platform);
        self.image_label.extend(other.image_label);
        self.image_rule.extend(other.image_rule);
        self.toolkit_bad.extend(other.toolkit_bad);
        self.daemon_keys.extend(other.daemon_keys);
        self.sources.push(name.to_string());
    }

    /// The family row for a release: the last row of that major whose `from_minor` is the highest
    /// one not above the release's minor.
    pub fn family_of(&self, v: &L4tVersion) -> Option<&Family> {
        self.family.iter().filter(|f| f.major == v.major && f.from_minor <= v.minor).fold(
            None,
            |best: Option<&Family>, f| match best {
                Some(b) if b.from_minor > f.from_minor => Some(b),
                _ => Some(f),
            },
        )
    }

    pub fn release(&self, v: &L4tVersion) -> Option<ReleaseInfo<'_>> {
        let family = self.family_of(v)?;
        let exact =
            self.release_versions().iter().rposition(|r| r.as_ref() == Some(v)).map(|i| &self.release[i]);
        Some(ReleaseInfo {
            matched: if exact.is_some() { Match::Exact } else { Match::Family },
            family,
            release: exact,
        })
    }

    pub fn module(&self, part: &str) -> Option<&Module> {
        self.module.iter().rev().find(|m| m.part.eq_ignore_ascii_case(part))
    }

    pub fn carrier(&self, part: &str) -> Option<&Carrier> {
        self.carrier.iter().rev().find(|m| m.part.eq_ignore_ascii_case(part))
    }

    /// The last `[[wheel_index]]` row with this name (user rows override built-in ones).
    pub fn wheel_index(&self, name: &str) -> Option<&WheelIndex> {
        self.wheel_index.iter().rev().find(|w| w.name == name)
    }

    pub fn soc(&self, id: &str) -> Option<&Soc> {
        self.soc.iter().rev().find(|s| s.id == id)
    }

    pub fn usb_camera(&self, vendor: &str, product: &str) -> Option<&UsbCamera> {
        self.usb_camera
            .iter()
            .rev()
            .find(|c| c.vendor.eq_ignore_ascii_case(vendor) && c.product.eq_ignore_ascii_case(product))
    }

    pub fn csi_sensor(&self, sensor: &str) -> Option<&CsiSensor> {
        self.csi_sensor.iter().rev().find(|c| c.sensor.eq_ignore_ascii_case(sensor))
    }

    /// Free-space thresholds for `root` or `docker-root` (the last row wins).
    pub fn free_space(&self, target: &str) -> Option<&FreeSpace> {
        self.free_space.iter().rev().find(|f| f.target == target)
    }

    pub fn min_ram_gb_without_swap(&self) -> Option<u32> {
        self.memory.last().map(|m| m.min_ram_gb_without_swap)
    }

    /// The power-mode preference for a module: the longest matching prefix, later rows winning ties.
    pub fn power_max(&self, module: Option<&str>) -> Option<&PowerMax> {
        let part = module.unwrap_or("");
        self.power_max
            .iter()
            .enumerate()
            .filter(|(_, p)| part.to_ascii_lowercase().starts_with(&p.module.to_ascii_lowercase()))
            .max_by_key(|(i, p)| (p.module.len(), *i))
            .map(|(_, p)| p)
    }

    pub fn gpu_nodes(&self, soc: &str) -> Option<&GpuNodes> {
        self.gpu_nodes.iter().rev().find(|g| g.soc == soc)
    }

    /// The newest release row known for a major (for hints such as "upgrade to 36.4.7").
    pub fn newest_in_major(&self, major: u32) -> Option<L4tVersion> {
        self.release_versions().iter().flatten().copied().filter(|v| v.major == major).max()
    }

    fn release_versions(&self) -> &[Option<L4tVersion>] {
        self.release_versions.get_or_init(|| self.release.iter().map(|r| L4tVersion::parse(&r.l4t)).collect())
    }
}

fn parse(name: &str, text: &str) -> Result<Knowledge, KnowledgeError> {
    toml::from_str(text).map_err(|e| {
        let message = match e.span() {
            Some(span) => {
                let line = text[..span.start.min(text.len())].matches('\n').count() + 1;
                format!("line {line}: {}", e.message())
            }
            None => e.message().to_string(),
        };
        KnowledgeError::Parse { path: name.to_string(), message }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_tables_parse_as_toml_with_the_same_content() {
        assert_eq!(BUILTIN.len(), BUILTIN_TOML.len());
        for ((name, json), (toml_name, text)) in BUILTIN.iter().zip(BUILTIN_TOML) {
            assert_eq!(name, toml_name);
            let from_toml = parse(name, text).unwrap_or_else(|e| panic!("{e}"));
            let from_json: Knowledge = serde_json::from_str(json).unwrap();
            assert_eq!(format!("{from_toml:?}"), format!("{from_json:?}"), "{name}");
        }
    }

    #[test]
    fn every_builtin_release_has_a_family() {
        let k = Knowledge::builtin();
        assert!(k.release.len() >= 60, "{} rows", k.release.len());
        for r in &k.release {
            let v = L4tVersion::parse(&r.l4t).unwrap_or_else(|| panic!("bad l4t {}", r.l4t));
            assert!(k.family_of(&v).is_some(), "no family for {}", r.l4t);
        }
        for m in &k.module {
            assert!(k.soc(&m.soc).is_some(), "module {} names unknown soc {}", m.part, m.soc);
        }
    }

    #[test]
    fn the_36_4_split_picks_the_right_cuda() {
        let k = Knowledge::builtin();
        let f = |s: &str| k.release(&L4tVersion::parse(s).unwrap()).unwrap();
        assert_eq!(f("36.3.0").cuda(), "12.2");
        assert_eq!(f("36.4.3").cuda(), "12.6");
        assert_eq!(f("36.4.3").jetpack(), "6.2");
        let unknown = f("36.9.1");
        assert_eq!(unknown.matched, Match::Family);
        assert_eq!(unknown.cuda(), "12.6");
        assert_eq!(unknown.jetpack(), "6.x");
        assert_eq!(f("36.1.9").family.wheel_index.as_deref(), Some("jp6/cu122"));
        assert!(k.release(&L4tVersion::parse("99.1.0").unwrap()).is_none());
    }

    #[test]
    fn known_bad_toolkit_rows_match_their_range_and_platform() {
        let k = Knowledge::builtin();
        let hits = |pkg: &str, v: &str, tegra: bool| {
            k.toolkit_bad
                .iter()
                .filter(|r| r.package == pkg && r.matches(v, tegra))
                .map(|r| r.status.as_str())
                .collect::<Vec<_>>()
        };
        assert_eq!(hits("nvidia-container-toolkit", "1.17.0", true), ["fail"]);
        assert_eq!(hits("nvidia-container-toolkit", "1.17.0", false), Vec::<&str>::new());
        assert_eq!(hits("nvidia-container-toolkit", "1.16.2", true), Vec::<&str>::new());
        assert_eq!(hits("nvidia-container-toolkit", "1.18.0", true), ["info"]);
        assert_eq!(hits("libnvidia-container0", "0.10.0", true), ["warn"]);
        assert_eq!(dotted("1.17.0~rc.1"), [1, 17, 0]);
        assert!(k.daemon_keys.iter().any(|key| key == "default-runtime"));
    }

    #[test]
    fn user_rows_override_and_errors_name_the_line() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("new.toml"),
            "[[release]]\nl4t = \"36.9.0\"\njetpack = \"6.3\"\ncuda = \"12.8\"\n",
        )
        .unwrap();
        let k = Knowledge::load(Some(dir.path())).unwrap();
        let r = k.release(&L4tVersion::parse("36.9.0").unwrap()).unwrap();
        assert_eq!((r.matched, r.jetpack()), (Match::Exact, "6.3"));

        std::fs::write(dir.path().join("zz-bad.toml"), "[[release]]\nl4t = \"36.9.0\"\njetpak = \"6.3\"\n")
            .unwrap();
        let err = Knowledge::load(Some(dir.path())).unwrap_err().to_string();
        assert!(err.contains("zz-bad.toml: line 3"), "{err}");
        assert!(Knowledge::load(Some(Path::new("/no/such/dir"))).is_err());
    }

    #[test]
    fn device_tables_are_consistent() {
        let k = Knowledge::builtin();
        for c in &k.usb_camera {
            let hex4 =
                |s: &str| s.len() == 4 && s.chars().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase());
            assert!(hex4(&c.vendor) && hex4(&c.product), "{} {}:{}", c.name, c.vendor, c.product);
            assert!(["camera", "sensors", "dfu"].contains(&c.kind.as_str()), "{}", c.kind);
        }
        assert_eq!(
            k.usb_camera("2b03", "F880").map(|c| (c.name.as_str(), c.min_mbps)),
            Some(("ZED 2i", Some(5000)))
        );
        assert_eq!(k.csi_sensor("zedx").map(|s| s.bus.as_str()), Some("gmsl"));
        for g in &k.gpu_nodes {
            assert!(k.soc(&g.soc).is_some(), "gpu_nodes for unknown soc {}", g.soc);
            assert!(!g.all.is_empty() || !g.any.is_empty());
        }
        for t in ["root", "docker-root"] {
            let f = k.free_space(t).unwrap();
            assert!(f.fail_gb < f.warn_gb, "{t}");
        }
        // The most specific prefix wins; every board gets the generic row.
        assert_eq!(k.power_max(Some("p3668-0001")).unwrap().modes[0], "MODE_20W_6CORE");
        assert_eq!(k.power_max(Some("p3767-0005")).unwrap().modes[0], "MAXN_SUPER");
        assert_eq!(k.power_max(None).unwrap().module, "");
        assert_eq!(k.min_ram_gb_without_swap(), Some(16));
    }
}
