//! How a provisioned profile runs: the `docker run` argv (for `jetdoc run`, the smoke tests and
//! the plan) and the equivalent `compose.yaml`, both from one [`RunResolution`]. Pure: the
//! command layer executes the argv through Docker; tests check the YAML with `docker-compose
//! config`.

use std::fmt::Write as _;

use super::resolve::{RunResolution, Runtime};

/// Flags shared by the long-running container and the smoke tests: runtime, devices, mounts,
/// network, IPC, environment, shared memory.
fn common_flags(run: &RunResolution) -> Vec<String> {
    let mut a: Vec<String> = Vec::new();
    match run.runtime {
        Runtime::Nvidia => a.extend(["--runtime".into(), "nvidia".into()]),
        Runtime::GpusAll => a.extend(["--gpus".into(), "all".into()]),
        Runtime::None => {}
    }
    if let Some(n) = &run.network {
        a.extend(["--network".into(), n.clone()]);
    }
    if let Some(i) = &run.ipc {
        a.extend(["--ipc".into(), i.clone()]);
    }
    if run.privileged {
        a.push("--privileged".into());
    }
    if let Some(s) = &run.shm_size {
        a.extend(["--shm-size".into(), s.clone()]);
    }
    for d in &run.devices {
        a.extend(["--device".into(), format!("{0}:{0}", d.path)]);
    }
    for m in &run.mounts {
        let ro = if m.read_only { ",readonly" } else { "" };
        a.extend(["--mount".into(), format!("type=bind,source={},target={}{ro}", m.source, m.target)]);
    }
    for (k, v) in &run.env {
        a.extend(["--env".into(), format!("{k}={v}")]);
    }
    a
}

/// `docker run` arguments (without `docker`) that start the profile's container detached.
pub fn run_args(run: &RunResolution, image: &str) -> Vec<String> {
    let mut a: Vec<String> = vec!["run".into(), "--detach".into(), "--name".into(), run.name.clone()];
    if let Some(r) = &run.restart {
        a.extend(["--restart".into(), r.clone()]);
    }
    a.extend(common_flags(run));
    a.push(image.to_string());
    if let Some(c) = &run.command {
        a.extend(c.iter().cloned());
    }
    a
}

/// `docker run` arguments for one smoke test: removed afterwards, no restart policy, the
/// profile's runtime, devices and mounts, the test's argv instead of the image's command.
pub fn smoke_args(run: &RunResolution, image: &str, name: &str, command: &[String]) -> Vec<String> {
    let mut a: Vec<String> = vec!["run".into(), "--rm".into(), "--name".into(), name.to_string()];
    a.extend(common_flags(run));
    // The smoke command replaces the whole start-up, entrypoint included: an image whose
    // entrypoint is a launcher would otherwise receive the test as its arguments.
    if let Some((first, rest)) = command.split_first() {
        a.extend(["--entrypoint".into(), first.clone(), image.to_string()]);
        a.extend(rest.iter().cloned());
    } else {
        a.push(image.to_string());
    }
    a
}

/// The `docker run` of a profile's container as the Host's Docker interface takes it (the same
/// flags as [`run_args`]).
pub fn run_spec(run: &RunResolution, image: &str) -> crate::host::docker::RunSpec {
    crate::host::docker::RunSpec {
        image: image.to_string(),
        command: run.command.clone().unwrap_or_default(),
        name: Some(run.name.clone()),
        runtime: (run.runtime == Runtime::Nvidia).then(|| "nvidia".to_string()),
        gpus: (run.runtime == Runtime::GpusAll).then(|| "all".to_string()),
        devices: run.devices.iter().map(|d| d.path.clone()).collect(),
        mounts: run
            .mounts
            .iter()
            .map(|m| crate::host::docker::Mount {
                source: m.source.clone(),
                target: m.target.clone(),
                read_only: m.read_only,
            })
            .collect(),
        env: run.env.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
        network: run.network.clone(),
        ipc: run.ipc.clone(),
        privileged: run.privileged,
        shm_size: run.shm_size.clone(),
        restart: run.restart.clone(),
        ..crate::host::docker::RunSpec::default()
    }
}

/// A shell-readable command line (for plans and hints).
pub fn shell_line(program: &str, args: &[String]) -> String {
    let mut out = program.to_string();
    for a in args {
        out.push(' ');
        if !a.is_empty() && a.chars().all(|c| c.is_ascii_alphanumeric() || "-_./=:,+@%".contains(c)) {
            out.push_str(a);
        } else {
            out.push('\'');
            out.push_str(&a.replace('\'', "'\\''"));
            out.push('\'');
        }
    }
    out
}

/// A YAML scalar: JSON's double-quoted strings are valid YAML and escape everything that needs it.
fn q(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into())
}

/// The `compose.yaml` equivalent to [`run_args`]: one service named after the profile.
pub fn compose_yaml(profile: &str, run: &RunResolution, image: &str) -> String {
    let mut y = String::new();
    let _ = writeln!(
        y,
        "# Written by `jetdoc run {profile} --compose`: the same container as `jetdoc run {profile}`."
    );
    let _ = writeln!(y, "# Check it with `docker-compose config`; start it with `docker-compose up -d`.");
    let _ = writeln!(y, "services:");
    let _ = writeln!(y, "  {}:", q(profile));
    let _ = writeln!(y, "    image: {}", q(image));
    let _ = writeln!(y, "    container_name: {}", q(&run.name));
    match run.runtime {
        Runtime::Nvidia => {
            let _ = writeln!(y, "    runtime: nvidia");
        }
        Runtime::GpusAll => {
            // Compose's form of `--gpus all`.
            let _ = writeln!(y, "    deploy:\n      resources:\n        reservations:\n          devices:");
            let _ = writeln!(
                y,
                "            - driver: nvidia\n              count: all\n              capabilities: [gpu]"
            );
        }
        Runtime::None => {}
    }
    if let Some(n) = &run.network {
        let _ = writeln!(y, "    network_mode: {}", q(n));
    }
    if let Some(i) = &run.ipc {
        let _ = writeln!(y, "    ipc: {}", q(i));
    }
    if run.privileged {
        let _ = writeln!(y, "    privileged: true");
    }
    if let Some(s) = &run.shm_size {
        let _ = writeln!(y, "    shm_size: {}", q(s));
    }
    if let Some(r) = &run.restart {
        let _ = writeln!(y, "    restart: {}", q(r));
    }
    if !run.devices.is_empty() {
        let _ = writeln!(y, "    devices:");
        for d in &run.devices {
            let _ = writeln!(y, "      - {}", q(&format!("{0}:{0}", d.path)));
        }
    }
    if !run.mounts.is_empty() {
        let _ = writeln!(y, "    volumes:");
        for m in &run.mounts {
            let _ = writeln!(
                y,
                "      - type: bind\n        source: {}\n        target: {}",
                q(&m.source),
                q(&m.target)
            );
            if m.read_only {
                let _ = writeln!(y, "        read_only: true");
            }
        }
    }
    if !run.env.is_empty() {
        let _ = writeln!(y, "    environment:");
        for (k, v) in &run.env {
            let _ = writeln!(y, "      {}: {}", q(k), q(v));
        }
    }
    if let Some(c) = &run.command {
        let items: Vec<String> = c.iter().map(|s| q(s)).collect();
        let _ = writeln!(y, "    command: [{}]", items.join(", "));
    }
    y
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provision::resolve::{DeviceMap, MountMap};

    fn run() -> RunResolution {
        RunResolution {
            name: "jetdoc-locomotion".into(),
            runtime: Runtime::Nvidia,
            network: Some("host".into()),
            ipc: Some("host".into()),
            privileged: false,
            devices: vec![DeviceMap { path: "/dev/video0".into(), why: "ZED 2i".into() }],
            mounts: vec![MountMap {
                source: "/tmp/argus_socket".into(),
                target: "/tmp/argus_socket".into(),
                read_only: true,
                why: String::new(),
            }],
            env: [("NVIDIA_DRIVER_CAPABILITIES".to_string(), "all".to_string())].into(),
            x11: false,
            x11_reason: String::new(),
            restart: Some("unless-stopped".into()),
            shm_size: Some("2g".into()),
            command: Some(vec!["python3".into(), "-m".into(), "app".into()]),
            notes: vec![],
        }
    }

    #[test]
    fn run_and_smoke_argv() {
        let r = run();
        assert_eq!(
            shell_line("docker", &run_args(&r, "jetdoc/locomotion:1")),
            "docker run --detach --name jetdoc-locomotion --restart unless-stopped --runtime nvidia --network host --ipc host --shm-size 2g --device /dev/video0:/dev/video0 --mount type=bind,source=/tmp/argus_socket,target=/tmp/argus_socket,readonly --env NVIDIA_DRIVER_CAPABILITIES=all jetdoc/locomotion:1 python3 -m app"
        );
        let s =
            smoke_args(&r, "img:1", "jetdoc-smoke-1", &["python3".into(), "-c".into(), "import zmq".into()]);
        assert_eq!(s[..4], ["run", "--rm", "--name", "jetdoc-smoke-1"]);
        assert_eq!(s[s.len() - 5..], ["--entrypoint", "python3", "img:1", "-c", "import zmq"]);
        assert!(!s.contains(&"--restart".to_string()));
    }

    #[test]
    fn compose_mirrors_the_run() {
        let y = compose_yaml("locomotion", &run(), "jetdoc/locomotion:1");
        assert!(y.contains("    runtime: nvidia\n"), "{y}");
        assert!(y.contains("      - \"/dev/video0:/dev/video0\"\n"), "{y}");
        assert!(y.contains("        read_only: true\n"), "{y}");
        assert!(y.contains("    command: [\"python3\", \"-m\", \"app\"]\n"), "{y}");
        let mut x86 = run();
        x86.runtime = Runtime::GpusAll;
        assert!(compose_yaml("t", &x86, "i").contains("capabilities: [gpu]"));
    }
}
