//! `--help` laid out for the terminal it is shown on. clap wraps help text at the terminal's
//! width but knows nothing of the two-column lists in jetdoc's `after_help` sections (fixes,
//! examples, exit codes): a wrapped description restarts at column 0, under the names. Here the
//! sections are laid out before clap sees them, with hanging indents at the same width clap
//! then uses, so clap has nothing left to wrap.

use clap::CommandFactory;

use crate::cli::Cli;

/// Help never grows wider than clap's default maximum: long lines are hard to read.
pub const MAX_WIDTH: usize = 100;
/// Below this the layout degrades to one column (names above their descriptions).
const MIN_WIDTH: usize = 40;

/// The whole command tree with every `after_help` laid out for `width` columns.
pub fn command(width: usize) -> clap::Command {
    layout(Cli::command(), width)
}

/// The width clap would pick: the terminal's, else `COLUMNS` (help piped into a pager or a
/// test), else the maximum.
pub fn terminal_width() -> usize {
    let from_term = console::Term::stdout().size_checked().map(|(_rows, cols)| usize::from(cols));
    let from_env = || std::env::var("COLUMNS").ok().and_then(|c| c.trim().parse::<usize>().ok());
    from_term.or_else(from_env).filter(|w| *w > 0).unwrap_or(MAX_WIDTH).min(MAX_WIDTH)
}

fn layout(mut cmd: clap::Command, width: usize) -> clap::Command {
    if let Some(text) = cmd.get_after_help() {
        let text = reflow(&text.to_string(), width);
        cmd = cmd.after_help(text);
    }
    let names: Vec<String> = cmd.get_subcommands().map(|s| s.get_name().to_string()).collect();
    for name in names {
        cmd = cmd.mut_subcommand(name, |sub| layout(sub, width));
    }
    cmd.term_width(width)
}

/// One line of an `after_help` text as written in `cli.rs`.
enum Piece {
    Blank,
    /// A line at column 0 ending in `:` ("Examples:").
    Heading(String),
    /// Lines at column 0 that are not headings, joined: one paragraph.
    Paragraph(String),
    /// `  NAME  description` (a description after two or more spaces), continued on lines
    /// indented deeper; or `  command` alone (`desc` empty), whose deeper lines are kept as
    /// written (a command continued with `\`).
    Row {
        name: String,
        desc: String,
        verbatim: Vec<String>,
    },
}

fn parse(text: &str) -> Vec<Piece> {
    let mut pieces: Vec<Piece> = Vec::new();
    for line in text.lines() {
        let indent = line.len() - line.trim_start().len();
        let body = line.trim();
        if body.is_empty() {
            pieces.push(Piece::Blank);
            continue;
        }
        if indent == 0 {
            if body.ends_with(':') {
                pieces.push(Piece::Heading(body.to_string()));
            } else if let Some(Piece::Paragraph(p)) = pieces.last_mut() {
                p.push(' ');
                p.push_str(body);
            } else {
                pieces.push(Piece::Paragraph(body.to_string()));
            }
            continue;
        }
        if indent > 2 {
            if let Some(Piece::Row { desc, verbatim, .. }) = pieces.last_mut() {
                if desc.is_empty() {
                    verbatim.push(line.to_string());
                } else {
                    desc.push(' ');
                    desc.push_str(body);
                }
                continue;
            }
        }
        let (name, desc) = match body.find("  ") {
            Some(at) => (body[..at].to_string(), body[at..].trim().to_string()),
            None => (body.to_string(), String::new()),
        };
        pieces.push(Piece::Row { name, desc, verbatim: Vec::new() });
    }
    pieces
}

/// Lays `text` out for `width` columns: paragraphs wrapped, and each run of rows in two
/// columns whose descriptions hang at a common column.
pub fn reflow(text: &str, width: usize) -> String {
    let width = width.max(MIN_WIDTH);
    let pieces = parse(text);
    let mut out: Vec<String> = Vec::new();
    let mut i = 0;
    while i < pieces.len() {
        match &pieces[i] {
            Piece::Blank => out.push(String::new()),
            Piece::Heading(h) => out.push(h.clone()),
            Piece::Paragraph(p) => out.extend(wrap(p, width)),
            Piece::Row { .. } => {
                let end = (i..pieces.len())
                    .find(|&j| !matches!(pieces[j], Piece::Row { .. }))
                    .unwrap_or(pieces.len());
                layout_rows(&pieces[i..end], width, &mut out);
                i = end;
                continue;
            }
        }
        i += 1;
    }
    out.join("\n")
}

fn layout_rows(rows: &[Piece], width: usize, out: &mut Vec<String>) {
    const INDENT: usize = 2;
    const GAP: usize = 2;
    // Names longer than this (long example commands) go on a line of their own.
    let cap = width * 2 / 5;
    let widest = rows
        .iter()
        .filter_map(|r| match r {
            Piece::Row { name, desc, .. } if !desc.is_empty() && name.len() <= cap => Some(name.len()),
            _ => None,
        })
        .max()
        .unwrap_or(0);
    let column = INDENT + widest + GAP;
    for row in rows {
        let Piece::Row { name, desc, verbatim } = row else { continue };
        if desc.is_empty() {
            out.extend(command_lines(name, width));
            out.extend(verbatim.iter().cloned());
            continue;
        }
        let lines = wrap(desc, width - column);
        let mut lines = lines.into_iter();
        if INDENT + name.len() + GAP <= column {
            let first = lines.next().unwrap_or_default();
            out.push(format!("{:INDENT$}{name:<w$}{first}", "", w = column - INDENT));
        } else {
            out.extend(command_lines(name, width));
        }
        for line in lines {
            out.push(format!("{:column$}{line}", ""));
        }
    }
}

/// An example command on its own line(s): one too long for the width is continued with `\`
/// as a shell would read it, so that it still works when pasted.
fn command_lines(cmd: &str, width: usize) -> Vec<String> {
    const INDENT: &str = "  ";
    const MORE: &str = "      ";
    if INDENT.len() + cmd.chars().count() <= width {
        return vec![format!("{INDENT}{cmd}")];
    }
    let mut lines = Vec::new();
    let mut line = INDENT.to_string();
    let mut fresh = true;
    for word in cmd.split_whitespace() {
        // Room for the word and the " \\" that would end the line.
        if !fresh && line.chars().count() + 1 + word.chars().count() + 2 > width {
            line.push_str(" \\");
            lines.push(std::mem::replace(&mut line, MORE.to_string()));
            fresh = true;
        }
        if !fresh {
            line.push(' ');
        }
        line.push_str(word);
        fresh = false;
    }
    lines.push(line);
    lines
}

/// Greedy word wrap; a word longer than the width (a path, a URL) gets a line of its own.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "\
Fixes:
  gpu-runtime          install the toolkit, register the nvidia runtime in
                       /etc/docker/daemon.json, restart Docker and verify
  docker.group         add the invoking user to the docker group

Examples:
  jetdoc fix --dry-run    the diff, nothing changed
  pip install --require-hashes \\
      -r wheelhouse/requirements.lock

Every changed file is backed up and journaled; running a fix again
changes nothing.";

    #[test]
    fn rows_hang_at_one_column_at_any_width() {
        for width in [40, 60, 80, 100] {
            let text = reflow(TEXT, width);
            for line in text.lines() {
                assert!(line.chars().count() <= width, "{width}: {line:?}");
            }
            let fixes: Vec<&str> = text.lines().skip(1).take_while(|l| !l.is_empty()).collect();
            assert!(fixes.iter().all(|l| l.starts_with("  ")), "{width}:\n{text}");
            let column = fixes[0].find("install").unwrap();
            assert!(fixes[1..]
                .iter()
                .all(|l| l.starts_with("  docker.group") || l[..column].trim().is_empty()));
        }
        let wide = reflow(TEXT, 100);
        assert!(wide.contains(
            "  gpu-runtime   install the toolkit, register the nvidia runtime in /etc/docker/daemon.json,"
        ));
        assert!(wide.contains("  pip install --require-hashes \\\n      -r wheelhouse/requirements.lock"));
        assert!(wide.ends_with(
            "Every changed file is backed up and journaled; running a fix again changes nothing."
        ));
    }
}
