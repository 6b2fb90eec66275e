//! The one sha256 helper: lower-case hex of the digest, as `sha256sum`, pip's `--hash` and
//! OCI digests (after `sha256:`) write it.

use sha2::{Digest, Sha256};

/// `sha256sum` of some bytes, lower-case hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

#[cfg(test)]
mod tests {
    #[test]
    fn known_digest() {
        assert_eq!(
            super::sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
