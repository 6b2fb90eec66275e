//! Converts the built-in knowledge tables (`checks/*.toml`) to JSON at build time: jetdoc embeds
//! the JSON, which parses several times faster than TOML, and `jetdoc check` reads every table
//! on each run. The TOML files stay the source (and user tables in checks.d stay TOML); a unit
//! test parses them as TOML too, so an error there is reported with its line.

use std::path::Path;

fn main() {
    let out = std::env::var("OUT_DIR").expect("OUT_DIR");
    println!("cargo:rerun-if-changed=checks");
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
