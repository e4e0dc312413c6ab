//! Scores that name a `configId` are checked against that score config before they are
//! appended (Langfuse's rules, in `periscope_core::score_configs::check_score_value`).
//!
//! A score that breaks its config is rejected on its own, with a message naming `configId`,
//! `dataType` or `value`; its neighbours are still accepted. An accepted score is rewritten to
//! the config's data type, and a boolean one to its 0/1 number, so the stored score reads back
//! as the config says. Categorical scores keep their label: the read API maps it to the
//! category's value.

use std::collections::HashMap;
use std::sync::Arc;

use periscope_core::langfuse::{EventError, EventType, ParsedEvent, ScoreBody, ScoreValue};
use periscope_core::model::ScoreDataType;
use periscope_core::score_configs::{ScoreConfig, ScoreConfigStore, ScoreInput, check_score_value};
use serde_json::{Value, json};

use crate::error::{IngestError, Result};

/// Checks scores of one project, reading each named config once per request.
#[derive(Debug)]
pub(crate) struct ConfigChecker {
    store: Arc<dyn ScoreConfigStore>,
    project_id: String,
    configs: HashMap<String, Option<ScoreConfig>>,
}

impl ConfigChecker {
    /// Returns a checker of the caller's scores.
    pub(crate) fn new(store: Arc<dyn ScoreConfigStore>, project_id: &str) -> Self {
        Self {
            store,
            project_id: project_id.to_owned(),
            configs: HashMap::new(),
        }
    }

    async fn config(&mut self, id: &str) -> Result<Option<&ScoreConfig>> {
        if !self.configs.contains_key(id) {
            let config = self
                .store
                .get_score_config(&self.project_id, id)
                .await
                .map_err(IngestError::ScoreConfigsUnavailable)?;
            self.configs.insert(id.to_owned(), config);
        }
        Ok(self.configs.get(id).and_then(Option::as_ref))
    }

    /// Checks `score` (whose `dataType` was given explicitly when `explicit_type`) and
    /// rewrites it to its config's form. The inner error is the per-score message.
    pub(crate) async fn check(
        &mut self,
        score: &mut ScoreBody,
        explicit_type: bool,
    ) -> Result<std::result::Result<(), String>> {
        let Some(config_id) = score.config_id.clone() else {
            return Ok(Ok(()));
        };
        let Some(config) = self.config(&config_id).await? else {
            return Ok(Err(format!(
                "configId {config_id:?} does not name a score config of this project"
            )));
        };
        let input = match &score.value {
            ScoreValue::Number(number) => ScoreInput::Number(*number),
            ScoreValue::Text(label) => ScoreInput::Text(label),
        };
        let data_type = explicit_type.then_some(score.data_type);
        let checked = match check_score_value(config, data_type, &input) {
            Ok(checked) => checked,
            Err(message) => return Ok(Err(message)),
        };
        score.data_type = config.data_type;
        score.value = match (config.data_type, checked.string_value) {
            (ScoreDataType::Categorical, Some(label)) => ScoreValue::Text(label),
            _ => ScoreValue::Number(checked.value),
        };
        Ok(Ok(()))
    }

    /// Checks the `score-create` events of a batch; a rejected one becomes an invalid event
    /// (`body.configId` / `body.value`), an accepted one gets its rewritten value and type.
    pub(crate) async fn check_events(&mut self, events: &mut [ParsedEvent]) -> Result<()> {
        for parsed in events.iter_mut() {
            let Ok(event) = &mut parsed.result else {
                continue;
            };
            if event.event_type != EventType::ScoreCreate
                || event.body.get("configId").is_none_or(Value::is_null)
            {
                continue;
            }
            let explicit_type = event.body.get("dataType").is_some_and(|t| !t.is_null());
            let Ok(mut score) = periscope_core::langfuse::parse_score_event(event) else {
                continue;
            };
            match self.check(&mut score, explicit_type).await? {
                Err(message) => {
                    let field = if message.starts_with("value") {
                        "body.value"
                    } else {
                        "body.configId"
                    };
                    parsed.result = Err(EventError::invalid(field, message));
                }
                Ok(()) => {
                    if let Value::Object(body) = &mut event.body {
                        let value = match &score.value {
                            ScoreValue::Number(number) => json!(number),
                            ScoreValue::Text(label) => json!(label),
                        };
                        body.insert("value".to_owned(), value);
                        body.insert("dataType".to_owned(), json!(score.data_type.as_str()));
                    }
                }
            }
        }
        Ok(())
    }
}
