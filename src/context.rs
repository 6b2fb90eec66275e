//! The `Context` every check reads the world through: the `Host`, the knowledge tables, and a
//! cache of probe results so that each file is read once however many checks use it.
//!
//! The cache lives as long as the context, which is right for one report and wrong after a
//! change: once the executor (`crate::steps`) has written a file or restarted Docker, what the
//! probes saw is stale. `invalidate` forgets every result (and the host's cached path lookups);
//! `refresh::<P>()` probes one type again. Results already handed out stay as they were: a plan
//! keeps the facts it was made from.

use std::any::{Any, TypeId};
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use crate::host::Host;
use crate::knowledge::Knowledge;

/// Something computed from the host once per run (device identity, dpkg status, `docker info`).
/// Probes are lazy: a check asks `ctx.get::<P>()` and only then is `P::probe` run.
pub trait Probe: Any + Sized {
    fn probe(ctx: &Context) -> Self;
}

pub struct Context {
    pub host: Host,
    pub knowledge: Knowledge,
    cache: RefCell<HashMap<TypeId, Rc<dyn Any>>>,
}

impl Context {
    pub fn new(host: Host, knowledge: Knowledge) -> Context {
        Context { host, knowledge, cache: RefCell::new(HashMap::new()) }
    }

    /// The probe result of type `P` if some check already asked for it; never probes.
    pub fn peek<P: Probe>(&self) -> Option<Rc<P>> {
        self.cache
            .borrow()
            .get(&TypeId::of::<P>())
            .map(|hit| hit.clone().downcast::<P>().expect("cache keyed by TypeId"))
    }

    /// Forgets every probe result and cached path: the next `get` reads the host again.
    pub fn invalidate(&self) {
        self.cache.borrow_mut().clear();
        self.host.forget_paths();
    }

    /// Probes `P` again now (the other cached results stay), e.g. `docker info` after a restart.
    pub fn refresh<P: Probe>(&self) -> Rc<P> {
        self.cache.borrow_mut().remove(&TypeId::of::<P>());
        self.host.forget_paths();
        self.get::<P>()
    }

    /// The probe result of type `P`, computed on first use.
    pub fn get<P: Probe>(&self) -> Rc<P> {
        if let Some(hit) = self.cache.borrow().get(&TypeId::of::<P>()) {
            return hit.clone().downcast::<P>().expect("cache keyed by TypeId");
        }
        // Not holding the borrow here: a probe may ask for other probes.
        let value = Rc::new(P::probe(self));
        self.cache.borrow_mut().insert(TypeId::of::<P>(), value.clone());
        value
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::{EnvSource, OfflineRunner};

    struct Motd(String);
    impl Probe for Motd {
        fn probe(ctx: &Context) -> Self {
            Motd(ctx.host.read_text("/etc/motd").unwrap_or_default())
        }
    }

    #[test]
    fn invalidate_and_refresh_read_the_host_again() {
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir(root.path().join("etc")).unwrap();
        std::fs::write(root.path().join("etc/motd"), "old").unwrap();
        let host = Host::with_root(root.path(), Box::new(OfflineRunner), EnvSource::Map(Default::default()))
            .unwrap();
        let ctx = Context::new(host, Knowledge::builtin());
        let before = ctx.get::<Motd>();
        std::fs::write(root.path().join("etc/motd"), "new").unwrap();
        assert_eq!(ctx.get::<Motd>().0, "old", "cached");
        assert_eq!(ctx.refresh::<Motd>().0, "new");
        std::fs::write(root.path().join("etc/motd"), "newer").unwrap();
        ctx.invalidate();
        assert_eq!(ctx.get::<Motd>().0, "newer");
        assert_eq!(before.0, "old", "results handed out stay as they were");
    }
}
