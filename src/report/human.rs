//! The doctor report for people: a device header, then checks grouped by area, problems with
//! indented hints and the command that fixes them, and a closing count line.

use console::Style;
use std::borrow::Cow;
use std::fmt::Write;

use super::{Area, CheckResult, Report, Status};

pub struct Options {
    pub color: bool,
    /// `-q`: only problems and the closing line.
    pub quiet: bool,
    /// `-v`: also hints of passing checks and every fact's source.
    pub verbose: bool,
}

fn style(status: Status) -> (&'static str, Style) {
    match status {
        Status::Pass => ("✔", Style::new().green()),
        Status::Info => ("ℹ", Style::new().cyan()),
        Status::Skip => ("-", Style::new().dim()),
        Status::Warn => ("⚠", Style::new().yellow()),
        Status::Fail => ("✘", Style::new().red().bold()),
        Status::Error => ("‼", Style::new().magenta().bold()),
    }
}

pub fn render(report: &Report, opts: &Options) -> String {
    let mut out = String::new();
    let paint =
        |s: &Style, text: &str| if opts.color { s.apply_to(text).to_string() } else { text.to_string() };
    let bold = Style::new().bold();
    let dim = Style::new().dim();
    let d = &report.device;

    if !opts.quiet {
        let title = match (&d.model, d.jetson) {
            (Some(m), _) => m.clone(),
            (None, true) => "NVIDIA Jetson (model unknown)".to_string(),
            (None, false) => "not a Jetson".to_string(),
        };
        let _ = writeln!(out, "{}", paint(&bold, &clean_line(&title)));
        let or_dash = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".to_string());
        let mut rows: Vec<(&str, String)> = Vec::new();
        if d.jetson {
            let module = match (&d.module, &d.soc) {
                (Some(m), Some(s)) => format!("{m} ({s})"),
                (Some(m), None) => m.clone(),
                (None, Some(s)) => format!("unknown module ({s})"),
                (None, None) => "-".to_string(),
            };
            rows.push(("module", module));
            let l4t = match (&d.l4t, &d.jetpack) {
                (Some(l), Some(j)) => format!("{l} (JetPack {j})"),
                (l, _) => or_dash(l),
            };
            rows.push(("L4T", l4t));
        }
        rows.push((
            "CUDA",
            format!("{}   cuDNN {}   TensorRT {}", or_dash(&d.cuda), or_dash(&d.cudnn), or_dash(&d.tensorrt)),
        ));
        let os = match (&d.ubuntu, &d.os) {
            (Some(u), _) => format!("Ubuntu {u}"),
            (None, Some(os)) => os.clone(),
            (None, None) => "-".to_string(),
        };
        rows.push((
            "OS",
            format!(
                "{os}   Python {}   kernel {}   {}",
                or_dash(&d.python),
                or_dash(&d.kernel),
                or_dash(&d.arch)
            ),
        ));
        for (k, v) in rows {
            let _ = writeln!(out, "  {}  {}", paint(&dim, &format!("{k:<6}")), clean_line(&v));
        }
        if opts.verbose {
            for (k, v) in &report.facts {
                let _ = writeln!(out, "  {}", paint(&dim, &clean_line(&format!("{k} = {v}"))));
            }
        }
    }

    let width = report.checks.iter().map(|c| c.id.len()).max().unwrap_or(0);
    let mut area: Option<Area> = None;
    for c in &report.checks {
        let problem = matches!(c.status, Status::Warn | Status::Fail | Status::Error);
        if opts.quiet && !problem {
            continue;
        }
        if area != Some(c.area) {
            area = Some(c.area);
            let _ = writeln!(out, "\n{}", paint(&bold, c.area.as_str()));
        }
        render_check(&mut out, c, width, opts, &paint);
    }
    if !out.ends_with("\n\n") {
        out.push('\n');
    }
    let counts = [
        (Status::Pass, "passed"),
        (Status::Info, "info"),
        (Status::Warn, if report.count(Status::Warn) == 1 { "warning" } else { "warnings" }),
        (Status::Fail, "failed"),
        (Status::Error, if report.count(Status::Error) == 1 { "error" } else { "errors" }),
        (Status::Skip, "skipped"),
    ];
    let line = counts
        .iter()
        .filter(|(s, _)| report.count(*s) > 0 || matches!(s, Status::Pass | Status::Fail))
        .map(|(s, word)| {
            let text = format!("{} {word}", report.count(*s));
            if report.count(*s) > 0 {
                paint(&style(*s).1, &text)
            } else {
                text
            }
        })
        .collect::<Vec<_>>()
        .join(" · ");
    let _ = writeln!(out, "{line}");
    out
}

fn render_check(
    out: &mut String,
    c: &CheckResult,
    width: usize,
    opts: &Options,
    paint: &dyn Fn(&Style, &str) -> String,
) {
    let (symbol, st) = style(c.status);
    let pad = " ".repeat(width + 6);
    let summary = clean(&c.summary);
    let mut summary = summary.lines();
    let _ = writeln!(
        out,
        "  {} {:<width$}  {}",
        paint(&st, symbol),
        clean_line(&c.id),
        summary.next().unwrap_or("")
    );
    // A summary is one line; one that carries a newline from the data is indented, so that it
    // cannot pose as a check line of its own.
    for more in summary {
        let _ = writeln!(out, "{pad}{more}");
    }
    let problem = matches!(c.status, Status::Warn | Status::Fail | Status::Error);
    if problem || opts.verbose {
        for h in &c.hints {
            let h = clean(h);
            let mut lines = h.lines();
            if let Some(first) = lines.next() {
                let _ = writeln!(out, "{pad}{first}");
            }
            for more in lines {
                let _ = writeln!(out, "{pad}  {more}");
            }
        }
        if let Some(fix) = &c.fix {
            let cmd = format!("sudo jetdoc fix {}", clean_line(fix));
            let _ = writeln!(out, "{pad}fix: {}", paint(&Style::new().bold(), &cmd));
        }
    }
}

/// Text from outside jetdoc (device-tree strings, file and image names, Docker's and servers'
/// messages) made safe for a terminal: control characters (C0 but newline and tab, DEL, C1) and
/// the bidirectional-text overrides are written as escapes (`\x1b`, `\u{202e}`). Raw, an ESC
/// sequence in a device-tree `model` could recolour, retitle, hide or rewrite what jetdoc
/// prints, with or without `--color`. Every human renderer and reporter passes data through
/// this (or `clean_line`); jetdoc's own styles are added afterwards.
pub fn clean(text: &str) -> Cow<'_, str> {
    escape_controls(text, true)
}

/// `clean` for one-line fields: a newline is escaped too.
pub fn clean_line(text: &str) -> Cow<'_, str> {
    escape_controls(text, false)
}

/// The net under renderers that mix jetdoc's own colours with data: every control character is
/// escaped as `clean` does, except well-formed colour sequences (`ESC [ 0-9;... m`) when
/// `keep_styles` (colour is on). Whatever a renderer forgot to `clean` can then at most change a
/// colour: it cannot move the cursor, clear the screen, set the title or plant a hyperlink.
pub fn clean_styled(text: &str, keep_styles: bool) -> Cow<'_, str> {
    if !keep_styles {
        return clean(text);
    }
    if !text.contains('\u{1b}') {
        return clean(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('\u{1b}') {
        out.push_str(&clean(&rest[..at]));
        let seq = &rest[at..];
        let params = seq[1..]
            .strip_prefix('[')
            .map(|p| p.len() - p.trim_start_matches(|c: char| c.is_ascii_digit() || c == ';').len());
        match params {
            Some(n) if seq[2 + n..].starts_with('m') => {
                out.push_str(&seq[..3 + n]);
                rest = &seq[3 + n..];
            }
            _ => {
                out.push_str("\\x1b");
                rest = &seq[1..];
            }
        }
    }
    out.push_str(&clean(rest));
    Cow::Owned(out)
}

fn escape_controls(text: &str, keep_newlines: bool) -> Cow<'_, str> {
    let unsafe_char = |c: char| match c {
        '\n' => !keep_newlines,
        '\t' => false,
        // Bidirectional embeddings, overrides and isolates ("Trojan Source").
        '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' => true,
        c => c.is_control(),
    };
    if !text.chars().any(unsafe_char) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if !unsafe_char(c) {
            out.push(c);
        } else if (c as u32) < 0x100 {
            let _ = write!(out, "\\x{:02x}", c as u32);
        } else {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_are_escaped_and_plain_text_is_borrowed() {
        assert!(matches!(clean("Jetson AGX Orin — 64GB ✔"), Cow::Borrowed(_)));
        assert_eq!(clean("a\x1b]0;owned\x07b"), "a\\x1b]0;owned\\x07b");
        assert_eq!(clean("x\x1b[2J\ry\u{9b}31m"), "x\\x1b[2J\\x0dy\\x9b31m");
        assert_eq!(clean("abc\u{202e}gpj.exe"), "abc\\u{202e}gpj.exe");
        assert_eq!(clean("two\nlines\tand a tab"), "two\nlines\tand a tab");
        assert_eq!(clean_line("two\nlines"), "two\\x0alines");
        assert_eq!(clean("del\x7f"), "del\\x7f");
    }

    #[test]
    fn styled_text_keeps_only_colour_sequences() {
        let ours = format!("{} model", Style::new().green().force_styling(true).apply_to("✔"));
        assert_eq!(clean_styled(&ours, true), ours);
        assert_eq!(clean_styled(&ours, false), ours.replace('\x1b', "\\x1b"));
        let theirs = "\x1b]0;owned\x07\x1b[2J\x1b[31mred\x1b[0m\x1b[";
        assert_eq!(clean_styled(theirs, true), "\\x1b]0;owned\\x07\\x1b[2J\x1b[31mred\x1b[0m\\x1b[");
    }
}
