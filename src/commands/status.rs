//! `jetdoc status`: what jetdoc provisioned on this device (or another root), from the state file.

use anyhow::Result;
use std::fmt::Write as _;
use std::io::Write as _;

use super::provision::{print_json, Style};
use super::{build_context, use_color, ExitCode};
use crate::cli::{Format, GlobalArgs, StatusArgs};
use crate::host::Reason;
use crate::provision::state::{self, Outcome, State};

pub fn run(g: &GlobalArgs, a: &StatusArgs) -> Result<ExitCode> {
    let ctx = build_context(g)?;
    let mut st = match ctx.host.read_text(state::STATE_FILE) {
        Ok(text) => State::parse(&text, state::STATE_FILE)?,
        Err(absence) if absence.reason == Reason::Missing => State::new(),
        Err(absence) => anyhow::bail!("cannot read {}: {absence}", state::STATE_FILE),
    };
    if let Some(p) = &a.profile {
        st.profiles.retain(|name, _| name == p);
    }
    let failed = st.profiles.values().any(|p| p.result != Outcome::Success);
    if g.format == Format::Json {
        print_json(&serde_json::to_value(&st)?)?;
        return Ok(i32::from(failed));
    }
    let sty = Style::new(use_color(g.color, console::Term::stdout().is_term()));
    let mut out = String::new();
    if st.profiles.is_empty() {
        let _ = writeln!(
            out,
            "nothing provisioned here{} ({} has no entry): `jetdoc provision PROFILE` records one",
            a.profile.as_ref().map(|p| format!(" for `{p}`")).unwrap_or_default(),
            state::STATE_FILE
        );
    }
    for (name, p) in &st.profiles {
        let result = match p.result {
            Outcome::Success => sty.green("provisioned"),
            Outcome::Failed => sty.red("failed"),
            Outcome::InProgress => sty.yellow("did not finish"),
        };
        let _ =
            writeln!(out, "{}  {result}  {}", sty.bold(name), p.finished.as_deref().unwrap_or(&p.started));
        let _ = writeln!(
            out,
            "  profile  {} (sha256 {})",
            p.source,
            &p.profile_sha256[..12.min(p.profile_sha256.len())]
        );
        let d = &p.device;
        let dev: Vec<String> = [
            d.platform.clone(),
            d.module_part.clone(),
            d.l4t.as_ref().map(|l| format!("L4T {l}")),
            d.jetpack.as_ref().map(|j| format!("JetPack {j}")),
        ]
        .into_iter()
        .flatten()
        .collect();
        if !dev.is_empty() {
            let _ = writeln!(out, "  device   {}", dev.join(" · "));
        }
        if let Some(i) = &p.image {
            let base = match &i.base_digest {
                Some(d) => format!("{}@{}", i.base, d),
                None => i.base.clone(),
            };
            let _ = writeln!(out, "  image    {} ({}) on {base}", i.tag, &i.id[..19.min(i.id.len())]);
        }
        for art in &p.artifacts {
            let _ =
                writeln!(out, "  download {}  sha256 {}", art.name, &art.sha256[..12.min(art.sha256.len())]);
        }
        if let Some(l) = &p.lock_sha256 {
            let _ = writeln!(out, "  lock     sha256 {}", &l[..12.min(l.len())]);
        }
        for s in &p.smoke {
            let mark = if s.passed { sty.green("✔") } else { sty.red("✘") };
            let _ = writeln!(out, "  smoke    {mark} {} ({:.1}s)", s.name, s.seconds);
        }
        if let Some(f) = &p.failed_step {
            let _ = writeln!(out, "  failed   at {f}: {}", p.message.as_deref().unwrap_or(""));
        }
        if let Some(r) = &p.resume {
            let _ = writeln!(out, "  resume   {r}");
        }
    }
    std::io::stdout().lock().write_all(out.as_bytes())?;
    Ok(i32::from(failed))
}
