//! `jetdoc bundle`: check a bundle against its manifest.

use anyhow::Result;

use super::ExitCode;
use crate::bundle::{self, BundleError, Manifest};
use crate::cli::{BundleArgs, Format, GlobalArgs};
use crate::units::human_bytes;

pub fn run(g: &GlobalArgs, a: &BundleArgs) -> Result<ExitCode> {
    match bundle::verify(&a.verify) {
        Ok(m) => {
            if g.format == Format::Json {
                println!("{}", serde_json::to_string_pretty(&m)?);
            } else {
                print!("{}", summary(&m));
                println!("{}: whole (every member matches the manifest)", a.verify.display());
            }
            Ok(0)
        }
        Err(e @ BundleError::Io { .. }) => Err(e.into()),
        Err(e) => {
            eprintln!("error: {}: {e}", a.verify.display());
            Ok(1)
        }
    }
}

/// The manifest for people.
pub fn summary(m: &Manifest) -> String {
    let mut out =
        format!("bundle of profile {} for {} (jetdoc {}, {})\n", m.profile, m.device, m.jetdoc, m.created);
    if let Some(img) = &m.image {
        out.push_str(&format!(
            "  image   {} ({}, {} uncompressed)\n",
            img.tag,
            &img.id[..19.min(img.id.len())],
            human_bytes(img.uncompressed_size)
        ));
    }
    for member in &m.members {
        out.push_str(&format!(
            "  {:<16} {:>10}  {}\n",
            member.kind.as_str(),
            human_bytes(member.size),
            member.file_name()
        ));
    }
    out
}
