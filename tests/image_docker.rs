//! The Docker interface (`jetdoc::host::docker`) against a real, test-owned engine: every
//! operation a step uses, Docker's errors carried once with its own words, and a foreign
//! `--root` saying it has no daemon.
#![allow(clippy::disallowed_methods, reason = "tests drive the real binary and the real tools")]

mod support;

support::harness!(
    the_cli_engine_builds_runs_saves_loads_tags_pushes_and_pulls,
    a_failing_docker_save_says_why_once,
    a_foreign_root_has_no_daemon_and_says_so,
);

use std::io::{Read, Write};
use std::path::Path;

use jetdoc::host::docker::{BuildSpec, CliDocker, Docker, DockerError, Mount, RunSpec};
use support::dockerd::{busybox_context, TestDaemon};
use support::registry::TestRegistry;

/// A one-layer busybox image built FROM scratch, tagged `tag`.
fn busybox_image(daemon: &TestDaemon, docker: &CliDocker, tag: &str) -> String {
    let ctx = daemon.dir.path().join(format!("ctx-{}", tag.replace([':', '/'], "-")));
    support::require(busybox_context(&ctx).is_some(), "busybox-static");
    std::fs::write(
        ctx.join("Dockerfile"),
        "FROM scratch\nCOPY busybox /bin/busybox\nRUN [\"/bin/busybox\", \"--install\", \"-s\", \"/bin\"]\nCMD [\"/bin/sh\"]\n",
    )
    .unwrap();
    let spec = BuildSpec {
        dockerfile: ctx.join("Dockerfile"),
        context: ctx.clone(),
        tags: vec![tag.to_string()],
        network: Some("none".into()),
        // Passed as an argument, not through the Dockerfile: any value, exactly.
        labels: [("io.jetdoc.test".to_string(), "a\nLABEL injected=1".to_string())].into(),
        ..BuildSpec::default()
    };
    let lines = std::cell::RefCell::new(Vec::new());
    let id = docker.build(&spec, &|l: &str| lines.borrow_mut().push(l.to_string())).unwrap();
    assert!(id.starts_with("sha256:"), "{id}");
    assert!(lines.borrow().iter().any(|l| l.starts_with("Step 1/")), "{:?}", lines.borrow());
    id
}

fn the_cli_engine_builds_runs_saves_loads_tags_pushes_and_pulls() {
    let daemon = TestDaemon::start("{}");
    let docker = CliDocker::new(Some(daemon.host()));
    assert!(docker.describe().contains(&daemon.host()));
    assert!(!docker.info().unwrap().server_version.is_empty());

    // Missing images are absent, not errors; one image is NotFound.
    assert!(docker.inspect(&["jdtest-none:1"]).unwrap().is_empty());
    assert!(matches!(docker.inspect_one("jdtest-none:1"), Err(DockerError::NotFound { .. })));

    let id = busybox_image(&daemon, &docker, "jdtest-a:1");
    let img = docker.inspect_one("jdtest-a:1").unwrap();
    assert_eq!(img.id, id);
    assert_eq!(img.label("io.jetdoc.test"), Some("a\nLABEL injected=1"));
    assert_eq!(img.label("injected"), None);
    docker.tag("jdtest-a:1", "jdtest-a:2").unwrap();
    let mut listed = docker.image_list(&["jdtest-a"]).unwrap();
    listed.sort();
    assert_eq!(listed, vec!["jdtest-a:1", "jdtest-a:2"]);

    // run: arguments, environment and mounts arrive exactly; the command's exit status is data.
    let data = daemon.dir.path().join("in,put");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::write(data.join("f"), "mounted\n").unwrap();
    let out = docker
        .run(&RunSpec {
            image: "jdtest-a:1".into(),
            command: vec!["sh".into(), "-c".into(), "echo \"$GREETING\"; cat /in/f; exit 3".into()],
            env: vec![("GREETING".into(), "hi $HOME; `x`".into())],
            mounts: vec![Mount { source: data.display().to_string(), target: "/in".into(), read_only: true }],
            network: Some("none".into()),
            remove: true,
            ..RunSpec::default()
        })
        .unwrap();
    assert_eq!((out.exit_code, out.stdout.as_str()), (3, "hi $HOME; `x`\nmounted\n"), "{}", out.stderr);

    // A run past its timeout is stopped and its container removed.
    let err = docker
        .run(&RunSpec {
            image: "jdtest-a:1".into(),
            command: vec!["sleep".into(), "60".into()],
            name: Some("jdtest-slow".into()),
            network: Some("none".into()),
            timeout: Some(std::time::Duration::from_secs(3)),
            ..RunSpec::default()
        })
        .unwrap_err();
    assert!(matches!(err, DockerError::TimedOut { .. }), "{err}");
    assert!(!daemon.docker_ok(&["ps", "-a", "--format", "{{.Names}}"]).contains("jdtest-slow"));

    // Docker cannot start the container: Err, with Docker's words once.
    let err = docker
        .run(&RunSpec {
            image: "jdtest-a:1".into(),
            command: vec!["/no/such/program".into()],
            network: Some("none".into()),
            remove: true,
            ..RunSpec::default()
        })
        .map(|o| o.exit_code);
    // Docker reports a missing program as 127 (container command) or 125/126 (runtime): both
    // are answers; only 125 is an Err.
    match err {
        Ok(code) => assert!(code == 127 || code == 126, "{code}"),
        Err(e) => assert!(e.to_string().matches("no such file").count() <= 1, "{e}"),
    }

    // save streams a tar; load takes it back.
    let mut stream = docker.save("jdtest-a:1").unwrap();
    let mut saved = Vec::new();
    stream.read_to_end(&mut saved).unwrap();
    stream.finish().unwrap();
    let names: Vec<String> = tar::Archive::new(&saved[..])
        .entries()
        .unwrap()
        .map(|e| e.unwrap().path().unwrap().display().to_string())
        .collect();
    assert!(names.contains(&"manifest.json".to_string()), "{names:?}");
    docker.remove_image("jdtest-a:1", false).unwrap();
    docker.remove_image("jdtest-a:2", false).unwrap();
    assert!(docker.inspect(&[&id]).unwrap().is_empty());
    let mut load = docker.load().unwrap();
    load.write_all(&saved).unwrap();
    let loaded = load.finish().unwrap();
    assert_eq!(loaded.images, vec!["jdtest-a:1"]);
    assert_eq!(docker.inspect_one("jdtest-a:1").unwrap().id, id);

    // push and pull through a real registry on loopback.
    let registry = TestRegistry::start();
    let remote = format!("{}/jdtest/a:1", registry.addr);
    docker.tag("jdtest-a:1", &remote).unwrap();
    let pushed = std::cell::RefCell::new(Vec::new());
    docker.push(&remote, &|l: &str| pushed.borrow_mut().push(l.to_string())).unwrap();
    assert!(pushed.borrow().iter().any(|l| l.contains("digest: sha256:")), "{:?}", pushed.borrow());
    docker.remove_image(&remote, false).unwrap();
    docker.remove_image("jdtest-a:1", false).unwrap();
    docker.pull(&remote, None, &|_: &str| {}).unwrap();
    assert_eq!(docker.inspect_one(&remote).unwrap().id, id);
    let err = docker.pull(&format!("{}/jdtest/none:1", registry.addr), None, &|_: &str| {}).unwrap_err();
    let text = err.to_string();
    assert!(text.contains("not found") || text.contains("manifest unknown"), "{text}");
    assert!(!text.contains("exited with"), "{text}");
}

fn a_failing_docker_save_says_why_once() {
    let daemon = TestDaemon::start("{}");
    let docker = CliDocker::new(Some(daemon.host()));
    // Nothing by that name: Docker fails before writing a byte.
    let mut stream = docker.save("jdtest-none:1").unwrap();
    let mut saved = Vec::new();
    stream.read_to_end(&mut saved).unwrap();
    assert!(saved.is_empty());
    let err = stream.finish().unwrap_err().to_string();
    assert!(err.starts_with("`docker save jdtest-none:1` failed (exit 1): "), "{err}");
    assert_eq!(err.matches("Error response from daemon").count(), 1, "{err}");
    assert!(!err.contains("exited with code"), "{err}");

    // An image whose layer data is gone from the daemon's storage: inspect still answers,
    // `docker save` fails. `image doctor` and `image flatten` print Docker's reason once.
    busybox_image(&daemon, &docker, "jdtest-broken:1");
    let upper =
        daemon.docker_ok(&["image", "inspect", "-f", "{{.GraphDriver.Data.UpperDir}}", "jdtest-broken:1"]);
    let upper = Path::new(upper.trim());
    assert!(upper.starts_with(daemon.dir.path()), "{}", upper.display());
    std::fs::remove_dir_all(upper).unwrap();
    for args in [
        vec!["image", "doctor", "jdtest-broken:1"],
        vec!["image", "flatten", "jdtest-broken:1", "-t", "jdtest-broken:flat"],
    ] {
        let out = support::run(support::jetdoc().env("DOCKER_HOST", daemon.host()).args(&args));
        let err = support::stderr(&out);
        assert_ne!(out.status.code(), Some(0), "{args:?}: {err}");
        assert_eq!(err.matches("`docker save jdtest-broken:1` failed").count(), 1, "{args:?}: {err}");
        assert_eq!(err.matches("Error response from daemon").count(), 1, "{args:?}: {err}");
        assert!(!err.contains("exited with code") && !err.contains("manifest.json"), "{args:?}: {err}");
    }
}

fn a_foreign_root_has_no_daemon_and_says_so() {
    let root = support::fixtures_dir().join("image-select/agx-orin-r36.4.3");
    for args in [
        vec!["image", "doctor", "x:1"],
        vec!["image", "flatten", "x:1", "-t", "y:1"],
        vec!["image", "build", "--profile", "locomotion", "--base", "x:1", "--dry-run"],
    ] {
        let out = support::run(support::jetdoc().arg("--root").arg(&root).args(&args));
        let err = support::stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(
            err.contains("inspecting another root filesystem")
                && err.contains("no Docker daemon of that root runs here"),
            "{args:?}: {err}"
        );
    }
}
