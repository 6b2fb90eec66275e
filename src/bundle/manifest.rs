//! The manifest of a bundle: the first member, `manifest.json`. It lists every other member in
//! the order they follow, each with its size and sha256, so a reader verifies the bundle in one
//! pass with bounded memory. Everything in it is checked before anything else is read: a
//! manifest is refused when it is too big, lists too many members, names a member with anything
//! but a plain path, lists one twice, or claims more bytes than the bundle holds.

use serde::{Deserialize, Serialize};

use super::BundleError;

/// The manifest's layout version.
pub const SCHEMA: u32 = 1;
/// The first member's name.
pub const MANIFEST: &str = "manifest.json";
/// A manifest lists a few hundred files at most; anything bigger is not one of ours.
pub const MAX_MANIFEST_BYTES: u64 = 1 << 20;
/// Members besides the manifest.
pub const MAX_MEMBERS: usize = 4096;
/// Longest member name: a plain ustar name, never a GNU long name or a PAX header (whose data a
/// tar reader would hold in memory).
pub const MAX_NAME: usize = 100;

/// What a member is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// The provision lock (`lock.toml`).
    Lock,
    /// `docker save` of the image, compressed as `Manifest::image` says.
    Image,
    /// The ZED SDK installer.
    ZedInstaller,
    /// The pyzed wheel of the ZED SDK.
    Pyzed,
    /// A Python wheel of the profile's requirements.
    Wheel,
    /// The hash-pinned requirements.lock of the wheels.
    RequirementsLock,
}

impl Kind {
    /// The kind as the manifest writes it (`zed-installer`).
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Lock => "lock",
            Kind::Image => "image",
            Kind::ZedInstaller => "zed-installer",
            Kind::Pyzed => "pyzed",
            Kind::Wheel => "wheel",
            Kind::RequirementsLock => "requirements-lock",
        }
    }

    /// The lock's name for an artifact of this kind (`[[artifacts]] kind`), when it is one.
    pub fn artifact_kind(self) -> Option<&'static str> {
        match self {
            Kind::ZedInstaller => Some("zed-installer"),
            Kind::Pyzed => Some("pyzed"),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    /// The tar member's name.
    pub name: String,
    pub kind: Kind,
    /// The file's own name (a wheel's, the installer's), when it is not the member's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_name: Option<String>,
    /// Bytes as stored in the bundle.
    pub size: u64,
    /// SHA-256 (hex) of the bytes as stored.
    pub sha256: String,
}

impl Member {
    /// The name to give the file when it is taken out of the bundle.
    pub fn file_name(&self) -> &str {
        self.file_name.as_deref().unwrap_or_else(|| self.name.rsplit('/').next().unwrap_or(&self.name))
    }
}

/// How the image member is compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Compression {
    Zstd,
    Gzip,
    None,
}

impl Compression {
    pub fn extension(self) -> &'static str {
        match self {
            Compression::Zstd => ".zst",
            Compression::Gzip => ".gz",
            Compression::None => "",
        }
    }
}

/// The image the bundle carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Image {
    /// The member holding it.
    pub member: String,
    /// Docker's image ID (`sha256:...`), which `docker load` gives it again.
    pub id: String,
    /// The tag it is loaded under.
    pub tag: String,
    pub compression: Compression,
    /// The `docker save` tar's own size and sha256, checked while it is decompressed.
    pub uncompressed_size: u64,
    pub uncompressed_sha256: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub schema: u32,
    /// The jetdoc version that wrote it.
    pub jetdoc: String,
    /// RFC 3339, UTC.
    pub created: String,
    pub profile: String,
    /// The device it was made for, as people read it (`L4T 36.4 (JetPack 6.2), arm64`).
    #[serde(default)]
    pub device: String,
    pub image: Option<Image>,
    pub members: Vec<Member>,
}

fn bad(message: impl Into<String>) -> BundleError {
    BundleError::Manifest(message.into())
}

fn is_hex64(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// A plain file name: letters, digits and `.`, `_`, `+`, `-`, `~`, `=`, `%`, `,`, not starting
/// with a dot.
pub fn plain_file_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 255
        && !s.starts_with('.')
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"._+-~=%,".contains(&b))
}

/// A member name: one plain name, or a directory of ours and a plain name.
pub fn plain_member_name(s: &str) -> bool {
    if s.len() > MAX_NAME {
        return false;
    }
    match s.split_once('/') {
        None => plain_file_name(s),
        Some((dir, name)) => matches!(dir, "artifacts" | "wheels") && plain_file_name(name),
    }
}

impl Manifest {
    /// Parses and checks a manifest read from a bundle of `bundle_len` bytes (when known).
    pub fn parse(bytes: &[u8], bundle_len: Option<u64>) -> Result<Manifest, BundleError> {
        let m: Manifest = serde_json::from_slice(bytes).map_err(|e| bad(format!("does not parse: {e}")))?;
        if m.schema != SCHEMA {
            return Err(bad(format!(
                "schema {}, this jetdoc reads schema {SCHEMA}: make the bundle with this jetdoc version, or update jetdoc on the robot",
                m.schema
            )));
        }
        m.check(bundle_len)?;
        Ok(m)
    }

    fn check(&self, bundle_len: Option<u64>) -> Result<(), BundleError> {
        if self.members.len() > MAX_MEMBERS {
            return Err(bad(format!(
                "lists {} members, more than the {MAX_MEMBERS} a bundle may hold",
                self.members.len()
            )));
        }
        let mut seen = std::collections::HashSet::new();
        let mut total: u64 = 0;
        for m in &self.members {
            if !plain_member_name(&m.name) || m.name == MANIFEST {
                return Err(bad(format!("member name {:?} is not a plain name of a bundle", m.name)));
            }
            if !seen.insert(m.name.as_str()) {
                return Err(bad(format!("lists {} twice", m.name)));
            }
            if let Some(f) = &m.file_name {
                if !plain_file_name(f) {
                    return Err(bad(format!("{}: file name {f:?} is not a plain file name", m.name)));
                }
            }
            if !is_hex64(&m.sha256) {
                return Err(bad(format!("{}: sha256 {:?} is not 64 hex digits", m.name, m.sha256)));
            }
            total = total.checked_add(m.size).ok_or_else(|| bad("member sizes add up past 2^64 bytes"))?;
        }
        // Every member's bytes are in the bundle (with headers and padding besides).
        if let Some(len) = bundle_len {
            if total > len {
                return Err(bad(format!(
                    "claims {total} bytes of members, but the bundle is {len} bytes long: it is cut short or the manifest lies"
                )));
            }
        }
        let locks = self.members.iter().filter(|m| m.kind == Kind::Lock).count();
        if locks != 1 {
            return Err(bad(format!("holds {locks} lock files, not one")));
        }
        match &self.image {
            Some(img) => {
                let Some(member) = self.members.iter().find(|m| m.name == img.member) else {
                    return Err(bad(format!(
                        "its image is in member {}, which it does not list",
                        img.member
                    )));
                };
                if member.kind != Kind::Image {
                    return Err(bad(format!("its image member {} is of kind {:?}", img.member, member.kind)));
                }
                if !is_hex64(&img.uncompressed_sha256) {
                    return Err(bad("the image's uncompressed sha256 is not 64 hex digits"));
                }
                let id_ok = img.id.strip_prefix("sha256:").is_some_and(is_hex64);
                if !id_ok {
                    return Err(bad(format!("image id {:?} is not sha256:<64 hex digits>", img.id)));
                }
            }
            None if self.members.iter().any(|m| m.kind == Kind::Image) => {
                return Err(bad("lists an image member but describes no image"));
            }
            None => {}
        }
        Ok(())
    }

    /// The member of a kind (the first).
    pub fn member(&self, kind: Kind) -> Option<&Member> {
        self.members.iter().find(|m| m.kind == kind)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub fn sample() -> Manifest {
        let sha = "a".repeat(64);
        Manifest {
            schema: SCHEMA,
            jetdoc: "0.1.0".into(),
            created: "2026-01-01T00:00:00Z".into(),
            profile: "testing-arm".into(),
            device: "L4T 36.4.3".into(),
            image: Some(Image {
                member: "image.tar.zst".into(),
                id: format!("sha256:{sha}"),
                tag: "jetdoc/testing-arm:abc".into(),
                compression: Compression::Zstd,
                uncompressed_size: 10,
                uncompressed_sha256: sha.clone(),
            }),
            members: vec![
                Member {
                    name: "lock.toml".into(),
                    kind: Kind::Lock,
                    file_name: None,
                    size: 1,
                    sha256: sha.clone(),
                },
                Member {
                    name: "image.tar.zst".into(),
                    kind: Kind::Image,
                    file_name: None,
                    size: 2,
                    sha256: sha.clone(),
                },
                Member {
                    name: "wheels/pyzmq-26.2.0-py3-none-any.whl".into(),
                    kind: Kind::Wheel,
                    file_name: None,
                    size: 3,
                    sha256: sha,
                },
            ],
        }
    }

    fn check(m: &Manifest) -> String {
        Manifest::parse(&serde_json::to_vec(m).unwrap(), Some(1 << 20))
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default()
    }

    #[test]
    fn a_plain_manifest_passes_and_names_are_plain() {
        assert_eq!(check(&sample()), "");
        for ok in
            ["lock.toml", "wheels/a-1.0-py3-none-any.whl", "artifacts/ZED_SDK_Tegra_L4T36.4_v5.4.1.zstd.run"]
        {
            assert!(plain_member_name(ok), "{ok}");
        }
        for bad in [
            "../etc/passwd",
            "/etc/passwd",
            "wheels/../../x",
            "wheels/",
            "etc/passwd",
            "wheels/a/b",
            ".hidden",
            "a\0b",
            "x y",
            &"a".repeat(101),
        ] {
            assert!(!plain_member_name(bad), "{bad:?}");
        }
    }

    #[test]
    fn every_lie_is_named() {
        let mut m = sample();
        m.members[2].name = "../../etc/cron.d/x".into();
        assert!(check(&m).contains("\"../../etc/cron.d/x\" is not a plain name"), "{}", check(&m));
        let mut m = sample();
        m.members.push(m.members[2].clone());
        assert!(check(&m).contains("lists wheels/pyzmq-26.2.0-py3-none-any.whl twice"));
        let mut m = sample();
        m.members[1].size = 1 << 40;
        assert!(check(&m).contains("the bundle is 1048576 bytes long"), "{}", check(&m));
        let mut m = sample();
        m.members[1].size = u64::MAX;
        assert!(check(&m).contains("past 2^64"), "{}", check(&m));
        let mut m = sample();
        m.members[0].sha256 = "zz".into();
        assert!(check(&m).contains("not 64 hex digits"));
        let mut m = sample();
        m.members.remove(0);
        assert!(check(&m).contains("0 lock files"));
        let mut m = sample();
        m.image.as_mut().unwrap().member = "image.tar".into();
        assert!(check(&m).contains("which it does not list"));
        let mut m = sample();
        m.schema = 2;
        assert!(check(&m).contains("schema 2"));
        let m = Manifest { members: vec![sample().members[0].clone(); MAX_MEMBERS + 1], ..sample() };
        assert!(check(&m).contains("more than the 4096"));
    }
}
