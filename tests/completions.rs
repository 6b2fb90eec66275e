//! `jetdoc completions` and `jetdoc man`: the scripts load in the real shells, the pages render
//! with the real groff without a warning, and both follow the clap definitions.
#![allow(clippy::disallowed_methods, reason = "tests drive the real binary and the real tools")]

mod support;

support::harness!(
    bash_completion_loads_and_completes_subcommands_and_flags,
    zsh_completion_parses_and_registers,
    fish_completion_completes_subcommands,
    completions_for_an_unknown_shell_is_a_usage_error,
    completions_piped_into_a_closed_reader_do_not_panic,
    man_page_renders_without_warnings_and_documents_every_subcommand,
    man_dir_writes_one_clean_page_per_visible_command,
    man_dir_that_cannot_be_created_is_an_error_naming_it,
);

use std::process::{Command, Stdio};
use support::{jetdoc, require, run, stderr, stdout};

fn completions(shell: &str) -> String {
    let out = run(jetdoc().args(["completions", shell]));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let script = stdout(&out);
    assert!(script.contains("jetdoc"), "{shell}: {script}");
    script
}

fn has(tool: &str) -> bool {
    which::which(tool).is_ok()
}

/// Runs `shell -c script` with jetdoc's directory first on PATH, so that `jetdoc` is the binary
/// under test.
fn shell(shell: &str, args: &[&str]) -> std::process::Output {
    let bin_dir = std::path::Path::new(env!("CARGO_BIN_EXE_jetdoc")).parent().unwrap().to_path_buf();
    let path = std::env::join_paths(
        std::iter::once(bin_dir).chain(std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())),
    )
    .unwrap();
    Command::new(shell).args(args).env("PATH", path).env("NO_COLOR", "1").output().unwrap()
}

fn bash_completion_loads_and_completes_subcommands_and_flags() {
    let out = shell("bash", &["-c", "source <(jetdoc completions bash) && complete -p jetdoc"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("-F _jetdoc") && stdout(&out).contains("jetdoc"), "{}", stdout(&out));
    // Ask the completion function itself, as bash does on <TAB>.
    let complete = |line: &str| {
        let words: Vec<&str> = line.split(' ').collect();
        let script = format!(
            "source <(jetdoc completions bash); COMP_WORDS=({words}); COMP_CWORD={cword}; \
             COMP_LINE='{line}'; COMP_POINT=${{#COMP_LINE}}; _jetdoc jetdoc '{cur}' '{prev}'; \
             printf '%s\\n' \"${{COMPREPLY[@]}}\"",
            words = words.iter().map(|w| format!("'{w}'")).collect::<Vec<_>>().join(" "),
            cword = words.len() - 1,
            cur = words[words.len() - 1],
            prev = words[words.len() - 2],
        );
        let out = shell("bash", &["-c", &script]);
        assert!(out.status.success(), "{line}: {}", stderr(&out));
        stdout(&out).lines().map(str::to_string).collect::<Vec<_>>()
    };
    let subcommands = complete("jetdoc ");
    for sub in ["check", "fix", "fetch", "image", "completions", "man"] {
        assert!(subcommands.iter().any(|s| s == sub), "no {sub} in {subcommands:?}");
    }
    let check_flags = complete("jetdoc check --");
    for flag in ["--strict", "--only", "--root", "--format"] {
        assert!(check_flags.iter().any(|s| s == flag), "no {flag} in {check_flags:?}");
    }
    assert_eq!(complete("jetdoc completions z"), vec!["zsh"]);
}

fn zsh_completion_parses_and_registers() {
    let script = completions("zsh");
    assert!(script.starts_with("#compdef jetdoc"), "{script}");
    require(has("zsh"), "zsh");
    let out = shell(
        "zsh",
        &["-fc", "autoload -Uz compinit && compinit -u -D && source <(jetdoc completions zsh) && print -r -- $_comps[jetdoc]"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out).trim(), "_jetdoc", "stderr: {}", stderr(&out));
}

fn fish_completion_completes_subcommands() {
    completions("fish");
    require(has("fish"), "fish");
    let out =
        shell("fish", &["--no-config", "-c", "jetdoc completions fish | source; complete -C 'jetdoc '"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let listed: Vec<&str> = text.lines().map(|l| l.split('\t').next().unwrap_or("")).collect();
    for sub in ["check", "fix", "fetch", "image", "completions", "man"] {
        assert!(listed.contains(&sub), "no {sub} in {listed:?}");
    }
}

fn completions_for_an_unknown_shell_is_a_usage_error() {
    let out = run(jetdoc().args(["completions", "tcsh"]));
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("bash") && stderr(&out).contains("zsh"), "{}", stderr(&out));
}

fn completions_piped_into_a_closed_reader_do_not_panic() {
    let mut child =
        jetdoc().args(["completions", "bash"]).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    drop(child.stdout.take()); // the reader goes away before jetdoc writes
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(!stderr(&out).contains("panicked"), "{}", stderr(&out));
}

/// groff's own warnings (-ww) on a page; empty when the page is clean.
fn groff_warnings(page: &std::path::Path) -> String {
    let out = Command::new("groff").args(["-man", "-Tutf8", "-ww", "-z"]).arg(page).output().unwrap();
    assert!(out.status.success(), "groff failed on {}: {}", page.display(), stderr(&out));
    stderr(&out)
}

fn man_page_renders_without_warnings_and_documents_every_subcommand() {
    let out = run(jetdoc().arg("man"));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let page = stdout(&out);
    assert!(page.contains(".TH jetdoc 1"), "{page}");
    for sub in ["check", "fix", "fetch", "image", "completions", "man"] {
        assert!(page.contains(&format!("jetdoc\\-{sub}(1)")), "no jetdoc-{sub}(1) in the page");
    }
    require(has("groff"), "groff (Debian's groff-base)");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("jetdoc.1");
    std::fs::write(&file, &page).unwrap();
    assert_eq!(groff_warnings(&file), "");
    let out = Command::new("groff").args(["-man", "-Tutf8"]).arg(&file).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("Exit codes:"), "the exit codes (after_help) are in the page:\n{text}");
}

fn man_dir_writes_one_clean_page_per_visible_command() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("man1");
    let out = run(jetdoc().arg("man").arg("--dir").arg(&target));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let mut pages: Vec<String> = std::fs::read_dir(&target)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    pages.sort();
    for expected in
        ["jetdoc.1", "jetdoc-check.1", "jetdoc-fix.1", "jetdoc-fetch-zed.1", "jetdoc-image-select.1"]
    {
        assert!(pages.iter().any(|p| p == expected), "no {expected} in {pages:?}");
    }
    assert!(!pages.iter().any(|p| p.contains("help")), "no page for `help`: {pages:?}");
    assert!(stderr(&out).contains(&format!("wrote {} man pages", pages.len())), "{}", stderr(&out));
    let check = std::fs::read_to_string(target.join("jetdoc-check.1")).unwrap();
    assert!(check.contains("\\-\\-strict"), "jetdoc-check.1 documents --strict");
    assert!(!check.contains("\\-\\-commands"), "hidden test hooks stay out of the page");
    require(has("groff"), "groff (Debian's groff-base)");
    for page in &pages {
        assert_eq!(groff_warnings(&target.join(page)), "", "{page}");
    }
}

fn man_dir_that_cannot_be_created_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a-file");
    std::fs::write(&file, "").unwrap();
    let out = run(jetdoc().arg("man").arg("--dir").arg(file.join("man1")));
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains(&file.join("man1").display().to_string()), "{}", stderr(&out));
}
