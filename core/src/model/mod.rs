//! The domain model: traces, observations (all ten types), scores and sessions, as partial
//! records that merge order-independently, and the merged views that the stores return.

mod enums;
mod merge;
pub use merge::{decode_json_string, merge_earliest};
mod records;
mod views;

pub use enums::{Level, ObservationType, ScoreDataType, ScoreSource};
pub use records::{CostSource, ObservationRecord, PriceSnapshot, Record, ScoreRecord, TraceRecord};
pub use views::{DailyMetrics, DailyModelUsage, Page, PageMeta, Session, Trace, cost_total};
