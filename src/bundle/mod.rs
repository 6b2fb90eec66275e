//! Bundles: one file holding everything a provision needs, for a robot without network.
//!
//! A bundle is a tar archive (plain ustar headers, nothing else):
//! ```text
//! manifest.json          first: every other member in order, with size and sha256 (manifest.rs)
//! lock.toml              the provision lock the robot provisions `--locked` to
//! image.tar.zst          `docker save` of the image, compressed (zstd; gzip or none on request)
//! artifacts/<file>       the ZED SDK installer, the pyzed wheel
//! wheels/<file>          the Python wheels, and wheels/requirements.lock
//! ```
//! The manifest first means a reader verifies the whole bundle in one streaming pass, with
//! bounded memory, before it uses any of it ([`read`]); `write` makes one from its parts.
//! The image's `docker save` tar is described twice: the compressed member's sha256, checked as
//! it is read, and the uncompressed tar's size and sha256, checked as it is decompressed — a
//! member that decompresses to more than the manifest says is cut off there ([`Decompressed`]).

pub mod make;
pub mod manifest;
pub mod read;
pub mod unpack;
pub mod write;

use std::io::{self, Read, Write};
use std::path::Path;

use sha2::{Digest, Sha256};

pub use manifest::{Compression, Kind, Manifest, Member};

#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    #[error("{path}: {what}: {source}")]
    Io {
        path: String,
        what: &'static str,
        #[source]
        source: io::Error,
    },
    #[error("not a jetdoc bundle: {0}")]
    NotABundle(String),
    #[error("the bundle's manifest {0}")]
    Manifest(String),
    #[error("bundle member {member} {problem}")]
    Member { member: String, problem: String },
    #[error("bundle member {member} was changed: its sha256 is {got}, the manifest says {want}; nothing was used (copy the bundle again, or make it again with `jetdoc bundle`)")]
    Tampered { member: String, want: String, got: String },
    #[error("bundle member {member} is cut short ({why}): the copy is incomplete; copy the bundle again")]
    Truncated { member: String, why: String },
    #[error("bundle member {member} is listed in the manifest but missing from the bundle")]
    Missing { member: String },
    #[error("bundle member {member} is not listed in the manifest: refusing a bundle with anything the manifest does not vouch for")]
    Unexpected { member: String },
    #[error("the bundle's image: {0}")]
    Image(String),
    #[error("{0}")]
    Input(String),
    /// `on_manifest` refused the bundle (another device, not enough disk).
    #[error("{0}")]
    Refused(String),
}

/// Bytes held back at the end of a decompressed image until its checks pass: more than the
/// end-of-archive blocks and padding of a tar (up to 10240 bytes), so Docker cannot finish
/// loading an image whose bytes turn out wrong.
const HOLD_BACK: usize = 64 * 1024;

/// The decompressed image on its way to `inner` (`docker load`, or nowhere when verifying):
/// counted, cut off past the manifest's size, hashed, and its last bytes held back until
/// [`Decompressed::finish`] has checked size and hash.
pub struct Decompressed<W: Write> {
    inner: W,
    hold: Vec<u8>,
    written: u64,
    limit: u64,
    want: String,
    hasher: Sha256,
}

impl<W: Write> Decompressed<W> {
    pub fn new(inner: W, image: &manifest::Image) -> Decompressed<W> {
        Decompressed {
            inner,
            hold: Vec::with_capacity(2 * HOLD_BACK),
            written: 0,
            limit: image.uncompressed_size,
            want: image.uncompressed_sha256.clone(),
            hasher: Sha256::new(),
        }
    }

    /// Checks the size and the hash, then hands over the held-back end. `Err`: `inner` never
    /// got the end of the image.
    pub fn finish(mut self) -> Result<W, BundleError> {
        if self.written != self.limit {
            return Err(BundleError::Image(format!(
                "decompresses to {} bytes, the manifest says {}",
                self.written, self.limit
            )));
        }
        let got = hex::encode(self.hasher.clone().finalize());
        if got != self.want {
            return Err(BundleError::Image(format!(
                "decompresses to a tar whose sha256 is {got}, the manifest says {}",
                self.want
            )));
        }
        self.inner
            .write_all(&self.hold)
            .and_then(|_| self.inner.flush())
            .map_err(|e| BundleError::Image(format!("writing the end of the image: {e}")))?;
        Ok(self.inner)
    }
}

impl<W: Write> Write for Decompressed<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let total = self.written + buf.len() as u64;
        if total > self.limit {
            return Err(io::Error::other(format!(
                "the image decompresses to more than the {} bytes the manifest says: cut off",
                self.limit
            )));
        }
        self.hasher.update(buf);
        self.written = total;
        self.hold.extend_from_slice(buf);
        if self.hold.len() > 2 * HOLD_BACK {
            let pass = self.hold.len() - HOLD_BACK;
            self.inner.write_all(&self.hold[..pass])?;
            self.hold.drain(..pass);
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Decompresses an image member from `input` into `out`.
pub fn decompress(compression: Compression, input: &mut dyn Read, out: &mut dyn Write) -> io::Result<u64> {
    match compression {
        Compression::Zstd => io::copy(&mut zstd::stream::read::Decoder::new(input)?, out),
        Compression::Gzip => io::copy(&mut flate2::read::GzDecoder::new(input), out),
        Compression::None => io::copy(input, out),
    }
}

/// Streams the image member through decompression into `sink` (`docker load`'s input), checking
/// both hashes; the end reaches `sink` only when everything matched, so on `Err` the caller aborts
/// a load that can never have completed. A tampered member is named as such (its compressed
/// sha256), whatever the decompressor made of it first.
pub fn image_into(
    manifest: &Manifest,
    member: &Member,
    input: &mut dyn Read,
    sink: &mut dyn Write,
) -> Result<(), BundleError> {
    let Some(image) = manifest.image.as_ref() else {
        return Err(BundleError::Image("the manifest describes no image".into()));
    };
    let mut out = Decompressed::new(sink, image);
    if let Err(e) = decompress(image.compression, input, &mut out) {
        // The member's own check speaks first: drain it, and a tampered member says so.
        if let Err(drained) = io::copy(input, &mut io::sink()) {
            return Err(read::member_io(member, drained));
        }
        return Err(BundleError::Image(format!("member {} does not decompress: {e}", member.name)));
    }
    // The decompressor may stop at the end of its frame: the member's check needs its end too.
    io::copy(input, &mut io::sink()).map_err(|e| read::member_io(member, e))?;
    out.finish().map(|_| ())
}

/// Verifies a bundle file end to end: the manifest, every member's bytes, the image's
/// decompressed tar. Reads it once; writes nothing.
pub fn verify(path: &Path) -> Result<Manifest, BundleError> {
    let (file, len) = open(path)?;
    read::read(
        io::BufReader::with_capacity(1 << 20, file),
        Some(len),
        &mut |_| Ok(()),
        &mut |m, member, r| {
            if member.kind == Kind::Image {
                image_into(m, member, r, &mut io::sink())?;
            }
            Ok(())
        },
    )
}

/// Opens a bundle file and its length. Only a regular file: a FIFO would block the open (it is
/// opened non-blocking, then refused) and a device could be read forever.
pub fn open(path: &Path) -> Result<(std::fs::File, u64), BundleError> {
    use std::os::unix::fs::OpenOptionsExt;
    let io = |what| {
        let shown = path.display().to_string();
        move |source| BundleError::Io { path: shown, what, source }
    };
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(rustix::fs::OFlags::NONBLOCK.bits() as i32)
        .open(path)
        .map_err(io("cannot open"))?;
    let meta = file.metadata().map_err(io("cannot stat"))?;
    if !meta.is_file() {
        return Err(BundleError::NotABundle(format!("{} is not a regular file", path.display())));
    }
    Ok((file, meta.len()))
}

/// Loads the image member into a Docker engine (`docker load`), checked as it streams: when a
/// hash or the size is wrong the load is aborted before Docker has the end of the archive, so
/// nothing is loaded. Returns the loaded image's ID, which must be the manifest's. The image is
/// not tagged here: the provision tags it as the candidate its smoke tests run on.
pub fn load_image(
    docker: &dyn crate::host::docker::Docker,
    manifest: &Manifest,
    member: &Member,
    input: &mut dyn Read,
) -> Result<String, BundleError> {
    let Some(image) = manifest.image.as_ref() else {
        return Err(BundleError::Image("the manifest describes no image".into()));
    };
    let mut sink = docker.load().map_err(|e| BundleError::Image(e.to_string()))?;
    if let Err(e) = image_into(manifest, member, input, &mut sink) {
        sink.abort();
        return Err(e);
    }
    let loaded = sink.finish().map_err(|e| BundleError::Image(format!("docker load: {e}")))?;
    // Docker names what it loaded: by ID (`docker save ID`) or by tag (`docker save TAG`).
    if docker.inspect_one(&image.id).is_err() {
        return Err(BundleError::Image(format!(
            "docker load gave {}, not the image {} the manifest names: the bundle was not made from that image",
            loaded.images.join(", "),
            image.id
        )));
    }
    Ok(image.id.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image(data: &[u8]) -> manifest::Image {
        manifest::Image {
            member: "image.tar".into(),
            id: format!("sha256:{}", "0".repeat(64)),
            tag: "t:1".into(),
            compression: Compression::None,
            uncompressed_size: data.len() as u64,
            uncompressed_sha256: crate::digest::sha256_hex(data),
        }
    }

    #[test]
    fn the_end_of_an_image_is_held_back_until_it_checks_out() {
        let data: Vec<u8> = (0..300_000u32).map(|i| (i % 253) as u8).collect();
        let mut sink = Vec::new();
        let mut d = Decompressed::new(&mut sink, &image(&data));
        for chunk in data.chunks(8192) {
            d.write_all(chunk).unwrap();
        }
        d.finish().unwrap();
        assert_eq!(sink, data);

        // Another tar than the manifest names: the loader never gets the last 64 KiB.
        let mut wrong = image(&data);
        wrong.uncompressed_sha256 = "1".repeat(64);
        let mut sink = Vec::new();
        let mut d = Decompressed::new(&mut sink, &wrong);
        d.write_all(&data).unwrap();
        assert!(d.finish().is_err());
        assert!(sink.len() <= data.len() - 65536, "{} of {} bytes passed", sink.len(), data.len());
        assert_eq!(sink[..], data[..sink.len()]);

        // More than the manifest says: cut off there.
        let mut short = image(&data[..1000]);
        short.uncompressed_sha256 = crate::digest::sha256_hex(&data[..1000]);
        let mut d = Decompressed::new(Vec::new(), &short);
        let e = d.write_all(&data[..2000]).unwrap_err();
        assert!(e.to_string().contains("more than the 1000 bytes"), "{e}");
    }
}
