//! The test harness of the files whose tests need a tool or service this machine may lack
//! (Docker, docker-registry, busybox-static, pip...) or are made at run time (one per fixture).
//!
//! libtest (`#[test]`) knows only two outcomes for a test that runs: passed or failed, so a test
//! that returned early for want of Docker used to show `ok`. These files set `harness = false`
//! in Cargo.toml and run under libtest-mimic, which looks and answers like libtest (filters,
//! `--list`, `--exact`, `--test-threads`, `--format terse|json`) and has a third outcome: a test
//! that calls `support::require` for something missing is reported `ignored (needs ...)`, and
//! counted among the ignored; in CI (`CI=true`) the same call fails the test.
//!
//! Why not a `build.rs` probe setting a cfg for `#[cfg_attr(not(have_docker), ignore)]`: the
//! answer would be frozen at build time (stale after `apt install`, wrong when built as a user
//! and run as root), and every re-probe would rebuild jetdoc itself, since a build script's cfg
//! applies to every target of the package.

use libtest_mimic::{Arguments, Completion, Failed, Trial};
use std::panic::{self, AssertUnwindSafe};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Once;

/// The panic payload of `support::require` outside CI: not a failure, a reason to ignore.
pub struct Missing(pub String);

static ACTIVE: AtomicBool = AtomicBool::new(false);

/// Whether the running test binary uses this harness (only then can a test be ignored at run
/// time; under libtest a missing requirement must fail rather than pass).
pub fn active() -> bool {
    ACTIVE.load(Ordering::Relaxed)
}

/// Lists a file's tests and runs them: `support::harness!(name_a, name_b);` in place of
/// `#[test]` attributes, which this harness would silently never run.
#[allow(unused_macros)]
macro_rules! harness {
    ($($test:ident),* $(,)?) => {
        fn main() -> std::process::ExitCode {
            let source = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/", file!()));
            let tests: Vec<(&'static str, fn())> = vec![$((stringify!($test), $test as fn())),*];
            $crate::support::harness::run(source, tests, Vec::new())
        }
    };
}
#[allow(unused_imports)]
pub(crate) use harness;

/// A test made at run time (e.g. one per fixture directory), with the same handling of
/// `support::require` as the listed ones.
pub fn trial(name: impl Into<String>, test: impl FnOnce() + Send + 'static) -> Trial {
    Trial::ignorable_test(name, move || outcome(test))
}

/// Runs the listed `tests` of a file whose text is `source`, and `more` made at run time.
pub fn run(source: &str, tests: Vec<(&'static str, fn())>, more: Vec<Trial>) -> ExitCode {
    ACTIVE.store(true, Ordering::Relaxed);
    install_hook();
    let args = Arguments::from_args();
    // A `#[test]` in a `harness = false` file compiles to nothing: no error, never run.
    let stray: Vec<&str> = source.lines().filter(|l| l.trim() == "#[test]").collect();
    let mut trials: Vec<Trial> = tests.into_iter().map(|(name, f)| trial(name, f)).collect();
    if !stray.is_empty() {
        trials.push(Trial::test("every_test_is_listed_in_the_harness", || {
            Err("this file runs under support::harness (harness = false): a #[test] fn here is never run; \
                 drop the attribute and list the fn in `support::harness!(...)`"
                .into())
        }));
    }
    trials.extend(more);
    libtest_mimic::run(&args, trials).exit_code()
}

fn outcome(test: impl FnOnce()) -> Result<Completion, Failed> {
    match panic::catch_unwind(AssertUnwindSafe(test)) {
        Ok(()) => Ok(Completion::Completed),
        Err(payload) => match payload.downcast::<Missing>() {
            Ok(missing) => Ok(Completion::ignored_with(missing.0)),
            Err(payload) => {
                let msg = payload
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_else(|| "the test panicked".into());
                Err(msg.into())
            }
        },
    }
}

/// Keeps the panic message of an ignored test off the output; real panics still print.
fn install_hook() {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let default = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if !info.payload().is::<Missing>() {
                default(info);
            }
        }));
    });
}
