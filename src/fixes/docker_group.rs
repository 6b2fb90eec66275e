//! `jetdoc fix docker.group`: add the invoking user to the `docker` group (creating the group
//! when Docker's packages did not).

use super::{Cmd, FixDef, Options, Plan, Refusal, Step};
use crate::checks::docker_group::{group_members, invoking_user};
use crate::context::Context;

pub static FIX: FixDef = FixDef {
    id: "docker.group",
    repairs: &["docker.group"],
    title: "Add the invoking user to the docker group",
    plan,
};

fn plan(ctx: &Context, _opts: &Options) -> Result<Plan, Refusal> {
    let mut plan = Plan::new(FIX.id);
    let Some(user) = invoking_user(ctx) else {
        return Err(Refusal { message: "cannot tell which user to add: neither SUDO_USER nor USER is set; run `sudo usermod -aG docker <user>`".into() });
    };
    if user == "root" {
        plan.notes.push(
            "root needs no docker group; run `sudo jetdoc fix docker.group` from the user's own shell".into(),
        );
        return Ok(plan);
    }
    let text = ctx
        .host
        .read_text("/etc/group")
        .map_err(|a| Refusal { message: format!("/etc/group: {}", a.reason) })?;
    let members = group_members(&text, "docker");
    if members.is_none() {
        plan.steps.push(Step::Run {
            cmd: Cmd::new(&["groupadd", "docker"]),
            why: "there is no docker group".into(),
        });
    }
    if !members.unwrap_or_default().contains(&user) {
        plan.steps.push(Step::Run {
            cmd: Cmd::new(&["usermod", "-aG", "docker", &user]),
            why: format!("{user} may then use Docker without sudo"),
        });
        plan.notes
            .push(format!("{user} must log out and in (or run `newgrp docker`) for the group to apply"));
    }
    Ok(plan)
}
