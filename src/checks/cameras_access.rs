//! `cameras.access`: whether the invoking user can open every `/dev/videoN` (its mode, owner and
//! group against the user's groups in `/etc/group`). A camera that is detected but not openable
//! fails only at run time inside an application or container, with a bare EACCES.

use super::{CheckDef, Outcome};
use crate::context::Context;
use crate::probes::Cameras;
use crate::report::Area;

pub static CHECK: CheckDef = CheckDef {
    id: "cameras.access",
    area: Area::Cameras,
    title: "The invoking user can open every /dev/video node (mode and group membership)",
    run,
};

fn run(ctx: &Context) -> Outcome {
    let cams = ctx.get::<Cameras>();
    let nodes: Vec<_> = cams.cameras.iter().flat_map(|c| &c.nodes).collect();
    if nodes.is_empty() {
        return Outcome::skip("no /dev/video node");
    }
    let Some(user) = cams.user.as_deref() else {
        return Outcome::skip(format!(
            "cannot tell who will open the cameras: {}",
            cams.user_problem.as_deref().unwrap_or("no user")
        ));
    };
    if let Some(p) = &cams.user_problem {
        return Outcome::skip(format!("cannot judge access: {p}"));
    }
    let mut denied = Vec::new();
    let mut allowed = Vec::new();
    let mut unknown = Vec::new();
    let mut groups: Vec<String> = Vec::new();
    for n in &nodes {
        match (n.access.value(), n.user_can_open) {
            (Some(a), Some(ok)) => {
                let group = a.group.clone().unwrap_or_else(|| a.gid.to_string());
                let text = format!("{} (mode {:04o}, group {group})", n.dev, a.mode);
                if ok {
                    allowed.push(text);
                } else {
                    if !groups.contains(&group) {
                        groups.push(group);
                    }
                    denied.push(text);
                }
            }
            _ => unknown.push(format!(
                "{}: {}",
                n.dev,
                n.access.absence().map(|a| a.reason.to_string()).unwrap_or_default()
            )),
        }
    }
    if !denied.is_empty() {
        let group = groups.first().cloned().unwrap_or_else(|| "video".into());
        return Outcome::warn(format!("{user} cannot open {}", denied.join(", ")))
            .hint(format!("add the user to the group, then log out and back in: `sudo usermod -aG {group} {user}`"))
            .hint(format!("in containers pass the node and the group: add `--device /dev/video0 --group-add {group}` to `docker run`"))
            .hint("Stereolabs cameras: the ZED SDK's udev rule (/etc/udev/rules.d/99-slabs.rules) makes their nodes 0666; re-run the SDK installer or copy the rule, then `sudo udevadm control --reload && sudo udevadm trigger`");
    }
    if allowed.is_empty() {
        return Outcome::skip(format!("node modes not read: {}", unknown.join("; ")));
    }
    Outcome::pass(format!("{user} can open {}", allowed.join(", ")))
}
