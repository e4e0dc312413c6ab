use std::collections::{BTreeMap, BTreeSet, HashSet};

use chrono::TimeZone;

use super::*;

fn day(year: i32, month: u32, day: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(year, month, day, 12, 0, 0)
        .single()
        .unwrap()
}

fn now() -> DateTime<Utc> {
    day(2026, 11, 27)
}

fn builtin_id(model: &str, at: DateTime<Utc>) -> Option<String> {
    match_model(builtin_models(), model, at).map(|definition| definition.id.clone())
}

fn custom(id: &str, pattern: &str, start: Option<DateTime<Utc>>, input: f64) -> ModelDefinition {
    ModelDefinition {
        id: id.to_owned(),
        project_id: Some("p".to_owned()),
        model_name: id.to_owned(),
        match_pattern: pattern.to_owned(),
        start_date: start,
        prices: [("input".to_owned(), input)].into(),
        unit: TOKENS_UNIT.to_owned(),
        tokenizer_id: None,
        created_at: now(),
    }
}

/// Model names as real clients send them, with the built-in they must resolve to today.
const CURRENT_NAMES: &[(&str, &str)] = &[
    ("gpt-4o", "gpt-4o"),
    ("GPT-4o", "gpt-4o"),
    ("openai/gpt-4o", "gpt-4o"),
    ("azure/gpt-4o", "gpt-4o"),
    ("  gpt-4o  ", "gpt-4o"),
    ("gpt-4o-2024-08-06", "gpt-4o-2024-08-06"),
    ("gpt-4o-2024-11-20", "gpt-4o-2024-08-06"),
    ("gpt-4o-2024-05-13", "gpt-4o-2024-05-13"),
    ("gpt-4o-mini", "gpt-4o-mini"),
    ("gpt-4o-mini-2024-07-18", "gpt-4o-mini"),
    ("openrouter/openai/gpt-4o-mini", "gpt-4o-mini"),
    ("gpt-4.1", "gpt-4.1"),
    ("gpt-4.1-2025-04-14", "gpt-4.1"),
    ("gpt-4.1-mini-2025-04-14", "gpt-4.1-mini"),
    ("gpt-4.1-nano", "gpt-4.1-nano"),
    ("gpt-4-turbo-2024-04-09", "gpt-4-turbo"),
    ("gpt-4-0125-preview", "gpt-4-turbo"),
    ("gpt-4", "gpt-4"),
    ("gpt-3.5-turbo-0125", "gpt-3.5-turbo"),
    ("o1", "o1"),
    ("o1-2024-12-17", "o1"),
    ("o1-mini", "o1-mini-2025-01-31"),
    ("o3", "o3-2025-06-10"),
    ("o3-2025-04-16", "o3-2025-06-10"),
    ("o3-mini", "o3-mini"),
    ("o3-pro", "o3-pro"),
    ("o4-mini-2025-04-16", "o4-mini"),
    ("gpt-5", "gpt-5"),
    ("gpt-5-2025-08-07", "gpt-5"),
    ("gpt-5-chat-latest", "gpt-5"),
    ("gpt-5-mini-2025-08-07", "gpt-5-mini"),
    ("gpt-5-nano", "gpt-5-nano"),
    ("gpt-5.1", "gpt-5.1"),
    ("text-embedding-3-small", "text-embedding-3-small"),
    ("text-embedding-3-large", "text-embedding-3-large"),
    ("claude-3-5-sonnet-20241022", "claude-3-5-sonnet"),
    ("claude-3-5-sonnet-latest", "claude-3-5-sonnet"),
    ("anthropic/claude-3.5-sonnet", "claude-3-5-sonnet"),
    (
        "anthropic.claude-3-5-sonnet-20240620-v1:0",
        "claude-3-5-sonnet",
    ),
    ("claude-3-5-sonnet-v2@20241022", "claude-3-5-sonnet"),
    (
        "us.anthropic.claude-3-7-sonnet-20250219-v1:0",
        "claude-3-7-sonnet",
    ),
    ("claude-3-5-haiku-20241022", "claude-3-5-haiku"),
    ("claude-3-haiku-20240307", "claude-3-haiku"),
    ("claude-3-opus-20240229", "claude-3-opus"),
    ("claude-sonnet-4-20250514", "claude-sonnet-4"),
    ("claude-sonnet-4@20250514", "claude-sonnet-4"),
    ("claude-4-sonnet", "claude-sonnet-4"),
    ("claude-sonnet-4-5-20250929", "claude-sonnet-4-5"),
    ("claude-sonnet-4-5", "claude-sonnet-4-5"),
    ("claude-opus-4-20250514", "claude-opus-4"),
    ("claude-opus-4-1-20250805", "claude-opus-4-1"),
    ("claude-opus-4-5-20251101", "claude-opus-4-5"),
    ("claude-haiku-4-5-20251001", "claude-haiku-4-5"),
    ("gemini-1.5-pro-002", "gemini-1.5-pro-2024-10-01"),
    ("gemini-1.5-flash", "gemini-1.5-flash-2024-08-12"),
    ("gemini-1.5-flash-8b", "gemini-1.5-flash-8b"),
    ("models/gemini-2.0-flash-001", "gemini-2.0-flash"),
    ("gemini-2.0-flash-lite", "gemini-2.0-flash-lite"),
    (
        "publishers/google/models/gemini-2.5-pro-preview-05-06",
        "gemini-2.5-pro",
    ),
    ("google/gemini-2.5-pro", "gemini-2.5-pro"),
    ("gemini-2.5-flash", "gemini-2.5-flash"),
    (
        "gemini-2.5-flash-lite-preview-06-17",
        "gemini-2.5-flash-lite",
    ),
    ("gemini-3-pro-preview", "gemini-3-pro"),
    ("mistral-large-latest", "mistral-large"),
    ("mistral-large-2411", "mistral-large"),
    ("mistral.mistral-large-2407-v1:0", "mistral-large"),
    ("mistral/mistral-small-latest", "mistral-small"),
    ("open-mistral-nemo", "mistral-nemo"),
    ("codestral-2501", "codestral"),
    ("mistral-embed", "mistral-embed"),
];

#[test]
fn real_model_names_resolve_to_the_expected_builtin() {
    for (model, expected) in CURRENT_NAMES {
        assert_eq!(
            builtin_id(model, now()).as_deref(),
            Some(format!("{BUILTIN_ID_PREFIX}{expected}").as_str()),
            "model {model:?}"
        );
    }
}

#[test]
fn near_miss_names_match_nothing() {
    for model in [
        "",
        "   ",
        "gpt-4o-audio-preview",
        "gpt-4o-minimal",
        "my-gpt-4o",
        "gpt-4o/extra",
        "gpt-5-turbo",
        "claude-sonnet-4-6-20260101",
        "claude-2.1",
        "llama-3.1-70b-instruct",
        "gemini-2.5-ultra",
    ] {
        assert_eq!(builtin_id(model, now()), None, "model {model:?}");
    }
}

#[test]
fn effective_dates_pick_the_price_in_force_at_the_observation_time() {
    let cases = [
        ("gpt-4o", day(2024, 6, 1), "gpt-4o-launch"),
        ("gpt-4o", day(2024, 10, 1), "gpt-4o-launch"),
        ("gpt-4o", day(2024, 10, 3), "gpt-4o"),
        // A dated snapshot has its own price, whenever it ran.
        ("gpt-4o-2024-08-06", day(2024, 9, 1), "gpt-4o-2024-08-06"),
        ("o3", day(2025, 5, 1), "o3"),
        ("o3", day(2025, 6, 11), "o3-2025-06-10"),
        ("gemini-1.5-pro", day(2024, 9, 1), "gemini-1.5-pro"),
        (
            "gemini-1.5-pro",
            day(2024, 10, 2),
            "gemini-1.5-pro-2024-10-01",
        ),
        ("gemini-1.5-flash-001", day(2024, 8, 1), "gemini-1.5-flash"),
    ];
    for (model, at, expected) in cases {
        assert_eq!(
            builtin_id(model, at).as_deref(),
            Some(format!("{BUILTIN_ID_PREFIX}{expected}").as_str()),
            "model {model:?} at {at}"
        );
    }
    let before = match_model(builtin_models(), "o3", day(2025, 5, 1)).unwrap();
    let after = match_model(builtin_models(), "o3", day(2025, 7, 1)).unwrap();
    assert!(after.prices["input"] < before.prices["input"]);
}

#[test]
fn no_two_builtins_of_the_same_start_date_match_one_name() {
    let names: BTreeSet<&str> = CURRENT_NAMES
        .iter()
        .map(|(model, _)| *model)
        .chain(
            builtin_models()
                .iter()
                .map(|definition| definition.model_name.as_str()),
        )
        .collect();
    for name in names {
        let mut seen = HashSet::new();
        for definition in builtin_models()
            .iter()
            .filter(|d| pattern_matches(d, name.trim()))
        {
            assert!(
                seen.insert(definition.start_date),
                "{name:?} is ambiguous: several built-ins share start date {:?}",
                definition.start_date
            );
        }
    }
}

#[test]
fn every_builtin_is_valid_unique_and_matches_its_own_name() {
    let models = builtin_models();
    assert_eq!(models.len(), catalog::ENTRIES.len());
    let mut ids = HashSet::new();
    for (definition, entry) in models.iter().zip(catalog::ENTRIES) {
        assert!(
            ids.insert(definition.id.as_str()),
            "duplicate id {}",
            definition.id
        );
        assert!(definition.id.starts_with(BUILTIN_ID_PREFIX));
        assert_eq!(
            validate_model_definition(definition),
            Ok(()),
            "{}",
            definition.id
        );
        assert_eq!(
            definition.start_date.is_some(),
            entry.since.is_some(),
            "{}",
            definition.id
        );
        assert!(
            pattern_matches(definition, &definition.model_name),
            "{}",
            definition.id
        );
        assert!(definition.project_id.is_none());
        // USD per token: every list price here is between $0.001 and $1000 per million.
        for (usage_key, price) in &definition.prices {
            assert!(
                (1e-9..1e-3).contains(price),
                "{} {usage_key} = {price}",
                definition.id
            );
        }
    }
}

#[test]
fn builtin_prices_are_per_token_with_cache_and_reasoning_keys() {
    let gpt_4o = match_model(builtin_models(), "gpt-4o", now()).unwrap();
    let expected: BTreeMap<String, f64> = [
        ("input".to_owned(), 2.5e-6),
        ("input_cached_tokens".to_owned(), 1.25e-6),
        ("output".to_owned(), 10e-6),
    ]
    .into();
    assert_eq!(
        gpt_4o.prices.keys().collect::<Vec<_>>(),
        expected.keys().collect::<Vec<_>>()
    );
    for (key, price) in &expected {
        assert!((gpt_4o.prices[key] - price).abs() < 1e-15, "{key}");
    }
    assert_eq!(gpt_4o.tokenizer_id.as_deref(), Some("openai"));

    let sonnet = match_model(builtin_models(), "claude-sonnet-4-20250514", now()).unwrap();
    assert!((sonnet.prices["input_cache_creation"] - 3.75e-6).abs() < 1e-15);
    assert!((sonnet.prices["input_cached_tokens"] - 0.3e-6).abs() < 1e-15);
    assert_eq!(
        sonnet.prices["output_reasoning_tokens"],
        sonnet.prices["output"]
    );
    assert_eq!(sonnet.tokenizer_id.as_deref(), Some("claude"));

    let embedding = match_model(builtin_models(), "text-embedding-3-small", now()).unwrap();
    assert_eq!(embedding.prices.keys().collect::<Vec<_>>(), vec!["input"]);
}

#[test]
fn a_project_definition_beats_a_newer_builtin() {
    let override_4o = custom("mine", "^gpt-4o$", None, 1e-6);
    let project = [override_4o];
    let chosen = match_model(project.iter().chain(builtin_models()), "gpt-4o", now()).unwrap();
    assert_eq!(chosen.id, "mine");
    // Names the project does not cover still fall through to the built-ins.
    let other = match_model(project.iter().chain(builtin_models()), "gpt-4o-mini", now());
    assert_eq!(other.unwrap().id, "builtin-gpt-4o-mini");
}

#[test]
fn project_definitions_are_effective_dated_too() {
    let old = custom("old", "(?i)^acme-llm$", None, 1.0);
    let new = custom("new", "(?i)^acme-llm$", Some(day(2026, 1, 1)), 2.0);
    let future = custom("future", "(?i)^acme-llm$", Some(day(2030, 1, 1)), 3.0);
    let models = [future, new, old];
    let pick = |at| match_model(&models, "acme-llm", at).map(|d| d.id.as_str());
    assert_eq!(pick(day(2025, 6, 1)), Some("old"));
    assert_eq!(pick(day(2026, 6, 1)), Some("new"));
    assert_eq!(pick(day(2031, 1, 1)), Some("future"));
    // Only a future definition: nothing applies yet.
    let only_future = [custom("f", "^x$", Some(day(2030, 1, 1)), 1.0)];
    assert_eq!(match_model(&only_future, "x", now()), None);
}

#[test]
fn ties_break_by_id_whatever_the_order() {
    let a = custom("a", "^m$", None, 1.0);
    let b = custom("b", "^m$", None, 2.0);
    let forward = [a.clone(), b.clone()];
    let backward = [b, a];
    assert_eq!(match_model(&forward, "m", now()).unwrap().id, "a");
    assert_eq!(match_model(&backward, "m", now()).unwrap().id, "a");
}

#[test]
fn custom_patterns_match_case_insensitively_and_invalid_ones_never() {
    let plain = custom("plain", "^my-model$", None, 1.0);
    assert!(pattern_matches(&plain, "MY-MODEL"));
    let broken = custom("broken", "^my-(model$", None, 1.0);
    assert!(!pattern_matches(&broken, "my-(model"));
    assert!(!pattern_matches(&broken, "my-model"));
}

#[test]
fn validation_names_the_offending_field() {
    let valid = custom("ok", "(?i)^acme$", None, 0.0);
    assert_eq!(validate_model_definition(&valid), Ok(()));
    let cases: Vec<(ModelDefinition, &str)> = vec![
        (
            ModelDefinition {
                model_name: " ".into(),
                ..valid.clone()
            },
            "modelName",
        ),
        (
            ModelDefinition {
                match_pattern: String::new(),
                ..valid.clone()
            },
            "matchPattern",
        ),
        (
            ModelDefinition {
                match_pattern: "(unclosed".into(),
                ..valid.clone()
            },
            "matchPattern",
        ),
        (
            ModelDefinition {
                match_pattern: "a".repeat(2000),
                ..valid.clone()
            },
            "matchPattern",
        ),
        (
            ModelDefinition {
                unit: String::new(),
                ..valid.clone()
            },
            "unit",
        ),
        (
            ModelDefinition {
                prices: [("input".into(), -1.0)].into(),
                ..valid.clone()
            },
            "prices.input",
        ),
        (
            ModelDefinition {
                prices: [("output".into(), f64::NAN)].into(),
                ..valid.clone()
            },
            "prices.output",
        ),
        (
            ModelDefinition {
                prices: [(" ".into(), 1.0)].into(),
                ..valid.clone()
            },
            "prices",
        ),
        (
            ModelDefinition {
                tokenizer_id: Some("llama".into()),
                ..valid.clone()
            },
            "tokenizerId",
        ),
    ];
    for (definition, field) in cases {
        let error = validate_model_definition(&definition).unwrap_err();
        assert!(error.starts_with(field), "expected {field}, got {error:?}");
    }
}
