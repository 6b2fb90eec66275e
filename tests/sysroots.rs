//! Every fixture root under tests/fixtures/sysroots/ is two tests, made at run time (this file
//! runs under support::harness), so adding a directory adds them and one mismatch does not hide
//! the others:
//! - `snapshots::<root>`: its human and JSON reports and its exit code, pinned as insta snapshots;
//! - `hints::<root>`: every command its report tells the user to run works as printed. `jetdoc`
//!   commands are run (against a copy of the root, `fix` with `--dry-run`) and must not be a
//!   usage error; other commands must name a program the device has or a known system tool,
//!   with balanced quoting and no unquoted shell specials.
#![allow(clippy::disallowed_methods, reason = "tests drive the real binary and the real tools")]

mod support;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use support::{jetdoc, run, stderr, stdout};

fn main() -> ExitCode {
    let dir = support::fixtures_dir().join("sysroots");
    let mut roots: Vec<PathBuf> =
        std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).filter(|p| p.is_dir()).collect();
    roots.sort();
    let mut trials = Vec::new();
    for root in roots {
        let name = root.file_name().unwrap().to_string_lossy().into_owned();
        let r = root.clone();
        trials.push(support::harness::trial(format!("snapshots::{name}"), move || snapshots(&r)));
        trials.push(support::harness::trial(format!("hints::{name}"), move || hints_lead_somewhere(&root)));
    }
    trials.push(support::harness::trial("at_least_the_base_fixture_roots", move || {
        let n = std::fs::read_dir(&dir).unwrap().filter(|e| e.as_ref().unwrap().path().is_dir()).count();
        assert!(n >= 20, "expected the base and device fixture roots, found {n}");
    }));
    trials.push(support::harness::trial("hints::image_select", image_select_hints_lead_somewhere));
    support::harness::run(include_str!("sysroots.rs"), Vec::new(), trials)
}

/// `jetdoc` with the fixture's canned command answers, when it has them.
fn jetdoc_on(root: &Path) -> std::process::Command {
    let mut cmd = jetdoc();
    cmd.arg("--root").arg(root);
    if root.join("commands.toml").exists() {
        cmd.arg("--commands").arg(root.join("commands.toml"));
    }
    cmd
}

fn check(root: &Path, format: &str) -> (i32, String) {
    let out = run(jetdoc_on(root).args(["check", "--format", format]));
    assert!(!stderr(&out).contains("panicked"), "{}", stderr(&out));
    (out.status.code().unwrap_or(-1), stdout(&out))
}

fn snapshots(root: &Path) {
    let name = root.file_name().unwrap().to_string_lossy().into_owned();
    let (code, human) = check(root, "human");
    let (json_code, json) = check(root, "json");
    assert_eq!(code, json_code, "{name}: exit code differs between formats");
    let parsed: serde_json::Value =
        serde_json::from_str(&json).unwrap_or_else(|e| panic!("{name}: bad JSON: {e}"));
    assert_eq!(parsed["schema"], 1);
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path("snapshots/sysroots");
    settings.set_prepend_module_to_snapshot(false);
    settings.bind(|| {
        insta::assert_snapshot!(format!("{name}.human"), format!("exit code: {code}\n\n{human}"));
        insta::assert_snapshot!(format!("{name}.json"), json);
    });
}

/// Every hint and fix of the fixture's report: each command in backticks, and
/// `sudo jetdoc fix ID` for each fix id (the human report prints that line).
fn hints_lead_somewhere(fixture: &Path) {
    let (_, json) = check(fixture, "json");
    let report: serde_json::Value = serde_json::from_str(&json).unwrap();
    let mut commands: Vec<(String, String)> = Vec::new();
    for c in report["checks"].as_array().unwrap() {
        let id = c["id"].as_str().unwrap();
        for text in c["hints"].as_array().unwrap().iter().filter_map(|h| h.as_str()) {
            commands.extend(quoted_commands(text).into_iter().map(|cmd| (id.to_string(), cmd)));
        }
        if let Some(fix) = c["fix"].as_str() {
            commands.push((id.to_string(), format!("sudo jetdoc fix {fix}")));
        }
    }
    // The commands run against a copy: nothing a hint does may touch the repository's fixtures.
    let copy = tempfile::tempdir().unwrap();
    let root = copy.path().join("root");
    support::copy_tree(fixture, &root);
    let mut wrong = Vec::new();
    for (id, cmd) in &commands {
        if let Err(e) = leads_somewhere(cmd, &root) {
            wrong.push(format!("{id}: `{cmd}`: {e}"));
        }
    }
    assert!(wrong.is_empty(), "hints that do not work as printed:\n{}", wrong.join("\n"));
}

/// The "build one" advice of `image select` when nothing fits (decided on the tags alone, so no
/// registry is asked): it must name a build that exists.
fn image_select_hints_lead_somewhere() {
    let root = support::fixtures_dir().join("sysroots/x86-workstation");
    for args in [&["--profile", "testing-x86"][..], &["--candidate", "dustynv/l4t-pytorch:r36.4.0"][..]] {
        let out = run(jetdoc_on(&root).args(["image", "select", "--format", "json"]).args(args));
        let v: serde_json::Value =
            serde_json::from_str(&stdout(&out)).unwrap_or_else(|e| panic!("{args:?}: {e}: {}", stderr(&out)));
        assert_eq!(v["chosen"]["action"], "build", "{v}");
        let reason = v["chosen"]["reason"].as_str().unwrap();
        let commands = quoted_commands(reason);
        assert!(!commands.is_empty(), "{reason}");
        for cmd in commands {
            leads_somewhere(&cmd, &root).unwrap_or_else(|e| panic!("image select {args:?}: `{cmd}`: {e}"));
        }
    }
}

/// The text between backticks that reads as a command. Backticks also mark flags (`--gpus`)
/// and configuration fragments (`"data-root": "/ssd"`, `runtime: nvidia`): those are not run.
fn quoted_commands(text: &str) -> Vec<String> {
    text.split('`')
        .skip(1)
        .step_by(2)
        .map(str::trim)
        .filter(|s| {
            let first = s.split_whitespace().next().unwrap_or("");
            !(first.is_empty() || first.starts_with('-') || first.starts_with('"') || first.ends_with(':'))
        })
        .map(str::to_string)
        .collect()
}

/// Tools a hint may name that a fixture root need not contain: the shell's and the base
/// system's, Docker's installer, and L4T's own tools (present on every Jetson image, not in the
/// trimmed fixture roots).
const KNOWN_TOOLS: &[&str] = &[
    "apt",
    "apt-get",
    "chmod",
    "curl",
    "df",
    "dmesg",
    "docker",
    "echo",
    "fallocate",
    "grep",
    "groupadd",
    "journalctl",
    "lsusb",
    "mkswap",
    "newgrp",
    "nvidia-ctk",
    "python3",
    "rsync",
    "service",
    "sh",
    "snap",
    "swapon",
    "systemctl",
    "tee",
    "ubuntu-drivers",
    "udevadm",
    "usermod",
    "jetson_clocks",
    "nvpmodel",
    "/opt/nvidia/jetson-io/jetson-io.py",
];

/// Checks one command line as the user would paste it.
fn leads_somewhere(line: &str, root: &Path) -> Result<(), String> {
    for simple in simple_commands(line)? {
        let mut words: &[Word] = &simple;
        while let Some(w) = words.first() {
            let assignment = !w.quoted && w.text.contains('=') && !w.text.starts_with('-');
            if w.text == "sudo" || assignment {
                words = &words[1..];
            } else {
                break;
            }
        }
        let Some(program) = words.first() else { return Err("an empty command".into()) };
        for w in words {
            if w.text == "..." {
                return Err("a placeholder `...`: not a command that works as printed".into());
            }
            if !w.quoted && w.text.contains(['{', '}', '*', '?', '[', ']', '(', ')', '<', '>', '!', '~', '#'])
            {
                return Err(format!("{:?} should be quoted", w.text));
            }
            if !w.quoted && w.text.contains('$') && w.text != "$USER" {
                return Err(format!("{:?}: an unquoted expansion", w.text));
            }
        }
        if program.text == "jetdoc" {
            run_jetdoc(&words[1..], root)?;
        } else if !KNOWN_TOOLS.contains(&program.text.as_str()) && !in_root(root, &program.text) {
            return Err(format!("{} is neither in the device's root nor a known system tool", program.text));
        }
    }
    Ok(())
}

fn in_root(root: &Path, program: &str) -> bool {
    if program.starts_with('/') {
        return root.join(program.trim_start_matches('/')).exists();
    }
    ["usr/bin", "usr/sbin", "bin", "sbin", "usr/local/bin"]
        .iter()
        .any(|d| root.join(d).join(program).exists())
}

/// Runs a `jetdoc` command of a hint against the root: `fix` as a dry run (it would change
/// things), never `--undo`. A usage error (exit 2 from clap) or a crash fails.
fn run_jetdoc(args: &[Word], root: &Path) -> Result<(), String> {
    let mut args: Vec<String> = args.iter().map(|w| w.text.clone()).collect();
    // What changes the device is tried as its dry run: the hint must parse and plan.
    if args.first().map(String::as_str) == Some("provision") && !args.iter().any(|a| a == "--dry-run") {
        args.push("--dry-run".into());
    }
    if args.first().map(String::as_str) == Some("fix") {
        if args.iter().any(|a| a == "--undo") {
            return Err("a hint must not tell the user to undo".into());
        }
        if !args.iter().any(|a| a == "--dry-run") {
            args.push("--dry-run".into());
        }
    }
    let out = run(jetdoc_on(root).args(&args));
    let err = stderr(&out);
    match out.status.code() {
        Some(0 | 1) if !err.contains("Usage:") => Ok(()),
        code => Err(format!("jetdoc {} exited {code:?}: {err}", args.join(" "))),
    }
}

struct Word {
    text: String,
    /// Any part of it was in quotes or escaped: shell specials in it are literal.
    quoted: bool,
}

/// Splits a command line into simple commands at `&&`, `||`, `|` and `;`, with POSIX shell
/// quoting (single quotes, double quotes, backslash). Unbalanced quotes are an error.
fn simple_commands(line: &str) -> Result<Vec<Vec<Word>>, String> {
    let mut commands = vec![Vec::new()];
    let mut word: Option<Word> = None;
    let mut chars = line.chars().peekable();
    let push = |word: &mut Option<Word>, commands: &mut Vec<Vec<Word>>| {
        if let Some(w) = word.take() {
            commands.last_mut().unwrap().push(w);
        }
    };
    while let Some(c) = chars.next() {
        match c {
            ' ' | '\t' => push(&mut word, &mut commands),
            '|' | '&' | ';' => {
                push(&mut word, &mut commands);
                if c == '&' && chars.peek() != Some(&'&') {
                    return Err("a lone `&` (a background job)".into());
                }
                if matches!((c, chars.peek()), ('|', Some('|')) | ('&', Some('&'))) {
                    chars.next();
                }
                commands.push(Vec::new());
            }
            '\'' | '"' => {
                let w = word.get_or_insert(Word { text: String::new(), quoted: true });
                w.quoted = true;
                loop {
                    match chars.next() {
                        None => return Err(format!("unbalanced {c}")),
                        Some(q) if q == c => break,
                        Some('\\') if c == '"' => w.text.extend(chars.next()),
                        Some(other) => w.text.push(other),
                    }
                }
            }
            '\\' => {
                let w = word.get_or_insert(Word { text: String::new(), quoted: true });
                w.quoted = true;
                w.text.extend(chars.next());
            }
            other => word.get_or_insert(Word { text: String::new(), quoted: false }).text.push(other),
        }
    }
    push(&mut word, &mut commands);
    if commands.iter().any(Vec::is_empty) {
        return Err("an operator with no command on one side".into());
    }
    Ok(commands)
}
