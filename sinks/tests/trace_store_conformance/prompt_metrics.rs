//! Per-version usage of a prompt by the generations that name it.

use std::collections::BTreeMap;

use periscope_core::store::{PromptMetricsFilter, PromptVersionMetrics};

use crate::common::{Backend, at, for_each_backend, on_day};
use crate::metrics_query::seed;

fn close(a: Option<f64>, b: f64) -> bool {
    a.is_some_and(|a| (a - b).abs() < 1e-9)
}

#[tokio::test]
async fn prompt_versions_report_usage_latency_cost_and_scores() {
    for_each_backend(async |backend: &Backend| {
        let store = backend.store.as_ref();
        seed(store).await;
        let versions = store
            .prompt_version_metrics("p", "qa", &PromptMetricsFilter::default())
            .await
            .unwrap();
        let name = backend.name;
        assert_eq!(versions.len(), 2, "{name}: {versions:#?}");
        let (v2, v1) = (&versions[0], &versions[1]);
        let check = |v: &PromptVersionMetrics, expected: (i64, u64, f64, f64, f64, f64)| {
            let (version, count, p50, p95, tokens, cost) = expected;
            assert_eq!(
                (v.version, v.observation_count),
                (version, count),
                "{name}: {v:?}"
            );
            assert!(close(v.latency_p50_ms, p50), "{name}: {v:?}");
            assert!(close(v.latency_p95_ms, p95), "{name}: {v:?}");
            assert!((v.total_tokens - tokens).abs() < 1e-9, "{name}: {v:?}");
            assert!(close(v.average_tokens, 1_100.0), "{name}: {v:?}");
            assert!((v.total_cost - cost).abs() < 1e-9, "{name}: {v:?}");
            assert!(close(v.average_cost, 1.2), "{name}: {v:?}");
        };
        check(v2, (2, 1, 4_000.0, 4_000.0, 1_100.0, 1.2));
        check(v1, (1, 2, 1_500.0, 1_950.0, 2_200.0, 2.4));
        assert_eq!(
            (v2.first_used_at, v2.last_used_at),
            (Some(at(110)), Some(at(110)))
        );
        assert_eq!(
            (v1.first_used_at, v1.last_used_at),
            (Some(at(100)), Some(at(3_700)))
        );
        assert_eq!(
            v1.average_scores,
            BTreeMap::from([("accuracy".to_owned(), 0.5)])
        );
        assert!(v2.average_scores.is_empty(), "{name}");

        let later = PromptMetricsFilter {
            from_start_time: Some(at(3_600)),
            to_start_time: Some(on_day(1, 0)),
        };
        let versions = store
            .prompt_version_metrics("p", "qa", &later)
            .await
            .unwrap();
        assert_eq!(versions.len(), 1, "{name}");
        assert_eq!((versions[0].version, versions[0].observation_count), (1, 1));
        assert!(versions[0].average_scores.is_empty(), "{name}");
        let none = store
            .prompt_version_metrics("q", "qa", &PromptMetricsFilter::default())
            .await
            .unwrap();
        assert!(none.is_empty(), "{name}");
    })
    .await;
}
