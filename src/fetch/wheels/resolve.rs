//! The resolver: index pages (PEP 503/691, read within caps, cached for `--offline`), the choice
//! of one file per requirement for the target (tags, markers, `requires-python`, yanked files,
//! pre-releases as pip treats them, `--hash` pins), and dependencies level by level.

use crate::redact;
use pep440_rs::{Version, VersionSpecifiers};
use pep508_rs::{ExtraName, MarkerEnvironment, Requirement, VersionOrUrl};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::str::FromStr;
use std::sync::Mutex;

use super::index::{self, IndexFile};
use super::metadata::{metadata_file, requires_dist, wheel_metadata};
use super::tags::{self, normalize, Target, WheelName};
use super::{marker_env, requirements, Choice, IndexSpec, Plan, PlanItem, WheelsError};
use crate::fetch::body::read_capped;
use crate::fetch::cache::{read_json, write_json_atomic};
use crate::fetch::engine::{backoff, describe_request_error, RequestFailure};
use crate::fetch::{Artifact, Fetcher, Reporter};

type Pages = Mutex<HashMap<(usize, String), Option<Vec<IndexFile>>>>;

pub struct Resolver<'a> {
    pub fetcher: &'a Fetcher,
    pub target: Target,
    pub indexes: Vec<IndexSpec>,
    env: MarkerEnvironment,
    python: Version,
    scorer: tags::TagScorer,
    pages: Pages,
    dead: Mutex<HashSet<usize>>,
    /// Some index answered (a page or a 404) at least once.
    answered: std::sync::atomic::AtomicBool,
    warnings: Mutex<Vec<String>>,
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
            answered: std::sync::atomic::AtomicBool::new(false),
            warnings: Mutex::new(Vec::new()),
        }
    }

    fn warn(&self, w: String) {
        let w = redact::text(&w);
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
            let cache_file = self.fetcher.cache.index_page(&url);
            if self.fetcher.opts.offline {
                if let Some(files) = read_json::<Option<Vec<IndexFile>>>(&cache_file) {
                    result = files;
                    answered = true;
                    break;
                }
                errors.push(format!("{}: not in the cache (--offline)", redact::url(&url)));
                continue;
            }
            match self.get_page(&url) {
                Ok(page) => {
                    let files = page.map(|p| {
                        if p.refused > 0 {
                            self.warn(format!(
                                "index {}: {} file name(s) on the page of {name} refused (a path, a dot-file, or longer than {} bytes)",
                                spec.name,
                                p.refused,
                                crate::fetch::engine::NAME_MAX
                            ));
                        }
                        p.files
                    });
                    // The cache keeps no credentials: offline runs find files by hash or URL key.
                    let stored: Option<Vec<IndexFile>> = files.as_ref().map(|fs| {
                        fs.iter()
                            .map(|f| IndexFile { url: redact::strip_credentials(&f.url), ..f.clone() })
                            .collect()
                    });
                    let _ = write_json_atomic(&cache_file, &stored);
                    result = files;
                    answered = true;
                    break;
                }
                Err(e) => errors.push(format!("{}: {e}", redact::url(&url))),
            }
        }
        if answered {
            self.answered.store(true, std::sync::atomic::Ordering::Relaxed);
        } else {
            self.dead.lock().unwrap().insert(idx);
            if self.fetcher.opts.offline {
                self.warn(format!("index {}: no cached page for {name} (--offline)", spec.name));
                // Offline, one missing page says nothing about the next project.
                self.dead.lock().unwrap().remove(&idx);
            } else {
                self.warn(format!("index {} failed, skipped: {}", spec.name, errors.join("; ")));
            }
        }
        self.pages.lock().unwrap().insert(key, result.clone());
        result
    }

    /// GET a project page with retries; `Ok(None)` for 404. The body is read within
    /// `Limits::index_page`; errors name the URL (credentials masked).
    fn get_page(&self, url: &str) -> Result<Option<index::Page>, String> {
        let opts = &self.fetcher.opts;
        let shown = redact::url(url);
        let client = self.fetcher.client().map_err(|e| e.to_string())?;
        let mut attempt = 0;
        loop {
            let r = client.get(url).header(reqwest::header::ACCEPT, index::ACCEPT).send();
            let why = match r {
                Ok(resp) if resp.status() == reqwest::StatusCode::NOT_FOUND => return Ok(None),
                Ok(resp) if resp.status().is_success() => {
                    // reqwest moves a URL's credentials into the Authorization header and drops
                    // them from the URL: give them back, so links to the same host carry them.
                    let final_url = index::with_credentials_of(url, resp.url());
                    let header = |h| resp.headers().get(h).and_then(|v| v.to_str().ok()).map(str::to_string);
                    let ct = header(reqwest::header::CONTENT_TYPE).unwrap_or_default();
                    let declared =
                        header(reqwest::header::CONTENT_LENGTH).and_then(|v| v.trim().parse().ok());
                    let body = read_capped(resp, declared, opts.limits.index_page, &shown, "an index page")
                        .map_err(|e| e.to_string())?;
                    let text = String::from_utf8_lossy(&body);
                    return index::parse(&final_url, &ct, &text, opts.limits.index_files)
                        .map(Some)
                        .map_err(|e| format!("{shown}: {e}"));
                }
                Ok(resp) if resp.status().is_redirection() => {
                    let to = resp.headers().get(reqwest::header::LOCATION).and_then(|v| v.to_str().ok());
                    return Err(format!(
                        "redirect ({}) to {} not followed: only http and https redirects are followed",
                        resp.status().as_u16(),
                        redact::url(to.unwrap_or("nowhere"))
                    ));
                }
                Ok(resp)
                    if resp.status().is_server_error()
                        || resp.status().as_u16() == 429
                        || resp.status().as_u16() == 408 =>
                {
                    format!("HTTP {}", resp.status())
                }
                Ok(resp) => return Err(format!("HTTP {}", resp.status())),
                Err(e) => match describe_request_error(&e, &shown) {
                    RequestFailure::Permanent(m) => return Err(m),
                    RequestFailure::Transient(m) => m,
                },
            };
            if attempt >= opts.retries {
                return Err(format!("{why} (after {} attempts)", attempt + 1));
            }
            std::thread::sleep(backoff(opts.backoff_base, opts.backoff_max, attempt));
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
                return Choice::LeftToPip { why: redact::text(&format!("direct URL {u}: pip fetches it")) }
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
                    size: f.size,
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
                requirement: redact::text(&line.requirement.to_string()),
                required_by: None,
                choice: self.choose(&line.requirement, &line.hashes),
            });
        }
        for w in &reqs.ignored {
            plan.warnings.push(format!("{w} ignored: jetdoc uses its index table or --index"));
        }
        plan.warnings.extend(self.warnings.lock().unwrap().drain(..));
        plan.no_index_answered = !self.answered.load(std::sync::atomic::Ordering::Relaxed);
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
                    requirement: redact::text(&dep.to_string()),
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
        let cap = self.fetcher.opts.limits.metadata_header;
        let mut out = vec![Vec::new(); parents.len()];
        let mut need_wheel = Vec::new();
        for (i, (name, _, choice)) in parents.iter().enumerate() {
            let Choice::Wheel { .. } = choice else { continue };
            let item = PlanItem {
                name: name.clone(),
                requirement: String::new(),
                required_by: None,
                choice: choice.clone(),
            };
            let Some(wheel) = super::lock::artifact(&item) else { continue };
            match self.pep658(name, &wheel.urls[0]) {
                Ok(Some(text)) => out[i] = requires_dist(&text),
                Ok(None) => need_wheel.push((i, wheel)),
                Err(Pep658::Fetch(e)) => {
                    // The wheel carries the same METADATA: read it there.
                    self.warn(format!("{e}\n  reading the metadata from the wheel instead"));
                    need_wheel.push((i, wheel));
                }
                Err(Pep658::Header(e)) => {
                    return Err(WheelsError::Other(format!(
                        "{e}\n  the index serves broken metadata for {name}; report it to the index's owner"
                    )))
                }
            }
        }
        let artifacts: Vec<Artifact> = need_wheel.iter().map(|(_, a)| a.clone()).collect();
        for ((i, a), r) in need_wheel.iter().zip(self.fetcher.fetch_all(&artifacts, rep)) {
            let f = r?;
            let text = wheel_metadata(&f.path, cap).map_err(|e| {
                WheelsError::Other(format!(
                    "{} ({}): {e}\n  the wheel is broken; report it to the index's owner",
                    a.name,
                    redact::url(&a.urls[0])
                ))
            })?;
            out[*i] = requires_dist(&text);
        }
        Ok(out)
    }

    /// The METADATA file next to a wheel (PEP 658), when the index announced one: at most
    /// `Limits::metadata_file` downloaded (and hashed), its header block read.
    fn pep658(&self, name: &str, wheel_url: &str) -> Result<Option<String>, Pep658> {
        let announced = self
            .pages
            .lock()
            .unwrap()
            .iter()
            .filter(|((_, n), _)| *n == normalize(name))
            .flat_map(|(_, files)| files.iter().flatten())
            .find(|f| f.url == wheel_url)
            .and_then(|f| f.metadata.clone());
        let Some(announced) = announced else { return Ok(None) };
        let limits = self.fetcher.opts.limits;
        let a = Artifact {
            max_size: Some(limits.metadata_file),
            ..Artifact::new(format!("{name} metadata"), format!("{wheel_url}.metadata"), announced)
        };
        let f = self
            .fetcher
            .fetch(usize::MAX, &a, &crate::fetch::Silent)
            .map_err(|e| Pep658::Fetch(e.to_string()))?;
        metadata_file(&f.path, limits.metadata_header)
            .map(Some)
            .map_err(|e| Pep658::Header(format!("{}: {e}", redact::url(&a.urls[0]))))
    }
}

enum Pep658 {
    /// The file could not be downloaded (too large, gone): the wheel has the same metadata.
    Fetch(String),
    /// The file is there but is not core metadata.
    Header(String),
}

/// `name-1.2.tar.gz` / `.zip` -> version, for source distributions of `name`.
fn sdist_version(file: &str, name: &str) -> Option<Version> {
    let stem = file.strip_suffix(".tar.gz").or(file.strip_suffix(".zip")).or(file.strip_suffix(".tar.bz2"))?;
    let (n, v) = stem.rsplit_once('-')?;
    (normalize(n) == normalize(name)).then(|| Version::from_str(v).ok()).flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sdist_versions() {
        assert_eq!(sdist_version("Demo_Pkg-1.2.tar.gz", "demo-pkg"), Some(Version::from_str("1.2").unwrap()));
        assert_eq!(sdist_version("other-1.2.tar.gz", "demo"), None);
    }
}
