//! The command-line contract: exit codes, selection, JSON shape, and hostile input.
#![allow(clippy::disallowed_methods, reason = "tests drive the real binary and the real tools")]

mod support;

use std::fs;
use std::os::unix::fs::symlink;
use support::{jetdoc, run, stderr, stdout};

fn sysroot(name: &str) -> std::path::PathBuf {
    support::fixtures_dir().join("sysroots").join(name)
}

#[test]
fn json_contract_fields_are_present() {
    let out = run(jetdoc().args(["check", "--format", "json", "--root"]).arg(sysroot("agx-orin-r36.4.3")));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(v["schema"], 1);
    for key in [
        "jetson", "model", "module", "soc", "l4t", "jetpack", "cuda", "cudnn", "tensorrt", "ubuntu", "python",
    ] {
        assert!(v["device"].get(key).is_some(), "device.{key} missing");
    }
    assert_eq!(v["device"]["l4t"], "36.4.3");
    assert_eq!(v["device"]["jetpack"], "6.2");
    assert_eq!(v["device"]["soc"], "tegra234");
    let checks = v["checks"].as_array().unwrap();
    for c in checks {
        for key in ["id", "status", "summary", "hints", "fix"] {
            assert!(c.get(key).is_some(), "check.{key} missing in {c}");
        }
    }
    let total: u64 = v["summary"].as_object().unwrap().values().map(|n| n.as_u64().unwrap()).sum();
    assert_eq!(total as usize, checks.len());
}

#[test]
fn strict_turns_warnings_into_exit_1() {
    let root = sysroot("future-r36.9.0");
    let relaxed = run(jetdoc().args(["check", "--root"]).arg(&root));
    assert_eq!(relaxed.status.code(), Some(0));
    let strict = run(jetdoc().args(["check", "--strict", "--root"]).arg(&root));
    assert_eq!(strict.status.code(), Some(1));
}

#[test]
fn only_and_skip_select_checks() {
    let out = run(jetdoc()
        .args(["check", "--format", "json", "--only", "l4t", "--skip", "l4t.lifecycle", "--root"])
        .arg(sysroot("thor-r38.2.0")));
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let ids: Vec<&str> = v["checks"].as_array().unwrap().iter().map(|c| c["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["l4t.release", "l4t.jetpack", "l4t.consistency"]);
}

#[test]
fn own_errors_exit_2_with_a_next_step() {
    let out = run(jetdoc().args(["check", "--only", "no-such-check", "--root"]).arg(sysroot("thor-r38.2.0")));
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("jetdoc check --list"), "{}", stderr(&out));

    let out = run(jetdoc().args(["check", "--root", "/no/such/dir"]));
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("/no/such/dir: missing"), "{}", stderr(&out));

    let bad_tables = tempfile::tempdir().unwrap();
    fs::write(bad_tables.path().join("local.toml"), "[[release]]\nl4t = 36\n").unwrap();
    let out = run(jetdoc()
        .args(["check", "--checks-dir"])
        .arg(bad_tables.path())
        .arg("--root")
        .arg(sysroot("thor-r38.2.0")));
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("local.toml: line 2"), "{}", stderr(&out));

    let out = run(jetdoc().args(["check", "--format", "yaml"]));
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn list_names_every_check() {
    let out = run(jetdoc().args(["check", "--list"]));
    assert_eq!(out.status.code(), Some(0));
    let text = stdout(&out);
    for id in ["device.jetson", "l4t.release", "l4t.jetpack", "cuda.version", "gpu.driver"] {
        assert!(text.contains(id), "{id} not listed");
    }
}

#[test]
fn user_tables_teach_a_new_release_without_a_rebuild() {
    let tables = tempfile::tempdir().unwrap();
    fs::write(
        tables.path().join("2027.toml"),
        "[[release]]\nl4t = \"36.9.0\"\njetpack = \"6.3\"\ncuda = \"12.6\"\n",
    )
    .unwrap();
    let out = run(jetdoc()
        .args(["check", "--format", "json", "--checks-dir"])
        .arg(tables.path())
        .arg("--root")
        .arg(sysroot("future-r36.9.0")));
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(v["device"]["jetpack"], "6.3");
    let jp = v["checks"].as_array().unwrap().iter().find(|c| c["id"] == "l4t.jetpack").unwrap();
    assert_eq!(jp["status"], "pass");
}

/// Garbage, binary, truncated and huge files, dangling and looping symlinks: every check still
/// produces a result and nothing panics.
#[test]
fn hostile_root_gives_reasons_not_panics() {
    let dir = tempfile::tempdir().unwrap();
    let r = dir.path();
    for d in
        ["etc", "usr/local", "usr/bin", "var/lib/dpkg", "proc/sys/kernel", "sys/firmware/devicetree/base"]
    {
        fs::create_dir_all(r.join(d)).unwrap();
    }
    fs::write(r.join("etc/nv_tegra_release"), [0xde, 0xad, 0xbe, 0xef, 0x00, 0xff, b'\n']).unwrap();
    fs::write(r.join("etc/os-release"), "VERSION_ID=\"22.04\nID=ubu\0ntu\n=\n").unwrap();
    fs::write(r.join("sys/firmware/devicetree/base/model"), [0xff; 64]).unwrap();
    fs::write(r.join("sys/firmware/devicetree/base/compatible"), b"nvidia,p3701-").unwrap();
    symlink("/sys/firmware/devicetree/base", r.join("proc/device-tree")).unwrap();
    // A huge dpkg database (sparse, so the test stays cheap).
    let status = fs::File::create(r.join("var/lib/dpkg/status")).unwrap();
    status.set_len(80 * 1024 * 1024).unwrap();
    symlink("/usr/local/cuda-loop", r.join("usr/local/cuda")).unwrap();
    symlink("/usr/local/cuda", r.join("usr/local/cuda-loop")).unwrap();
    symlink("python3.99", r.join("usr/bin/python3")).unwrap();
    fs::create_dir_all(r.join("proc/sys/kernel/osrelease")).unwrap();

    for format in ["human", "json"] {
        let out = run(jetdoc().args(["check", "--format", format, "--root"]).arg(r));
        let err = stderr(&out);
        assert!(!err.contains("panicked"), "{err}");
        assert!(matches!(out.status.code(), Some(0 | 1)), "exit {:?}: {err}", out.status.code());
        if format == "json" {
            let v: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
            assert!(v["checks"].as_array().unwrap().iter().all(|c| c["status"] != "error"), "{v}");
            assert!(
                v["facts"]["l4t"]["absent"].as_str().unwrap().contains("malformed"),
                "{}",
                v["facts"]["l4t"]
            );
            assert!(v["facts"]["cuda"]["value"].is_null());
        }
    }
}

/// Every command path of the CLI (walked from clap's tree, so a new command is tested by itself).
fn commands() -> Vec<Vec<String>> {
    fn walk(cmd: &clap::Command, path: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
        out.push(path.clone());
        for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
            path.push(sub.get_name().to_string());
            walk(sub, path, out);
            path.pop();
        }
    }
    let mut found = Vec::new();
    walk(&jetdoc::commands::help::command(100), &mut Vec::new(), &mut found);
    found
}

/// Every argument of every command says what it does, and every command's help has examples
/// and its exit codes.
#[test]
fn every_argument_has_a_description_and_every_command_teaches() {
    fn walk(cmd: &clap::Command, path: &str, missing: &mut Vec<String>) {
        for arg in cmd.get_arguments().filter(|a| !a.is_hide_set()) {
            let help = arg.get_help().or(arg.get_long_help()).map(|h| h.to_string()).unwrap_or_default();
            if help.trim().is_empty() {
                missing.push(format!("{path}: argument {} has no description", arg.get_id()));
            }
        }
        let after = cmd.get_after_help().map(|h| h.to_string()).unwrap_or_default();
        for section in ["Examples:", "Exit codes:"] {
            if !after.contains(section) {
                missing.push(format!("{path}: --help has no {section:?} section"));
            }
        }
        for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
            if sub.get_about().is_none() {
                missing.push(format!("{path} {}: no description", sub.get_name()));
            }
            walk(sub, &format!("{path} {}", sub.get_name()), missing);
        }
    }
    let mut missing = Vec::new();
    walk(&jetdoc::commands::help::command(100), "jetdoc", &mut missing);
    assert!(missing.is_empty(), "{}", missing.join("\n"));
}

/// At 60, 80 and 100 columns (`COLUMNS`, as when help is piped into a pager) no help line is
/// wider than the terminal and no wrapped line of a list falls back to column 0.
#[test]
fn help_fits_the_terminal_and_lists_keep_their_indent() {
    for width in [60usize, 80, 100] {
        for path in commands() {
            for flag in ["--help", "-h"] {
                let out = run(jetdoc().args(&path).arg(flag).env("COLUMNS", width.to_string()));
                let shown = format!("COLUMNS={width} jetdoc {} {flag}", path.join(" "));
                assert_eq!(out.status.code(), Some(0), "{shown}: {}", stderr(&out));
                let text = stdout(&out);
                let mut in_list = false;
                for line in text.lines() {
                    assert!(line.chars().count() <= width, "{shown}: wider than {width}: {line:?}\n{text}");
                    let indented = line.starts_with(' ');
                    assert!(
                        !(in_list && !indented && !line.is_empty()),
                        "{shown}: a list line fell back to column 0: {line:?}\n{text}"
                    );
                    in_list = if line.is_empty() { false } else { in_list || indented };
                }
            }
        }
    }
    // The list of fixes hangs at one column at every width.
    for width in [60usize, 100] {
        let text = stdout(&run(jetdoc().args(["fix", "--help"]).env("COLUMNS", width.to_string())));
        let fixes: Vec<&str> =
            text.lines().skip_while(|l| *l != "Fixes:").skip(1).take_while(|l| !l.is_empty()).collect();
        let column = fixes[0].find("install").expect("gpu-runtime's description");
        for line in &fixes[1..] {
            let name = line[..column].trim();
            assert!(
                name.is_empty() || ["docker.group", "docker.iptables-raw"].contains(&name),
                "{width}: {line:?}\n{text}"
            );
        }
    }
}

fn has_escape(s: &str) -> bool {
    s.contains('\u{1b}')
}

/// `--color always` colours a pipe (stdout and stderr), `never` never colours, and `auto`
/// colours only a terminal; `always` beats `NO_COLOR`.
#[test]
fn color_choice_is_obeyed_on_pipes() {
    let root = sysroot("agx-orin-r36.4.3");
    let check = |color: &str, no_color: Option<&str>| {
        let mut c = jetdoc();
        c.env_remove("NO_COLOR");
        if let Some(v) = no_color {
            c.env("NO_COLOR", v);
        }
        run(c.args(["--color", color, "check", "--root"]).arg(&root))
    };
    assert!(has_escape(&stdout(&check("always", None))), "always: no colour on a pipe");
    assert!(has_escape(&stdout(&check("always", Some("1")))), "always must beat NO_COLOR");
    assert!(!has_escape(&stdout(&check("never", None))));
    assert!(!has_escape(&stdout(&check("auto", None))), "auto on a pipe must not colour");
    assert!(!has_escape(&stdout(&check("auto", Some("")))));

    let err = |color: &str| {
        let mut c = jetdoc();
        c.env_remove("NO_COLOR");
        stderr(&run(c.args(["--color", color, "check", "--root", "/no/such/dir"])))
    };
    assert!(has_escape(&err("always")), "always: the error prefix is not coloured on a pipe");
    assert!(!has_escape(&err("never")));
    assert!(!has_escape(&err("auto")));
}

/// `auto` on a real terminal (a pty from util-linux `script`): colour unless `NO_COLOR` is set
/// to something; an empty `NO_COLOR` does not count (no-color.org).
#[test]
fn color_auto_on_a_terminal_follows_no_color() {
    let root = sysroot("agx-orin-r36.4.3");
    let on_tty = |no_color: Option<&str>, color: &str| {
        let cmd = format!("{} --color {color} check --root {}", env!("CARGO_BIN_EXE_jetdoc"), root.display());
        let mut c = std::process::Command::new("script");
        c.args(["-qec", &cmd, "/dev/null"]).env_remove("NO_COLOR").env("TERM", "xterm");
        for var in ["JETDOC_ROOT", "JETDOC_CHECKS_DIR", "JETDOC_COMMANDS", "JETDOC_LIVE_COMMANDS"] {
            c.env_remove(var);
        }
        if let Some(v) = no_color {
            c.env("NO_COLOR", v);
        }
        let out = run(&mut c);
        assert_eq!(out.status.code(), Some(0), "{cmd}: {}", stderr(&out));
        stdout(&out)
    };
    assert!(has_escape(&on_tty(None, "auto")), "auto on a terminal must colour");
    assert!(has_escape(&on_tty(Some(""), "auto")), "an empty NO_COLOR must not turn colour off");
    assert!(!has_escape(&on_tty(Some("1"), "auto")), "NO_COLOR=1 turns colour off");
    assert!(!has_escape(&on_tty(None, "never")));
}

/// Escape sequences in a device-tree string and in a file name (a CDI spec under /etc/cdi) reach
/// the terminal escaped, with and without colour; so do they in an error naming a path.
#[test]
fn terminal_escapes_from_the_device_are_shown_escaped() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    support::copy_tree(&sysroot("agx-orin-r36.4.3"), &root);
    let model = root.join("sys/firmware/devicetree/base/model");
    fs::remove_file(&model).unwrap();
    fs::write(&model, b"NVIDIA Jetson \x1b]0;owned\x07AGX Orin\x1b[2J\x1b[31m\x9b1A\0").unwrap();
    fs::create_dir_all(root.join("etc/cdi")).unwrap();
    fs::write(root.join("etc/cdi/nvidia\x1b]8;;file:evil\x07.yaml"), "cdiVersion: 0.5.0\n").unwrap();

    for color in ["never", "always"] {
        let out = run(jetdoc().args(["--color", color, "check", "-v", "--root"]).arg(&root));
        let text = stdout(&out);
        assert!(text.contains("NVIDIA Jetson \\x1b]0;owned\\x07AGX Orin\\x1b[2J\\x1b[31m"), "{text}");
        assert!(text.contains("nvidia\\x1b]8;;file:evil\\x07.yaml"), "{text}");
        let escapes: Vec<&str> = text.split('\u{1b}').skip(1).collect();
        if color == "never" {
            assert!(escapes.is_empty(), "raw ESC with --color never:\n{text}");
        }
        for rest in escapes {
            let params: String =
                rest.chars().skip(1).take_while(|c| c.is_ascii_digit() || *c == ';').collect();
            assert!(
                rest.starts_with('[') && rest[1 + params.len()..].starts_with('m'),
                "an ESC that is not one of jetdoc's colours: {:?}",
                &rest[..rest.len().min(20)]
            );
        }
        assert!(!text.contains('\u{7}') && !text.contains('\u{9b}'), "{text:?}");
    }

    let bad = dir.path().join("no-such\x1b]0;owned\x07root");
    let out = run(jetdoc().args(["check", "--root"]).arg(&bad));
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("no-such\\x1b]0;owned\\x07root: missing") && !err.contains('\u{1b}'), "{err:?}");
}

/// An unreadable --root is jetdoc's own error: exit 2, the path and the reason, not a report
/// that blames the device ("the Docker CLI is not installed").
#[test]
fn an_unreadable_root_exits_2_with_the_path_and_the_reason() {
    let out = run(jetdoc().args(["check", "--root", "/etc/passwd"]));
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--root /etc/passwd: not a directory"), "{}", stderr(&out));
    assert!(stdout(&out).is_empty());

    // Mode 000 stops everyone but root: as root, run jetdoc as `nobody`.
    let dir = tempfile::Builder::new().prefix("jd-cli-").tempdir().unwrap();
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).unwrap();
    let locked = dir.path().join("locked");
    support::copy_tree(&sysroot("agx-orin-r36.4.3"), &locked);
    fs::set_permissions(&locked, fs::Permissions::from_mode(0o000)).unwrap();
    let mut cmd = jetdoc();
    if support::is_root() {
        use std::os::unix::process::CommandExt;
        // std drops the supplementary groups (setgroups) when it changes the uid as root.
        cmd.uid(65534).gid(65534);
    }
    let out = run(cmd.args(["check", "--root"]).arg(&locked));
    fs::set_permissions(&locked, fs::Permissions::from_mode(0o755)).unwrap();
    assert_eq!(out.status.code(), Some(2), "{}{}", stdout(&out), stderr(&out));
    let err = stderr(&out);
    assert!(err.contains(&format!("--root {}: permission denied", locked.display())), "{err}");
    assert!(!err.contains("Docker"), "{err}");
}

fn check_json(root: &std::path::Path) -> serde_json::Value {
    let mut cmd = jetdoc();
    cmd.args(["check", "--format", "json", "--root"]).arg(root);
    if root.join("commands.toml").exists() {
        cmd.arg("--commands").arg(root.join("commands.toml"));
    }
    let out = run(&mut cmd);
    serde_json::from_str(&stdout(&out)).unwrap_or_else(|e| panic!("{e}: {}", stderr(&out)))
}

fn result<'a>(report: &'a serde_json::Value, id: &str) -> &'a serde_json::Value {
    report["checks"].as_array().unwrap().iter().find(|c| c["id"] == id).unwrap_or_else(|| panic!("no {id}"))
}

/// Inside a container whose Docker socket reaches a daemon (a devcontainer, a CI job), that
/// daemon is the host's: the checks of what it answers run and say so; the checks of the host's
/// files skip. A problem of the host's engine names its fix as a command for the host.
#[test]
fn inside_a_container_the_hosts_engine_is_checked_through_its_socket() {
    let v = check_json(&sysroot("container-host-docker"));
    assert_eq!(v["device"]["container"], true);
    let daemon = result(&v, "docker.daemon");
    assert_eq!(daemon["status"], "pass");
    assert!(daemon["summary"].as_str().unwrap().contains("Docker Engine 28.0.1 of the host"), "{daemon}");
    for id in ["docker.client", "docker.nvidia-runtime", "docker.default-runtime", "docker.storage-driver"] {
        assert_eq!(result(&v, id)["status"], "pass", "{}", result(&v, id));
    }
    for id in ["docker.daemon-json", "docker.group", "docker.iptables-raw", "toolkit.packages", "toolkit.csv"]
    {
        let r = result(&v, id);
        assert_eq!(r["status"], "skip", "{r}");
        assert!(r["summary"].as_str().unwrap().contains("the host's files"), "{r}");
    }
    assert!(result(&v, "device.container")["summary"].as_str().unwrap().contains("host's Docker engine"));

    // The host's daemon without the nvidia runtime: a failure whose fix is for the host.
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    support::copy_tree(&sysroot("container-host-docker"), &root);
    let info_path = root.join("docker-info.json");
    let mut info: serde_json::Value = serde_json::from_str(&fs::read_to_string(&info_path).unwrap()).unwrap();
    info["Runtimes"].as_object_mut().unwrap().remove("nvidia");
    info["DefaultRuntime"] = "runc".into();
    fs::write(&info_path, info.to_string()).unwrap();
    let v = check_json(&root);
    let r = result(&v, "docker.nvidia-runtime");
    assert_eq!(r["status"], "fail", "{r}");
    assert!(r["fix"].is_null(), "a fix applied in the container would edit the image's files: {r}");
    assert!(
        r["hints"]
            .as_array()
            .unwrap()
            .iter()
            .any(|h| h.as_str().unwrap().contains("`sudo jetdoc fix gpu-runtime` on the host")),
        "{r}"
    );
    assert_eq!(result(&v, "docker.default-runtime")["status"], "warn");

    // No socket mounted: nothing answers, and every check of the area says why it skips.
    let v = check_json(&sysroot("container-no-docker-socket"));
    for c in v["checks"].as_array().unwrap().iter().filter(|c| c["area"] == "containers") {
        assert_eq!(c["status"], "skip", "{c}");
        assert!(c["summary"].as_str().unwrap().contains("no Docker daemon answers"), "{c}");
    }
    let daemon = result(&v, "docker.daemon")["summary"].as_str().unwrap().to_string();
    assert!(
        daemon.contains("nothing answers on the Docker socket") && daemon.contains("/var/run/docker.sock"),
        "{daemon}"
    );
}
