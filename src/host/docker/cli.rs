//! The real engine: the `docker` CLI through duct. Short calls are captured with a timeout;
//! pull, build and push stream their lines; save and load are pipes. Every call runs with
//! `LC_ALL=C` (parseable messages), stdin closed (except load), and `DOCKER_HOST` when one is set.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use super::{
    trim_stderr, BuildSpec, Builder, ContainerState, Docker, DockerError, LoadSink, Loaded, Progress,
    RunOutput, RunSpec, SaveStream,
};
use crate::container::image_config::{self, ImageInspect};
use crate::facts::docker_info::{self, DockerInfo, Unreachable};

/// `docker info` and `inspect` answer in milliseconds; a daemon that takes this long is stuck.
const SHORT: Duration = Duration::from_secs(60);
/// `docker image ls` is slow on a daemon holding hundreds of images.
const LIST: Duration = Duration::from_secs(180);
/// Removing a large image deletes gigabytes.
const REMOVE: Duration = Duration::from_secs(600);
/// Lines of a streamed command kept for its error message.
const TAIL_LINES: usize = 40;
/// The most of each stream a short call keeps: `docker inspect` of hundreds of images fits; a
/// smoke test that prints without end (its output is captured through here) cannot fill memory.
const CAPTURE_CAP: usize = 16 << 20;

pub struct CliDocker {
    docker_host: Option<String>,
    program: OnceLock<Option<PathBuf>>,
    buildkit: OnceLock<bool>,
}

/// The captured result of a short call.
struct Captured {
    code: i32,
    stdout: String,
    stderr: String,
}

impl CliDocker {
    /// The engine `docker_host` names (`unix:///run/docker.sock`, `tcp://...`), or the CLI's
    /// default (its context, else `/var/run/docker.sock`) when `None`.
    pub fn new(docker_host: Option<String>) -> CliDocker {
        CliDocker {
            docker_host: docker_host.filter(|h| !h.is_empty()),
            program: OnceLock::new(),
            buildkit: OnceLock::new(),
        }
    }

    /// The engine the environment names (`DOCKER_HOST`), as the docker CLI would pick it.
    pub fn from_env(env: impl Fn(&str) -> Option<String>) -> CliDocker {
        CliDocker::new(env("DOCKER_HOST"))
    }

    fn program(&self) -> Result<PathBuf, DockerError> {
        self.program.get_or_init(|| which::which("docker").ok()).clone().ok_or(DockerError::NotInstalled)
    }

    fn expr(&self, args: &[String]) -> Result<duct::Expression, DockerError> {
        let mut e = duct::cmd(self.program()?, args).env("LC_ALL", "C").unchecked();
        if let Some(h) = &self.docker_host {
            e = e.env("DOCKER_HOST", h);
        }
        Ok(e)
    }

    /// Runs a short call to the end (or the timeout) and captures both streams.
    fn capture(&self, args: &[String], timeout: Option<Duration>) -> Result<Captured, DockerError> {
        let command = show(args);
        let io_error = |error| DockerError::Io { command: command.clone(), error };
        let (out_r, out_w) = os_pipe::pipe().map_err(io_error)?;
        let (err_r, err_w) = os_pipe::pipe().map_err(io_error)?;
        // The expression (and with it this side's copy of both write ends) is dropped once the
        // child has started, so the readers see end-of-file when the child exits.
        let handle =
            self.expr(args)?.stdin_null().stdout_file(out_w).stderr_file(err_w).start().map_err(io_error)?;
        let out_reader = std::thread::spawn(move || read_capped(out_r, CAPTURE_CAP));
        let err_reader = std::thread::spawn(move || read_capped(err_r, CAPTURE_CAP));
        let deadline = timeout.map(|t| Instant::now() + t);
        loop {
            match handle.try_wait() {
                Ok(Some(out)) => {
                    let code = out.status.code().unwrap_or(-1);
                    let stdout = out_reader.join().unwrap_or_default();
                    let stderr = err_reader.join().unwrap_or_default();
                    return Ok(Captured {
                        code,
                        stdout: String::from_utf8_lossy(&stdout).into_owned(),
                        stderr: String::from_utf8_lossy(&stderr).into_owned(),
                    });
                }
                Ok(None) if deadline.is_some_and(|d| Instant::now() >= d) => {
                    // The readers end on their own once the killed child's pipes close.
                    let _ = handle.kill();
                    return Err(DockerError::TimedOut { command, after: timeout.unwrap_or_default() });
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(5)),
                Err(error) => return Err(DockerError::Io { command, error }),
            }
        }
    }

    /// Like `capture`, but a non-zero exit is `DockerError::Failed` with Docker's stderr.
    fn checked(&self, args: &[String], timeout: Option<Duration>) -> Result<Captured, DockerError> {
        let out = self.capture(args, timeout)?;
        if out.code != 0 {
            return Err(DockerError::Failed {
                command: show(args),
                code: Some(out.code),
                stderr: trim_stderr(&out.stderr),
            });
        }
        Ok(out)
    }

    /// Runs a long call, handing each line of its output to `progress`. With `merge`, stderr is
    /// part of the stream (BuildKit writes its progress there); otherwise it is captured for the
    /// error. A failure carries the stderr, or the last lines of the merged stream.
    fn stream(
        &self,
        args: &[String],
        env: &[(&str, &str)],
        merge: bool,
        progress: &dyn Progress,
    ) -> Result<(), DockerError> {
        let command = show(args);
        let mut e = self.expr(args)?.stdin_null();
        for (k, v) in env {
            e = e.env(k, v);
        }
        e = if merge { e.stderr_to_stdout() } else { e.stderr_capture() };
        let reader = e.reader().map_err(|error| DockerError::Io { command: command.clone(), error })?;
        let mut tail: std::collections::VecDeque<String> = std::collections::VecDeque::new();
        let mut lines = BufReader::new(&reader);
        let mut buf = Vec::new();
        loop {
            buf.clear();
            match lines.read_until(b'\n', &mut buf) {
                Ok(0) => break,
                Ok(_) => {}
                Err(error) => return Err(DockerError::Io { command, error }),
            }
            let line = String::from_utf8_lossy(&buf);
            // A terminal-style progress line may redraw itself with carriage returns.
            let line = line.trim_end().rsplit('\r').next().unwrap_or("").to_string();
            progress.line(&line);
            if !line.trim().is_empty() {
                tail.push_back(line);
                if tail.len() > TAIL_LINES {
                    tail.pop_front();
                }
            }
        }
        let out = reader
            .try_wait()
            .map_err(|error| DockerError::Io { command: command.clone(), error })?
            .ok_or_else(|| DockerError::Io {
                command: command.clone(),
                error: std::io::Error::other("the process had not ended at the end of its output"),
            })?;
        if out.status.success() {
            return Ok(());
        }
        let said = if merge {
            tail.iter().cloned().collect::<Vec<_>>().join("\n")
        } else {
            String::from_utf8_lossy(&out.stderr).into_owned()
        };
        Err(DockerError::Failed { command, code: out.status.code(), stderr: trim_stderr(&said) })
    }
}

/// A command line for messages: `docker save x:1`.
fn show(args: &[String]) -> String {
    let mut s = String::from("docker");
    for a in args {
        s.push(' ');
        if a.is_empty() || a.contains(|c: char| c.is_whitespace() || c == '\'' || c == '"') {
            s.push_str(&format!("'{}'", a.replace('\'', "'\\''")));
        } else {
            s.push_str(a);
        }
    }
    s
}

fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(|s| s.to_string()).collect()
}

/// One `--mount` value. Docker reads it as a CSV record: a field holding `,` or `"` is quoted.
fn mount_arg(m: &super::Mount) -> String {
    let field = |s: String| {
        if s.contains([',', '"', '\n']) {
            format!("\"{}\"", s.replace('"', "\"\""))
        } else {
            s
        }
    };
    let mut parts = vec![
        "type=bind".to_string(),
        field(format!("source={}", m.source)),
        field(format!("target={}", m.target)),
    ];
    if m.read_only {
        parts.push("readonly".into());
    }
    parts.join(",")
}

/// The `docker run` arguments for a spec (without the leading `docker`).
pub(super) fn run_args(spec: &RunSpec, name: &str) -> Vec<String> {
    let mut a: Vec<String> = vec!["run".into(), "--name".into(), name.to_string()];
    if spec.remove {
        a.push("--rm".into());
    }
    if spec.detach {
        a.push("--detach".into());
    }
    let mut opt = |flag: &str, v: &Option<String>| {
        if let Some(v) = v {
            a.push(flag.to_string());
            a.push(v.clone());
        }
    };
    opt("--runtime", &spec.runtime);
    opt("--gpus", &spec.gpus);
    opt("--network", &spec.network);
    opt("--user", &spec.user);
    opt("--workdir", &spec.workdir);
    opt("--entrypoint", &spec.entrypoint);
    opt("--ipc", &spec.ipc);
    opt("--shm-size", &spec.shm_size);
    opt("--restart", &spec.restart);
    if spec.privileged {
        a.push("--privileged".into());
    }
    for d in &spec.devices {
        a.push("--device".into());
        a.push(d.clone());
    }
    for m in &spec.mounts {
        a.push("--mount".into());
        a.push(mount_arg(m));
    }
    for (k, v) in &spec.env {
        a.push("--env".into());
        a.push(format!("{k}={v}"));
    }
    for (k, v) in &spec.labels {
        a.push("--label".into());
        a.push(format!("{k}={v}"));
    }
    a.push(spec.image.clone());
    a.extend(spec.command.iter().cloned());
    a
}

/// `docker build` arguments for a spec and the file the image id is written to.
pub(super) fn build_args(spec: &BuildSpec, iidfile: &std::path::Path) -> Vec<String> {
    let mut a: Vec<String> = match spec.builder {
        Builder::BuildKit => strings(&["buildx", "build", "--load", "--progress=plain"]),
        Builder::Classic => strings(&["build"]),
    };
    a.push("--file".into());
    a.push(spec.dockerfile.display().to_string());
    a.push("--iidfile".into());
    a.push(iidfile.display().to_string());
    if let Some(n) = &spec.network {
        a.push(format!("--network={n}"));
    }
    if let Some(p) = &spec.platform {
        a.push(format!("--platform={p}"));
    }
    if spec.no_cache {
        a.push("--no-cache".into());
    }
    for (k, v) in &spec.build_args {
        a.push("--build-arg".into());
        a.push(format!("{k}={v}"));
    }
    for (k, v) in &spec.labels {
        a.push("--label".into());
        a.push(format!("{k}={v}"));
    }
    for t in &spec.tags {
        a.push("--tag".into());
        a.push(t.clone());
    }
    a.push(spec.context.display().to_string());
    a
}

/// `Loaded image: x:1` / `Loaded image ID: sha256:...` lines of `docker load`.
pub(super) fn parse_loaded(stdout: &str) -> Loaded {
    let images = stdout
        .lines()
        .filter_map(|l| l.strip_prefix("Loaded image ID: ").or_else(|| l.strip_prefix("Loaded image: ")))
        .map(|s| s.trim().to_string())
        .collect();
    Loaded { images }
}

impl Docker for CliDocker {
    fn describe(&self) -> String {
        match &self.docker_host {
            Some(h) => format!("the docker CLI (DOCKER_HOST={h})"),
            None => "the docker CLI".into(),
        }
    }

    fn info(&self) -> Result<DockerInfo, DockerError> {
        let args = strings(&["info", "--format", "{{json .}}"]);
        let out = self.capture(&args, Some(SHORT))?;
        docker_info::parse(&out.stdout, &out.stderr).map_err(|u| {
            let stderr = match u {
                Unreachable::PermissionDenied(s) | Unreachable::DaemonDown(s) | Unreachable::Other(s) => s,
            };
            DockerError::Failed { command: show(&args), code: Some(out.code), stderr }
        })
    }

    fn buildkit_available(&self) -> bool {
        *self.buildkit.get_or_init(|| {
            self.capture(&strings(&["buildx", "version"]), Some(Duration::from_secs(20)))
                .is_ok_and(|o| o.code == 0)
        })
    }

    fn inspect(&self, images: &[&str]) -> Result<Vec<ImageInspect>, DockerError> {
        if images.is_empty() {
            return Ok(Vec::new());
        }
        let mut args = strings(&["image", "inspect"]);
        args.extend(images.iter().map(|s| s.to_string()));
        let out = self.capture(&args, Some(SHORT))?;
        let only_missing = out
            .stderr
            .lines()
            .filter(|l| !l.trim().is_empty())
            .all(|l| l.contains("No such image") || l.contains("No such object"));
        if out.code != 0 && !(out.code == 1 && only_missing) {
            return Err(DockerError::Failed {
                command: show(&args),
                code: Some(out.code),
                stderr: trim_stderr(&out.stderr),
            });
        }
        if out.stdout.trim().is_empty() {
            return Ok(Vec::new());
        }
        image_config::parse_all(&out.stdout)
            .map_err(|error| DockerError::Malformed { command: show(&args), error })
    }

    fn image_list(&self, patterns: &[&str]) -> Result<Vec<String>, DockerError> {
        let mut args = strings(&["image", "ls", "--format", "{{.Repository}}:{{.Tag}}"]);
        for p in patterns {
            args.push("--filter".into());
            args.push(format!("reference={p}"));
        }
        let out = self.checked(&args, Some(LIST))?;
        Ok(out
            .stdout
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.contains("<none>"))
            .map(str::to_string)
            .collect())
    }

    fn pull(
        &self,
        reference: &str,
        platform: Option<&str>,
        progress: &dyn Progress,
    ) -> Result<(), DockerError> {
        let mut args = strings(&["pull"]);
        if let Some(p) = platform {
            args.push("--platform".into());
            args.push(p.to_string());
        }
        args.push(reference.to_string());
        self.stream(&args, &[], false, progress)
    }

    fn build(&self, spec: &BuildSpec, progress: &dyn Progress) -> Result<String, DockerError> {
        let dir =
            tempfile::tempdir().map_err(|error| DockerError::Io { command: "docker build".into(), error })?;
        let iidfile = dir.path().join("iid");
        let args = build_args(spec, &iidfile);
        let buildkit = if spec.builder == Builder::Classic { "0" } else { "1" };
        self.stream(&args, &[("DOCKER_BUILDKIT", buildkit)], true, progress)?;
        let id = std::fs::read_to_string(&iidfile).map(|s| s.trim().to_string()).unwrap_or_default();
        if id.is_empty() {
            return Err(DockerError::Malformed {
                command: show(&args),
                error: "it succeeded but wrote no image id to its --iidfile".into(),
            });
        }
        Ok(id)
    }

    fn save(&self, image: &str) -> Result<Box<dyn SaveStream>, DockerError> {
        let args = strings(&["save", image]);
        let command = show(&args);
        let reader = self
            .expr(&args)?
            .stdin_null()
            .stderr_capture()
            .reader()
            .map_err(|error| DockerError::Io { command: command.clone(), error })?;
        Ok(Box::new(CliSave { reader, command, at_eof: false }))
    }

    fn load(&self) -> Result<Box<dyn LoadSink>, DockerError> {
        let args = strings(&["load"]);
        let command = show(&args);
        let (pipe_out, pipe_in) =
            std::io::pipe().map_err(|error| DockerError::Io { command: command.clone(), error })?;
        let handle = self
            .expr(&args)?
            .stdin_file(pipe_out)
            .stdout_capture()
            .stderr_capture()
            .start()
            .map_err(|error| DockerError::Io { command: command.clone(), error })?;
        Ok(Box::new(CliLoad { input: Some(pipe_in), handle, command }))
    }

    fn tag(&self, source: &str, target: &str) -> Result<(), DockerError> {
        self.checked(&strings(&["tag", source, target]), Some(SHORT)).map(|_| ())
    }

    fn push(&self, reference: &str, progress: &dyn Progress) -> Result<(), DockerError> {
        self.stream(&strings(&["push", reference]), &[], false, progress)
    }

    fn run(&self, spec: &RunSpec) -> Result<RunOutput, DockerError> {
        static RUNS: AtomicU64 = AtomicU64::new(0);
        // A name is needed to remove the container after a timeout.
        let name = spec.name.clone().unwrap_or_else(|| {
            format!("jetdoc-run-{}-{}", std::process::id(), RUNS.fetch_add(1, Ordering::Relaxed))
        });
        let args = run_args(spec, &name);
        let out = match self.capture(&args, spec.timeout) {
            Err(e @ DockerError::TimedOut { .. }) => {
                let _ = self.remove_container(&name);
                return Err(e);
            }
            other => other?,
        };
        // 125: Docker could not create or start the container (the command never ran).
        if out.code == 125 {
            return Err(DockerError::Failed {
                command: show(&args),
                code: Some(125),
                stderr: trim_stderr(&out.stderr),
            });
        }
        let container = spec.detach.then(|| out.stdout.trim().to_string());
        Ok(RunOutput { exit_code: out.code, stdout: out.stdout, stderr: out.stderr, container })
    }

    fn remove_container(&self, container: &str) -> Result<(), DockerError> {
        self.checked(&strings(&["rm", "--force", container]), Some(REMOVE)).map(|_| ())
    }

    fn container(&self, name: &str) -> Result<Option<ContainerState>, DockerError> {
        let args = strings(&["container", "inspect", "--format", "{{.State.Running}} {{.Image}}", name]);
        let out = self.capture(&args, Some(SHORT))?;
        if out.code != 0 {
            if out.stderr.contains("No such container") || out.stderr.contains("No such object") {
                return Ok(None);
            }
            return Err(DockerError::Failed {
                command: show(&args),
                code: Some(out.code),
                stderr: trim_stderr(&out.stderr),
            });
        }
        let mut words = out.stdout.split_whitespace();
        match (words.next(), words.next()) {
            (Some(running), Some(image)) => {
                Ok(Some(ContainerState { running: running == "true", image: image.to_string() }))
            }
            _ => Err(DockerError::Malformed {
                command: show(&args),
                error: format!("unexpected output {:?}", out.stdout.trim()),
            }),
        }
    }

    fn remove_image(&self, image: &str, force: bool) -> Result<(), DockerError> {
        let mut args = strings(&["rmi"]);
        if force {
            args.push("--force".into());
        }
        args.push(image.to_string());
        self.checked(&args, Some(REMOVE)).map(|_| ())
    }
}

struct CliSave {
    reader: duct::ReaderHandle,
    command: String,
    at_eof: bool,
}

impl Read for CliSave {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = (&self.reader).read(buf)?;
        if n == 0 && !buf.is_empty() {
            self.at_eof = true;
        }
        Ok(n)
    }
}

impl SaveStream for CliSave {
    fn finish(self: Box<Self>) -> Result<(), DockerError> {
        let this = *self;
        let command = this.command.clone();
        // After EOF docker has exited. Before it, a failing docker is exiting right now (its
        // stdout is closed, the consumer saw a short stream): give it a moment to say why; a
        // docker still writing was stopped by the consumer, whose error is the real one.
        let deadline =
            Instant::now() + if this.at_eof { Duration::from_secs(3600) } else { Duration::from_secs(2) };
        loop {
            match this.reader.try_wait() {
                Ok(Some(out)) if out.status.success() => return Ok(()),
                Ok(Some(out)) => {
                    return Err(DockerError::Failed {
                        command,
                        code: out.status.code(),
                        stderr: trim_stderr(&String::from_utf8_lossy(&out.stderr)),
                    })
                }
                Ok(None) if Instant::now() >= deadline => {
                    let _ = this.reader.kill();
                    return Ok(());
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(10)),
                Err(error) => return Err(DockerError::Io { command, error }),
            }
        }
    }
}

struct CliLoad {
    input: Option<std::io::PipeWriter>,
    handle: duct::Handle,
    command: String,
}

impl Write for CliLoad {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match &mut self.input {
            Some(w) => w.write(buf),
            None => Err(std::io::Error::other("docker load's input is closed")),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match &mut self.input {
            Some(w) => w.flush(),
            None => Ok(()),
        }
    }
}

impl LoadSink for CliLoad {
    fn finish(mut self: Box<Self>) -> Result<Loaded, DockerError> {
        drop(self.input.take());
        let out =
            self.handle.wait().map_err(|error| DockerError::Io { command: self.command.clone(), error })?;
        if !out.status.success() {
            return Err(DockerError::Failed {
                command: self.command.clone(),
                code: out.status.code(),
                stderr: trim_stderr(&String::from_utf8_lossy(&out.stderr)),
            });
        }
        Ok(parse_loaded(&String::from_utf8_lossy(&out.stdout)))
    }

    fn abort(mut self: Box<Self>) {
        drop(self.input.take());
        let _ = self.handle.kill();
    }
}

/// Reads `r` to its end, keeping at most `cap` bytes; what is past the cap is read (so the
/// writer never blocks on a full pipe) and counted, and the count is said at the end.
fn read_capped(mut r: impl Read, cap: usize) -> Vec<u8> {
    let mut kept = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut dropped: u64 = 0;
    loop {
        match r.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                let room = cap.saturating_sub(kept.len()).min(n);
                kept.extend_from_slice(&buf[..room]);
                dropped += (n - room) as u64;
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => break,
        }
    }
    if dropped > 0 {
        kept.extend_from_slice(format!("\n[jetdoc: {dropped} more bytes of output not kept]\n").as_bytes());
    }
    kept
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_stream_past_the_cap_is_read_to_its_end_and_kept_to_the_cap() {
        use std::io::Read as _;
        let kept = super::read_capped(std::io::repeat(b'x').take(3 << 20), 1 << 20);
        let note = b"\n[jetdoc: 2097152 more bytes of output not kept]\n";
        assert_eq!(kept.len(), (1 << 20) + note.len());
        assert!(kept.ends_with(note));
        assert_eq!(super::read_capped(&b"short"[..], 1 << 20), b"short");
    }

    use super::*;
    use crate::host::docker::Mount;

    #[test]
    fn run_arguments_are_separate_words_and_mounts_are_csv_quoted() {
        let spec = RunSpec {
            image: "app:1".into(),
            command: vec!["sh".into(), "-c".into(), "echo $HOME; ls".into()],
            runtime: Some("nvidia".into()),
            devices: vec!["/dev/video0".into()],
            mounts: vec![Mount { source: "/data/a,b".into(), target: "/in".into(), read_only: true }],
            env: vec![("GREETING".into(), "a b=c".into())],
            remove: true,
            ..RunSpec::default()
        };
        let a = run_args(&spec, "n1");
        assert_eq!(&a[..4], ["run", "--name", "n1", "--rm"]);
        assert!(a.windows(2).any(|w| w == ["--runtime", "nvidia"]));
        assert!(a.windows(2).any(|w| w == ["--device", "/dev/video0"]));
        assert!(a.windows(2).any(|w| w == ["--mount", "type=bind,\"source=/data/a,b\",target=/in,readonly"]));
        assert!(a.windows(2).any(|w| w == ["--env", "GREETING=a b=c"]));
        assert_eq!(&a[a.len() - 4..], ["app:1", "sh", "-c", "echo $HOME; ls"]);
    }

    #[test]
    fn build_arguments_per_builder() {
        let spec = BuildSpec {
            dockerfile: "/c/Dockerfile".into(),
            context: "/c".into(),
            tags: vec!["a:1".into()],
            network: Some("none".into()),
            labels: [("k".to_string(), "v w".to_string())].into(),
            ..BuildSpec::default()
        };
        let a = build_args(&spec, std::path::Path::new("/t/iid"));
        assert_eq!(a[0], "build");
        assert!(a.windows(2).any(|w| w == ["--label", "k=v w"]));
        assert_eq!(a.last().unwrap(), "/c");
        let kit =
            build_args(&BuildSpec { builder: Builder::BuildKit, ..spec }, std::path::Path::new("/t/iid"));
        assert_eq!(&kit[..3], ["buildx", "build", "--load"]);
    }

    #[test]
    fn load_output_names_the_images() {
        let l = parse_loaded("Loaded image: deep-flat:1\nLoaded image ID: sha256:abc\n");
        assert_eq!(l.images, vec!["deep-flat:1", "sha256:abc"]);
    }

    #[test]
    fn a_missing_cli_is_not_installed() {
        let d = CliDocker::new(None);
        d.program.set(None).unwrap();
        assert!(matches!(d.info(), Err(DockerError::NotInstalled)));
    }
}
