//! Langfuse's JSON shapes of prompts: `Prompt` (validated by the SDK as `Prompt_Text` /
//! `Prompt_Chat`: `type`, `name`, `version`, `prompt`, `config`, `labels` and `tags` required)
//! and the `PromptMeta` entries of the list.

use periscope_core::prompts::{Prompt, PromptMeta};
use serde::Serialize;
use serde_json::Value;

use crate::views::IsoTime;

/// One prompt version as returned by create, get and PATCH.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PromptView {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) version: i64,
    #[serde(rename = "type")]
    pub(crate) prompt_type: &'static str,
    /// The content, with references resolved when read through GET.
    pub(crate) prompt: Value,
    pub(crate) config: Value,
    pub(crate) labels: Vec<String>,
    pub(crate) tags: Vec<String>,
    pub(crate) commit_message: Option<String>,
    pub(crate) created_at: IsoTime,
    pub(crate) updated_at: IsoTime,
    pub(crate) created_by: String,
    pub(crate) project_id: String,
    /// Langfuse's deprecated v1 flag, always `null` in v2.
    pub(crate) is_active: Option<bool>,
    /// The references followed to resolve `prompt`; `null` when there were none.
    pub(crate) resolution_graph: Option<Value>,
}

impl PromptView {
    /// Returns the view of a version with `prompt` as its content (resolved or as stored).
    pub(crate) fn new(version: &Prompt, prompt: Value, resolution_graph: Option<Value>) -> Self {
        Self {
            id: version.id.clone(),
            name: version.name.clone(),
            version: version.version,
            prompt_type: version.prompt_type.as_str(),
            prompt,
            config: version.config.clone(),
            labels: version.labels.clone(),
            tags: version.tags.clone(),
            commit_message: version.commit_message.clone(),
            created_at: IsoTime(version.created_at),
            updated_at: IsoTime(version.updated_at),
            created_by: version.created_by.clone(),
            project_id: version.project_id.clone(),
            is_active: None,
            resolution_graph,
        }
    }

    /// Returns the view of a version as stored (references unresolved), as Langfuse answers
    /// create and PATCH.
    pub(crate) fn stored(version: &Prompt) -> Self {
        Self::new(version, version.prompt.clone(), None)
    }
}

/// One name of `GET /v2/prompts`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PromptMetaView {
    pub(crate) name: String,
    #[serde(rename = "type")]
    pub(crate) prompt_type: &'static str,
    pub(crate) versions: Vec<i64>,
    pub(crate) labels: Vec<String>,
    pub(crate) tags: Vec<String>,
    pub(crate) last_updated_at: IsoTime,
    pub(crate) last_config: Value,
}

impl From<&PromptMeta> for PromptMetaView {
    fn from(meta: &PromptMeta) -> Self {
        Self {
            name: meta.name.clone(),
            prompt_type: meta.prompt_type.as_str(),
            versions: meta.versions.clone(),
            labels: meta.labels.clone(),
            tags: meta.tags.clone(),
            last_updated_at: IsoTime(meta.last_updated_at),
            last_config: meta.last_config.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};
    use periscope_core::prompts::PromptType;
    use serde_json::json;

    fn version() -> Prompt {
        let time = Utc.with_ymd_and_hms(2026, 11, 27, 1, 40, 51).unwrap();
        Prompt {
            id: "46e51b23".into(),
            project_id: "p".into(),
            name: "qa-answer".into(),
            version: 2,
            prompt_type: PromptType::Text,
            prompt: json!("Answer briefly: {{question}}"),
            config: json!({"model": "gpt-4o-mini", "temperature": 0.5}),
            labels: vec!["latest".into(), "production".into(), "staging".into()],
            tags: vec!["demo".into()],
            commit_message: Some("shorter".into()),
            created_at: time,
            updated_at: time,
            created_by: "API".into(),
        }
    }

    #[test]
    fn a_prompt_has_every_field_of_the_langfuse_shape() {
        assert_eq!(
            serde_json::to_value(PromptView::stored(&version())).unwrap(),
            json!({
                "id": "46e51b23", "name": "qa-answer", "version": 2, "type": "text",
                "prompt": "Answer briefly: {{question}}",
                "config": {"model": "gpt-4o-mini", "temperature": 0.5},
                "labels": ["latest", "production", "staging"], "tags": ["demo"],
                "commitMessage": "shorter",
                "createdAt": "2026-11-27T01:40:51.000Z", "updatedAt": "2026-11-27T01:40:51.000Z",
                "createdBy": "API", "projectId": "p", "isActive": null, "resolutionGraph": null
            })
        );
    }

    #[test]
    fn a_resolved_chat_prompt_carries_its_graph() {
        let chat = Prompt {
            prompt_type: PromptType::Chat,
            commit_message: None,
            ..version()
        };
        let graph = json!({"root": {"id": "46e51b23", "name": "qa-answer", "version": 2}});
        let view = PromptView::new(
            &chat,
            json!([{"role": "user", "content": "hi"}]),
            Some(graph.clone()),
        );
        let value = serde_json::to_value(view).unwrap();
        assert_eq!(value["type"], "chat");
        assert_eq!(value["prompt"], json!([{"role": "user", "content": "hi"}]));
        assert_eq!(value["commitMessage"], Value::Null);
        assert_eq!(value["resolutionGraph"], graph);
    }

    #[test]
    fn a_list_entry_has_the_prompt_meta_fields() {
        let meta = PromptMeta {
            name: "a/b".into(),
            prompt_type: PromptType::Chat,
            versions: vec![1, 3],
            labels: vec!["latest".into()],
            tags: vec![],
            last_updated_at: Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).unwrap(),
            last_config: json!({"t": 1}),
        };
        assert_eq!(
            serde_json::to_value(PromptMetaView::from(&meta)).unwrap(),
            json!({
                "name": "a/b", "type": "chat", "versions": [1, 3], "labels": ["latest"],
                "tags": [], "lastUpdatedAt": "2026-01-02T03:04:05.000Z", "lastConfig": {"t": 1}
            })
        );
    }
}
