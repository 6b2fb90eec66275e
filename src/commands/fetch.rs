//! `jetdoc fetch zed|wheels|url`: defaults from the detected device, downloads through the engine,
//! results on stdout (human or JSON), progress on stderr.

use anyhow::{anyhow, bail, Context as _, Result};
use serde_json::json;
use std::io::Write;
use std::path::Path;
use std::time::Duration;

use super::{build_context, reporters, ExitCode};
use crate::cli::{
    FetchCommand, FetchCommon, FetchUrlArgs, FetchWheelsArgs, FetchZedArgs, Format, GlobalArgs,
};
use crate::context::Context;
use crate::fetch::wheels::{self, tags::Target, Choice, IndexSpec, Resolver};
use crate::fetch::{cache, normalize_sha256, zed, Artifact, Cache, Fetched, Fetcher, Options};
use crate::knowledge::L4tVersion;
use crate::probes::{Identity, Software};

pub fn run(g: &GlobalArgs, cmd: &FetchCommand) -> Result<ExitCode> {
    match cmd {
        FetchCommand::Zed(a) => run_zed(g, a),
        FetchCommand::Wheels(a) => run_wheels(g, a),
        FetchCommand::Url(a) => run_url(g, a),
    }
}

/// One download with progress; `None` when it failed (the error is printed: exit 1).
fn fetch_one(g: &GlobalArgs, fetcher: &Fetcher, art: &Artifact) -> Option<Fetched> {
    let rep = reporters::fetch_reporter(g.format, g.quiet);
    match fetcher.fetch(0, art, rep.as_ref()) {
        Ok(f) => Some(f),
        Err(e) => {
            eprintln!("error: {e}");
            None
        }
    }
}

fn fetcher(c: &FetchCommon) -> Result<Fetcher> {
    let cache_dir = match &c.cache_dir {
        Some(d) => d.clone(),
        None => {
            // The process's uid, from the owner of its /proc entry (no libc needed).
            let is_root = std::os::unix::fs::MetadataExt::uid(&std::fs::metadata("/proc/self")?) == 0;
            let env = |k: &str| std::env::var(k).ok();
            Cache::default_root(is_root, env("XDG_CACHE_HOME").as_deref(), env("HOME").as_deref())
        }
    };
    let mut o = Options::new(cache_dir);
    o.offline = c.offline;
    o.jobs = c.jobs.max(1);
    o.retries = c.retries;
    o.total = Duration::from_secs(c.max_time);
    o.read_timeout = Duration::from_secs(c.read_timeout.max(1));
    o.backoff_base = Duration::from_millis(c.retry_base_ms);
    Ok(Fetcher::new(o)?)
}

fn sha256_arg(s: &Option<String>) -> Result<Option<String>> {
    match s {
        None => Ok(None),
        Some(h) => normalize_sha256(h)
            .map(Some)
            .ok_or_else(|| anyhow!("--sha256 `{h}` is not a sha256 (64 hex digits)")),
    }
}

fn print(g: &GlobalArgs, human: &str, value: serde_json::Value) -> Result<()> {
    let mut out = std::io::stdout().lock();
    match g.format {
        Format::Json => writeln!(out, "{}", serde_json::to_string_pretty(&value)?)?,
        Format::Human | Format::Prometheus | Format::Npd => out.write_all(human.as_bytes())?,
    }
    Ok(())
}

fn fetched_json(f: &Fetched, placed: &Path) -> serde_json::Value {
    json!({
        "name": f.name, "file": placed, "url": f.url, "final_url": f.final_url, "sha256": f.sha256, "size": f.size,
        "etag": f.etag, "last_modified": f.last_modified, "cached": f.cached, "transferred": f.transferred,
    })
}

fn parse_l4t(s: &str) -> Result<L4tVersion> {
    L4tVersion::parse(s)
        .ok_or_else(|| anyhow!("--l4t `{s}` is not an L4T release: use MAJOR.MINOR such as 36.4"))
}

/// The L4T to work for: --l4t, else the device's.
fn l4t_of(ctx: &Context, arg: &Option<String>) -> Result<Option<L4tVersion>> {
    match arg {
        Some(s) => parse_l4t(s).map(Some),
        None => Ok(ctx.get::<Identity>().l4t.value().copied()),
    }
}

fn run_url(g: &GlobalArgs, a: &FetchUrlArgs) -> Result<ExitCode> {
    let fetcher = fetcher(&a.common)?;
    let mut urls = vec![a.url.clone()];
    urls.extend(a.mirror.iter().cloned());
    let last = a.url.split(['?', '#']).next().unwrap_or("").rsplit('/').next().unwrap_or("");
    let name = crate::fetch::engine::safe_file_name(last).unwrap_or_else(|| "download".to_string());
    let art = Artifact { name, urls, sha256: sha256_arg(&a.sha256)? };
    let Some(f) = fetch_one(g, &fetcher, &art) else { return Ok(1) };
    let dest = a.output.join(&f.file_name);
    cache::place(&f.path, &dest)?;
    let how =
        if f.cached { "from the cache".to_string() } else { format!("{} bytes transferred", f.transferred) };
    print(g, &format!("{}  sha256 {}  ({how})\n", dest.display(), f.sha256), fetched_json(&f, &dest))?;
    Ok(0)
}

fn run_zed(g: &GlobalArgs, a: &FetchZedArgs) -> Result<ExitCode> {
    let ctx = build_context(g)?;
    let choice = if a.x86 {
        let sw = ctx.get::<Software>();
        let cuda = match (&a.cuda_major, sw.cuda.value()) {
            (Some(c), _) => c.clone(),
            (None, Some(v)) => v.split('.').next().unwrap_or("").to_string(),
            (None, None) => {
                bail!("cannot tell this machine's CUDA ({}): pass --cuda-major 12", sw.cuda.source())
            }
        };
        let ubuntu = match (&a.ubuntu_major, sw.ubuntu.value()) {
            (Some(u), _) => u.clone(),
            (None, Some(v)) => v.split('.').next().unwrap_or("").to_string(),
            (None, None) => bail!("cannot tell this machine's Ubuntu release: pass --ubuntu-major 22"),
        };
        zed::for_x86(&ctx.knowledge, &cuda, &ubuntu, a.version.as_deref())?
    } else {
        let Some(l4t) = l4t_of(&ctx, &a.l4t)? else {
            bail!(
                "cannot tell the L4T release of this machine ({}): pass --l4t 36.4 (or --x86 on a desktop)",
                ctx.get::<Identity>().l4t.source()
            );
        };
        zed::for_jetson(&ctx.knowledge, l4t.major, l4t.minor, a.version.as_deref())?
    };
    if let Some(note) = &choice.note {
        eprintln!("note: {note}");
    }
    let fetcher = fetcher(&a.common)?;
    if a.refresh && !a.common.offline {
        fetcher.cache.forget_url(&choice.url);
    }
    let art = Artifact {
        name: format!("ZED SDK {} ({})", choice.sdk, choice.token),
        urls: vec![choice.url.clone()],
        sha256: sha256_arg(&a.sha256)?,
    };
    let Some(f) = fetch_one(g, &fetcher, &art) else { return Ok(1) };
    let version = zed::version_in_file_name(&f.file_name);
    if let (Some(wanted), Some(got)) = (&choice.wanted, &version) {
        if wanted != got {
            eprintln!(
                "error: asked for ZED SDK {wanted} but {} now serves {got} ({})\n  Stereolabs serves only the latest patch of {}; use --version {} or a copy pinned by sha256",
                choice.url, f.file_name, choice.sdk, choice.sdk
            );
            return Ok(1);
        }
    }
    let dest = a.output.join(&f.file_name);
    cache::place(&f.path, &dest)?;
    // `sha256sum -c` format, so other robots and image builds can pin this exact file.
    let pin = a.output.join(format!("{}.sha256", f.file_name));
    cache::write_atomic(&pin, format!("{}  {}\n", f.sha256, f.file_name).as_bytes())?;
    let flags: serde_json::Map<String, serde_json::Value> =
        choice.flags.iter().map(|(v, fl)| (v.clone(), json!(fl))).collect();
    let mut human = format!(
        "ZED SDK {} for {}\n  file     {}\n  from     {}\n  sha256   {}  (written to {})\n  size     {} bytes{}\n  silent install flags (container builds):\n",
        version.as_deref().unwrap_or(&choice.sdk),
        choice.token,
        dest.display(),
        f.final_url,
        f.sha256,
        pin.display(),
        f.size,
        if f.cached { ", from the cache" } else { "" }
    );
    for (v, fl) in &choice.flags {
        human.push_str(&format!("    {v:<12} ./{} -- {fl}\n", f.file_name));
    }
    let mut j = fetched_json(&f, &dest);
    j["version"] = json!(version);
    j["sdk"] = json!(choice.sdk);
    j["token"] = json!(choice.token);
    j["note"] = json!(choice.note);
    j["silent_flags"] = json!(flags);
    j["pin_file"] = json!(pin);
    print(g, &human, j)?;
    Ok(0)
}

/// Python `3.10` -> (3, 10).
fn parse_pair(s: &str, what: &str) -> Result<(u32, u32)> {
    let mut it = s.trim().split('.');
    let pair = (|| Some((it.next()?.parse().ok()?, it.next()?.parse().ok()?)))();
    pair.ok_or_else(|| anyhow!("{what} `{s}` is not MAJOR.MINOR"))
}

fn run_wheels(g: &GlobalArgs, a: &FetchWheelsArgs) -> Result<ExitCode> {
    let ctx = build_context(g)?;
    let reqs = wheels::requirements::read(&a.requirement)?;
    let l4t = l4t_of(&ctx, &a.l4t)?;
    let release = l4t.as_ref().and_then(|v| ctx.knowledge.release(v));
    let family = release.as_ref().map(|r| r.family);
    let sw = ctx.get::<Software>();
    let id = ctx.get::<Identity>();
    // A device's own facts win over the family defaults, unless --l4t names another release.
    let from_device = a.l4t.is_none();

    let python = match (&a.python, from_device.then(|| sw.python.value()).flatten(), family) {
        (Some(p), _, _) => parse_pair(p, "--python")?,
        (None, Some(p), _) => parse_pair(p, "python")?,
        (None, None, Some(f)) => parse_pair(&f.python, "python")?,
        (None, None, None) => bail!("cannot tell the target Python: pass --python 3.10 (or --l4t X.Y)"),
    };
    let platform = match (&a.platform, from_device.then(|| id.arch.clone()).flatten()) {
        (Some(p), _) => p.clone(),
        (None, Some(arch)) if arch == "amd64" => "linux_x86_64".to_string(),
        _ => "linux_aarch64".to_string(),
    };
    let ubuntu =
        from_device.then(|| sw.ubuntu.value().cloned()).flatten().or(family.map(|f| f.ubuntu.clone()));
    let glibc = match (&a.glibc, &ubuntu) {
        (Some(v), _) => Some(parse_pair(v, "--glibc")?),
        (None, Some(u)) => Target::glibc_of(u, &ctx.knowledge.glibc),
        (None, None) => None,
    };
    let target = Target { python, platform, glibc };

    let indexes: Vec<IndexSpec> = if !a.index.is_empty() {
        a.index
            .iter()
            .map(|u| IndexSpec { name: u.clone(), urls: vec![u.clone()], pure_only: false })
            .collect()
    } else {
        let Some(fam) = family else {
            bail!(
                "cannot tell this machine's JetPack (no L4T release found): pass --l4t 36.4, or --index URL"
            );
        };
        let Some(name) = &fam.wheel_index else {
            bail!("JetPack {} has no wheel index in the tables: pass --index URL", fam.jetpack);
        };
        let main = ctx
            .knowledge
            .wheel_index(name)
            .ok_or_else(|| anyhow!("wheel index `{name}` is not in the tables (checks/wheel_indexes.toml): add a [[wheel_index]] row or pass --index URL"))?;
        let mut v =
            vec![IndexSpec { name: main.name.clone(), urls: main.urls.clone(), pure_only: main.pure_only }];
        if let Some(p) = ctx.knowledge.wheel_index("pypi") {
            v.push(IndexSpec { name: p.name.clone(), urls: p.urls.clone(), pure_only: p.pure_only });
        }
        v
    };

    let fetcher = fetcher(&a.common)?;
    let rep = reporters::fetch_reporter(g.format, g.quiet);
    let resolver = Resolver::new(&fetcher, target.clone(), indexes.clone());
    let mut plan = resolver.plan_top_level(&reqs);
    let stop_early = a.require_wheels && plan.from_source().next().is_some();
    if !a.no_deps && !stop_early {
        resolver.add_dependencies(&mut plan, &reqs, rep.as_ref())?;
    }
    let target_text = format!(
        "cp{}{} {}{}",
        target.python.0,
        target.python.1,
        target.platform,
        target.glibc.map(|(x, y)| format!(" glibc {x}.{y}")).unwrap_or_default()
    );
    let refused = a.require_wheels && plan.from_source().next().is_some();

    let plan_text = render_plan(&plan, &target_text, &indexes);
    if g.format == Format::Human {
        print!("{plan_text}");
        std::io::stdout().flush()?;
    }
    if refused {
        eprintln!(
            "error: --require-wheels: {} would build from source; nothing was downloaded\n  find a wheel (another --index, another version) or drop --require-wheels",
            plan.from_source().map(|i| i.name.as_str()).collect::<Vec<_>>().join(", ")
        );
        if g.format == Format::Json {
            println!(
                "{}",
                serde_json::to_string_pretty(
                    &json!({"target": target_text, "indexes": indexes, "plan": plan, "downloaded": false})
                )?
            );
        }
        return Ok(1);
    }

    std::fs::create_dir_all(&a.output)
        .with_context(|| format!("cannot create the wheelhouse {}", a.output.display()))?;
    let (pinned, failed) = wheels::download(&fetcher, &plan, &a.output, rep.as_ref());
    for (name, e) in &failed {
        eprintln!("error: {name}: {e}");
    }
    let lock = wheels::lock_path(&a.output);
    if failed.is_empty() {
        let header = format!(
            "generated by jetdoc fetch wheels from {} for {target_text}\ninstall: pip install --require-hashes --no-index --find-links {} -r {}",
            a.requirement.display(),
            a.output.display(),
            lock.display()
        );
        cache::write_atomic(&lock, wheels::lock_file(&header, &pinned).as_bytes())?;
    }
    let left_out: Vec<&str> = plan.from_source().map(|i| i.name.as_str()).collect();
    let missing: Vec<&str> = plan.missing().map(|i| i.name.as_str()).collect();
    if !missing.is_empty() {
        eprintln!(
            "error: not found on any index: {}\n  check the names and versions, the index (--index), or drop --offline",
            missing.join(", ")
        );
    }
    match g.format {
        Format::Json => println!(
            "{}",
            serde_json::to_string_pretty(&json!({
                "target": target_text, "indexes": indexes, "plan": plan, "wheelhouse": a.output,
                "lock": failed.is_empty().then_some(&lock), "pinned": pinned.iter().map(|(n, v, h)| json!({"name": n, "version": v, "sha256": h})).collect::<Vec<_>>(),
                "failed": failed.iter().map(|(n, e)| json!({"file": n, "error": e.to_string()})).collect::<Vec<_>>(),
                "left_to_pip": left_out,
            }))?
        ),
        Format::Human | Format::Prometheus | Format::Npd => {
            if failed.is_empty() {
                println!("{} wheels in {}; lock file {}", pinned.len(), a.output.display(), lock.display());
                if !left_out.is_empty() {
                    println!("not in the lock (pip would build them from source): {}", left_out.join(", "));
                }
            } else {
                println!(
                    "{} of {} wheels failed; no lock file written",
                    failed.len(),
                    pinned.len() + failed.len()
                );
            }
        }
    }
    Ok(if failed.is_empty() && missing.is_empty() { 0 } else { 1 })
}

fn render_plan(plan: &wheels::Plan, target: &str, indexes: &[IndexSpec]) -> String {
    let mut s = format!(
        "Plan for {target} (indexes: {})\n",
        indexes.iter().map(|i| i.name.as_str()).collect::<Vec<_>>().join(", ")
    );
    for item in &plan.items {
        let via = item.required_by.as_ref().map(|p| format!("  (for {p})")).unwrap_or_default();
        match &item.choice {
            Choice::Wheel { filename, index, sha256, .. } => {
                let hash = if sha256.is_some() { "" } else { "  [no published hash: pinned on download]" };
                s.push_str(&format!("  {:<24} {filename}  from {index}{hash}{via}\n", item.name));
            }
            Choice::Source { why, .. } => {
                s.push_str(&format!("  {:<24} WARNING builds from source: {why}{via}\n", item.name))
            }
            Choice::Missing { why } => {
                s.push_str(&format!("  {:<24} WARNING not found: {why}{via}\n", item.name))
            }
            Choice::LeftToPip { why } => {
                s.push_str(&format!("  {:<24} left to pip: {why}{via}\n", item.name))
            }
        }
    }
    for w in &plan.warnings {
        s.push_str(&format!("  warning: {w}\n"));
    }
    let missing = plan.missing().count();
    let source = plan.from_source().count() - missing;
    if source > 0 {
        s.push_str(&format!(
            "  {source} requirement(s) have no compatible wheel and would build from source\n"
        ));
    }
    if missing > 0 {
        s.push_str(&format!("  {missing} requirement(s) were not found on any index\n"));
    }
    s
}
