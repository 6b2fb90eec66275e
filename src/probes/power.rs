//! The nvpmodel power mode: `/var/lib/nvpmodel/status` (the mode last set, which survives
//! reboots) named through `/etc/nvpmodel.conf`; without a status file the conf's `PM_CONFIG
//! DEFAULT` is what the board boots into. `nvpmodel -q` is asked only when no file tells.

use crate::context::{Context, Probe};
use crate::fact::Fact;
use crate::facts::nvpmodel::{self, NvpmodelConf, PowerModel};
use crate::host::{Absence, Reason};
use crate::probes::Identity;

pub const CONF: &str = "/etc/nvpmodel.conf";
pub const STATUS: &str = "/var/lib/nvpmodel/status";

pub struct Power {
    pub conf: Fact<NvpmodelConf>,
    pub current: Fact<PowerModel>,
    /// The board's fastest mode per the `power_max` table and the conf.
    pub max: Option<PowerModel>,
}

impl Probe for Power {
    fn probe(ctx: &Context) -> Self {
        let host = &ctx.host;
        let conf = match host.read_text(CONF) {
            Ok(t) => match nvpmodel::parse_conf(&t) {
                Ok(c) => Fact::known(c, CONF),
                Err(e) => Fact::Absent(Absence::malformed(CONF, e)),
            },
            Err(a) => Fact::Absent(a),
        };
        let named = |id: u32| PowerModel {
            id,
            name: conf.value().and_then(|c| c.name_of(id)).unwrap_or("").to_string(),
        };
        let current = match host.read_text(STATUS) {
            Ok(t) => match nvpmodel::parse_status(&t) {
                Some(id) => Fact::known(named(id), STATUS),
                None => Fact::absent(STATUS, Reason::Malformed("no `pmode:NNNN` line".into())),
            },
            Err(a) => Fact::Absent(a),
        }
        .or_else(|| {
            let out = host.run("nvpmodel", &["-q"]);
            match out.success().then(|| nvpmodel::parse_query(&out.stdout)).flatten() {
                Some(m) => Fact::known(m, "nvpmodel -q"),
                None => {
                    Fact::absent("nvpmodel -q", Reason::NotApplicable(out.describe_failure("nvpmodel -q")))
                }
            }
        })
        .or_else(|| match conf.value().and_then(|c| c.default) {
            Some(id) => Fact::known(named(id), format!("{CONF} PM_CONFIG DEFAULT (no {STATUS})")),
            None => Fact::absent(CONF, Reason::Missing),
        });
        let id = ctx.get::<Identity>();
        let part = id.module.as_ref().map(|m| m.part.as_str());
        let max = conf.value().map(|c| {
            let preferred = ctx.knowledge.power_max(part).map(|p| p.modes.clone()).unwrap_or_default();
            preferred
                .iter()
                .find_map(|name| c.models.iter().find(|m| &m.name == name))
                .or_else(|| c.models.iter().find(|m| m.id == 0))
                .or(c.models.first())
                .cloned()
        });
        Power { conf, current, max: max.flatten() }
    }
}
