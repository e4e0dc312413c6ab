//! SQLite-only tests of the trace and meta stores (migrations, concurrency, the write path's
//! internals), on real database files in temporary directories. Behaviour shared with the
//! production stores is tested once for both, in the conformance suites.
//!
//! Every module is `cfg(test)` so that its fixtures count as test code (they may unwrap).

#[cfg(test)]
mod common;
#[cfg(test)]
mod concurrency;
#[cfg(test)]
mod experiments;
#[cfg(test)]
mod migrations;
#[cfg(test)]
mod prompts;
#[cfg(test)]
mod sink;
#[cfg(test)]
mod write;
