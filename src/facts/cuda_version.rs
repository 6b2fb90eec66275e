//! CUDA version sources: `version.json` (CUDA 11+), `version.txt` (CUDA <= 10.2) and
//! `nvcc --version` output (last resort).

/// `version.json`: `cuda_nvcc.version` (what jetson-containers reads), else `cuda_cudart`, else
/// the SDK's `cuda.version` — last because CUDA 11.x dates it (`11.8.20220929`).
pub fn from_version_json(text: &str) -> Result<String, String> {
    let v: serde_json::Value = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
    ["cuda_nvcc", "cuda_cudart", "cuda"]
        .iter()
        .find_map(|k| v.get(k)?.get("version")?.as_str().map(str::to_string))
        .filter(|s| is_version(s))
        .ok_or_else(|| "no \"cuda\" or \"cuda_nvcc\" version in the file".to_string())
}

/// `version.txt`: `CUDA Version 10.2.89`.
pub fn from_version_txt(text: &str) -> Result<String, String> {
    let v = text.trim().strip_prefix("CUDA Version ").ok_or("expected \"CUDA Version X.Y.Z\"")?;
    let v = v.split_whitespace().next().unwrap_or("");
    is_version(v).then(|| v.to_string()).ok_or_else(|| format!("bad version {v:?}"))
}

/// `nvcc --version`: `Cuda compilation tools, release 12.6, V12.6.68`.
pub fn from_nvcc(text: &str) -> Result<String, String> {
    text.lines()
        .filter_map(|l| l.rsplit_once(", V").map(|(_, v)| v.trim()))
        .find(|v| is_version(v))
        .map(str::to_string)
        .ok_or_else(|| "no \"release X.Y, VX.Y.Z\" line".to_string())
}

/// `12.6` from `12.6.68`.
pub fn major_minor(v: &str) -> &str {
    match v.match_indices('.').nth(1) {
        Some((i, _)) => &v[..i],
        None => v,
    }
}

fn is_version(s: &str) -> bool {
    !s.is_empty()
        && s.split('.').count() >= 2
        && s.split('.').all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_json_of_cuda_12_6() {
        let text = r#"{
   "cuda" : { "name" : "CUDA SDK", "version" : "12.6.10" },
   "cuda_cccl" : { "name" : "CUDA C++ Core Compute Libraries", "version" : "12.6.37" },
   "cuda_nvcc" : { "name" : "CUDA NVCC", "version" : "12.6.68" }
}"#;
        assert_eq!(from_version_json(text).unwrap(), "12.6.68");
        assert_eq!(from_version_json(r#"{"cuda": {"version": "12.6.10"}}"#).unwrap(), "12.6.10");
        assert_eq!(from_version_json(r#"{"cuda_nvcc": {"version": "11.4.315"}}"#).unwrap(), "11.4.315");
        assert!(from_version_json("{").is_err());
        assert!(from_version_json(r#"{"cuda": {"version": "x"}}"#).is_err());
    }

    #[test]
    fn version_txt_and_nvcc() {
        assert_eq!(from_version_txt("CUDA Version 10.2.89\n").unwrap(), "10.2.89");
        assert!(from_version_txt("garbage").is_err());
        let nvcc = "nvcc: NVIDIA (R) Cuda compiler driver\nCopyright (c) 2005-2024 NVIDIA Corporation\nBuilt on Wed_Aug_14_10:14:07_PDT_2024\nCuda compilation tools, release 12.6, V12.6.68\nBuild cuda_12.6.r12.6/compiler.34714021_0\n";
        assert_eq!(from_nvcc(nvcc).unwrap(), "12.6.68");
        assert_eq!(major_minor("12.6.68"), "12.6");
        assert_eq!(major_minor("12"), "12");
    }
}
