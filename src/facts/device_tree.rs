//! Device-tree strings: `model` is NUL-terminated; `compatible` is a NUL-separated list
//! (`nvidia,p3768-0000+p3767-0005-super\0nvidia,p3767-0005\0nvidia,tegra234\0`). Splitting must
//! happen on the NULs: joining them first produced `...-supernvidia` in other tools.

/// The model string without trailing NULs and whitespace.
pub fn model(bytes: &[u8]) -> Option<String> {
    let s = String::from_utf8_lossy(bytes);
    let s = s.trim_end_matches(['\0', '\n', ' ']).trim_start();
    (!s.is_empty() && !s.contains('\0')).then(|| s.to_string())
}

/// What the compatible list says about the board.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Compatible {
    pub entries: Vec<String>,
    /// Module part numbers in list order (`p3767-0005`), without the `-super` suffix.
    pub modules: Vec<String>,
    /// Carrier part numbers (`p3768-0000`), from `carrier+module` entries.
    pub carriers: Vec<String>,
    /// The `tegraNNN` SoC entry (`tegra234`); the `tegra23x` alias is skipped.
    pub soc: Option<String>,
    /// An Orin Nano/NX "Super" configuration (`-super` suffix).
    pub is_super: bool,
}

pub fn compatible(bytes: &[u8]) -> Compatible {
    let entries: Vec<String> = bytes
        .split(|b| *b == 0)
        .map(|e| String::from_utf8_lossy(e).trim().to_string())
        .filter(|e| !e.is_empty())
        .collect();
    let mut c = Compatible { entries: entries.clone(), ..Compatible::default() };
    for entry in &entries {
        let name = entry.split_once(',').map(|(_, n)| n).unwrap_or(entry);
        if let Some(soc) = soc_token(name) {
            c.soc.get_or_insert(soc);
            continue;
        }
        let (carrier, module) = match name.split_once('+') {
            Some((carrier, module)) => (Some(carrier), module),
            None => (None, name),
        };
        let is_super = module.ends_with("-super");
        if let Some(module) = part_number(module) {
            c.is_super |= is_super;
            if !c.modules.iter().any(|m| m == module) {
                c.modules.push(module.to_string());
            }
        }
        if let Some(carrier) = carrier.and_then(part_number) {
            if !c.carriers.iter().any(|m| m == carrier) {
                c.carriers.push(carrier.to_string());
            }
        }
    }
    c
}

/// `tegra234` yes; `tegra23x` (an alias) and `tegra` no.
fn soc_token(name: &str) -> Option<String> {
    let digits = name.strip_prefix("tegra")?;
    (!digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit())).then(|| name.to_string())
}

/// The part number at the start of a DT name: `p3767-0005` of `p3767-0005-super` or of the
/// Nano's `p3448-0000-b00` (a board revision suffix). A letter, 3-4 digits, a dash, 4 digits.
fn part_number(s: &str) -> Option<&str> {
    let mut dashes = s.match_indices('-').map(|(i, _)| i);
    let first = dashes.next()?;
    let end = dashes.next().unwrap_or(s.len());
    let (board, sku) = (&s[..first], &s[first + 1..end]);
    let mut chars = board.chars();
    let ok = matches!(chars.next(), Some('p' | 'r' | 'P'))
        && (3..=4).contains(&chars.clone().count())
        && chars.all(|c| c.is_ascii_digit())
        && sku.len() == 4
        && sku.chars().all(|c| c.is_ascii_digit());
    ok.then(|| &s[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_strips_the_trailing_nul() {
        assert_eq!(
            model(b"NVIDIA Orin Nano Developer Kit\0").as_deref(),
            Some("NVIDIA Orin Nano Developer Kit")
        );
        assert_eq!(model(b"\0"), None);
        assert_eq!(model(b""), None);
    }

    #[test]
    fn orin_nano_jp5_lists_two_skus() {
        let c = compatible(b"nvidia,p3768-0000+p3767-0003\0nvidia,p3768-0000+p3767-0005\0nvidia,p3767-0003\0nvidia,p3767-0005\0nvidia,tegra234\0nvidia,tegra23x\0");
        assert_eq!(c.modules, vec!["p3767-0003", "p3767-0005"]);
        assert_eq!(c.carriers, vec!["p3768-0000"]);
        assert_eq!(c.soc.as_deref(), Some("tegra234"));
        assert!(!c.is_super);
    }

    #[test]
    fn super_suffix_and_thor() {
        let c = compatible(b"nvidia,p3768-0000+p3767-0005-super\0nvidia,p3767-0005\0nvidia,tegra234\0");
        assert!(c.is_super);
        assert_eq!(c.modules, vec!["p3767-0005"]);
        let t = compatible(b"nvidia,p4071-0000+p3834-0008\0nvidia,p3834-0008\0nvidia,tegra264\0");
        assert_eq!((t.modules[0].as_str(), t.soc.as_deref()), ("p3834-0008", Some("tegra264")));
    }

    #[test]
    fn nano_board_revision_suffixes() {
        let c = compatible(b"nvidia,p3449-0000-b00+p3448-0000-b00\0nvidia,jetson-nano\0nvidia,tegra210\0");
        assert_eq!(c.modules, vec!["p3448-0000"]);
        assert_eq!(c.carriers, vec!["p3449-0000"]);
        assert_eq!(c.soc.as_deref(), Some("tegra210"));
    }

    #[test]
    fn non_jetson_lists_yield_nothing() {
        let c = compatible(b"raspberrypi,4-model-b\0brcm,bcm2711\0");
        assert!(c.modules.is_empty() && c.soc.is_none());
        let g = compatible(&[0xff, 0xfe, 0, 0x41]);
        assert!(g.modules.is_empty());
    }
}
