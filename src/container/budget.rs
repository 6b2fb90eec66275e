//! Docker's layer budget. moby's layer store refuses to register a layer whose parent chain is
//! already 125 deep (`maxLayerDepth = 125`, "max depth exceeded"): an image holds at most 125
//! filesystem layers, and a base at 125 takes no further step at all (the classic builder
//! registers an empty layer even for `ENV` or `LABEL`).

use serde::Serialize;

/// moby `daemon/internal/layer/layer_store.go`: `maxLayerDepth`.
pub const DAEMON_LIMIT: usize = 125;
/// From here on a build is close enough to the limit to say so (container-runtime.md §9): a
/// base this deep leaves little room for the steps of a build on it.
pub const WARN_FROM: usize = 100;
/// `image doctor` fails an image from here: moby's own rule of thumb is to stop well before the
/// limit, since every later build on it needs free slots.
pub const FAIL_FROM: usize = 120;

/// What an image of `layers` filesystem layers leaves for builds on it, said before a pull
/// (`image select`) and by `image doctor`: `None` when there is room to spare.
pub fn depth_warning(layers: usize) -> Option<String> {
    if layers >= DAEMON_LIMIT {
        Some(format!(
            "{layers} layers: at Docker's {DAEMON_LIMIT}-layer limit, every RUN/COPY on it fails with `max depth exceeded`; build on a flattened copy (`jetdoc image flatten`)"
        ))
    } else if layers >= WARN_FROM {
        Some(format!(
            "{layers} layers: {} left under Docker's {DAEMON_LIMIT}-layer limit for the steps of a build on it",
            DAEMON_LIMIT - layers
        ))
    } else {
        None
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// Comfortably within the limit.
    Fits,
    /// Within the limit but at or above `WARN_FROM`.
    Warn,
    /// The build would pass the limit: the base is flattened to one layer first.
    Flatten,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Budget {
    pub limit: usize,
    pub base_layers: usize,
    /// Filesystem layers the build adds (RUN, COPY, ADD).
    pub added_layers: usize,
    /// Layers of the result: base + added, or 1 + added after a flatten.
    pub result_layers: usize,
    pub verdict: Verdict,
    pub reason: String,
}

/// Decides how a build of `added` layers on a base of `base` layers stays within the limit.
/// Builds end with metadata steps (labels), which need one free slot: a result of exactly 125
/// layers cannot be reached by the classic builder, so 125 already flattens.
pub fn plan(base: usize, added: usize, force_flatten: bool) -> Budget {
    let total = base + added;
    let (verdict, result_layers, reason) = if force_flatten {
        (Verdict::Flatten, 1 + added, format!("flatten requested: {base} base layers become 1"))
    } else if total >= DAEMON_LIMIT {
        (
            Verdict::Flatten,
            1 + added,
            format!(
                "{base} base layers + {added} new = {total}, at or past Docker's limit of {DAEMON_LIMIT} (\"max depth exceeded\"): the base is flattened to 1 layer first"
            ),
        )
    } else if total >= WARN_FROM {
        (Verdict::Warn, total, format!("{base} base layers + {added} new = {total} of Docker's {DAEMON_LIMIT}: close to the limit, later builds on this image may need `jetdoc image flatten`"))
    } else {
        (
            Verdict::Fits,
            total,
            format!("{base} base layers + {added} new = {total} of Docker's {DAEMON_LIMIT}"),
        )
    };
    Budget { limit: DAEMON_LIMIT, base_layers: base, added_layers: added, result_layers, verdict, reason }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thresholds() {
        assert_eq!(plan(10, 5, false).verdict, Verdict::Fits);
        assert_eq!(plan(95, 5, false).verdict, Verdict::Warn);
        assert_eq!(plan(120, 4, false).verdict, Verdict::Warn);
        let b = plan(120, 5, false);
        assert_eq!((b.verdict, b.result_layers), (Verdict::Flatten, 6));
        // A base at the limit cannot even take a LABEL.
        assert_eq!(plan(125, 0, false).verdict, Verdict::Flatten);
        assert_eq!(plan(3, 2, true).result_layers, 3);
    }

    #[test]
    fn deep_images_are_flagged() {
        assert!(depth_warning(99).is_none());
        assert!(depth_warning(110).unwrap().contains("15 left under Docker's 125-layer limit"));
        assert!(depth_warning(125).unwrap().contains("max depth exceeded"));
    }
}
