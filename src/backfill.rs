//! `periscope backfill`: runs an evaluator over history. It estimates the backfill, creates
//! it in the meta store (the evals role of `periscope serve` or `periscope process evals`
//! claims and walks it) and follows its progress on stderr by polling the store. Ctrl-C only
//! stops following: the backfill keeps running, and survives restarts of the evals role.

use std::io::Write as _;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use chrono::Utc;

use periscope_core::evals::EvalFilter;
use periscope_core::evals::backfill::{
    Backfill, BackfillBudget, BackfillRequest, BackfillState, plan_backfill,
};

use crate::backends::load_config;
use crate::cli::BackfillArgs;
use crate::stores::{MetaStores, open_meta_stores, open_trace_stores};

/// How often the store is polled for progress.
const POLL_EVERY: Duration = Duration::from_millis(500);
/// How long a backfill may stay unclaimed before the hint that no evals role is running.
const UNCLAIMED_HINT_AFTER: Duration = Duration::from_secs(10);

/// Creates the backfill `args` describe and follows it until it ends or Ctrl-C.
pub(crate) async fn run(args: BackfillArgs) -> anyhow::Result<()> {
    let config = load_config(&args.common)?;
    let meta = open_meta_stores(&config).await?;
    let traces = open_trace_stores(&config).await?;
    let project_id = match &args.project {
        Some(project) => project.clone(),
        None => project_of_evaluator(&meta, &args.evaluator).await?,
    };
    let project_models = meta.meta.list_models(&project_id).await?;
    let request = BackfillRequest {
        project_id,
        evaluator_id: args.evaluator.clone(),
        from: args.from,
        to: args.to,
        filter: EvalFilter::default(),
        budget: BackfillBudget {
            max_jobs: args.max_jobs,
            max_tokens: args.max_tokens,
            max_cost_usd: args.max_cost_usd,
        },
    };
    let backfill = plan_backfill(
        meta.evals.as_ref(),
        traces.traces.as_ref(),
        &project_models,
        request,
        Utc::now(),
    )
    .await?;
    if args.dry_run {
        return print_estimate(&backfill);
    }
    meta.evals
        .create_backfill(&backfill)
        .await
        .context("failed to create the backfill")?;
    let estimate = &backfill.estimate;
    writeln!(
        std::io::stderr(),
        "backfill {} created: {} targets, ~{} judge calls, ~{} tokens{}",
        backfill.id,
        estimate.targets,
        estimate.expected_jobs,
        estimate.estimated_tokens,
        estimate
            .estimated_cost_usd
            .map(|cost| format!(", ~${cost:.4}"))
            .unwrap_or_default(),
    )?;
    follow(&meta, &backfill).await
}

/// Writes the estimate of a dry run on stdout, one `name: value` line each.
fn print_estimate(backfill: &Backfill) -> anyhow::Result<()> {
    let estimate = &backfill.estimate;
    let cost =
        |cost: Option<f64>| cost.map_or_else(|| "unpriced".to_owned(), |c| format!("{c:.6}"));
    let mut out = std::io::stdout();
    writeln!(out, "targets: {}", estimate.targets)?;
    writeln!(out, "matchingTargets: {}", estimate.matching_targets)?;
    writeln!(out, "expectedJobs: {}", estimate.expected_jobs)?;
    writeln!(out, "tokensPerJob: {}", estimate.tokens_per_job)?;
    writeln!(out, "estimatedTokens: {}", estimate.estimated_tokens)?;
    writeln!(out, "model: {}", estimate.model)?;
    writeln!(out, "costPerJobUsd: {}", cost(estimate.cost_per_job_usd))?;
    writeln!(
        out,
        "estimatedCostUsd: {}",
        cost(estimate.estimated_cost_usd)
    )?;
    writeln!(out, "examinedTargets: {}", estimate.examined_targets)?;
    Ok(())
}

/// Returns the project holding an evaluator with this id.
async fn project_of_evaluator(meta: &MetaStores, evaluator_id: &str) -> anyhow::Result<String> {
    for project in meta.meta.list_projects().await? {
        if meta
            .evals
            .get_evaluator(&project.id, evaluator_id)
            .await?
            .is_some()
        {
            return Ok(project.id);
        }
    }
    anyhow::bail!("no project has an evaluator {evaluator_id:?} (pass --project to name one)")
}

/// Polls the backfill until it is over (or Ctrl-C), redrawing a progress line on stderr.
async fn follow(meta: &MetaStores, created: &Backfill) -> anyhow::Result<()> {
    let started = Instant::now();
    let mut hinted = false;
    let mut interrupt = std::pin::pin!(tokio::signal::ctrl_c());
    loop {
        let backfill = meta
            .evals
            .get_backfill(&created.project_id, &created.id)
            .await?
            .context("the backfill disappeared from the store")?;
        draw(&backfill)?;
        if backfill.state.is_final() {
            writeln!(std::io::stderr())?;
            return match backfill.state {
                BackfillState::Completed => Ok(()),
                state => anyhow::bail!(
                    "backfill {} {}: {}",
                    backfill.id,
                    state.as_str(),
                    backfill.reason.as_deref().unwrap_or("no reason given")
                ),
            };
        }
        if backfill.state == BackfillState::Pending
            && !hinted
            && started.elapsed() > UNCLAIMED_HINT_AFTER
        {
            hinted = true;
            writeln!(
                std::io::stderr(),
                "\nno backfill worker has claimed it yet: is `periscope serve` or \
                 `periscope process evals` running on this meta store?"
            )?;
        }
        tokio::select! {
            _ = &mut interrupt => {
                writeln!(
                    std::io::stderr(),
                    "\nstopped following; backfill {} keeps running \
                     (GET /api/public/evaluators/{}/backfills/{})",
                    created.id, created.evaluator_id, created.id
                )?;
                return Ok(());
            }
            () = tokio::time::sleep(POLL_EVERY) => {}
        }
    }
}

/// Redraws the progress line: bar, done/total, state, rate and ETA.
fn draw(backfill: &Backfill) -> std::io::Result<()> {
    let width = 30;
    let fraction = match (backfill.state, backfill.total) {
        (BackfillState::Completed, _) | (_, 0) => 1.0,
        (_, total) => (backfill.done as f64 / total as f64).clamp(0.0, 1.0),
    };
    let filled = (fraction * width as f64).round() as usize;
    let rate = backfill
        .rate()
        .map(|rate| format!("{rate:.0} targets/s"))
        .unwrap_or_else(|| "-".to_owned());
    let eta = backfill
        .eta_seconds()
        .map(|seconds| format!("ETA {seconds:.0} s"))
        .unwrap_or_default();
    let mut err = std::io::stderr();
    write!(
        err,
        "\r[{}{}] {}/{} targets  {} jobs  {} skipped  {}  {}  {}{}   ",
        "#".repeat(filled),
        ".".repeat(width - filled),
        backfill.done,
        backfill.total,
        backfill.emitted,
        backfill.skipped,
        backfill.state.as_str(),
        rate,
        eta,
        backfill
            .reason
            .as_deref()
            .map(|reason| format!("({reason})"))
            .unwrap_or_default(),
    )?;
    err.flush()
}
