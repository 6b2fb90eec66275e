//! Wheels for the target: resolve requirements on the JetPack/CUDA index (then PyPI for
//! pure-Python wheels), plan, download, and write a hash-pinned lock file.
//!
//! Resolution is greedy and breadth-first: top-level requirements first (nothing is downloaded
//! before their plan is known), then their `Requires-Dist` dependencies, read from PEP 658
//! metadata files when the index serves them, else from the wheel itself. A version once chosen
//! is kept; a later requirement it does not satisfy is reported as a conflict, not backtracked.

pub mod index;
pub mod requirements;
pub mod tags;

use pep440_rs::{Version, VersionSpecifiers};
use pep508_rs::{ExtraName, MarkerEnvironment, MarkerEnvironmentBuilder, Requirement, VersionOrUrl};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Mutex;

use super::cache::{hex_sha256, read_json, write_json_atomic};
use super::{Artifact, Fetched, Fetcher, Reporter};
use index::IndexFile;
use tags::{normalize, Target, WheelName};

/// One index with its mirrors, in order.
#[derive(Debug, Clone, Serialize)]
pub struct IndexSpec {
    pub name: String,
    pub urls: Vec<String>,
    /// Only wheels that need no compiler and no CUDA (`py3-none-any`) are taken from it (PyPI:
    /// its aarch64 torch is a CPU build).
    pub pure_only: bool,
}

#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Choice {
    Wheel {
        filename: String,
        version: String,
        url: String,
        sha256: Option<String>,
        index: String,
    },
    /// No wheel for the target: pip would build this from source.
    Source {
        version: Option<String>,
        why: String,
    },
    /// Not on any index at all, or no version matches.
    Missing {
        why: String,
    },
    /// A direct URL or the like: pip handles it.
    LeftToPip {
        why: String,
    },
}

#[derive(Debug, Clone, Serialize)]
pub struct PlanItem {
    pub name: String,
    pub requirement: String,
    /// The package that needs it; `None` for a line of the requirements file.
    pub required_by: Option<String>,
    #[serde(flatten)]
    pub choice: Choice,
}

impl PlanItem {
    pub fn builds_from_source(&self) -> bool {
        matches!(self.choice, Choice::Source { .. } | Choice::Missing { .. })
    }
}

#[derive(Debug, Default, Serialize)]
pub struct Plan {
    pub items: Vec<PlanItem>,
    /// Dead indexes, version conflicts, ignored options.
    pub warnings: Vec<String>,
}

impl Plan {
    pub fn wheels(&self) -> impl Iterator<Item = &PlanItem> {
        self.items.iter().filter(|i| matches!(i.choice, Choice::Wheel { .. }))
    }
    pub fn from_source(&self) -> impl Iterator<Item = &PlanItem> {
        self.items.iter().filter(|i| i.builds_from_source())
    }
    pub fn missing(&self) -> impl Iterator<Item = &PlanItem> {
        self.items.iter().filter(|i| matches!(i.choice, Choice::Missing { .. }))
    }
}

/// PEP 508 marker values for a Linux CPython target.
pub fn marker_env(t: &Target) -> MarkerEnvironment {
    let v = format!("{}.{}", t.python.0, t.python.1);
    let full = format!("{v}.0");
    MarkerEnvironment::try_from(MarkerEnvironmentBuilder {
        implementation_name: "cpython",
        implementation_version: &full,
        os_name: "posix",
        platform_machine: t.arch(),
        platform_python_implementation: "CPython",
        platform_release: "",
        platform_system: "Linux",
        platform_version: "",
        python_full_version: &full,
        python_version: &v,
        sys_platform: "linux",
    })
    .expect("numeric python version")
}

type Pages = Mutex<HashMap<(usize, String), Option<Vec<IndexFile>>>>;
/// (normalised name, version, sha256) of each wheel placed in the wheelhouse.
pub type Pinned = Vec<(String, String, String)>;

pub struct Resolver<'a> {
    pub fetcher: &'a Fetcher,
    pub target: Target,
    pub indexes: Vec<IndexSpec>,
    env: MarkerEnvironment,
    python: Version,
    scorer: tags::TagScorer,
    pages: Pages,
    dead: Mutex<HashSet<usize>>,
    warnings: Mutex<Vec<String>>,
}

#[derive(Debug, thiserror::Error)]
pub enum WheelsError {
    #[error(transparent)]
    Requirements(#[from] requirements::RequirementsError),
    #[error(transparent)]
    Fetch(#[from] super::FetchError),
    #[error("{0}")]
    Other(String),
}

impl<'a> Resolver<'a> {
    pub fn new(fetcher: &'a Fetcher, target: Target, indexes: Vec<IndexSpec>) -> Resolver<'a> {
        let python =
            Version::from_str(&format!("{}.{}.0", target.python.0, target.python.1)).expect("numeric");
        Resolver {
            fetcher,
            env: marker_env(&target),
            scorer: target.scorer(),
            target,
            indexes,
            python,
            pages: Mutex::new(HashMap::new()),
            dead: Mutex::new(HashSet::new()),
            warnings: Mutex::new(Vec::new()),
        }
    }

    fn warn(&self, w: String) {
        let mut ws = self.warnings.lock().unwrap();
        if !ws.contains(&w) {
            ws.push(w);
        }
    }

    /// The files an index lists for a project; `None` when the index does not have it. A dead
    /// index (every mirror failing) is reported once and skipped for the rest of the run.
    fn project(&self, idx: usize, name: &str) -> Option<Vec<IndexFile>> {
        let key = (idx, normalize(name));
        if let Some(hit) = self.pages.lock().unwrap().get(&key) {
            return hit.clone();
        }
        if self.dead.lock().unwrap().contains(&idx) {
            return None;
        }
        let spec = &self.indexes[idx];
        let mut errors = Vec::new();
        let mut result = None;
        let mut answered = false;
        for base in &spec.urls {
            let url = index::project_url(base, name);
            let cache_file =
                self.fetcher.cache.root.join("index").join(format!("{}.json", hex_sha256(url.as_bytes())));
            if self.fetcher.opts.offline {
                if let Some(files) = read_json::<Option<Vec<IndexFile>>>(&cache_file) {
                    result = files;
                    answered = true;
                    break;
                }
                errors.push(format!("{url}: not in the cache (--offline)"));
                continue;
            }
            match self.get_page(&url) {
                Ok(files) => {
                    let _ = write_json_atomic(&cache_file, &files);
                    result = files;
                    answered = true;
                    break;
                }
                Err(e) => errors.push(format!("{url}: {e}")),
            }
        }
        if !answered {
            self.dead.lock().unwrap().insert(idx);
            if self.fetcher.opts.offline {
                self.warn(format!("index {}: no cached page for {name} (--offline)", spec.name));
                // Offline, one missing page says nothing about the next project.
                self.dead.lock().unwrap().remove(&idx);
            } else {
                self.warn(format!("index {} is unreachable, skipped: {}", spec.name, errors.join("; ")));
            }
        }
        self.pages.lock().unwrap().insert(key, result.clone());
        result
    }

    /// GET a project page with retries; `Ok(None)` for 404.
    fn get_page(&self, url: &str) -> Result<Option<Vec<IndexFile>>, String> {
        let opts = &self.fetcher.opts;
        let mut attempt = 0;
        loop {
            let r = self.fetcher.client().get(url).header(reqwest::header::ACCEPT, index::ACCEPT).send();
            let why = match r {
                Ok(resp) if resp.status() == reqwest::StatusCode::NOT_FOUND => return Ok(None),
                Ok(resp) if resp.status().is_success() => {
                    let final_url = resp.url().to_string();
                    let ct = resp
                        .headers()
                        .get(reqwest::header::CONTENT_TYPE)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("")
                        .to_string();
                    match resp.text() {
                        Ok(body) => return index::parse(&final_url, &ct, &body).map(Some),
                        Err(e) => e.to_string(),
                    }
                }
                Ok(resp)
                    if resp.status().is_server_error()
                        || resp.status().as_u16() == 429
                        || resp.status().as_u16() == 408 =>
                {
                    format!("HTTP {}", resp.status())
                }
                Ok(resp) => return Err(format!("HTTP {}", resp.status())),
                Err(e) => e.to_string(),
            };
            if attempt >= opts.retries {
                return Err(format!("{why} (after {} attempts)", attempt + 1));
            }
            std::thread::sleep(super::engine::backoff(opts.backoff_base, opts.backoff_max, attempt));
            attempt += 1;
        }
    }

    /// Picks a file for one requirement.
    pub fn choose(&self, req: &Requirement, hashes: &[String]) -> Choice {
        let name = req.name.to_string();
        let spec = match &req.version_or_url {
            None => VersionSpecifiers::empty(),
            Some(VersionOrUrl::VersionSpecifier(s)) => s.clone(),
            Some(VersionOrUrl::Url(u)) => {
                return Choice::LeftToPip { why: format!("direct URL {u}: pip fetches it") }
            }
        };
        let mut sdist_versions: Vec<Version> = Vec::new();
        let mut foreign = 0usize;
        let mut not_pure = 0usize;
        let mut seen_any = false;
        for (i, idx) in self.indexes.iter().enumerate() {
            let Some(files) = self.project(i, &name) else { continue };
            seen_any = true;
            let mut candidates: Vec<(Version, usize, &IndexFile)> = Vec::new();
            for f in files.iter().filter(|f| !f.yanked) {
                if let Some(rp) = &f.requires_python {
                    if VersionSpecifiers::from_str(rp).is_ok_and(|s| !s.contains(&self.python)) {
                        continue;
                    }
                }
                // A `--hash` pin in the requirements file: only that file (an index without hashes
                // gets the pin checked on download instead).
                if !hashes.is_empty() && f.sha256.as_ref().is_some_and(|h| !hashes.contains(h)) {
                    continue;
                }
                let Some(w) = WheelName::parse(&f.filename) else {
                    if let Some(v) = sdist_version(&f.filename, &name) {
                        if spec.contains(&v) {
                            sdist_versions.push(v);
                        }
                    }
                    continue;
                };
                if w.name != normalize(&name) || !spec.contains(&w.version) {
                    continue;
                }
                if idx.pure_only && !w.is_pure() {
                    not_pure += 1;
                    continue;
                }
                match self.scorer.score(&w) {
                    Some(s) => candidates.push((w.version, s, f)),
                    None => foreign += 1,
                }
            }
            // pip's rule: pre-releases only when asked for, or when nothing else matches
            // (the JetPack 6.1 torch is `2.5.0a0+...`).
            if !spec.iter().any(|s| s.any_prerelease()) && candidates.iter().any(|c| !c.0.any_prerelease()) {
                candidates.retain(|c| !c.0.any_prerelease());
            }
            if let Some((v, _, f)) = candidates.into_iter().min_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1))) {
                return Choice::Wheel {
                    filename: f.filename.clone(),
                    version: v.to_string(),
                    url: f.url.clone(),
                    sha256: f.sha256.clone().or_else(|| (hashes.len() == 1).then(|| hashes[0].clone())),
                    index: idx.name.clone(),
                };
            }
        }
        let target = format!("cp{}{} {}", self.target.python.0, self.target.python.1, self.target.platform);
        let mut seen_note = String::new();
        if foreign > 0 {
            seen_note.push_str(&format!(" ({foreign} wheels for other targets)"));
        }
        if not_pure > 0 {
            seen_note.push_str(&format!(" ({not_pure} not pure-Python wheels ignored on pure-only indexes)"));
        }
        sdist_versions.sort();
        match (sdist_versions.pop(), seen_any) {
            (Some(v), _) => Choice::Source {
                version: Some(v.to_string()),
                why: format!(
                    "no wheel for {target} on {}{seen_note}; pip would build {name} {v} from source",
                    self.index_names(),
                ),
            },
            (None, true) => Choice::Missing {
                why: format!(
                    "no file of {name} matches {} for {target} on {}{seen_note}",
                    if spec.is_empty() { "any version".to_string() } else { format!("`{spec}`") },
                    self.index_names(),
                ),
            },
            (None, false) => Choice::Missing { why: format!("{name} is on none of {}", self.index_names()) },
        }
    }

    fn index_names(&self) -> String {
        self.indexes.iter().map(|i| i.name.as_str()).collect::<Vec<_>>().join(", ")
    }

    fn requires_hash(&self, name: &str, pins: &HashMap<String, Vec<String>>) -> Vec<String> {
        pins.get(&normalize(name)).cloned().unwrap_or_default()
    }

    /// Resolves the top-level requirements only: no download.
    pub fn plan_top_level(&self, reqs: &requirements::Requirements) -> Plan {
        let mut plan = Plan::default();
        let mut seen = HashSet::new();
        for line in &reqs.lines {
            if !line.requirement.evaluate_markers(&self.env, &[]) {
                continue;
            }
            let name = normalize(line.requirement.name.as_ref());
            if !seen.insert(name.clone()) {
                plan.warnings.push(format!("{}: {name} is listed twice; the first line wins", line.origin));
                continue;
            }
            plan.items.push(PlanItem {
                name,
                requirement: line.requirement.to_string(),
                required_by: None,
                choice: self.choose(&line.requirement, &line.hashes),
            });
        }
        for w in &reqs.ignored {
            plan.warnings.push(format!("{w} ignored: jetdoc uses its index table or --index"));
        }
        plan.warnings.extend(self.warnings.lock().unwrap().drain(..));
        plan
    }

    /// Adds the dependencies of the chosen wheels, level by level. Metadata comes from PEP 658
    /// files or, failing that, from the wheel (fetched into the cache, used later anyway).
    pub fn add_dependencies(
        &self,
        plan: &mut Plan,
        reqs: &requirements::Requirements,
        rep: &dyn Reporter,
    ) -> Result<(), WheelsError> {
        let pins: HashMap<String, Vec<String>> = reqs
            .lines
            .iter()
            .filter(|l| !l.hashes.is_empty())
            .map(|l| (normalize(l.requirement.name.as_ref()), l.hashes.clone()))
            .collect();
        let extras_of: HashMap<String, Vec<ExtraName>> = reqs
            .lines
            .iter()
            .map(|l| (normalize(l.requirement.name.as_ref()), l.requirement.extras.clone()))
            .collect();
        let mut frontier: Vec<usize> = (0..plan.items.len()).collect();
        let mut depth = 0;
        while !frontier.is_empty() && depth < 50 {
            depth += 1;
            let parents: Vec<(String, Vec<ExtraName>, Choice)> = frontier
                .iter()
                .map(|&i| {
                    (
                        plan.items[i].name.clone(),
                        extras_of.get(&plan.items[i].name).cloned().unwrap_or_default(),
                        plan.items[i].choice.clone(),
                    )
                })
                .collect();
            let metas = self.metadata_of(&parents, rep)?;
            let mut wanted: BTreeMap<String, (Requirement, String)> = BTreeMap::new();
            for ((parent, extras, _), deps) in parents.iter().zip(metas) {
                for dep in deps {
                    if !dep.evaluate_markers(&self.env, extras) {
                        continue;
                    }
                    let name = normalize(dep.name.as_ref());
                    if let Some(existing) = plan.items.iter().find(|i| i.name == name) {
                        if let (Choice::Wheel { version, .. }, Some(VersionOrUrl::VersionSpecifier(spec))) =
                            (&existing.choice, &dep.version_or_url)
                        {
                            if Version::from_str(version).is_ok_and(|v| !spec.contains(&v)) {
                                plan.warnings.push(format!(
                                    "conflict: {parent} needs `{dep}` but {name} {version} was chosen; pin {name} in the requirements file"
                                ));
                            }
                        }
                        continue;
                    }
                    match wanted.get_mut(&name) {
                        // Several packages of this level need it: all their specifiers apply.
                        Some((req, parents)) => {
                            if let (
                                Some(VersionOrUrl::VersionSpecifier(have)),
                                Some(VersionOrUrl::VersionSpecifier(more)),
                            ) = (&req.version_or_url, &dep.version_or_url)
                            {
                                let merged: VersionSpecifiers =
                                    have.iter().chain(more.iter()).cloned().collect();
                                req.version_or_url = Some(VersionOrUrl::VersionSpecifier(merged));
                            } else if req.version_or_url.is_none() {
                                req.version_or_url = dep.version_or_url.clone();
                            }
                            parents.push_str(&format!(", {parent}"));
                        }
                        None => {
                            wanted.insert(name, (dep, parent.clone()));
                        }
                    }
                }
            }
            frontier.clear();
            for (name, (dep, parent)) in wanted {
                let choice = self.choose(&dep, &self.requires_hash(&name, &pins));
                plan.items.push(PlanItem {
                    name,
                    requirement: dep.to_string(),
                    required_by: Some(parent),
                    choice,
                });
                frontier.push(plan.items.len() - 1);
            }
        }
        plan.warnings.extend(self.warnings.lock().unwrap().drain(..));
        Ok(())
    }

    fn metadata_of(
        &self,
        parents: &[(String, Vec<ExtraName>, Choice)],
        rep: &dyn Reporter,
    ) -> Result<Vec<Vec<Requirement>>, WheelsError> {
        let mut out = vec![Vec::new(); parents.len()];
        let mut need_wheel = Vec::new();
        for (i, (name, _, choice)) in parents.iter().enumerate() {
            let Choice::Wheel { filename, url, sha256, .. } = choice else { continue };
            match self.pep658(name, url) {
                Some(text) => out[i] = requires_dist(&text),
                None => need_wheel.push((
                    i,
                    Artifact { name: filename.clone(), urls: vec![url.clone()], sha256: sha256.clone() },
                )),
            }
        }
        let artifacts: Vec<Artifact> = need_wheel.iter().map(|(_, a)| a.clone()).collect();
        for ((i, a), r) in need_wheel.iter().zip(self.fetcher.fetch_all(&artifacts, rep)) {
            let f = r?;
            let text = wheel_metadata(&f.path).map_err(|e| {
                WheelsError::Other(format!(
                    "{}: {e}\n  the wheel is broken; report it to the index's owner",
                    a.name
                ))
            })?;
            out[*i] = requires_dist(&text);
        }
        Ok(out)
    }

    /// The METADATA file next to a wheel (PEP 658), when the index announced one.
    fn pep658(&self, name: &str, wheel_url: &str) -> Option<String> {
        let announced = self
            .pages
            .lock()
            .unwrap()
            .iter()
            .filter(|((_, n), _)| *n == normalize(name))
            .flat_map(|(_, files)| files.iter().flatten())
            .find(|f| f.url == wheel_url)
            .and_then(|f| f.metadata.clone())?;
        let a = Artifact {
            name: format!("{name} metadata"),
            urls: vec![format!("{wheel_url}.metadata")],
            sha256: announced,
        };
        let f = self.fetcher.fetch(usize::MAX, &a, &super::Silent).ok()?;
        std::fs::read_to_string(f.path).ok()
    }
}

/// `name-1.2.tar.gz` / `.zip` -> version, for source distributions of `name`.
fn sdist_version(file: &str, name: &str) -> Option<Version> {
    let stem = file.strip_suffix(".tar.gz").or(file.strip_suffix(".zip")).or(file.strip_suffix(".tar.bz2"))?;
    let (n, v) = stem.rsplit_once('-')?;
    (normalize(n) == normalize(name)).then(|| Version::from_str(v).ok()).flatten()
}

/// Reads `*.dist-info/METADATA` from a wheel.
pub fn wheel_metadata(path: &Path) -> Result<String, String> {
    let file = std::fs::File::open(path).map_err(|e| e.to_string())?;
    let mut zip = zip::ZipArchive::new(file).map_err(|e| format!("not a zip: {e}"))?;
    let name = zip
        .file_names()
        .find(|n| n.matches('/').count() == 1 && n.ends_with(".dist-info/METADATA"))
        .map(str::to_string)
        .ok_or("no *.dist-info/METADATA")?;
    let mut text = String::new();
    zip.by_name(&name).map_err(|e| e.to_string())?.read_to_string(&mut text).map_err(|e| e.to_string())?;
    Ok(text)
}

/// `Requires-Dist:` headers of a METADATA file (the header block ends at the first blank line).
pub fn requires_dist(metadata: &str) -> Vec<Requirement> {
    metadata
        .lines()
        .take_while(|l| !l.trim().is_empty())
        .filter_map(|l| l.strip_prefix("Requires-Dist:"))
        .filter_map(|r| Requirement::from_str(r.trim()).ok())
        .collect()
}

/// The lock file: every wheel pinned with its hash, in the format
/// `pip install --require-hashes --no-index --find-links wheelhouse -r requirements.lock` takes.
pub fn lock_file(header: &str, pinned: &[(String, String, String)]) -> String {
    let mut out = String::new();
    for line in header.lines() {
        out.push_str(&format!("# {line}\n"));
    }
    let mut rows: Vec<&(String, String, String)> = pinned.iter().collect();
    rows.sort();
    for (name, version, sha) in rows {
        out.push_str(&format!("{name}=={version} \\\n    --hash=sha256:{sha}\n"));
    }
    out
}

/// Downloads every planned wheel and places it in `out_dir`; returns (name, version, sha256).
pub fn download(
    fetcher: &Fetcher,
    plan: &Plan,
    out_dir: &Path,
    rep: &dyn Reporter,
) -> (Pinned, Vec<(String, super::FetchError)>) {
    let items: Vec<&PlanItem> = plan.wheels().collect();
    let artifacts: Vec<Artifact> = items
        .iter()
        .map(|i| match &i.choice {
            Choice::Wheel { filename, url, sha256, .. } => {
                Artifact { name: filename.clone(), urls: vec![url.clone()], sha256: sha256.clone() }
            }
            _ => unreachable!("wheels() filters"),
        })
        .collect();
    let mut pinned = Vec::new();
    let mut failed = Vec::new();
    for ((item, a), r) in items.iter().zip(&artifacts).zip(fetcher.fetch_all(&artifacts, rep)) {
        let Choice::Wheel { version, .. } = &item.choice else { continue };
        match r.and_then(|f: Fetched| super::cache::place(&f.path, &out_dir.join(&a.name)).map(|_| f)) {
            Ok(f) => pinned.push((item.name.clone(), version.clone(), f.sha256)),
            Err(e) => failed.push((a.name.clone(), e)),
        }
    }
    (pinned, failed)
}

pub fn lock_path(out_dir: &Path) -> PathBuf {
    out_dir.join("requirements.lock")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requires_dist_reads_the_header_block_only() {
        let md = "Metadata-Version: 2.1\nName: demo\nRequires-Dist: numpy (>=1.22)\nRequires-Dist: filelock ; python_version >= \"3.8\"\nRequires-Dist: pytest ; extra == 'test'\n\nRequires-Dist: not-a-header\n";
        let r = requires_dist(md);
        assert_eq!(r.len(), 3);
        let env = marker_env(&Target { python: (3, 10), platform: "linux_aarch64".into(), glibc: None });
        assert!(r[1].evaluate_markers(&env, &[]));
        assert!(!r[2].evaluate_markers(&env, &[]));
        assert!(r[2].evaluate_markers(&env, &[ExtraName::from_str("test").unwrap()]));
    }

    #[test]
    fn sdist_versions_and_lock_format() {
        assert_eq!(sdist_version("Demo_Pkg-1.2.tar.gz", "demo-pkg"), Some(Version::from_str("1.2").unwrap()));
        assert_eq!(sdist_version("other-1.2.tar.gz", "demo"), None);
        let lock = lock_file(
            "made by jetdoc",
            &[("b".into(), "2".into(), "f".repeat(64)), ("a".into(), "1".into(), "e".repeat(64))],
        );
        assert!(lock.starts_with("# made by jetdoc\na==1 \\\n    --hash=sha256:eee"), "{lock}");
    }
}
