//! Converts the built-in knowledge tables (`checks/*.toml`) to JSON at build time: jetdoc embeds
//! the JSON, which parses several times faster than TOML, and `jetdoc check` reads every table
//! on each run. The TOML files stay the source (and user tables in checks.d stay TOML); a unit
//! test parses them as TOML too, so an error there is reported with its line.

use std::path::Path;

fn main() {
    let out = std::env::var("OUT_DIR").expect("OUT_DIR");
    println!("cargo:rerun-if-changed=checks");
    link_without_pie();
    let mut names: Vec<_> = std::fs::read_dir("checks")
        .expect("checks/ directory")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    names.sort();
    for path in names {
        println!("cargo:rerun-if-changed={}", path.display());
        let text = std::fs::read_to_string(&path).expect("read table");
        let value: toml::Value = toml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let json = serde_json::to_string(&value).expect("JSON");
        let stem = path.file_stem().unwrap().to_string_lossy();
        std::fs::write(Path::new(&out).join(format!("{stem}.json")), json).expect("write JSON table");
    }
}

/// Links the `jetdoc` executable at a fixed address (`-no-pie`) on Linux/glibc. A position-
/// independent executable is relocated by the dynamic loader on every start: ~20,000 relative
/// relocations here, writing (and so copying) every page of `.data.rel.ro`, most of them the
/// vtables of the HTTP and TLS stack that `jetdoc check` never calls. That was a sixth of the
/// instructions and a third of the page faults of a `check` run (README, Performance). The
/// code itself stays position-independent, and shared libraries, stack, heap and mmap are
/// still randomised; only the executable's own image is not. `JETDOC_PIE=1` keeps a PIE (for
/// packaging policies that require one).
fn link_without_pie() {
    println!("cargo:rerun-if-env-changed=JETDOC_PIE");
    let linux_gnu = std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux")
        && std::env::var("CARGO_CFG_TARGET_ENV").as_deref() == Ok("gnu");
    let keep_pie = std::env::var("JETDOC_PIE").is_ok_and(|v| !v.is_empty() && v != "0");
    if linux_gnu && !keep_pie {
        println!("cargo:rustc-link-arg-bins=-no-pie");
    }
}
