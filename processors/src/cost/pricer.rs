//! The `Pricer`: built-in prices plus each project's own model definitions, loaded from the
//! `MetaStore` and cached for a short TTL.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use periscope_core::error::BackendError;
use periscope_core::meta::{MetaStore, ModelDefinition};
use periscope_core::model::ObservationRecord;
use periscope_core::prices::{
    builtin_models, pattern_matches, pick_effective, validate_model_definition,
};

use super::pricing::{complete, pricing_time};

/// How long a project's definitions are reused before they are read again: a model created
/// through the API applies within this time.
pub const DEFAULT_MODELS_TTL: Duration = Duration::from_secs(30);

/// Projects whose definitions are kept; past this, expired entries are dropped first.
const MAX_CACHED_PROJECTS: usize = 10_000;

/// Model names whose matching definitions are memoised per project. Names come from clients,
/// so the memo is bounded; names past the bound are matched on every call.
const MAX_MEMOISED_NAMES: usize = 1024;

/// Prices observations: resolves the model's price at the observation's start time (project
/// definitions first, then the built-in catalog), estimates usage the client did not report,
/// and derives the costs.
#[derive(Debug)]
pub struct Pricer {
    meta: Arc<dyn MetaStore>,
    ttl: Duration,
    projects: RwLock<HashMap<String, Arc<ProjectModels>>>,
}

impl Pricer {
    /// Creates a pricer that reloads a project's definitions after [`DEFAULT_MODELS_TTL`].
    pub fn new(meta: Arc<dyn MetaStore>) -> Self {
        Self::with_ttl(meta, DEFAULT_MODELS_TTL)
    }

    /// Creates a pricer that reloads a project's definitions after `ttl`.
    pub fn with_ttl(meta: Arc<dyn MetaStore>, ttl: Duration) -> Self {
        Self {
            meta,
            ttl,
            projects: RwLock::new(HashMap::new()),
        }
    }

    /// Prices one observation in place: sets `price` when it names a model (`None` when no
    /// definition matches), estimates usage when it is missing, then calls `finalize_costs`, which
    /// flags a priced-less generation with usage as unpriced.
    ///
    /// Fails only when the project's definitions cannot be read and none are cached.
    pub async fn apply(&self, observation: &mut ObservationRecord) -> Result<(), BackendError> {
        let Some(model) = observation.model.as_deref().map(str::trim) else {
            complete(observation, None);
            return Ok(());
        };
        let project = self.project_models(&observation.project_id).await?;
        let matched = project.resolve(model, pricing_time(observation));
        complete(observation, matched);
        Ok(())
    }

    async fn project_models(&self, project_id: &str) -> Result<Arc<ProjectModels>, BackendError> {
        let now = Instant::now();
        let cached = self.read_projects().get(project_id).cloned();
        if let Some(cached) = &cached
            && now.saturating_duration_since(cached.loaded_at) < self.ttl
        {
            return Ok(Arc::clone(cached));
        }
        let fresh = match load_project_models(self.meta.as_ref(), project_id).await {
            Ok(models) => ProjectModels::new(models, now),
            Err(error) => {
                let Some(stale) = cached else {
                    return Err(error);
                };
                // Keep pricing with what we had, and retry after another TTL rather than on
                // every observation while the store is down.
                tracing::warn!(
                    %error,
                    project_id,
                    "failed to reload the project's model prices; using the cached ones"
                );
                ProjectModels::new(stale.models.clone(), now)
            }
        };
        let fresh = Arc::new(fresh);
        self.store_project(project_id, Arc::clone(&fresh), now);
        Ok(fresh)
    }

    fn read_projects(&self) -> std::sync::RwLockReadGuard<'_, HashMap<String, Arc<ProjectModels>>> {
        self.projects.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn store_project(&self, project_id: &str, models: Arc<ProjectModels>, now: Instant) {
        let mut projects = self
            .projects
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        if projects.len() >= MAX_CACHED_PROJECTS && !projects.contains_key(project_id) {
            projects.retain(|_, entry| now.saturating_duration_since(entry.loaded_at) < self.ttl);
            if projects.len() >= MAX_CACHED_PROJECTS {
                projects.clear();
            }
        }
        projects.insert(project_id.to_owned(), models);
    }
}

/// Loads a project's model definitions, dropping (with a warning) any that fail validation or
/// belong to another project, so one bad row cannot stop pricing.
pub async fn load_project_models(
    meta: &dyn MetaStore,
    project_id: &str,
) -> Result<Vec<ModelDefinition>, BackendError> {
    let mut models = meta.list_models(project_id).await?;
    models.retain(|model| {
        if model
            .project_id
            .as_deref()
            .is_some_and(|owner| owner != project_id)
        {
            tracing::warn!(
                project_id,
                model_id = %model.id,
                "meta store returned another project's model"
            );
            return false;
        }
        match validate_model_definition(model) {
            Ok(()) => true,
            Err(reason) => {
                tracing::warn!(
                    project_id,
                    model_id = %model.id,
                    %reason,
                    "ignoring an invalid model definition"
                );
                false
            }
        }
    });
    for model in &mut models {
        // Ranking prefers project definitions by this field.
        model.project_id = Some(project_id.to_owned());
    }
    Ok(models)
}

/// Where a matching definition lives.
#[derive(Debug, Clone, Copy)]
enum Candidate {
    Project(usize),
    Builtin(usize),
}

/// One project's definitions as loaded at `loaded_at`, with the definitions each model name
/// matched (which do not depend on time, so only the effective-date choice runs per call).
#[derive(Debug)]
struct ProjectModels {
    loaded_at: Instant,
    models: Vec<ModelDefinition>,
    candidates: Mutex<HashMap<String, Arc<[Candidate]>>>,
}

impl ProjectModels {
    fn new(models: Vec<ModelDefinition>, loaded_at: Instant) -> Self {
        Self {
            loaded_at,
            models,
            candidates: Mutex::new(HashMap::new()),
        }
    }

    fn resolve(&self, model: &str, at: DateTime<Utc>) -> Option<&ModelDefinition> {
        if model.is_empty() {
            return None;
        }
        let candidates = self.candidates(model);
        pick_effective(
            candidates
                .iter()
                .filter_map(|candidate| self.definition(*candidate)),
            at,
        )
    }

    fn definition(&self, candidate: Candidate) -> Option<&ModelDefinition> {
        match candidate {
            Candidate::Project(index) => self.models.get(index),
            Candidate::Builtin(index) => builtin_models().get(index),
        }
    }

    fn candidates(&self, model: &str) -> Arc<[Candidate]> {
        let lock_memo = || {
            self.candidates
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
        };
        if let Some(found) = lock_memo().get(model) {
            return Arc::clone(found);
        }
        let project = self
            .models
            .iter()
            .enumerate()
            .map(|(i, d)| (Candidate::Project(i), d));
        let builtin = builtin_models()
            .iter()
            .enumerate()
            .map(|(i, d)| (Candidate::Builtin(i), d));
        let found: Arc<[Candidate]> = project
            .chain(builtin)
            .filter(|(_, definition)| pattern_matches(definition, model))
            .map(|(candidate, _)| candidate)
            .collect();
        let mut memo = lock_memo();
        if memo.len() < MAX_MEMOISED_NAMES {
            memo.insert(model.to_owned(), Arc::clone(&found));
        }
        found
    }
}
