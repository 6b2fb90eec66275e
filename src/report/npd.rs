//! Kubernetes node-problem-detector's custom plugin protocol (`jetdoc check --only ID --format
//! npd`): one line on stdout and an exit status NPD reads as 0 OK, 1 NonOK, anything else Unknown
//! (`pkg/custompluginmonitor/plugin/plugin.go`). NPD keeps at most `max_output_length` bytes of
//! the trimmed output (80 by default) and cuts them without regard to UTF-8, so the line is made
//! to fit 80 bytes here, on a character boundary.
//!
//! | check status | exit | NPD | why |
//! |---|---|---|---|
//! | fail, error | 1 | NonOK: the condition becomes True | `error` is a check that crashed: as in `jetdoc check`'s own exit code, it must not pass for healthy |
//! | warn | 0 (1 with `--strict`) | OK | a condition that is True takes a node out of service in most set-ups; a warning (low but not critical space, default runtime not yet `nvidia`) is for a person, and Prometheus carries it; `--strict` makes it a problem as in `jetdoc check --strict` |
//! | pass, info | 0 | OK | |
//! | skip | 2 | Unknown | the check could not judge this node (nothing measured, inside a container) |
//!
//! jetdoc's own errors (an unknown check id, a `--root` that does not exist) exit 2 as always, and
//! print a line here too, since NPD shows only stdout. With several checks selected, a problem in
//! any one is a problem, the node is Unknown only when every check skipped, and the line names the
//! worst check with `(+N more)`.

use super::{CheckResult, Report, Status};

/// NPD's default `max_output_length`, in bytes.
pub const MAX_LINE_BYTES: usize = 80;
pub const OK: i32 = 0;
pub const PROBLEM: i32 = 1;
pub const UNKNOWN: i32 = 2;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub exit_code: i32,
    /// At most [`MAX_LINE_BYTES`] bytes, without a line feed.
    pub line: String,
}

pub fn verdict(report: &Report, strict: bool) -> Verdict {
    let is_problem = |c: &&CheckResult| match c.status {
        Status::Fail | Status::Error => true,
        Status::Warn => strict,
        Status::Pass | Status::Info | Status::Skip => false,
    };
    let problems: Vec<&CheckResult> = report.checks.iter().filter(is_problem).collect();
    let ran: Vec<&CheckResult> = report.checks.iter().filter(|c| c.status != Status::Skip).collect();
    let (exit_code, group) = if !problems.is_empty() {
        (PROBLEM, problems)
    } else if !ran.is_empty() {
        (OK, ran)
    } else {
        (UNKNOWN, report.checks.iter().collect())
    };
    // The worst of the group, the first in report order among equals.
    let Some(worst) = group.iter().copied().reduce(|a, b| if b.status > a.status { b } else { a }) else {
        return Verdict { exit_code: UNKNOWN, line: "no check selected".into() };
    };
    let more = match group.len() {
        1 => String::new(),
        n => format!(" (+{} more)", n - 1),
    };
    let text = format!("{} {}: {}", worst.id, worst.status.as_str(), worst.summary);
    Verdict { exit_code, line: fit(&text, &more) }
}

/// The line for jetdoc's own error (exit 2): its first line, fitted.
pub fn error_line(message: &str) -> String {
    fit(&format!("jetdoc: {}", message.lines().next().unwrap_or("")), "")
}

/// One line of `text` then `suffix`, at most [`MAX_LINE_BYTES`] bytes: control characters become
/// spaces, and an overlong text is cut on a character boundary and ends in `...`.
fn fit(text: &str, suffix: &str) -> String {
    let clean: String = text.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    let clean = clean.trim();
    let budget = MAX_LINE_BYTES.saturating_sub(suffix.len());
    if clean.len() <= budget {
        return format!("{clean}{suffix}");
    }
    let mut cut = budget.saturating_sub(3);
    while !clean.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}...{suffix}", clean[..cut].trim_end())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{Area, DeviceSummary};
    use std::collections::BTreeMap;

    fn report(checks: &[(&str, Status, &str)]) -> Report {
        let checks = checks
            .iter()
            .map(|(id, status, summary)| CheckResult {
                id: id.to_string(),
                area: Area::Containers,
                status: *status,
                summary: summary.to_string(),
                hints: vec![],
                fix: None,
            })
            .collect();
        Report::new(DeviceSummary::default(), BTreeMap::new(), checks)
    }

    #[test]
    fn exit_code_per_status() {
        let cases = [
            (Status::Pass, false, OK),
            (Status::Info, false, OK),
            (Status::Warn, false, OK),
            (Status::Warn, true, PROBLEM),
            (Status::Fail, false, PROBLEM),
            (Status::Error, false, PROBLEM),
            (Status::Skip, false, UNKNOWN),
            (Status::Skip, true, UNKNOWN),
        ];
        for (status, strict, code) in cases {
            let v = verdict(&report(&[("docker.daemon", status, "x")]), strict);
            assert_eq!(v.exit_code, code, "{status:?} strict={strict}");
            assert_eq!(v.line, format!("docker.daemon {}: x", status.as_str()));
        }
    }

    #[test]
    fn several_checks_name_the_worst_and_count_the_rest() {
        let r = report(&[
            ("storage.root-free", Status::Warn, "low"),
            ("storage.docker-root", Status::Fail, "very low"),
            ("docker.daemon", Status::Error, "crashed"),
        ]);
        let v = verdict(&r, false);
        assert_eq!((v.exit_code, v.line.as_str()), (PROBLEM, "docker.daemon error: crashed (+1 more)"));
        let r = report(&[("a.b", Status::Skip, "n/a"), ("c.d", Status::Pass, "ok")]);
        assert_eq!(verdict(&r, false), Verdict { exit_code: OK, line: "c.d pass: ok".into() });
        let r = report(&[("a.b", Status::Skip, "n/a"), ("c.d", Status::Skip, "n/a")]);
        assert_eq!(verdict(&r, false).exit_code, UNKNOWN);
        assert_eq!(verdict(&report(&[]), false).exit_code, UNKNOWN);
    }

    #[test]
    fn the_line_fits_80_bytes_on_a_character_boundary() {
        let long = "é—".repeat(60);
        for suffix in ["", " (+12 more)"] {
            let line = fit(&format!("docker.default-runtime fail: {long}\nsecond line"), suffix);
            assert!(line.len() <= MAX_LINE_BYTES, "{} bytes: {line}", line.len());
            assert!(line.ends_with(&format!("...{suffix}")), "{line}");
            assert!(!line.contains('\n'));
        }
        assert_eq!(fit("a\tb\nc", ""), "a b c");
        assert_eq!(error_line("no check matches x\n  more"), "jetdoc: no check matches x");
    }
}
