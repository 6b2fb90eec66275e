//! `jetdoc profiles list | show`.

use anyhow::Result;
use serde_json::json;
use std::fmt::Write as _;
use std::io::Write as _;

use super::provision::{print_json, render_refusal, render_resolved, Style};
use super::{build_context, use_color, ExitCode};
use crate::cli::{Format, GlobalArgs, ProfilesCommand, ProfilesShowArgs};
use crate::provision::{profile, Profile};

pub fn run(g: &GlobalArgs, cmd: &ProfilesCommand) -> Result<ExitCode> {
    match cmd {
        ProfilesCommand::List => list(g),
        ProfilesCommand::Show(a) => show(g, a),
    }
}

fn list(g: &GlobalArgs) -> Result<ExitCode> {
    let all = profile::list();
    if g.format == Format::Json {
        print_json(&json!({ "profiles": all, "user_dir": profile::user_dir() }))?;
        return Ok(0);
    }
    let st = Style::new(use_color(g.color, console::Term::stdout().is_term()));
    let width = all.iter().map(|p| p.name.len()).max().unwrap_or(0);
    let mut out = String::new();
    for p in &all {
        let _ = writeln!(
            out,
            "{}  {}",
            st.bold(&format!("{:<width$}", p.name)),
            p.description.as_deref().unwrap_or("")
        );
        match &p.error {
            Some(e) => {
                let _ = writeln!(out, "{:width$}  {} {e}", "", st.red("error:"));
            }
            None => {
                let origin =
                    if p.source.starts_with("builtin:") { "built in".to_string() } else { p.source.clone() };
                let _ = writeln!(out, "{:width$}  {} · {origin}", "", p.platforms.join(" or "));
            }
        }
    }
    let _ = writeln!(
        out,
        "\nYour own: {}/NAME.toml (schema: docs/profiles.md); `jetdoc profiles show NAME` resolves one for this device.",
        profile::user_dir().display()
    );
    std::io::stdout().lock().write_all(out.as_bytes())?;
    Ok(0)
}

fn show(g: &GlobalArgs, a: &ProfilesShowArgs) -> Result<ExitCode> {
    let profile = Profile::load(&a.profile)?;
    if a.source {
        std::io::stdout().lock().write_all(profile.text.as_bytes())?;
        return Ok(0);
    }
    let ctx = build_context(g)?;
    let st = Style::new(use_color(g.color, console::Term::stdout().is_term()));
    match crate::provision::resolve_for(&ctx, &profile) {
        Ok(r) => {
            if g.format == Format::Json {
                print_json(&serde_json::to_value(&r)?)?;
            } else {
                std::io::stdout().lock().write_all(render_resolved(&r, &st).as_bytes())?;
            }
            Ok(0)
        }
        Err(refused) => {
            if g.format == Format::Json {
                print_json(&json!({ "schema": crate::provision::plan::SCHEMA, "refused": refused }))?;
            } else {
                std::io::stdout().lock().write_all(render_refusal(&refused, &st).as_bytes())?;
            }
            Ok(1)
        }
    }
}
