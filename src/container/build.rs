//! Runs `docker build` on a generated Dockerfile and reports its progress. The classic builder
//! is used unless BuildKit (the buildx plugin) is installed; both honour `COPY --from=full / /`.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

/// Progress of a build. The command layer draws it; core code never prints.
pub trait BuildReporter {
    /// A Dockerfile step started (`Step 3/12 : RUN ...` / `#7 [3/12] RUN ...`).
    fn step(&self, index: usize, total: usize, instruction: &str);
    /// Any other line of the builder's output.
    fn output(&self, line: &str);
}

/// Discards progress (JSON mode, tests).
pub struct SilentReporter;

impl BuildReporter for SilentReporter {
    fn step(&self, _: usize, _: usize, _: &str) {}
    fn output(&self, _: &str) {}
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum BuilderKind {
    /// BuildKit when the buildx plugin answers, else the classic builder.
    Auto,
    /// The classic builder (`DOCKER_BUILDKIT=0`).
    Legacy,
    /// BuildKit through `docker buildx build --load`.
    Buildkit,
}

#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("cannot run `docker`: {0}; install the Docker CLI and check `docker info`")]
    Spawn(std::io::Error),
    #[error("docker build failed (exit {code}): {last}{advice}\nthe Dockerfile is at {dockerfile}")]
    Failed { code: i32, last: String, advice: String, dockerfile: String },
    #[error("docker build finished but wrote no image id to {0}")]
    NoImageId(String),
}

pub struct BuildRequest<'a> {
    pub dockerfile: &'a Path,
    pub context: &'a Path,
    pub tags: &'a [String],
    pub builder: BuilderKind,
    /// `--network` for RUN steps (`none` on a daemon without a bridge).
    pub network: Option<&'a str>,
    /// `--no-cache`: rebuild every step (benchmarks, or a base that changed under the same tag).
    pub no_cache: bool,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct Built {
    pub id: String,
    pub builder: BuilderKind,
}

/// Resolves `auto`: BuildKit needs the buildx plugin in Docker CLI 23+.
pub fn resolve_builder(kind: BuilderKind) -> BuilderKind {
    match kind {
        BuilderKind::Auto => {
            let buildx = std::process::Command::new("docker")
                .args(["buildx", "version"])
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .status()
                .is_ok_and(|s| s.success());
            if buildx {
                BuilderKind::Buildkit
            } else {
                BuilderKind::Legacy
            }
        }
        other => other,
    }
}

pub fn docker_build(req: &BuildRequest, reporter: &dyn BuildReporter) -> Result<Built, BuildError> {
    let builder = resolve_builder(req.builder);
    let iid_dir = tempfile::tempdir().map_err(BuildError::Spawn)?;
    let iidfile: PathBuf = iid_dir.path().join("iid");
    let mut args: Vec<String> = match builder {
        BuilderKind::Buildkit => {
            vec!["buildx".into(), "build".into(), "--load".into(), "--progress=plain".into()]
        }
        _ => vec!["build".into()],
    };
    args.push("-f".into());
    args.push(req.dockerfile.display().to_string());
    args.push("--iidfile".into());
    args.push(iidfile.display().to_string());
    if let Some(n) = req.network {
        args.push(format!("--network={n}"));
    }
    if req.no_cache {
        args.push("--no-cache".into());
    }
    for t in req.tags {
        args.push("-t".into());
        args.push(t.clone());
    }
    args.push(req.context.display().to_string());

    let env_buildkit = if builder == BuilderKind::Legacy { "0" } else { "1" };
    let reader = duct::cmd("docker", &args)
        .env("DOCKER_BUILDKIT", env_buildkit)
        .stdin_null()
        .stderr_to_stdout()
        .unchecked()
        .reader()
        .map_err(BuildError::Spawn)?;
    let mut tail: Vec<String> = Vec::new();
    let mut lines = BufReader::new(&reader);
    let mut buf = Vec::new();
    loop {
        buf.clear();
        match lines.read_until(b'\n', &mut buf) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) => return Err(BuildError::Spawn(e)),
        }
        let line = String::from_utf8_lossy(&buf).trim_end().to_string();
        match parse_step(&line) {
            Some((i, n, instr)) => reporter.step(i, n, &instr),
            None => reporter.output(&line),
        }
        tail.push(line);
        if tail.len() > 40 {
            tail.remove(0);
        }
    }
    let status =
        reader.try_wait().map_err(BuildError::Spawn)?.map(|o| o.status.code().unwrap_or(-1)).unwrap_or(-1);
    if status != 0 {
        let last = tail
            .iter()
            .rev()
            .find(|l| !l.trim().is_empty() && !l.contains("DEPRECATED"))
            .cloned()
            .unwrap_or_default();
        let advice = if tail.iter().any(|l| l.contains("max depth exceeded")) {
            "\nthe image passed Docker's 125-layer limit: build with `jetdoc image build` (it flattens the base when needed) or flatten the base first with `jetdoc image flatten`".to_string()
        } else {
            String::new()
        };
        return Err(BuildError::Failed {
            code: status,
            last,
            advice,
            dockerfile: req.dockerfile.display().to_string(),
        });
    }
    let id = std::fs::read_to_string(&iidfile).map(|s| s.trim().to_string()).unwrap_or_default();
    if id.is_empty() {
        return Err(BuildError::NoImageId(iidfile.display().to_string()));
    }
    Ok(Built { id, builder })
}

/// `Step 3/130 : RUN x` (classic) or `#7 [full 2/5] RUN x` (BuildKit plain progress).
pub fn parse_step(line: &str) -> Option<(usize, usize, String)> {
    if let Some(rest) = line.strip_prefix("Step ") {
        let (frac, instr) = rest.split_once(" : ")?;
        let (i, n) = frac.split_once('/')?;
        return Some((i.trim().parse().ok()?, n.trim().parse().ok()?, instr.to_string()));
    }
    if line.starts_with('#') {
        let open = line.find('[')?;
        let close = line[open..].find(']')? + open;
        let frac = line[open + 1..close].rsplit(' ').next()?;
        let (i, n) = frac.split_once('/')?;
        return Some((i.parse().ok()?, n.parse().ok()?, line[close + 1..].trim().to_string()));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_of_both_builders() {
        assert_eq!(parse_step("Step 3/130 : COPY l /l/3"), Some((3, 130, "COPY l /l/3".into())));
        assert_eq!(parse_step("#7 [full 2/5] RUN true"), Some((2, 5, "RUN true".into())));
        assert_eq!(parse_step(" ---> Running in 8bf9853a0198"), None);
        assert_eq!(parse_step("#7 DONE 0.1s"), None);
    }
}
