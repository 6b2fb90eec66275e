//! `jetdoc image matrix FILE`: resolve a matrix of base images, print the plan (human or the JSON
//! contract CI reads), write the Dockerfiles, and build, smoke-test, tag and push each variant.

use anyhow::{anyhow, bail, Context as _, Result};
use serde::Serialize;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use super::reporters::TerminalBuildReporter;
use super::{build_context, use_color, ExitCode};
use crate::cli::{Format, GlobalArgs, ImageMatrixArgs};
use crate::container::budget::{Budget, Verdict};
use crate::container::build::{parse_step, BuildReporter};
use crate::container::matrix::generate::{self, Generated};
use crate::container::matrix::index;
use crate::container::matrix::plan::{labels, IndexPlan, L4tFrom, MetaJson, Plan, PlanInput, VariantPlan};
use crate::container::matrix::{self, BuildMeta, Matrix, MetaFlags};
use crate::container::registry::{Credentials, Reference, RegistryClient, OCI_INDEX};
use crate::host::docker::{BuildSpec, Builder, Docker, DockerError, RunSpec};
use crate::host::Host;
use crate::knowledge::L4tVersion;
use crate::probes::Identity;

pub fn run(g: &GlobalArgs, a: &ImageMatrixArgs) -> Result<ExitCode> {
    let m = Matrix::load(&a.file)?;
    let ctx = build_context(g)?;
    if let Some(r) = &a.push {
        matrix::tags::check_registry(r).map_err(|why| anyhow!("--push {r}: {why}"))?;
    }
    let mut bases = BTreeMap::new();
    for b in &a.bases {
        let (variant, image) =
            b.split_once('=').ok_or_else(|| anyhow!("--base {b}: write VARIANT=IMAGE (e.g. base_edge_node_amd64_cpu=mirror.example.com/ubuntu:24.04)"))?;
        bases.insert(variant.to_string(), image.to_string());
    }
    let selected = |n: &str| a.only.is_empty() || a.only.iter().any(|o| o == n);
    let wants_l4t = m.file.variants.iter().any(|v| v.jetpack.is_some() && selected(v.name.get_ref()));
    let l4t = match &a.l4t {
        Some(s) => Some((
            L4tVersion::parse(s)
                .ok_or_else(|| anyhow!("--l4t {s} is not an L4T release such as 36.4 or 36.4.3"))?,
            L4tFrom::Flag,
        )),
        // Only a Jetson variant reads the device; a plain x86 build never probes anything.
        None if wants_l4t => ctx.get::<Identity>().l4t.value().map(|v| (*v, L4tFrom::Detected)),
        None => None,
    };
    let flags = MetaFlags {
        sha: a.git_sha.clone(),
        date: a.date.clone(),
        version: a.release.clone(),
        source: a.source.clone(),
    };
    // The CI run's metadata is the environment jetdoc itself runs in (not a --root's).
    let meta = BuildMeta::gather(&flags, |k| std::env::var(k).ok(), jiff::Timestamp::now())
        .map_err(|e| anyhow!(e))?;
    let plan = matrix::resolve(
        &m,
        &ctx.knowledge,
        &PlanInput {
            only: &a.only,
            l4t,
            python_fallback: a.python_fallback,
            registry: a.push.as_deref(),
            bases: &bases,
            meta: &meta,
        },
    )?;
    for w in &plan.warnings {
        warn(g, w);
    }

    if a.dry_run {
        let mut emitted = BTreeMap::new();
        if let Some(dir) = &a.emit_dockerfiles {
            for v in &plan.variants {
                let generated = generate::generate(&m, v, None);
                let path = emit(g, dir, v, &generated)?;
                emitted.insert(v.name.clone(), path);
            }
        }
        if g.format == Format::Json {
            let mut out = plan_json(&plan)?;
            out["dry_run"] = json!(true);
            for v in out["variants"].as_array_mut().into_iter().flatten() {
                let name = v["name"].as_str().unwrap_or_default().to_string();
                v["dockerfile"] = json!(emitted.get(&name));
            }
            print_json(&out)?;
        } else {
            print_plan(g, &plan);
        }
        return Ok(0);
    }
    // The images are built by this machine's engine; a --root only told which L4T to build for.
    let live;
    let docker = match ctx.host.docker() {
        Ok(d) => d,
        Err(_) if g.root.is_some() => {
            live = Host::live();
            live.docker()?
        }
        Err(e) => return Err(e.into()),
    };
    build_all(g, a, &m, &plan, docker)
}

// ---- building ------------------------------------------------------------------------------

/// What happened to one variant (JSON `variants[].result`).
#[derive(Debug, Clone, Default, Serialize)]
struct VariantResult {
    /// `built`, `failed` or `skipped`.
    status: &'static str,
    /// Where a failure happened: `base`, `build`, `smoke`, `push`.
    stage: Option<&'static str>,
    error: Option<String>,
    id: Option<String>,
    layers: Option<usize>,
    budget: Option<Budget>,
    seconds: Option<f64>,
    smoke: Option<SmokeResult>,
    /// References pushed.
    pushed: Vec<String>,
    /// With --emit-dockerfiles: the Dockerfile written (with the layer budget applied).
    #[serde(skip)]
    dockerfile: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize)]
struct SmokeResult {
    exit_code: i32,
    stdout: String,
    stderr: String,
    /// `expect` strings the output lacked.
    missing: Vec<String>,
}

impl VariantResult {
    fn failed(stage: &'static str, error: String) -> VariantResult {
        VariantResult { status: "failed", stage: Some(stage), error: Some(error), ..Default::default() }
    }
}

/// An index made in the registry (JSON `indexes[].result`).
#[derive(Debug, Clone, Serialize)]
struct IndexResult {
    /// `pushed`, `failed` or `skipped` (a member did not build).
    status: &'static str,
    digest: Option<String>,
    error: Option<String>,
}

fn build_all(
    g: &GlobalArgs,
    a: &ImageMatrixArgs,
    m: &Matrix,
    plan: &Plan,
    docker: &dyn Docker,
) -> Result<ExitCode> {
    let builder = if docker.buildkit_available() { Builder::BuildKit } else { Builder::Classic };
    let mut results: Vec<VariantResult> = Vec::new();
    let mut stopped_at: Option<&str> = None;
    for v in &plan.variants {
        if stopped_at.is_some() {
            results.push(VariantResult { status: "skipped", ..Default::default() });
            continue;
        }
        note(g, &format!("==> {} ({}) on {}", v.name, v.platform, v.base));
        let r = build_one(g, a, m, v, docker, builder);
        if r.status == "failed" {
            eprintln!("error: {}: {}", v.name, r.error.as_deref().unwrap_or("failed"));
            if !a.keep_going {
                stopped_at = Some(&v.name);
            }
        }
        results.push(r);
    }
    if let Some(name) = stopped_at {
        let left = results.iter().filter(|r| r.status == "skipped").count();
        if left > 0 {
            eprintln!(
                "stopped after {name} failed: {left} variant(s) not built (--keep-going builds the others)"
            );
        }
    }

    // Indexes, once every member is in the registry.
    let mut index_results = Vec::new();
    if a.push.is_some() {
        let mut client: Option<RegistryClient> = None;
        for idx in &plan.indexes {
            let ok = idx.members.iter().all(|mb| {
                plan.variants.iter().zip(&results).any(|(v, r)| v.name == mb.variant && r.status == "built")
            });
            if !ok {
                index_results.push(IndexResult {
                    status: "skipped",
                    digest: None,
                    error: Some("a member did not build".into()),
                });
                continue;
            }
            let pushed = match &mut client {
                Some(c) => push_index(c, idx, &plan.meta),
                None => registry_client().and_then(|c| push_index(client.insert(c), idx, &plan.meta)),
            };
            match pushed {
                Ok(digest) => {
                    note(g, &format!("==> image index {} ({})", idx.image, digest));
                    index_results.push(IndexResult { status: "pushed", digest: Some(digest), error: None });
                }
                Err(e) => {
                    eprintln!("error: image index {}: {e}", idx.image);
                    index_results.push(IndexResult {
                        status: "failed",
                        digest: None,
                        error: Some(e.to_string()),
                    });
                }
            }
        }
    }

    let failed =
        results.iter().any(|r| r.status != "built") || index_results.iter().any(|r| r.status == "failed");
    if g.format == Format::Json {
        let mut out = plan_json(plan)?;
        out["dry_run"] = json!(false);
        for (v, r) in out["variants"].as_array_mut().into_iter().flatten().zip(&results) {
            v["dockerfile"] = json!(r.dockerfile);
            v["result"] = serde_json::to_value(r)?;
        }
        for (i, r) in out["indexes"].as_array_mut().into_iter().flatten().zip(&index_results) {
            i["result"] = serde_json::to_value(r)?;
        }
        print_json(&out)?;
    } else {
        print_summary(plan, &results, &index_results);
    }
    Ok(if failed { 1 } else { 0 })
}

fn build_one(
    g: &GlobalArgs,
    a: &ImageMatrixArgs,
    m: &Matrix,
    v: &VariantPlan,
    docker: &dyn Docker,
    builder: Builder,
) -> VariantResult {
    let started = Instant::now();
    let base = match docker.inspect_one(&v.base) {
        Ok(b) => b,
        Err(DockerError::NotFound { .. }) => {
            return VariantResult::failed(
                "base",
                format!(
                    "base {} is not in the local Docker engine: `docker pull --platform {} {}` (or --base {}=IMAGE)",
                    v.base, v.platform, v.base, v.name
                ),
            )
        }
        Err(e) => return VariantResult::failed("base", e.to_string()),
    };
    if base.architecture != v.arch {
        return VariantResult::failed(
            "base",
            format!(
                "base {} is {}, the variant is {}: pull the right one (`docker pull --platform {} {}`)",
                v.base,
                base.platform(),
                v.platform,
                v.platform,
                v.base
            ),
        );
    }
    let generated = generate::generate(m, v, Some(&base));
    let budget = generated.budget.clone();
    if let Some(b) = &budget {
        match b.verdict {
            Verdict::Fits => note(g, &format!("    layer budget: {}", b.reason)),
            Verdict::Warn | Verdict::Flatten => warn(g, &format!("{}: layer budget: {}", v.name, b.reason)),
        }
    }
    // A base past the budget: its flattened copy first, exactly as `image build` makes it.
    if generated.flattened_base.is_some() {
        match super::image_build::flattened_base(g, docker, &v.base, &base) {
            Ok(Some(_)) => {}
            Ok(None) => {
                return VariantResult::failed(
                    "base",
                    format!("flattening the base {} failed (above)", v.base),
                )
            }
            Err(e) => return VariantResult::failed("base", format!("flattening the base {}: {e:#}", v.base)),
        }
    }
    let tmp = match tempfile::Builder::new().prefix("jetdoc-matrix-").tempdir() {
        Ok(t) => t,
        Err(e) => return VariantResult::failed("build", format!("cannot create a temporary directory: {e}")),
    };
    if let Err(e) = generate::write_context(tmp.path(), &generated) {
        return VariantResult::failed("build", format!("cannot write the build context: {e}"));
    }
    let mut dockerfile = None;
    if let Some(dir) = &a.emit_dockerfiles {
        match emit(g, dir, v, &generated) {
            Ok(path) => dockerfile = Some(path),
            Err(e) => return VariantResult::failed("build", format!("{e:#}")),
        }
    }
    let spec = BuildSpec {
        dockerfile: tmp.path().join("Dockerfile"),
        context: tmp.path().to_path_buf(),
        tags: v.images.clone(),
        builder,
        network: a.network.clone(),
        no_cache: a.no_cache,
        platform: Some(v.platform.clone()),
        ..BuildSpec::default()
    };
    let progress = BuildProgress::new(g.verbose, g.quiet || g.format == Format::Json);
    let built = docker.build(&spec, &|l: &str| progress.line(l));
    progress.finish();
    let id = match built {
        Ok(id) => id,
        Err(e) => {
            // The generated Dockerfile is kept: the error points at it.
            let kept = tmp.keep();
            return VariantResult::failed("build", format!("{e}\n  the Dockerfile is in {}", kept.display()));
        }
    };
    let layers = docker.inspect_one(&id).map(|i| i.layer_count()).ok();
    let mut result = VariantResult {
        status: "built",
        id: Some(id.clone()),
        layers,
        budget,
        dockerfile,
        ..Default::default()
    };

    // The smoke test, in the new image.
    let run = RunSpec {
        image: id.clone(),
        command: v.smoke.clone(),
        network: a.network.clone(),
        remove: true,
        timeout: Some(Duration::from_secs(a.smoke_timeout)),
        ..RunSpec::default()
    };
    match docker.run(&run) {
        Ok(out) => {
            let missing: Vec<String> =
                m.file.smoke.expect.iter().filter(|e| !out.stdout.contains(e.as_str())).cloned().collect();
            let smoke =
                SmokeResult { exit_code: out.exit_code, stdout: out.stdout, stderr: out.stderr, missing };
            for line in smoke.stdout.lines() {
                note(g, &format!("    | {line}"));
            }
            let failure = if smoke.exit_code != 0 {
                Some(format!(
                    "smoke test failed (exit {}): {}",
                    smoke.exit_code,
                    last_lines(&smoke.stderr, 3)
                ))
            } else if !smoke.missing.is_empty() {
                Some(format!("smoke test failed: the output lacks {}", smoke.missing.join(", ")))
            } else {
                None
            };
            result.smoke = Some(smoke);
            if let Some(f) = failure {
                result.status = "failed";
                result.stage = Some("smoke");
                result.error = Some(f);
                result.seconds = Some(started.elapsed().as_secs_f64());
                return result;
            }
        }
        Err(e) => {
            result.status = "failed";
            result.stage = Some("smoke");
            result.error = Some(format!("smoke test could not run: {e}"));
            return result;
        }
    }

    if a.push.is_some() {
        for image in &v.images {
            let progress = BuildProgress::new(g.verbose, g.quiet || g.format == Format::Json);
            let pushed = docker.push(image, &|l: &str| progress.line(l));
            progress.finish();
            if let Err(e) = pushed {
                result.status = "failed";
                result.stage = Some("push");
                result.error = Some(format!("push of {image} failed: {e}"));
                return result;
            }
            result.pushed.push(image.clone());
        }
        note(
            g,
            &format!(
                "    pushed {} tag{}",
                result.pushed.len(),
                if result.pushed.len() == 1 { "" } else { "s" }
            ),
        );
    }
    result.seconds = Some(started.elapsed().as_secs_f64());
    result
}

/// Credentials of the user running jetdoc (as `docker push` uses them).
fn registry_client() -> Result<RegistryClient> {
    let creds = match Credentials::default_path(|k| std::env::var(k).ok()) {
        Some(path) => Credentials::load(&path)?,
        None => Credentials::default(),
    };
    Ok(RegistryClient::new(creds, Duration::from_secs(60))?)
}

/// Reads each member's manifest from the registry and puts the index over them.
fn push_index(c: &mut RegistryClient, idx: &IndexPlan, meta: &MetaJson) -> Result<String> {
    let mut members = Vec::new();
    for mb in &idx.members {
        let r = Reference::parse(&mb.from)?;
        let m = c.manifest_ref(&r)?;
        if m.media_type.contains("index") || m.media_type.contains("list") {
            bail!(
                "{} is itself an index ({}): an index lists single-platform manifests",
                mb.from,
                m.media_type
            );
        }
        members.push((m, index::platform_of(&mb.platform)));
    }
    let mut annotations = BTreeMap::new();
    annotations.insert(labels::OCI_CREATED.to_string(), meta.created.clone());
    if let Some(sha) = &meta.sha {
        annotations.insert(labels::OCI_REVISION.to_string(), sha.clone());
    }
    if let Some(v) = &meta.version {
        annotations.insert(labels::OCI_VERSION.to_string(), v.clone());
    }
    if let Some(s) = &meta.source {
        annotations.insert(labels::OCI_SOURCE.to_string(), s.clone());
    }
    let body = index::document(&members, &annotations);
    let r = Reference::parse(&idx.image)?;
    Ok(c.put_manifest(&r, OCI_INDEX, &body)?)
}

fn last_lines(s: &str, n: usize) -> String {
    let lines: Vec<&str> = s.lines().filter(|l| !l.trim().is_empty()).collect();
    lines[lines.len().saturating_sub(n)..].join(" / ")
}

fn print_summary(plan: &Plan, results: &[VariantResult], indexes: &[IndexResult]) {
    let mut out = String::new();
    for (v, r) in plan.variants.iter().zip(results) {
        let what = match r.status {
            "built" => format!(
                "{} layers, {:.1}s, smoke test passed{}",
                r.layers.unwrap_or(0),
                r.seconds.unwrap_or(0.0),
                if r.pushed.is_empty() { String::new() } else { format!(", {} tags pushed", r.pushed.len()) }
            ),
            "skipped" => "not built".to_string(),
            _ => format!("{} failed", r.stage.unwrap_or("build")),
        };
        out.push_str(&format!("{:<8} {:<28} {}  {what}\n", r.status, v.name, v.platform));
    }
    for (i, r) in plan.indexes.iter().zip(indexes) {
        out.push_str(&format!(
            "{:<8} {}  {}\n",
            if r.status == "pushed" { "index" } else { r.status },
            i.image,
            r.digest.as_deref().unwrap_or("")
        ));
    }
    let _ = std::io::stdout().lock().write_all(out.as_bytes());
}

/// Shows the builder's progress (a spinner with the current step), or nothing.
struct BuildProgress(TerminalBuildReporter);

impl BuildProgress {
    fn new(verbose: bool, quiet: bool) -> BuildProgress {
        BuildProgress(TerminalBuildReporter::new(verbose, quiet))
    }
    fn finish(&self) {
        self.0.finish();
    }
    fn line(&self, line: &str) {
        match parse_step(line) {
            Some((i, n, instr)) => self.0.step(i, n, &instr),
            None => self.0.output(line),
        }
    }
}

/// Writes `DIR/<variant>/Dockerfile` and its context; returns the Dockerfile's path.
fn emit(g: &GlobalArgs, dir: &Path, v: &VariantPlan, generated: &Generated) -> Result<String> {
    let target = dir.join(&v.name);
    generate::write_context(&target, generated)
        .with_context(|| format!("cannot write the build context of {} to {}", v.name, target.display()))?;
    let path = target.join("Dockerfile");
    note(g, &format!("{}: Dockerfile and context written to {}", v.name, target.display()));
    Ok(path.display().to_string())
}

fn plan_json(plan: &Plan) -> Result<Value> {
    Ok(serde_json::to_value(plan)?)
}

fn print_plan(g: &GlobalArgs, plan: &Plan) {
    let color = use_color(g.color, console::Term::stdout().is_term());
    let bold = |s: &str| if color { console::style(s).bold().to_string() } else { s.to_string() };
    let mut out = String::new();
    out.push_str(&format!(
        "matrix {} ({}): {} variant{}, {} image reference{}{}\n",
        plan.matrix,
        plan.file,
        plan.variants.len(),
        if plan.variants.len() == 1 { "" } else { "s" },
        plan.images.len(),
        if plan.images.len() == 1 { "" } else { "s" },
        plan.registry.as_ref().map(|r| format!(", pushed to {r}")).unwrap_or_default(),
    ));
    for v in &plan.variants {
        out.push_str(&format!("\n{}  {}  {}\n", bold(&v.name), v.platform, v.kind));
        match &v.jetson {
            Some(j) => out.push_str(&format!(
                "  base    {} (L4T {}, JetPack {}, Ubuntu {}; for L4T {} from {})\n",
                v.base,
                j.base_l4t,
                j.base_jetpack,
                j.ubuntu,
                j.l4t,
                match j.l4t_from {
                    L4tFrom::Flag => "--l4t",
                    L4tFrom::Detected => "this device",
                    L4tFrom::Matrix => "the matrix file",
                }
            )),
            None => out.push_str(&format!(
                "  base    {}{}\n",
                v.base,
                if v.base_from == "override" { " (--base)" } else { "" }
            )),
        }
        let mut versions = format!("  python  {}   torch {} from {}", v.python, v.torch, v.torch_index);
        if let Some(c) = &v.cuda {
            versions.push_str(&format!("   CUDA {c}"));
        }
        if let Some(t) = &v.tensorrt {
            versions.push_str(&format!("   TensorRT {t} (the JetPack's, pinned)"));
        }
        out.push_str(&versions);
        out.push('\n');
        out.push_str(&format!(
            "  dind    {}\n",
            if v.dind { "yes (EE_DD=true starts dockerd)" } else { "no" }
        ));
        for (i, r) in v.images.iter().enumerate() {
            out.push_str(&format!("  {}  {r}\n", if i == 0 { "tags  " } else { "      " }));
        }
    }
    if !plan.indexes.is_empty() {
        out.push_str(&format!(
            "\n{}\n",
            bold(if plan.registry.is_some() {
                "image indexes"
            } else {
                "image indexes (made in the registry with --push)"
            })
        ));
        for IndexPlan { image, members } in &plan.indexes {
            let parts: Vec<String> =
                members.iter().map(|m| format!("{} ({})", m.platform, m.variant)).collect();
            out.push_str(&format!("  {image}  {}\n", parts.join(" + ")));
        }
    }
    let _ = std::io::stdout().lock().write_all(out.as_bytes());
}

fn note(g: &GlobalArgs, msg: &str) {
    if !g.quiet {
        eprintln!("{msg}");
    }
}

fn warn(g: &GlobalArgs, msg: &str) {
    let color = use_color(g.color, console::Term::stderr().is_term());
    let prefix =
        if color { console::style("warning:").yellow().bold().to_string() } else { "warning:".into() };
    eprintln!("{prefix} {msg}");
}

fn print_json(v: &Value) -> Result<()> {
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, v)?;
    writeln!(out)?;
    Ok(())
}
