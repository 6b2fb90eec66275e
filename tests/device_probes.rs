//! Device probes (issue 5): cameras, storage, memory, power mode and Jetson iGPU nodes, checked
//! on fixture roots under tests/fixtures/sysroots/ (written by make_device_fixtures.py) through
//! the real binary and its JSON report.
#![allow(clippy::disallowed_methods, reason = "tests drive the real binary and the real tools")]

mod support;

use serde_json::Value;
use std::path::{Path, PathBuf};
use support::{copy_tree, fixtures_dir, jetdoc, run, stderr, stdout};

const CASES: [&str; 8] = [
    "zed2i-usb3",
    "zed2i-usb2",
    "csi-argus-running",
    "csi-no-argus",
    "video-node-no-access",
    "docker-on-emmc-idle-nvme",
    "orin-nano-8gb-no-swap",
    "agx-orin-15w-mode",
];

const DEVICE_CHECKS: [&str; 11] = [
    "gpu.jetson-nodes",
    "cameras.detected",
    "cameras.usb-speed",
    "cameras.access",
    "cameras.argus",
    "storage.root-free",
    "storage.docker-root",
    "system.memory",
    "system.cpu",
    "system.power-mode",
    "gpu.driver",
];

fn case(name: &str) -> PathBuf {
    fixtures_dir().join("sysroots").join(name)
}

fn check_json_at(root: &Path, extra: &[&str]) -> Value {
    let commands = root.join("commands.toml");
    let mut cmd = jetdoc();
    cmd.arg("check")
        .arg("--root")
        .arg(root)
        .arg("--commands")
        .arg(&commands)
        .args(["--format", "json"])
        .args(extra);
    let out = run(&mut cmd);
    assert!(out.status.code().is_some_and(|c| c <= 1), "exit {:?}: {}", out.status, stderr(&out));
    serde_json::from_str(&stdout(&out)).unwrap_or_else(|e| panic!("not JSON ({e}): {}", stdout(&out)))
}

fn check_json(name: &str) -> Value {
    check_json_at(&case(name), &[])
}

/// (status, summary, hints) of one check.
fn result(report: &Value, id: &str) -> (String, String, Vec<String>) {
    let c = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id)
        .unwrap_or_else(|| panic!("no check {id}"));
    let hints = c["hints"].as_array().unwrap().iter().map(|h| h.as_str().unwrap().to_string()).collect();
    (c["status"].as_str().unwrap().to_string(), c["summary"].as_str().unwrap().to_string(), hints)
}

fn status(report: &Value, id: &str) -> String {
    result(report, id).0
}

fn copy_case(name: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join(name);
    copy_tree(&case(name), &root);
    (dir, root)
}

#[test]
fn every_device_fixture_is_a_jetson_and_no_device_check_errors() {
    for name in CASES {
        let r = check_json(name);
        assert_eq!(r["device"]["jetson"], true, "{name}");
        assert_eq!(r["device"]["soc"], "tegra234", "{name}");
        assert!(
            r["device"]["l4t"].as_str().is_some_and(|v| v.starts_with("36.4")),
            "{name}: {}",
            r["device"]
        );
        for id in DEVICE_CHECKS {
            let (s, summary, _) = result(&r, id);
            assert_ne!(s, "error", "{name} {id}: {summary}");
        }
        // Every fixture's iGPU nodes, RAM and free space are read.
        assert_eq!(status(&r, "gpu.jetson-nodes"), "pass", "{name}");
        assert_eq!(status(&r, "storage.root-free"), "pass", "{name}");
        assert_eq!(status(&r, "system.cpu"), "info", "{name}");
    }
}

#[test]
fn zed2i_on_usb3_passes_and_its_two_nodes_are_one_camera() {
    let r = check_json("zed2i-usb3");
    let (s, summary, _) = result(&r, "cameras.detected");
    assert_eq!(s, "info");
    assert!(
        summary.starts_with("1 camera: ZED 2i [USB 2b03:f880, USB 3 (5000 Mbit/s)] /dev/video0, /dev/video1"),
        "{summary}"
    );
    assert_eq!(
        result(&r, "cameras.usb-speed"),
        ("pass".into(), "ZED 2i at USB 3 (5000 Mbit/s)".into(), vec![])
    );
    let (s, summary, _) = result(&r, "cameras.access");
    assert_eq!(s, "pass");
    assert_eq!(
        summary,
        "nvidia can open /dev/video0 (mode 0666, group video), /dev/video1 (mode 0666, group video)"
    );
    assert_eq!(status(&r, "cameras.argus"), "skip");
    assert_eq!(r["summary"]["warn"], 0);
}

#[test]
fn zed2i_on_usb2_warns_with_the_port_hint() {
    let r = check_json("zed2i-usb2");
    let (s, summary, hints) = result(&r, "cameras.usb-speed");
    assert_eq!(s, "warn");
    assert!(summary.contains("ZED 2i at USB 2 (480 Mbit/s) (needs USB 3 (5000 Mbit/s))"), "{summary}");
    assert!(summary.contains("/usb1/1-2]"), "names the USB device: {summary}");
    assert!(hints.iter().any(|h| h.contains("`lsusb -t`") && h.contains("5000M")), "{hints:?}");
    assert_eq!(r["summary"]["warn"], 1, "only the speed warns");
}

#[test]
fn csi_camera_with_argus_running_passes() {
    let r = check_json("csi-argus-running");
    let (s, summary, _) = result(&r, "cameras.detected");
    assert_eq!(s, "info");
    assert!(summary.contains("Sony IMX219") && summary.contains("[CSI] /dev/video0"), "{summary}");
    let (s, summary, hints) = result(&r, "cameras.argus");
    assert_eq!(s, "pass", "{summary}");
    assert!(
        summary.starts_with(
            "nvargus-daemon enabled and running (/run/systemd/units/invocation:nvargus-daemon.service)"
        ),
        "{summary}"
    );
    assert!(hints.iter().any(|h| h.contains("-v /tmp/argus_socket:/tmp/argus_socket")), "{hints:?}");
    let (_, storage, _) = result(&r, "storage.root-free");
    assert!(storage.starts_with("/ on SD card mmcblk0, ext4: 31.5 GB free of 62.7 GB"), "{storage}");
}

#[test]
fn csi_camera_without_argus_enabled_warns_with_the_enable_command() {
    let r = check_json("csi-no-argus");
    let (s, summary, hints) = result(&r, "cameras.argus");
    assert_eq!(s, "warn");
    assert!(
        summary.contains("installed (/etc/systemd/system/nvargus-daemon.service) but not enabled"),
        "{summary}"
    );
    assert!(hints.iter().any(|h| h.contains("`sudo systemctl enable --now nvargus-daemon`")), "{hints:?}");
}

#[test]
fn argus_not_installed_masked_and_stopped_are_told_apart() {
    // Not installed at all.
    let (_d, root) = copy_case("csi-no-argus");
    std::fs::remove_file(root.join("etc/systemd/system/nvargus-daemon.service")).unwrap();
    let (s, summary, hints) = result(&check_json_at(&root, &[]), "cameras.argus");
    assert_eq!(s, "warn");
    assert!(summary.starts_with("nvargus-daemon is not installed"), "{summary}");
    assert!(hints.iter().any(|h| h.contains("sudo apt install nvidia-l4t-camera")), "{hints:?}");

    // Masked: a /dev/null link in /etc shadows the unit.
    std::os::unix::fs::symlink("/dev/null", root.join("etc/systemd/system/nvargus-daemon.service")).unwrap();
    let (s, summary, hints) = result(&check_json_at(&root, &[]), "cameras.argus");
    assert_eq!(s, "warn");
    assert!(summary.contains("masked"), "{summary}");
    assert!(hints[0].contains("sudo systemctl unmask nvargus-daemon"), "{hints:?}");

    // Enabled but not running on a snapshot whose /run/systemd is populated.
    let (_d2, root) = copy_case("csi-argus-running");
    std::fs::remove_file(root.join("run/systemd/units/invocation:nvargus-daemon.service")).unwrap();
    let (s, summary, hints) = result(&check_json_at(&root, &[]), "cameras.argus");
    assert_eq!(s, "warn");
    assert!(
        summary.contains(
            "enabled (/etc/systemd/system/multi-user.target.wants/nvargus-daemon.service) but not running"
        ),
        "{summary}"
    );
    assert!(hints[0].contains("journalctl -u nvargus-daemon"), "{hints:?}");

    // A mounted image (no /run/systemd) cannot tell whether it runs.
    std::fs::remove_dir_all(root.join("run")).unwrap();
    let (s, summary, _) = result(&check_json_at(&root, &[]), "cameras.argus");
    assert_eq!(s, "info", "{summary}");
}

#[test]
fn video_node_the_user_cannot_open_warns_with_usermod() {
    let r = check_json("video-node-no-access");
    let (s, summary, hints) = result(&r, "cameras.access");
    assert_eq!(s, "warn");
    assert_eq!(
        summary,
        "robot cannot open /dev/video0 (mode 0660, group video), /dev/video1 (mode 0660, group video)"
    );
    assert!(hints[0].contains("`sudo usermod -aG video robot`"), "{hints:?}");
    assert!(hints[1].contains("--device /dev/video0 --group-add video"), "{hints:?}");
    // A camera the tables do not know is still listed, with its ids, and not judged on speed.
    let (_, detected, _) = result(&r, "cameras.detected");
    assert!(detected.contains("UVC Camera (046d:0825) [USB 046d:0825, USB 2 (480 Mbit/s)]"), "{detected}");
    assert_eq!(status(&r, "cameras.usb-speed"), "pass");
    // data-root on the NVMe: no placement warning.
    let (s, summary, _) = result(&r, "storage.docker-root");
    assert_eq!(s, "pass", "{summary}");
    assert!(summary.starts_with("Docker data-root /ssd/docker (/etc/docker/daemon.json data-root) on NVMe nvme0n1, mounted at /ssd, ext4; 812.3 GB free"), "{summary}");
}

#[test]
fn sudo_user_is_judged_instead_of_root() {
    let (_d, root) = copy_case("video-node-no-access");
    let toml = std::fs::read_to_string(root.join("commands.toml")).unwrap();
    std::fs::write(
        root.join("commands.toml"),
        toml.replace("USER = \"robot\"", "USER = \"root\"\nSUDO_USER = \"nvidia\""),
    )
    .unwrap();
    let (s, summary, _) = result(&check_json_at(&root, &[]), "cameras.access");
    assert_eq!(s, "pass", "{summary}");
    assert!(summary.starts_with("nvidia can open /dev/video0"), "{summary}");
}

#[test]
fn docker_on_emmc_with_an_idle_nvme_warns_with_the_move() {
    let r = check_json("docker-on-emmc-idle-nvme");
    let (s, summary, hints) = result(&r, "storage.docker-root");
    assert_eq!(s, "warn");
    assert!(summary.starts_with("Docker data-root /var/lib/docker (default) on eMMC mmcblk0"), "{summary}");
    assert!(
        summary.contains("images live on the eMMC while the NVMe mounted at /ssd is not used for them"),
        "{summary}"
    );
    assert!(
        hints.iter().any(|h| h.contains("\"data-root\": \"/ssd/docker\"")
            && h.contains("rsync -aHAX /var/lib/docker/ /ssd/docker/")),
        "{hints:?}"
    );
    let (s, summary, _) = result(&r, "storage.root-free");
    assert_eq!((s.as_str(), summary.as_str()), ("pass", "/ on eMMC mmcblk0, ext4: 24.7 GB free of 58.9 GB"));
}

fn with_root_free(name: &str, avail: u64) -> (tempfile::TempDir, PathBuf) {
    let (d, root) = copy_case(name);
    let toml = std::fs::read_to_string(root.join("commands.toml")).unwrap();
    std::fs::write(root.join("commands.toml"), toml.replace("24696061952 /", &format!("{avail:>11} /")))
        .unwrap();
    (d, root)
}

#[test]
fn free_space_thresholds_come_from_the_tables_and_can_be_raised() {
    let (_d, root) = with_root_free("agx-orin-15w-mode", 3_000_000_000);
    let r = check_json_at(&root, &[]);
    let (s, summary, hints) = result(&r, "storage.root-free");
    assert_eq!(s, "warn", "{summary}");
    assert!(
        summary.contains("3.0 GB free") && summary.contains("(warn below 10 GB, fail below 2 GB)"),
        "{summary}"
    );
    assert!(hints[0].contains("docker system prune"), "{hints:?}");
    let (s, summary, _) = result(&r, "storage.docker-root");
    assert_eq!(s, "fail", "3 GB is below the docker-root fail limit of 5 GB: {summary}");

    let (_d, root) = with_root_free("agx-orin-15w-mode", 1_500_000_000);
    let (s, summary, _) = result(&check_json_at(&root, &[]), "storage.root-free");
    assert_eq!(s, "fail", "{summary}");
    assert!(summary.ends_with("package upgrades and image pulls will fail"), "{summary}");

    // A profile that needs room for a large image raises the bar with a table file.
    let tables = tempfile::tempdir().unwrap();
    std::fs::write(
        tables.path().join("big-image.toml"),
        "[[free_space]]\ntarget = \"root\"\nwarn_gb = 40\nfail_gb = 30\n",
    )
    .unwrap();
    let dir = tables.path().to_str().unwrap();
    let (s, summary, _) =
        result(&check_json_at(&case("agx-orin-15w-mode"), &["--checks-dir", dir]), "storage.root-free");
    assert_eq!(s, "fail", "24.7 GB is below the raised 30 GB: {summary}");
}

#[test]
fn free_space_of_a_foreign_root_without_df_is_a_skip_not_a_guess() {
    let root = case("agx-orin-15w-mode");
    let mut cmd = jetdoc();
    cmd.args(["check", "--format", "json", "--only", "storage", "--root"]).arg(&root);
    let r: Value = serde_json::from_str(&stdout(&run(&mut cmd))).unwrap();
    let (s, summary, _) = result(&r, "storage.root-free");
    assert_eq!(s, "skip");
    assert!(summary.contains("not run: inspecting another root filesystem"), "{summary}");
    assert!(summary.starts_with("/ on eMMC mmcblk0"), "the device class still comes from files: {summary}");
}

#[test]
fn malformed_daemon_json_is_reported_with_its_line() {
    let (_d, root) = copy_case("docker-on-emmc-idle-nvme");
    std::fs::write(root.join("etc/docker/daemon.json"), "{\n  \"data-root\": \"/ssd/docker\",\n}\n").unwrap();
    let (s, summary, hints) = result(&check_json_at(&root, &[]), "storage.docker-root");
    assert_eq!(s, "warn");
    assert!(summary.contains("/etc/docker/daemon.json: malformed: line 3"), "{summary}");
    assert!(hints.iter().any(|h| h.contains("python3 -m json.tool /etc/docker/daemon.json")), "{hints:?}");
}

#[test]
fn orin_nano_8gb_without_swap_warns() {
    let r = check_json("orin-nano-8gb-no-swap");
    let (s, summary, hints) = result(&r, "system.memory");
    assert_eq!(s, "warn");
    assert!(summary.starts_with("8 GB RAM (7.3 GiB usable), no swap"), "{summary}");
    assert!(hints[0].contains("`sudo systemctl enable --now nvzramconfig`"), "{hints:?}");
    assert!(hints[1].contains("mkswap"), "{hints:?}");
    // The same board with zram passes.
    let (s, summary, _) = result(&check_json("zed2i-usb3"), "system.memory");
    assert_eq!((s.as_str(), summary.as_str()), ("pass", "8 GB RAM (7.3 GiB usable), swap 3.6 GiB zram"));
}

#[test]
fn agx_orin_in_15w_mode_warns_and_maxn_super_is_the_nano_maximum() {
    let r = check_json("agx-orin-15w-mode");
    let (s, summary, hints) = result(&r, "system.power-mode");
    assert_eq!(s, "warn");
    assert_eq!(summary, "power mode MODE_15W (ID 1, from /var/lib/nvpmodel/status); the board's fastest is MAXN (ID 0): GPU and CPU clocks are capped");
    assert!(hints[0].contains("`sudo nvpmodel -m 0`"), "{hints:?}");

    // Orin Nano Super: MAXN_SUPER is ID 2 while 7W has the highest ID (3).
    let (s, summary, _) = result(&check_json("orin-nano-8gb-no-swap"), "system.power-mode");
    assert_eq!(
        (s.as_str(), summary.as_str()),
        ("pass", "power mode MAXN_SUPER (ID 2, from /var/lib/nvpmodel/status), the board's fastest")
    );
    let (_d, root) = copy_case("orin-nano-8gb-no-swap");
    std::fs::write(root.join("var/lib/nvpmodel/status"), "pmode:0003\n").unwrap();
    let (s, summary, hints) = result(&check_json_at(&root, &[]), "system.power-mode");
    assert_eq!(s, "warn");
    assert!(
        summary.starts_with("power mode 7W (ID 3") && summary.contains("fastest is MAXN_SUPER (ID 2)"),
        "{summary}"
    );
    assert!(hints[0].contains("`sudo nvpmodel -m 2`"), "{hints:?}");

    // Without a status file the conf's default is what the board boots into.
    std::fs::remove_file(root.join("var/lib/nvpmodel/status")).unwrap();
    let (s, summary, _) = result(&check_json_at(&root, &[]), "system.power-mode");
    assert_eq!(s, "pass", "{summary}");
    assert!(summary.contains("from /etc/nvpmodel.conf PM_CONFIG DEFAULT"), "{summary}");
}

#[test]
fn missing_igpu_nodes_fail_and_an_image_without_dev_is_skipped() {
    let (_d, root) = copy_case("agx-orin-15w-mode");
    std::fs::remove_file(root.join("dev/nvmap")).unwrap();
    let (s, summary, hints) = result(&check_json_at(&root, &[]), "gpu.jetson-nodes");
    assert_eq!(s, "fail");
    assert!(summary.contains("missing: /dev/nvmap"), "{summary}");
    assert!(hints[0].contains("dmesg"), "{hints:?}");

    std::fs::remove_dir_all(root.join("dev")).unwrap();
    std::fs::create_dir(root.join("dev")).unwrap();
    let (s, summary, _) = result(&check_json_at(&root, &[]), "gpu.jetson-nodes");
    assert_eq!(s, "skip");
    assert!(summary.contains("no /dev entries"), "{summary}");
}

#[test]
fn human_report_shows_the_device_areas_with_hints_and_strict_exit() {
    let root = case("zed2i-usb2");
    let mut cmd = jetdoc();
    cmd.arg("check").arg("--root").arg(&root).arg("--commands").arg(root.join("commands.toml"));
    let out = run(&mut cmd);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "warnings alone exit 0");
    for area in ["\ncameras\n", "\nstorage\n", "\nsystem\n"] {
        assert!(text.contains(area), "{area:?} missing in:\n{text}");
    }
    assert!(text.contains("⚠ cameras.usb-speed"), "{text}");
    assert!(text.contains("then confirm the link with `lsusb -t`"), "hint shown under the warning:\n{text}");
    cmd.arg("--strict");
    assert_eq!(run(&mut cmd).status.code(), Some(1), "--strict fails on the warning");
}

#[test]
fn device_checks_are_listed() {
    let out = run(jetdoc().args(["check", "--list"]));
    let text = stdout(&out);
    for id in DEVICE_CHECKS {
        assert!(text.lines().any(|l| l.starts_with(id)), "{id} not listed:\n{text}");
    }
}

#[test]
fn gmsl_zed_x_is_recognised_by_its_sensor_name_and_needs_argus() {
    let (_d, root) = copy_case("csi-no-argus");
    let name = root.join("sys/devices/platform/tegra-capture-vi/video4linux/video0/name");
    std::fs::write(&name, "vi-output, zedx 30-001c\n").unwrap();
    let r = check_json_at(&root, &[]);
    let (_, summary, _) = result(&r, "cameras.detected");
    assert!(summary.contains("Stereolabs ZED X (vi-output, zedx 30-001c) [GMSL] /dev/video0"), "{summary}");
    let (s, summary, _) = result(&r, "cameras.argus");
    assert_eq!(s, "warn");
    assert!(summary.contains("Stereolabs ZED X"), "{summary}");
    assert_eq!(status(&r, "cameras.usb-speed"), "skip");
}
