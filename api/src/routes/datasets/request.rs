//! Parsing and validation of the dataset request bodies: `CreateDatasetRequest`,
//! `CreateDatasetItemRequest` and `CreateDatasetRunItemRequest` (Langfuse fern definitions).
//! Absent and `null` fields are the same; unknown fields are ignored, as Langfuse does. Every
//! error names the offending field.

use chrono::{DateTime, Utc};
use periscope_core::datasets::{DatasetItemStatus, DatasetItemUpsert, DatasetUpsert};
use serde_json::{Map, Value};

use crate::error::{ApiError, Result};
use crate::params::parse_datetime;

/// Longest item id Langfuse accepts.
const MAX_ITEM_ID_CHARS: usize = 255;

fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::InvalidBody(message.into())
}

/// Returns the body as a JSON object.
fn object(body: &[u8]) -> Result<Map<String, Value>> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|error| invalid(format!("body is not valid JSON: {error}")))?;
    match value {
        Value::Object(object) => Ok(object),
        _ => Err(invalid("body must be a JSON object")),
    }
}

/// Returns a field's value; absent and `null` are the same.
fn field(object: &Map<String, Value>, name: &str) -> Option<Value> {
    object.get(name).filter(|value| !value.is_null()).cloned()
}

fn optional_string(object: &Map<String, Value>, name: &str) -> Result<Option<String>> {
    match object.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => Ok(Some(text.clone())),
        Some(_) => Err(invalid(format!("{name} must be a string"))),
    }
}

fn required_string(object: &Map<String, Value>, name: &str) -> Result<String> {
    optional_string(object, name)?
        .filter(|text| !text.trim().is_empty())
        .ok_or_else(|| invalid(format!("{name} is required and must be a non-empty string")))
}

/// A JSON Schema field: an object (the SDK reads it back as a dict).
fn schema(object: &Map<String, Value>, name: &str) -> Result<Option<Value>> {
    match field(object, name) {
        None => Ok(None),
        Some(schema @ Value::Object(_)) => Ok(Some(schema)),
        Some(_) => Err(invalid(format!(
            "{name} must be a JSON object (a JSON Schema)"
        ))),
    }
}

/// Parses `POST /v2/datasets` (and v1 `POST /datasets`); `id` is used if the dataset is new.
pub(crate) fn parse_create_dataset(body: &[u8], id: String) -> Result<DatasetUpsert> {
    let object = object(body)?;
    Ok(DatasetUpsert {
        id,
        name: required_string(&object, "name")?,
        description: optional_string(&object, "description")?,
        metadata: field(&object, "metadata"),
        input_schema: schema(&object, "inputSchema")?,
        expected_output_schema: schema(&object, "expectedOutputSchema")?,
    })
}

/// A parsed `POST /dataset-items`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct CreateItem {
    /// The dataset the item goes into.
    pub(crate) dataset_name: String,
    /// The upsert, with the client's id or `generated_id`.
    pub(crate) item: DatasetItemUpsert,
}

/// Parses `POST /dataset-items`; `generated_id` is used when the body names no `id`.
pub(crate) fn parse_create_item(body: &[u8], generated_id: String) -> Result<CreateItem> {
    let object = object(body)?;
    let id = match optional_string(&object, "id")? {
        None => generated_id,
        Some(id) if id.trim().is_empty() => {
            return Err(invalid("id must be a non-empty string when given"));
        }
        Some(id) if id.chars().count() > MAX_ITEM_ID_CHARS => {
            return Err(invalid(format!(
                "id must be at most {MAX_ITEM_ID_CHARS} characters"
            )));
        }
        Some(id) => id,
    };
    // A `null` status keeps a stored item's status; a new item starts ACTIVE.
    let status = optional_string(&object, "status")?
        .map(|status| {
            DatasetItemStatus::parse(&status).ok_or_else(|| {
                invalid(format!("status must be ACTIVE or ARCHIVED, got {status:?}"))
            })
        })
        .transpose()?;
    Ok(CreateItem {
        dataset_name: required_string(&object, "datasetName")?,
        item: DatasetItemUpsert {
            id,
            input: field(&object, "input"),
            expected_output: field(&object, "expectedOutput"),
            metadata: field(&object, "metadata"),
            source_trace_id: optional_string(&object, "sourceTraceId")?,
            source_observation_id: optional_string(&object, "sourceObservationId")?,
            status,
        },
    })
}

/// A parsed `POST /dataset-run-items`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct CreateRunItem {
    pub(crate) run_name: String,
    pub(crate) run_description: Option<String>,
    pub(crate) metadata: Option<Value>,
    pub(crate) dataset_item_id: String,
    /// Older SDKs send only `observationId`; the handler then looks up its trace.
    pub(crate) trace_id: Option<String>,
    pub(crate) observation_id: Option<String>,
    pub(crate) created_at: Option<DateTime<Utc>>,
}

/// Parses `POST /dataset-run-items`.
pub(crate) fn parse_create_run_item(body: &[u8]) -> Result<CreateRunItem> {
    let object = object(body)?;
    if field(&object, "datasetVersion").is_some() {
        // Items are updated in place, so no earlier version can be resolved.
        return Err(invalid(
            "datasetVersion is not supported by this server (dataset items are not versioned)",
        ));
    }
    let created_at = optional_string(&object, "createdAt")?
        .map(|text| parse_datetime(&text).map_err(|reason| invalid(format!("createdAt: {reason}"))))
        .transpose()?;
    let non_empty = |name: &str| -> Result<Option<String>> {
        Ok(optional_string(&object, name)?.filter(|text| !text.trim().is_empty()))
    };
    Ok(CreateRunItem {
        run_name: required_string(&object, "runName")?,
        run_description: optional_string(&object, "runDescription")?,
        metadata: field(&object, "metadata"),
        dataset_item_id: required_string(&object, "datasetItemId")?,
        trace_id: non_empty("traceId")?,
        observation_id: non_empty("observationId")?,
        created_at,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use serde_json::json;

    fn bytes(value: Value) -> Vec<u8> {
        value.to_string().into_bytes()
    }

    #[test]
    fn the_sdk_bodies_parse() {
        let dataset = parse_create_dataset(
            &bytes(json!({"name": "qa-set", "description": "capital cities",
                "metadata": {"owner": "ml-team"}, "inputSchema": null,
                "expectedOutputSchema": {"type": "object"}})),
            "ds-1".into(),
        )
        .unwrap();
        assert_eq!(
            dataset,
            DatasetUpsert {
                id: "ds-1".into(),
                name: "qa-set".into(),
                description: Some("capital cities".into()),
                metadata: Some(json!({"owner": "ml-team"})),
                input_schema: None,
                expected_output_schema: Some(json!({"type": "object"})),
            }
        );
        let item = parse_create_item(
            &bytes(
                json!({"datasetName": "qa-set", "input": {"country": "Italy"},
                "expectedOutput": {"capital": "Rome"}, "metadata": null, "sourceTraceId": null,
                "sourceObservationId": null, "id": "3d124bea", "status": null}),
            ),
            "generated".into(),
        )
        .unwrap();
        assert_eq!(item.dataset_name, "qa-set");
        assert_eq!(
            item.item,
            DatasetItemUpsert {
                id: "3d124bea".into(),
                input: Some(json!({"country": "Italy"})),
                expected_output: Some(json!({"capital": "Rome"})),
                ..DatasetItemUpsert::default()
            }
        );
        let run_item = parse_create_run_item(&bytes(json!({"runName": "r1",
            "datasetItemId": "3d124bea", "traceId": "t1", "observationId": null,
            "metadata": {"model": "x"}, "createdAt": "2026-11-27T01:40:51Z"})))
        .unwrap();
        assert_eq!(
            run_item,
            CreateRunItem {
                run_name: "r1".into(),
                run_description: None,
                metadata: Some(json!({"model": "x"})),
                dataset_item_id: "3d124bea".into(),
                trace_id: Some("t1".into()),
                observation_id: None,
                created_at: Some(Utc.with_ymd_and_hms(2026, 11, 27, 1, 40, 51).unwrap()),
            }
        );
    }

    #[test]
    fn an_item_without_id_gets_the_generated_one_and_statuses_parse() {
        let item = parse_create_item(
            &bytes(json!({"datasetName": "d", "status": "archived"})),
            "generated".into(),
        )
        .unwrap();
        assert_eq!(item.item.id, "generated");
        assert_eq!(item.item.status, Some(DatasetItemStatus::Archived));
    }

    #[test]
    fn errors_name_the_field() {
        let item = |body: Value| parse_create_item(&bytes(body), "g".into()).unwrap_err();
        let dataset = |body: Value| parse_create_dataset(&bytes(body), "g".into()).unwrap_err();
        let run_item = |body: Value| parse_create_run_item(&bytes(body)).unwrap_err();
        let cases = [
            (dataset(json!({})), "name is required"),
            (dataset(json!({"name": 7})), "name must be a string"),
            (
                dataset(json!({"name": "d", "description": []})),
                "description must be a string",
            ),
            (
                dataset(json!({"name": "d", "inputSchema": "x"})),
                "inputSchema must be a JSON object",
            ),
            (dataset(json!([1])), "body must be a JSON object"),
            (item(json!({"input": 1})), "datasetName is required"),
            (
                item(json!({"datasetName": "d", "id": 5})),
                "id must be a string",
            ),
            (
                item(json!({"datasetName": "d", "id": ""})),
                "id must be a non-empty string",
            ),
            (
                item(json!({"datasetName": "d", "id": "x".repeat(256)})),
                "id must be at most 255 characters",
            ),
            (
                item(json!({"datasetName": "d", "status": "DELETED"})),
                "status must be ACTIVE or ARCHIVED",
            ),
            (
                item(json!({"datasetName": "d", "sourceTraceId": 1})),
                "sourceTraceId must be a string",
            ),
            (
                run_item(json!({"datasetItemId": "i"})),
                "runName is required",
            ),
            (
                run_item(json!({"runName": "r"})),
                "datasetItemId is required",
            ),
            (
                run_item(json!({"runName": "r", "datasetItemId": 3})),
                "datasetItemId must be a string",
            ),
            (
                run_item(json!({"runName": "r", "datasetItemId": "i", "traceId": 1})),
                "traceId must be a string",
            ),
            (
                run_item(json!({"runName": "r", "datasetItemId": "i", "createdAt": "soon"})),
                "createdAt: expected an ISO-8601",
            ),
            (
                run_item(
                    json!({"runName": "r", "datasetItemId": "i", "datasetVersion": "2026-01-01"}),
                ),
                "datasetVersion is not supported",
            ),
        ];
        for (error, expected) in cases {
            let message = error.to_string();
            assert!(message.starts_with("invalid request body: "), "{message}");
            assert!(message.contains(expected), "{expected}: {message}");
        }
        let not_json = parse_create_run_item(b"{").unwrap_err();
        assert!(not_json.to_string().contains("body is not valid JSON"));
    }
}
