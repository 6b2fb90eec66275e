//! `cameras.usb-speed`: USB cameras that need USB 3 bandwidth (Stereolabs ZED) linked below it.
//! A ZED on a USB 2 port or cable enumerates and then delivers no frames at its usual resolutions,
//! which looks like a driver problem; the link speed in sysfs says what it is.

use super::cameras_detected::usb_speed;
use super::{CheckDef, Outcome};
use crate::context::Context;
use crate::probes::cameras::Bus;
use crate::probes::Cameras;
use crate::report::Area;

pub static CHECK: CheckDef = CheckDef {
    id: "cameras.usb-speed",
    area: Area::Cameras,
    title: "USB cameras that need USB 3 (Stereolabs ZED) are linked at USB 3 speed",
    run,
};

fn run(ctx: &Context) -> Outcome {
    let cams = ctx.get::<Cameras>();
    let usb: Vec<_> = cams.usb().collect();
    if usb.is_empty() {
        return Outcome::skip("no USB camera");
    }
    let mut slow = Vec::new();
    let mut fine = Vec::new();
    for c in &usb {
        let Bus::Usb { speed_mbps, device, .. } = &c.bus else { continue };
        match (speed_mbps, c.min_mbps) {
            (Some(s), Some(min)) if *s < f64::from(min) => slow.push(format!(
                "{} at {} (needs {}) [{device}]",
                c.name,
                usb_speed(*s),
                usb_speed(f64::from(min))
            )),
            (Some(s), _) => fine.push(format!("{} at {}", c.name, usb_speed(*s))),
            (None, _) => fine.push(format!("{} (link speed unknown)", c.name)),
        }
    }
    if !slow.is_empty() {
        return Outcome::warn(format!("below USB 3 speed, the camera will drop frames or refuse high resolutions: {}", slow.join("; ")))
            .hint("plug the camera straight into a USB 3 port (blue, or marked SS) with its original cable, not through a USB 2 hub or extension")
            .hint("then confirm the link with `lsusb -t`: the camera's line must end in 5000M");
    }
    Outcome::pass(fine.join("; "))
}
