//! `/proc/meminfo` (`MemTotal:        7620352 kB`), `/proc/swaps` and `/proc/cpuinfo`.

use std::collections::BTreeMap;

/// `/proc/meminfo` values in kB, by key.
pub fn meminfo(text: &str) -> BTreeMap<String, u64> {
    text.lines()
        .filter_map(|l| {
            let (key, rest) = l.split_once(':')?;
            let n = rest.split_whitespace().next()?.parse().ok()?;
            Some((key.trim().to_string(), n))
        })
        .collect()
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Swap {
    pub file: String,
    /// `partition` or `file`.
    pub kind: String,
    pub size_kb: u64,
    pub used_kb: u64,
    pub priority: i64,
}

impl Swap {
    pub fn is_zram(&self) -> bool {
        self.file.starts_with("/dev/zram")
    }
}

/// `/proc/swaps`: a header line, then `Filename Type Size Used Priority` columns.
pub fn swaps(text: &str) -> Result<Vec<Swap>, String> {
    let mut lines = text.lines();
    match lines.next() {
        Some(h) if h.starts_with("Filename") => {}
        _ => return Err("no `Filename Type Size Used Priority` header".into()),
    }
    lines
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            // The file name may contain spaces (escaped as \040 by the kernel), so take fields
            // from the right.
            let f: Vec<&str> = l.split_whitespace().collect();
            if f.len() < 5 {
                return Err(format!("short line `{l}`"));
            }
            let n = f.len();
            let num = |s: &str| s.parse::<i64>().map_err(|_| format!("`{s}` is not a number in `{l}`"));
            Ok(Swap {
                file: f[..n - 4].join(" ").replace("\\040", " "),
                kind: f[n - 4].to_string(),
                size_kb: num(f[n - 3])?.max(0) as u64,
                used_kb: num(f[n - 2])?.max(0) as u64,
                priority: num(f[n - 1])?,
            })
        })
        .collect()
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CpuInfo {
    pub count: usize,
    /// `model name` (x86) or `Hardware`/`Model` (Arm); Arm Linux often has none.
    pub model: Option<String>,
}

pub fn cpuinfo(text: &str) -> CpuInfo {
    let mut info = CpuInfo::default();
    for line in text.lines() {
        let Some((k, v)) = line.split_once(':') else { continue };
        match k.trim() {
            "processor" => info.count += 1,
            "model name" | "Hardware" | "Model" if info.model.is_none() && !v.trim().is_empty() => {
                info.model = Some(v.trim().to_string())
            }
            _ => {}
        }
    }
    info
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meminfo_reads_kb_values() {
        let m = meminfo("MemTotal:        7620352 kB\nMemFree:         3130448 kB\nMemAvailable:    5583564 kB\nHugePages_Total:       0\n");
        assert_eq!(m["MemTotal"], 7620352);
        assert_eq!(m["MemAvailable"], 5583564);
        assert_eq!(m["HugePages_Total"], 0);
    }

    #[test]
    fn swaps_with_zram_and_a_swapfile() {
        // nvzramconfig on an Orin Nano makes one zram device per CPU cluster.
        let text = "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n\
/dev/zram0                              partition\t635052\t\t0\t\t5\n\
/dev/zram1                              partition\t635052\t\t0\t\t5\n\
/ssd/swap\\040file                        file\t\t16777212\t0\t\t-2\n";
        let s = swaps(text).unwrap();
        assert_eq!(s.len(), 3);
        assert!(s[0].is_zram() && !s[2].is_zram());
        assert_eq!(
            (s[2].file.as_str(), s[2].kind.as_str(), s[2].size_kb, s[2].priority),
            ("/ssd/swap file", "file", 16777212, -2)
        );
        assert!(swaps("Filename\tType\tSize\tUsed\tPriority\n").unwrap().is_empty());
        assert!(swaps("garbage\n").is_err());
    }

    #[test]
    fn cpuinfo_counts_processors() {
        let arm =
            "processor\t: 0\nBogoMIPS\t: 62.50\nCPU part\t: 0xd42\n\nprocessor\t: 1\nBogoMIPS\t: 62.50\n";
        assert_eq!(cpuinfo(arm), CpuInfo { count: 2, model: None });
        let x86 = "processor\t: 0\nvendor_id\t: GenuineIntel\nmodel name\t: Intel(R) Xeon(R) CPU @ 2.20GHz\n";
        assert_eq!(cpuinfo(x86).model.as_deref(), Some("Intel(R) Xeon(R) CPU @ 2.20GHz"));
    }
}
