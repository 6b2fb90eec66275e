//! RAM, swap (zram included) and CPUs. On a live non-Jetson host `sysinfo` gives RAM and the CPU
//! model portably (refreshing only memory and the CPU list, never processes); on a Jetson or a
//! foreign root the `/proc` files are read through the `Host`. Swap always comes from
//! `/proc/swaps`, which names zram devices.

use serde::Serialize;

use crate::context::{Context, Probe};
use crate::fact::Fact;
use crate::facts::meminfo::{self, Swap};
use crate::host::{Absence, Reason};
use crate::probes::Identity;

pub const MEMINFO: &str = "/proc/meminfo";
pub const SWAPS: &str = "/proc/swaps";
pub const CPUINFO: &str = "/proc/cpuinfo";

#[derive(Debug, Clone, Serialize)]
pub struct Ram {
    pub total_bytes: u64,
    pub available_bytes: Option<u64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Cpus {
    pub count: usize,
    pub model: Option<String>,
}

pub struct Memory {
    pub ram: Fact<Ram>,
    pub swaps: Fact<Vec<Swap>>,
    pub cpus: Fact<Cpus>,
}

impl Memory {
    pub fn swap_total_bytes(&self) -> u64 {
        self.swaps.value().map(|s| s.iter().map(|w| w.size_kb * 1024).sum()).unwrap_or(0)
    }
}

impl Probe for Memory {
    fn probe(ctx: &Context) -> Self {
        let host = &ctx.host;
        let swaps = match host.read_text(SWAPS) {
            Ok(t) => match meminfo::swaps(&t) {
                Ok(s) => Fact::known(s, SWAPS),
                Err(e) => Fact::Absent(Absence::malformed(SWAPS, e)),
            },
            Err(a) => Fact::Absent(a),
        };
        let (ram, cpus) =
            if host.is_live() && !ctx.get::<Identity>().jetson { from_sysinfo() } else { from_proc(ctx) };
        Memory { ram, swaps, cpus }
    }
}

fn from_sysinfo() -> (Fact<Ram>, Fact<Cpus>) {
    use sysinfo::{CpuRefreshKind, MemoryRefreshKind, RefreshKind, System};
    let sys = System::new_with_specifics(
        RefreshKind::nothing()
            .with_memory(MemoryRefreshKind::nothing().with_ram())
            .with_cpu(CpuRefreshKind::nothing()),
    );
    let ram = match sys.total_memory() {
        0 => Fact::absent("sysinfo", Reason::Unreadable("total memory unknown".into())),
        t => Fact::known(Ram { total_bytes: t, available_bytes: Some(sys.available_memory()) }, "sysinfo"),
    };
    let cpus = match sys.cpus() {
        [] => Fact::absent("sysinfo", Reason::Unreadable("no CPU listed".into())),
        list => Fact::known(
            Cpus {
                count: list.len(),
                model: Some(list[0].brand().trim().to_string()).filter(|b| !b.is_empty()),
            },
            "sysinfo",
        ),
    };
    (ram, cpus)
}

fn from_proc(ctx: &Context) -> (Fact<Ram>, Fact<Cpus>) {
    let host = &ctx.host;
    let ram = match host.read_text(MEMINFO) {
        Ok(t) => {
            let m = meminfo::meminfo(&t);
            match m.get("MemTotal") {
                Some(kb) => Fact::known(
                    Ram { total_bytes: kb * 1024, available_bytes: m.get("MemAvailable").map(|a| a * 1024) },
                    MEMINFO,
                ),
                None => Fact::absent(MEMINFO, Reason::Malformed("no MemTotal line".into())),
            }
        }
        Err(a) => Fact::Absent(a),
    };
    let cpus = match host.read_text(CPUINFO) {
        Ok(t) => {
            let c = meminfo::cpuinfo(&t);
            if c.count == 0 {
                Fact::absent(CPUINFO, Reason::Malformed("no `processor` line".into()))
            } else {
                Fact::known(Cpus { count: c.count, model: c.model }, CPUINFO)
            }
        }
        Err(a) => Fact::Absent(a),
    };
    (ram, cpus)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::Host;
    use crate::knowledge::Knowledge;

    #[test]
    fn live_host_reports_ram_cpus_and_swap_from_real_sources() {
        let ctx = Context::new(Host::live(), Knowledge::builtin());
        let m = ctx.get::<Memory>();
        let ram = m.ram.value().expect("RAM of the machine running the tests");
        assert!(ram.total_bytes > 64 << 20 && ram.available_bytes.unwrap_or(0) <= ram.total_bytes);
        let cpus = m.cpus.value().expect("CPUs");
        assert!(cpus.count >= 1);
        // sysinfo answers on a non-Jetson, /proc/meminfo on a Jetson; swap always from /proc/swaps.
        let expected = if ctx.get::<Identity>().jetson { MEMINFO } else { "sysinfo" };
        assert_eq!((m.ram.source(), m.swaps.source()), (expected, SWAPS));
    }
}
