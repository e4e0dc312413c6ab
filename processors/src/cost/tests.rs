use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, TimeZone, Utc};
use periscope_core::error::{BackendError, BackendResult};
use periscope_core::meta::{ApiKey, MetaStore, ModelDefinition, Project};
use periscope_core::model::{CostSource, ObservationRecord, ObservationType};
use serde_json::json;

use super::*;

fn day(year: i32, month: u32, day: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(year, month, day, 12, 0, 0)
        .single()
        .unwrap()
}

fn generation(model: &str, usage: &[(&str, i64)]) -> ObservationRecord {
    ObservationRecord {
        project_id: "p".into(),
        id: "o".into(),
        trace_id: "t".into(),
        observation_type: Some(ObservationType::Generation),
        model: Some(model.into()),
        start_time: Some(day(2026, 11, 1)),
        usage_details: usage
            .iter()
            .map(|(key, units)| ((*key).to_owned(), *units))
            .collect(),
        event_time: day(2026, 11, 1),
        ..Default::default()
    }
}

fn custom(id: &str, pattern: &str, prices: &[(&str, f64)]) -> ModelDefinition {
    ModelDefinition {
        id: id.into(),
        project_id: Some("p".into()),
        model_name: id.into(),
        match_pattern: pattern.into(),
        start_date: None,
        prices: prices
            .iter()
            .map(|(key, price)| ((*key).to_owned(), *price))
            .collect(),
        unit: "TOKENS".into(),
        tokenizer_id: None,
        created_at: day(2026, 1, 1),
    }
}

fn assert_close(actual: f64, expected: f64) {
    assert!(
        (actual - expected).abs() <= 1e-12,
        "expected {expected}, got {actual}"
    );
}

fn priced(mut observation: ObservationRecord, project: &[ModelDefinition]) -> ObservationRecord {
    price_with_models(&mut observation, project);
    observation
}

fn cost(observation: &ObservationRecord, key: &str) -> f64 {
    *observation
        .calculated_cost_details
        .get(key)
        .unwrap_or_else(|| panic!("no cost for {key}"))
}

#[test]
fn gpt_4o_costs_usage_times_list_price() {
    let observation = priced(
        generation("gpt-4o", &[("input", 1000), ("output", 500)]),
        &[],
    );
    assert_eq!(
        observation.price.as_ref().unwrap().model_id,
        "builtin-gpt-4o"
    );
    assert_eq!(observation.cost_source, Some(CostSource::Calculated));
    assert_close(cost(&observation, "input"), 0.0025);
    assert_close(cost(&observation, "output"), 0.005);
    assert_close(cost(&observation, "total"), 0.0075);
}

#[test]
fn cached_tokens_are_priced_at_the_cache_price_and_not_twice() {
    // Normalised OpenAI usage: 1000 prompt tokens of which 200 cached → input 800.
    let usage = [
        ("input", 800),
        ("input_cached_tokens", 200),
        ("output", 500),
        ("total", 1500),
    ];
    let observation = priced(generation("openai/gpt-4o-2024-08-06", &usage), &[]);
    assert_close(cost(&observation, "input"), 800.0 * 2.5e-6);
    assert_close(cost(&observation, "input_cached_tokens"), 200.0 * 1.25e-6);
    assert_close(cost(&observation, "total"), 0.002 + 0.00025 + 0.005);
}

#[test]
fn anthropic_cache_writes_and_reads_have_their_own_prices() {
    let usage = [
        ("input", 100),
        ("input_cache_creation", 2000),
        ("input_cached_tokens", 5000),
        ("output", 300),
    ];
    let observation = priced(generation("claude-sonnet-4-20250514", &usage), &[]);
    assert_close(cost(&observation, "input_cache_creation"), 2000.0 * 3.75e-6);
    assert_close(cost(&observation, "input_cached_tokens"), 5000.0 * 0.3e-6);
    assert_close(
        cost(&observation, "total"),
        0.0003 + 0.0075 + 0.0015 + 0.0045,
    );
}

#[test]
fn reasoning_tokens_are_billed_as_output() {
    let usage = [
        ("input", 1000),
        ("output", 200),
        ("output_reasoning_tokens", 800),
    ];
    let observation = priced(generation("o3-mini", &usage), &[]);
    assert_close(
        cost(&observation, "output_reasoning_tokens"),
        800.0 * 4.4e-6,
    );
    assert_close(cost(&observation, "total"), 0.0011 + 0.00088 + 0.00352);
}

#[test]
fn detail_keys_without_a_price_fall_back_to_their_parent() {
    let project = [custom(
        "acme",
        "(?i)^acme-llm$",
        &[("input", 1e-6), ("output", 2e-6)],
    )];
    let usage = [
        ("input", 10),
        ("input_cached_tokens", 20),
        ("output", 30),
        ("output_reasoning_tokens", 40),
        ("output_weird_tokens", 50),
        ("images", 2),
    ];
    let observation = priced(generation("acme-llm", &usage), &project);
    let price = observation.price.as_ref().unwrap();
    assert_eq!(price.model_id, "acme");
    assert_eq!(price.prices.get("input_cache_creation"), Some(&1e-6));
    assert_eq!(price.prices.get("images"), None);
    assert_close(cost(&observation, "input_cached_tokens"), 20e-6);
    assert_close(cost(&observation, "output_weird_tokens"), 100e-6);
    assert_close(
        cost(&observation, "total"),
        (10.0 + 20.0) * 1e-6 + (30.0 + 40.0 + 50.0) * 2e-6,
    );
    // An explicit price is kept.
    let with_cache = custom(
        "acme",
        "^acme-llm$",
        &[("input", 1e-6), ("input_cached_tokens", 0.0)],
    );
    let observation = priced(generation("acme-llm", &usage), &[with_cache]);
    assert_close(cost(&observation, "input_cached_tokens"), 0.0);
}

#[test]
fn the_price_in_force_at_the_start_time_applies() {
    let usage = [("input", 1_000_000), ("output", 0)];
    let mut before = generation("o3", &usage);
    before.start_time = Some(day(2025, 5, 1));
    let mut after = generation("o3", &usage);
    after.start_time = Some(day(2025, 7, 1));
    assert_close(cost(&priced(before, &[]), "input"), 10.0);
    assert_close(cost(&priced(after, &[]), "input"), 2.0);
    // Without a start time the event time decides.
    let mut late = generation("o3", &usage);
    late.start_time = None;
    late.event_time = day(2025, 5, 2);
    assert_close(cost(&priced(late, &[]), "input"), 10.0);
}

#[test]
fn a_project_model_overrides_the_builtin_price() {
    let project = [custom(
        "our-4o",
        "(?i)^(openai/)?gpt-4o$",
        &[("input", 1e-6), ("output", 1e-6)],
    )];
    let observation = priced(
        generation("gpt-4o", &[("input", 1000), ("output", 500)]),
        &project,
    );
    assert_eq!(observation.price.as_ref().unwrap().model_id, "our-4o");
    assert_close(cost(&observation, "total"), 1500e-6);
}

#[test]
fn client_costs_win_and_unknown_models_are_flagged() {
    let mut with_client_cost = generation("gpt-4o", &[("input", 1000)]);
    with_client_cost.cost_details.insert("total".into(), 0.42);
    let observation = priced(with_client_cost, &[]);
    assert_eq!(observation.cost_source, Some(CostSource::Client));
    assert_close(cost(&observation, "total"), 0.42);
    assert!(observation.price.is_some(), "the price is still recorded");

    let unknown = priced(generation("llama-3.1-8b-local", &[("input", 1000)]), &[]);
    assert_eq!(unknown.price, None);
    assert_eq!(unknown.cost_source, Some(CostSource::Unpriced));
    assert!(unknown.calculated_cost_details.is_empty());
}

#[test]
fn missing_usage_is_estimated_then_priced() {
    let mut observation = generation("gpt-4o", &[]);
    observation.input = Some(json!([{"role": "user", "content": "Hello"}]));
    observation.output = Some(json!({"role": "assistant", "content": "Hello, world!"}));
    let observation = priced(observation, &[]);
    assert!(observation.usage_estimated);
    let expected: BTreeMap<String, i64> = [
        ("input".into(), 8),
        ("output".into(), 4),
        ("total".into(), 12),
    ]
    .into();
    assert_eq!(observation.usage_details, expected);
    assert_eq!(observation.cost_source, Some(CostSource::Calculated));
    assert_close(cost(&observation, "total"), 8.0 * 2.5e-6 + 4.0 * 10e-6);
}

#[test]
fn observations_without_a_model_are_left_alone() {
    let mut span = generation("x", &[]);
    span.model = None;
    span.observation_type = Some(ObservationType::Span);
    span.input = Some(json!("some text"));
    let before = span.clone();
    assert_eq!(priced(span, &[]), before);
}

/// A meta store that counts reads, can fail on demand, and (to exercise the pricer's own check)
/// returns every stored model whatever the project asked for.
#[derive(Debug, Default)]
struct FakeMeta {
    models: Mutex<Vec<ModelDefinition>>,
    reads: AtomicUsize,
    failing: AtomicBool,
}

fn unsupported<T>() -> BackendResult<T> {
    Err(BackendError::Invalid {
        backend: "fake",
        message: "not supported".into(),
    })
}

#[async_trait]
impl MetaStore for FakeMeta {
    async fn healthcheck(&self) -> BackendResult<()> {
        Ok(())
    }
    async fn upsert_project(&self, _id: &str, _name: &str) -> BackendResult<Project> {
        unsupported()
    }
    async fn list_projects(&self) -> BackendResult<Vec<Project>> {
        unsupported()
    }
    async fn get_project(&self, _id: &str) -> BackendResult<Option<Project>> {
        unsupported()
    }
    async fn upsert_api_key(&self, _key: &ApiKey) -> BackendResult<()> {
        unsupported()
    }
    async fn find_api_key(&self, _public_key: &str) -> BackendResult<Option<ApiKey>> {
        unsupported()
    }
    async fn upsert_model(&self, model: &ModelDefinition) -> BackendResult<()> {
        self.models.lock().unwrap().push(model.clone());
        Ok(())
    }
    async fn list_models(&self, _project_id: &str) -> BackendResult<Vec<ModelDefinition>> {
        self.reads.fetch_add(1, Ordering::SeqCst);
        if self.failing.load(Ordering::SeqCst) {
            return Err(BackendError::Unavailable {
                backend: "fake",
                message: "down".into(),
            });
        }
        Ok(self.models.lock().unwrap().clone())
    }
    async fn delete_model(&self, _project_id: &str, _model_id: &str) -> BackendResult<bool> {
        unsupported()
    }
}

async fn model_id_via(pricer: &Pricer, model: &str) -> Option<String> {
    let mut observation = generation(model, &[("input", 1)]);
    pricer.apply(&mut observation).await.unwrap();
    observation.price.map(|price| price.model_id)
}

#[tokio::test]
async fn project_models_are_cached_for_the_ttl() {
    let meta = Arc::new(FakeMeta::default());
    let cached = Pricer::with_ttl(meta.clone(), Duration::from_secs(3600));
    assert_eq!(model_id_via(&cached, "acme-llm").await, None);
    meta.upsert_model(&custom("acme", "^acme-llm$", &[("input", 1e-6)]))
        .await
        .unwrap();
    // Within the TTL the new model is not seen yet, and the store is not read again.
    assert_eq!(model_id_via(&cached, "acme-llm").await, None);
    assert_eq!(meta.reads.load(Ordering::SeqCst), 1);

    let reloading = Pricer::with_ttl(meta.clone(), Duration::ZERO);
    assert_eq!(
        model_id_via(&reloading, "acme-llm").await.as_deref(),
        Some("acme")
    );
    assert_eq!(
        model_id_via(&reloading, "gpt-4o").await.as_deref(),
        Some("builtin-gpt-4o")
    );
}

#[tokio::test]
async fn a_store_outage_keeps_the_cached_models_or_fails_without_them() {
    let meta = Arc::new(FakeMeta::default());
    meta.upsert_model(&custom("acme", "^acme-llm$", &[("input", 1e-6)]))
        .await
        .unwrap();
    let pricer = Pricer::with_ttl(meta.clone(), Duration::ZERO);
    assert_eq!(
        model_id_via(&pricer, "acme-llm").await.as_deref(),
        Some("acme")
    );
    meta.failing.store(true, Ordering::SeqCst);
    assert_eq!(
        model_id_via(&pricer, "acme-llm").await.as_deref(),
        Some("acme")
    );

    let cold = Pricer::new(meta.clone());
    let mut observation = generation("acme-llm", &[("input", 1)]);
    let error = cold.apply(&mut observation).await.unwrap_err();
    assert!(error.is_transient());
    // Without a model there is nothing to look up, so an outage does not matter.
    let mut no_model = generation("x", &[]);
    no_model.model = None;
    cold.apply(&mut no_model).await.unwrap();
}

#[tokio::test]
async fn invalid_or_foreign_definitions_are_skipped() {
    let meta = Arc::new(FakeMeta::default());
    let mut foreign = custom("theirs", "^acme-llm$", &[("input", 5e-6)]);
    foreign.project_id = Some("other".into());
    let mut unowned = custom("unowned", "^acme-llm$", &[("input", 3e-6)]);
    unowned.project_id = None;
    meta.models.lock().unwrap().extend([
        custom("broken", "^(acme-llm$", &[("input", 1e-6)]),
        custom("negative", "^acme-llm$", &[("input", -1.0)]),
        custom("good", "^acme-llm$", &[("input", 2e-6)]),
        foreign,
        unowned,
    ]);
    let models = load_project_models(meta.as_ref(), "p").await.unwrap();
    let ids: Vec<_> = models
        .iter()
        .map(|m| (m.id.as_str(), m.project_id.as_deref()))
        .collect();
    assert_eq!(ids, vec![("good", Some("p")), ("unowned", Some("p"))]);
}

#[tokio::test]
async fn the_cached_path_prices_like_the_pure_path() {
    let project = vec![custom("ours", "(?i)^gpt-4o-mini$", &[("input", 1e-6)])];
    let meta = Arc::new(FakeMeta::default());
    meta.models.lock().unwrap().extend(project.clone());
    let pricer = Pricer::new(meta);
    let names = [
        "gpt-4o",
        "gpt-4o-mini",
        "o3",
        "claude-3-5-sonnet-latest",
        "unknown",
        " ",
    ];
    let times = [day(2024, 6, 1), day(2025, 5, 1), day(2026, 11, 1)];
    for name in names {
        for at in times {
            let mut via_pricer = generation(name, &[("input", 1000), ("output", 10)]);
            via_pricer.start_time = Some(at);
            let pure = priced(via_pricer.clone(), &project);
            pricer.apply(&mut via_pricer).await.unwrap();
            assert_eq!(via_pricer, pure, "{name:?} at {at}");
        }
    }
}
