//! The score a judgement becomes: a `periscope.v1.Event` with a score body on the ingest
//! topic, exactly like `POST /api/public/scores` writes one, with source `EVAL`.

use bytes::Bytes;
use chrono::{DateTime, Utc};
use periscope_core::evals::{EvalJob, Evaluator, OutputSpec, score_id};
use periscope_core::langfuse::{DEFAULT_ENVIRONMENT, ScoreBody, ScoreValue};
use periscope_core::log::LogRecord;
use periscope_core::model::ScoreSource;
use periscope_core::topics;
use periscope_proto::pv1;
use prost::Message as _;
use serde_json::json;

use super::answer::Verdict;

/// The envelope layout version written here (the same as the ingesters').
const SCHEMA_VERSION: u32 = 1;

/// What a score needs besides the verdict.
#[derive(Debug)]
pub(crate) struct ScoreContext<'a> {
    pub(crate) job: &'a EvalJob,
    pub(crate) evaluator: &'a Evaluator,
    pub(crate) output: &'a OutputSpec,
    pub(crate) model: &'a str,
    /// The target's environment, which the score inherits.
    pub(crate) environment: Option<String>,
    pub(crate) now: DateTime<Utc>,
}

/// Returns the score body: its id depends only on the evaluator and the target, so a retried
/// or re-judged job replaces its score instead of adding one.
pub(crate) fn score_body(context: &ScoreContext<'_>, verdict: &Verdict) -> ScoreBody {
    let job = context.job;
    let value = match (context.output, &verdict.label) {
        (OutputSpec::Categorical { .. }, Some(label)) => ScoreValue::Text(label.clone()),
        _ => ScoreValue::Number(verdict.value),
    };
    ScoreBody {
        id: score_id(&job.evaluator_id, job.target.target_id()),
        name: context.evaluator.score_name.clone(),
        value,
        data_type: context.output.data_type(),
        trace_id: Some(job.target.trace_id().to_owned()),
        observation_id: job.target.observation_id().map(str::to_owned),
        session_id: None,
        dataset_run_id: None,
        comment: verdict.reasoning.clone(),
        metadata: Some(json!({
            "evaluator_id": job.evaluator_id,
            "evaluator_version": job.evaluator_version,
            "job_id": job.id,
            "template": context.evaluator.template_name,
            "template_version": context.evaluator.template_version,
            "model": context.model,
        })),
        config_id: None,
        queue_id: None,
        environment: context
            .environment
            .clone()
            .filter(|environment| !environment.is_empty())
            .unwrap_or_else(|| DEFAULT_ENVIRONMENT.to_owned()),
        source: ScoreSource::Eval,
        timestamp: Some(context.now),
    }
}

/// Returns the ingest-topic record of a score, keyed by its trace.
pub(crate) fn score_record(
    project_id: &str,
    score: &ScoreBody,
    now: DateTime<Utc>,
) -> Result<LogRecord, serde_json::Error> {
    let envelope = pv1::Event {
        event_id: periscope_core::ids::new_event_id(),
        project_id: project_id.to_owned(),
        received_at_unix_nano: now.timestamp_nanos_opt().unwrap_or_default(),
        source: pv1::Source::Evaluator as i32,
        schema_version: SCHEMA_VERSION,
        body: Some(pv1::event::Body::ScoreJson(serde_json::to_vec(score)?)),
    };
    let subject = score.trace_id.as_deref().unwrap_or(&score.id);
    Ok(LogRecord {
        key: Bytes::from(topics::trace_key(project_id, subject)),
        value: Bytes::from(envelope.encode_to_vec()),
    })
}
