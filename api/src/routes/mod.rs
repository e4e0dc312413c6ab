//! The HTTP handlers, one module per resource. Each handler authenticates (`Caller`), parses
//! its parameters, asks a store, and converts the answer with `views`.

pub(crate) mod admin;
pub(crate) mod annotation;
pub(crate) mod comments;
pub(crate) mod datasets;
pub(crate) mod evaluators;
pub(crate) mod health;
pub(crate) mod metrics;
pub(crate) mod metrics_v2;
pub(crate) mod models;
pub(crate) mod observations;
pub(crate) mod projects;
pub(crate) mod prompts;
pub(crate) mod score_configs;
pub(crate) mod scores;
pub(crate) mod sessions;
pub(crate) mod sharing;
pub(crate) mod traces;
