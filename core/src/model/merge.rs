//! Merge rules for partial records.
//!
//! Records arrive in any order and may be delivered more than once (the pipeline is
//! at-least-once), so every merge is idempotent, and as order-independent as Langfuse's
//! semantics allow: the record with the newer `event_time` wins a conflicting scalar field,
//! `None` never erases, metadata merges key-wise, tags union, and the fields Langfuse declares
//! immutable keep their first (earliest) value.

use std::collections::BTreeMap;

use serde_json::Value;

use super::enums::ObservationType;
use super::records::{CostSource, ObservationRecord, TraceRecord};

/// Sets `current` from `incoming` when the incoming record is newer, or when `current` is empty.
fn merge_scalar<T>(current: &mut Option<T>, incoming: Option<T>, incoming_is_newer: bool) {
    if incoming.is_some() && (incoming_is_newer || current.is_none()) {
        *current = incoming;
    }
}

/// Keeps the earliest of two optional values (a missing one never wins).
pub fn merge_earliest<T: Ord>(current: &mut Option<T>, incoming: Option<T>) {
    *current = match (current.take(), incoming) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
}

/// Keeps the first value ever set: immutable fields.
fn merge_immutable<T>(current: &mut Option<T>, incoming: Option<T>) {
    if current.is_none() {
        *current = incoming;
    }
}

fn merge_map<V>(current: &mut BTreeMap<String, V>, incoming: BTreeMap<String, V>, newer: bool) {
    for (key, value) in incoming {
        if newer || !current.contains_key(&key) {
            current.insert(key, value);
        }
    }
}

impl TraceRecord {
    /// Merges a later-applied partial record into this one.
    pub fn merge(&mut self, incoming: TraceRecord) {
        debug_assert_eq!(self.id, incoming.id);
        let newer = incoming.event_time >= self.event_time;
        let carries_fields = incoming.carries_mutable_fields();
        merge_earliest(&mut self.timestamp, incoming.timestamp);
        merge_scalar(&mut self.name, incoming.name, newer);
        merge_scalar(&mut self.user_id, incoming.user_id, newer);
        merge_scalar(&mut self.session_id, incoming.session_id, newer);
        merge_scalar(&mut self.release, incoming.release, newer);
        merge_scalar(&mut self.version, incoming.version, newer);
        merge_immutable(&mut self.environment, incoming.environment);
        merge_scalar(&mut self.input, incoming.input, newer);
        merge_scalar(&mut self.output, incoming.output, newer);
        merge_map(&mut self.metadata, incoming.metadata, newer);
        for tag in incoming.tags {
            if let Err(position) = self.tags.binary_search(&tag) {
                self.tags.insert(position, tag);
            }
        }
        merge_scalar(&mut self.public, incoming.public, newer);
        // A bare reference (an observation naming its trace) must not make the trace look
        // newer than a real update that is merged later.
        if carries_fields {
            self.event_time = self.event_time.max(incoming.event_time);
        }
    }

    /// Returns true when the record sets any field a later record could conflict with.
    fn carries_mutable_fields(&self) -> bool {
        self.name.is_some()
            || self.user_id.is_some()
            || self.session_id.is_some()
            || self.release.is_some()
            || self.version.is_some()
            || self.input.is_some()
            || self.output.is_some()
            || !self.metadata.is_empty()
            || !self.tags.is_empty()
            || self.public.is_some()
    }
}

impl ObservationRecord {
    /// Merges a later-applied partial record into this one and recomputes the derived costs.
    pub fn merge(&mut self, incoming: ObservationRecord) {
        debug_assert_eq!(self.id, incoming.id);
        let newer = incoming.event_time >= self.event_time;
        if self.trace_id.is_empty() {
            self.trace_id = incoming.trace_id;
        }
        merge_scalar(
            &mut self.parent_observation_id,
            incoming.parent_observation_id,
            newer,
        );
        merge_scalar(&mut self.observation_type, incoming.observation_type, newer);
        merge_scalar(&mut self.name, incoming.name, newer);
        merge_earliest(&mut self.start_time, incoming.start_time);
        merge_scalar(&mut self.end_time, incoming.end_time, newer);
        merge_scalar(
            &mut self.completion_start_time,
            incoming.completion_start_time,
            newer,
        );
        merge_scalar(&mut self.model, incoming.model, newer);
        merge_scalar(&mut self.model_parameters, incoming.model_parameters, newer);
        merge_scalar(&mut self.input, incoming.input, newer);
        merge_scalar(&mut self.output, incoming.output, newer);
        merge_map(&mut self.metadata, incoming.metadata, newer);
        merge_scalar(&mut self.level, incoming.level, newer);
        merge_scalar(&mut self.status_message, incoming.status_message, newer);
        merge_scalar(&mut self.version, incoming.version, newer);
        merge_immutable(&mut self.environment, incoming.environment);
        // Usage is reported as a whole object; a real report replaces an estimate.
        let replace_usage = !incoming.usage_details.is_empty()
            && (self.usage_details.is_empty()
                || (self.usage_estimated && !incoming.usage_estimated)
                || (newer && self.usage_estimated == incoming.usage_estimated));
        if replace_usage {
            self.usage_details = incoming.usage_details;
            self.usage_estimated = incoming.usage_estimated;
        }
        merge_map(&mut self.cost_details, incoming.cost_details, newer);
        merge_scalar(&mut self.prompt_name, incoming.prompt_name, newer);
        merge_scalar(&mut self.prompt_version, incoming.prompt_version, newer);
        merge_scalar(&mut self.price, incoming.price, newer);
        self.event_time = self.event_time.max(incoming.event_time);
        self.finalize_costs();
    }

    /// Derives `calculated_cost_details` and `cost_source`: client costs win; otherwise usage ×
    /// price; a model with usage but no price is flagged `Unpriced`.
    pub fn finalize_costs(&mut self) {
        self.calculated_cost_details.clear();
        self.cost_source = None;
        if !self.cost_details.is_empty() {
            let mut costs = self.cost_details.clone();
            if !costs.contains_key("total") {
                let total = costs.values().sum();
                costs.insert("total".to_owned(), total);
            }
            self.calculated_cost_details = costs;
            self.cost_source = Some(CostSource::Client);
            return;
        }
        if let Some(price) = &self.price {
            let mut costs = BTreeMap::new();
            for (usage_key, units) in &self.usage_details {
                if usage_key == "total" {
                    continue;
                }
                if let Some(unit_price) = price.prices.get(usage_key) {
                    costs.insert(usage_key.clone(), *units as f64 * unit_price);
                }
            }
            if !costs.is_empty() {
                let total = costs.values().sum();
                costs.insert("total".to_owned(), total);
                self.calculated_cost_details = costs;
                self.cost_source = Some(CostSource::Calculated);
                return;
            }
        }
        let uses_model = self.model.is_some()
            && matches!(
                self.observation_type,
                Some(ObservationType::Generation | ObservationType::Embedding)
            );
        if uses_model && !self.usage_details.is_empty() {
            self.cost_source = Some(CostSource::Unpriced);
        }
    }
}

/// Returns `value` parsed as JSON when it is a string holding JSON, else `value` itself.
///
/// The Langfuse SDK JSON-encodes metadata values (`"\"eu\""`) while plain OTel senders send them
/// raw (`"ml"`); both read back as the natural value.
pub fn decode_json_string(value: &Value) -> Value {
    match value {
        Value::String(text) => serde_json::from_str(text).unwrap_or_else(|_| value.clone()),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::records::PriceSnapshot;
    use chrono::{DateTime, TimeZone, Utc};
    use serde_json::json;

    fn at(second: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 27, 1, 0, second)
            .single()
            .unwrap()
    }

    fn trace(event_second: u32) -> TraceRecord {
        TraceRecord {
            project_id: "p".into(),
            id: "t".into(),
            event_time: at(event_second),
            ..Default::default()
        }
    }

    #[test]
    fn trace_merge_is_order_independent_for_disjoint_and_conflicting_fields() {
        let mut a = trace(1);
        a.name = Some("old".into());
        a.tags = vec!["x".into()];
        a.metadata.insert("k".into(), json!(1));
        a.timestamp = Some(at(5));
        let mut b = trace(2);
        b.name = Some("new".into());
        b.user_id = Some("u".into());
        b.tags = vec!["a".into(), "x".into()];
        b.timestamp = Some(at(3));

        let mut ab = a.clone();
        ab.merge(b.clone());
        let mut ba = b.clone();
        ba.merge(a.clone());
        assert_eq!(ab, ba);
        assert_eq!(ab.name.as_deref(), Some("new"));
        assert_eq!(ab.tags, vec!["a".to_string(), "x".to_string()]);
        assert_eq!(ab.timestamp, Some(at(3)));
        assert_eq!(ab.metadata.get("k"), Some(&json!(1)));
    }

    #[test]
    fn merging_the_same_record_twice_changes_nothing() {
        let mut a = trace(1);
        a.name = Some("n".into());
        a.tags = vec!["t".into()];
        let mut once = a.clone();
        once.merge(a.clone());
        assert_eq!(once, a);
    }

    fn generation() -> ObservationRecord {
        ObservationRecord {
            project_id: "p".into(),
            id: "o".into(),
            trace_id: "t".into(),
            observation_type: Some(ObservationType::Generation),
            model: Some("gpt-4o".into()),
            usage_details: [("input".to_string(), 1000), ("output".to_string(), 10)].into(),
            event_time: at(1),
            ..Default::default()
        }
    }

    #[test]
    fn client_costs_win_over_calculated_costs() {
        let mut o = generation();
        o.price = Some(PriceSnapshot {
            model_id: "m".into(),
            model_name: "gpt-4o".into(),
            prices: [("input".to_string(), 0.001)].into(),
        });
        o.finalize_costs();
        assert_eq!(o.cost_source, Some(CostSource::Calculated));
        assert_eq!(o.calculated_cost_details.get("total"), Some(&1.0));
        o.cost_details.insert("input".into(), 0.5);
        o.finalize_costs();
        assert_eq!(o.cost_source, Some(CostSource::Client));
        assert_eq!(o.calculated_cost_details.get("total"), Some(&0.5));
    }

    #[test]
    fn a_generation_without_price_is_flagged_unpriced() {
        let mut o = generation();
        o.finalize_costs();
        assert_eq!(o.cost_source, Some(CostSource::Unpriced));
        assert!(o.calculated_cost_details.is_empty());
    }

    #[test]
    fn real_usage_replaces_an_estimate_whatever_the_order() {
        let mut estimated = generation();
        estimated.usage_estimated = true;
        estimated.usage_details = [("input".to_string(), 7)].into();
        estimated.event_time = at(9);
        let real = generation();
        let mut a = estimated.clone();
        a.merge(real.clone());
        let mut b = real.clone();
        b.merge(estimated);
        assert_eq!(a.usage_details, real.usage_details);
        assert_eq!(b.usage_details, real.usage_details);
    }

    #[test]
    fn json_strings_decode_but_plain_strings_stay() {
        assert_eq!(decode_json_string(&json!("\"eu\"")), json!("eu"));
        assert_eq!(decode_json_string(&json!("3")), json!(3));
        assert_eq!(decode_json_string(&json!("ml")), json!("ml"));
    }
}
