//! Pure parsers, one per source format. They take text (or bytes) and return data or a
//! `Malformed` reason; they never touch the filesystem. Tested on real captured text.

pub mod accounts;
pub mod cuda_version;
pub mod daemon_json;
pub mod device_tree;
pub mod df;
pub mod docker_info;
pub mod dpkg_status;
pub mod kernel_modules;
pub mod meminfo;
pub mod mountinfo;
pub mod nv_tegra_release;
pub mod nvpmodel;
pub mod os_release;
pub mod toolkit_config;

#[cfg(test)]
mod fuzz {
    //! Property tests: no parser panics on arbitrary input, and what parses round-trips.
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn parsers_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
            let text = String::from_utf8_lossy(&bytes);
            let _ = super::nv_tegra_release::parse(&text);
            let _ = super::device_tree::model(&bytes);
            let _ = super::device_tree::compatible(&bytes);
            let _ = super::dpkg_status::parse(&text);
            let _ = super::dpkg_status::upstream_version(&text);
            let _ = super::cuda_version::from_version_json(&text);
            let _ = super::cuda_version::from_version_txt(&text);
            let _ = super::cuda_version::from_nvcc(&text);
            let _ = super::cuda_version::major_minor(&text);
            let _ = super::os_release::parse(&text);
        }

        #[test]
        fn release_lines_round_trip(major in 21u32..60, minor in 0u32..20, patch in 0u32..20, tail in "[ -~]{0,80}") {
            let line = format!("# R{major} (release), REVISION: {minor}.{patch}, GCID: 1, BOARD: generic{tail}");
            let r = super::nv_tegra_release::parse(&line).unwrap();
            prop_assert_eq!((r.version.major, r.version.minor, r.version.patch), (major, minor, patch));
        }

        #[test]
        fn dpkg_stanzas_round_trip(names in proptest::collection::btree_set("[a-z][a-z0-9.+-]{1,20}", 1..20), version in "[0-9]{1,3}\\.[0-9]{1,3}-[0-9a-z]{1,8}") {
            let text: String = names.iter().map(|n| format!("Package: {n}\nStatus: install ok installed\nVersion: {version}\nDescription: x\n more\n\n")).collect();
            let s = super::dpkg_status::parse(&text);
            for n in &names {
                prop_assert_eq!(&s.installed(n).unwrap().version, &version);
            }
        }

        #[test]
        fn compatible_lists_never_panic_and_find_parts(sku in 0u32..10000, suffix in prop_oneof![Just(""), Just("-super"), Just("-b00")]) {
            let blob = format!("nvidia,p3768-0000+p3767-{sku:04}{suffix}\0nvidia,tegra234\0");
            let c = super::device_tree::compatible(blob.as_bytes());
            prop_assert_eq!(c.modules, vec![format!("p3767-{sku:04}")]);
            prop_assert_eq!(c.is_super, suffix == "-super");
        }
    }
}
