//! Graceful shutdown: one cancellation token and one task tracker per process.

use std::future::Future;

use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// Owns the process's cancellation token and tracks every background task, so shutdown can
/// signal all of them and wait until they drained.
#[derive(Debug, Clone, Default)]
pub struct Shutdown {
    token: CancellationToken,
    tracker: TaskTracker,
}

impl Shutdown {
    /// Returns a new, untriggered shutdown handle.
    pub fn new() -> Self {
        Self::default()
    }

    /// Spawns a tracked background task.
    pub fn spawn<F>(&self, task: F) -> tokio::task::JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.tracker.spawn(task)
    }

    /// Returns the token tasks watch to learn that shutdown started.
    pub fn token(&self) -> CancellationToken {
        self.token.clone()
    }

    /// Returns true once shutdown has started.
    pub fn is_triggered(&self) -> bool {
        self.token.is_cancelled()
    }

    /// Starts shutdown: every task watching the token is told to finish.
    pub fn trigger(&self) {
        self.token.cancel();
    }

    /// Resolves once shutdown has started.
    pub async fn triggered(&self) {
        self.token.cancelled().await;
    }

    /// Waits until every tracked task has finished (call after `trigger`).
    pub async fn wait_for_tasks(&self) {
        self.tracker.close();
        self.tracker.wait().await;
    }
}

/// Resolves on SIGINT or SIGTERM. A handler that cannot be installed is logged, not fatal.
pub async fn signal() {
    let interrupt = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::warn!(%error, "failed to listen for SIGINT");
            std::future::pending::<()>().await;
        }
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut stream) => {
                stream.recv().await;
            }
            Err(error) => {
                tracing::warn!(%error, "failed to listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    tokio::select! {
        () = interrupt => {},
        () = terminate => {},
    }
}
