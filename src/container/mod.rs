//! Containers: choosing a compatible image (`rules`, the one judgement of an image against the
//! host; `registry`; `select`), the image config model, Dockerfile generation, the layer budget,
//! reading `docker save` archives (`save`, `layers` for the doctor's scan), `flatten`, and the
//! image doctor. Every Docker call goes through the host's engine (`crate::host::docker`).

pub mod budget;
pub mod build;
pub mod dockerfile;
pub mod doctor;
pub mod flatten;
pub mod image_config;
pub mod layers;
pub mod matrix;
pub mod registry;
pub mod rules;
pub mod save;
pub mod select;
