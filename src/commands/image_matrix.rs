//! `jetdoc image matrix FILE`: resolve a matrix of base images, print the plan (human or the JSON
//! contract CI reads), write the Dockerfiles, and build, smoke-test, tag and push each variant.

use anyhow::{anyhow, bail, Context as _, Result};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use super::{build_context, use_color, ExitCode};
use crate::cli::{Format, GlobalArgs, ImageMatrixArgs};
use crate::container::matrix::generate::{self, Generated};
use crate::container::matrix::plan::{IndexPlan, L4tFrom, Plan, PlanInput, VariantPlan};
use crate::container::matrix::{self, BuildMeta, Matrix, MetaFlags};
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
    bail!("building the matrix needs the Docker interface of the `docker` branch: use --dry-run (and --emit-dockerfiles) for now")
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
