//! `docker.group`: the invoking user (`SUDO_USER` under sudo, else `USER`) is in the `docker` group
//! of `/etc/group`; otherwise every `docker` command needs sudo and tools that talk to the socket
//! fail with "permission denied".

use super::{CheckDef, Outcome};
use crate::context::Context;
use crate::report::Area;

pub static CHECK: CheckDef = CheckDef {
    id: "docker.group",
    area: Area::Containers,
    title: "The invoking user is in the docker group",
    run,
};

/// The user jetdoc acts for: `SUDO_USER` under sudo, else `USER`.
pub fn invoking_user(ctx: &Context) -> Option<String> {
    ctx.host
        .env("SUDO_USER")
        .filter(|u| !u.is_empty())
        .or_else(|| ctx.host.env("USER").filter(|u| !u.is_empty()))
}

/// Members of `group` in `/etc/group` text; `None` when the group does not exist.
pub fn group_members(etc_group: &str, group: &str) -> Option<Vec<String>> {
    etc_group.lines().find_map(|l| {
        let f: Vec<&str> = l.split(':').collect();
        (f.len() >= 4 && f[0] == group)
            .then(|| f[3].split(',').map(str::trim).filter(|m| !m.is_empty()).map(str::to_string).collect())
    })
}

fn run(ctx: &Context) -> Outcome {
    let Some(user) = invoking_user(ctx) else {
        return Outcome::skip("neither SUDO_USER nor USER is set");
    };
    if user == "root" {
        return Outcome::pass("running as root, which needs no docker group");
    }
    let text = match ctx.host.read_text("/etc/group") {
        Ok(t) => t,
        Err(a) => return Outcome::skip(format!("/etc/group: {}", a.reason)),
    };
    match group_members(&text, "docker") {
        Some(m) if m.contains(&user) => Outcome::pass(format!("{user} is in the docker group")),
        Some(_) => Outcome::warn(format!(
            "{user} is not in the docker group: docker needs sudo (\"permission denied ... docker.sock\")"
        ))
        .hint(format!("`sudo usermod -aG docker {user}`, then log out and in (or `newgrp docker`)"))
        .hint("or `sudo jetdoc fix docker.group`")
        .fix("docker.group"),
        None => Outcome::warn("there is no docker group (Docker not installed from packages?)")
            .hint(format!(
                "`sudo groupadd docker && sudo usermod -aG docker {user}`, or `sudo jetdoc fix docker.group`"
            ))
            .fix("docker.group"),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn members() {
        let g = "root:x:0:\ndocker:x:998:ubuntu,nvidia\nvideo:x:44:nvidia\n";
        assert_eq!(super::group_members(g, "docker").unwrap(), ["ubuntu", "nvidia"]);
        assert_eq!(super::group_members("docker:x:998:\n", "docker").unwrap(), Vec::<String>::new());
        assert!(super::group_members(g, "nope").is_none());
    }
}
