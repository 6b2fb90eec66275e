//! `jetdoc bundle PROFILE (--for-root R | --l4t X.Y) -o FILE`: a provision of the profile for
//! that robot, made here (this machine's network, cache and Docker; the robot described by a
//! scratch root, `bundle::make`), written into one file with its lock, image, installer and
//! wheels. `jetdoc bundle --verify FILE`: check one against its manifest.

use anyhow::{anyhow, Result};
use std::time::Duration;

use super::ExitCode;
use crate::bundle::write::{FilePart, ImagePart, Parts};
use crate::bundle::{self, BundleError, Compression, Kind, Manifest};
use crate::cli::{BundleArgs, BundleCompression, Format, GlobalArgs};
use crate::container::registry::Credentials;
use crate::fetch::Cache;
use crate::host::{EnvSource, Host, OfflineRunner};
use crate::provision::execute::{self, Finished};
use crate::provision::lock::Lock;
use crate::provision::Profile;
use crate::units::human_bytes;

pub fn run(g: &GlobalArgs, a: &BundleArgs) -> Result<ExitCode> {
    let Some(path) = &a.verify else { return make(g, a) };
    match bundle::verify(path) {
        Ok(m) => {
            if g.format == Format::Json {
                println!("{}", serde_json::to_string_pretty(&m)?);
            } else {
                print!("{}", summary(&m));
                println!("{}: whole (every member matches the manifest)", path.display());
            }
            Ok(0)
        }
        Err(e @ BundleError::Io { .. }) => Err(e.into()),
        Err(e) => {
            eprintln!("error: {}: {e}", path.display());
            Ok(1)
        }
    }
}

fn make(g: &GlobalArgs, a: &BundleArgs) -> Result<ExitCode> {
    let (Some(name), Some(out)) = (&a.profile, &a.output) else {
        return Err(anyhow!("a profile and -o FILE are needed (or --verify FILE)"));
    };
    let profile = Profile::load(name)?;
    let locked = match &a.locked {
        Some(p) => Some((Lock::read(p)?, p.clone())),
        None => None,
    };
    // The robot, as a scratch root; it takes the provision's state and journal too, and goes.
    let scratch = tempfile::Builder::new().prefix("jetdoc-bundle-").tempdir()?;
    let device = match (&a.for_root, &a.l4t) {
        (Some(root), _) => {
            let host = Host::with_root(root, Box::new(OfflineRunner), EnvSource::Map(Default::default()))
                .map_err(|e| anyhow!("--for-root {}: {e}", root.display()))?;
            bundle::make::scratch_from_root(scratch.path(), &host).map_err(|e| anyhow!(e))?;
            format!("the root {}", root.display())
        }
        (None, Some(l4t)) => {
            bundle::make::scratch_for_l4t(scratch.path(), l4t).map_err(|e| anyhow!(e))?;
            format!("L4T {l4t}")
        }
        (None, None) => return Err(anyhow!("say which robot: --for-root DIR or --l4t X.Y")),
    };
    let robot = GlobalArgs {
        root: Some(scratch.path().to_path_buf()),
        format: g.format,
        color: g.color,
        checks_dir: g.checks_dir.clone(),
        quiet: g.quiet,
        verbose: g.verbose,
        commands: None,
        live_commands: true,
    };
    let ctx = super::build_context(&robot)?;
    let cache_dir = a.cache_dir.clone().unwrap_or_else(Cache::default_root_for_this_process);
    let lock_path = scratch.path().join("bundle.lock");
    let creds = match Credentials::default_path(|k| std::env::var(k).ok()) {
        Some(path) => Credentials::load(&path)?,
        None => Credentials::default(),
    };
    let opts = execute::Options {
        fix: false,
        // The checks are the robot's (they run when it provisions from the bundle), not this
        // machine's: a workstation without the robot's runtime still makes its bundle.
        force: true,
        no_run: true,
        offline: false,
        context: a.context.clone(),
        cache_dir: cache_dir.clone(),
        build_network: a.network.clone(),
        lock_out: Some(lock_path.clone()),
        locked,
        registry_timeout: Duration::from_secs(a.timeout.max(1)),
        credentials: creds,
        fetch: crate::fetch::Options::new(cache_dir.clone()),
        bundle: None,
    };
    let progress = std::rc::Rc::new(super::provision_exec::ProvisionProgress::new(g));
    let state = match execute::provision(&ctx, &profile, &opts, progress)? {
        Finished::Provisioned { state, .. } => state,
        other => {
            let why = match &other {
                Finished::Stopped { blocked_by, .. } => blocked_by.join("; "),
                Finished::Refused { refused } => format!("{}: {}", refused.device, refused.reason),
                Finished::Failed { step, message, output, .. } => {
                    format!(
                        "step {step}: {message}{}",
                        output.as_deref().map(|o| format!("\n{o}")).unwrap_or_default()
                    )
                }
                _ => "the provision did not build an image".into(),
            };
            eprintln!(
                "error: no bundle written: the provision of {} for {device} stopped: {why}",
                profile.name
            );
            return Ok(1);
        }
    };
    let lock_bytes = std::fs::read(&lock_path)?;
    let lock = Lock::parse(&String::from_utf8_lossy(&lock_bytes), &lock_path.display().to_string())?;
    let image = state.image.clone().ok_or_else(|| anyhow!("the provision recorded no image"))?;
    let cache = Cache::new(cache_dir);
    let mut files = bundle::make::files_for_lock(&lock, &cache).map_err(|e| anyhow!(e))?;
    if !lock.wheels.is_empty() {
        // The wheels' hash-pinned lock, as the image's build used it.
        let pinned: Vec<(String, String, String)> =
            lock.wheels.iter().map(|w| (w.name.clone(), w.version.clone(), w.sha256.clone())).collect();
        let text = crate::fetch::wheels::lock_file(
            &format!("from the lock of profile {}", lock.profile.name),
            &pinned,
        );
        let p = scratch.path().join("requirements.lock");
        std::fs::write(&p, text)?;
        files.push(FilePart {
            kind: Kind::RequirementsLock,
            path: p,
            file_name: "requirements.lock".into(),
            sha256: None,
        });
    }
    let docker = ctx.host.docker()?;
    let mut save = docker.save(&image.id)?;
    let compression = match a.compression {
        BundleCompression::Zstd => Compression::Zstd,
        BundleCompression::Gzip => Compression::Gzip,
        BundleCompression::None => Compression::None,
    };
    let written = bundle::write::write(
        out,
        Parts {
            profile: profile.name.clone(),
            device: lock_device(&lock),
            lock: lock_bytes,
            image: Some(ImagePart { save: &mut save, id: image.id.clone(), tag: image.tag.clone() }),
            files,
            compression,
            level: a.level,
        },
        &crate::provision::state::now_rfc3339(),
    );
    let saved = save.finish();
    let manifest = match (written, saved) {
        (Ok(m), Ok(())) => m,
        (Err(e), _) => return Err(e.into()),
        (Ok(_), Err(e)) => {
            let _ = std::fs::remove_file(out);
            return Err(anyhow!("docker save {}: {e}", image.id));
        }
    };
    if g.format == Format::Json {
        println!("{}", serde_json::to_string_pretty(&manifest)?);
    } else {
        print!("{}", summary(&manifest));
        let size = std::fs::metadata(out).map(|m| m.len()).unwrap_or(0);
        println!(
            "{}: {} written; on the robot: jetdoc provision {} --bundle {} --yes",
            out.display(),
            human_bytes(size),
            name,
            out.display()
        );
    }
    Ok(0)
}

/// The device line of the manifest: what the lock pins.
fn lock_device(l: &Lock) -> String {
    let d = &l.device;
    let mut parts = vec![d.platform.clone()];
    parts.extend(d.arch.clone());
    parts.extend(d.l4t.as_ref().map(|v| format!("L4T {v}")));
    parts.extend(d.jetpack.as_ref().map(|v| format!("JetPack {v}")));
    parts.extend(d.cuda.as_ref().map(|v| format!("CUDA {v}")));
    parts.join(" ")
}

/// The manifest for people.
pub fn summary(m: &Manifest) -> String {
    let mut out =
        format!("bundle of profile {} for {} (jetdoc {}, {})\n", m.profile, m.device, m.jetdoc, m.created);
    if let Some(img) = &m.image {
        out.push_str(&format!(
            "  image   {} ({}, {} uncompressed)\n",
            img.tag,
            &img.id[..19.min(img.id.len())],
            human_bytes(img.uncompressed_size)
        ));
    }
    for member in &m.members {
        out.push_str(&format!(
            "  {:<16} {:>10}  {}\n",
            member.kind.as_str(),
            human_bytes(member.size),
            member.file_name()
        ));
    }
    out
}
