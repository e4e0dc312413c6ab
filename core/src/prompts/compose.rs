//! Prompt composition: a prompt may embed a text prompt with a reference tag,
//! `@@@langfusePrompt:name=NAME|label=LABEL@@@` or `@@@langfusePrompt:name=NAME|version=N@@@`,
//! which reading replaces with the referenced prompt's (itself resolved) text.
//!
//! Tags are recognised as Langfuse does: `name=` first, exactly one more part, `version=` (a
//! positive integer) or `label=`; anything else stays plain text. Resolution visits at most
//! `MAX_NESTING_DEPTH` levels of prompts, refuses cycles (including a reference from a prompt
//! to another version of its own name) and references to chat prompts, and reports the
//! resolution graph in Langfuse's shape: `{"root": {id, name, version}, "dependencies":
//! {parentId: [{id, name, version}]}}`.

use std::collections::BTreeMap;

use futures::future::BoxFuture;
use serde_json::{Value, json};

use super::{Prompt, PromptSelector, PromptStore, PromptType, get_prompt};
use crate::error::BackendError;

/// Levels of prompts one resolution may visit, the prompt being read included (Langfuse's
/// limit): a reference chain may be four links long.
pub const MAX_NESTING_DEPTH: usize = 5;

const TAG_START: &str = "@@@langfusePrompt:";
const TAG_END: &str = "@@@";

/// Which version a reference points at.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum DependencyTarget {
    /// A fixed version number.
    Version(i64),
    /// Whichever version carries the label when the prompt is read.
    Label(String),
}

/// One reference tag found in a prompt.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PromptDependency {
    /// The referenced prompt's name.
    pub name: String,
    pub target: DependencyTarget,
    /// The tag exactly as written, which resolution replaces.
    pub tag: String,
}

impl PromptDependency {
    /// Returns the selector of the referenced version.
    pub fn selector(&self) -> PromptSelector {
        match &self.target {
            DependencyTarget::Version(version) => PromptSelector::Version(*version),
            DependencyTarget::Label(label) => PromptSelector::Label(label.clone()),
        }
    }

    fn describe(&self) -> String {
        match &self.target {
            DependencyTarget::Version(version) => format!("'{}' version {version}", self.name),
            DependencyTarget::Label(label) => format!("'{}' label '{label}'", self.name),
        }
    }
}

/// Parses the inside of one tag (`name=a|label=b`); `None` when it is not a reference.
fn parse_tag(tag: &str, inner: &str) -> Option<PromptDependency> {
    let (first, second) = inner.split_once('|')?;
    if second.contains('|') {
        return None;
    }
    let name = first.strip_prefix("name=")?;
    if name.is_empty() {
        return None;
    }
    let (key, value) = second.split_once('=')?;
    let target = match key {
        "version" => DependencyTarget::Version(value.parse().ok().filter(|v: &i64| *v > 0)?),
        "label" if !value.is_empty() => DependencyTarget::Label(value.to_owned()),
        _ => return None,
    };
    Some(PromptDependency {
        name: name.to_owned(),
        target,
        tag: tag.to_owned(),
    })
}

/// Appends the references of one string to `found`, skipping duplicates.
fn collect_from_text(text: &str, found: &mut Vec<PromptDependency>) {
    let mut rest = text;
    while let Some(start) = rest.find(TAG_START) {
        let after_start = &rest[start + TAG_START.len()..];
        let Some(end) = after_start.find(TAG_END) else {
            return;
        };
        let tag_len = TAG_START.len() + end + TAG_END.len();
        let tag = &rest[start..start + tag_len];
        if let Some(dependency) = parse_tag(tag, &after_start[..end])
            && !found.contains(&dependency)
        {
            found.push(dependency);
        }
        rest = &rest[start + tag_len..];
    }
}

fn collect_from_value(value: &Value, found: &mut Vec<PromptDependency>) {
    match value {
        Value::String(text) => collect_from_text(text, found),
        Value::Array(items) => items
            .iter()
            .for_each(|item| collect_from_value(item, found)),
        Value::Object(members) => members
            .values()
            .for_each(|member| collect_from_value(member, found)),
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}

/// Returns the references in a prompt's content (every string of it), in order, without
/// duplicates.
pub fn parse_dependencies(prompt: &Value) -> Vec<PromptDependency> {
    let mut found = Vec::new();
    collect_from_value(prompt, &mut found);
    found
}

/// Replaces every tag of `replacements` in every string of `value`.
fn replace_tags(value: &Value, replacements: &[(String, String)]) -> Value {
    match value {
        Value::String(text) => {
            let mut text = text.clone();
            for (tag, replacement) in replacements {
                if text.contains(tag.as_str()) {
                    text = text.replace(tag.as_str(), replacement);
                }
            }
            Value::String(text)
        }
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|item| replace_tags(item, replacements))
                .collect(),
        ),
        Value::Object(members) => Value::Object(
            members
                .iter()
                .map(|(key, member)| (key.clone(), replace_tags(member, replacements)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// Why a prompt's references cannot be resolved.
#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    /// A referenced version does not exist.
    #[error("prompt dependency not found: {0}")]
    NotFound(String),
    /// A referenced version is a chat prompt; only text can be embedded.
    #[error("prompt dependency {0} is a chat prompt; only text prompts can be referenced")]
    NotText(String),
    /// References form a cycle.
    #[error("circular prompt dependency involving prompt '{name}' version {version}")]
    Cycle { name: String, version: i64 },
    /// References nest deeper than `MAX_NESTING_DEPTH`.
    #[error("prompt dependencies nest deeper than {MAX_NESTING_DEPTH} levels")]
    TooDeep,
    /// The store failed.
    #[error(transparent)]
    Backend(#[from] BackendError),
}

/// A prompt's content with every reference replaced.
#[derive(Debug, Clone, PartialEq)]
pub struct Resolved {
    /// The content with references replaced (the stored content when there are none).
    pub prompt: Value,
    /// The resolution graph, `None` when the prompt references nothing.
    pub graph: Option<Value>,
}

/// State of one resolution: the root, the ids on the current path, the graph so far.
struct Resolver<'a> {
    store: &'a dyn PromptStore,
    root_id: &'a str,
    root_name: &'a str,
    path: Vec<String>,
    graph: BTreeMap<String, Vec<Value>>,
}

impl Resolver<'_> {
    fn resolve<'s>(
        &'s mut self,
        current: &'s Prompt,
        level: usize,
    ) -> BoxFuture<'s, Result<Value, ResolveError>> {
        Box::pin(async move {
            if level >= MAX_NESTING_DEPTH {
                return Err(ResolveError::TooDeep);
            }
            let another_version_of_root =
                current.name == self.root_name && current.id != self.root_id;
            if another_version_of_root || self.path.contains(&current.id) {
                return Err(ResolveError::Cycle {
                    name: current.name.clone(),
                    version: current.version,
                });
            }
            let dependencies = parse_dependencies(&current.prompt);
            if dependencies.is_empty() {
                return Ok(current.prompt.clone());
            }
            self.path.push(current.id.clone());
            let mut replacements = Vec::with_capacity(dependencies.len());
            for dependency in &dependencies {
                let child = get_prompt(
                    self.store,
                    &current.project_id,
                    &dependency.name,
                    &dependency.selector(),
                )
                .await?
                .ok_or_else(|| ResolveError::NotFound(dependency.describe()))?;
                if child.prompt_type != PromptType::Text {
                    return Err(ResolveError::NotText(dependency.describe()));
                }
                self.graph
                    .entry(current.id.clone())
                    .or_default()
                    .push(json!({"id": child.id, "name": child.name, "version": child.version}));
                let resolved_child = self.resolve(&child, level + 1).await?;
                let text = match resolved_child {
                    Value::String(text) => text,
                    other => other.to_string(),
                };
                replacements.push((dependency.tag.clone(), text));
            }
            self.path.pop();
            Ok(replace_tags(&current.prompt, &replacements))
        })
    }
}

/// Resolves the references of `prompt` through `store` (in `prompt.project_id`).
pub async fn resolve(store: &dyn PromptStore, prompt: &Prompt) -> Result<Resolved, ResolveError> {
    let mut resolver = Resolver {
        store,
        root_id: &prompt.id,
        root_name: &prompt.name,
        path: Vec::new(),
        graph: BTreeMap::new(),
    };
    let resolved = resolver.resolve(prompt, 0).await?;
    let graph = (!resolver.graph.is_empty()).then(|| {
        json!({
            "root": {"id": prompt.id, "name": prompt.name, "version": prompt.version},
            "dependencies": resolver.graph,
        })
    });
    Ok(Resolved {
        prompt: resolved,
        graph,
    })
}

#[cfg(test)]
mod tests;
