use chrono::TimeZone;
use periscope_core::prompts::DependencyTarget;

use super::*;

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 27, 0, 0, 0).unwrap()
}

fn create(body: Value) -> Result<NewPrompt> {
    parse_create(body.to_string().as_bytes(), "p", "id-1".into(), now())
}

fn body_message(result: Result<NewPrompt>) -> String {
    match result {
        Err(ApiError::InvalidBody(message)) => message,
        other => panic!("expected an invalid body, got {other:?}"),
    }
}

#[test]
fn the_sdk_text_body_parses_with_defaults() {
    let new = create(json!({
        "name": "qa-answer", "prompt": "Answer the question: {{question}}",
        "config": {"model": "gpt-4o-mini", "temperature": 0.1},
        "labels": ["production"], "tags": ["demo"], "commitMessage": "initial"
    }))
    .unwrap();
    assert_eq!(new.name, "qa-answer");
    assert_eq!(new.prompt_type, PromptType::Text);
    assert_eq!(new.prompt, json!("Answer the question: {{question}}"));
    assert_eq!(
        new.config,
        json!({"model": "gpt-4o-mini", "temperature": 0.1})
    );
    assert_eq!(new.labels, ["production"]);
    assert_eq!(new.tags, Some(vec!["demo".to_owned()]));
    assert_eq!(new.commit_message.as_deref(), Some("initial"));
    assert_eq!((new.project_id.as_str(), new.id.as_str()), ("p", "id-1"));
    assert_eq!(new.created_by, "API");
    assert!(new.dependencies.is_empty());

    let minimal = create(json!({"name": "m", "prompt": "", "config": null, "tags": null})).unwrap();
    assert_eq!(minimal.config, json!({}));
    assert_eq!(minimal.tags, None);
    assert!(minimal.labels.is_empty());
}

#[test]
fn the_sdk_chat_body_parses_with_its_placeholder() {
    let new = create(json!({
        "name": "qa-chat", "type": "chat", "commitMessage": "chat v1", "tags": null,
        "prompt": [{"role": "system", "content": "You are {{persona}}."},
                   {"name": "history", "type": "placeholder"},
                   {"role": "user", "content": "{{question}}"}],
        "config": {"temperature": 0.7}, "labels": ["production", "production"]
    }))
    .unwrap();
    assert_eq!(new.prompt_type, PromptType::Chat);
    assert_eq!(
        new.prompt[1],
        json!({"type": "placeholder", "name": "history"})
    );
    assert_eq!(new.labels, ["production"]);
}

#[test]
fn references_are_recorded_as_dependencies() {
    let new = create(json!({
        "name": "composed", "prompt": "Intro @@@langfusePrompt:name=base|version=2@@@",
        "tags": ["b", "a", "b"]
    }))
    .unwrap();
    assert_eq!(new.dependencies.len(), 1);
    assert_eq!(new.dependencies[0].name, "base");
    assert_eq!(new.dependencies[0].target, DependencyTarget::Version(2));
    assert_eq!(new.tags, Some(vec!["b".to_owned(), "a".to_owned()]));
}

#[test]
fn bad_create_bodies_name_the_field() {
    let cases = [
        (json!([]), "expected a JSON object"),
        (json!({"prompt": "x"}), "name is required"),
        (
            json!({"name": "a|b", "prompt": "x"}),
            "name must not contain '|'",
        ),
        (json!({"name": "n"}), "prompt is required"),
        (
            json!({"name": "n", "prompt": "x", "type": "image"}),
            "type must be",
        ),
        (
            json!({"name": "n", "prompt": [{"role": "user", "content": "x"}]}),
            "\"type\": \"chat\"",
        ),
        (
            json!({"name": "n", "prompt": "{{question", "labels": []}),
            "prompt has an unclosed",
        ),
        (
            json!({"name": "n", "prompt": "x", "labels": ["latest"]}),
            "labels[0] must not be 'latest'",
        ),
        (
            json!({"name": "n", "prompt": "x", "labels": ["Prod"]}),
            "labels[0] must be lowercase",
        ),
        (
            json!({"name": "n", "prompt": "x", "labels": "production"}),
            "labels must be a list",
        ),
        (
            json!({"name": "n", "prompt": "x", "tags": [1]}),
            "tags[0] must be a string",
        ),
        (
            json!({"name": "n", "prompt": "x", "commitMessage": 3}),
            "commitMessage must be",
        ),
        (
            json!({"name": "n", "type": "chat", "prompt": [{"role": "user", "content": 1}]}),
            "prompt[0].content must be a string",
        ),
    ];
    for (body, expected) in cases {
        let message = body_message(create(body.clone()));
        assert!(message.contains(expected), "{body}: {message}");
    }
    let message = body_message(parse_create(b"{not json", "p", "i".into(), now()));
    assert!(message.starts_with("malformed JSON"), "{message}");
}

#[test]
fn patch_bodies_carry_new_labels() {
    let labels = parse_new_labels(br#"{"newLabels": ["production", "staging"]}"#).unwrap();
    assert_eq!(labels, ["production", "staging"]);
    assert!(
        parse_new_labels(br#"{"newLabels": []}"#)
            .unwrap()
            .is_empty()
    );
    for (body, expected) in [
        (&br#"{}"#[..], "newLabels is required"),
        (
            br#"{"newLabels": ["latest"]}"#,
            "newLabels[0] must not be 'latest'",
        ),
        (
            br#"{"newLabels": ["UPPER"]}"#,
            "newLabels[0] must be lowercase",
        ),
    ] {
        match parse_new_labels(body) {
            Err(ApiError::InvalidBody(message)) => assert!(message.contains(expected), "{message}"),
            other => panic!("expected an invalid body, got {other:?}"),
        }
    }
}

#[test]
fn get_reads_production_by_default_and_refuses_ambiguity() {
    let parse = |query: &str| parse_selector(&QueryParams::parse(Some(query)));
    assert_eq!(
        parse("").unwrap(),
        PromptSelector::Label("production".into())
    );
    assert_eq!(
        parse("label=latest").unwrap(),
        PromptSelector::Label("latest".into())
    );
    assert_eq!(parse("version=3").unwrap(), PromptSelector::Version(3));
    assert!(matches!(
        parse("version=3&label=x"),
        Err(ApiError::InvalidParameter { name: "label", .. })
    ));
    assert!(matches!(
        parse("version=0"),
        Err(ApiError::InvalidParameter {
            name: "version",
            ..
        })
    ));
    assert!(matches!(
        parse("version=x"),
        Err(ApiError::InvalidParameter {
            name: "version",
            ..
        })
    ));
    assert!(matches!(
        parse("label=Bad"),
        Err(ApiError::InvalidParameter { name: "label", .. })
    ));

    let deletion = |query: &str| parse_deletion(&QueryParams::parse(Some(query)));
    assert_eq!(deletion("").unwrap(), PromptDeletion::All);
    assert_eq!(deletion("version=2").unwrap(), PromptDeletion::Version(2));
    assert_eq!(
        deletion("label=staging").unwrap(),
        PromptDeletion::Label("staging".into())
    );
}

#[test]
fn patch_paths_split_into_name_and_version() {
    assert_eq!(
        parse_version_path("a/b/versions/3").unwrap(),
        ("a/b".into(), 3)
    );
    assert_eq!(
        parse_version_path("qa/versions/12").unwrap(),
        ("qa".into(), 12)
    );
    for bad in [
        "qa",
        "qa/versions",
        "versions/3",
        "qa/versions/0",
        "qa/versions/x",
        "qa/v/1",
    ] {
        assert!(parse_version_path(bad).is_err(), "{bad}");
    }
}
