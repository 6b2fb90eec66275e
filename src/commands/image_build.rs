//! `jetdoc image build | flatten | doctor`.

use anyhow::{anyhow, bail, Context as _, Result};
use serde_json::json;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use super::reporters::TerminalBuildReporter;
use super::{build_context, use_color, ExitCode};
use crate::cli::{Format, GlobalArgs, ImageBuildArgs, ImageDoctorArgs, ImageFlattenArgs};
use crate::container::budget::Verdict;
use crate::container::build::{docker_build, BuildRequest, Built};
use crate::container::dockerfile::{self, BuildInput};
use crate::container::doctor::{self, DoctorOptions};
use crate::container::image_config::{self, ImageInspect, InspectError};
use crate::host::Host;
use crate::provision::build::{ImageRecipe, Staged};
use crate::provision::Profile;
use crate::report::Status;

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
    let resolved = crate::provision::resolve_for(&ctx, &profile)?;
    // Wheels and the ZED installer are fetched, verified and staged by `jetdoc provision`; a
    // plain image build takes the profile's own files only.
    let spec = ImageRecipe::new(&resolved, &Staged::default()).map_err(|what| {
        anyhow!(
            "{what}: `jetdoc provision {} --no-run` fetches and verifies the profile's downloads, then builds the image",
            a.profile
        )
    })?;
    let host = Host::live();
    let (base_ref, base) = match &a.base {
        Some(b) => (b.clone(), image_config::inspect(&host, b)?),
        None => pick_local_base(&host, &profile, &resolved)?,
    };
    let lock_sha256 = match &a.lock {
        Some(p) => {
            let bytes = std::fs::read(p).with_context(|| format!("cannot read lock file {}", p.display()))?;
            Some(hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&bytes)))
        }
        None => None,
    };
    let generated = dockerfile::generate(&BuildInput {
        spec: &spec,
        base_ref: &base_ref,
        base: &base,
        lock_sha256: lock_sha256.as_deref(),
        force_flatten: a.flatten,
    });
    let budget = &generated.budget;
    // The image doctor's config checks on the base (no layer scan: that reads the whole image).
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
        Verdict::Warn => warn(g, &format!("layer budget: {}", budget.reason)),
        Verdict::Flatten => warn(g, &format!("layer budget: {}", budget.reason)),
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
    let req = BuildRequest {
        dockerfile: &dockerfile_path,
        context: &context,
        tags: &a.tags,
        builder: a.builder,
        network: a.network.as_deref(),
        no_cache: a.no_cache,
    };
    let Some((built, result, seconds)) = build_and_inspect(g, &host, &req, tmp)? else { return Ok(1) };
    if g.format == Format::Json {
        print_json(&json!({
            "profile": profile.name, "base": base_ref, "budget": budget, "builder": built.builder,
            "id": built.id, "tags": a.tags, "layers": result.layer_count(), "seconds": seconds,
            "dockerfile": a.emit_dockerfile.as_ref().map(|p| p.display().to_string()), "base_checks": base_checks, "built": true,
        }))?;
    } else {
        let name = a.tags.first().cloned().unwrap_or_else(|| built.id.clone());
        println!("built {name} from {base_ref}: {} layers ({:.1}s)", result.layer_count(), seconds);
    }
    Ok(0)
}

/// The first profile candidate the local engine has. Choosing among registries is `image select`.
fn pick_local_base(
    host: &Host,
    profile: &Profile,
    resolved: &crate::provision::Resolved,
) -> Result<(String, image_config::ImageInspect)> {
    let candidates: Vec<&str> = resolved.base.candidates.iter().map(|c| c.image.as_str()).collect();
    for candidate in &candidates {
        match image_config::inspect(host, candidate) {
            Ok(img) => return Ok((candidate.to_string(), img)),
            Err(InspectError::NotFound { .. }) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(anyhow!(
        "none of the base candidates of profile {} for this device is present locally ({}): pull one (`docker pull {}`) or pass --base IMAGE",
        profile.source,
        candidates.join(", "),
        candidates[0]
    ))
}

/// Runs `docker build` with progress and inspects the result: the image, its config and the
/// seconds taken. `None` when the build failed (already reported); the temporary directory
/// holding the generated Dockerfile is then kept, since the error points at it.
fn build_and_inspect(
    g: &GlobalArgs,
    host: &Host,
    req: &BuildRequest,
    workdir: tempfile::TempDir,
) -> Result<Option<(Built, ImageInspect, f64)>> {
    let started = Instant::now();
    let reporter = TerminalBuildReporter::new(g.verbose, g.quiet);
    let built = docker_build(req, &reporter);
    reporter.finish();
    match built {
        Ok(built) => {
            let config = image_config::inspect(host, &built.id)?;
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
    let host = Host::live();
    let base = image_config::inspect(&host, &a.image)?;
    let drop: Vec<String> = if a.drop_zero_byte {
        note(g, &format!("reading the layers of {} for zero-byte NVIDIA placeholders...", a.image));
        let scan = doctor::save_scan(&a.image)?;
        for z in &scan.zero_byte {
            note(g, &format!("dropping {} (0 bytes, layer {})", z.path, z.layer));
        }
        scan.zero_byte.into_iter().map(|z| z.path).collect()
    } else {
        Vec::new()
    };
    let text = dockerfile::flatten(&a.image, &base, &drop);
    let ctx = tempfile::tempdir().context("cannot create a temporary directory")?;
    let path: PathBuf = match &a.emit_dockerfile {
        Some(p) if p.as_os_str() != "-" => p.clone(),
        _ => ctx.path().join("Dockerfile"),
    };
    std::fs::write(&path, &text)
        .with_context(|| format!("cannot write the Dockerfile to {}", path.display()))?;
    if a.emit_dockerfile.as_deref() == Some(Path::new("-")) {
        std::io::stdout().lock().write_all(text.as_bytes())?;
    }
    // The context is an empty directory: everything comes from the base image.
    let empty = ctx.path().join("context");
    std::fs::create_dir_all(&empty)?;
    let req = BuildRequest {
        dockerfile: &path,
        context: &empty,
        tags: &a.tags,
        builder: a.builder,
        network: None,
        no_cache: a.no_cache,
    };
    let Some((built, result, seconds)) = build_and_inspect(g, &host, &req, ctx)? else { return Ok(1) };
    if g.format == Format::Json {
        print_json(&json!({
            "image": a.image, "source_layers": base.layer_count(), "id": built.id, "tags": a.tags,
            "layers": result.layer_count(), "size_bytes": result.size, "seconds": seconds, "builder": built.builder,
            "dropped": drop,
        }))?;
    } else {
        println!(
            "flattened {} ({} layers) to {} ({} layer, {:.1}s)",
            a.image,
            base.layer_count(),
            a.tags.join(", "),
            result.layer_count(),
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
    std::io::stdout().lock().write_all(out.as_bytes())?;
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
