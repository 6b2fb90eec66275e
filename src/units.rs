//! The one way jetdoc writes a byte count for people: decimal units as Docker and `df -H` do
//! (`2.0 MB`, `15.5 GB`), so a 2 MB image never reads "0.0 GiB".

/// `512 B`, `2.0 MB`, `5.2 GB`.
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 6] = ["B", "kB", "MB", "GB", "TB", "PB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 999.95 && u < UNITS.len() - 1 {
        v /= 1000.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_like_docker() {
        assert_eq!(human_bytes(0), "0 B");
        assert_eq!(human_bytes(512), "512 B");
        assert_eq!(human_bytes(2_097_152), "2.1 MB");
        assert_eq!(human_bytes(999_999), "1.0 MB");
        assert_eq!(human_bytes(5_200_000_000), "5.2 GB");
        assert_eq!(human_bytes(u64::MAX), "18446.7 PB");
    }
}
