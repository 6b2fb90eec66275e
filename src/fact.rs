//! `Fact<T>`: a value with the source it was read from, or the reason it is absent.

use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};

use crate::host::{Absence, Reason};

#[derive(Debug, Clone, PartialEq)]
pub enum Fact<T> {
    Known { value: T, source: String },
    Absent(Absence),
}

impl<T> Fact<T> {
    pub fn known(value: T, source: impl Into<String>) -> Fact<T> {
        Fact::Known { value, source: source.into() }
    }

    pub fn absent(source: &str, reason: Reason) -> Fact<T> {
        Fact::Absent(Absence::new(source, reason))
    }

    pub fn value(&self) -> Option<&T> {
        match self {
            Fact::Known { value, .. } => Some(value),
            Fact::Absent(_) => None,
        }
    }

    pub fn source(&self) -> &str {
        match self {
            Fact::Known { source, .. } => source,
            Fact::Absent(a) => &a.source,
        }
    }

    pub fn absence(&self) -> Option<&Absence> {
        match self {
            Fact::Known { .. } => None,
            Fact::Absent(a) => Some(a),
        }
    }

    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Fact<U> {
        match self {
            Fact::Known { value, source } => Fact::Known { value: f(value), source },
            Fact::Absent(a) => Fact::Absent(a),
        }
    }

    /// This fact, or when absent the next source's (keeping the first absence if both are).
    pub fn or_else(self, next: impl FnOnce() -> Fact<T>) -> Fact<T> {
        match self {
            Fact::Known { .. } => self,
            Fact::Absent(first) => match next() {
                known @ Fact::Known { .. } => known,
                Fact::Absent(_) => Fact::Absent(first),
            },
        }
    }
}

impl<T: Serialize> Serialize for Fact<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(None)?;
        match self {
            Fact::Known { value, source } => {
                map.serialize_entry("value", value)?;
                map.serialize_entry("source", source)?;
            }
            Fact::Absent(a) => {
                map.serialize_entry("value", &None::<()>)?;
                map.serialize_entry("source", &a.source)?;
                map.serialize_entry("absent", &a.reason.to_string())?;
            }
        }
        map.end()
    }
}
