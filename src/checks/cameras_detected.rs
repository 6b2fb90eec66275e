//! `cameras.detected`: the cameras in sysfs (`/sys/class/video4linux`), grouped per physical
//! camera with their bus (USB ids and link speed, CSI, GMSL) and `/dev/video` nodes. The other
//! `cameras.*` checks judge what this one finds.

use super::{CheckDef, Outcome};
use crate::context::Context;
use crate::probes::cameras::{Bus, Camera};
use crate::probes::Cameras;
use crate::report::Area;

pub static CHECK: CheckDef = CheckDef {
    id: "cameras.detected",
    area: Area::Cameras,
    title: "Cameras from sysfs: name, bus (USB ids and speed, CSI, GMSL) and /dev/video nodes",
    run,
};

fn run(ctx: &Context) -> Outcome {
    let cams = ctx.get::<Cameras>();
    if let Err(a) = &cams.sysfs {
        return Outcome::skip(format!("cannot list cameras: {a}"));
    }
    if cams.cameras.is_empty() {
        return Outcome::info("no camera: /sys/class/video4linux has no video device")
            .hint("USB: check `lsusb` and `dmesg | grep -i uvc`; CSI: the sensor's device-tree overlay must be applied (`sudo /opt/nvidia/jetson-io/jetson-io.py`)");
    }
    let list: Vec<String> = cams.cameras.iter().map(describe).collect();
    let n = cams.cameras.len();
    Outcome::info(format!("{n} camera{}: {}", if n == 1 { "" } else { "s" }, list.join("; ")))
}

pub fn bus_label(c: &Camera) -> String {
    match &c.bus {
        Bus::Usb { vendor, product, speed_mbps, .. } => {
            let speed = speed_mbps.map(|s| format!(", {}", usb_speed(s))).unwrap_or_default();
            format!("USB {vendor}:{product}{speed}")
        }
        Bus::Csi { .. } => "CSI".into(),
        Bus::Gmsl { .. } => "GMSL".into(),
        Bus::Other { .. } => "unknown bus".into(),
    }
}

/// `480` -> `USB 2 (480 Mbit/s)`.
pub fn usb_speed(mbps: f64) -> String {
    let gen = match mbps as u64 {
        0..=12 => "USB 1",
        13..=480 => "USB 2",
        481..=5000 => "USB 3",
        5001..=10000 => "USB 3.1 Gen 2",
        _ => "USB 3.2",
    };
    format!("{gen} ({mbps} Mbit/s)")
}

fn describe(c: &Camera) -> String {
    let nodes: Vec<&str> = c.nodes.iter().map(|n| n.dev.as_str()).collect();
    format!("{} [{}] {}", c.name, bus_label(c), nodes.join(", "))
}
