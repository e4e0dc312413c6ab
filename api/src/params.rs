//! Query-string parsing shared by the list endpoints.
//!
//! The raw pairs are kept because Langfuse repeats parameters (`tags=a&tags=b`,
//! `environment=x&environment=y`). An empty value (`userId=`) counts as absent, since clients
//! send empty parameters for unset filters. Unknown parameters are ignored, as Langfuse does,
//! except the few that would change the result and that Periscope cannot serve: those are
//! refused (`reject_unsupported`) rather than silently ignored.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use periscope_core::store::{PageRequest, SortOrder, TraceOrderField, ValueRange};

use crate::error::{ApiError, Result};

/// Default page size of every paginated endpoint.
pub(crate) const DEFAULT_LIMIT: u64 = 50;

/// Largest page size of the page-based (v1) endpoints; larger requests get 400, as in Langfuse.
pub(crate) const MAX_LIMIT: u64 = 100;

/// Which numbers a numeric parameter accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Sign {
    /// Any finite number (scores may be negative).
    Any,
    /// Zero or more (costs, durations).
    NonNegative,
}

/// The decoded query string of one request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct QueryParams {
    pairs: Vec<(String, String)>,
}

impl QueryParams {
    /// Decodes a raw query string (`a=1&b=x%20y`); `None` is an empty query.
    pub(crate) fn parse(raw: Option<&str>) -> Self {
        let pairs = raw
            .map(|raw| {
                form_urlencoded::parse(raw.as_bytes())
                    .into_owned()
                    .collect()
            })
            .unwrap_or_default();
        Self { pairs }
    }

    /// Returns the first non-empty value of `name`.
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(key, value)| key == name && !value.is_empty())
            .map(|(_, value)| value.as_str())
    }

    /// Returns the first non-empty value of `name`, owned.
    pub(crate) fn string(&self, name: &str) -> Option<String> {
        self.get(name).map(str::to_owned)
    }

    /// Returns every non-empty value of a repeatable parameter, in order.
    pub(crate) fn all(&self, name: &str) -> Vec<String> {
        self.pairs
            .iter()
            .filter(|(key, value)| key == name && !value.is_empty())
            .map(|(_, value)| value.clone())
            .collect()
    }

    /// Returns a positive integer parameter.
    pub(crate) fn positive_integer(&self, name: &'static str) -> Result<Option<u64>> {
        let Some(value) = self.get(name) else {
            return Ok(None);
        };
        match value.trim().parse::<u64>() {
            Ok(0) => Err(ApiError::parameter(name, "must be at least 1")),
            Ok(number) => Ok(Some(number)),
            Err(_) => Err(ApiError::parameter(
                name,
                format!("expected a positive integer, got {value:?}"),
            )),
        }
    }

    /// Returns the page size: `DEFAULT_LIMIT` when absent, 400 above `max`.
    pub(crate) fn limit(&self, max: u64) -> Result<u64> {
        let limit = self.positive_integer("limit")?.unwrap_or(DEFAULT_LIMIT);
        if limit > max {
            return Err(ApiError::parameter(
                "limit",
                format!("must be at most {max}, got {limit}"),
            ));
        }
        Ok(limit)
    }

    /// Returns the page (`page`, 1-based) and page size (`limit`, at most `MAX_LIMIT`).
    pub(crate) fn page(&self) -> Result<PageRequest> {
        Ok(PageRequest {
            page: self.positive_integer("page")?.unwrap_or(1),
            limit: self.limit(MAX_LIMIT)?,
        })
    }

    /// Returns an ISO-8601 time parameter (see `parse_datetime`).
    pub(crate) fn datetime(&self, name: &'static str) -> Result<Option<DateTime<Utc>>> {
        self.get(name)
            .map(|value| parse_datetime(value).map_err(|reason| ApiError::parameter(name, reason)))
            .transpose()
    }

    /// Returns a boolean parameter (`true`/`false`, any case).
    pub(crate) fn boolean(&self, name: &'static str) -> Result<Option<bool>> {
        let Some(value) = self.get(name) else {
            return Ok(None);
        };
        if value.eq_ignore_ascii_case("true") {
            Ok(Some(true))
        } else if value.eq_ignore_ascii_case("false") {
            Ok(Some(false))
        } else {
            Err(ApiError::parameter(
                name,
                format!("expected true or false, got {value:?}"),
            ))
        }
    }

    /// Returns a parameter parsed by `parse`; `expected` lists the accepted values for the
    /// error message.
    pub(crate) fn parsed<T>(
        &self,
        name: &'static str,
        parse: fn(&str) -> Option<T>,
        expected: &str,
    ) -> Result<Option<T>> {
        let Some(value) = self.get(name) else {
            return Ok(None);
        };
        parse(value).map(Some).ok_or_else(|| {
            ApiError::parameter(name, format!("expected one of {expected}, got {value:?}"))
        })
    }

    /// Returns a finite decimal parameter (`0.5`, `2`, `1e-3`).
    pub(crate) fn number(&self, name: &'static str, sign: Sign) -> Result<Option<f64>> {
        let Some(value) = self.get(name) else {
            return Ok(None);
        };
        let number = value
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|number| number.is_finite())
            .ok_or_else(|| {
                ApiError::parameter(name, format!("expected a number, got {value:?}"))
            })?;
        if sign == Sign::NonNegative && number < 0.0 {
            return Err(ApiError::parameter(
                name,
                format!("must not be negative, got {value:?}"),
            ));
        }
        Ok(Some(number))
    }

    /// Returns the inclusive range given by a pair of bounds; a lower bound above the upper
    /// one is refused rather than answered with an empty page, since it is always a mistake.
    pub(crate) fn range(
        &self,
        min_name: &'static str,
        max_name: &'static str,
        sign: Sign,
    ) -> Result<ValueRange> {
        let range = ValueRange {
            min: self.number(min_name, sign)?,
            max: self.number(max_name, sign)?,
        };
        if let (Some(min), Some(max)) = (range.min, range.max)
            && min > max
        {
            return Err(ApiError::parameter(
                min_name,
                format!("must not be greater than {max_name} ({min} > {max})"),
            ));
        }
        Ok(range)
    }

    /// Refuses parameters whose filtering Periscope does not implement, so that a client never
    /// mistakes an unfiltered answer for a filtered one.
    pub(crate) fn reject_unsupported(&self, names: &[&'static str]) -> Result<()> {
        match names.iter().find(|name| self.get(name).is_some()) {
            Some(name) => Err(ApiError::parameter(name, "is not supported by this server")),
            None => Ok(()),
        }
    }
}

/// Parses an ISO-8601 time: RFC 3339 with `Z` or an offset, a naive date-time (taken as UTC)
/// or a bare date (midnight UTC).
pub(crate) fn parse_datetime(value: &str) -> std::result::Result<DateTime<Utc>, String> {
    let value = value.trim();
    if let Ok(time) = DateTime::parse_from_rfc3339(value) {
        return Ok(time.with_timezone(&Utc));
    }
    // An unescaped `+01:00` in a hand-written URL arrives as ` 01:00`.
    if let Ok(time) = DateTime::parse_from_rfc3339(&value.replace(' ', "+")) {
        return Ok(time.with_timezone(&Utc));
    }
    if let Ok(time) = NaiveDateTime::parse_from_str(value, "%Y-%m-%dT%H:%M:%S%.f") {
        return Ok(time.and_utc());
    }
    if let Some(midnight) = NaiveDate::parse_from_str(value, "%Y-%m-%d")
        .ok()
        .and_then(|date| date.and_hms_opt(0, 0, 0))
    {
        return Ok(midnight.and_utc());
    }
    Err(format!(
        "expected an ISO-8601 date-time such as 2026-11-27T01:40:51.684Z, got {value:?}"
    ))
}

/// Parses `orderBy` (`timestamp.desc`, `name.asc`, or a bare field meaning descending).
pub(crate) fn parse_trace_order(value: &str) -> Result<(TraceOrderField, SortOrder)> {
    let (field, direction) = value.split_once('.').unwrap_or((value, "desc"));
    let field = match field {
        "timestamp" => TraceOrderField::Timestamp,
        "name" => TraceOrderField::Name,
        "userId" => TraceOrderField::UserId,
        "sessionId" => TraceOrderField::SessionId,
        "release" => TraceOrderField::Release,
        "version" => TraceOrderField::Version,
        other => {
            return Err(ApiError::parameter(
                "orderBy",
                format!(
                    "unknown field {other:?}; expected timestamp, name, userId, sessionId, \
                     release or version"
                ),
            ));
        }
    };
    let order = if direction.eq_ignore_ascii_case("asc") {
        SortOrder::Asc
    } else if direction.eq_ignore_ascii_case("desc") {
        SortOrder::Desc
    } else {
        return Err(ApiError::parameter(
            "orderBy",
            format!("unknown direction {direction:?}; expected asc or desc"),
        ));
    };
    Ok((field, order))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn params(raw: &str) -> QueryParams {
        QueryParams::parse(Some(raw))
    }

    fn message(error: ApiError) -> String {
        error.to_string()
    }

    #[test]
    fn repeated_and_encoded_values_are_kept_in_order() {
        let p = params("tags=a&tags=b%20c&environment=prod&tags=&userId=u%2B1");
        assert_eq!(p.all("tags"), vec!["a".to_owned(), "b c".to_owned()]);
        assert_eq!(p.all("environment"), vec!["prod".to_owned()]);
        assert_eq!(p.get("userId"), Some("u+1"));
        assert_eq!(p.get("name"), None);
    }

    #[test]
    fn empty_values_count_as_absent() {
        let p = params("userId=&page=");
        assert_eq!(p.get("userId"), None);
        assert_eq!(
            p.page().unwrap(),
            PageRequest {
                page: 1,
                limit: DEFAULT_LIMIT
            }
        );
    }

    #[test]
    fn page_defaults_and_bounds() {
        assert_eq!(
            QueryParams::parse(None).page().unwrap(),
            PageRequest { page: 1, limit: 50 }
        );
        assert_eq!(
            params("page=3&limit=100").page().unwrap(),
            PageRequest {
                page: 3,
                limit: 100
            }
        );
        assert_eq!(
            message(params("limit=101").page().unwrap_err()),
            "invalid query parameter limit: must be at most 100, got 101"
        );
        assert_eq!(
            message(params("page=0").page().unwrap_err()),
            "invalid query parameter page: must be at least 1"
        );
        assert_eq!(
            message(params("page=two").page().unwrap_err()),
            "invalid query parameter page: expected a positive integer, got \"two\""
        );
        assert!(params("limit=-5").page().is_err());
        assert_eq!(params("limit=1000").limit(1000).unwrap(), 1000);
    }

    #[test]
    fn datetimes_accept_the_usual_iso_forms() {
        let expected = Utc.with_ymd_and_hms(2026, 11, 27, 1, 40, 51).unwrap();
        for value in [
            "2026-11-27T01:40:51Z",
            "2026-11-27T01:40:51.000Z",
            "2026-11-27T02:40:51+01:00",
            "2026-11-27T01:40:51",
        ] {
            assert_eq!(parse_datetime(value).unwrap(), expected, "{value}");
        }
        assert_eq!(
            parse_datetime("2026-11-27").unwrap(),
            Utc.with_ymd_and_hms(2026, 11, 27, 0, 0, 0).unwrap()
        );
        // `+` in a query string decodes to a space unless escaped; %2B keeps the offset.
        let p = params(
            "fromTimestamp=2026-11-27T02%3A40%3A51%2B01%3A00&toTimestamp=2026-11-27T02:40:51+01:00",
        );
        assert_eq!(p.datetime("fromTimestamp").unwrap(), Some(expected));
        assert_eq!(p.datetime("toTimestamp").unwrap(), Some(expected));
        let error = params("toTimestamp=yesterday")
            .datetime("toTimestamp")
            .unwrap_err();
        assert!(
            message(error).starts_with("invalid query parameter toTimestamp: expected an ISO-8601")
        );
    }

    #[test]
    fn enum_parameters_list_the_accepted_values() {
        let p = params("type=generation&level=LOUD");
        let parsed = p.parsed(
            "type",
            periscope_core::model::ObservationType::parse,
            "SPAN, ...",
        );
        assert_eq!(
            parsed.unwrap(),
            Some(periscope_core::model::ObservationType::Generation)
        );
        let error = p
            .parsed(
                "level",
                periscope_core::model::Level::parse,
                "DEBUG, DEFAULT",
            )
            .unwrap_err();
        assert_eq!(
            message(error),
            "invalid query parameter level: expected one of DEBUG, DEFAULT, got \"LOUD\""
        );
    }

    #[test]
    fn booleans_and_unsupported_parameters() {
        assert_eq!(
            params("parseIoAsJson=TRUE")
                .boolean("parseIoAsJson")
                .unwrap(),
            Some(true)
        );
        assert!(
            params("parseIoAsJson=yes")
                .boolean("parseIoAsJson")
                .is_err()
        );
        assert!(
            params("fields=core")
                .reject_unsupported(&["filter"])
                .is_ok()
        );
        assert_eq!(
            message(
                params("filter=%5B%5D")
                    .reject_unsupported(&["filter"])
                    .unwrap_err()
            ),
            "invalid query parameter filter: is not supported by this server"
        );
    }

    #[test]
    fn numbers_are_finite_and_signed_as_asked() {
        let p = params("a=0.25&b=-2&c=1e-3&d=abc&e=NaN&f=inf&g=%202%20");
        assert_eq!(p.number("a", Sign::NonNegative).unwrap(), Some(0.25));
        assert_eq!(p.number("b", Sign::Any).unwrap(), Some(-2.0));
        assert_eq!(p.number("c", Sign::NonNegative).unwrap(), Some(0.001));
        assert_eq!(p.number("g", Sign::Any).unwrap(), Some(2.0));
        assert_eq!(p.number("missing", Sign::Any).unwrap(), None);
        assert_eq!(
            message(p.number("b", Sign::NonNegative).unwrap_err()),
            "invalid query parameter b: must not be negative, got \"-2\""
        );
        for name in ["d", "e", "f"] {
            let error = p.number(name, Sign::Any).unwrap_err();
            assert!(
                message(error).starts_with(&format!(
                    "invalid query parameter {name}: expected a number"
                )),
                "{name}"
            );
        }
    }

    #[test]
    fn ranges_are_inclusive_pairs_with_min_not_above_max() {
        let open = params("").range("minCost", "maxCost", Sign::NonNegative);
        assert_eq!(open.unwrap(), ValueRange::default());
        let equal = params("minCost=1&maxCost=1").range("minCost", "maxCost", Sign::NonNegative);
        assert_eq!(
            equal.unwrap(),
            ValueRange {
                min: Some(1.0),
                max: Some(1.0)
            }
        );
        let half = params("maxCost=0.5").range("minCost", "maxCost", Sign::NonNegative);
        assert_eq!(
            half.unwrap(),
            ValueRange {
                min: None,
                max: Some(0.5)
            }
        );
        let inverted = params("minCost=2&maxCost=0.5")
            .range("minCost", "maxCost", Sign::NonNegative)
            .unwrap_err();
        assert_eq!(
            message(inverted),
            "invalid query parameter minCost: must not be greater than maxCost (2 > 0.5)"
        );
        let bad_max = params("minCost=1&maxCost=lots")
            .range("minCost", "maxCost", Sign::NonNegative)
            .unwrap_err();
        assert!(message(bad_max).starts_with("invalid query parameter maxCost"));
    }

    #[test]
    fn trace_order_parses_field_and_direction() {
        assert_eq!(
            parse_trace_order("timestamp.asc").unwrap(),
            (TraceOrderField::Timestamp, SortOrder::Asc)
        );
        assert_eq!(
            parse_trace_order("userId.DESC").unwrap(),
            (TraceOrderField::UserId, SortOrder::Desc)
        );
        assert_eq!(
            parse_trace_order("name").unwrap(),
            (TraceOrderField::Name, SortOrder::Desc)
        );
        assert!(message(parse_trace_order("latency.desc").unwrap_err()).contains("unknown field"));
        assert!(message(parse_trace_order("name.up").unwrap_err()).contains("unknown direction"));
    }
}
