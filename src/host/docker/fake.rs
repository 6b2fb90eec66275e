//! An engine in memory for unit tests: images by reference, canned answers, chosen failures, and
//! a record of every call. Clones share one state, so a test keeps a clone to read `calls()`
//! after handing the other to a `Host`.

use std::collections::BTreeMap;
use std::io::{Cursor, Read, Write};
use std::sync::{Arc, Mutex, MutexGuard};

use super::{
    BuildSpec, ContainerState, Docker, DockerError, LoadSink, Loaded, Progress, RunOutput, RunSpec,
    SaveStream,
};
use crate::container::image_config::ImageInspect;
use crate::facts::docker_info::DockerInfo;

/// One call a `FakeDocker` received, with its arguments.
#[derive(Debug, Clone, PartialEq)]
pub enum DockerCall {
    Info,
    Inspect(Vec<String>),
    ImageList(Vec<String>),
    Pull {
        reference: String,
        platform: Option<String>,
    },
    /// The spec and the Dockerfile's text when it was called.
    Build {
        spec: BuildSpec,
        dockerfile: String,
    },
    Save(String),
    /// The number of bytes `docker load` was fed.
    Load {
        bytes: usize,
    },
    Tag {
        source: String,
        target: String,
    },
    Push(String),
    Run(Box<RunSpec>),
    RemoveContainer(String),
    Container(String),
    RemoveImage {
        image: String,
        force: bool,
    },
}

#[derive(Default)]
struct State {
    images: BTreeMap<String, ImageInspect>,
    /// What a pull of a reference brings in.
    registry: BTreeMap<String, ImageInspect>,
    saves: BTreeMap<String, Vec<u8>>,
    loaded: Vec<Vec<u8>>,
    runs: BTreeMap<String, RunOutput>,
    /// Containers started detached with a name.
    containers: BTreeMap<String, ContainerState>,
    /// Operation name (`pull`, `save`, ...) -> the stderr Docker prints when it fails.
    failures: BTreeMap<String, String>,
    progress: Vec<String>,
    info: Option<DockerInfo>,
    buildkit: bool,
    builds: usize,
    calls: Vec<DockerCall>,
}

#[derive(Clone, Default)]
pub struct FakeDocker {
    state: Arc<Mutex<State>>,
}

impl FakeDocker {
    pub fn new() -> FakeDocker {
        FakeDocker::default()
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // A test that panicked while holding the lock already failed; keep answering.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A local image, found by `reference` (and by its id).
    pub fn with_image(self, reference: &str, image: ImageInspect) -> FakeDocker {
        self.state().images.insert(reference.to_string(), image);
        self
    }

    /// An image a pull of `reference` brings in.
    pub fn with_registry_image(self, reference: &str, image: ImageInspect) -> FakeDocker {
        self.state().registry.insert(reference.to_string(), image);
        self
    }

    /// The tar `docker save IMAGE` streams.
    pub fn with_save(self, image: &str, tar: Vec<u8>) -> FakeDocker {
        self.state().saves.insert(image.to_string(), tar);
        self
    }

    /// What `docker run IMAGE` answers (default: exit 0, no output).
    pub fn with_run(self, image: &str, output: RunOutput) -> FakeDocker {
        self.state().runs.insert(image.to_string(), output);
        self
    }

    /// Lines pull, build and push report as progress.
    pub fn with_progress(self, lines: &[&str]) -> FakeDocker {
        self.state().progress = lines.iter().map(|s| s.to_string()).collect();
        self
    }

    pub fn with_info(self, info: DockerInfo) -> FakeDocker {
        self.state().info = Some(info);
        self
    }

    pub fn with_buildkit(self, available: bool) -> FakeDocker {
        self.state().buildkit = available;
        self
    }

    /// Makes `operation` (`info`, `inspect`, `image_list`, `pull`, `build`, `save`, `load`,
    /// `tag`, `push`, `run`, `rm`, `rmi`) fail with `stderr`, as Docker would.
    pub fn failing(self, operation: &str, stderr: &str) -> FakeDocker {
        self.state().failures.insert(operation.to_string(), stderr.to_string());
        self
    }

    /// Every call so far, in order.
    pub fn calls(&self) -> Vec<DockerCall> {
        self.state().calls.clone()
    }

    /// The archives `docker load` received.
    pub fn loaded(&self) -> Vec<Vec<u8>> {
        self.state().loaded.clone()
    }

    /// Whether a local image answers to `reference`.
    pub fn has_image(&self, reference: &str) -> bool {
        lookup(&self.state().images, reference).is_some()
    }

    fn record(&self, call: DockerCall) {
        self.state().calls.push(call);
    }

    fn check(&self, operation: &str, command: &str) -> Result<(), DockerError> {
        match self.state().failures.get(operation) {
            Some(stderr) => Err(DockerError::Failed {
                command: command.to_string(),
                code: Some(1),
                stderr: stderr.clone(),
            }),
            None => Ok(()),
        }
    }

    fn replay(&self, progress: &dyn Progress) {
        let lines = self.state().progress.clone();
        lines.iter().for_each(|l| progress.line(l));
    }
}

fn lookup<'a>(images: &'a BTreeMap<String, ImageInspect>, reference: &str) -> Option<&'a ImageInspect> {
    images.get(reference).or_else(|| images.values().find(|i| !i.id.is_empty() && i.id == reference))
}

impl Docker for FakeDocker {
    fn describe(&self) -> String {
        "a fake Docker engine (tests)".into()
    }

    fn info(&self) -> Result<DockerInfo, DockerError> {
        self.record(DockerCall::Info);
        self.check("info", "docker info")?;
        self.state().info.clone().ok_or_else(|| DockerError::Failed {
            command: "docker info".into(),
            code: Some(1),
            stderr: "Cannot connect to the Docker daemon at unix:///fake.sock. Is the docker daemon running?"
                .into(),
        })
    }

    fn buildkit_available(&self) -> bool {
        self.state().buildkit
    }

    fn inspect(&self, images: &[&str]) -> Result<Vec<ImageInspect>, DockerError> {
        self.record(DockerCall::Inspect(images.iter().map(|s| s.to_string()).collect()));
        self.check("inspect", "docker image inspect")?;
        let state = self.state();
        Ok(images.iter().filter_map(|r| lookup(&state.images, r).cloned()).collect())
    }

    fn image_list(&self, patterns: &[&str]) -> Result<Vec<String>, DockerError> {
        self.record(DockerCall::ImageList(patterns.iter().map(|s| s.to_string()).collect()));
        self.check("image_list", "docker image ls")?;
        let repo = |r: &str| crate::container::rules::split_tag(r).0.to_string();
        Ok(self
            .state()
            .images
            .keys()
            .filter(|k| !k.starts_with("sha256:") && patterns.iter().any(|p| repo(k) == *p || k == p))
            .cloned()
            .collect())
    }

    fn pull(
        &self,
        reference: &str,
        platform: Option<&str>,
        progress: &dyn Progress,
    ) -> Result<(), DockerError> {
        self.record(DockerCall::Pull { reference: reference.into(), platform: platform.map(str::to_string) });
        self.check("pull", &format!("docker pull {reference}"))?;
        self.replay(progress);
        let found = self.state().registry.get(reference).cloned();
        match found {
            Some(image) => {
                self.state().images.insert(reference.to_string(), image);
                Ok(())
            }
            None => Err(DockerError::Failed {
                command: format!("docker pull {reference}"),
                code: Some(1),
                stderr: format!(
                    "Error response from daemon: manifest for {reference} not found: manifest unknown"
                ),
            }),
        }
    }

    fn build(&self, spec: &BuildSpec, progress: &dyn Progress) -> Result<String, DockerError> {
        let dockerfile = std::fs::read_to_string(&spec.dockerfile).unwrap_or_default();
        self.record(DockerCall::Build { spec: spec.clone(), dockerfile });
        self.check("build", "docker build")?;
        self.replay(progress);
        let mut state = self.state();
        state.builds += 1;
        let id = format!("sha256:{:064x}", state.builds);
        let image = ImageInspect {
            id: id.clone(),
            repo_tags: Some(spec.tags.clone()),
            architecture: "arm64".into(),
            os: "linux".into(),
            ..ImageInspect::default()
        };
        for t in &spec.tags {
            state.images.insert(t.clone(), image.clone());
        }
        state.images.insert(id.clone(), image);
        Ok(id)
    }

    fn save(&self, image: &str) -> Result<Box<dyn SaveStream>, DockerError> {
        self.record(DockerCall::Save(image.into()));
        let command = format!("docker save {image}");
        let failure = self.check("save", &command).err();
        let bytes = self.state().saves.get(image).cloned();
        match (bytes, failure) {
            (Some(bytes), failure) => Ok(Box::new(FakeSave { data: Cursor::new(bytes), failure })),
            // Docker starts the stream, prints nothing on stdout, and fails: the consumer sees
            // an empty archive and `finish` tells why.
            (None, failure) => Ok(Box::new(FakeSave {
                data: Cursor::new(Vec::new()),
                failure: failure.or(Some(DockerError::Failed {
                    command,
                    code: Some(1),
                    stderr: "Error response from daemon: reference does not exist".into(),
                })),
            })),
        }
    }

    fn load(&self) -> Result<Box<dyn LoadSink>, DockerError> {
        let failure = self.check("load", "docker load").err();
        Ok(Box::new(FakeLoad { fake: self.clone(), bytes: Vec::new(), failure }))
    }

    fn tag(&self, source: &str, target: &str) -> Result<(), DockerError> {
        self.record(DockerCall::Tag { source: source.into(), target: target.into() });
        self.check("tag", &format!("docker tag {source} {target}"))?;
        let mut state = self.state();
        let image = lookup(&state.images, source).cloned().ok_or_else(|| DockerError::Failed {
            command: format!("docker tag {source} {target}"),
            code: Some(1),
            stderr: format!("Error response from daemon: No such image: {source}"),
        })?;
        state.images.insert(target.to_string(), image);
        Ok(())
    }

    fn push(&self, reference: &str, progress: &dyn Progress) -> Result<(), DockerError> {
        self.record(DockerCall::Push(reference.into()));
        self.check("push", &format!("docker push {reference}"))?;
        self.replay(progress);
        Ok(())
    }

    fn run(&self, spec: &RunSpec) -> Result<RunOutput, DockerError> {
        self.record(DockerCall::Run(Box::new(spec.clone())));
        self.check("run", &format!("docker run {}", spec.image))?;
        let mut out = self.state().runs.get(&spec.image).cloned().unwrap_or_default();
        if spec.detach && out.container.is_none() {
            out.container = Some("fakecontainer".into());
        }
        if let (true, Some(name)) = (spec.detach, &spec.name) {
            let image = self
                .state()
                .images
                .get(&spec.image)
                .map(|i| i.id.clone())
                .unwrap_or_else(|| spec.image.clone());
            self.state().containers.insert(name.clone(), ContainerState { running: true, image });
        }
        Ok(out)
    }

    fn remove_container(&self, container: &str) -> Result<(), DockerError> {
        self.record(DockerCall::RemoveContainer(container.into()));
        self.check("rm", &format!("docker rm --force {container}"))?;
        self.state().containers.remove(container);
        Ok(())
    }

    fn container(&self, name: &str) -> Result<Option<ContainerState>, DockerError> {
        self.record(DockerCall::Container(name.into()));
        self.check("container", &format!("docker container inspect {name}"))?;
        Ok(self.state().containers.get(name).cloned())
    }

    fn remove_image(&self, image: &str, force: bool) -> Result<(), DockerError> {
        self.record(DockerCall::RemoveImage { image: image.into(), force });
        self.check("rmi", &format!("docker rmi {image}"))?;
        self.state().images.remove(image);
        Ok(())
    }
}

struct FakeSave {
    data: Cursor<Vec<u8>>,
    failure: Option<DockerError>,
}

impl Read for FakeSave {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.data.read(buf)
    }
}

impl SaveStream for FakeSave {
    fn finish(self: Box<Self>) -> Result<(), DockerError> {
        match self.failure {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

struct FakeLoad {
    fake: FakeDocker,
    bytes: Vec<u8>,
    failure: Option<DockerError>,
}

impl Write for FakeLoad {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.bytes.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl LoadSink for FakeLoad {
    fn finish(self: Box<Self>) -> Result<Loaded, DockerError> {
        self.fake.record(DockerCall::Load { bytes: self.bytes.len() });
        if let Some(e) = self.failure {
            return Err(e);
        }
        let (tags, image) = loaded_image(&self.bytes);
        let mut state = self.fake.state();
        if let Some(image) = image {
            for t in &tags {
                state.images.insert(t.clone(), image.clone());
            }
            state.images.insert(image.id.clone(), image);
        }
        state.loaded.push(self.bytes);
        Ok(Loaded { images: tags })
    }

    fn abort(self: Box<Self>) {
        self.fake.record(DockerCall::Load { bytes: self.bytes.len() });
    }
}

/// The tags and the image (as `docker image inspect` would show it) of an archive fed to
/// `docker load`: `manifest.json`'s `RepoTags`, and the config it names.
fn loaded_image(archive: &[u8]) -> (Vec<String>, Option<ImageInspect>) {
    let mut files: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    let mut tar = tar::Archive::new(Cursor::new(archive));
    if let Ok(entries) = tar.entries() {
        for mut entry in entries.flatten() {
            let name = entry.path().map(|p| p.display().to_string()).unwrap_or_default();
            if name.ends_with(".json") {
                let mut bytes = Vec::new();
                if entry.read_to_end(&mut bytes).is_ok() {
                    files.insert(name, bytes);
                }
            }
        }
    }
    let manifest: serde_json::Value =
        files.get("manifest.json").and_then(|m| serde_json::from_slice(m).ok()).unwrap_or_default();
    let tags: Vec<String> = manifest[0]["RepoTags"]
        .as_array()
        .map(|a| a.iter().filter_map(|t| t.as_str().map(str::to_string)).collect())
        .unwrap_or_default();
    let image = manifest[0]["Config"].as_str().and_then(|c| files.get(c)).and_then(|bytes| {
        use sha2::Digest;
        let cfg: serde_json::Value = serde_json::from_slice(bytes).ok()?;
        let inspect = serde_json::json!({
            "Id": format!("sha256:{}", hex::encode(sha2::Sha256::digest(bytes))),
            "RepoTags": tags,
            "Architecture": cfg["architecture"],
            "Os": cfg["os"],
            "Config": cfg["config"],
            "RootFS": {"Type": "layers", "Layers": cfg["rootfs"]["diff_ids"]},
        });
        serde_json::from_value(inspect).ok()
    });
    (tags, image)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pull_brings_the_image_in_and_every_call_is_recorded() {
        let img = ImageInspect { id: "sha256:ab".into(), architecture: "arm64".into(), ..Default::default() };
        let fake = FakeDocker::new().with_registry_image("r/x:1", img).with_progress(&["1: Pull complete"]);
        let docker: Box<dyn Docker> = Box::new(fake.clone());
        assert!(matches!(docker.inspect_one("r/x:1"), Err(DockerError::NotFound { .. })));
        let seen = std::cell::RefCell::new(Vec::new());
        docker.pull("r/x:1", Some("linux/arm64"), &|l: &str| seen.borrow_mut().push(l.to_string())).unwrap();
        assert_eq!(seen.into_inner(), vec!["1: Pull complete"]);
        assert_eq!(docker.inspect_one("r/x:1").unwrap().id, "sha256:ab");
        assert_eq!(docker.inspect_one("sha256:ab").unwrap().architecture, "arm64");
        assert_eq!(
            fake.calls()[1],
            DockerCall::Pull { reference: "r/x:1".into(), platform: Some("linux/arm64".into()) }
        );
    }

    #[test]
    fn a_failing_save_reports_dockers_stderr_at_finish() {
        let fake = FakeDocker::new().failing("save", "Error response from daemon: disk full");
        let mut s = fake.save("x:1").unwrap();
        let mut buf = Vec::new();
        s.read_to_end(&mut buf).unwrap();
        let e = s.finish().unwrap_err().to_string();
        assert!(e.contains("disk full"), "{e}");
    }
}
