//! The `Context` every check reads the world through: the `Host`, the knowledge tables, and a
//! cache of probe results so that each file is read once however many checks use it.

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
