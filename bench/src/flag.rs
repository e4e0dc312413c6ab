//! A stop flag shared between the harness's tasks.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// Set once by the run's driver, polled by every loop of the run.
#[derive(Debug, Clone, Default)]
pub(crate) struct StopFlag(Arc<AtomicBool>);

impl StopFlag {
    /// Sets the flag.
    pub(crate) fn set(&self) {
        self.0.store(true, Ordering::Relaxed);
    }

    /// Returns whether the flag is set.
    pub(crate) fn is_set(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}
