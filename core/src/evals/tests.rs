use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::json;

use super::*;
use crate::model::{ObservationRecord, ObservationType, Record, TraceRecord};

const KEY: &str = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

#[test]
fn sealed_keys_open_only_with_the_same_key_and_context() {
    let cipher = SecretCipher::from_hex(Some(KEY));
    let sealed = cipher.seal("sk-secret", "p/c1").unwrap();
    assert!(sealed.starts_with("v1."));
    assert!(!sealed.contains("sk-secret"));
    assert_eq!(cipher.open(&sealed, "p/c1").unwrap(), "sk-secret");
    assert_eq!(cipher.open(&sealed, "p/c2"), Err(CipherError::Decrypt));
    let other = SecretCipher::from_hex(Some(&KEY.replace('0', "1")));
    assert_eq!(other.open(&sealed, "p/c1"), Err(CipherError::Decrypt));
    // A fresh nonce every time.
    assert_ne!(cipher.seal("sk-secret", "p/c1").unwrap(), sealed);
}

#[test]
fn a_missing_or_malformed_key_fails_on_use_naming_the_variable() {
    for (value, fragment) in [
        (None, "is not set"),
        (Some(""), "is not set"),
        (Some("abc"), "3 characters instead of 64"),
        (Some(&"zz".repeat(32)[..]), "not hexadecimal"),
    ] {
        let cipher = SecretCipher::from_hex(value);
        let error = cipher.seal("x", "c").unwrap_err().to_string();
        assert!(error.contains(ENCRYPTION_KEY_ENV), "{error}");
        assert!(error.contains("openssl rand -hex 32"), "{error}");
        assert!(error.contains(fragment), "{error}");
        assert!(cipher.check().is_err());
        assert!(!format!("{cipher:?}").contains(KEY));
    }
}

#[test]
fn key_previews_never_show_the_middle_of_a_key() {
    assert_eq!(key_preview("sk-proj-abcdefghijklmnop1234"), "sk-…1234");
    assert_eq!(key_preview("short"), "…");
    assert_eq!(key_preview(""), "");
}

#[test]
fn templates_list_and_render_their_variables_once() {
    let prompt = "Q: {{ question }}\nC: {{context}}\nA: {{answer}} {{question}} {{not a var}}";
    assert_eq!(
        template_variables(prompt),
        ["question", "context", "answer"]
    );
    let values = BTreeMap::from([
        ("question".to_owned(), "why {{context}}?".to_owned()),
        ("context".to_owned(), "ctx".to_owned()),
        ("answer".to_owned(), "ans".to_owned()),
    ]);
    assert_eq!(
        render_prompt(prompt, &values).unwrap(),
        "Q: why {{context}}?\nC: ctx\nA: ans why {{context}}? {{not a var}}"
    );
    let error = render_prompt("{{missing}}", &values).unwrap_err();
    assert!(error.contains("missing"));
}

#[test]
fn builtin_templates_are_valid_and_found_by_name() {
    for template in builtin_templates() {
        validate_template(&template).unwrap();
    }
    let hallucination = builtin_template("hallucination", None).unwrap();
    assert_eq!(hallucination.variables(), ["question", "context", "answer"]);
    assert!(builtin_template("hallucination", Some(2)).is_none());
    assert!(builtin_template("correctness", Some(1)).is_some());
}

#[test]
fn sampling_is_deterministic_and_close_to_the_rate() {
    let hits = (0..10_000)
        .filter(|i| sampled("ev", &format!("trace-{i}"), 0.3))
        .count();
    assert!((2_700..3_300).contains(&hits), "{hits}");
    for i in 0..100 {
        let target = format!("t{i}");
        assert_eq!(sampled("ev", &target, 0.5), sampled("ev", &target, 0.5));
    }
    assert!(sampled("ev", "t", 1.0));
    assert!(!sampled("ev", "t", 0.0));
    assert_ne!(job_id("ev", 1, "t"), job_id("ev", 2, "t"));
    assert_eq!(score_id("ev", "t"), score_id("ev", "t"));
}

fn at(seconds: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(seconds, 0).unwrap()
}

fn evaluator(target: EvalTarget, filter: EvalFilter) -> Evaluator {
    Evaluator {
        id: "ev".into(),
        project_id: "p".into(),
        score_name: "faithfulness".into(),
        template_name: "hallucination".into(),
        template_version: 1,
        connection_id: "c".into(),
        model: None,
        target,
        filter,
        sampling_rate: 1.0,
        variable_mapping: BTreeMap::new(),
        settle_window: DEFAULT_SETTLE_WINDOW,
        active: true,
        version: 1,
        created_at: at(0),
        updated_at: at(0),
    }
}

#[test]
fn trace_filters_match_only_records_that_carry_every_field() {
    let filter = EvalFilter {
        name: Some("qa".into()),
        tags: vec!["prod".into()],
        metadata: BTreeMap::from([("tier".into(), json!("3"))]),
        ..EvalFilter::default()
    };
    let evaluator = evaluator(EvalTarget::Trace, filter);
    let mut trace = TraceRecord {
        project_id: "p".into(),
        id: "t1".into(),
        name: Some("qa".into()),
        tags: vec!["prod".into(), "x".into()],
        metadata: BTreeMap::from([("tier".into(), json!(3))]),
        event_time: at(1),
        ..TraceRecord::default()
    };
    let target = match_record(&evaluator, &Record::Trace(trace.clone()));
    assert_eq!(
        target,
        Some(TargetRef::Trace {
            trace_id: "t1".into()
        })
    );
    trace.tags.clear();
    assert_eq!(
        match_record(&evaluator, &Record::Trace(trace.clone())),
        None
    );
    trace.tags = vec!["prod".into()];
    trace.project_id = "other".into();
    assert_eq!(match_record(&evaluator, &Record::Trace(trace)), None);
}

#[test]
fn observation_targets_filter_by_type_and_name_and_experiments_by_task_span() {
    let evaluator_for = |target| evaluator(target, EvalFilter::default());
    let observation = ObservationRecord {
        project_id: "p".into(),
        id: "o1".into(),
        trace_id: "t1".into(),
        observation_type: Some(ObservationType::Generation),
        name: Some("llm".into()),
        event_time: at(1),
        ..ObservationRecord::default()
    };
    let generations = evaluator_for(EvalTarget::Observation {
        observation_type: Some(ObservationType::Generation),
        name: None,
    });
    let record = Record::Observation(observation.clone());
    assert_eq!(
        match_record(&generations, &record).unwrap().target_id(),
        "o1"
    );
    let spans = evaluator_for(EvalTarget::Observation {
        observation_type: Some(ObservationType::Span),
        name: None,
    });
    assert_eq!(match_record(&spans, &record), None);

    let runs = evaluator_for(EvalTarget::DatasetRunItem);
    assert_eq!(match_record(&runs, &record), None);
    let mut task = observation;
    task.metadata = BTreeMap::from([
        ("langfuse.experiment.id".into(), json!("run1")),
        ("langfuse.experiment.name".into(), json!("exp")),
        ("langfuse.experiment.dataset.id".into(), json!("ds")),
        ("langfuse.experiment.item.id".into(), json!("item1")),
        (
            "langfuse.experiment.item.root_observation_id".into(),
            json!("o1"),
        ),
    ]);
    let target = match_record(&runs, &Record::Observation(task)).unwrap();
    assert_eq!(
        target,
        TargetRef::DatasetRunItem {
            trace_id: "t1".into(),
            observation_id: "o1".into(),
            dataset_item_id: "item1".into(),
            dataset_run_id: "run1".into(),
        }
    );
}

#[test]
fn paths_reach_nested_fields_dotted_keys_and_json_strings() {
    let document = json!({
        "input": {"messages": [{"content": "hi"}]},
        "metadata": {"reference_context": "ctx", "langfuse.experiment.id": "r1",
                     "raw": "{\"a\": [1, 2]}"},
    });
    let get = |path| resolve_path(&document, path).unwrap();
    assert_eq!(get("input.messages[0].content"), Some(json!("hi")));
    assert_eq!(get("$.metadata.reference_context"), Some(json!("ctx")));
    assert_eq!(get("metadata.langfuse.experiment.id"), Some(json!("r1")));
    assert_eq!(
        get("metadata[\"langfuse.experiment.id\"]"),
        Some(json!("r1"))
    );
    assert_eq!(get("metadata.raw.a[1]"), Some(json!(2)));
    assert_eq!(get("output"), None);
    assert!(resolve_path(&document, "input[0").is_err());
    assert_eq!(value_text(&json!({"a": 1})), "{\"a\":1}");
    assert_eq!(value_text(&json!("text")), "text");
}

#[test]
fn every_patch_bumps_the_version_and_validation_names_the_field() {
    let mut evaluator = evaluator(EvalTarget::Trace, EvalFilter::default());
    evaluator.apply(
        EvaluatorPatch {
            active: Some(false),
            ..EvaluatorPatch::default()
        },
        at(5),
    );
    evaluator.apply(EvaluatorPatch::default(), at(6));
    assert_eq!((evaluator.version, evaluator.active), (3, false));
    assert_eq!(evaluator.updated_at, at(6));
    assert_eq!(evaluator.variable_path("question"), "input");
    assert_eq!(
        evaluator.variable_path("expected_output"),
        "expected_output"
    );

    evaluator.sampling_rate = 1.5;
    assert!(
        validate_evaluator(&evaluator)
            .unwrap_err()
            .contains("samplingRate")
    );
    evaluator.sampling_rate = 0.5;
    evaluator.settle_window = Duration::from_secs(7200);
    assert!(
        validate_evaluator(&evaluator)
            .unwrap_err()
            .contains("settleWindowMs")
    );
    evaluator.settle_window = Duration::ZERO;
    evaluator.filter.model = Some("gpt".into());
    assert!(
        validate_evaluator(&evaluator)
            .unwrap_err()
            .contains("filter.model")
    );
}

#[test]
fn metadata_filters_match_json_encoded_values_as_the_langfuse_sdk_sends_them() {
    let filter = EvalFilter {
        metadata: BTreeMap::from([("tier".into(), json!("enterprise"))]),
        ..EvalFilter::default()
    };
    let evaluator = evaluator(EvalTarget::Trace, filter);
    let trace_with = |value: serde_json::Value| {
        Record::Trace(TraceRecord {
            project_id: "p".into(),
            id: "t1".into(),
            metadata: BTreeMap::from([("tier".into(), value)]),
            event_time: at(1),
            ..TraceRecord::default()
        })
    };
    for stored in [json!("enterprise"), json!("\"enterprise\"")] {
        assert!(
            match_record(&evaluator, &trace_with(stored.clone())).is_some(),
            "{stored}"
        );
    }
    for stored in [
        json!("free"),
        json!("\"free\""),
        json!("enterprise-x"),
        json!(null),
    ] {
        assert!(
            match_record(&evaluator, &trace_with(stored.clone())).is_none(),
            "{stored}"
        );
    }
}
