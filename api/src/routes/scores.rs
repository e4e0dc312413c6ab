//! `GET /api/public/scores`, `GET /api/public/v2/scores` and their `/{id}` reads.
//!
//! v1 and v2 share one handler: both take the same filters, and the v2 `Score` object is a
//! superset of the v1 one. `DELETE /scores/{id}` deletes a score.

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use std::collections::HashMap;

use periscope_core::model::{ScoreDataType, ScoreRecord, ScoreSource};
use periscope_core::score_configs::ScoreConfig;
use periscope_core::store::ScoreFilter;

use crate::auth::Caller;
use crate::error::{ApiError, Result};
use crate::params::QueryParams;
use crate::state::ApiState;
use crate::views::PageResponse;
use crate::views::score::ScoreView;

/// Filters of Langfuse's score list that the trace stores cannot apply.
const UNSUPPORTED: &[&str] = &[
    "operator",
    "value",
    "scoreIds",
    "queueId",
    "traceTags",
    "filter",
];

/// Builds the score filter from the query parameters.
fn score_filter(params: &QueryParams) -> Result<ScoreFilter> {
    params.reject_unsupported(UNSUPPORTED)?;
    let observation_id = params.string("observationId");
    if observation_id.as_deref().is_some_and(|id| id.contains(',')) {
        return Err(ApiError::parameter(
            "observationId",
            "only one observation id is supported",
        ));
    }
    Ok(ScoreFilter {
        trace_id: params.string("traceId"),
        observation_id,
        session_id: params.string("sessionId"),
        dataset_run_id: params.string("datasetRunId"),
        name: params.string("name"),
        data_type: params.parsed(
            "dataType",
            ScoreDataType::parse,
            "NUMERIC, CATEGORICAL, BOOLEAN",
        )?,
        source: params.parsed("source", ScoreSource::parse, "API, EVAL, ANNOTATION")?,
        user_id: params.string("userId"),
        config_id: params.string("configId"),
        environments: params.all("environment"),
        from_timestamp: params.datetime("fromTimestamp")?,
        to_timestamp: params.datetime("toTimestamp")?,
    })
}

/// Returns a page of scores, newest first.
pub(crate) async fn list(
    State(state): State<ApiState>,
    caller: Caller,
    RawQuery(query): RawQuery,
) -> Result<Json<PageResponse<ScoreView>>> {
    let params = QueryParams::parse(query.as_deref());
    let page = params.page()?;
    let filter = score_filter(&params)?;
    let mut scores = state
        .traces
        .list_scores(&caller.project_id, &filter, page)
        .await?;
    apply_config_values(&state, &caller.project_id, &mut scores.items).await?;
    let data = scores.items.iter().map(ScoreView::from_record).collect();
    Ok(Json(PageResponse::new(
        data,
        page.page,
        page.limit,
        scores.total_items,
    )))
}

/// Returns one score.
pub(crate) async fn get_one(
    State(state): State<ApiState>,
    caller: Caller,
    Path(score_id): Path<String>,
) -> Result<Json<ScoreView>> {
    let score = state
        .traces
        .get_score(&caller.project_id, &score_id)
        .await?;
    let mut score = score.ok_or(ApiError::NotFound { what: "Score" })?;
    apply_config_values(&state, &caller.project_id, std::slice::from_mut(&mut score)).await?;
    Ok(Json(ScoreView::from_record(&score)))
}

/// Deletes one score (`DELETE /scores/{id}`): 204, or 404 when the project has no such
/// score. Either way the store remembers the id, so a replay of an older event (or one still
/// in the pipeline) does not bring it back.
pub(crate) async fn delete(
    State(state): State<ApiState>,
    caller: Caller,
    Path(score_id): Path<String>,
) -> Result<StatusCode> {
    if state
        .traces
        .delete_score(&caller.project_id, &score_id)
        .await?
    {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound { what: "Score" })
    }
}

/// Gives categorical scores that name a config the value of their category: the ingest edge
/// stores the label only (and checked it against the config then).
pub(crate) async fn apply_config_values(
    state: &ApiState,
    project_id: &str,
    scores: &mut [ScoreRecord],
) -> Result<()> {
    let mut configs: HashMap<String, Option<ScoreConfig>> = HashMap::new();
    for score in scores {
        let (Some(config_id), Some(label), ScoreDataType::Categorical) =
            (&score.config_id, &score.string_value, score.data_type)
        else {
            continue;
        };
        if !configs.contains_key(config_id) {
            let config = state
                .score_configs
                .get_score_config(project_id, config_id)
                .await?;
            configs.insert(config_id.clone(), config);
        }
        let category = configs
            .get(config_id)
            .and_then(Option::as_ref)
            .and_then(|config| config.categories.iter().find(|c| &c.label == label));
        if let Some(category) = category {
            score.value = category.value;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};

    #[test]
    fn every_score_parameter_reaches_the_filter() {
        let params = QueryParams::parse(Some(
            "traceId=t&observationId=o&sessionId=s&datasetRunId=d&name=n&dataType=boolean\
             &source=EVAL&userId=u&configId=c&environment=e&fromTimestamp=2026-01-01\
             &toTimestamp=2026-01-02T00:00:00Z&fields=score",
        ));
        assert_eq!(
            score_filter(&params).unwrap(),
            ScoreFilter {
                trace_id: Some("t".into()),
                observation_id: Some("o".into()),
                session_id: Some("s".into()),
                dataset_run_id: Some("d".into()),
                name: Some("n".into()),
                data_type: Some(ScoreDataType::Boolean),
                source: Some(ScoreSource::Eval),
                user_id: Some("u".into()),
                config_id: Some("c".into()),
                environments: vec!["e".into()],
                from_timestamp: Some(Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap()),
                to_timestamp: Some(Utc.with_ymd_and_hms(2026, 1, 2, 0, 0, 0).unwrap()),
            }
        );
    }

    #[test]
    fn unsupported_and_invalid_parameters_are_400() {
        for (raw, name) in [
            ("dataType=TEXT", "dataType"),
            ("source=HUMAN", "source"),
            ("traceTags=a", "traceTags"),
            ("observationId=a,b", "observationId"),
        ] {
            let error = score_filter(&QueryParams::parse(Some(raw))).unwrap_err();
            assert!(
                error
                    .to_string()
                    .starts_with(&format!("invalid query parameter {name}")),
                "{raw}"
            );
        }
    }
}
