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

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use async_trait::async_trait;
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
}

impl CachedPromptStore {
    /// Returns `inner` behind a cache.
    pub(crate) fn new(inner: Arc<dyn PromptStore>) -> Self {
        Self {
            inner,
            state: Mutex::new(State::default()),
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
        let generation = {
            let state = self.lock();
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
        result
    }
}

#[cfg(test)]
mod tests;
