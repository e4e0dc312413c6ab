//! Comments, Langfuse-compatible (`/api/public/comments`):
//!
//! - `POST /comments` `{objectType, objectId, content, authorUserId?, projectId?}` → `{id}`;
//! - `GET /comments` lists the project's comments, newest first (`objectType`, `objectId`,
//!   `authorUserId`, `page`, `limit`);
//! - `GET /comments/{id}` reads one.
//!
//! The project is always the caller's; a body `projectId` naming another project is refused.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use chrono::{DateTime, Utc};
use periscope_core::comments::{Comment, CommentFilter, CommentObjectType, MAX_COMMENT_CHARS};
use periscope_core::ids::new_event_id;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::auth::Caller;
use crate::error::{ApiError, Result};
use crate::params::QueryParams;
use crate::state::ApiState;
use crate::views::{IsoTime, PageResponse};

const OBJECT_TYPES: &str = "TRACE, OBSERVATION, SESSION, PROMPT";

/// A comment in Langfuse's `Comment` shape.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CommentView {
    id: String,
    project_id: String,
    object_type: &'static str,
    object_id: String,
    content: String,
    author_user_id: Option<String>,
    created_at: IsoTime,
    updated_at: IsoTime,
}

impl CommentView {
    fn from_comment(comment: &Comment) -> Self {
        Self {
            id: comment.id.clone(),
            project_id: comment.project_id.clone(),
            object_type: comment.object_type.as_str(),
            object_id: comment.object_id.clone(),
            content: comment.content.clone(),
            author_user_id: comment.author_user_id.clone(),
            created_at: IsoTime(comment.created_at),
            updated_at: IsoTime(comment.updated_at),
        }
    }
}

/// The answer of `POST /comments`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct CreatedComment {
    id: String,
}

fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::InvalidBody(message.into())
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

fn parse_object_type(value: &str) -> Option<CommentObjectType> {
    CommentObjectType::parse(&value.to_ascii_uppercase())
}

/// Parses `POST /comments` into a comment of `project_id` created at `now`.
fn parse_create(body: &[u8], project_id: &str, id: String, now: DateTime<Utc>) -> Result<Comment> {
    let object = match serde_json::from_slice(body) {
        Ok(Value::Object(object)) => object,
        Ok(_) => return Err(invalid("body must be a JSON object")),
        Err(error) => return Err(invalid(format!("body is not valid JSON: {error}"))),
    };
    if let Some(given) = optional_string(&object, "projectId")?
        && given != project_id
    {
        return Err(invalid(format!(
            "projectId {given:?} is not the project of the API key"
        )));
    }
    let object_type = required_string(&object, "objectType")?;
    let object_type = parse_object_type(&object_type).ok_or_else(|| {
        invalid(format!(
            "objectType {object_type:?} is not one of {OBJECT_TYPES}"
        ))
    })?;
    let content = required_string(&object, "content")?;
    let chars = content.chars().count();
    if chars > MAX_COMMENT_CHARS {
        return Err(invalid(format!(
            "content has {chars} characters; at most {MAX_COMMENT_CHARS} are allowed"
        )));
    }
    Ok(Comment {
        id,
        project_id: project_id.to_owned(),
        object_type,
        object_id: required_string(&object, "objectId")?,
        content,
        author_user_id: optional_string(&object, "authorUserId")?,
        created_at: now,
        updated_at: now,
    })
}

/// Creates a comment (`POST /comments`).
pub(crate) async fn create(
    State(state): State<ApiState>,
    caller: Caller,
    body: Bytes,
) -> Result<Json<CreatedComment>> {
    let now = Utc::now();
    let now = DateTime::from_timestamp_micros(now.timestamp_micros()).unwrap_or(now);
    let comment = parse_create(&body, &caller.project_id, new_event_id(), now)?;
    state.comments.create_comment(&comment).await?;
    Ok(Json(CreatedComment { id: comment.id }))
}

fn parse_filter(params: &QueryParams) -> Result<CommentFilter> {
    let object_type = params
        .get("objectType")
        .map(|value| {
            parse_object_type(value).ok_or_else(|| {
                ApiError::parameter("objectType", format!("must be one of {OBJECT_TYPES}"))
            })
        })
        .transpose()?;
    Ok(CommentFilter {
        object_type,
        object_id: params.string("objectId"),
        author_user_id: params.string("authorUserId"),
    })
}

/// Returns a page of comments, newest first (`GET /comments`).
pub(crate) async fn list(
    State(state): State<ApiState>,
    caller: Caller,
    RawQuery(query): RawQuery,
) -> Result<Json<PageResponse<CommentView>>> {
    let params = QueryParams::parse(query.as_deref());
    let page = params.page()?;
    let filter = parse_filter(&params)?;
    let comments = state
        .comments
        .list_comments(&caller.project_id, &filter, page)
        .await?;
    let data = comments
        .items
        .iter()
        .map(CommentView::from_comment)
        .collect();
    Ok(Json(PageResponse::new(
        data,
        page.page,
        page.limit,
        comments.total_items,
    )))
}

/// Returns one comment (`GET /comments/{id}`).
pub(crate) async fn get_one(
    State(state): State<ApiState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<CommentView>> {
    let comment = state
        .comments
        .get_comment(&caller.project_id, &id)
        .await?
        .ok_or(ApiError::NamedNotFound {
            what: "Comment",
            name: id,
        })?;
    Ok(Json(CommentView::from_comment(&comment)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(body: &str) -> Result<Comment> {
        parse_create(
            body.as_bytes(),
            "p",
            "id".into(),
            DateTime::from_timestamp(0, 0).unwrap(),
        )
    }

    fn error(body: &str) -> String {
        parse(body).unwrap_err().to_string()
    }

    #[test]
    fn a_valid_comment_is_parsed() {
        let comment = parse(
            r#"{"objectType": "TRACE", "objectId": "t", "content": "hi", "authorUserId": "u",
                "projectId": "p"}"#,
        )
        .unwrap();
        assert_eq!(comment.object_type, CommentObjectType::Trace);
        assert_eq!(comment.object_id, "t");
        assert_eq!(comment.content, "hi");
        assert_eq!(comment.author_user_id.as_deref(), Some("u"));
        assert_eq!(comment.project_id, "p");
    }

    #[test]
    fn invalid_comments_name_the_field() {
        assert!(error(r#"{"objectId": "t", "content": "c"}"#).contains("objectType is required"));
        assert!(
            error(r#"{"objectType": "SPAN", "objectId": "t", "content": "c"}"#)
                .contains("objectType \"SPAN\"")
        );
        assert!(error(r#"{"objectType": "TRACE", "content": "c"}"#).contains("objectId"));
        assert!(error(r#"{"objectType": "TRACE", "objectId": "t"}"#).contains("content"));
        let long = "x".repeat(MAX_COMMENT_CHARS + 1);
        let body = format!(r#"{{"objectType": "TRACE", "objectId": "t", "content": "{long}"}}"#);
        assert!(error(&body).contains("at most 5000"));
        assert!(
            error(r#"{"objectType": "TRACE", "objectId": "t", "content": "c", "projectId": "q"}"#)
                .contains("projectId")
        );
    }

    #[test]
    fn list_filters_parse_object_types() {
        let params = QueryParams::parse(Some("objectType=SESSION&objectId=s&authorUserId=u"));
        let filter = parse_filter(&params).unwrap();
        assert_eq!(filter.object_type, Some(CommentObjectType::Session));
        assert_eq!(filter.object_id.as_deref(), Some("s"));
        assert_eq!(filter.author_user_id.as_deref(), Some("u"));
        let params = QueryParams::parse(Some("objectType=SPAN"));
        assert!(
            parse_filter(&params)
                .unwrap_err()
                .to_string()
                .contains("objectType")
        );
    }
}
