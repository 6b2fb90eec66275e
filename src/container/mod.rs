//! Containers: choosing a compatible image (rules, registry, selection), the image config
//! model, Dockerfile generation, the layer budget, and static reads of an image's layers
//! (`docker save`).

pub mod budget;
pub mod build;
pub mod dockerfile;
pub mod doctor;
pub mod image_config;
pub mod layers;
pub mod matrix;
pub mod registry;
pub mod rules;
pub mod select;
