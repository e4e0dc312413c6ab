//! `GET /api/public/v2/prompts/{name}/metrics[?fromTimestamp=&toTimestamp=]`: per-version
//! usage of a prompt by the generations linked to it (docs/adr/0018-metrics-api.md).
//!
//! The path shares the prompt catch-all route: a request is for metrics when its raw path
//! ends in a literal `/metrics`. A prompt whose name ends in `/metrics` is still readable with
//! the slash encoded (`a%2Fmetrics`), as the SDKs send names.

use periscope_core::store::{PromptMetricsFilter, TraceStore};

use crate::error::Result;
use crate::params::QueryParams;
use crate::views::prompt_metrics::{PromptMetricsResponse, PromptVersionMetricsView};

/// The path suffix that selects the metrics of a prompt.
const METRICS_SUFFIX: &str = "/metrics";

/// Returns the prompt name when `raw_path` (as sent, not decoded) asks for metrics;
/// `decoded` is the catch-all path segment axum decoded.
pub(super) fn metrics_prompt_name<'a>(raw_path: &str, decoded: &'a str) -> Option<&'a str> {
    if !raw_path.ends_with(METRICS_SUFFIX) {
        return None;
    }
    decoded
        .strip_suffix(METRICS_SUFFIX)
        .filter(|name| !name.is_empty())
}

/// Returns the per-version metrics of prompt `name` (an empty list for an unused prompt).
pub(super) async fn prompt_metrics(
    store: &dyn TraceStore,
    project_id: &str,
    name: &str,
    query: &QueryParams,
) -> Result<PromptMetricsResponse> {
    let filter = PromptMetricsFilter {
        from_start_time: query.datetime("fromTimestamp")?,
        to_start_time: query.datetime("toTimestamp")?,
    };
    let versions = store
        .prompt_version_metrics(project_id, name, &filter)
        .await?;
    Ok(PromptMetricsResponse {
        name: name.to_owned(),
        data: versions
            .iter()
            .map(PromptVersionMetricsView::from)
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, TimeZone, Utc};
    use periscope_core::model::{ObservationRecord, ObservationType, Record};
    use periscope_sinks::SqliteTraceStore;
    use serde_json::json;

    #[tokio::test]
    async fn metrics_list_each_used_version_newest_first() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteTraceStore::open(&dir.path().join("traces.db"))
            .await
            .unwrap();
        let start = Utc.with_ymd_and_hms(2026, 11, 27, 0, 0, 0).unwrap();
        let generation = |id: &str, version: i64, millis: i64| {
            Record::Observation(ObservationRecord {
                project_id: "p".into(),
                id: id.into(),
                trace_id: "t1".into(),
                observation_type: Some(ObservationType::Generation),
                start_time: Some(start),
                end_time: Some(start + Duration::milliseconds(millis)),
                prompt_name: Some("folder/qa".into()),
                prompt_version: Some(version),
                usage_details: [("total".to_owned(), 30)].into(),
                event_time: start,
                ..ObservationRecord::default()
            })
        };
        store
            .write(vec![
                generation("g1", 1, 100),
                generation("g2", 1, 300),
                generation("g3", 2, 50),
            ])
            .await
            .unwrap();
        let query = QueryParams::parse(Some("fromTimestamp=2026-11-27"));
        let response = prompt_metrics(&store, "p", "folder/qa", &query)
            .await
            .unwrap();
        let body = serde_json::to_value(response).unwrap();
        assert_eq!(body["name"], "folder/qa");
        assert_eq!(body["data"][0]["version"], 2);
        assert_eq!(body["data"][1]["version"], 1);
        assert_eq!(body["data"][1]["countGenerations"], 2);
        assert_eq!(body["data"][1]["latencyP50Ms"], 200.0);
        assert_eq!(body["data"][1]["totalTokens"], 60.0);
        assert_eq!(body["data"][1]["firstUsedAt"], "2026-11-27T00:00:00.000Z");
        assert_eq!(body["data"][1]["averageScores"], json!({}));
        let unused = prompt_metrics(&store, "p", "other", &query).await.unwrap();
        assert!(unused.data.is_empty());
        let bad = QueryParams::parse(Some("toTimestamp=soon"));
        let error = prompt_metrics(&store, "p", "qa", &bad).await.unwrap_err();
        assert!(error.to_string().contains("toTimestamp"), "{error}");
    }

    #[test]
    fn only_a_literal_metrics_suffix_selects_metrics() {
        let raw = "/api/public/v2/prompts/qa/metrics";
        assert_eq!(metrics_prompt_name(raw, "qa/metrics"), Some("qa"));
        let raw = "/api/public/v2/prompts/folder/qa/metrics";
        assert_eq!(
            metrics_prompt_name(raw, "folder/qa/metrics"),
            Some("folder/qa")
        );
        let encoded = "/api/public/v2/prompts/qa%2Fmetrics";
        assert_eq!(metrics_prompt_name(encoded, "qa/metrics"), None);
        assert_eq!(metrics_prompt_name("/api/public/v2/prompts/qa", "qa"), None);
        assert_eq!(
            metrics_prompt_name("/api/public/v2/prompts/metrics", "metrics"),
            None
        );
    }
}
