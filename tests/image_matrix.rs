//! `jetdoc image matrix` and the DinD entrypoint of its images: the dry-run plan (the JSON a CI
//! pipeline reads), the emitted Dockerfiles, file errors, and with a real, test-owned Docker
//! daemon and registry: builds of every variant on stand-in bases (arm64 under qemu), smoke
//! tests, tags, pushes and image indexes; the entrypoint with a stand-in and with a real dockerd.

#![allow(clippy::disallowed_methods, reason = "tests drive the real binary and the real tools")]
#![allow(clippy::print_stderr, reason = "what the build printed and how long it took, for the test log")]

mod support;

support::harness!(
    dry_run_json_is_the_plan_a_ci_pipeline_reads,
    the_jetson_variant_is_resolved_for_the_detected_or_chosen_l4t,
    the_human_plan_names_every_variant_and_tag,
    emitted_dockerfiles_are_complete_build_contexts,
    a_bad_matrix_file_or_tag_is_refused_with_where_and_why,
    the_entrypoint_passes_shellcheck,
    the_entrypoint_starts_dockerd_with_tls_rootless_or_not_at_all,
    the_entrypoint_runs_a_real_dockerd_with_tls,
    the_builtin_matrix_builds_smoke_tests_tags_and_pushes,
    hostile_label_and_env_values_cannot_inject_into_the_dockerfile,
);

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use support::dockerd::TestDaemon;

const ENTRYPOINT: &str = "contrib/dind/entrypoint.sh";

/// jetdoc with no CI metadata from the environment this test runs in.
fn jetdoc() -> Command {
    let mut c = support::jetdoc();
    for k in [
        "CI",
        "GITHUB_SHA",
        "GITHUB_REF_TYPE",
        "GITHUB_REF_NAME",
        "GITHUB_SERVER_URL",
        "GITHUB_REPOSITORY",
        "CI_COMMIT_SHA",
        "CI_COMMIT_TAG",
        "CI_PROJECT_URL",
        "SOURCE_DATE_EPOCH",
    ] {
        c.env_remove(k);
    }
    c
}

fn json_of(o: &Output) -> Value {
    serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}\n{}", support::stdout(o), support::stderr(o)))
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array().unwrap().iter().map(|s| s.as_str().unwrap().to_string()).collect()
}

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

// ---- the plan ---------------------------------------------------------------------------------

/// The CI contract: with GitHub Actions' environment, every variant and every reference.
fn dry_run_json_is_the_plan_a_ci_pipeline_reads() {
    let o = support::run(
        jetdoc()
            .args([
                "image",
                "matrix",
                "edge-node",
                "--dry-run",
                "--format",
                "json",
                "--push",
                "registry.example.com/robots",
            ])
            .env("CI", "true")
            .env("GITHUB_SHA", "9fceb02d0ae598e95dc970b74767f19372d61af8")
            .env("GITHUB_REF_TYPE", "tag")
            .env("GITHUB_REF_NAME", "v2.1.0")
            .env("GITHUB_SERVER_URL", "https://github.com")
            .env("GITHUB_REPOSITORY", "acme/edge-node")
            .env("SOURCE_DATE_EPOCH", "1751328000"),
    );
    assert_eq!(o.status.code(), Some(0), "{}", support::stderr(&o));
    let p = json_of(&o);
    assert_eq!(p["schema"], 1);
    assert_eq!(p["dry_run"], true);
    assert_eq!(p["meta"]["sha"], "9fceb02d0ae598e95dc970b74767f19372d61af8");
    assert_eq!(p["meta"]["version"], "2.1.0");
    assert_eq!(p["meta"]["date"], "2025-07-01");
    assert_eq!(p["meta"]["created"], "2025-07-01T00:00:00Z");
    let names: Vec<&str> =
        p["variants"].as_array().unwrap().iter().map(|v| v["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "base_edge_node_amd64_gpu",
            "base_edge_node_amd64_cpu",
            "base_edge_node_arm64_cpu",
            "base_edge_node_arm64_tegra"
        ]
    );
    let r = "registry.example.com/robots";
    let gpu = &p["variants"][0];
    assert_eq!(
        strings(&gpu["images"]),
        [
            format!("{r}/base_edge_node_amd64_gpu:amd64-py3.13-th2.8.0-dind"),
            format!("{r}/base_edge_node_amd64_gpu:latest"),
            format!("{r}/base_edge_node_amd64_gpu:sha-9fceb02"),
            format!("{r}/base_edge_node_amd64_gpu:20250701"),
            format!("{r}/base_edge_node_amd64_gpu:v2.1.0"),
        ]
    );
    assert_eq!(gpu["labels"]["org.opencontainers.image.source"], "https://github.com/acme/edge-node");
    assert_eq!(
        gpu["labels"]["org.opencontainers.image.revision"],
        "9fceb02d0ae598e95dc970b74767f19372d61af8"
    );
    assert_eq!(gpu["labels"]["org.opencontainers.image.version"], "2.1.0");
    let tegra = &p["variants"][3];
    assert_eq!(tegra["tags"][0], "arm64-py3.10-th2.8.0-tr10.3-dind");
    assert_eq!(tegra["labels"]["io.jetdoc.tensorrt"], "10.3");
    assert_eq!(tegra["jetson"]["l4t_from"], "matrix");
    let indexes: Vec<&str> =
        p["indexes"].as_array().unwrap().iter().map(|i| i["image"].as_str().unwrap()).collect();
    assert_eq!(
        indexes,
        [
            format!("{r}/base_edge_node_cpu:latest"),
            format!("{r}/base_edge_node_cpu:sha-9fceb02"),
            format!("{r}/base_edge_node_cpu:20250701"),
            format!("{r}/base_edge_node_cpu:v2.1.0"),
        ]
    );
    // `images` is every reference: each variant's own, then the indexes.
    let all = strings(&p["images"]);
    assert_eq!(all.len(), 26);
    assert!(all.contains(&format!("{r}/base_edge_node_cpu:arm64-py3.13-th2.8.0-dind")));
    assert!(all.iter().all(|i| i.starts_with(r)));
}

/// The Jetson variant follows the L4T of `--root` (a JetPack 6.0 device: CUDA 12.2, TensorRT 8.6),
/// and `--l4t` wins over it.
fn the_jetson_variant_is_resolved_for_the_detected_or_chosen_l4t() {
    let root = support::fixtures_dir().join("sysroots/orin-nano-r36.3.0");
    let plan = |extra: &[&str]| {
        let o = support::run(
            jetdoc()
                .args([
                    "image",
                    "matrix",
                    "edge-node",
                    "--dry-run",
                    "--format",
                    "json",
                    "--only",
                    "base_edge_node_arm64_tegra",
                ])
                .args(extra),
        );
        assert_eq!(o.status.code(), Some(0), "{}", support::stderr(&o));
        json_of(&o)["variants"][0].clone()
    };
    let v = plan(&["--root", root.to_str().unwrap()]);
    assert_eq!(v["jetson"]["l4t_from"], "detected");
    assert_eq!(v["jetson"]["l4t"], "36.3.0");
    assert_eq!(v["base"], "nvcr.io/nvidia/l4t-jetpack:r36.3.0");
    assert_eq!(v["tags"][0], "arm64-py3.10-th2.8.0-tr8.6-dind");
    assert_eq!(v["labels"]["io.jetdoc.cuda"], "12.2");
    assert!(v["torch_index"].as_str().unwrap().contains("/jp6/cu122/"));
    let v = plan(&["--root", root.to_str().unwrap(), "--l4t", "36.4.3"]);
    assert_eq!(v["jetson"]["l4t_from"], "flag");
    assert_eq!(
        (v["jetson"]["jetpack"].as_str(), v["jetson"]["base_jetpack"].as_str()),
        (Some("6.2"), Some("6.1"))
    );
    assert_eq!(v["tags"][0], "arm64-py3.10-th2.8.0-tr10.3-dind");
}

fn the_human_plan_names_every_variant_and_tag() {
    let o =
        support::run(jetdoc().args(["image", "matrix", "edge-node", "--dry-run", "--git-sha", "abcdef1234"]));
    assert_eq!(o.status.code(), Some(0), "{}", support::stderr(&o));
    let out = support::stdout(&o);
    assert!(
        out.starts_with("matrix edge-node (builtin:edge-node): 4 variants, 16 image references\n"),
        "{out}"
    );
    for line in [
        "base_edge_node_arm64_tegra  linux/arm64  tegra",
        "  base    nvcr.io/nvidia/l4t-jetpack:r36.4.0 (L4T 36.4.0, JetPack 6.1, Ubuntu 22.04; for L4T 36.4.0 from the matrix file)",
        "  tags    base_edge_node_amd64_gpu:amd64-py3.13-th2.8.0-dind",
        "          base_edge_node_amd64_gpu:sha-abcdef1",
        "  base_edge_node_cpu:latest  linux/amd64 (base_edge_node_amd64_cpu) + linux/arm64 (base_edge_node_arm64_cpu)",
    ] {
        assert!(out.contains(line), "missing {line:?} in\n{out}");
    }
    assert!(out.contains("image indexes (made in the registry with --push)"), "{out}");
}

fn emitted_dockerfiles_are_complete_build_contexts() {
    let dir = tempfile::tempdir().unwrap();
    let o = support::run(
        jetdoc()
            .args([
                "image",
                "matrix",
                "edge-node",
                "--dry-run",
                "--format",
                "json",
                "--python-fallback",
                "--emit-dockerfiles",
            ])
            .arg(dir.path()),
    );
    assert_eq!(o.status.code(), Some(0), "{}", support::stderr(&o));
    let p = json_of(&o);
    for v in p["variants"].as_array().unwrap() {
        let name = v["name"].as_str().unwrap();
        let ctx = dir.path().join(name);
        assert_eq!(v["dockerfile"].as_str().unwrap(), ctx.join("Dockerfile").to_str().unwrap());
        let dockerfile = std::fs::read_to_string(ctx.join("Dockerfile")).unwrap();
        assert!(dockerfile.contains(&format!("FROM {}\n", v["base"].as_str().unwrap())), "{dockerfile}");
        for f in [
            "jetdoc/torch.txt",
            "jetdoc/requirements.txt",
            "jetdoc/constraints.txt",
            "jetdoc/smoke.py",
            "dind-entrypoint.sh",
        ] {
            assert!(ctx.join(f).is_file(), "{name}: {f} missing");
        }
        let entry = std::fs::read(ctx.join("dind-entrypoint.sh")).unwrap();
        assert_eq!(entry, std::fs::read(repo_root().join(ENTRYPOINT)).unwrap());
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(ctx.join("dind-entrypoint.sh")).unwrap().permissions().mode() & 0o777,
            0o755
        );
    }
    // --python-fallback: Ubuntu 24.04's own Python for the generic variants; Jetson keeps its JetPack's.
    assert_eq!(p["variants"][1]["tags"][0], "amd64-py3.12-th2.8.0-dind");
    assert_eq!(p["variants"][3]["tags"][0], "arm64-py3.10-th2.8.0-tr10.3-dind");
}

fn a_bad_matrix_file_or_tag_is_refused_with_where_and_why() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.matrix.toml");
    let text = std::fs::read_to_string(repo_root().join("profiles/edge-node.matrix.toml")).unwrap().replace(
        "arch = \"arm64\"\nbase = \"arm64v8/ubuntu:24.04\"",
        "arch = \"arm64\"\nbase = \"arm64v8/ubuntu:24.04 AS evil\"",
    );
    std::fs::write(&bad, &text).unwrap();
    let line = text.lines().position(|l| l.contains("AS evil")).unwrap() + 1;
    let o = support::run(jetdoc().args(["image", "matrix"]).arg(&bad).arg("--dry-run"));
    assert_eq!(o.status.code(), Some(2));
    let err = support::stderr(&o);
    assert!(
        err.contains(&format!("bad.matrix.toml:{line}:8: variant `base_edge_node_arm64_cpu`: base:")),
        "{err}"
    );

    let o = support::run(jetdoc().args([
        "image",
        "matrix",
        "edge-node",
        "--dry-run",
        "--version",
        "v1.0.0+build.7",
    ]));
    assert_eq!(o.status.code(), Some(2));
    assert!(support::stderr(&o).contains("`+` is not allowed"), "{}", support::stderr(&o));
    let o = support::run(jetdoc().args([
        "image",
        "matrix",
        "edge-node",
        "--dry-run",
        "--only",
        "base_edge_node_riscv",
    ]));
    assert_eq!(o.status.code(), Some(2));
    assert!(
        support::stderr(&o).contains("no variant named `base_edge_node_riscv`"),
        "{}",
        support::stderr(&o)
    );
    // A timeout past a day (u64::MAX seconds overflowed the deadline) or of zero is refused by name.
    for secs in ["18446744073709551615", "0"] {
        let o = support::run(jetdoc().args([
            "image",
            "matrix",
            "edge-node",
            "--dry-run",
            "--smoke-timeout",
            secs,
        ]));
        assert_eq!(o.status.code(), Some(2));
        assert!(support::stderr(&o).contains("--smoke-timeout"), "{}", support::stderr(&o));
    }
    let o = support::run(jetdoc().args(["image", "matrix", "edge-node", "--dry-run", "--push", "team"]));
    assert_eq!(o.status.code(), Some(2));
    assert!(support::stderr(&o).contains("Docker Hub namespace"), "{}", support::stderr(&o));
}

// ---- the DinD entrypoint ----------------------------------------------------------------------

fn the_entrypoint_passes_shellcheck() {
    support::require(which::which("shellcheck").is_ok(), "shellcheck (Debian package shellcheck)");
    let o = Command::new("shellcheck").args(["-s", "sh"]).arg(repo_root().join(ENTRYPOINT)).output().unwrap();
    assert!(o.status.success(), "{}", support::stdout(&o));
}

/// Copies `binary` and the shared libraries `ldd` names for it into `root`, at their paths.
fn copy_with_libs(binary: &Path, root: &Path, dest: &str) {
    let target = root.join(dest.trim_start_matches('/'));
    std::fs::create_dir_all(target.parent().unwrap()).unwrap();
    std::fs::copy(binary, &target).unwrap();
    let ldd = Command::new("ldd").arg(binary).output().unwrap();
    for lib in String::from_utf8_lossy(&ldd.stdout).split_whitespace().filter(|w| w.starts_with('/')) {
        let to = root.join(lib.trim_start_matches('/'));
        if !to.exists() {
            std::fs::create_dir_all(to.parent().unwrap()).unwrap();
            std::fs::copy(std::fs::canonicalize(lib).unwrap(), &to).unwrap();
        }
    }
}

fn write_exec(path: &Path, text: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// A `FROM scratch` image with busybox, the host's openssl and the entrypoint; `extra` adds
/// files to its context first.
fn entrypoint_image(daemon: &TestDaemon, tag: &str, extra: impl FnOnce(&Path)) {
    let ctx = daemon.dir.path().join(format!("ctx-{}", tag.replace([':', '/'], "-")));
    support::require(support::dockerd::busybox_context(&ctx.join("bin")).is_some(), "busybox-static");
    let openssl = which::which("openssl");
    support::require(openssl.is_ok(), "openssl");
    copy_with_libs(&openssl.unwrap(), &ctx, "/usr/bin/openssl");
    // openssl reads its default configuration file on every `req`.
    for conf in ["/usr/lib/ssl/openssl.cnf", "/etc/ssl/openssl.cnf"] {
        if let Ok(c) = std::fs::canonicalize(conf) {
            let to = ctx.join(conf.trim_start_matches('/'));
            std::fs::create_dir_all(to.parent().unwrap()).unwrap();
            std::fs::copy(c, to).unwrap();
        }
    }
    std::fs::copy(repo_root().join(ENTRYPOINT), ctx.join("dind-entrypoint.sh")).unwrap();
    extra(&ctx);
    std::fs::write(
        ctx.join("Dockerfile"),
        "FROM scratch\nCOPY . /\nRUN [\"/bin/busybox\", \"--install\", \"-s\", \"/bin\"]\n\
         RUN mkdir -p /tmp /var/run /var/lib /home/dev /usr/local/bin && chmod 1777 /tmp && chmod 755 /dind-entrypoint.sh \
         && printf 'root:x:0:0:root:/root:/bin/sh\\ndev:x:1000:1000::/home/dev:/bin/sh\\nnosub:x:1001:1001::/tmp:/bin/sh\\n' > /etc/passwd \
         && printf 'root:x:0:\\n' > /etc/group && chown 1000:1000 /home/dev\n\
         ENV PATH=/usr/local/bin:/bin:/usr/bin:/sbin:/usr/sbin\n\
         ENTRYPOINT [\"/dind-entrypoint.sh\"]\n",
    )
    .unwrap();
    let out = Command::new("docker")
        .env("DOCKER_HOST", daemon.host())
        .env("DOCKER_BUILDKIT", "0")
        .args(["build", "-q", "--network", "none", "-t", tag])
        .arg(&ctx)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", support::stderr(&out));
}

fn docker_run(daemon: &TestDaemon, args: &[&str]) -> Output {
    Command::new("docker")
        .env("DOCKER_HOST", daemon.host())
        .args(["run", "--rm", "--network", "none"])
        .args(args)
        .output()
        .unwrap()
}

/// `docker run -i`: `input` on the container's stdin.
fn docker_run_stdin(daemon: &TestDaemon, args: &[&str], input: &str) -> Output {
    use std::io::Write as _;
    let mut child = Command::new("docker")
        .env("DOCKER_HOST", daemon.host())
        .args(["run", "--rm", "-i", "--network", "none"])
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    child.wait_with_output().unwrap()
}

/// The entrypoint with a stand-in `dockerd` that records its arguments (and a `docker` that
/// answers once it runs): no daemon is needed to check what the script starts and how.
fn the_entrypoint_starts_dockerd_with_tls_rootless_or_not_at_all() {
    let daemon = TestDaemon::start("{}");
    let standin = r#"#!/bin/sh
# stand-in: records how it was started, answers until TERM
[ -z "${STANDIN_FAIL:-}" ] || { echo "failed to mount overlay: operation not permitted" >&2; exit 1; }
printf '%s\n' "$0" "$@" > /out/dockerd.args
echo "${DOCKERD_ROOTLESS_ROOTLESSKIT_FLAGS:-}" > /out/rootlesskit.flags
trap 'echo stopped > /out/dockerd.stopped; exit 0' TERM
touch /tmp/dockerd.ready
while :; do sleep 0.1; done
"#;
    entrypoint_image(&daemon, "jdmx-entry:1", |ctx| {
        write_exec(&ctx.join("usr/local/bin/dockerd"), standin);
        write_exec(&ctx.join("usr/local/bin/dockerd-rootless.sh"), standin);
        write_exec(&ctx.join("usr/local/bin/rootlesskit"), "#!/bin/sh\nexit 0\n");
        write_exec(&ctx.join("usr/local/bin/fuse-overlayfs"), "#!/bin/sh\nexit 0\n");
        write_exec(&ctx.join("usr/local/bin/docker"), "#!/bin/sh\n[ -e /tmp/dockerd.ready ]\n");
        std::fs::create_dir_all(ctx.join("etc")).unwrap();
        std::fs::write(ctx.join("etc/subuid"), "dev:100000:65536\n").unwrap();
    });
    let work = daemon.dir.path().join("entry-work");
    let fresh = |name: &str| {
        let d = work.join(name);
        std::fs::create_dir_all(&d).unwrap();
        std::fs::set_permissions(&d, std::os::unix::fs::PermissionsExt::from_mode(0o777)).unwrap();
        d
    };
    let vol = |d: &Path, at: &str| format!("{}:{at}", d.display());
    let args = |d: &Path| std::fs::read_to_string(d.join("dockerd.args")).unwrap_or_default();

    // Without EE_DD the command is exec'd: it is PID 1 and no daemon starts.
    let out = fresh("off");
    let o = docker_run(&daemon, &["-v", &vol(&out, "/out"), "jdmx-entry:1", "sh", "-c", "echo pid=$$"]);
    assert_eq!(
        (o.status.code(), support::stdout(&o).as_str()),
        (Some(0), "pid=1\n"),
        "{}",
        support::stderr(&o)
    );
    assert!(!out.join("dockerd.args").exists());

    // EE_DD=true as root: certificates, dockerd with TLS on 2376 and the socket, the command's
    // exit status, the daemon stopped afterwards.
    let (out, certs) = (fresh("tls"), fresh("certs"));
    let o = docker_run(
        &daemon,
        &[
            "-e",
            "EE_DD=true",
            "-v",
            &vol(&out, "/out"),
            "-v",
            &vol(&certs, "/certs"),
            "jdmx-entry:1",
            "sh",
            "-c",
            "echo host=$DOCKER_HOST; exit 3",
        ],
    );
    let err = support::stderr(&o);
    assert_eq!(o.status.code(), Some(3), "{err}");
    assert_eq!(support::stdout(&o), "host=unix:///var/run/docker.sock\n");
    assert_eq!(
        args(&out),
        "/usr/local/bin/dockerd\n--host=unix:///var/run/docker.sock\n--host=tcp://0.0.0.0:2376\n--tlsverify\n\
         --tlscacert=/certs/server/ca.pem\n--tlscert=/certs/server/cert.pem\n--tlskey=/certs/server/key.pem\n"
    );
    assert_eq!(std::fs::read_to_string(out.join("dockerd.stopped")).unwrap(), "stopped\n");
    for line in [
        "generating a CA in /certs/ca",
        "generating the server certificate",
        "dockerd is up (unix:///var/run/docker.sock)",
    ] {
        assert!(err.contains(line), "{line}: {err}");
    }
    let verify = Command::new("openssl")
        .args(["verify", "-CAfile"])
        .arg(certs.join("ca/cert.pem"))
        .arg(certs.join("server/cert.pem"))
        .arg(certs.join("client/cert.pem"))
        .output()
        .unwrap();
    assert!(verify.status.success(), "{}", support::stdout(&verify));
    let text = |p: &str| {
        let o = Command::new("openssl")
            .args(["x509", "-noout", "-text", "-in"])
            .arg(certs.join(p))
            .output()
            .unwrap();
        support::stdout(&o)
    };
    let server = text("server/cert.pem");
    assert!(
        server.contains("DNS:docker, DNS:localhost") && server.contains("IP Address:127.0.0.1"),
        "{server}"
    );
    assert!(server.contains("TLS Web Server Authentication"));
    assert!(text("client/cert.pem").contains("TLS Web Client Authentication"));
    let key_mode = std::fs::metadata(certs.join("server/key.pem")).unwrap().permissions();
    assert_eq!(std::os::unix::fs::PermissionsExt::mode(&key_mode) & 0o077, 0, "the server key is private");
    // Certificates that exist are kept.
    let before = std::fs::read(certs.join("server/cert.pem")).unwrap();
    let o = docker_run(
        &daemon,
        &["-e", "EE_DD=true", "-v", &vol(&out, "/out"), "-v", &vol(&certs, "/certs"), "jdmx-entry:1", "true"],
    );
    assert_eq!(o.status.code(), Some(0));
    assert!(!support::stderr(&o).contains("generating"), "{}", support::stderr(&o));
    assert_eq!(std::fs::read(certs.join("server/cert.pem")).unwrap(), before);

    // The command reads the container's stdin (`docker run -it IMAGE` gives a working shell),
    // not the /dev/null a shell gives a command it runs in the background.
    let out = fresh("stdin");
    let o = docker_run_stdin(
        &daemon,
        &[
            "-e",
            "EE_DD=true",
            "-e",
            "DOCKER_TLS_CERTDIR=",
            "-v",
            &vol(&out, "/out"),
            "jdmx-entry:1",
            "sh",
            "-c",
            "read -r l; echo got=$l",
        ],
        "typed in\n",
    );
    assert_eq!(
        (o.status.code(), support::stdout(&o).as_str()),
        (Some(0), "got=typed in\n"),
        "{}",
        support::stderr(&o)
    );

    // DOCKER_TLS_CERTDIR empty: no TLS and no TCP listener at all.
    let out = fresh("notls");
    let o = docker_run(
        &daemon,
        &["-e", "EE_DD=true", "-e", "DOCKER_TLS_CERTDIR=", "-v", &vol(&out, "/out"), "jdmx-entry:1", "true"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", support::stderr(&o));
    assert_eq!(args(&out), "/usr/local/bin/dockerd\n--host=unix:///var/run/docker.sock\n");

    // A user with a subordinate id range: rootless, the TCP port published through rootlesskit,
    // fuse-overlayfs when /dev/fuse is there.
    let fuse = Path::new("/dev/fuse").exists();
    let (out, certs) = (fresh("rootless"), fresh("certs-rootless"));
    let mut run = vec!["-e", "EE_DD=true", "--user", "1000:1000", "-e", "HOME=/home/dev"];
    if fuse {
        run.extend(["--device", "/dev/fuse"]);
    }
    let (vo, vc) = (vol(&out, "/out"), vol(&certs, "/certs"));
    run.extend(["-v", &vo, "-v", &vc, "jdmx-entry:1", "sh", "-c", "echo host=$DOCKER_HOST"]);
    let o = docker_run(&daemon, &run);
    assert_eq!(o.status.code(), Some(0), "{}", support::stderr(&o));
    assert_eq!(support::stdout(&o), "host=unix:///tmp/docker-1000/docker.sock\n");
    let a = args(&out);
    assert!(a.starts_with("/usr/local/bin/dockerd-rootless.sh\n--host=unix:///tmp/docker-1000/docker.sock\n--host=tcp://0.0.0.0:2376\n--tlsverify\n"), "{a}");
    assert_eq!(a.contains("--storage-driver=fuse-overlayfs"), fuse, "{a}");
    assert_eq!(
        std::fs::read_to_string(out.join("rootlesskit.flags")).unwrap().trim(),
        "-p 0.0.0.0:2376:2376/tcp"
    );

    // A user without one: refused, saying what is missing.
    let o = docker_run(&daemon, &["-e", "EE_DD=true", "--user", "1001:1001", "jdmx-entry:1", "true"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        support::stderr(&o).contains("user nosub has no range in /etc/subuid"),
        "{}",
        support::stderr(&o)
    );

    // A daemon that cannot start: its log and the way out, not a hang.
    let out = fresh("fail");
    let o = docker_run(
        &daemon,
        &["-e", "EE_DD=true", "-e", "STANDIN_FAIL=1", "-v", &vol(&out, "/out"), "jdmx-entry:1", "true"],
    );
    assert_eq!(o.status.code(), Some(1));
    let err = support::stderr(&o);
    assert!(err.contains("failed to mount overlay") && err.contains("--privileged"), "{err}");
}

const CAP_NAMES: [&str; 41] = [
    "CHOWN",
    "DAC_OVERRIDE",
    "DAC_READ_SEARCH",
    "FOWNER",
    "FSETID",
    "KILL",
    "SETGID",
    "SETUID",
    "SETPCAP",
    "LINUX_IMMUTABLE",
    "NET_BIND_SERVICE",
    "NET_BROADCAST",
    "NET_ADMIN",
    "NET_RAW",
    "IPC_LOCK",
    "IPC_OWNER",
    "SYS_MODULE",
    "SYS_RAWIO",
    "SYS_CHROOT",
    "SYS_PTRACE",
    "SYS_PACCT",
    "SYS_ADMIN",
    "SYS_BOOT",
    "SYS_NICE",
    "SYS_RESOURCE",
    "SYS_TIME",
    "SYS_TTY_CONFIG",
    "MKNOD",
    "LEASE",
    "AUDIT_WRITE",
    "AUDIT_CONTROL",
    "SETFCAP",
    "MAC_OVERRIDE",
    "MAC_ADMIN",
    "SYSLOG",
    "WAKE_ALARM",
    "BLOCK_SUSPEND",
    "AUDIT_READ",
    "PERFMON",
    "BPF",
    "CHECKPOINT_RESTORE",
];

/// Capabilities this process's bounding set lacks (jetdoc's tests may run inside a container
/// that cannot grant `--privileged`).
fn missing_caps() -> Vec<&'static str> {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let bnd = status
        .lines()
        .find_map(|l| l.strip_prefix("CapBnd:"))
        .and_then(|h| u64::from_str_radix(h.trim(), 16).ok())
        .unwrap_or(u64::MAX);
    CAP_NAMES.iter().enumerate().filter(|(i, _)| bnd & (1 << i) == 0).map(|(_, n)| *n).collect()
}

/// The entrypoint with a real dockerd (the host's engine binaries in a busybox image): the
/// daemon answers on its socket, and on TCP only to a client holding the generated certificate.
fn the_entrypoint_runs_a_real_dockerd_with_tls() {
    let daemon = TestDaemon::start("{}");
    let bins = ["dockerd", "containerd", "containerd-shim-runc-v2", "runc", "docker", "docker-init"];
    let found: Vec<_> = bins.iter().map(which::which).collect();
    support::require(found.iter().all(|f| f.is_ok()), "the Docker engine binaries (docker.io)");
    entrypoint_image(&daemon, "jdmx-entry-real:1", |ctx| {
        for (b, path) in bins.iter().zip(&found) {
            copy_with_libs(path.as_ref().unwrap(), ctx, &format!("/usr/local/bin/{b}"));
        }
    });
    let script = "docker version --format 'server {{.Server.Version}}' \
        && docker --tlsverify -H tcp://127.0.0.1:2376 --tlscacert /certs/client/ca.pem --tlscert /certs/client/cert.pem \
           --tlskey /certs/client/key.pem info --format 'tls client: ok' \
        && { docker -H tcp://127.0.0.1:2376 version >/tmp/plain 2>&1; tail -n1 /tmp/plain; } \
        && { docker --tlsverify -H tcp://127.0.0.1:2376 --tlscacert /certs/client/ca.pem version >/tmp/nocert 2>&1; \
             grep -q 'tls: bad certificate' /tmp/nocert && echo 'no client certificate: refused'; }; exit 7";
    let common = [
        "-e",
        "EE_DD=true",
        "-e",
        "EE_DD_ARGS=--iptables=false --bridge=none",
        "jdmx-entry-real:1",
        "sh",
        "-c",
        script,
    ];
    let mut o = docker_run(&daemon, &[&["--privileged"][..], &common].concat());
    let mut how = "--privileged".to_string();
    if !o.status.success() && support::stderr(&o).contains("apply caps") {
        // This machine is itself a container without some capabilities: grant what it has.
        let missing = missing_caps();
        let mut args = vec![
            "--cap-add",
            "ALL",
            "--security-opt",
            "seccomp=unconfined",
            "--security-opt",
            "apparmor=unconfined",
        ];
        for c in &missing {
            args.extend(["--cap-drop", c]);
        }
        how = format!("--cap-add ALL --cap-drop {} (this machine lacks them), unconfined", missing.join(","));
        args.extend(common);
        o = docker_run(&daemon, &args);
    }
    eprintln!("real dockerd in a container started with {how}");
    let out = support::stdout(&o);
    assert_eq!(o.status.code(), Some(7), "{out}\n{}", support::stderr(&o));
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines[0].starts_with("server "), "{out}");
    assert_eq!(lines[1], "tls client: ok");
    assert!(lines[2].contains("Client sent an HTTP request to an HTTPS server"), "{out}");
    assert_eq!(lines[3], "no client certificate: refused");
}

// ---- building the matrix on stand-in bases ----------------------------------------------------

/// `apt-get` of the stand-in bases: records the call; installing `python3.N` (when the package
/// is known to this "distribution") makes `/usr/bin/python3.N`.
const STANDIN_APT_GET: &str = r#"#!/bin/sh
echo "apt-get $*" >> /var/log/standin.log
[ "$1" = install ] || exit 0
for p in "$@"; do
  case "$p" in
    python3.[0-9] | python3.[0-9][0-9])
      grep -qx "$p" /etc/standin/apt-known || { echo "E: Unable to locate package $p" >&2; exit 100; }
      ln -sf /usr/lib/standin/python "/usr/bin/$p" ;;
  esac
done
"#;
const STANDIN_APT_CACHE: &str = r#"#!/bin/sh
echo "apt-cache $*" >> /var/log/standin.log
[ "$1" = show ] && grep -qx "$2" /etc/standin/apt-known
"#;
/// The deadsnakes PPA adds Python 3.13 to Ubuntu 24.04.
const STANDIN_ADD_APT_REPOSITORY: &str = r#"#!/bin/sh
echo "add-apt-repository $*" >> /var/log/standin.log
case "$*" in *ppa:deadsnakes/ppa*) printf 'python3.13\npython3.13-venv\n' >> /etc/standin/apt-known ;; esac
"#;
/// `python3.N`, the venv's `python` and the smoke test's `python`, all in one.
const STANDIN_PYTHON: &str = r#"#!/bin/sh
me=$(basename "$0")
if [ "$1" = -m ] && [ "$2" = venv ]; then
  shift 2
  site=no
  if [ "$1" = --system-site-packages ]; then site=yes; shift; fi
  mkdir -p "$1/bin" && ln -sf /usr/lib/standin/python "$1/bin/python"
  echo "${me#python}" > "$1/standin-version"
  echo "venv $1 python=${me#python} system-site-packages=$site" >> /var/log/standin.log
  exit 0
fi
if [ "$1" = -m ] && [ "$2" = pip ]; then
  shift 2
  echo "pip $* PIP_CONSTRAINT=${PIP_CONSTRAINT:-}" >> /var/log/standin.log
  while [ $# -gt 0 ]; do
    if [ "$1" = -r ]; then sed 's/^/  requirement /' "$2" >> /var/log/standin.log; fi
    shift
  done
  exit 0
fi
if [ -e /etc/standin/smoke-fails ]; then
  echo "Traceback (most recent call last):" >&2
  echo "ModuleNotFoundError: No module named 'torch'" >&2
  exit 1
fi
echo "platform: Linux-stand-in $(uname -m)"
echo "python: $(cat /opt/venv/standin-version 2>/dev/null)"
echo "torch: $(sed -n 's/^torch==//p' /opt/jetdoc/torch.txt)"
echo "transformers: 4.56.0 (stand-in)"
echo "cuda: False None"
"#;

/// busybox for arm64 from Debian's busybox-static:arm64, extracted (cached under the target dir).
fn arm64_busybox() -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("jdmx-busybox-arm64");
    let bin = dir.join("bin/busybox");
    if bin.exists() {
        return Some(bin);
    }
    std::fs::create_dir_all(&dir).unwrap();
    let dl = Command::new("apt-get")
        .args(["download", "-q", "busybox-static:arm64"])
        .current_dir(&dir)
        .output()
        .ok()?;
    if !dl.status.success() {
        eprintln!("apt-get download busybox-static:arm64: {}", support::stderr(&dl));
        return None;
    }
    let deb = std::fs::read_dir(&dir)
        .ok()?
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|x| x == "deb"))?;
    let x = Command::new("dpkg-deb").arg("-x").arg(&deb).arg(&dir).status().ok()?;
    (x.success() && bin.exists()).then_some(bin)
}

/// qemu-user-static registered with binfmt_misc's F flag: the kernel runs arm64 binaries in
/// containers (the interpreter is opened at registration, so it works inside any mount namespace).
fn arm64_emulation() -> bool {
    std::fs::read_to_string("/proc/sys/fs/binfmt_misc/qemu-aarch64").is_ok_and(|s| {
        s.starts_with("enabled") && s.lines().any(|l| l.starts_with("flags:") && l.contains('F'))
    })
}

/// A `FROM scratch` busybox image standing for a large base: `apt-get`, `apt-cache`,
/// `add-apt-repository` and `python` stand-ins that record what the generated Dockerfile asks
/// of them. `apt_known` is what its "distribution" ships.
fn standin_base(
    daemon: &TestDaemon,
    tag: &str,
    platform: &str,
    busybox: &Path,
    apt_known: &[&str],
    smoke_fails: bool,
) {
    let ctx = daemon.dir.path().join(format!("base-{}", tag.replace([':', '/'], "-")));
    let root = ctx.join("rootfs");
    for d in
        ["bin", "usr/bin", "usr/lib/standin", "etc/standin", "var/log", "var/lib/apt/lists", "tmp", "opt"]
    {
        std::fs::create_dir_all(root.join(d)).unwrap();
    }
    std::fs::copy(busybox, root.join("bin/busybox")).unwrap();
    write_exec(&root.join("usr/bin/apt-get"), STANDIN_APT_GET);
    write_exec(&root.join("usr/bin/apt-cache"), STANDIN_APT_CACHE);
    write_exec(&root.join("usr/bin/add-apt-repository"), STANDIN_ADD_APT_REPOSITORY);
    write_exec(&root.join("usr/lib/standin/python"), STANDIN_PYTHON);
    std::fs::write(
        root.join("etc/standin/apt-known"),
        apt_known.iter().map(|p| format!("{p}\n")).collect::<String>(),
    )
    .unwrap();
    if smoke_fails {
        std::fs::write(root.join("etc/standin/smoke-fails"), "").unwrap();
    }
    std::fs::write(
        ctx.join("Dockerfile"),
        "FROM scratch\nCOPY rootfs/ /\nRUN [\"/bin/busybox\", \"--install\", \"-s\", \"/bin\"]\n\
         ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\nCMD [\"/bin/sh\"]\n",
    )
    .unwrap();
    let out = Command::new("docker")
        .env("DOCKER_HOST", daemon.host())
        .env("DOCKER_BUILDKIT", "0")
        .args(["build", "-q", "--network", "none", "--platform", platform, "-t", tag])
        .arg(&ctx)
        .output()
        .unwrap();
    assert!(out.status.success(), "stand-in {tag}: {}", support::stderr(&out));
}

/// The stand-ins for the built-in matrix's bases, under their real names. Needs a machine that
/// runs arm64 images (outside CI the test is reported ignored without one; CI must have it).
fn standin_bases(daemon: &TestDaemon) {
    let amd64 = support::dockerd::busybox_context(&daemon.dir.path().join("bb-amd64"));
    support::require(amd64.is_some(), "busybox-static");
    support::require(
        arm64_emulation(),
        "qemu-user-static registered with binfmt_misc's F flag (update-binfmts --enable qemu-aarch64)",
    );
    let arm = arm64_busybox();
    support::require(arm.is_some(), "busybox-static:arm64 (dpkg --add-architecture arm64; apt-get update)");
    let (amd64, arm) = (amd64.unwrap().join("busybox"), arm.unwrap());
    let noble = ["python3.12", "python3.12-venv"];
    standin_base(daemon, "amd64/ubuntu:24.04", "linux/amd64", &amd64, &noble, false);
    standin_base(daemon, "arm64v8/ubuntu:24.04", "linux/arm64", &arm, &noble, false);
    standin_base(
        daemon,
        "nvcr.io/nvidia/l4t-jetpack:r36.4.0",
        "linux/arm64",
        &arm,
        &["python3.10", "python3.10-venv"],
        false,
    );
}

fn registry_get(
    reg: &support::registry::TestRegistry,
    path: &str,
    accept: &str,
) -> (reqwest::header::HeaderMap, Value) {
    let r = reqwest::blocking::Client::new()
        .get(format!("http://{}/v2/{path}", reg.addr))
        .header("Accept", accept)
        .send()
        .unwrap();
    assert!(r.status().is_success(), "GET {path}: {}", r.status());
    let headers = r.headers().clone();
    (headers, r.json().unwrap())
}

fn registry_tags(reg: &support::registry::TestRegistry, repo: &str) -> Vec<String> {
    let (_, v) = registry_get(reg, &format!("{repo}/tags/list"), "application/json");
    let mut tags = strings(&v["tags"]);
    tags.sort();
    tags
}

const ANY_MANIFEST: &str = "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, \
application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.docker.distribution.manifest.v2+json";

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

/// The built-in matrix on stand-in bases: every variant builds (arm64 under qemu), gets exactly
/// its templated tags and labels, passes its smoke test, and is pushed with the image index of
/// the shared CPU name. Then a smoke-test failure with and without --keep-going.
fn the_builtin_matrix_builds_smoke_tests_tags_and_pushes() {
    let daemon = TestDaemon::start("{}");
    let reg = support::registry::TestRegistry::start();
    standin_bases(&daemon);
    let started = std::time::Instant::now();
    let o = support::run(
        jetdoc()
            .env("DOCKER_HOST", daemon.host())
            .args([
                "image",
                "matrix",
                "edge-node",
                "--push",
                &reg.addr,
                "--network",
                "none",
                "--format",
                "json",
            ])
            .args(["--git-sha", "0123456789abcdef0123", "--date", "2025-07-01", "--version", "v1.2.0"]),
    );
    let seconds = started.elapsed().as_secs_f64();
    let err = support::stderr(&o);
    assert_eq!(o.status.code(), Some(0), "{err}\n{}", support::stdout(&o));
    let p = json_of(&o);
    eprintln!("the built-in matrix built, smoke-tested and pushed in {seconds:.1}s");
    assert_eq!(p["dry_run"], false);
    let r = &reg.addr;
    let mut local_expected = Vec::new();
    for v in p["variants"].as_array().unwrap() {
        let name = v["name"].as_str().unwrap();
        let res = &v["result"];
        assert_eq!(res["status"], "built", "{name}: {res}");
        // The smoke test ran in the image, under emulation for arm64.
        let smoke = res["smoke"]["stdout"].as_str().unwrap();
        let machine = if v["arch"] == "arm64" { "aarch64" } else { "x86_64" };
        assert!(smoke.contains(&format!("platform: Linux-stand-in {machine}")), "{name}: {smoke}");
        assert!(smoke.contains(&format!("python: {}", v["python"].as_str().unwrap())), "{name}: {smoke}");
        assert!(smoke.contains("torch: 2.8.0\n"), "{name}: {smoke}");
        assert_eq!(res["pushed"].as_array().unwrap().len(), v["images"].as_array().unwrap().len());
        local_expected.extend(strings(&v["images"]));
        // Labels: exactly the plan's, on the image.
        let inspect: Value =
            serde_json::from_str(&daemon.docker_ok(&["image", "inspect", v["images"][0].as_str().unwrap()]))
                .unwrap();
        let labels = &inspect[0]["Config"]["Labels"];
        for (k, val) in v["labels"].as_object().unwrap() {
            assert_eq!(&labels[k], val, "{name}: label {k}");
        }
        assert_eq!(inspect[0]["Architecture"], v["arch"], "{name}");
    }
    // Exactly the templated references, locally...
    let listed = daemon.docker_ok(&["images", "--format", "{{.Repository}}:{{.Tag}}"]);
    let local: Vec<String> = listed.lines().filter(|l| l.starts_with(r.as_str())).map(String::from).collect();
    assert_eq!(sorted(local), sorted(local_expected));
    // ...and in the registry.
    let extra = ["latest", "sha-0123456", "20250701", "v1.2.0"];
    let with = |first: &[&str]| sorted(first.iter().chain(&extra).map(|s| s.to_string()).collect());
    assert_eq!(registry_tags(&reg, "base_edge_node_amd64_gpu"), with(&["amd64-py3.13-th2.8.0-dind"]));
    assert_eq!(registry_tags(&reg, "base_edge_node_amd64_cpu"), with(&["amd64-py3.13-th2.8.0-dind"]));
    assert_eq!(registry_tags(&reg, "base_edge_node_arm64_cpu"), with(&["arm64-py3.13-th2.8.0-dind"]));
    assert_eq!(
        registry_tags(&reg, "base_edge_node_arm64_tegra"),
        with(&["arm64-py3.10-th2.8.0-tr10.3-dind"])
    );
    assert_eq!(
        registry_tags(&reg, "base_edge_node_cpu"),
        with(&["amd64-py3.13-th2.8.0-dind", "arm64-py3.13-th2.8.0-dind"])
    );
    // The shared tags are OCI indexes over the two per-architecture manifests.
    let digest_of = |path: &str| {
        let (h, _) = registry_get(&reg, path, ANY_MANIFEST);
        h["docker-content-digest"].to_str().unwrap().to_string()
    };
    let amd = digest_of("base_edge_node_cpu/manifests/amd64-py3.13-th2.8.0-dind");
    let arm = digest_of("base_edge_node_cpu/manifests/arm64-py3.13-th2.8.0-dind");
    for tag in extra {
        let (h, index) = registry_get(&reg, &format!("base_edge_node_cpu/manifests/{tag}"), ANY_MANIFEST);
        assert_eq!(index["mediaType"], "application/vnd.oci.image.index.v1+json", "{tag}");
        assert_eq!(h["content-type"], "application/vnd.oci.image.index.v1+json");
        let m = index["manifests"].as_array().unwrap();
        assert_eq!(m.len(), 2, "{index}");
        assert_eq!(
            (m[0]["digest"].as_str().unwrap(), &m[0]["platform"]["architecture"]),
            (amd.as_str(), &Value::from("amd64"))
        );
        assert_eq!(
            (m[1]["digest"].as_str().unwrap(), &m[1]["platform"]["architecture"]),
            (arm.as_str(), &Value::from("arm64"))
        );
        assert_eq!(m[1]["platform"]["variant"], "v8");
        assert_eq!(index["annotations"]["org.opencontainers.image.revision"], "0123456789abcdef0123");
    }
    // The arm64 manifest's config really is arm64.
    let (_, manifest) = registry_get(&reg, &format!("base_edge_node_cpu/manifests/{arm}"), ANY_MANIFEST);
    let (_, config) = registry_get(
        &reg,
        &format!("base_edge_node_cpu/blobs/{}", manifest["config"]["digest"].as_str().unwrap()),
        "*/*",
    );
    assert_eq!(config["architecture"], "arm64");

    // What the generated Dockerfiles asked of the "distribution", as its stand-ins recorded it.
    let log = |image: &str| {
        daemon.docker_ok(&[
            "run",
            "--rm",
            "--network",
            "none",
            "--entrypoint",
            "cat",
            image,
            "/var/log/standin.log",
        ])
    };
    let noble = log(&format!("{r}/base_edge_node_amd64_cpu:latest"));
    for line in [
        "apt-cache show python3.13-venv",
        "add-apt-repository -y ppa:deadsnakes/ppa",
        "apt-get install -y --no-install-recommends python3.13 python3.13-venv",
        "venv /opt/venv python=3.13 system-site-packages=no",
        "pip install --no-cache-dir --index-url https://download.pytorch.org/whl/cpu -r /opt/jetdoc/torch.txt PIP_CONSTRAINT=/opt/jetdoc/constraints.txt",
        "  requirement torch==2.8.0",
        "  requirement transformers>=4.56,<5",
    ] {
        assert!(noble.lines().any(|l| l == line), "missing {line:?} in\n{noble}");
    }
    assert!(noble.contains("docker.io fuse-overlayfs uidmap"), "{noble}");
    let tegra = log(&format!("{r}/base_edge_node_arm64_tegra:latest"));
    assert!(!tegra.contains("add-apt-repository"), "{tegra}");
    for line in [
        "venv /opt/venv python=3.10 system-site-packages=yes",
        "pip install --no-cache-dir --index-url https://pypi.jetson-ai-lab.io/jp6/cu126/+simple/ -r /opt/jetdoc/torch.txt PIP_CONSTRAINT=/opt/jetdoc/constraints.txt",
    ] {
        assert!(tegra.lines().any(|l| l == line), "missing {line:?} in\n{tegra}");
    }
    assert!(tegra.contains("python3-libnvinfer"), "{tegra}");
    let constraints = daemon.docker_ok(&[
        "run",
        "--rm",
        "--network",
        "none",
        "--entrypoint",
        "cat",
        &format!("{r}/base_edge_node_arm64_tegra:latest"),
        "/opt/jetdoc/constraints.txt",
    ]);
    assert_eq!(constraints, "torch==2.8.0\ntensorrt==10.3.*\n");

    // The human output: progress on stderr, one summary line per variant and index on stdout.
    let o = support::run(
        jetdoc()
            .env("DOCKER_HOST", daemon.host())
            .args([
                "image",
                "matrix",
                "edge-node",
                "--push",
                &reg.addr,
                "--network",
                "none",
                "--git-sha",
                "0123456789abcdef0123",
            ])
            .args(["--only", "base_edge_node_amd64_cpu", "--only", "base_edge_node_arm64_cpu"]),
    );
    let out = support::stdout(&o);
    assert_eq!(o.status.code(), Some(0), "{}", support::stderr(&o));
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 4, "{out}");
    assert!(lines[0].starts_with("built    base_edge_node_amd64_cpu     linux/amd64  "), "{out}");
    assert!(lines[0].ends_with("smoke test passed, 4 tags pushed"), "{out}");
    assert!(lines[1].starts_with("built    base_edge_node_arm64_cpu     linux/arm64  "), "{out}");
    assert!(lines[2].starts_with(&format!("index    {r}/base_edge_node_cpu:latest  sha256:")), "{out}");
    assert!(lines[3].starts_with(&format!("index    {r}/base_edge_node_cpu:sha-0123456  sha256:")), "{out}");

    // A smoke test that fails: the variant is named, and with --keep-going the next one still builds.
    let amd64 = daemon.dir.path().join("bb-amd64/busybox");
    standin_base(
        &daemon,
        "jdmx/broken-ubuntu:24.04",
        "linux/amd64",
        &amd64,
        &["python3.12", "python3.12-venv"],
        true,
    );
    let run = |keep_going: bool| {
        let mut c = jetdoc();
        c.env("DOCKER_HOST", daemon.host()).args([
            "image",
            "matrix",
            "edge-node",
            "--only",
            "base_edge_node_amd64_gpu",
            "--only",
            "base_edge_node_amd64_cpu",
            "--base",
            "base_edge_node_amd64_gpu=jdmx/broken-ubuntu:24.04",
            "--network",
            "none",
            "--format",
            "json",
        ]);
        if keep_going {
            c.arg("--keep-going");
        }
        support::run(&mut c)
    };
    let o = run(true);
    let err = support::stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("base_edge_node_amd64_gpu: smoke test failed"), "{err}");
    assert!(err.contains("No module named 'torch'"), "{err}");
    let p = json_of(&o);
    assert_eq!(p["variants"][0]["result"]["status"], "failed");
    assert_eq!(p["variants"][0]["result"]["stage"], "smoke");
    assert_eq!(p["variants"][1]["result"]["status"], "built");
    let o = run(false);
    assert_eq!(o.status.code(), Some(1));
    let p = json_of(&o);
    assert_eq!(p["variants"][0]["result"]["status"], "failed");
    assert_eq!(p["variants"][1]["result"]["status"], "skipped");
    assert!(support::stderr(&o).contains("--keep-going"), "{}", support::stderr(&o));
}

/// Label and env values full of quotes, backslashes, `$(...)`, backquotes and `; RUN` reach the
/// image byte for byte, and nothing in them runs.
fn hostile_label_and_env_values_cannot_inject_into_the_dockerfile() {
    let daemon = TestDaemon::start("{}");
    let bb = support::dockerd::busybox_context(&daemon.dir.path().join("bb-amd64"));
    support::require(bb.is_some(), "busybox-static");
    let bb = bb.unwrap();
    standin_base(
        &daemon,
        "amd64/ubuntu:24.04",
        "linux/amd64",
        &bb.join("busybox"),
        &["python3.12", "python3.12-venv"],
        false,
    );
    let evil = r#"x" \" '; RUN touch /pwned; echo $(touch /pwned) `touch /pwned` ${HOME} $HOME \"#;
    let toml_value = evil.replace('\\', "\\\\").replace('"', "\\\"");
    let text = std::fs::read_to_string(repo_root().join("profiles/edge-node.matrix.toml")).unwrap().replace(
        "torch_index = \"https://download.pytorch.org/whl/cpu\"\n# Also published",
        &format!(
            "torch_index = \"https://download.pytorch.org/whl/cpu\"\nenv = {{ EVIL = \"{toml_value}\" }}\nlabels = {{ \"com.example.evil\" = \"{toml_value}\" }}\n# Also published"
        ),
    );
    assert!(text.contains("com.example.evil"));
    let file = daemon.dir.path().join("evil.matrix.toml");
    std::fs::write(&file, text).unwrap();
    let o =
        support::run(jetdoc().env("DOCKER_HOST", daemon.host()).args(["image", "matrix"]).arg(&file).args([
            "--only",
            "base_edge_node_amd64_cpu",
            "--python-fallback",
            "--network",
            "none",
        ]));
    assert_eq!(o.status.code(), Some(0), "{}", support::stderr(&o));
    let image = "base_edge_node_amd64_cpu:latest";
    let label =
        daemon.docker_ok(&["image", "inspect", "-f", "{{index .Config.Labels \"com.example.evil\"}}", image]);
    assert_eq!(label.trim_end_matches('\n'), evil);
    let script = "printf %s \"$EVIL\"";
    let env =
        daemon.docker_ok(&["run", "--rm", "--network", "none", "--entrypoint", "sh", image, "-c", script]);
    assert_eq!(env, evil);
    let o = daemon.docker(&["run", "--rm", "--network", "none", "--entrypoint", "ls", image, "/pwned"]);
    assert!(!o.status.success(), "/pwned exists: something in a value ran");
}
