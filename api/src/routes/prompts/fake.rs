//! An in-memory `PromptStore` for the handler and cache tests: the store rules of
//! `periscope_core::prompts` in a few lines, plus a count of reads.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;
use chrono::Utc;
use periscope_core::error::BackendResult;
use periscope_core::model::Page;
use periscope_core::prompts::{
    LATEST_LABEL, NewPrompt, Prompt, PromptDeletion, PromptError, PromptListFilter, PromptMeta,
    PromptResult, PromptStore,
};
use periscope_core::store::PageRequest;

#[derive(Debug, Default)]
pub(crate) struct FakePromptStore {
    versions: Mutex<Vec<Prompt>>,
    pub(crate) reads: AtomicUsize,
}

impl FakePromptStore {
    pub(crate) fn reads(&self) -> usize {
        self.reads.load(Ordering::SeqCst)
    }

    fn find(&self, matches: impl Fn(&Prompt) -> bool) -> Option<Prompt> {
        self.reads.fetch_add(1, Ordering::SeqCst);
        self.versions
            .lock()
            .unwrap()
            .iter()
            .find(|p| matches(p))
            .cloned()
    }
}

fn take_labels(versions: &mut [Prompt], project_id: &str, name: &str, labels: &[String]) {
    for version in versions
        .iter_mut()
        .filter(|p| p.project_id == project_id && p.name == name)
    {
        version.labels.retain(|label| !labels.contains(label));
    }
}

#[async_trait]
impl PromptStore for FakePromptStore {
    async fn create_version(&self, new: NewPrompt) -> PromptResult<Prompt> {
        let mut versions = self.versions.lock().unwrap();
        let same_name = |p: &&Prompt| p.project_id == new.project_id && p.name == new.name;
        if let Some(old) = versions.iter().find(same_name)
            && old.prompt_type != new.prompt_type
        {
            return Err(PromptError::Rejected("type differs".into()));
        }
        let version = versions
            .iter()
            .filter(same_name)
            .map(|p| p.version)
            .max()
            .unwrap_or(0)
            + 1;
        let tags = new.tags.clone().unwrap_or_else(|| {
            versions
                .iter()
                .find(same_name)
                .map(|p| p.tags.clone())
                .unwrap_or_default()
        });
        let mut labels = new.labels.clone();
        labels.push(LATEST_LABEL.into());
        take_labels(&mut versions, &new.project_id, &new.name, &labels);
        for version in versions
            .iter_mut()
            .filter(|p| p.project_id == new.project_id && p.name == new.name)
        {
            version.tags = tags.clone();
        }
        labels.sort();
        let prompt = Prompt {
            id: new.id,
            project_id: new.project_id,
            name: new.name,
            version,
            prompt_type: new.prompt_type,
            prompt: new.prompt,
            config: new.config,
            labels,
            tags,
            commit_message: new.commit_message,
            created_at: new.created_at,
            updated_at: new.created_at,
            created_by: new.created_by,
        };
        versions.push(prompt.clone());
        Ok(prompt)
    }

    async fn get_by_label(
        &self,
        project_id: &str,
        name: &str,
        label: &str,
    ) -> BackendResult<Option<Prompt>> {
        Ok(self.find(|p| {
            p.project_id == project_id && p.name == name && p.labels.iter().any(|l| l == label)
        }))
    }

    async fn get_by_version(
        &self,
        project_id: &str,
        name: &str,
        version: i64,
    ) -> BackendResult<Option<Prompt>> {
        Ok(self.find(|p| p.project_id == project_id && p.name == name && p.version == version))
    }

    async fn update_labels(
        &self,
        project_id: &str,
        name: &str,
        version: i64,
        new_labels: &[String],
    ) -> PromptResult<Prompt> {
        let mut versions = self.versions.lock().unwrap();
        let index = versions
            .iter()
            .position(|p| p.project_id == project_id && p.name == name && p.version == version)
            .ok_or_else(|| PromptError::NotFound { name: name.into() })?;
        take_labels(&mut versions, project_id, name, new_labels);
        let target = &mut versions[index];
        target.labels.extend(new_labels.iter().cloned());
        target.labels.sort();
        target.labels.dedup();
        target.updated_at = Utc::now();
        Ok(target.clone())
    }

    async fn list(
        &self,
        project_id: &str,
        filter: &PromptListFilter,
        page: PageRequest,
    ) -> BackendResult<Page<PromptMeta>> {
        let versions = self.versions.lock().unwrap();
        let mut names: Vec<&str> = versions
            .iter()
            .filter(|p| p.project_id == project_id)
            .filter(|p| filter.name.as_ref().is_none_or(|name| &p.name == name))
            .map(|p| p.name.as_str())
            .collect();
        names.sort_unstable();
        names.dedup();
        let items = names
            .iter()
            .skip(page.offset() as usize)
            .take(page.limit as usize)
            .map(|name| {
                let of_name: Vec<&Prompt> = versions
                    .iter()
                    .filter(|p| p.project_id == project_id && &p.name == name)
                    .collect();
                let newest = of_name.iter().max_by_key(|p| p.version).unwrap();
                PromptMeta {
                    name: name.to_string(),
                    prompt_type: newest.prompt_type,
                    versions: of_name.iter().map(|p| p.version).collect(),
                    labels: of_name.iter().flat_map(|p| p.labels.clone()).collect(),
                    tags: newest.tags.clone(),
                    last_updated_at: newest.updated_at,
                    last_config: newest.config.clone(),
                }
            })
            .collect();
        Ok(Page {
            items,
            total_items: names.len() as u64,
        })
    }

    async fn delete(
        &self,
        project_id: &str,
        name: &str,
        target: &PromptDeletion,
    ) -> PromptResult<u64> {
        let mut versions = self.versions.lock().unwrap();
        let before = versions.len();
        versions.retain(|p| {
            let selected = p.project_id == project_id
                && p.name == name
                && match target {
                    PromptDeletion::All => true,
                    PromptDeletion::Version(version) => p.version == *version,
                    PromptDeletion::Label(label) => p.labels.contains(label),
                };
            !selected
        });
        match before - versions.len() {
            0 => Err(PromptError::NotFound { name: name.into() }),
            deleted => Ok(deleted as u64),
        }
    }
}
