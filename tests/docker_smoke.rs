//! The test-owned daemon works: a FROM-scratch busybox image builds and runs.
#![allow(clippy::disallowed_methods, reason = "tests drive the real binary and the real tools")]

mod support;

use support::dockerd::{busybox_context, TestDaemon};

support::harness!(test_daemon_builds_and_runs_a_scratch_image);

fn test_daemon_builds_and_runs_a_scratch_image() {
    let daemon = TestDaemon::start("{}");
    let ctx = daemon.dir.path().join("ctx");
    support::require(busybox_context(&ctx).is_some(), "busybox-static");
    std::fs::write(
        ctx.join("Dockerfile"),
        "FROM scratch\nCOPY busybox /bin/busybox\nCMD [\"/bin/busybox\", \"echo\", \"hello from scratch\"]\n",
    )
    .unwrap();
    let out = daemon.build("jetdoc-smoke:1", &ctx);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let run = daemon.docker_ok(&["run", "--rm", "jetdoc-smoke:1"]);
    assert_eq!(run.trim(), "hello from scratch");
}
