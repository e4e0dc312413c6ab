//! An in-process read cache in front of a `PromptStore`, so that the SDK's prompt fetches
//! (and the lookups of composed prompts) are answered from memory.
//!
//! Entries are keyed `(project, name, label | version)` and hold the version found, or its
//! absence (the SDK retries a 404 twice). Every write through the cache drops all entries of
//! its project: a change to one name can change how prompts that reference it resolve.
//!
//! A read that raced with a write must not cache what it read before the write committed.
//! Each project has a generation, bumped by every write; a read remembers the generation it
//! started under and caches its result only if that is still current. Entries also expire
//! after `ENTRY_TTL`, which bounds staleness if another process writes the same database.
//!
//! With a shared cache (Redis, in scale-out mode) the generation is also kept there: every
//! write increments it, and a read that sees a shared generation it has not seen drops the
//! project's local entries first — so a label moved through one api process is served by all
//! of them at once, at the cost of one cache round trip per read.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use periscope_core::cache::Cache;
use periscope_core::error::BackendResult;
use periscope_core::model::Page;
use periscope_core::prompts::{
    NewPrompt, Prompt, PromptDeletion, PromptListFilter, PromptMeta, PromptResult, PromptSelector,
    PromptStore,
};
use periscope_core::store::PageRequest;

/// How long an entry is served.
const ENTRY_TTL: Duration = Duration::from_secs(30);

/// Entries kept at most; the cache is emptied when full (it refills from the store).
const MAX_ENTRIES: usize = 10_000;

#[derive(Debug)]
struct Entry {
    prompt: Option<Prompt>,
    stored_at: Instant,
}

#[derive(Debug, Default)]
struct State {
    entries: HashMap<(String, String, PromptSelector), Entry>,
    /// Write counter per project; absent means zero.
    generations: HashMap<String, u64>,
    /// The shared generation each project's local entries were cached under.
    shared_seen: HashMap<String, u64>,
}

impl State {
    fn generation(&self, project_id: &str) -> u64 {
        self.generations.get(project_id).copied().unwrap_or(0)
    }
}

/// A `PromptStore` that caches version lookups of another one.
#[derive(Debug)]
pub(crate) struct CachedPromptStore {
    inner: Arc<dyn PromptStore>,
    state: Mutex<State>,
    /// Where the project generations are shared with other processes, if anywhere.
    shared: Option<Arc<dyn Cache>>,
}

/// Shared generations outlive any entry by far; a lost one only costs a refill.
const SHARED_GENERATION_TTL: Duration = Duration::from_secs(30 * 24 * 3600);

fn shared_key(project_id: &str) -> String {
    format!("prompts:generation:{project_id}")
}

impl CachedPromptStore {
    /// Returns `inner` behind a cache.
    pub(crate) fn new(inner: Arc<dyn PromptStore>) -> Self {
        Self {
            inner,
            state: Mutex::new(State::default()),
            shared: None,
        }
    }

    /// Shares invalidations with every process using `cache`.
    pub(crate) fn with_shared(mut self, cache: Arc<dyn Cache>) -> Self {
        self.shared = Some(cache);
        self
    }

    /// The project's shared generation; `None` without a shared cache or when it fails (then
    /// entries still expire after `ENTRY_TTL`).
    async fn shared_generation(&self, project_id: &str) -> Option<u64> {
        let cache = self.shared.as_ref()?;
        match cache.get(&shared_key(project_id)).await {
            Ok(value) => Some(
                value
                    .and_then(|bytes| std::str::from_utf8(&bytes).ok()?.parse().ok())
                    .unwrap_or(0),
            ),
            Err(error) => {
                tracing::warn!(%error, "shared prompt-cache generation unavailable");
                None
            }
        }
    }

    /// Tells the other processes that the project's prompts changed.
    async fn publish_write(&self, project_id: &str) {
        if let Some(cache) = &self.shared
            && let Err(error) = cache
                .increment(&shared_key(project_id), SHARED_GENERATION_TTL)
                .await
        {
            tracing::warn!(%error, "failed to share a prompt-cache invalidation");
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave the maps half-updated in a way that
        // matters (worst case an entry is missing), so a poisoned lock is still usable.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Returns the cached lookup, or reads it through `read` and caches it.
    async fn lookup<F>(
        &self,
        project_id: &str,
        name: &str,
        selector: PromptSelector,
        read: F,
    ) -> BackendResult<Option<Prompt>>
    where
        F: Future<Output = BackendResult<Option<Prompt>>>,
    {
        let key = (project_id.to_owned(), name.to_owned(), selector);
        let shared = self.shared_generation(project_id).await;
        let generation = {
            let mut state = self.lock();
            if let Some(shared) = shared
                && state.shared_seen.get(project_id) != Some(&shared)
            {
                state.shared_seen.insert(project_id.to_owned(), shared);
                *state.generations.entry(project_id.to_owned()).or_default() += 1;
                state
                    .entries
                    .retain(|(entry_project, _, _), _| entry_project != project_id);
            }
            if let Some(entry) = state.entries.get(&key)
                && entry.stored_at.elapsed() < ENTRY_TTL
            {
                return Ok(entry.prompt.clone());
            }
            state.generation(project_id)
        };
        let prompt = read.await?;
        let mut state = self.lock();
        if state.generation(project_id) == generation {
            if state.entries.len() >= MAX_ENTRIES {
                state.entries.clear();
            }
            let entry = Entry {
                prompt: prompt.clone(),
                stored_at: Instant::now(),
            };
            state.entries.insert(key, entry);
        }
        Ok(prompt)
    }

    /// Drops every entry of a project and moves it to a new generation.
    fn invalidate(&self, project_id: &str) {
        let mut state = self.lock();
        *state.generations.entry(project_id.to_owned()).or_default() += 1;
        state
            .entries
            .retain(|(entry_project, _, _), _| entry_project != project_id);
    }
}

#[async_trait]
impl PromptStore for CachedPromptStore {
    async fn create_version(&self, new: NewPrompt) -> PromptResult<Prompt> {
        let project_id = new.project_id.clone();
        let result = self.inner.create_version(new).await;
        // Invalidate even after a failure: the write may have committed before the error.
        self.invalidate(&project_id);
        self.publish_write(&project_id).await;
        result
    }

    async fn get_by_label(
        &self,
        project_id: &str,
        name: &str,
        label: &str,
    ) -> BackendResult<Option<Prompt>> {
        let selector = PromptSelector::Label(label.to_owned());
        let read = self.inner.get_by_label(project_id, name, label);
        self.lookup(project_id, name, selector, read).await
    }

    async fn get_by_version(
        &self,
        project_id: &str,
        name: &str,
        version: i64,
    ) -> BackendResult<Option<Prompt>> {
        let read = self.inner.get_by_version(project_id, name, version);
        self.lookup(project_id, name, PromptSelector::Version(version), read)
            .await
    }

    async fn update_labels(
        &self,
        project_id: &str,
        name: &str,
        version: i64,
        new_labels: &[String],
    ) -> PromptResult<Prompt> {
        let result = self
            .inner
            .update_labels(project_id, name, version, new_labels)
            .await;
        self.invalidate(project_id);
        self.publish_write(project_id).await;
        result
    }

    async fn list(
        &self,
        project_id: &str,
        filter: &PromptListFilter,
        page: PageRequest,
    ) -> BackendResult<Page<PromptMeta>> {
        self.inner.list(project_id, filter, page).await
    }

    async fn delete(
        &self,
        project_id: &str,
        name: &str,
        target: &PromptDeletion,
    ) -> PromptResult<u64> {
        let result = self.inner.delete(project_id, name, target).await;
        self.invalidate(project_id);
        self.publish_write(project_id).await;
        result
    }
}

#[cfg(test)]
mod tests;
