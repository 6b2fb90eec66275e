//! nvpmodel power modes: `/etc/nvpmodel.conf` (`< POWER_MODEL ID=0 NAME=MAXN >` blocks and
//! `< PM_CONFIG DEFAULT=2 >`), `/var/lib/nvpmodel/status` (`pmode:0002`, sometimes followed by
//! `fmode:quiet`) and `nvpmodel -q` (`NV Power Mode: MAXN` then the id on its own line).

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PowerModel {
    pub id: u32,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NvpmodelConf {
    pub models: Vec<PowerModel>,
    pub default: Option<u32>,
}

impl NvpmodelConf {
    pub fn name_of(&self, id: u32) -> Option<&str> {
        self.models.iter().find(|m| m.id == id).map(|m| m.name.as_str())
    }
}

/// `KEY=VALUE` pairs of a `< TAG ... >` header line, or `None` for other lines.
fn header(line: &str) -> Option<(&str, Vec<(&str, &str)>)> {
    let inner = line.trim().strip_prefix('<')?.strip_suffix('>')?;
    let mut words = inner.split_whitespace();
    let tag = words.next()?;
    Some((tag, words.filter_map(|w| w.split_once('=')).collect()))
}

pub fn parse_conf(text: &str) -> Result<NvpmodelConf, String> {
    let mut conf = NvpmodelConf::default();
    for line in text.lines() {
        let Some((tag, pairs)) = header(line) else { continue };
        let get = |k: &str| pairs.iter().find(|(key, _)| *key == k).map(|(_, v)| *v);
        match tag {
            "POWER_MODEL" => {
                let id = get("ID")
                    .and_then(|v| v.parse().ok())
                    .ok_or_else(|| format!("`{}`: no numeric ID", line.trim()))?;
                let name = get("NAME").unwrap_or("").to_string();
                conf.models.push(PowerModel { id, name });
            }
            "PM_CONFIG" => conf.default = get("DEFAULT").and_then(|v| v.parse().ok()),
            _ => {}
        }
    }
    if conf.models.is_empty() {
        return Err("no `< POWER_MODEL ID=n NAME=... >` line".into());
    }
    Ok(conf)
}

/// The mode id in `/var/lib/nvpmodel/status`: `pmode:0002` -> 2.
pub fn parse_status(text: &str) -> Option<u32> {
    text.lines().find_map(|l| l.trim().strip_prefix("pmode:")).and_then(|v| v.trim().parse().ok())
}

/// `nvpmodel -q`: `NV Power Mode: MAXN` and the id on the next line.
pub fn parse_query(text: &str) -> Option<PowerModel> {
    let mut lines = text.lines().map(str::trim).skip_while(|l| !l.starts_with("NV Power Mode:"));
    let name = lines.next()?.strip_prefix("NV Power Mode:")?.trim().to_string();
    let id = lines.find_map(|l| l.parse().ok())?;
    Some(PowerModel { id, name })
}

#[cfg(test)]
mod tests {
    use super::*;

    // Shape of the Orin Nano 8GB "super" conf of JetPack 6.2: the highest id is not the fastest.
    const NANO_SUPER: &str = "\
# FORMAT:
# < PARAM TYPE=PARAM_TYPE NAME=PARAM_NAME >
< PARAM TYPE=FILE NAME=CPU_ONLINE >
CORE_0 /sys/devices/system/cpu/cpu0/online
< PARAM TYPE=CLOCK NAME=GPU >
FREQ_TABLE /sys/devices/platform/bus@0/17000000.gpu/devfreq_dev/available_frequencies

# POWER_MODEL DEFINITIONS
< POWER_MODEL ID=0 NAME=15W >
CPU_ONLINE CORE_0 1
< POWER_MODEL ID=1 NAME=25W >
CPU_ONLINE CORE_0 1
< POWER_MODEL ID=2 NAME=MAXN_SUPER >
CPU_ONLINE CORE_0 1
< POWER_MODEL ID=3 NAME=7W >
CPU_ONLINE CORE_0 1

< PM_CONFIG DEFAULT=2 >
";

    #[test]
    fn conf_lists_models_and_default_and_ignores_params() {
        let c = parse_conf(NANO_SUPER).unwrap();
        assert_eq!(
            c.models.iter().map(|m| (m.id, m.name.as_str())).collect::<Vec<_>>(),
            vec![(0, "15W"), (1, "25W"), (2, "MAXN_SUPER"), (3, "7W")]
        );
        assert_eq!(c.default, Some(2));
        assert_eq!(c.name_of(3), Some("7W"));
        assert!(parse_conf("# nothing\n< PARAM TYPE=FILE NAME=X >\n").is_err());
        assert!(parse_conf("< POWER_MODEL ID=x NAME=MAXN >\n").is_err());
    }

    #[test]
    fn status_and_query() {
        assert_eq!(parse_status("pmode:0002\n"), Some(2));
        assert_eq!(parse_status("pmode:0001\nfmode:quiet\n"), Some(1));
        assert_eq!(parse_status("garbage"), None);
        assert_eq!(parse_query("NV Power Mode: MAXN\n0\n"), Some(PowerModel { id: 0, name: "MAXN".into() }));
        assert_eq!(
            parse_query("NV Fan Mode:cool\nNV Power Mode: MODE_15W\n1\n"),
            Some(PowerModel { id: 1, name: "MODE_15W".into() })
        );
    }
}
