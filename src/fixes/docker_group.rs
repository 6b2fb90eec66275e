//! `jetdoc fix docker.group`: add the invoking user to the `docker` group (creating the group
//! when Docker's packages did not).

use super::{Cmd, FixDef, Options, Plan, Refusal};
use crate::checks::docker_group::{group_members, invoking_user};
use crate::context::Context;
use crate::steps::RunCommand;

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
        plan.push(RunCommand::new(Cmd::new(&["groupadd", "docker"]), "there is no docker group"));
    }
    if !members.unwrap_or_default().contains(&user) {
        // The user was not in the group, so removing them again is the exact inverse.
        plan.push(
            RunCommand::new(
                Cmd::new(&["usermod", "-aG", "docker", &user]),
                format!("{user} may then use Docker without sudo"),
            )
            .undoing(Cmd::new(&["gpasswd", "-d", &user, "docker"])),
        );
        plan.notes
            .push(format!("{user} must log out and in (or run `newgrp docker`) for the group to apply"));
    }
    Ok(plan)
}
