//! Kernel modules: loaded ones (`/proc/modules`), built-in ones (`modules.builtin`) and loadable
//! ones (`modules.dep`) of `/lib/modules/<release>/`. Names are compared with `-` read as `_`, as
//! modprobe does.

/// Normalized module name of a `modules.dep`/`modules.builtin` path
/// (`kernel/net/ipv4/netfilter/iptable_raw.ko.zst` -> `iptable_raw`).
fn name_of_path(path: &str) -> Option<String> {
    let base = path.trim().rsplit('/').next()?;
    let name = base.split(".ko").next()?;
    (!name.is_empty() && base.contains(".ko")).then(|| normalize(name))
}

pub fn normalize(name: &str) -> String {
    name.trim().replace('-', "_")
}

/// Names in `/proc/modules` (`iptable_raw 16384 1 - Live 0x0000000000000000`).
pub fn loaded(proc_modules: &str) -> Vec<String> {
    proc_modules.lines().filter_map(|l| l.split_whitespace().next()).map(normalize).collect()
}

/// Names in `modules.builtin` (one path per line).
pub fn builtin(text: &str) -> Vec<String> {
    text.lines().filter_map(name_of_path).collect()
}

/// Names of the modules `modules.dep` can load (the part before each `:`).
pub fn available(modules_dep: &str) -> Vec<String> {
    modules_dep.lines().filter_map(|l| l.split(':').next()).filter_map(name_of_path).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn real_lines() {
        let proc = "nvgpu 2629632 24 - Live 0x0000000000000000\nip_tables 28672 1 iptable_filter, Live 0x0000000000000000\n";
        assert_eq!(loaded(proc), ["nvgpu", "ip_tables"]);
        let dep = "kernel/net/ipv4/netfilter/iptable_raw.ko.zst: kernel/net/ipv4/netfilter/ip_tables.ko.zst kernel/net/netfilter/x_tables.ko.zst\nkernel/drivers/gpu/drm/tegra/tegra-drm.ko:\n";
        assert_eq!(available(dep), ["iptable_raw", "tegra_drm"]);
        assert_eq!(
            builtin("kernel/net/ipv4/netfilter/ip_tables.ko\nkernel/fs/ext4/ext4.ko\n"),
            ["ip_tables", "ext4"]
        );
        assert!(builtin("garbage\n").is_empty());
    }
}
