//! Cameras from sysfs, without opening a device or needing `v4l2-ctl`: every
//! `/sys/class/video4linux/videoN`, its card `name`, and the bus behind its `device` link (a USB
//! interface `2-1:1.0` whose parent `2-1` has `idVendor`/`idProduct`/`speed`, or the platform
//! `tegra-capture-vi` / `*.vi` device of a CSI or GMSL sensor). Nodes of one camera (a UVC camera
//! has a capture and a metadata node) are grouped. Each `/dev/videoN`'s mode and group decide
//! whether the invoking user can open it. CSI cameras need `nvargus-daemon`, found from systemd
//! unit files.

use serde::Serialize;

use crate::context::{Context, Probe};
use crate::fact::Fact;
use crate::facts::accounts::{self, Group, User};
use crate::host::{Absence, Host, Reason};

pub const V4L: &str = "/sys/class/video4linux";
pub const ARGUS_UNIT: &str = "nvargus-daemon.service";
pub const ARGUS_SOCKET: &str = "/tmp/argus_socket";
const UNIT_DIRS: [&str; 5] = [
    "/etc/systemd/system",
    "/run/systemd/system",
    "/usr/local/lib/systemd/system",
    "/lib/systemd/system",
    "/usr/lib/systemd/system",
];

#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Bus {
    Usb {
        vendor: String,
        product: String,
        /// Negotiated link speed in Mbit/s (sysfs `speed`: 480 = USB 2, 5000 = USB 3).
        speed_mbps: Option<f64>,
        /// The USB device in sysfs (`/sys/devices/.../usb2/2-1`).
        device: String,
    },
    /// A MIPI CSI sensor on the Tegra video input (`vi-output, imx219 9-0010`).
    Csi {
        sensor: Option<String>,
    },
    /// A GMSL camera: also on the video input, behind a serializer/deserializer.
    Gmsl {
        sensor: Option<String>,
    },
    Other {
        device: Option<String>,
    },
}

#[derive(Debug, Clone, Serialize)]
pub struct NodeAccess {
    /// Permission bits (`0o660`).
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub group: Option<String>,
    pub char_device: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct VideoNode {
    pub dev: String,
    /// sysfs `index`: 0 for a UVC capture node, 1 for its metadata node.
    pub index: Option<u32>,
    pub access: Fact<NodeAccess>,
    /// Whether the invoking user can open it read-write (None: cannot tell).
    pub user_can_open: Option<bool>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Camera {
    pub name: String,
    /// The V4L2 card name (sysfs `name`).
    pub card: String,
    pub bus: Bus,
    /// Minimum link speed in Mbit/s for this model (from `usb_camera` rows).
    pub min_mbps: Option<u32>,
    /// A row of the cameras table matched (a Stereolabs camera, a known sensor).
    pub known: bool,
    pub nodes: Vec<VideoNode>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct ArgusUnit {
    /// The unit file found (`/etc/systemd/system/nvargus-daemon.service`).
    pub unit_file: Option<String>,
    pub masked: bool,
    /// The `*.wants/` link that enables it.
    pub enabled_by: Option<String>,
    /// Evidence that it runs now (`/run/systemd/units/invocation:...` or the Argus socket).
    pub running: Option<String>,
}

pub struct Cameras {
    /// Why sysfs could not be listed (a foreign root without `/sys`, a container).
    pub sysfs: Result<(), Absence>,
    pub cameras: Vec<Camera>,
    /// The user whose access is judged (`SUDO_USER`, else `USER`).
    pub user: Option<String>,
    pub user_problem: Option<String>,
    pub argus: ArgusUnit,
}

impl Cameras {
    pub fn usb(&self) -> impl Iterator<Item = &Camera> {
        self.cameras.iter().filter(|c| matches!(c.bus, Bus::Usb { .. }))
    }
    pub fn on_video_input(&self) -> impl Iterator<Item = &Camera> {
        self.cameras.iter().filter(|c| matches!(c.bus, Bus::Csi { .. } | Bus::Gmsl { .. }))
    }
}

/// The user and the groups they are in, from `/etc/passwd` and `/etc/group` of the root.
struct Identity {
    user: User,
    gids: Vec<u32>,
}

impl Probe for Cameras {
    fn probe(ctx: &Context) -> Self {
        let host = &ctx.host;
        let argus = argus_unit(host);
        let names = match host.read_dir(V4L) {
            Ok(n) => n,
            // The class directory appears with the first V4L2 driver: where sysfs is there but
            // it is not, there is simply no camera. A mounted image has an empty /sys.
            Err(a) if a.reason == Reason::Missing && (host.is_live() || host.is_dir("/sys/class")) => {
                Vec::new()
            }
            Err(a) => {
                return Cameras { sysfs: Err(a), cameras: vec![], user: None, user_problem: None, argus }
            }
        };
        let mut names: Vec<(u32, String)> =
            names.into_iter().filter_map(|n| Some((n.strip_prefix("video")?.parse().ok()?, n))).collect();
        names.sort();
        let user = host.env("SUDO_USER").filter(|u| !u.is_empty()).or_else(|| host.env("USER"));
        if names.is_empty() {
            return Cameras { sysfs: Ok(()), cameras: vec![], user, user_problem: None, argus };
        }
        let groups = host.read_text("/etc/group").map(|t| accounts::group(&t)).unwrap_or_default();
        let (who, user_problem) = match &user {
            None => (None, Some("neither SUDO_USER nor USER is set".to_string())),
            Some(name) => match host
                .read_text("/etc/passwd")
                .ok()
                .and_then(|t| accounts::passwd(&t).into_iter().find(|u| &u.name == name))
            {
                Some(u) => {
                    let mut gids: Vec<u32> =
                        groups.iter().filter(|g| g.members.contains(name)).map(|g| g.gid).collect();
                    gids.push(u.gid);
                    (Some(Identity { user: u, gids }), None)
                }
                None => (None, Some(format!("user {name} is not in /etc/passwd (a directory user?)"))),
            },
        };

        let mut cameras: Vec<Camera> = Vec::new();
        let mut keys: Vec<String> = Vec::new();
        for (_, name) in names {
            let base = format!("{V4L}/{name}");
            let card = host
                .read_text(&format!("{base}/name"))
                .map(|t| t.trim().to_string())
                .unwrap_or_else(|_| name.clone());
            let index = host.read_text(&format!("{base}/index")).ok().and_then(|t| t.trim().parse().ok());
            let device = host.canonical(&format!("{base}/device")).ok();
            let dev = format!("/dev/{name}");
            let access = node_access(host, &dev, &groups);
            let user_can_open = match (access.value(), &who) {
                (Some(a), Some(w)) => Some(can_open(a, w)),
                _ => None,
            };
            let node = VideoNode { dev, index, access, user_can_open };
            // A second node of a camera already seen (UVC metadata node): no need to read the
            // USB device again.
            if let Some(pos) =
                device.as_deref().and_then(usb_parent).and_then(|p| keys.iter().position(|k| k == p))
            {
                cameras[pos].nodes.push(node);
                continue;
            }
            let (key, bus) = bus_of(host, device.as_deref(), &card, &name, ctx);
            if let Some(pos) = keys.iter().position(|k| k == &key) {
                cameras[pos].nodes.push(node);
                continue;
            }
            let (label, min_mbps, known) = describe(ctx, &bus, &card);
            keys.push(key);
            cameras.push(Camera { name: label, card, bus, min_mbps, known, nodes: vec![node] });
        }
        Cameras { sysfs: Ok(()), cameras, user, user_problem, argus }
    }
}

/// The USB device directory above a USB interface (`.../2-1` for `.../2-1/2-1:1.0`).
fn usb_parent(device: &str) -> Option<&str> {
    let (parent, leaf) = device.rsplit_once('/')?;
    leaf.contains(':').then_some(parent)
}

/// The grouping key and the bus of one video node.
fn bus_of(host: &Host, device: Option<&str>, card: &str, node: &str, ctx: &Context) -> (String, Bus) {
    if let Some(dev) = device {
        // A UVC node's device is the USB interface (`2-1:1.0`); the USB device is its parent.
        if let Some(usb_dev) = usb_parent(dev) {
            if let Ok(vendor) = host.read_text(&format!("{usb_dev}/idVendor")) {
                let product = host
                    .read_text(&format!("{usb_dev}/idProduct"))
                    .map(|t| t.trim().to_string())
                    .unwrap_or_default();
                let speed_mbps =
                    host.read_text(&format!("{usb_dev}/speed")).ok().and_then(|s| s.trim().parse().ok());
                let bus = Bus::Usb {
                    vendor: vendor.trim().to_string(),
                    product,
                    speed_mbps,
                    device: usb_dev.to_string(),
                };
                return (usb_dev.to_string(), bus);
            }
        }
    }
    // Tegra video input: `vi-output, <sensor> <i2c bus>-<addr>`; one node per sensor.
    let on_vi = card.starts_with("vi-output")
        || device.is_some_and(|d| d.ends_with("tegra-capture-vi") || d.ends_with(".vi"));
    if on_vi {
        let sensor =
            card.strip_prefix("vi-output,").and_then(|r| r.split_whitespace().next()).map(str::to_string);
        let gmsl =
            sensor.as_deref().and_then(|s| ctx.knowledge.csi_sensor(s)).is_some_and(|s| s.bus == "gmsl");
        let bus = if gmsl { Bus::Gmsl { sensor } } else { Bus::Csi { sensor } };
        return (format!("vi:{card}"), bus);
    }
    (format!("node:{node}"), Bus::Other { device: device.map(str::to_string) })
}

/// Display name, minimum USB speed and whether the tables know the camera.
fn describe(ctx: &Context, bus: &Bus, card: &str) -> (String, Option<u32>, bool) {
    match bus {
        Bus::Usb { vendor, product, .. } => match ctx.knowledge.usb_camera(vendor, product) {
            Some(c) => (c.name.clone(), c.min_mbps, true),
            None => (card.to_string(), None, false),
        },
        Bus::Csi { sensor } | Bus::Gmsl { sensor } => {
            match sensor.as_deref().and_then(|s| ctx.knowledge.csi_sensor(s)) {
                Some(s) => (format!("{} ({card})", s.name), None, true),
                None => (card.to_string(), None, false),
            }
        }
        Bus::Other { .. } => (card.to_string(), None, false),
    }
}

/// Mode and owner of a device node: from the inode on the live host; for a foreign root from the
/// runner's `stat` (a mounted image has no device nodes; a fixture's `commands.toml` answers).
fn node_access(host: &Host, dev: &str, groups: &[Group]) -> Fact<NodeAccess> {
    let group_name = |gid: u32| groups.iter().find(|g| g.gid == gid).map(|g| g.name.clone());
    if host.is_live() {
        use std::os::unix::fs::{FileTypeExt, MetadataExt};
        return match host.metadata(dev) {
            Ok(m) => Fact::known(
                NodeAccess {
                    mode: m.mode() & 0o7777,
                    uid: m.uid(),
                    gid: m.gid(),
                    group: group_name(m.gid()),
                    char_device: m.file_type().is_char_device(),
                },
                dev,
            ),
            Err(a) => Fact::Absent(a),
        };
    }
    let args = ["-L", "-c", "%f:%u:%g", dev];
    let cmdline = format!("stat {}", args.join(" "));
    let out = host.run("stat", &args);
    if !out.success() {
        return Fact::absent(&cmdline, Reason::NotApplicable(out.describe_failure(&cmdline)));
    }
    let parsed = parse_stat(out.stdout.trim());
    match parsed {
        Some((raw, uid, gid)) => Fact::known(
            NodeAccess {
                mode: raw & 0o7777,
                uid,
                gid,
                group: group_name(gid),
                char_device: raw & 0o170000 == 0o020000,
            },
            cmdline,
        ),
        None => Fact::Absent(Absence::malformed(
            &cmdline,
            format!("expected `hexmode:uid:gid`, got `{}`", out.stdout.trim()),
        )),
    }
}

/// `stat -c %f:%u:%g`: raw mode in hex, uid, gid (`21b0:0:44` = char device 0660 root:video).
pub fn parse_stat(s: &str) -> Option<(u32, u32, u32)> {
    let mut f = s.split(':');
    let raw = u32::from_str_radix(f.next()?, 16).ok()?;
    Some((raw, f.next()?.parse().ok()?, f.next()?.parse().ok()?))
}

/// Read-write access by the classic permission bits (V4L2 capture opens O_RDWR). Root can;
/// logind `uaccess` ACLs of a desktop seat are not visible here.
fn can_open(a: &NodeAccess, who: &Identity) -> bool {
    let rw = |bits: u32| bits & 0o6 == 0o6;
    if who.user.uid == 0 {
        return true;
    }
    if a.uid == who.user.uid {
        return rw(a.mode >> 6);
    }
    if who.gids.contains(&a.gid) {
        return rw(a.mode >> 3);
    }
    rw(a.mode)
}

fn argus_unit(host: &Host) -> ArgusUnit {
    let mut u = ArgusUnit::default();
    for dir in UNIT_DIRS {
        let path = format!("{dir}/{ARGUS_UNIT}");
        if let Ok(target) = host.read_link(&path) {
            if target == "/dev/null" {
                u.masked = true;
                continue;
            }
        }
        if u.unit_file.is_none() && host.exists(&path) {
            u.unit_file = Some(path);
        }
    }
    u.enabled_by = host
        .read_dir("/etc/systemd/system")
        .unwrap_or_default()
        .into_iter()
        .filter(|d| d.ends_with(".wants"))
        .map(|d| format!("/etc/systemd/system/{d}/{ARGUS_UNIT}"))
        .find(|link| host.read_link(link).is_ok());
    // systemd keeps `/run/systemd/units/invocation:<unit>` while a unit is active; the daemon
    // creates its socket when it starts.
    let invocation = format!("/run/systemd/units/invocation:{ARGUS_UNIT}");
    u.running = if host.read_link(&invocation).is_ok() {
        Some(invocation)
    } else if host.exists(ARGUS_SOCKET) {
        Some(ARGUS_SOCKET.to_string())
    } else {
        None
    };
    u
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_output_and_permission_rules() {
        assert_eq!(parse_stat("21b0:0:44"), Some((0o20660, 0, 44)));
        assert_eq!(parse_stat("garbage"), None);
        let node =
            NodeAccess { mode: 0o660, uid: 0, gid: 44, group: Some("video".into()), char_device: true };
        let user =
            |gids: Vec<u32>| Identity { user: User { name: "nvidia".into(), uid: 1000, gid: 1000 }, gids };
        assert!(can_open(&node, &user(vec![44, 1000])));
        assert!(!can_open(&node, &user(vec![1000])));
        assert!(can_open(&NodeAccess { mode: 0o666, ..node.clone() }, &user(vec![1000])));
        assert!(can_open(
            &node,
            &Identity { user: User { name: "root".into(), uid: 0, gid: 0 }, gids: vec![0] }
        ));
        assert!(!can_open(&NodeAccess { mode: 0o640, ..node }, &user(vec![44])));
    }
}
