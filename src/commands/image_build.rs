//! `jetdoc image build | flatten | doctor`: the terminal side of `container::{dockerfile, build,
//! flatten, doctor}`.

use anyhow::{anyhow, bail, Context as _, Result};
use serde_json::json;
use std::io::Write;
use std::path::Path;
use std::time::Instant;

use super::reporters::TerminalBuildReporter;
use super::{build_context, use_color, ExitCode};
use crate::cli::{Format, GlobalArgs, ImageBuildArgs, ImageDoctorArgs, ImageFlattenArgs};
use crate::container::budget::Verdict;
use crate::container::build::{docker_build, BuildRequest, Built};
use crate::container::dockerfile::{self, BuildInput};
use crate::container::doctor::{self, DoctorOptions};
use crate::container::flatten::{self, Drop as FlattenDrop, FlattenError, Options as FlattenOptions};
use crate::container::image_config::ImageInspect;
use crate::container::select;
use crate::host::docker::{Docker, DockerError};
use crate::provision::build::{ImageRecipe, Staged};
use crate::provision::Profile;
use crate::report::Status;
use crate::units::human_bytes;

/// Progress and notes go to stderr; stdout is for the result (JSON) or the Dockerfile.
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

pub fn build(g: &GlobalArgs, a: &ImageBuildArgs) -> Result<ExitCode> {
    let profile = Profile::load(&a.profile)?;
    let ctx = build_context(g)?;
    // The profile as resolved for this device: its base rows, the L4T and CUDA it builds for.
    let resolved = crate::provision::resolve_for(&ctx, &profile)?;
    // Every route below asks the engine (the base is inspected even for --dry-run): a root with
    // no engine of its own is told first, before what the profile lacks.
    let docker = ctx.host.docker()?;
    // Wheels and the ZED installer are fetched, verified and staged by `jetdoc provision`; a
    // plain image build takes the profile's own files only.
    let recipe = ImageRecipe::new(&resolved, &Staged::default()).map_err(|what| {
        anyhow!(
            "{what}: `jetdoc provision {} --no-run` fetches and verifies the profile's downloads, then builds the image",
            a.profile
        )
    })?;
    // Before any Docker call: a label Docker's parser would choke on is named here.
    dockerfile::check_profile(&recipe)?;
    let (base_ref, base) = match &a.base {
        Some(b) => (b.clone(), docker.inspect_one(b)?),
        None => {
            let origin = format!("profile {}", profile.name);
            let candidates: Vec<String> = resolved.base.candidates.iter().map(|c| c.image.clone()).collect();
            let pick = select::local::base(&ctx, &candidates, &origin)?;
            for c in pick.considered.iter().filter(|c| !c.accepted) {
                note(g, &format!("base {} skipped: {}", c.reference, c.summary()));
            }
            (pick.reference, pick.image)
        }
    };
    let lock_sha256 = match &a.lock {
        Some(p) => {
            let bytes = std::fs::read(p).with_context(|| format!("cannot read lock file {}", p.display()))?;
            Some(crate::digest::sha256_hex(&bytes))
        }
        None => None,
    };
    let generated = dockerfile::generate(&BuildInput {
        spec: &recipe,
        base_ref: &base_ref,
        base: &base,
        lock_sha256: lock_sha256.as_deref(),
        force_flatten: a.flatten,
    })?;
    let budget = &generated.budget;
    // The image doctor's judgement of the base (no layer scan: that reads the whole image).
    let base_checks: Vec<_> = doctor::diagnose(&ctx, &base_ref, &base, None)
        .checks
        .into_iter()
        .filter(|c| c.id != "image.layers" && matches!(c.status, Status::Warn | Status::Fail))
        .collect();
    for c in &base_checks {
        warn(g, &format!("base {base_ref}: {} ({})", c.summary, c.id));
    }
    match budget.verdict {
        Verdict::Fits => note(g, &format!("layer budget: {}", budget.reason)),
        Verdict::Warn | Verdict::Flatten => warn(g, &format!("layer budget: {}", budget.reason)),
    }

    let tmp = tempfile::tempdir().context("cannot create a temporary directory")?;
    let dockerfile_path = match &a.emit_dockerfile {
        Some(p) if p.as_os_str() != "-" => {
            std::fs::write(p, &generated.dockerfile)
                .with_context(|| format!("cannot write the Dockerfile to {}", p.display()))?;
            note(g, &format!("Dockerfile written to {}", p.display()));
            p.clone()
        }
        _ => {
            let p = tmp.path().join("Dockerfile");
            std::fs::write(&p, &generated.dockerfile)?;
            p
        }
    };
    let to_stdout = a.emit_dockerfile.as_deref() == Some(Path::new("-"));
    if to_stdout {
        std::io::stdout().lock().write_all(generated.dockerfile.as_bytes())?;
    }
    if a.dry_run {
        if g.format == Format::Json && !to_stdout {
            print_json(&json!({
                "profile": profile.name, "base": base_ref, "budget": budget,
                "dockerfile": generated.dockerfile, "base_checks": base_checks, "built": false,
            }))?;
        } else if !to_stdout && a.emit_dockerfile.is_none() {
            std::io::stdout().lock().write_all(generated.dockerfile.as_bytes())?;
        }
        return Ok(0);
    }

    let context = a.context.clone().unwrap_or_else(|| profile.default_context());
    if !context.is_dir() {
        bail!(
            "build context {} is not a directory: pass --context DIR holding the profile's files",
            context.display()
        );
    }
    let flattened = if budget.verdict == Verdict::Flatten {
        match flattened_base(g, docker, &base_ref, &base)? {
            Some(f) => Some(f),
            None => return Ok(1),
        }
    } else {
        None
    };
    let req = BuildRequest {
        dockerfile: &dockerfile_path,
        context: &context,
        tags: &a.tags,
        builder: a.builder,
        network: a.network.as_deref(),
        no_cache: a.no_cache,
    };
    let Some((built, result, seconds)) = build_and_inspect(g, docker, &req, tmp)? else { return Ok(1) };
    if g.format == Format::Json {
        print_json(&json!({
            "profile": profile.name, "base": base_ref, "budget": budget, "builder": built.builder,
            "id": built.id, "tags": a.tags, "layers": result.layer_count(), "seconds": seconds,
            "dockerfile": a.emit_dockerfile.as_ref().map(|p| p.display().to_string()), "base_checks": base_checks,
            "flattened_base": flattened, "built": true,
        }))?;
    } else {
        let name = a.tags.first().cloned().unwrap_or_else(|| built.id.clone());
        println!("built {name} from {base_ref}: {} layers ({:.1}s)", result.layer_count(), seconds);
    }
    Ok(0)
}

/// The base's flattened copy (`dockerfile::flattened_tag`), made now unless an earlier build
/// made it: a flatten is deterministic, so the tag of a base id always holds the same image.
/// `None` when Docker failed (already reported).
pub(super) fn flattened_base(
    g: &GlobalArgs,
    docker: &dyn Docker,
    base_ref: &str,
    base: &ImageInspect,
) -> Result<Option<String>> {
    let tag = dockerfile::flattened_tag(base);
    if docker.inspect(&[&tag])?.iter().any(|i| i.layer_count() == 1) {
        note(g, &format!("using the flattened base {tag} made by an earlier build"));
        return Ok(Some(tag));
    }
    let started = Instant::now();
    let reporter = TerminalBuildReporter::new(g.verbose, g.quiet);
    let result =
        flatten::flatten(docker, base_ref, std::slice::from_ref(&tag), &FlattenOptions::default(), &reporter);
    reporter.finish();
    match result {
        Ok(f) => {
            note(
                g,
                &format!(
                    "flattened the base {base_ref} ({} layers) to {tag} (1 layer, {:.1}s)",
                    f.source_layers,
                    started.elapsed().as_secs_f64()
                ),
            );
            Ok(Some(tag))
        }
        Err(FlattenError::Docker(e @ DockerError::Failed { .. })) => {
            eprintln!("error: flattening the base: {e}");
            Ok(None)
        }
        Err(e) => Err(e.into()),
    }
}

/// Runs `docker build` with progress and inspects the result: the image, its config and the
/// seconds taken. `None` when the build failed (already reported); the temporary directory
/// holding the generated Dockerfile is then kept, since the error points at it.
fn build_and_inspect(
    g: &GlobalArgs,
    docker: &dyn Docker,
    req: &BuildRequest,
    workdir: tempfile::TempDir,
) -> Result<Option<(Built, ImageInspect, f64)>> {
    let started = Instant::now();
    let reporter = TerminalBuildReporter::new(g.verbose, g.quiet);
    let built = docker_build(docker, req, &reporter);
    reporter.finish();
    match built {
        Ok(built) => {
            let config = docker.inspect_one(&built.id)?;
            Ok(Some((built, config, started.elapsed().as_secs_f64())))
        }
        Err(e) => {
            let _kept = workdir.keep();
            eprintln!("error: {e}");
            Ok(None)
        }
    }
}

pub fn flatten(g: &GlobalArgs, a: &ImageFlattenArgs) -> Result<ExitCode> {
    let ctx = build_context(g)?;
    let docker = ctx.host.docker()?;
    let opts = FlattenOptions {
        drop: FlattenDrop { zero_byte_nvidia: a.drop_zero_byte, paths: Vec::new() },
        work_dir: a.work_dir.clone(),
    };
    let started = Instant::now();
    let reporter = TerminalBuildReporter::new(g.verbose, g.quiet || g.format == Format::Json);
    let result = flatten::flatten(docker, &a.image, &a.tags, &opts, &reporter);
    reporter.finish();
    let f = match result {
        Ok(f) => f,
        // Docker's own failure, said once with its message: exit 1 as a failed build does.
        Err(FlattenError::Docker(e @ DockerError::Failed { .. })) => {
            eprintln!("error: {e}");
            return Ok(1);
        }
        Err(e) => return Err(e.into()),
    };
    let seconds = started.elapsed().as_secs_f64();
    let result = docker.inspect_one(&f.id)?;
    if g.format == Format::Json {
        print_json(&json!({
            "image": f.image, "source_layers": f.source_layers, "id": f.id, "tags": f.tags,
            "layers": result.layer_count(), "size_bytes": result.size, "layer_bytes": f.layer_bytes,
            "entries": f.entries, "materialised_links": f.materialised_links, "seconds": seconds,
            "dropped": f.dropped,
        }))?;
    } else {
        for d in &f.dropped {
            note(g, &format!("dropped {d} (0 bytes at an NVIDIA library path)"));
        }
        println!(
            "flattened {} ({} layers) to {} ({} layer, {}, {:.1}s)",
            f.image,
            f.source_layers,
            f.tags.join(", "),
            result.layer_count(),
            human_bytes(f.layer_bytes),
            seconds
        );
    }
    Ok(0)
}

pub fn doctor(g: &GlobalArgs, a: &ImageDoctorArgs) -> Result<ExitCode> {
    let ctx = build_context(g)?;
    let report = doctor::run(&ctx, &a.image, &DoctorOptions { scan_layers: !a.no_scan })?;
    if g.format == Format::Json {
        print_json(&serde_json::to_value(&report)?)?;
        return Ok(report.exit_code());
    }
    let color = use_color(g.color, console::Term::stdout().is_term());
    let mut out = String::new();
    out.push_str(&format!(
        "{} ({}, {}, {} layers)\n",
        report.image,
        short_id(&report.id),
        report.platform,
        report.layers
    ));
    for c in &report.checks {
        if g.quiet && matches!(c.status, Status::Pass | Status::Info | Status::Skip) {
            continue;
        }
        let tag = format!("{:<5}", c.status.as_str());
        let tag = if color {
            match c.status {
                Status::Pass => console::style(tag).green().to_string(),
                Status::Warn => console::style(tag).yellow().to_string(),
                Status::Fail | Status::Error => console::style(tag).red().bold().to_string(),
                _ => console::style(tag).dim().to_string(),
            }
        } else {
            tag
        };
        out.push_str(&format!("  {tag} {:<22} {}\n", c.id, c.summary));
        for h in &c.hints {
            out.push_str(&format!("        {h}\n"));
        }
    }
    super::print_human(&out)?;
    Ok(report.exit_code())
}

fn short_id(id: &str) -> &str {
    let hex = id.strip_prefix("sha256:").unwrap_or(id);
    &hex[..hex.len().min(12)]
}

fn print_json(v: &serde_json::Value) -> Result<()> {
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, v)?;
    writeln!(out)?;
    Ok(())
}
