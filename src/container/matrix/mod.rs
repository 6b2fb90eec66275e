//! The image matrix (`jetdoc image matrix`): one file describes a set of base images (variants
//! per architecture and platform), their tags and their smoke test; jetdoc resolves it against
//! the knowledge tables, generates each Dockerfile, and the command layer builds, tests, tags and
//! pushes them.
//!
//! - `schema`: the file's shape and value checks (errors with file, line and column)
//! - `tags`: the tag template, CI tags and Docker's name/tag grammar
//! - `plan`: resolution into variants, image references and OCI indexes (the JSON contract)
//! - `generate`: the Dockerfile and build context of a variant, values safely quoted

pub mod generate;
pub mod index;
pub mod plan;
pub mod schema;
pub mod tags;

pub use plan::{resolve, L4tFrom, Plan, PlanInput, VariantPlan};
pub use schema::{Matrix, MatrixError};
pub use tags::{BuildMeta, MetaFlags};
