//! The `Cache` on Redis or Valkey (scale-out mode), through `fred`.
//!
//! Every key is stored as `<key_prefix><key>`, so several deployments (or test runs) can share
//! one server. The client reconnects on its own with capped exponential backoff, so a restarted
//! Redis is picked up without restarting Periscope; while it is down, commands fail after a short
//! timeout with `BackendError::Unavailable` instead of queueing without bound.

mod cache;

pub use cache::RedisCache;
