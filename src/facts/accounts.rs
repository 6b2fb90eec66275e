//! `/etc/passwd` and `/etc/group` (colon-separated, `name:x:gid:member1,member2`).

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub name: String,
    pub uid: u32,
    pub gid: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    pub name: String,
    pub gid: u32,
    pub members: Vec<String>,
}

pub fn passwd(text: &str) -> Vec<User> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            Some(User {
                name: f.first()?.to_string(),
                uid: f.get(2)?.parse().ok()?,
                gid: f.get(3)?.parse().ok()?,
            })
        })
        .collect()
}

pub fn group(text: &str) -> Vec<Group> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            Some(Group {
                name: f.first()?.to_string(),
                gid: f.get(2)?.parse().ok()?,
                members: f
                    .get(3)
                    .map(|m| {
                        m.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_string).collect()
                    })
                    .unwrap_or_default(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_ubuntu_files() {
        let p = passwd(
            "root:x:0:0:root:/root:/bin/bash\nnvidia:x:1000:1000:nvidia,,,:/home/nvidia:/bin/bash\nbroken\n",
        );
        assert_eq!(p[1], User { name: "nvidia".into(), uid: 1000, gid: 1000 });
        assert_eq!(p.len(), 2);
        let g = group("video:x:44:gdm,nvidia\nrender:x:109:\nbad:x:notanumber:\n");
        assert_eq!(g[0].members, vec!["gdm", "nvidia"]);
        assert!(g[1].members.is_empty());
        assert_eq!(g.len(), 2);
    }
}
