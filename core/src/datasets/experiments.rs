//! Experiment runs as the Langfuse v5 SDK records them: span attributes, stable run ids, and
//! the union of stored and span-derived runs that the read API shows.

use std::collections::{BTreeMap, HashSet};

use serde_json::Value;
use sha2::{Digest, Sha256};

use super::{DatasetRun, DatasetRunItem, DatasetRunWithItems};

/// The observation metadata keys that carry an experiment (WIRE-PROTOCOL.md §8). The enrich
/// stage keeps the span attributes of these names, unchanged, in the observation's metadata.
pub mod experiment_keys {
    /// The run id (`experiment_run_id`, or random when the SDK could not resolve the project).
    pub const RUN_ID: &str = "langfuse.experiment.id";
    /// The run name.
    pub const RUN_NAME: &str = "langfuse.experiment.name";
    /// The run description (set on the item's root and task spans only).
    pub const DESCRIPTION: &str = "langfuse.experiment.description";
    /// The run metadata, as JSON text.
    pub const METADATA: &str = "langfuse.experiment.metadata";
    /// The dataset id; absent for experiments over local data, which are no dataset runs.
    pub const DATASET_ID: &str = "langfuse.experiment.dataset.id";
    /// The dataset item id.
    pub const ITEM_ID: &str = "langfuse.experiment.item.id";
    /// The id of the item's task span, the run item's observation.
    pub const ROOT_OBSERVATION_ID: &str = "langfuse.experiment.item.root_observation_id";
}

/// The experiment an observation belongs to, read from its metadata. The SDK puts these keys
/// on every span of an item's trace, so many spans name the same run item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExperimentSpan {
    /// The run id.
    pub run_id: String,
    /// The run name.
    pub run_name: String,
    /// The dataset.
    pub dataset_id: String,
    /// The dataset item.
    pub dataset_item_id: String,
    /// The task span of the item, if named.
    pub root_observation_id: Option<String>,
    /// The run description, if this span carries it.
    pub description: Option<String>,
    /// The run metadata as sent (JSON text), if this span carries it.
    pub metadata: Option<String>,
}

impl ExperimentSpan {
    /// Returns the dataset experiment named by `metadata`, or `None` when a run id, run name,
    /// dataset id or item id is missing or not a string.
    pub fn from_metadata(metadata: &BTreeMap<String, Value>) -> Option<Self> {
        let text = |key: &str| match metadata.get(key) {
            Some(Value::String(text)) if !text.is_empty() => Some(text.clone()),
            _ => None,
        };
        let run_metadata = match metadata.get(experiment_keys::METADATA) {
            None | Some(Value::Null) => None,
            Some(Value::String(text)) => Some(text.clone()),
            Some(other) => Some(other.to_string()),
        };
        Some(Self {
            run_id: text(experiment_keys::RUN_ID)?,
            run_name: text(experiment_keys::RUN_NAME)?,
            dataset_id: text(experiment_keys::DATASET_ID)?,
            dataset_item_id: text(experiment_keys::ITEM_ID)?,
            root_observation_id: text(experiment_keys::ROOT_OBSERVATION_ID),
            description: text(experiment_keys::DESCRIPTION),
            metadata: run_metadata,
        })
    }
}

/// Returns the first `hex_chars` hex digits of the SHA-256 of `parts` as a compact JSON array.
fn hashed_id(parts: &[&str], hex_chars: usize) -> String {
    // serde_json escapes exactly as Python's `json.dumps(..., ensure_ascii=False)` and JS's
    // `JSON.stringify` do, which the SDK relies on for a byte-identical digest.
    let payload = serde_json::to_string(parts).unwrap_or_default();
    let mut digest = hex::encode(Sha256::digest(payload.as_bytes()));
    digest.truncate(hex_chars);
    digest
}

/// Returns the stable id of the run `run_name` of a dataset: the id the v5 SDK computes for its
/// experiment runs (`sha256(["langfuse-experiment-v1", project, dataset, run])[:16]`), so a run
/// created through `POST /dataset-run-items` and one recorded in spans share one id.
pub fn experiment_run_id(project_id: &str, dataset_id: &str, run_name: &str) -> String {
    hashed_id(
        &["langfuse-experiment-v1", project_id, dataset_id, run_name],
        16,
    )
}

/// Returns the id of a run item found in spans: stable for (run, item, trace), so reads repeat.
pub fn derived_run_item_id(run_id: &str, dataset_item_id: &str, trace_id: &str) -> String {
    hashed_id(
        &["periscope-run-item-v1", run_id, dataset_item_id, trace_id],
        32,
    )
}

/// Returns `stored` with what only `derived` knows filled in: the earlier creation, the later
/// update, and a description or metadata the stored run lacks.
fn merge_run(stored: DatasetRun, derived: &DatasetRun) -> DatasetRun {
    DatasetRun {
        description: stored.description.or_else(|| derived.description.clone()),
        metadata: stored.metadata.or_else(|| derived.metadata.clone()),
        created_at: stored.created_at.min(derived.created_at),
        updated_at: stored.updated_at.max(derived.updated_at),
        ..stored
    }
}

/// Returns the union of the stored runs of a dataset and those found in spans, one per name
/// (the stored run wins), newest first.
pub fn merge_runs(stored: Vec<DatasetRun>, derived: Vec<DatasetRun>) -> Vec<DatasetRun> {
    let mut by_name: BTreeMap<String, DatasetRun> = stored
        .into_iter()
        .map(|run| (run.name.clone(), run))
        .collect();
    for run in derived {
        let merged = match by_name.remove(&run.name) {
            Some(stored) => merge_run(stored, &run),
            None => run,
        };
        by_name.insert(merged.name.clone(), merged);
    }
    let mut runs: Vec<DatasetRun> = by_name.into_values().collect();
    runs.sort_by(|a, b| {
        b.created_at
            .cmp(&a.created_at)
            .then_with(|| a.name.cmp(&b.name))
    });
    runs
}

/// Returns the union of a stored run and the same-named run found in spans: the stored run's
/// identity and every item of both, one per (dataset item, trace), oldest first.
pub fn merge_run_with_items(
    stored: Option<DatasetRunWithItems>,
    derived: Option<DatasetRunWithItems>,
) -> Option<DatasetRunWithItems> {
    let (mut stored, derived) = match (stored, derived) {
        (None, None) => return None,
        (Some(only), None) | (None, Some(only)) => return Some(sorted(only)),
        (Some(stored), Some(derived)) => (stored, derived),
    };
    stored.run = merge_run(stored.run, &derived.run);
    let seen: HashSet<(String, String)> = stored
        .items
        .iter()
        .map(|item| (item.dataset_item_id.clone(), item.trace_id.clone()))
        .collect();
    for item in derived.items {
        if seen.contains(&(item.dataset_item_id.clone(), item.trace_id.clone())) {
            continue;
        }
        // A span-derived run may carry another id (the SDK's random fallback): present its
        // items under the run they are shown in.
        stored.items.push(DatasetRunItem {
            dataset_run_id: stored.run.id.clone(),
            dataset_run_name: stored.run.name.clone(),
            ..item
        });
    }
    Some(sorted(stored))
}

fn sorted(mut run: DatasetRunWithItems) -> DatasetRunWithItems {
    run.items.sort_by(|a, b| {
        a.created_at
            .cmp(&b.created_at)
            .then_with(|| a.id.cmp(&b.id))
    });
    run
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{DateTime, TimeZone, Utc};
    use serde_json::json;

    fn at(second: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 27, 1, 0, second).unwrap()
    }

    fn run(id: &str, name: &str, created: u32, updated: u32) -> DatasetRun {
        DatasetRun {
            id: id.into(),
            dataset_id: "ds".into(),
            name: name.into(),
            description: None,
            metadata: None,
            created_at: at(created),
            updated_at: at(updated),
        }
    }

    fn item(run_id: &str, item_id: &str, trace_id: &str, created: u32) -> DatasetRunItem {
        DatasetRunItem {
            id: derived_run_item_id(run_id, item_id, trace_id),
            dataset_run_id: run_id.into(),
            dataset_run_name: "r".into(),
            dataset_item_id: item_id.into(),
            trace_id: trace_id.into(),
            observation_id: None,
            created_at: at(created),
            updated_at: at(created),
        }
    }

    #[test]
    fn run_ids_match_the_sdk_digest() {
        // Both expected values were computed with the SDK's own expression in Python.
        assert_eq!(
            experiment_run_id("proj-1", "ds-qa-set", "capitals-2026-11-27"),
            "628207386717b794"
        );
        assert_eq!(
            experiment_run_id("p", "d", "Lauf – ü\n\"x\"\u{1f}"),
            "f9e827fb762b96f5"
        );
        let id = derived_run_item_id("run", "item", "trace");
        assert_eq!(id.len(), 32);
        assert_eq!(id, derived_run_item_id("run", "item", "trace"));
        assert_ne!(id, derived_run_item_id("run", "item", "trace-2"));
    }

    #[test]
    fn experiment_spans_need_run_dataset_and_item() {
        let metadata: BTreeMap<String, Value> = [
            (experiment_keys::RUN_ID, json!("5f0c2a91d3b7e84a")),
            (experiment_keys::RUN_NAME, json!("capitals")),
            (experiment_keys::DATASET_ID, json!("ds-1")),
            (experiment_keys::ITEM_ID, json!("item-1")),
            (
                experiment_keys::ROOT_OBSERVATION_ID,
                json!("7a7a7a7a7a7a7a7a"),
            ),
            (experiment_keys::METADATA, json!("{\"model\": \"lookup\"}")),
            ("experiment_name", json!("\"capitals\"")),
        ]
        .into_iter()
        .map(|(key, value)| (key.to_owned(), value))
        .collect();
        let span = ExperimentSpan::from_metadata(&metadata).unwrap();
        assert_eq!(
            span,
            ExperimentSpan {
                run_id: "5f0c2a91d3b7e84a".into(),
                run_name: "capitals".into(),
                dataset_id: "ds-1".into(),
                dataset_item_id: "item-1".into(),
                root_observation_id: Some("7a7a7a7a7a7a7a7a".into()),
                description: None,
                metadata: Some("{\"model\": \"lookup\"}".into()),
            }
        );
        for key in [
            experiment_keys::RUN_ID,
            experiment_keys::RUN_NAME,
            experiment_keys::DATASET_ID,
            experiment_keys::ITEM_ID,
        ] {
            let mut partial = metadata.clone();
            partial.remove(key);
            assert_eq!(ExperimentSpan::from_metadata(&partial), None, "{key}");
            partial.insert(key.to_owned(), json!(7));
            assert_eq!(ExperimentSpan::from_metadata(&partial), None, "{key}");
        }
    }

    #[test]
    fn runs_merge_by_name_and_the_stored_run_wins() {
        let mut stored = run("stored-id", "shared", 10, 20);
        stored.description = Some("stored".into());
        let mut derived_shared = run("span-id", "shared", 5, 30);
        derived_shared.description = Some("span".into());
        derived_shared.metadata = Some(json!({"model": "x"}));
        let merged = merge_runs(
            vec![stored, run("old", "only-stored", 1, 1)],
            vec![derived_shared, run("new", "only-spans", 40, 40)],
        );
        let names: Vec<&str> = merged.iter().map(|run| run.name.as_str()).collect();
        assert_eq!(names, ["only-spans", "shared", "only-stored"]);
        let shared = &merged[1];
        assert_eq!(shared.id, "stored-id");
        assert_eq!(shared.description.as_deref(), Some("stored"));
        assert_eq!(shared.metadata, Some(json!({"model": "x"})));
        assert_eq!((shared.created_at, shared.updated_at), (at(5), at(30)));
    }

    #[test]
    fn run_items_are_the_union_without_duplicates() {
        assert_eq!(merge_run_with_items(None, None), None);
        let stored = DatasetRunWithItems {
            run: run("stored-id", "r", 10, 10),
            items: vec![item("stored-id", "i1", "t1", 12)],
        };
        let derived = DatasetRunWithItems {
            run: run("span-id", "r", 11, 11),
            items: vec![
                item("span-id", "i2", "t2", 3),
                item("span-id", "i1", "t1", 11),
            ],
        };
        let merged = merge_run_with_items(Some(stored.clone()), Some(derived.clone())).unwrap();
        assert_eq!(merged.run.id, "stored-id");
        let keys: Vec<(&str, &str, &str)> = merged
            .items
            .iter()
            .map(|item| {
                (
                    item.dataset_item_id.as_str(),
                    item.trace_id.as_str(),
                    item.dataset_run_id.as_str(),
                )
            })
            .collect();
        assert_eq!(keys, [("i2", "t2", "stored-id"), ("i1", "t1", "stored-id")]);
        // One side alone comes back as it is, items oldest first.
        let only = merge_run_with_items(None, Some(derived)).unwrap();
        assert_eq!(only.run.id, "span-id");
        assert_eq!(only.items[0].dataset_item_id, "i2");
        assert_eq!(
            merge_run_with_items(Some(stored.clone()), None),
            Some(stored)
        );
    }
}
