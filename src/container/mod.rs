//! Container images: choosing a compatible one (rules, registry, selection).

pub mod registry;
pub mod rules;
pub mod select;
