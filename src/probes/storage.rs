//! Storage: mounts from `/proc/self/mountinfo`, the block device behind `/` and Docker's
//! data-root, its class (eMMC, SD card, NVMe, USB) from `/sys`, and free space (statvfs on the
//! live host, the runner's `df` for a foreign root).

use serde::Serialize;
use std::collections::HashMap;

use crate::context::{Context, Probe};
use crate::fact::Fact;
use crate::facts::df;
use crate::facts::mountinfo::{self, Mount};
use crate::host::{Absence, Host, Reason, Space};

pub const MOUNTINFO: &str = "/proc/self/mountinfo";
pub const DAEMON_JSON: &str = "/etc/docker/daemon.json";
pub const DEFAULT_DOCKER_ROOT: &str = "/var/lib/docker";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DiskClass {
    Emmc,
    Sd,
    Nvme,
    Usb,
    Other,
}

impl DiskClass {
    pub fn label(self) -> &'static str {
        match self {
            DiskClass::Emmc => "eMMC",
            DiskClass::Sd => "SD card",
            DiskClass::Nvme => "NVMe",
            DiskClass::Usb => "USB disk",
            DiskClass::Other => "other disk",
        }
    }

    /// Slow, wear-limited boot media that should not hold container images when an SSD exists.
    pub fn is_boot_flash(self) -> bool {
        matches!(self, DiskClass::Emmc | DiskClass::Sd)
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Disk {
    /// `mmcblk0`, `nvme0n1`, `sda`.
    pub name: String,
    pub class: DiskClass,
    /// Where the class was read from.
    pub evidence: String,
}

/// A directory that matters (`/`, Docker's data-root) and what holds it.
#[derive(Debug, Clone, Serialize)]
pub struct Volume {
    /// As configured (`/var/lib/docker`).
    pub path: String,
    /// After resolving symlinks inside the root.
    pub resolved: String,
    pub mount_point: Option<String>,
    pub fs_type: Option<String>,
    pub source: Option<String>,
    pub disk: Fact<Disk>,
    pub space: Fact<Space>,
}

pub struct Storage {
    pub mounts: Result<Vec<Mount>, Absence>,
    pub root: Volume,
    pub docker_root: Volume,
    /// Where the data-root came from: `/etc/docker/daemon.json` or the default.
    pub docker_root_from: String,
    /// A problem reading daemon.json (the default data-root is assumed then).
    pub daemon_json_problem: Option<Absence>,
    /// Mount points backed by an NVMe disk (first mount of each device).
    pub nvme_mounts: Vec<String>,
}

impl Probe for Storage {
    fn probe(ctx: &Context) -> Self {
        let host = &ctx.host;
        let mounts = host
            .read_text(MOUNTINFO)
            .and_then(|t| mountinfo::parse(&t).map_err(|e| Absence::malformed(MOUNTINFO, e)));
        let (docker_path, docker_root_from, daemon_json_problem) = docker_root(host);
        let empty = Vec::new();
        let list = mounts.as_ref().unwrap_or(&empty);
        // One sysfs lookup per block device, however many mounts and volumes share it (each
        // lookup walks a deep /sys/devices path).
        let mut disks: HashMap<String, Fact<Disk>> = HashMap::new();
        let mut nvme_mounts: Vec<String> = Vec::new();
        for m in list.iter().filter(|m| m.source.starts_with("/dev/")) {
            if disks.contains_key(&m.dev) {
                continue;
            }
            let disk = disk_of(host, m);
            if disk.value().is_some_and(|d| d.class == DiskClass::Nvme) {
                nvme_mounts.push(m.mount_point.clone());
            }
            disks.insert(m.dev.clone(), disk);
        }
        let root = volume(host, list, mounts.as_ref().err(), &disks, "/");
        let docker_root = volume(host, list, mounts.as_ref().err(), &disks, &docker_path);
        Storage { mounts, root, docker_root, docker_root_from, daemon_json_problem, nvme_mounts }
    }
}

/// Docker's data-root: `data-root` of daemon.json when set, else `/var/lib/docker`.
fn docker_root(host: &Host) -> (String, String, Option<Absence>) {
    let default = || (DEFAULT_DOCKER_ROOT.to_string(), "default".to_string());
    match host.read_text(DAEMON_JSON) {
        Ok(text) => match serde_json::from_str::<serde_json::Value>(&text) {
            Ok(v) => match v.get("data-root").and_then(|r| r.as_str()).filter(|r| r.starts_with('/')) {
                Some(r) => (r.trim_end_matches('/').to_string(), format!("{DAEMON_JSON} data-root"), None),
                None => {
                    let (p, f) = default();
                    (p, f, None)
                }
            },
            Err(e) => {
                let (p, f) = default();
                (p, f, Some(Absence::malformed(DAEMON_JSON, format!("line {}: {e}", e.line()))))
            }
        },
        Err(a) => {
            let (p, f) = default();
            (p, f, (a.reason != Reason::Missing).then_some(a))
        }
    }
}

fn volume(
    host: &Host,
    mounts: &[Mount],
    mounts_absent: Option<&Absence>,
    disks: &HashMap<String, Fact<Disk>>,
    path: &str,
) -> Volume {
    let resolved = host.canonical(path).unwrap_or_else(|_| path.to_string());
    let mount = mountinfo::mount_of(mounts, &resolved);
    let disk = match (mount, mounts_absent) {
        (Some(m), _) => disks.get(&m.dev).cloned().unwrap_or_else(|| disk_of(host, m)),
        (None, Some(a)) => Fact::Absent(a.clone()),
        (None, None) => Fact::absent(MOUNTINFO, Reason::Malformed(format!("no mount holds {resolved}"))),
    };
    // Ask for the mount point: `df` of a fixture answers per mount, and statvfs is the same there.
    let measured = mount.map(|m| m.mount_point.as_str()).unwrap_or(&resolved);
    let space = free_space(host, if host.is_live() { &resolved } else { measured });
    Volume {
        path: path.to_string(),
        resolved: resolved.clone(),
        mount_point: mount.map(|m| m.mount_point.clone()),
        fs_type: mount.map(|m| m.fs_type.clone()),
        source: mount.map(|m| m.source.clone()),
        disk,
        space,
    }
}

/// Free space of the filesystem holding `path`: statvfs on the live host, `df` through the
/// command runner for a foreign root.
pub fn free_space(host: &Host, path: &str) -> Fact<Space> {
    if host.is_live() {
        return match host.statvfs(path) {
            Ok(s) => Fact::known(s, format!("statvfs({path})")),
            Err(a) => Fact::Absent(a),
        };
    }
    let mut args = df::ARGS.to_vec();
    args.push(path);
    let cmdline = format!("df {}", args.join(" "));
    let out = host.run("df", &args);
    if !out.success() {
        return Fact::absent(path, Reason::NotApplicable(out.describe_failure(&cmdline)));
    }
    match df::parse(&out.stdout) {
        Ok(s) => Fact::known(s, cmdline),
        Err(e) => Fact::Absent(Absence::malformed(&cmdline, e)),
    }
}

/// The whole disk behind a mount, through `/sys/dev/block/MAJ:MIN` (a symlink into
/// `/sys/devices/...`), falling back to `/sys/class/block/<source name>`.
pub fn disk_of(host: &Host, m: &Mount) -> Fact<Disk> {
    if m.dev.starts_with("0:") {
        return Fact::absent(
            &m.source,
            Reason::NotApplicable(format!("{} is not backed by a block device", m.fs_type)),
        );
    }
    let by_dev = format!("/sys/dev/block/{}", m.dev);
    let by_name = m.source.strip_prefix("/dev/").map(|n| format!("/sys/class/block/{n}"));
    // Every block device directory has a `dev` file; a partition's also has `partition` and
    // sits inside its disk's directory.
    let found = [Some(by_dev.clone()), by_name].into_iter().flatten().find_map(|link| {
        let real = host.canonical(&link).ok()?;
        if host.exists(&format!("{real}/partition")) {
            return Some((link, parent(&real).to_string()));
        }
        host.exists(&format!("{real}/dev")).then_some((link, real))
    });
    let Some((link, disk_dir)) = found else { return Fact::absent(&by_dev, Reason::Missing) };
    let name = disk_dir.rsplit('/').next().unwrap_or_default().to_string();
    let (class, evidence) = classify(host, &name, &disk_dir);
    Fact::known(Disk { name, class, evidence }, format!("{link} -> {disk_dir}"))
}

fn classify(host: &Host, name: &str, dir: &str) -> (DiskClass, String) {
    if name.starts_with("nvme") {
        return (DiskClass::Nvme, "name nvme*".into());
    }
    if name.starts_with("mmcblk") {
        // The MMC core says which: `MMC` for eMMC, `SD` for an SD card. eMMC also exposes its
        // boot partitions as separate disks (mmcblk0boot0, mmcblk0boot1).
        let type_file = format!("{dir}/device/type");
        if let Ok(t) = host.read_text(&type_file) {
            match t.trim() {
                "MMC" => return (DiskClass::Emmc, format!("{type_file} = MMC")),
                "SD" => return (DiskClass::Sd, format!("{type_file} = SD")),
                _ => {}
            }
        }
        let boot0 = format!("/sys/block/{name}boot0");
        return if host.exists(&boot0) {
            (DiskClass::Emmc, format!("{boot0} exists"))
        } else {
            (DiskClass::Sd, format!("no {boot0}"))
        };
    }
    if dir.contains("/usb") {
        return (DiskClass::Usb, format!("{dir} is on a USB bus"));
    }
    (DiskClass::Other, format!("{name} is neither NVMe, MMC nor USB"))
}

fn parent(path: &str) -> &str {
    path.rsplit_once('/').map(|(p, _)| if p.is_empty() { "/" } else { p }).unwrap_or("/")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::{EnvSource, OfflineRunner};
    use std::fs;
    use std::os::unix::fs::symlink;

    fn mount(dev: &str, source: &str) -> Mount {
        Mount {
            dev: dev.into(),
            root: "/".into(),
            mount_point: "/mnt".into(),
            fs_type: "ext4".into(),
            source: source.into(),
        }
    }

    /// sysfs as the kernel lays it out: `/sys/dev/block/M:m` and `/sys/block/*` are relative
    /// links into `/sys/devices`; partitions are directories inside their disk.
    #[test]
    fn classifies_usb_disks_and_emmc_by_boot_partitions() {
        let dir = tempfile::tempdir().unwrap();
        let r = dir.path();
        let usb =
            "sys/devices/platform/bus@0/3610000.usb/usb2/2-3/2-3:1.0/host0/target0:0:0/0:0:0:0/block/sda";
        fs::create_dir_all(r.join(usb).join("sda1")).unwrap();
        fs::write(r.join(usb).join("sda1/partition"), "1\n").unwrap();
        fs::create_dir_all(r.join("sys/dev/block")).unwrap();
        symlink(format!("../../{}", usb.trim_start_matches("sys/")) + "/sda1", r.join("sys/dev/block/8:1"))
            .unwrap();
        // An MMC disk without a readable `device/type`: the boot partitions tell eMMC.
        let mmc = "sys/devices/platform/bus@0/3460000.mmc/mmc_host/mmc0/mmc0:0001/block/mmcblk0";
        fs::create_dir_all(r.join(mmc).join("mmcblk0p1")).unwrap();
        fs::create_dir_all(r.join(mmc).join("mmcblk0boot0")).unwrap();
        fs::write(r.join(mmc).join("mmcblk0p1/partition"), "1\n").unwrap();
        fs::create_dir_all(r.join("sys/block")).unwrap();
        symlink(
            format!("../{}/mmcblk0boot0", mmc.trim_start_matches("sys/")),
            r.join("sys/block/mmcblk0boot0"),
        )
        .unwrap();
        fs::create_dir_all(r.join("sys/class/block")).unwrap();
        symlink(
            format!("../../{}/mmcblk0p1", mmc.trim_start_matches("sys/")),
            r.join("sys/class/block/mmcblk0p1"),
        )
        .unwrap();
        let host = Host::with_root(r, Box::new(OfflineRunner), EnvSource::Map(Default::default())).unwrap();

        let sda = disk_of(&host, &mount("8:1", "/dev/sda1"));
        let sda = sda.value().unwrap();
        assert_eq!((sda.name.as_str(), sda.class), ("sda", DiskClass::Usb));

        // No /sys/dev/block entry for 179:1: found by the source name instead.
        let emmc = disk_of(&host, &mount("179:1", "/dev/mmcblk0p1"));
        let emmc = emmc.value().unwrap();
        assert_eq!((emmc.name.as_str(), emmc.class), ("mmcblk0", DiskClass::Emmc));
        assert!(emmc.evidence.contains("mmcblk0boot0 exists"), "{}", emmc.evidence);

        let overlay = disk_of(&host, &mount("0:52", "overlay"));
        assert!(matches!(overlay.absence().unwrap().reason, Reason::NotApplicable(_)));
        assert_eq!(
            disk_of(&host, &mount("259:1", "/dev/nvme0n1p1")).absence().unwrap().reason,
            Reason::Missing
        );
    }

    #[test]
    fn statvfs_answers_on_the_live_host_only() {
        let live = Host::live();
        let s = live.statvfs("/no/such/dir/at/all").unwrap();
        assert!(s.total_bytes > 0 && s.avail_bytes <= s.total_bytes);
        let dir = tempfile::tempdir().unwrap();
        let foreign =
            Host::with_root(dir.path(), Box::new(OfflineRunner), EnvSource::Map(Default::default())).unwrap();
        assert!(matches!(foreign.statvfs("/").unwrap_err().reason, Reason::NotApplicable(_)));
    }
}
