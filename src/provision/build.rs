//! What an image build needs, concretely: the base reference, the packages, and the artifacts
//! already staged in the build context (wheels, the ZED installer, the pyzed wheel). A resolved
//! profile becomes a `ImageRecipe` once its artifacts are fetched; Dockerfile generation
//! (`container::dockerfile`) reads only this.

use serde::Serialize;
use std::collections::BTreeMap;

use super::profile::FileCopy;
use super::resolve::Resolved;

#[derive(Debug, Clone, Serialize)]
pub struct ImageRecipe {
    /// The profile's name and where it came from (`builtin:locomotion`, a path).
    pub name: String,
    pub source: String,
    pub sha256: String,
    /// The L4T the image is built for (label `io.jetdoc.l4t`, the ZED installer's release stub).
    pub l4t: Option<String>,
    /// CUDA `major.minor` the image is built for (label `io.jetdoc.cuda`).
    pub cuda: Option<String>,
    pub apt: Vec<String>,
    pub python: Option<PythonInstall>,
    pub zed: Option<ZedInstall>,
    pub files: Vec<FileCopy>,
    pub env: BTreeMap<String, String>,
    /// The profile's labels; jetdoc's own (`io.jetdoc.*`) are added by the generator.
    pub labels: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct PythonInstall {
    /// A directory of wheels inside the build context: installed with `pip install --no-index`.
    pub wheelhouse: String,
    /// A requirements file inside the build context; without one every wheel is installed.
    pub requirements: Option<String>,
    pub pip: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct ZedInstall {
    /// The `ZED_SDK_*.run` installer, inside the build context.
    pub installer: String,
    pub flags: Vec<String>,
    /// Write `/etc/nv_tegra_release` for the installer's L4T check when the base lacks it.
    pub release_stub: bool,
    pub drop_resources: bool,
    /// The pyzed wheel inside the build context, installed after the SDK.
    pub pyzed: Option<String>,
    pub pip: String,
}

/// Where the staged artifacts are inside the build context.
#[derive(Debug, Clone, Default)]
pub struct Staged {
    pub wheelhouse: Option<String>,
    pub requirements: Option<String>,
    pub zed_installer: Option<String>,
    pub pyzed: Option<String>,
}

impl ImageRecipe {
    /// The build of a resolved profile whose artifacts are staged as `staged` says. A part the
    /// profile needs but `staged` lacks is an error naming it.
    pub fn new(r: &Resolved, staged: &Staged) -> Result<ImageRecipe, String> {
        let python = match (&r.python, &staged.wheelhouse) {
            (None, _) => None,
            (Some(p), Some(w)) => Some(PythonInstall {
                wheelhouse: w.clone(),
                requirements: staged.requirements.clone(),
                pip: p.pip.clone(),
            }),
            (Some(_), None) => return Err("the profile's Python wheels are not staged".into()),
        };
        let pip = r.python.as_ref().map(|p| p.pip.clone()).unwrap_or_else(|| "python3 -m pip".into());
        let zed = match (&r.zed, &staged.zed_installer) {
            (None, _) => None,
            (Some(z), Some(installer)) => {
                if z.pyzed_url.is_some() && staged.pyzed.is_none() {
                    return Err("the pyzed wheel is not staged".into());
                }
                Some(ZedInstall {
                    installer: installer.clone(),
                    flags: z.flags.clone(),
                    release_stub: z.release_stub.is_some(),
                    drop_resources: z.drop_resources,
                    pyzed: staged.pyzed.clone(),
                    pip,
                })
            }
            (Some(_), None) => return Err("the ZED SDK installer is not staged".into()),
        };
        Ok(ImageRecipe {
            name: r.profile.name.clone(),
            source: r.profile.source.clone(),
            sha256: r.profile.sha256.clone(),
            l4t: r.device.l4t.clone(),
            cuda: r.device.cuda.as_deref().and_then(crate::container::rules::cuda_major_minor),
            apt: r.apt.clone(),
            python,
            zed,
            files: r.files.clone(),
            env: r.env.clone(),
            labels: r.labels.clone(),
        })
    }

    /// Filesystem layers the build adds (RUN, COPY), known before any base is inspected.
    pub fn added_layers(&self) -> usize {
        crate::container::dockerfile::added_layers(self)
    }
}
