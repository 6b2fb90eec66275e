//! `jetdoc fetch zed|wheels|url`: the command layer. What to fetch for the device is decided in
//! `fetch::device` (shared with `provision`); downloads go through the engine; results go to
//! stdout (human or JSON), progress to stderr. Everything printed passes through
//! `crate::redact::text`, so no password or token of a URL reaches the terminal or a log.

use crate::redact;
use anyhow::{bail, Context as _, Result};
use serde_json::json;
use std::io::Write;
use std::path::Path;
use std::time::Duration;

use super::{build_context, reporters, ExitCode};
use crate::cli::{
    FetchCommand, FetchCommon, FetchUrlArgs, FetchWheelsArgs, FetchZedArgs, Format, GlobalArgs,
};
use crate::fetch::device::{self, WheelRequest, ZedRequest};
use crate::fetch::wheels::{self, tags::Target, Choice, IndexSpec, Resolver};
use crate::fetch::{cache, normalize_sha256, zed, Artifact, Cache, Fetched, Fetcher, Options};
use crate::knowledge::L4tVersion;

pub fn run(g: &GlobalArgs, cmd: &FetchCommand) -> Result<ExitCode> {
    match cmd {
        FetchCommand::Zed(a) => run_zed(g, a),
        FetchCommand::Wheels(a) => run_wheels(g, a),
        FetchCommand::Url(a) => run_url(g, a),
    }
}

/// An error line on stderr, credentials masked.
fn error_line(msg: &str) {
    eprintln!("error: {}", redact::text(msg));
}

/// One download with progress; `None` when it failed (the error is printed: exit 1).
fn fetch_one(g: &GlobalArgs, fetcher: &Fetcher, art: &Artifact) -> Option<Fetched> {
    let rep = reporters::fetch_reporter(g.format, g.quiet);
    match fetcher.fetch(0, art, rep.as_ref()) {
        Ok(f) => Some(f),
        Err(e) => {
            error_line(&e.to_string());
            None
        }
    }
}

fn fetcher(c: &FetchCommon) -> Result<Fetcher> {
    let cache_dir = c.cache_dir.clone().unwrap_or_else(Cache::default_root_for_this_process);
    let mut o = Options::new(cache_dir);
    o.offline = c.offline;
    o.jobs = c.jobs.max(1);
    o.retries = c.retries;
    o.max_time = c.max_time.map(Duration::from_secs);
    o.read_timeout = Duration::from_secs(c.read_timeout.max(1));
    o.speed_limit = c.speed_limit;
    o.speed_time = Duration::from_secs(c.speed_time.max(1));
    o.backoff_base = Duration::from_millis(c.retry_base_ms);
    Ok(Fetcher::new(o)?)
}

fn sha256_arg(s: &Option<String>) -> Result<Option<String>> {
    match s {
        None => Ok(None),
        Some(h) => match normalize_sha256(h) {
            Some(h) => Ok(Some(h)),
            None => bail!("--sha256 `{h}` is not a sha256 (64 hex digits)"),
        },
    }
}

/// A URL given on the command line: http or https, parseable (exit 2 otherwise).
fn url_arg(what: &str, u: &str) -> Result<String> {
    match reqwest::Url::parse(u) {
        Ok(p) if matches!(p.scheme(), "http" | "https") && p.has_host() => Ok(u.to_string()),
        Ok(p) => bail!(
            "{what} `{}`: only http:// and https:// URLs are fetched (not {}:)",
            redact::url(u),
            p.scheme()
        ),
        Err(e) => bail!("{what} `{}` is not a valid URL: {e}", redact::url(u)),
    }
}

fn print(g: &GlobalArgs, human: &str, value: serde_json::Value) -> Result<()> {
    let mut out = std::io::stdout().lock();
    match g.format {
        Format::Json => writeln!(out, "{}", redact::text(&serde_json::to_string_pretty(&value)?))?,
        Format::Human | Format::Prometheus | Format::Npd => {
            out.write_all(crate::report::human::clean(&redact::text(human)).as_bytes())?
        }
    }
    Ok(())
}

fn fetched_json(f: &Fetched, placed: &Path) -> serde_json::Value {
    json!({
        "name": f.name, "file": placed, "url": f.url, "final_url": f.final_url, "sha256": f.sha256, "size": f.size,
        "etag": f.etag, "last_modified": f.last_modified, "cached": f.cached, "transferred": f.transferred,
    })
}

fn l4t_arg(s: &Option<String>) -> Result<Option<L4tVersion>> {
    match s {
        None => Ok(None),
        Some(s) => match device::parse_l4t(s) {
            Some(v) => Ok(Some(v)),
            None => bail!("--l4t `{s}` is not an L4T release: use MAJOR.MINOR such as 36.4"),
        },
    }
}

fn run_url(g: &GlobalArgs, a: &FetchUrlArgs) -> Result<ExitCode> {
    let mut urls = vec![url_arg("the URL", &a.url)?];
    for m in &a.mirror {
        urls.push(url_arg("--mirror", m)?);
    }
    let fetcher = fetcher(&a.common)?;
    let last = a.url.split(['?', '#']).next().unwrap_or("").rsplit('/').next().unwrap_or("");
    let name = crate::fetch::engine::safe_file_name(last).unwrap_or_else(|| "download".to_string());
    let art = Artifact { urls, ..Artifact::new(name, "", sha256_arg(&a.sha256)?) };
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
    let want = ZedRequest {
        version: a.version.clone(),
        l4t: l4t_arg(&a.l4t)?,
        x86: a.x86,
        cuda_major: a.cuda_major.clone(),
        ubuntu_major: a.ubuntu_major.clone(),
    };
    let choice = device::zed_choice(&ctx, &want)?;
    if let Some(note) = &choice.note {
        eprintln!("note: {note}");
    }
    let fetcher = fetcher(&a.common)?;
    if a.refresh && !a.common.offline {
        fetcher.cache.forget_url(&choice.url);
    }
    let art = Artifact::new(
        format!("ZED SDK {} ({})", choice.sdk, choice.token),
        choice.url.clone(),
        sha256_arg(&a.sha256)?,
    );
    let Some(f) = fetch_one(g, &fetcher, &art) else { return Ok(1) };
    let version = zed::version_in_file_name(&f.file_name);
    if let (Some(wanted), Some(got)) = (&choice.wanted, &version) {
        if wanted != got {
            error_line(&format!(
                "asked for ZED SDK {wanted} but {} now serves {got} ({})\n  Stereolabs serves only the latest patch of {}; use --version {} or a copy pinned by sha256",
                choice.url, f.file_name, choice.sdk, choice.sdk
            ));
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

/// `cp310 linux_aarch64 glibc 2.35`.
fn target_text(t: &Target) -> String {
    format!(
        "cp{}{} {}{}",
        t.python.0,
        t.python.1,
        t.platform,
        t.glibc.map(|(x, y)| format!(" glibc {x}.{y}")).unwrap_or_default()
    )
}

fn run_wheels(g: &GlobalArgs, a: &FetchWheelsArgs) -> Result<ExitCode> {
    let ctx = build_context(g)?;
    let reqs = wheels::requirements::read(&a.requirement)?;
    let want = WheelRequest {
        python: a.python.clone(),
        platform: a.platform.clone(),
        glibc: a.glibc.clone(),
        l4t: l4t_arg(&a.l4t)?,
        indexes: a.index.clone(),
    };
    let target = device::wheel_target(&ctx, &want)?;
    let indexes = device::wheel_indexes(&ctx, &want)?;

    let fetcher = fetcher(&a.common)?;
    let rep = reporters::fetch_reporter(g.format, g.quiet);
    let resolver = Resolver::new(&fetcher, target.clone(), indexes.clone());
    let mut plan = resolver.plan_top_level(&reqs);
    let stop_early = a.require_wheels && plan.from_source().next().is_some();
    if !a.no_deps && !stop_early {
        resolver.add_dependencies(&mut plan, &reqs, rep.as_ref())?;
    }
    let target_text = target_text(&target);
    let refused = a.require_wheels && plan.from_source().next().is_some();

    let plan_text = render_plan(&plan, &target_text, &indexes);
    if g.format == Format::Human {
        print!("{}", redact::text(&plan_text));
        std::io::stdout().flush()?;
    }
    if refused {
        error_line(&format!(
            "--require-wheels: {} would build from source; nothing was downloaded\n  find a wheel (another --index, another version) or drop --require-wheels",
            plan.from_source().map(|i| i.name.as_str()).collect::<Vec<_>>().join(", ")
        ));
        if g.format == Format::Json {
            print(
                g,
                "",
                json!({"target": target_text, "indexes": indexes, "plan": plan, "downloaded": false}),
            )?;
        }
        return Ok(1);
    }

    std::fs::create_dir_all(&a.output)
        .with_context(|| format!("cannot create the wheelhouse {}", a.output.display()))?;
    let (pinned, failed) = wheels::download(&fetcher, &plan, &a.output, rep.as_ref());
    for (name, e) in &failed {
        error_line(&format!("{name}: {e}"));
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
        let next = if plan.no_index_answered {
            "no index could be reached (see the warnings above): check the network, the certificate hint, or --index"
        } else if a.common.offline {
            "check the names and versions, or run without --offline to ask the index"
        } else {
            "check the names and versions, or the index (--index)"
        };
        error_line(&format!("not found on any index: {}\n  {next}", missing.join(", ")));
    }
    match g.format {
        Format::Json => print(
            g,
            "",
            json!({
                "target": target_text, "indexes": indexes, "plan": plan, "wheelhouse": a.output,
                "lock": failed.is_empty().then_some(&lock), "pinned": pinned.iter().map(|(n, v, h)| json!({"name": n, "version": v, "sha256": h})).collect::<Vec<_>>(),
                "failed": failed.iter().map(|(n, e)| json!({"file": n, "error": e.to_string()})).collect::<Vec<_>>(),
                "left_to_pip": left_out,
            }),
        )?,
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
        indexes.iter().map(|i| redact::url(&i.name)).collect::<Vec<_>>().join(", ")
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
