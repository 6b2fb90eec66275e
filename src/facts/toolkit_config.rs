//! The NVIDIA container toolkit's files: `/etc/nvidia-container-runtime/config.toml` (injection
//! mode, CSV directory) and the CSV mount specs under `host-files-for-container.d/`, whose lines
//! are `<kind>, <host path>` with kind `dev`, `lib`, `sym` or `dir`.

pub const CONFIG_PATH: &str = "/etc/nvidia-container-runtime/config.toml";
/// The toolkit's compiled-in default for `nvidia-container-runtime.modes.csv.mount-spec-path`.
pub const DEFAULT_CSV_DIR: &str = "/etc/nvidia-container-runtime/host-files-for-container.d";

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RuntimeConfig {
    /// `auto` (the default when unset), `csv`, `cdi`, `jit-cdi`, `legacy`.
    pub mode: String,
    /// Whether `mode` was written in the file or is the default.
    pub mode_set: bool,
    pub csv_dir: String,
}

pub fn parse_config(text: &str) -> Result<RuntimeConfig, String> {
    let value: toml::Table = text.parse().map_err(|e: toml::de::Error| match e.span() {
        Some(span) => {
            format!("line {}: {}", text[..span.start.min(text.len())].matches('\n').count() + 1, e.message())
        }
        None => e.message().to_string(),
    })?;
    let runtime = value.get("nvidia-container-runtime").and_then(toml::Value::as_table);
    let mode = runtime.and_then(|r| r.get("mode")).and_then(toml::Value::as_str);
    let csv_dir = runtime
        .and_then(|r| r.get("modes"))
        .and_then(|m| m.get("csv"))
        .and_then(|c| c.get("mount-spec-path"))
        .and_then(toml::Value::as_str)
        .unwrap_or(DEFAULT_CSV_DIR);
    Ok(RuntimeConfig {
        mode: mode.unwrap_or("auto").to_string(),
        mode_set: mode.is_some(),
        csv_dir: csv_dir.to_string(),
    })
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsvEntry {
    pub kind: String,
    pub path: String,
    pub line: usize,
}

/// Entries of one CSV mount spec; blank lines and `#` comments skipped, malformed lines reported.
pub fn parse_csv(text: &str) -> (Vec<CsvEntry>, Vec<usize>) {
    let mut entries = Vec::new();
    let mut bad = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        match line.split_once(',') {
            Some((kind, path))
                if matches!(kind.trim(), "dev" | "lib" | "sym" | "dir") && path.trim().starts_with('/') =>
            {
                entries.push(CsvEntry {
                    kind: kind.trim().to_string(),
                    path: path.trim().to_string(),
                    line: i + 1,
                })
            }
            _ => bad.push(i + 1),
        }
    }
    (entries, bad)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_mode_and_csv_dir() {
        // The shape shipped by nvidia-container-toolkit-base 1.16 on JetPack 6.
        let text = r#"
disable-require = false
supported-driver-capabilities = "compat32,compute,display,graphics,ngx,utility,video"

[nvidia-container-cli]
environment = []
ldconfig = "@/sbin/ldconfig.real"
load-kmods = true

[nvidia-container-runtime]
log-level = "info"
mode = "auto"
runtimes = ["docker-runc", "runc", "crun"]

[nvidia-container-runtime.modes]

[nvidia-container-runtime.modes.cdi]
annotation-prefixes = ["cdi.k8s.io/"]
default-kind = "nvidia.com/gpu"
spec-dirs = ["/etc/cdi", "/var/run/cdi"]

[nvidia-container-runtime.modes.csv]
mount-spec-path = "/etc/nvidia-container-runtime/host-files-for-container.d"
"#;
        let c = parse_config(text).unwrap();
        assert_eq!((c.mode.as_str(), c.mode_set), ("auto", true));
        assert_eq!(c.csv_dir, DEFAULT_CSV_DIR);
        let unset = parse_config("[nvidia-container-cli]\nload-kmods = true\n").unwrap();
        assert_eq!((unset.mode.as_str(), unset.mode_set), ("auto", false));
        assert!(parse_config("[nvidia-container-runtime\nmode=").unwrap_err().starts_with("line 1"));
    }

    #[test]
    fn csv_lines() {
        let (e, bad) = parse_csv("dev, /dev/nvhost-ctrl\nlib, /usr/lib/aarch64-linux-gnu/nvidia/libcuda.so.1.1\n\n# comment\nsym, /usr/lib/aarch64-linux-gnu/nvidia/libcuda.so\ngarbage\n");
        assert_eq!(e.len(), 3);
        assert_eq!(e[1].kind, "lib");
        assert_eq!(e[1].path, "/usr/lib/aarch64-linux-gnu/nvidia/libcuda.so.1.1");
        assert_eq!(bad, vec![6]);
    }
}
