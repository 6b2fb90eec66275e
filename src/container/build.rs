//! Runs `docker build` on a generated Dockerfile through the host's Docker engine and reports
//! its progress: the classic builder unless BuildKit (the buildx plugin) is installed.

use std::path::Path;

use crate::host::docker::{BuildSpec, Builder, Docker, DockerError};

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
    #[error(transparent)]
    Docker(DockerError),
    #[error("docker build failed (exit {code}): {last}{advice}\nthe Dockerfile is at {dockerfile}")]
    Failed { code: i32, last: String, advice: String, dockerfile: String },
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
    pub builder: Builder,
}

/// Resolves `auto`: BuildKit needs the buildx plugin in Docker CLI 23+.
pub fn resolve_builder(kind: BuilderKind, docker: &dyn Docker) -> Builder {
    match kind {
        BuilderKind::Auto if docker.buildkit_available() => Builder::BuildKit,
        BuilderKind::Auto | BuilderKind::Legacy => Builder::Classic,
        BuilderKind::Buildkit => Builder::BuildKit,
    }
}

/// Builds through the host's Docker engine, reporting each Dockerfile step as it starts.
pub fn docker_build(
    docker: &dyn Docker,
    req: &BuildRequest,
    reporter: &dyn BuildReporter,
) -> Result<Built, BuildError> {
    let builder = resolve_builder(req.builder, docker);
    let spec = BuildSpec {
        dockerfile: req.dockerfile.to_path_buf(),
        context: req.context.to_path_buf(),
        tags: req.tags.to_vec(),
        builder,
        network: req.network.map(str::to_string),
        no_cache: req.no_cache,
        ..BuildSpec::default()
    };
    let depth_exceeded = std::cell::Cell::new(false);
    let progress = |line: &str| {
        if line.contains("max depth exceeded") {
            depth_exceeded.set(true);
        }
        match parse_step(line) {
            Some((i, n, instr)) => reporter.step(i, n, &instr),
            None => reporter.output(line),
        }
    };
    match docker.build(&spec, &progress) {
        Ok(id) => Ok(Built { id, builder }),
        Err(DockerError::Failed { code, stderr, .. }) => {
            let last = stderr
                .lines()
                .rev()
                .find(|l| !l.trim().is_empty() && !l.contains("DEPRECATED"))
                .unwrap_or_default()
                .to_string();
            let advice = if depth_exceeded.get() {
                "\nthe image passed Docker's 125-layer limit: build with `jetdoc image build` (it flattens the base when needed) or flatten the base first with `jetdoc image flatten`".to_string()
            } else {
                String::new()
            };
            Err(BuildError::Failed {
                code: code.unwrap_or(-1),
                last,
                advice,
                dockerfile: req.dockerfile.display().to_string(),
            })
        }
        Err(e) => Err(BuildError::Docker(e)),
    }
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
