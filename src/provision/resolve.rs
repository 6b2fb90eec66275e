//! A profile resolved against one device: which platform rules apply, which base rows and
//! candidates, which ZED SDK build, which cameras and mounts, which runtime flags, and whether
//! the device meets the profile's requirements. Pure: the device is a [`Device`] snapshot, the
//! tables are `Knowledge`, and the only question asked of the machine is whether a mount source
//! exists (passed in as a function).

use serde::Serialize;
use std::collections::BTreeMap;

use super::device::Device;
use super::profile::{Candidate, PlatformKind, Profile, RuntimeChoice, Smoke, X11};
use super::range::Range;
use crate::fetch::zed;
use crate::knowledge::{Knowledge, L4tVersion};

/// Why a profile does not apply to a device.
#[derive(Debug, Clone, Serialize, thiserror::Error)]
#[error("profile `{profile}` cannot be provisioned on this device ({device}): {reason}{}", hint.as_ref().map(|h| format!("\n  {h}")).unwrap_or_default())]
pub struct Refused {
    pub profile: String,
    pub device: String,
    pub reason: String,
    pub hint: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ProfileId {
    pub name: String,
    pub source: String,
    pub sha256: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Resolved {
    pub profile: ProfileId,
    pub device: Device,
    pub platform: PlatformKind,
    /// Why the platform admits the device (`JetPack 6.2 in >=5.1`).
    pub admitted: String,
    pub base: BaseResolution,
    pub apt: Vec<String>,
    pub python: Option<PythonResolution>,
    pub zed: Option<ZedResolution>,
    pub files: Vec<super::profile::FileCopy>,
    pub env: BTreeMap<String, String>,
    pub labels: BTreeMap<String, String>,
    pub run: RunResolution,
    pub requirements: Vec<Requirement>,
    pub smoke: Vec<Smoke>,
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct BaseResolution {
    /// Which `[[base]]` row applied and why (`jetson, JetPack >=6.0, <7`).
    pub row: String,
    pub note: Option<String>,
    pub candidates: Vec<BaseCandidate>,
}

#[derive(Debug, Clone, Serialize)]
pub struct BaseCandidate {
    pub image: String,
    /// The Python wheels are resolved for: the candidate's, else the device family's.
    pub python: Option<String>,
    /// Listed under `fallback` (a community image).
    pub fallback: bool,
    pub note: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct PythonResolution {
    pub requirements: Vec<String>,
    /// A requirements file relative to the profile (read when the wheels are resolved).
    pub requirements_file: Option<String>,
    /// The profile's own index URLs; empty: the JetPack's index from the tables.
    pub indexes: Vec<String>,
    pub pip: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct ZedResolution {
    /// SDK `major.minor` in the URL.
    pub sdk: String,
    /// A full version asked for (the server serves only the newest patch).
    pub wanted: Option<String>,
    /// `l4t36.4` or `cu12/ubuntu22`.
    pub token: String,
    pub url: String,
    pub flags: Vec<String>,
    /// `runtime`, `devel`, ... or `flags` when the profile lists them.
    pub variant: String,
    /// Why a neighbouring build was chosen, when it was.
    pub note: Option<String>,
    /// Set when the build is a beta.
    pub beta: Option<String>,
    /// The pyzed wheel pattern filled for the SDK (`{python}` left for the chosen base's).
    pub pyzed_url: Option<String>,
    /// The L4T written to `/etc/nv_tegra_release` when the base lacks it.
    pub release_stub: Option<String>,
    pub drop_resources: bool,
}

impl ZedResolution {
    /// The pyzed wheel URL for a Python `major.minor`.
    pub fn pyzed_for(&self, python: &str) -> Option<String> {
        let py = python.replace('.', "");
        self.pyzed_url.as_ref().map(|u| u.replace("{python}", &py))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Runtime {
    /// `--runtime nvidia` (Jetson: the NVIDIA runtime mounts the host's L4T libraries).
    Nvidia,
    /// `--gpus all` (x86_64: the NVIDIA container toolkit's hook).
    GpusAll,
    None,
}

#[derive(Debug, Clone, Serialize)]
pub struct DeviceMap {
    pub path: String,
    pub why: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MountMap {
    pub source: String,
    pub target: String,
    pub read_only: bool,
    pub why: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct RunResolution {
    pub name: String,
    pub runtime: Runtime,
    pub network: Option<String>,
    pub ipc: Option<String>,
    pub privileged: bool,
    pub devices: Vec<DeviceMap>,
    pub mounts: Vec<MountMap>,
    pub env: BTreeMap<String, String>,
    /// Whether the display is passed, and why (or why not).
    pub x11: bool,
    pub x11_reason: String,
    pub restart: Option<String>,
    pub shm_size: Option<String>,
    pub command: Option<Vec<String>>,
    /// Things left out (an optional mount whose source is missing, a display not offered).
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Met {
    Yes,
    No,
    /// Not measured here (another root, no answer): said, never assumed.
    Unknown,
}

/// One requirement of the profile against the device.
#[derive(Debug, Clone, Serialize)]
pub struct Requirement {
    /// `ram`, `disk`, `gpu`, `login`, `x11`.
    pub what: String,
    pub met: Met,
    pub message: String,
    /// What to do when it is not met.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

pub const GB: f64 = 1e9;

/// Resolves `profile` for `device`. `exists` answers whether a path exists on the device (for
/// optional mounts); `home` is the invoking user's home directory (for `~/` mount sources).
pub fn resolve(
    profile: &Profile,
    device: &Device,
    k: &Knowledge,
    exists: &dyn Fn(&str) -> bool,
    home: Option<&str>,
) -> Result<Resolved, Refused> {
    let refuse = |reason: String, hint: Option<String>| Refused {
        profile: profile.name.clone(),
        device: device.summary(),
        reason,
        hint,
    };
    let supported = profile.platform_words().join(" or ");
    let Some(platform) = device.platform() else {
        return Err(refuse(
            format!(
                "it is neither a Jetson nor an x86_64 machine (architecture {}); the profile runs on {supported}",
                device.arch.as_deref().unwrap_or("unknown")
            ),
            None,
        ));
    };
    let admitted = admit(profile, device, platform).map_err(|(reason, hint)| refuse(reason, hint))?;

    // The first [[base]] row of the platform whose ranges hold the device.
    let row = profile.base.iter().enumerate().find(|(_, r)| {
        r.platform == platform
            && holds(&r.l4t, device.l4t.as_deref())
            && holds(&r.jetpack, device.jetpack.as_deref())
    });
    let Some((_, row)) = row else {
        let rows: Vec<String> =
            profile.base.iter().filter(|r| r.platform == platform).map(row_words).collect();
        return Err(refuse(
            format!("no [[base]] row of the profile covers it (rows: {})", rows.join("; ")),
            Some(format!("add a [[base]] row for it to {}", profile.source)),
        ));
    };
    let family_python = family_python(device, k);
    let candidate = |c: &Candidate, fallback: bool| BaseCandidate {
        image: c.image().to_string(),
        python: c.python().map(str::to_string).or_else(|| family_python.clone()),
        fallback,
        note: c.note().map(str::to_string),
    };
    let base = BaseResolution {
        row: row_words(row),
        note: row.note.clone(),
        candidates: row
            .candidates
            .iter()
            .map(|c| candidate(c, false))
            .chain(row.fallback.iter().map(|c| candidate(c, true)))
            .collect(),
    };

    let mut warnings = Vec::new();
    if device.container {
        warnings
            .push("jetdoc runs inside a container: the device facts describe the image, not the host".into());
    }
    if device.jetpack_from.as_deref() == Some("family") {
        warnings.push(format!(
            "L4T {} is newer than jetdoc's tables: JetPack, CUDA and Python are the family defaults (teach jetdoc the release: /etc/jetdoc/checks.d)",
            device.l4t.as_deref().unwrap_or("?")
        ));
    }

    let zed = match &profile.zed {
        None => None,
        Some(z) => match resolve_zed(z, device, k, platform) {
            Ok(r) => {
                if let Some(b) = &r.beta {
                    warnings.push(format!("ZED SDK {} for {}: {b}", r.sdk, r.token));
                }
                if let Some(n) = &r.note {
                    warnings.push(format!("ZED SDK: {n}"));
                }
                Some(r)
            }
            Err(e) if z.optional => {
                warnings.push(format!("the ZED SDK is left out ([zed] optional = true): {}", first_line(&e)));
                None
            }
            Err(e) => {
                return Err(refuse(
                    format!("it needs the ZED SDK: {}", first_line(&e)),
                    e.lines().nth(1).map(|l| l.trim().to_string()),
                ))
            }
        },
    };

    let python = profile.python.as_ref().map(|p| PythonResolution {
        requirements: p.requirements.clone(),
        requirements_file: p.requirements_file.clone(),
        indexes: p.indexes.clone(),
        pip: p.pip.clone(),
    });

    let run = resolve_run(profile, device, platform, exists, home);
    let requirements = requirements(profile, device, platform, &run);
    Ok(Resolved {
        profile: ProfileId {
            name: profile.name.clone(),
            source: profile.source.clone(),
            sha256: profile.sha256.clone(),
        },
        device: device.clone(),
        platform,
        admitted,
        base,
        apt: profile.apt.packages.clone(),
        python,
        zed,
        files: profile.files.clone(),
        env: profile.env.clone(),
        labels: profile.labels.clone(),
        run,
        requirements,
        smoke: profile.smoke.clone(),
        warnings,
    })
}

fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or(s).to_string()
}

fn holds(range: &Option<String>, version: Option<&str>) -> bool {
    match (range, version) {
        (None, _) => true,
        (Some(r), Some(v)) => Range::parse(r).is_ok_and(|r| r.contains(v)),
        (Some(_), None) => false,
    }
}

fn row_words(r: &super::profile::BaseRow) -> String {
    let mut s = r.platform.as_str().to_string();
    if let Some(l) = &r.l4t {
        s.push_str(&format!(", L4T {l}"));
    }
    if let Some(j) = &r.jetpack {
        s.push_str(&format!(", JetPack {j}"));
    }
    s
}

/// Whether the profile's platform table admits the device: `Ok(why)` or `Err((reason, hint))`.
fn admit(
    profile: &Profile,
    device: &Device,
    platform: PlatformKind,
) -> Result<String, (String, Option<String>)> {
    let supported = profile.platform_words().join(" or ");
    match platform {
        PlatformKind::Jetson => {
            let Some(j) = &profile.platforms.jetson else {
                return Err((format!("the profile does not run on a Jetson; it runs on {supported}"), None));
            };
            if let Some(r) = &j.refuse {
                return Err((r.clone(), None));
            }
            let mut why = Vec::new();
            for (what, range, value) in
                [("L4T", &j.l4t, device.l4t.as_deref()), ("JetPack", &j.jetpack, device.jetpack.as_deref())]
            {
                let Some(range) = range else { continue };
                let Some(value) = value else {
                    return Err((
                        format!("its {what} release is unknown and the profile needs {what} {range}"),
                        Some("run `jetdoc check` to see why the release could not be read".into()),
                    ));
                };
                if !holds(&Some(range.clone()), Some(value)) {
                    let because = j.why.as_ref().map(|w| format!(": {w}")).unwrap_or_default();
                    return Err((
                        format!("{what} {value} is outside the profile's range {range}{because}"),
                        None,
                    ));
                }
                why.push(format!("{what} {value} in {range}"));
            }
            Ok(if why.is_empty() { "a Jetson".into() } else { why.join(", ") })
        }
        PlatformKind::X86_64 => {
            let Some(x) = &profile.platforms.x86_64 else {
                return Err((format!("the profile does not run on x86_64; it runs on {supported}"), None));
            };
            if let Some(r) = &x.refuse {
                return Err((r.clone(), None));
            }
            Ok(if x.gpu { "x86_64 (an NVIDIA GPU is required)".into() } else { "x86_64".into() })
        }
    }
}

/// Python `major.minor` of the device's JetPack family (wheels target the image, not the host,
/// but a base that states nothing gets the family's).
fn family_python(device: &Device, k: &Knowledge) -> Option<String> {
    let v = L4tVersion::parse(device.l4t.as_deref()?)?;
    k.family_of(&v).map(|f| f.python.clone())
}

fn resolve_zed(
    z: &super::profile::Zed,
    device: &Device,
    k: &Knowledge,
    platform: PlatformKind,
) -> Result<ZedResolution, String> {
    let (choice, beta) = match platform {
        PlatformKind::Jetson => {
            let v = device.l4t.as_deref().and_then(L4tVersion::parse).ok_or_else(|| {
                "the device's L4T release is unknown, so no ZED SDK build can be chosen".to_string()
            })?;
            let choice =
                zed::for_jetson(k, v.major, v.minor, z.version.as_deref()).map_err(|e| e.to_string())?;
            let row_l4t = choice.token.trim_start_matches("l4t");
            let beta = k.zed.iter().rev().find(|r| r.l4t == row_l4t).and_then(|r| r.beta.clone());
            (choice, beta)
        }
        PlatformKind::X86_64 => {
            let major = |v: Option<&String>| v.and_then(|s| s.split('.').next()).map(str::to_string);
            let cuda = major(device.cuda.as_ref()).ok_or("the machine's CUDA version is unknown")?;
            let ubuntu = major(device.ubuntu.as_ref()).ok_or("the machine's Ubuntu release is unknown")?;
            (zed::for_x86(k, &cuda, &ubuntu, z.version.as_deref()).map_err(|e| e.to_string())?, None)
        }
    };
    let (variant, mut flags) = match (&z.flags, &z.variant) {
        (Some(f), _) => ("flags".to_string(), f.clone()),
        (None, v) => {
            let variant = match (v.as_deref(), platform) {
                (Some(v), _) => v.to_string(),
                (None, PlatformKind::Jetson) => "runtime".into(),
                (None, PlatformKind::X86_64) => "x86-devel".into(),
            };
            let row = k.zed_flags.iter().rev().find(|f| f.variant == variant).ok_or_else(|| {
                format!("no [[zed_flags]] row for variant `{variant}` in the tables (checks/zed.toml)")
            })?;
            (variant, row.flags.split_whitespace().map(str::to_string).collect())
        }
    };
    // jetdoc installs pyzed from its own verified download; the installer's Python step would
    // fetch it again during the build.
    if z.python && !flags.iter().any(|f| f == "skip_python") {
        flags.push("skip_python".into());
    }
    let pyzed_url = z
        .python
        .then(|| k.zed_url.iter().rev().find(|u| u.platform == "pyzed").map(|u| u.pattern.clone()))
        .flatten()
        .map(|p| {
            let wheel_platform =
                if platform == PlatformKind::X86_64 { "linux_x86_64" } else { "linux_aarch64" };
            p.replace("{sdk}", &choice.sdk).replace("{platform}", wheel_platform)
        });
    let release_stub =
        (z.release_stub && platform == PlatformKind::Jetson).then(|| device.l4t.clone()).flatten();
    Ok(ZedResolution {
        sdk: choice.sdk,
        wanted: choice.wanted,
        token: choice.token,
        url: choice.url,
        flags,
        variant,
        note: choice.note,
        beta,
        pyzed_url,
        release_stub,
        drop_resources: z.drop_resources,
    })
}

fn resolve_run(
    profile: &Profile,
    device: &Device,
    platform: PlatformKind,
    exists: &dyn Fn(&str) -> bool,
    home: Option<&str>,
) -> RunResolution {
    let r = &profile.run;
    let runtime = match (r.runtime, platform) {
        (RuntimeChoice::Auto, PlatformKind::Jetson) | (RuntimeChoice::Nvidia, _) => Runtime::Nvidia,
        (RuntimeChoice::Auto, PlatformKind::X86_64) | (RuntimeChoice::GpusAll, _) => Runtime::GpusAll,
        (RuntimeChoice::None, _) => Runtime::None,
    };
    let mut notes = Vec::new();
    let mut devices = Vec::new();
    let mut mounts = Vec::new();
    if r.cameras {
        if device.cameras.is_empty() {
            notes.push("no camera found on the device: none passed to the container".into());
        }
        for c in &device.cameras {
            for n in &c.nodes {
                devices.push(DeviceMap { path: n.clone(), why: format!("{} ({})", c.name, c.bus) });
            }
        }
        if device.cameras.iter().any(|c| c.bus == "csi" || c.bus == "gmsl") {
            mounts.push(MountMap {
                source: crate::probes::cameras::ARGUS_SOCKET.into(),
                target: crate::probes::cameras::ARGUS_SOCKET.into(),
                read_only: false,
                why: "CSI/GMSL cameras are read through nvargus-daemon's socket".into(),
            });
        }
    }
    for d in &r.devices {
        devices.push(DeviceMap { path: d.clone(), why: "the profile's devices".into() });
    }
    for m in &r.mounts {
        let source = match (m.source.strip_prefix("~/"), home) {
            (Some(rest), Some(h)) => format!("{}/{rest}", h.trim_end_matches('/')),
            (Some(_), None) => {
                notes.push(format!("mount {} left out: the user's home directory is unknown", m.source));
                continue;
            }
            (None, _) => m.source.clone(),
        };
        if m.optional && !exists(&source) {
            notes.push(format!("optional mount {source} left out: it does not exist on the device"));
            continue;
        }
        mounts.push(MountMap {
            source,
            target: m.target.clone(),
            read_only: m.read_only,
            why: "the profile's mounts".into(),
        });
    }
    let mut env = r.env.clone();
    let d = &device.display;
    let (x11, x11_reason) = match r.x11 {
        X11::Off => (false, "the profile runs without a display".to_string()),
        _ => match (&d.display, d.x11_socket_dir, d.admits_local) {
            (None, _, _) => (false, "no $DISPLAY in this session: headless".to_string()),
            (Some(_), false, _) => (false, "/tmp/.X11-unix does not exist: no local X server to share".to_string()),
            (Some(_), true, Some(false)) => (
                false,
                "the X server does not admit local containers (`xhost +local:` or `xhost +SI:localuser:root` allows them)".to_string(),
            ),
            (Some(disp), true, admits) => {
                env.insert("DISPLAY".into(), disp.clone());
                mounts.push(MountMap {
                    source: "/tmp/.X11-unix".into(),
                    target: "/tmp/.X11-unix".into(),
                    read_only: false,
                    why: "the X server's socket".into(),
                });
                let how = if admits.is_some() { "the X server admits local containers" } else { "xhost could not be asked: the X server may refuse the container" };
                (true, format!("DISPLAY={disp}; {how}"))
            }
        },
    };
    if r.x11 == X11::Optional && !x11 {
        notes.push(format!("X11 left out: {x11_reason}"));
    }
    RunResolution {
        name: r.name.clone().unwrap_or_else(|| format!("jetdoc-{}", profile.name)),
        runtime,
        network: r.network.clone(),
        ipc: r.ipc.clone(),
        privileged: r.privileged,
        devices,
        mounts,
        env,
        x11,
        x11_reason,
        restart: r.restart.clone(),
        shm_size: r.shm_size.clone(),
        command: r.command.clone(),
        notes,
    }
}

fn gb(bytes: u64) -> String {
    format!("{:.1} GB", bytes as f64 / GB)
}

fn requirements(
    profile: &Profile,
    device: &Device,
    platform: PlatformKind,
    run: &RunResolution,
) -> Vec<Requirement> {
    let mut out = Vec::new();
    let req = |what: &str, met: Met, message: String, hint: Option<String>| Requirement {
        what: what.into(),
        met,
        message,
        hint,
    };
    if platform == PlatformKind::X86_64 && profile.platforms.x86_64.as_ref().is_some_and(|x| x.gpu) {
        out.push(match (device.gpus.first(), &device.gpu_absent) {
            (Some(g), _) => req("gpu", Met::Yes, format!("NVIDIA GPU: {g}"), None),
            (None, why) => req(
                "gpu",
                Met::No,
                format!("no NVIDIA GPU found{}", why.as_ref().map(|w| format!(" ({w})")).unwrap_or_default()),
                Some("install the NVIDIA driver (`nvidia-smi` must list the GPU), then run again".into()),
            ),
        });
    }
    if let Some(need) = profile.requires.ram_gb {
        let need_b = (need * GB) as u64;
        out.push(match device.ram_bytes {
            // RAM is reported a little under the marketing size (16 GB boards show 15.3 GiB):
            // 5% slack keeps a 16 GB machine within a 16 GB requirement.
            Some(have) if have as f64 >= need_b as f64 * 0.95 => {
                req("ram", Met::Yes, format!("RAM {} (needs {need} GB)", gb(have)), None)
            }
            Some(have) => req(
                "ram",
                Met::No,
                format!("RAM {} but the profile needs {need} GB", gb(have)),
                Some("run it on a machine with more memory".into()),
            ),
            None => req("ram", Met::Unknown, format!("RAM not measured (needs {need} GB)"), None),
        });
    }
    if let Some(need) = profile.requires.disk_gb {
        out.push(match device.docker_free_bytes {
            Some(free) if free as f64 >= need * GB => req(
                "disk",
                Met::Yes,
                format!("{} free for Docker ({}; needs {need} GB)", gb(free), device.docker_root),
                None,
            ),
            Some(free) => req(
                "disk",
                Met::No,
                format!("{} free for Docker ({}) but the profile needs {need} GB", gb(free), device.docker_root),
                Some("free space (`docker system prune`), or move Docker's data-root to a larger disk (docs/device-probes.md)".into()),
            ),
            None => req("disk", Met::Unknown, format!("free space on {} not measured (needs {need} GB)", device.docker_root), None),
        });
    }
    if profile.run.x11 == X11::Required {
        out.push(if run.x11 {
            req("x11", Met::Yes, run.x11_reason.clone(), None)
        } else {
            req("x11", Met::No, format!("a display is required: {}", run.x11_reason), Some("run it from the desktop session (DISPLAY set), or allow local containers with `xhost +local:`".into()))
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provision::device::DeviceCamera;

    fn orin() -> Device {
        Device {
            jetson: true,
            module: Some("NVIDIA Jetson AGX Orin (64GB ram)".into()),
            module_part: Some("p3701-0005".into()),
            l4t: Some("36.4.3".into()),
            jetpack: Some("6.2".into()),
            jetpack_from: Some("table".into()),
            cuda: Some("12.6.68".into()),
            ubuntu: Some("22.04".into()),
            arch: Some("arm64".into()),
            ram_bytes: Some(64_000_000_000),
            docker_root: "/var/lib/docker".into(),
            docker_free_bytes: Some(800_000_000_000),
            cameras: vec![DeviceCamera {
                name: "ZED 2i".into(),
                bus: "usb".into(),
                nodes: vec!["/dev/video0".into(), "/dev/video1".into()],
            }],
            ..Device::default()
        }
    }

    fn x86() -> Device {
        Device {
            arch: Some("amd64".into()),
            cuda: Some("12.4".into()),
            ubuntu: Some("22.04".into()),
            gpus: vec!["NVIDIA RTX A6000".into()],
            ram_bytes: Some(8_000_000_000),
            docker_root: "/var/lib/docker".into(),
            docker_free_bytes: Some(10_000_000_000),
            ..Device::default()
        }
    }

    fn resolve_builtin(name: &str, d: &Device) -> Result<Resolved, Refused> {
        resolve(
            &Profile::load_from(name, std::path::Path::new("/nonexistent")).unwrap(),
            d,
            &Knowledge::builtin(),
            &|_| false,
            Some("/home/dev"),
        )
    }

    #[test]
    fn locomotion_on_a_jetpack_6_2_orin() {
        let r = resolve_builtin("locomotion", &orin()).unwrap();
        assert_eq!(r.platform, PlatformKind::Jetson);
        assert_eq!(r.base.row, "jetson, L4T >=36.4, <37");
        assert_eq!(r.base.candidates[0].image, "nvcr.io/nvidia/pytorch:25.02-py3-igpu");
        assert!(r.base.candidates.iter().any(|c| c.fallback && c.image == "dustynv/l4t-pytorch:r36.4.0"));
        let z = r.zed.unwrap();
        assert_eq!(z.url, "https://download.stereolabs.com/zedsdk/5.4/l4t36.4/jetsons");
        assert_eq!(z.flags, ["silent", "runtime_only", "skip_drivers", "skip_python"]);
        assert_eq!(z.pyzed_for("3.10").unwrap(), "https://download.stereolabs.com/zedsdk/5.4/whl/linux_aarch64/pyzed-5.4-cp310-cp310-linux_aarch64.whl");
        assert_eq!(r.run.runtime, Runtime::Nvidia);
        let devs: Vec<&str> = r.run.devices.iter().map(|d| d.path.as_str()).collect();
        assert_eq!(devs, ["/dev/video0", "/dev/video1"]);
        assert!(r.run.notes.iter().any(|n| n.contains("/usr/local/zed/settings")), "{:?}", r.run.notes);
        assert!(r.requirements.iter().all(|q| q.met == Met::Yes), "{:?}", r.requirements);
    }

    #[test]
    fn refusals_say_why() {
        let e = resolve_builtin("locomotion", &x86()).unwrap_err();
        assert!(e.reason.contains("testing-x86"), "{e}");
        let e = resolve_builtin("isaacsim", &orin()).unwrap_err();
        assert!(e.reason.contains("not on a Jetson"), "{e}");
        let nano = Device { l4t: Some("32.7.4".into()), jetpack: Some("4.6.4".into()), ..orin() };
        let e = resolve_builtin("locomotion", &nano).unwrap_err();
        assert!(
            e.reason.contains("JetPack 4.6.4 is outside the profile's range >=5.1")
                && e.reason.contains("Python 3.6"),
            "{e}"
        );
        // JetPack 6.0 DP (L4T 36.2) has no ZED build: locomotion needs one.
        let dp = Device { l4t: Some("36.2.0".into()), jetpack: Some("6.0 DP".into()), ..orin() };
        let e = resolve_builtin("locomotion", &dp).unwrap_err();
        assert!(e.reason.contains("no ZED SDK build for L4T 36.2"), "{e}");
    }

    #[test]
    fn thor_gets_its_own_base_and_the_beta_warning() {
        let thor = Device {
            l4t: Some("38.2.0".into()),
            jetpack: Some("7.0".into()),
            cuda: Some("13.0".into()),
            ..orin()
        };
        let r = resolve_builtin("testing-arm", &thor).unwrap();
        assert_eq!(r.base.candidates[0].image, "nvcr.io/nvidia/pytorch:25.08-py3");
        assert!(r.warnings.iter().any(|w| w.contains("beta")), "{:?}", r.warnings);
        assert!(r.run.devices.is_empty(), "testing-arm passes no camera");
    }

    #[test]
    fn isaacsim_requirements_and_x11() {
        let mut d = x86();
        let r = resolve_builtin("isaacsim", &d).unwrap();
        let ram = r.requirements.iter().find(|q| q.what == "ram").unwrap();
        assert_eq!(ram.met, Met::No, "{ram:?}");
        let disk = r.requirements.iter().find(|q| q.what == "disk").unwrap();
        assert_eq!(disk.met, Met::No);
        assert!(!r.run.x11 && r.run.notes.iter().any(|n| n.contains("headless")));
        assert_eq!(r.run.runtime, Runtime::GpusAll);
        d.ram_bytes = Some(16_500_000_000);
        d.display = crate::provision::device::Display {
            display: Some(":0".into()),
            x11_socket_dir: true,
            admits_local: Some(true),
            xhost: None,
        };
        let r = resolve_builtin("isaacsim", &d).unwrap();
        assert_eq!(r.requirements.iter().find(|q| q.what == "ram").unwrap().met, Met::Yes);
        assert!(r.run.x11 && r.run.env.get("DISPLAY").map(String::as_str) == Some(":0"));
        d.gpus.clear();
        d.gpu_absent = Some("NVML: libnvidia-ml.so not found".into());
        let r = resolve_builtin("testing-x86", &d).unwrap();
        let gpu = r.requirements.iter().find(|q| q.what == "gpu").unwrap();
        assert_eq!(gpu.met, Met::No);
        assert!(gpu.message.contains("libnvidia-ml"));
    }
}
