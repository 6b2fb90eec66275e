//! `df -B1 --output=size,avail,target PATH` (GNU coreutils): a header, then one line
//! `  62671097856  3221225472 /`. Used for a foreign root, where statvfs would measure the
//! machine jetdoc runs on instead of the device.

pub use crate::host::Space;

pub const ARGS: [&str; 2] = ["-B1", "--output=size,avail,target"];

pub fn parse(text: &str) -> Result<Space, String> {
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    let header = lines.next().ok_or("empty output")?;
    if !header.contains("1B-blocks") {
        return Err(format!("unexpected header `{}`", header.trim()));
    }
    let line = lines.next().ok_or("no data line")?;
    let mut f = line.split_whitespace();
    let num = |s: Option<&str>| {
        s.and_then(|v| v.parse::<u64>().ok()).ok_or_else(|| format!("unexpected line `{}`", line.trim()))
    };
    Ok(Space { total_bytes: num(f.next())?, avail_bytes: num(f.next())? })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_gnu_df_output() {
        let s = parse("     1B-blocks        Avail Mounted on\n  62671097856   3221225472 /\n").unwrap();
        assert_eq!(s, Space { total_bytes: 62671097856, avail_bytes: 3221225472 });
        assert!(parse("Filesystem 1K-blocks Used\n").is_err());
        assert!(parse("     1B-blocks        Avail Mounted on\n").is_err());
    }
}
