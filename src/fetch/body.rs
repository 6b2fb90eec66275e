//! Bodies read into memory, each with a cap: an index page, PEP 658 metadata, the METADATA file
//! inside a wheel. A hostile or broken server (an endless page, a zip bomb) costs at most the cap
//! and ends with an error that names the URL and the cap, never with the memory of the machine.

use std::io::{BufRead, BufReader, Read};

/// `1048576` -> `1 MiB`.
pub fn human_bytes(n: u64) -> String {
    const MIB: u64 = 1024 * 1024;
    if n >= MIB && n.is_multiple_of(MIB) {
        format!("{} MiB", n / MIB)
    } else if n >= 1024 && n.is_multiple_of(1024) {
        format!("{} KiB", n / 1024)
    } else {
        format!("{n} bytes")
    }
}

#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    #[error("{url}: {what} is larger than jetdoc's cap of {} ({}); not read\n  is this the right URL? a real {what} is far smaller", human_bytes(*cap), match declared { Some(d) => format!("the server declares {d} bytes"), None => format!("stopped after {} bytes", cap + 1) })]
    TooLarge { url: String, what: &'static str, cap: u64, declared: Option<u64> },
    #[error("{url}: {message}")]
    Read { url: String, message: String },
}

/// Reads a whole body of at most `cap` bytes. A `declared` length (Content-Length) over the cap
/// is refused before any byte is read; the buffer is sized from it, so a small page costs no
/// reallocation.
pub fn read_capped(
    r: impl Read,
    declared: Option<u64>,
    cap: u64,
    url: &str,
    what: &'static str,
) -> Result<Vec<u8>, BodyError> {
    let too_large = |declared| BodyError::TooLarge { url: url.to_string(), what, cap, declared };
    if declared.is_some_and(|d| d > cap) {
        return Err(too_large(declared));
    }
    let mut out = Vec::with_capacity(declared.unwrap_or(64 * 1024).min(cap) as usize);
    r.take(cap + 1).read_to_end(&mut out).map_err(|e| BodyError::Read {
        url: url.to_string(),
        message: crate::fetch::engine::io_message(&e),
    })?;
    if out.len() as u64 > cap {
        return Err(too_large(None));
    }
    Ok(out)
}

/// The header block of a core-metadata file (RFC 822 style, up to the first blank line): all
/// that `Requires-Dist` needs. The description after it (and whatever a zip bomb inflates to) is
/// never read. A header block over `cap` bytes is an error.
pub fn header_block(r: impl Read, cap: usize, what: &str) -> Result<String, String> {
    let mut reader = BufReader::with_capacity(64 * 1024, r.take(cap as u64 + 1));
    let mut out = Vec::new();
    loop {
        let start = out.len();
        let n = reader.read_until(b'\n', &mut out).map_err(|e| format!("{what}: {e}"))?;
        if out.len() > cap {
            return Err(format!(
                "{what}: the metadata header block is over {} (jetdoc's cap); the file is not core metadata",
                human_bytes(cap as u64)
            ));
        }
        let line = &out[start..];
        if n == 0 || line.iter().all(|b| b.is_ascii_whitespace()) {
            out.truncate(start);
            break;
        }
    }
    String::from_utf8(out).map_err(|_| format!("{what}: the metadata header is not UTF-8"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capped_reads_refuse_what_is_over_the_cap() {
        assert_eq!(read_capped(&b"abc"[..], Some(3), 3, "u", "page").unwrap(), b"abc");
        let e = read_capped(&b"abcd"[..], None, 3, "http://h/p", "an index page").unwrap_err().to_string();
        assert!(e.contains("http://h/p") && e.contains("cap of 3 bytes"), "{e}");
        let e = read_capped(std::io::repeat(b'x'), Some(1 << 40), 1 << 20, "u", "page").unwrap_err();
        assert!(e.to_string().contains("1 MiB") && e.to_string().contains("declares"), "{e}");
        assert!(read_capped(std::io::repeat(b'x'), None, 1 << 20, "u", "page").is_err());
    }

    #[test]
    fn the_header_block_ends_at_the_first_blank_line() {
        let md = "Name: a\nRequires-Dist: b\n\nlong description\n";
        assert_eq!(header_block(md.as_bytes(), 1024, "m").unwrap(), "Name: a\nRequires-Dist: b\n");
        assert_eq!(header_block(&b"Name: a\r\n\r\nbody"[..], 1024, "m").unwrap(), "Name: a\r\n");
        // A header that never ends stops at the cap.
        let e = header_block(std::io::repeat(b'a'), 1 << 20, "bomb.whl").unwrap_err();
        assert!(e.contains("bomb.whl") && e.contains("1 MiB"), "{e}");
    }
}
