//! Budget arithmetic, states and rates of backfills.

use chrono::Utc;

use super::{Backfill, BackfillBudget, BackfillEstimate, BackfillState};
use crate::evals::EvalFilter;

#[test]
fn the_tightest_budget_limit_decides_the_room_left() {
    let unlimited = BackfillBudget::default();
    assert_eq!(unlimited.remaining_jobs(10, 300, Some(0.01)), None);
    let budget = BackfillBudget {
        max_jobs: Some(100),
        max_tokens: Some(30_000),
        max_cost_usd: Some(0.5),
    };
    // 30,000 tokens at 300 per job = 100 jobs; $0.5 at $0.01 = 50 jobs.
    assert_eq!(budget.remaining_jobs(0, 300, Some(0.01)), Some(50));
    assert_eq!(budget.remaining_jobs(49, 300, Some(0.01)), Some(1));
    assert_eq!(budget.remaining_jobs(60, 300, Some(0.01)), Some(0));
    // An unpriced model is held to the other limits only.
    assert_eq!(budget.remaining_jobs(0, 600, None), Some(50));
    assert_eq!(budget.remaining_jobs(0, 0, None), Some(100));
}

#[test]
fn states_parse_and_only_the_last_three_are_final() {
    for state in BackfillState::ALL {
        assert_eq!(BackfillState::parse(state.as_str()), Some(state));
    }
    assert_eq!(
        BackfillState::parse("RUNNING"),
        Some(BackfillState::Running)
    );
    assert_eq!(BackfillState::parse("done"), None);
    let finals: Vec<_> = BackfillState::ALL
        .into_iter()
        .filter(|state| state.is_final())
        .collect();
    assert_eq!(
        finals,
        [
            BackfillState::Completed,
            BackfillState::Cancelled,
            BackfillState::Failed
        ]
    );
}

#[test]
fn rate_and_eta_come_from_running_time() {
    let now = Utc::now();
    let mut backfill = Backfill {
        id: "b".into(),
        project_id: "p".into(),
        evaluator_id: "e".into(),
        evaluator_version: 1,
        from: now,
        to: now,
        filter: EvalFilter::default(),
        budget: BackfillBudget::default(),
        estimate: BackfillEstimate::default(),
        state: BackfillState::Running,
        reason: None,
        cursor: None,
        total: 10_000,
        done: 2_000,
        matched: 2_000,
        emitted: 2_000,
        skipped: 0,
        active_ms: 0,
        created_at: now,
        started_at: Some(now),
        updated_at: now,
        finished_at: None,
    };
    assert_eq!((backfill.rate(), backfill.eta_seconds()), (None, None));
    backfill.active_ms = 4_000;
    assert_eq!(backfill.rate(), Some(500.0));
    assert_eq!(backfill.eta_seconds(), Some(16.0));
    backfill.state = BackfillState::Completed;
    assert_eq!(backfill.eta_seconds(), None);
}
