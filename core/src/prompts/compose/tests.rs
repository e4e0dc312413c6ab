use async_trait::async_trait;
use chrono::{TimeZone, Utc};
use serde_json::json;

use super::*;
use crate::error::BackendResult;
use crate::model::Page;
use crate::prompts::{
    NewPrompt, PromptDeletion, PromptError, PromptListFilter, PromptMeta, PromptResult,
};
use crate::store::PageRequest;

/// Serves reads from a fixed list of versions; writes are not needed here.
#[derive(Debug, Default)]
struct Fixed {
    prompts: Vec<Prompt>,
}

fn prompt(name: &str, version: i64, content: Value, labels: &[&str]) -> Prompt {
    let time = Utc.with_ymd_and_hms(2026, 11, 27, 0, 0, 0).unwrap();
    Prompt {
        id: format!("{name}-v{version}"),
        project_id: "p".into(),
        name: name.into(),
        version,
        prompt_type: if content.is_string() {
            PromptType::Text
        } else {
            PromptType::Chat
        },
        prompt: content,
        config: json!({}),
        labels: labels.iter().map(|label| label.to_string()).collect(),
        tags: Vec::new(),
        commit_message: None,
        created_at: time,
        updated_at: time,
        created_by: "API".into(),
    }
}

#[async_trait]
impl PromptStore for Fixed {
    async fn create_version(&self, _new: NewPrompt) -> PromptResult<Prompt> {
        Err(PromptError::Rejected("read-only".into()))
    }

    async fn get_by_label(
        &self,
        project_id: &str,
        name: &str,
        label: &str,
    ) -> BackendResult<Option<Prompt>> {
        Ok(self
            .prompts
            .iter()
            .find(|p| {
                p.project_id == project_id && p.name == name && p.labels.iter().any(|l| l == label)
            })
            .cloned())
    }

    async fn get_by_version(
        &self,
        project_id: &str,
        name: &str,
        version: i64,
    ) -> BackendResult<Option<Prompt>> {
        Ok(self
            .prompts
            .iter()
            .find(|p| p.project_id == project_id && p.name == name && p.version == version)
            .cloned())
    }

    async fn update_labels(&self, _: &str, _: &str, _: i64, _: &[String]) -> PromptResult<Prompt> {
        Err(PromptError::Rejected("read-only".into()))
    }

    async fn list(
        &self,
        _: &str,
        _: &PromptListFilter,
        _: PageRequest,
    ) -> BackendResult<Page<PromptMeta>> {
        Ok(Page {
            items: Vec::new(),
            total_items: 0,
        })
    }

    async fn delete(&self, _: &str, _: &str, _: &PromptDeletion) -> PromptResult<u64> {
        Err(PromptError::Rejected("read-only".into()))
    }
}

#[test]
fn tags_are_parsed_as_langfuse_does() {
    let content = json!(
        "A @@@langfusePrompt:name=base|label=production@@@ B \
         @@@langfusePrompt:name=team/x|version=3@@@ \
         @@@langfusePrompt:label=production|name=swapped@@@ \
         @@@langfusePrompt:name=three|label=a|version=1@@@ \
         @@@langfusePrompt:name=bad|version=zero@@@ \
         @@@langfusePrompt:name=neg|version=-1@@@ \
         @@@langfusePrompt:name=other|foo=bar@@@ \
         @@@langfusePrompt:name=base|label=production@@@"
    );
    let found = parse_dependencies(&content);
    assert_eq!(
        found,
        [
            PromptDependency {
                name: "base".into(),
                target: DependencyTarget::Label("production".into()),
                tag: "@@@langfusePrompt:name=base|label=production@@@".into(),
            },
            PromptDependency {
                name: "team/x".into(),
                target: DependencyTarget::Version(3),
                tag: "@@@langfusePrompt:name=team/x|version=3@@@".into(),
            },
        ]
    );
    assert!(parse_dependencies(&json!("no tags @@@langfusePrompt:name=x|label=y")).is_empty());
}

#[test]
fn tags_are_found_in_every_chat_message() {
    let content = json!([
        {"role": "system", "content": "@@@langfusePrompt:name=a|version=1@@@"},
        {"type": "placeholder", "name": "history"},
        {"role": "user", "content": "x @@@langfusePrompt:name=b|label=l@@@"}
    ]);
    let names: Vec<_> = parse_dependencies(&content)
        .into_iter()
        .map(|dependency| dependency.name)
        .collect();
    assert_eq!(names, ["a", "b"]);
}

#[tokio::test]
async fn references_resolve_recursively_and_report_the_graph() {
    let store = Fixed {
        prompts: vec![
            prompt("leaf", 1, json!("be \"brief\""), &["production"]),
            prompt(
                "mid",
                2,
                json!("Style: @@@langfusePrompt:name=leaf|label=production@@@."),
                &[],
            ),
            prompt(
                "root",
                1,
                json!([{"role": "system", "content": "@@@langfusePrompt:name=mid|version=2@@@ {{q}}"}]),
                &["production"],
            ),
        ],
    };
    let root = store.prompts[2].clone();
    let resolved = resolve(&store, &root).await.unwrap();
    assert_eq!(
        resolved.prompt,
        json!([{"role": "system", "content": "Style: be \"brief\". {{q}}"}])
    );
    assert_eq!(
        resolved.graph,
        Some(json!({
            "root": {"id": "root-v1", "name": "root", "version": 1},
            "dependencies": {
                "root-v1": [{"id": "mid-v2", "name": "mid", "version": 2}],
                "mid-v2": [{"id": "leaf-v1", "name": "leaf", "version": 1}]
            }
        }))
    );

    let plain = store.prompts[0].clone();
    let resolved = resolve(&store, &plain).await.unwrap();
    assert_eq!(
        resolved,
        Resolved {
            prompt: plain.prompt,
            graph: None
        }
    );
}

#[tokio::test]
async fn cycles_missing_chat_and_deep_references_are_refused() {
    let store = Fixed {
        prompts: vec![
            prompt("a", 1, json!("@@@langfusePrompt:name=b|version=1@@@"), &[]),
            prompt("b", 1, json!("@@@langfusePrompt:name=a|version=1@@@"), &[]),
            prompt(
                "self",
                2,
                json!("@@@langfusePrompt:name=self|version=1@@@"),
                &[],
            ),
            prompt("self", 1, json!("old"), &[]),
            prompt("chat", 1, json!([]), &["production"]),
            prompt(
                "uses-chat",
                1,
                json!("@@@langfusePrompt:name=chat|label=production@@@"),
                &[],
            ),
            prompt(
                "missing",
                1,
                json!("@@@langfusePrompt:name=nope|label=production@@@"),
                &[],
            ),
        ],
    };
    let error = resolve(&store, &store.prompts[0]).await.unwrap_err();
    assert!(
        matches!(error, ResolveError::Cycle { ref name, .. } if name == "a"),
        "{error}"
    );
    let error = resolve(&store, &store.prompts[2]).await.unwrap_err();
    assert!(matches!(error, ResolveError::Cycle { ref name, version: 1 } if name == "self"));
    let error = resolve(&store, &store.prompts[5]).await.unwrap_err();
    assert!(matches!(error, ResolveError::NotText(_)), "{error}");
    let error = resolve(&store, &store.prompts[6]).await.unwrap_err();
    assert_eq!(
        error.to_string(),
        "prompt dependency not found: 'nope' label 'production'"
    );

    // n0 → n1 → … → n6: from n2 a resolution visits five levels (the limit), from n1 six.
    let chain: Vec<Prompt> = (0..7)
        .map(|index| {
            let content = if index == 6 {
                json!("end")
            } else {
                json!(format!(
                    "@@@langfusePrompt:name=n{}|version=1@@@",
                    index + 1
                ))
            };
            prompt(&format!("n{index}"), 1, content, &[])
        })
        .collect();
    let store = Fixed { prompts: chain };
    let error = resolve(&store, &store.prompts[1]).await.unwrap_err();
    assert!(matches!(error, ResolveError::TooDeep), "{error}");
    let resolved = resolve(&store, &store.prompts[2]).await.unwrap();
    assert_eq!(resolved.prompt, json!("end"));
}
