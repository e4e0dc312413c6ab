use axum::Router;
use axum::body::{Body, to_bytes};
use axum::http::Request;
use axum::routing::get;
use serde_json::{Value, json};
use tower::ServiceExt;

use super::fake::FakePromptStore;
use super::*;

async fn create_json(store: &dyn PromptStore, body: Value) -> Result<PromptView> {
    let id = Uuid::now_v7().to_string();
    create_prompt(store, "p", body.to_string().as_bytes(), id, Utc::now()).await
}

fn label(label: &str) -> PromptSelector {
    PromptSelector::Label(label.into())
}

#[tokio::test]
async fn created_versions_read_back_by_label_and_version() {
    let store = FakePromptStore::default();
    let first = create_json(
        &store,
        json!({"name": "qa", "prompt": "Q: {{question}}", "labels": ["production"]}),
    )
    .await
    .unwrap();
    assert_eq!((first.version, first.prompt_type), (1, "text"));
    assert_eq!(first.labels, ["latest", "production"]);
    assert_eq!(first.created_by, "API");
    create_json(&store, json!({"name": "qa", "prompt": "Q2: {{question}}"}))
        .await
        .unwrap();

    let production = read_prompt(&store, "p", "qa", &label("production"), true)
        .await
        .unwrap();
    assert_eq!(production.prompt, json!("Q: {{question}}"));
    assert_eq!(production.resolution_graph, None);
    let latest = read_prompt(&store, "p", "qa", &label("latest"), true)
        .await
        .unwrap();
    assert_eq!(latest.version, 2);
    let by_version = read_prompt(&store, "p", "qa", &PromptSelector::Version(1), true)
        .await
        .unwrap();
    assert_eq!(by_version.id, production.id);

    for (name, selector) in [
        ("qa", label("staging")),
        ("qa", PromptSelector::Version(3)),
        ("missing", label("production")),
    ] {
        let error = read_prompt(&store, "p", name, &selector, true)
            .await
            .unwrap_err();
        assert!(
            matches!(error, ApiError::NotFound { what: "Prompt" }),
            "{error}"
        );
    }
    // Another project sees nothing.
    let error = read_prompt(&store, "q", "qa", &label("latest"), true)
        .await
        .unwrap_err();
    assert!(matches!(error, ApiError::NotFound { .. }));
}

#[tokio::test]
async fn references_resolve_on_read_and_are_checked_on_create() {
    let store = FakePromptStore::default();
    create_json(
        &store,
        json!({"name": "shared/tone", "prompt": "Be brief.", "labels": ["production"]}),
    )
    .await
    .unwrap();
    let composed = create_json(
        &store,
        json!({"name": "qa-chat", "type": "chat", "labels": ["production"], "prompt": [
            {"role": "system", "content": "@@@langfusePrompt:name=shared/tone|label=production@@@ {{x}}"}
        ]}),
    )
    .await
    .unwrap();
    // Create answers the version as stored, as Langfuse does.
    assert_eq!(
        composed.prompt[0]["content"],
        "@@@langfusePrompt:name=shared/tone|label=production@@@ {{x}}"
    );

    let read = read_prompt(&store, "p", "qa-chat", &label("production"), true)
        .await
        .unwrap();
    assert_eq!(
        read.prompt,
        json!([{"role": "system", "content": "Be brief. {{x}}"}])
    );
    let graph = read.resolution_graph.unwrap();
    assert_eq!(graph["root"]["name"], "qa-chat");
    assert_eq!(graph["dependencies"][&read.id][0]["name"], "shared/tone");
    let raw = read_prompt(&store, "p", "qa-chat", &label("production"), false)
        .await
        .unwrap();
    assert_eq!(raw.prompt, composed.prompt);
    assert_eq!(raw.resolution_graph, None);

    create_json(&store, json!({"name": "loop", "prompt": "v1"}))
        .await
        .unwrap();
    let cases = [
        (
            json!({"name": "broken", "prompt": "@@@langfusePrompt:name=nope|version=1@@@"}),
            "prompt: prompt dependency not found: 'nope' version 1",
        ),
        (
            json!({"name": "loop", "prompt": "@@@langfusePrompt:name=loop|version=1@@@"}),
            "circular",
        ),
        (
            json!({"name": "embeds-chat", "prompt": "@@@langfusePrompt:name=qa-chat|label=production@@@"}),
            "chat prompt",
        ),
    ];
    for (body, expected) in cases {
        match create_json(&store, body.clone()).await {
            Err(ApiError::InvalidBody(message)) => assert!(message.contains(expected), "{message}"),
            other => panic!("{body}: expected an invalid body, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn a_type_change_is_refused_with_the_stores_reason() {
    let store = FakePromptStore::default();
    create_json(&store, json!({"name": "qa", "prompt": "x"}))
        .await
        .unwrap();
    let error = create_json(
        &store,
        json!({"name": "qa", "type": "chat", "prompt": [{"role": "user", "content": "x"}]}),
    )
    .await
    .unwrap_err();
    assert!(matches!(&error, ApiError::Rejected(message) if message == "type differs"));
    assert_eq!(error.status(), StatusCode::BAD_REQUEST);
}

#[test]
fn the_list_query_defaults_to_ten_per_page() {
    let parse = |query: &str| list_query(&QueryParams::parse(Some(query)));
    let (filter, page) = parse("").unwrap();
    assert_eq!(filter, PromptListFilter::default());
    assert_eq!((page.page, page.limit), (1, DEFAULT_LIST_LIMIT));
    let (filter, page) = parse("name=a%2Fb&label=production&tag=t&page=2&limit=100").unwrap();
    assert_eq!(filter.name.as_deref(), Some("a/b"));
    assert_eq!(filter.label.as_deref(), Some("production"));
    assert_eq!(filter.tag.as_deref(), Some("t"));
    assert_eq!((page.page, page.limit), (2, 100));
    assert!(parse("limit=101").is_err());
    assert!(parse("fromUpdatedAt=yesterday").is_err());
}

/// Answers the decoded wildcard, the way the prompt routes receive names.
async fn echo(Path(path): Path<String>) -> String {
    path
}

async fn echoed(uri: &str) -> String {
    let app: Router = Router::new().route("/api/public/v2/prompts/{*path}", get(echo));
    let request = Request::get(uri).body(Body::empty()).unwrap();
    let response = app.oneshot(request).await.unwrap();
    let bytes = to_bytes(response.into_body(), 1 << 16).await.unwrap();
    String::from_utf8(bytes.to_vec()).unwrap()
}

#[tokio::test]
async fn folder_names_arrive_decoded_whether_encoded_or_not() {
    assert_eq!(echoed("/api/public/v2/prompts/a%2Fb").await, "a/b");
    assert_eq!(echoed("/api/public/v2/prompts/a/b").await, "a/b");
    assert_eq!(
        echoed("/api/public/v2/prompts/my%20prompt").await,
        "my prompt"
    );
    let path = echoed("/api/public/v2/prompts/a%2Fb/versions/2").await;
    assert_eq!(parse_version_path(&path).unwrap(), ("a/b".to_owned(), 2));
}
