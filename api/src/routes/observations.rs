//! `GET /api/public/observations` (pages), `GET /api/public/observations/{id}` and
//! `GET /api/public/v2/observations` (cursor pages with field groups).

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use periscope_core::model::{Level, ObservationType};
use periscope_core::store::ObservationFilter;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::auth::Caller;
use crate::cursor::{cursor_after, decode_cursor, encode_cursor};
use crate::error::{ApiError, Result};
use crate::params::QueryParams;
use crate::state::ApiState;
use crate::views::PageResponse;
use crate::views::observation::ObservationView;
use crate::views::observation_v2::{FieldGroup, observation_v2, parse_field_groups};

/// Largest page of the cursor-paginated v2 endpoint, as in Langfuse.
const MAX_V2_LIMIT: u64 = 1000;

const TYPES: &str = "SPAN, GENERATION, EVENT, AGENT, TOOL, CHAIN, RETRIEVER, EVALUATOR, \
                     EMBEDDING, GUARDRAIL";
const LEVELS: &str = "DEBUG, DEFAULT, WARNING, ERROR";

/// Builds the observation filter shared by the v1 and v2 lists.
fn observation_filter(params: &QueryParams) -> Result<ObservationFilter> {
    params.reject_unsupported(&["filter"])?;
    Ok(ObservationFilter {
        trace_id: params.string("traceId"),
        observation_type: params.parsed("type", ObservationType::parse, TYPES)?,
        name: params.string("name"),
        parent_observation_id: params.string("parentObservationId"),
        user_id: params.string("userId"),
        level: params.parsed("level", Level::parse, LEVELS)?,
        version: params.string("version"),
        environments: params.all("environment"),
        from_start_time: params.datetime("fromStartTime")?,
        to_start_time: params.datetime("toStartTime")?,
    })
}

/// Returns a page of observations, newest start time first.
pub(crate) async fn list(
    State(state): State<ApiState>,
    caller: Caller,
    RawQuery(query): RawQuery,
) -> Result<Json<PageResponse<ObservationView>>> {
    let params = QueryParams::parse(query.as_deref());
    let page = params.page()?;
    let filter = observation_filter(&params)?;
    let observations = state
        .traces
        .list_observations(&caller.project_id, &filter, page)
        .await?;
    let data = observations
        .items
        .iter()
        .map(ObservationView::from_record)
        .collect();
    Ok(Json(PageResponse::new(
        data,
        page.page,
        page.limit,
        observations.total_items,
    )))
}

/// Returns one observation.
pub(crate) async fn get_one(
    State(state): State<ApiState>,
    caller: Caller,
    Path(observation_id): Path<String>,
) -> Result<Json<ObservationView>> {
    let observation = state
        .traces
        .get_observation(&caller.project_id, &observation_id)
        .await?;
    let observation = observation.ok_or(ApiError::NotFound {
        what: "Observation",
    })?;
    Ok(Json(ObservationView::from_record(&observation)))
}

/// The parsed request of `GET /v2/observations`.
#[derive(Debug)]
struct V2Request {
    filter: ObservationFilter,
    limit: u64,
    cursor: Option<periscope_core::store::ObservationCursor>,
    groups: Vec<FieldGroup>,
    parse_io: bool,
}

fn v2_request(params: &QueryParams) -> Result<V2Request> {
    let cursor = params
        .get("cursor")
        .map(|text| {
            decode_cursor(text).map_err(|error| ApiError::parameter("cursor", error.to_string()))
        })
        .transpose()?;
    let groups = parse_field_groups(params.get("fields")).map_err(|unknown| {
        let known: Vec<&str> = FieldGroup::ALL.iter().map(|group| group.as_str()).collect();
        ApiError::parameter(
            "fields",
            format!(
                "unknown field group {unknown:?}; expected any of {}",
                known.join(", ")
            ),
        )
    })?;
    Ok(V2Request {
        filter: observation_filter(params)?,
        limit: params.limit(MAX_V2_LIMIT)?,
        cursor,
        groups,
        parse_io: params.boolean("parseIoAsJson")?.unwrap_or(false),
    })
}

/// The `meta` of a cursor page: the cursor of the next page, `null` on the last one.
#[derive(Debug, Serialize)]
struct CursorMeta {
    cursor: Option<String>,
}

/// A cursor page of v2 observations.
#[derive(Debug, Serialize)]
pub(crate) struct CursorPage {
    data: Vec<Map<String, Value>>,
    meta: CursorMeta,
}

/// Returns up to `limit` observations after `cursor`, newest start time first.
pub(crate) async fn list_v2(
    State(state): State<ApiState>,
    caller: Caller,
    RawQuery(query): RawQuery,
) -> Result<Json<CursorPage>> {
    let request = v2_request(&QueryParams::parse(query.as_deref()))?;
    // One row more than asked tells whether another page exists without a count query.
    let mut rows = state
        .traces
        .list_observations_after(
            &caller.project_id,
            &request.filter,
            request.cursor.as_ref(),
            request.limit + 1,
        )
        .await?;
    let has_more = rows.len() as u64 > request.limit;
    rows.truncate(usize::try_from(request.limit).unwrap_or(usize::MAX));
    let next = if has_more {
        rows.last().map(|last| encode_cursor(&cursor_after(last)))
    } else {
        None
    };
    let data = rows
        .iter()
        .map(|row| observation_v2(row, &request.groups, request.parse_io))
        .collect();
    Ok(Json(CursorPage {
        data,
        meta: CursorMeta { cursor: next },
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};

    #[test]
    fn every_observation_parameter_reaches_the_filter() {
        let params = QueryParams::parse(Some(
            "traceId=t&type=generation&name=n&parentObservationId=p&userId=u&level=error\
             &version=v&environment=a&environment=b&fromStartTime=2026-01-01T00:00:00Z\
             &toStartTime=2026-01-01T01:00:00.5Z",
        ));
        assert_eq!(
            observation_filter(&params).unwrap(),
            ObservationFilter {
                trace_id: Some("t".into()),
                observation_type: Some(ObservationType::Generation),
                name: Some("n".into()),
                parent_observation_id: Some("p".into()),
                user_id: Some("u".into()),
                level: Some(Level::Error),
                version: Some("v".into()),
                environments: vec!["a".into(), "b".into()],
                from_start_time: Some(Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap()),
                to_start_time: Some(Utc.timestamp_millis_opt(1_767_229_200_500).unwrap()),
            }
        );
    }

    #[test]
    fn unknown_types_and_levels_are_400() {
        let error = observation_filter(&QueryParams::parse(Some("type=LLM"))).unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with("invalid query parameter type: expected one of SPAN")
        );
        let error = observation_filter(&QueryParams::parse(Some("level=LOUD"))).unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with("invalid query parameter level")
        );
    }

    #[test]
    fn v2_parameters_parse_with_their_own_limit() {
        let cursor = periscope_core::store::ObservationCursor {
            start_time: Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap(),
            id: "o9".into(),
        };
        let raw = format!(
            "limit=1000&cursor={}&fields=io&parseIoAsJson=true",
            encode_cursor(&cursor)
        );
        let request = v2_request(&QueryParams::parse(Some(&raw))).unwrap();
        assert_eq!(request.limit, 1000);
        assert_eq!(request.cursor, Some(cursor));
        assert_eq!(request.groups, vec![FieldGroup::Core, FieldGroup::Io]);
        assert!(request.parse_io);

        let defaults = v2_request(&QueryParams::default()).unwrap();
        assert_eq!(
            (defaults.limit, defaults.cursor, defaults.parse_io),
            (50, None, false)
        );

        let too_many = v2_request(&QueryParams::parse(Some("limit=1001"))).unwrap_err();
        assert!(too_many.to_string().contains("must be at most 1000"));
        let bad_cursor = v2_request(&QueryParams::parse(Some("cursor=%21%21"))).unwrap_err();
        assert!(
            bad_cursor
                .to_string()
                .starts_with("invalid query parameter cursor")
        );
        let bad_fields = v2_request(&QueryParams::parse(Some("fields=core,all"))).unwrap_err();
        assert!(
            bad_fields
                .to_string()
                .contains("unknown field group \"all\"")
        );
    }
}
