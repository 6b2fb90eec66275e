//! `/proc/self/mountinfo`: one mount per line,
//! `36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue`
//! (proc(5)). Optional fields end at a lone `-`; paths escape space, tab, newline and backslash
//! as octal (`\040`).

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    /// `major:minor` of the backing device (`179:1`; `0:NN` for virtual filesystems).
    pub dev: String,
    /// The path inside the filesystem that is mounted (`/` unless a bind mount).
    pub root: String,
    pub mount_point: String,
    pub fs_type: String,
    /// The mount source (`/dev/mmcblk0p1`, `overlay`, `tmpfs`).
    pub source: String,
}

pub fn parse(text: &str) -> Result<Vec<Mount>, String> {
    let mut mounts = Vec::new();
    for (n, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let fields: Vec<&str> = line.split(' ').collect();
        let sep = fields
            .iter()
            .position(|f| *f == "-")
            .ok_or_else(|| format!("line {}: no ` - ` separator", n + 1))?;
        if sep < 6 || fields.len() < sep + 3 {
            return Err(format!("line {}: expected at least 10 fields", n + 1));
        }
        mounts.push(Mount {
            dev: fields[2].to_string(),
            root: unescape(fields[3]),
            mount_point: unescape(fields[4]),
            fs_type: fields[sep + 1].to_string(),
            source: unescape(fields[sep + 2]),
        });
    }
    Ok(mounts)
}

/// The mount that holds `path` (already free of symlinks): the longest mount point that is a
/// component-wise prefix; the last one wins when several are stacked on the same point.
pub fn mount_of<'a>(mounts: &'a [Mount], path: &str) -> Option<&'a Mount> {
    mounts
        .iter()
        .enumerate()
        .filter(|(_, m)| is_under(path, &m.mount_point))
        .max_by_key(|(i, m)| (m.mount_point.len(), *i))
        .map(|(_, m)| m)
}

fn is_under(path: &str, dir: &str) -> bool {
    dir == "/" || path == dir || path.strip_prefix(dir).is_some_and(|rest| rest.starts_with('/'))
}

fn unescape(s: &str) -> String {
    if !s.contains('\\') {
        return s.to_string();
    }
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\'
            && i + 3 < bytes.len()
            && bytes[i + 1..i + 4].iter().all(|b| (b'0'..=b'7').contains(b))
        {
            let v = (bytes[i + 1] - b'0') * 64 + (bytes[i + 2] - b'0') * 8 + (bytes[i + 3] - b'0');
            out.push(v);
            i += 4;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    // From an Orin Nano devkit (JetPack 6) with an NVMe mounted at /ssd.
    const ORIN: &str = "\
24 30 0:22 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw
25 30 0:23 / /proc rw,nosuid,nodev,noexec,relatime shared:12 - proc proc rw
30 1 179:1 / / rw,relatime shared:1 - ext4 /dev/mmcblk0p1 rw
31 30 0:5 / /dev rw,nosuid,relatime shared:2 - devtmpfs devtmpfs rw,size=3678756k,nr_inodes=919689,mode=755
120 30 259:1 / /ssd rw,relatime shared:60 - ext4 /dev/nvme0n1p1 rw
121 30 259:1 /docker /var/lib/docker rw,relatime shared:60 - ext4 /dev/nvme0n1p1 rw
130 30 0:50 / /media/nvidia/My\\040Disk rw,nosuid,nodev,relatime shared:70 - vfat /dev/sda1 rw,fmask=0022
";

    #[test]
    fn parses_real_lines_with_optional_fields_and_escapes() {
        let m = parse(ORIN).unwrap();
        assert_eq!(m.len(), 7);
        assert_eq!(
            m[2],
            Mount {
                dev: "179:1".into(),
                root: "/".into(),
                mount_point: "/".into(),
                fs_type: "ext4".into(),
                source: "/dev/mmcblk0p1".into()
            }
        );
        assert_eq!(m[5].root, "/docker");
        assert_eq!(m[6].mount_point, "/media/nvidia/My Disk");
    }

    #[test]
    fn finds_the_mount_holding_a_path() {
        let m = parse(ORIN).unwrap();
        assert_eq!(mount_of(&m, "/var/lib/docker/overlay2").unwrap().source, "/dev/nvme0n1p1");
        assert_eq!(mount_of(&m, "/var/lib/dockerx").unwrap().source, "/dev/mmcblk0p1");
        assert_eq!(mount_of(&m, "/ssd").unwrap().mount_point, "/ssd");
        assert_eq!(mount_of(&m, "/").unwrap().source, "/dev/mmcblk0p1");
    }

    #[test]
    fn rejects_lines_without_separator() {
        assert!(parse("30 1 179:1 / / rw ext4 /dev/mmcblk0p1 rw\n").unwrap_err().contains("line 1"));
    }
}
