//! Which records an evaluator judges: target kind and filter, checked on one record.
//!
//! The scheduler sees partial records, so a filter field is matched only against what the
//! record itself carries: a trace whose name and tags arrive in different records matches on
//! the first record that carries both (ADR 0013).

use std::collections::BTreeMap;

use serde_json::Value;

use super::evaluator::{EvalFilter, EvalTarget, Evaluator};
use super::job::TargetRef;
use crate::datasets::ExperimentSpan;
use crate::langfuse::DEFAULT_ENVIRONMENT;
use crate::model::{ObservationRecord, Record, TraceRecord};

/// Returns the target `record` gives `evaluator`, or `None` when it does not match.
pub fn match_record(evaluator: &Evaluator, record: &Record) -> Option<TargetRef> {
    if record.project_id() != evaluator.project_id {
        return None;
    }
    match (&evaluator.target, record) {
        (EvalTarget::Trace, Record::Trace(trace)) => {
            trace_matches(&evaluator.filter, trace).then(|| TargetRef::Trace {
                trace_id: trace.id.clone(),
            })
        }
        (
            EvalTarget::Observation {
                observation_type,
                name,
            },
            Record::Observation(observation),
        ) => {
            if observation_type.is_some() && observation.observation_type != *observation_type {
                return None;
            }
            if name.is_some() && observation.name != *name {
                return None;
            }
            observation_matches(&evaluator.filter, observation).then(|| TargetRef::Observation {
                trace_id: observation.trace_id.clone(),
                observation_id: observation.id.clone(),
            })
        }
        (EvalTarget::DatasetRunItem, Record::Observation(observation)) => {
            let span = ExperimentSpan::from_metadata(&observation.metadata)?;
            let is_task_span = match &span.root_observation_id {
                Some(root) => *root == observation.id,
                None => observation.parent_observation_id.is_none(),
            };
            (is_task_span && observation_matches(&evaluator.filter, observation)).then(|| {
                TargetRef::DatasetRunItem {
                    trace_id: observation.trace_id.clone(),
                    observation_id: observation.id.clone(),
                    dataset_item_id: span.dataset_item_id,
                    dataset_run_id: span.run_id,
                }
            })
        }
        _ => None,
    }
}

fn trace_matches(filter: &EvalFilter, trace: &TraceRecord) -> bool {
    equals(&filter.name, &trace.name)
        && equals(&filter.user_id, &trace.user_id)
        && equals(&filter.session_id, &trace.session_id)
        && filter.tags.iter().all(|tag| trace.tags.contains(tag))
        && environment_matches(&filter.environments, trace.environment.as_deref())
        && metadata_matches(&filter.metadata, &trace.metadata)
}

fn observation_matches(filter: &EvalFilter, observation: &ObservationRecord) -> bool {
    equals(&filter.name, &observation.name)
        && equals(&filter.model, &observation.model)
        && (filter.level.is_none() || filter.level == observation.level)
        && environment_matches(&filter.environments, observation.environment.as_deref())
        && metadata_matches(&filter.metadata, &observation.metadata)
}

fn equals(wanted: &Option<String>, actual: &Option<String>) -> bool {
    wanted.is_none() || wanted == actual
}

fn environment_matches(wanted: &[String], actual: Option<&str>) -> bool {
    let actual = actual.unwrap_or(DEFAULT_ENVIRONMENT);
    wanted.is_empty() || wanted.iter().any(|environment| environment == actual)
}

fn metadata_matches(wanted: &BTreeMap<String, Value>, actual: &BTreeMap<String, Value>) -> bool {
    wanted.iter().all(|(key, value)| {
        actual
            .get(key)
            .is_some_and(|found| metadata_value_equals(value, found))
    })
}

/// A string filter value matches the same text whether the record holds it as a JSON string
/// or as another JSON value (`"3"` matches `3`), since OTLP attributes often stringify — and
/// the Langfuse SDK sends metadata values JSON-encoded, so `"enterprise"` arrives as
/// `"\"enterprise\""`: either side is also compared in its decoded form.
fn metadata_value_equals(wanted: &Value, found: &Value) -> bool {
    if wanted == found {
        return true;
    }
    let decoded = |value: &Value| match value {
        Value::String(text) => serde_json::from_str::<Value>(text).ok(),
        _ => None,
    };
    let (wanted_decoded, found_decoded) = (decoded(wanted), decoded(found));
    found_decoded.as_ref() == Some(wanted)
        || wanted_decoded.as_ref() == Some(found)
        || (wanted_decoded.is_some() && wanted_decoded == found_decoded)
}
