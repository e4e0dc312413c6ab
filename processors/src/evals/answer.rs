//! Reading a judge's answer: the JSON object `{"reasoning": .., "score": ..}` wherever it is
//! (alone, in a code fence, or inside prose), coerced to the template's output type.

use periscope_core::evals::OutputSpec;
use serde_json::{Map, Value};

/// A parsed judgement.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    /// The numeric value: the number, 1/0 for booleans, the category's index for categories.
    pub value: f64,
    /// `True`/`False` for booleans, the category for categorical outputs.
    pub label: Option<String>,
    pub reasoning: Option<String>,
}

/// The keys a score may hide under, in order of preference.
const SCORE_KEYS: [&str; 5] = ["score", "value", "result", "verdict", "label"];
const REASONING_KEYS: [&str; 4] = ["reasoning", "reason", "explanation", "rationale"];

/// Parses a judge's answer for `output`; the error says what was wrong, for the job's record.
pub fn parse_answer(content: &str, output: &OutputSpec) -> Result<Verdict, String> {
    let trimmed = content.trim();
    if trimmed.is_empty() {
        return Err("the judge answered with an empty message".to_owned());
    }
    for object in json_objects(trimmed) {
        let Some(score) = SCORE_KEYS.iter().find_map(|key| object.get(*key)) else {
            continue;
        };
        let reasoning = REASONING_KEYS
            .iter()
            .find_map(|key| object.get(*key))
            .map(|value| match value {
                Value::String(text) => text.clone(),
                other => other.to_string(),
            });
        let (value, label) = coerce(score, output)?;
        return Ok(Verdict {
            value,
            label,
            reasoning,
        });
    }
    // No object: a bare answer such as `1`, `true` or `"Relevant"`.
    let bare = trimmed.trim_matches(|c: char| c == '"' || c == '`' || c == '.');
    let scalar = serde_json::from_str::<Value>(bare).unwrap_or_else(|_| Value::from(bare));
    match coerce(&scalar, output) {
        Ok((value, label)) => Ok(Verdict {
            value,
            label,
            reasoning: None,
        }),
        Err(_) => Err(format!(
            "the judge's answer holds no JSON object with a score: {}",
            excerpt(trimmed)
        )),
    }
}

/// Returns the JSON objects in `text`: the whole text, then code-fenced blocks, then every
/// balanced `{...}` span, in order.
fn json_objects(text: &str) -> Vec<Map<String, Value>> {
    let mut candidates: Vec<&str> = vec![text];
    let mut rest = text;
    while let Some(start) = rest.find("```") {
        let after = &rest[start + 3..];
        let Some(end) = after.find("```") else { break };
        let block = &after[..end];
        // Drop a language tag such as `json` on the fence's first line.
        let body = block.split_once('\n').map_or(block, |(first, body)| {
            if first.trim().chars().all(char::is_alphanumeric) {
                body
            } else {
                block
            }
        });
        candidates.push(body);
        rest = &after[end + 3..];
    }
    candidates.extend(balanced_spans(text));
    candidates
        .into_iter()
        .filter_map(|candidate| match serde_json::from_str(candidate.trim()) {
            Ok(Value::Object(object)) => Some(object),
            _ => None,
        })
        .collect()
}

/// Returns every outermost `{...}` span whose braces balance, skipping braces inside strings.
fn balanced_spans(text: &str) -> Vec<&str> {
    let mut spans = Vec::new();
    let (mut depth, mut start, mut in_string, mut escaped) = (0usize, 0usize, false, false);
    for (index, c) in text.char_indices() {
        if in_string {
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' if depth > 0 => in_string = true,
            '{' => {
                if depth == 0 {
                    start = index;
                }
                depth += 1;
            }
            '}' if depth > 0 => {
                depth -= 1;
                if depth == 0 {
                    spans.push(&text[start..=index]);
                }
            }
            _ => {}
        }
    }
    spans
}

fn coerce(score: &Value, output: &OutputSpec) -> Result<(f64, Option<String>), String> {
    match output {
        OutputSpec::Numeric { min, max } => {
            let value = match score {
                Value::Number(number) => number.as_f64(),
                Value::String(text) => text.trim().parse::<f64>().ok(),
                Value::Bool(flag) => Some(if *flag { 1.0 } else { 0.0 }),
                _ => None,
            }
            .filter(|value| value.is_finite())
            .ok_or_else(|| format!("score {score} is not a number"))?;
            if min.is_some_and(|min| value < min) || max.is_some_and(|max| value > max) {
                return Err(format!(
                    "score {value} is outside [{}, {}]",
                    min.map_or("-inf".to_owned(), |m| m.to_string()),
                    max.map_or("+inf".to_owned(), |m| m.to_string())
                ));
            }
            Ok((value, None))
        }
        OutputSpec::Boolean => {
            let flag = match score {
                Value::Bool(flag) => Some(*flag),
                Value::Number(number) => match number.as_f64() {
                    Some(1.0) => Some(true),
                    Some(0.0) => Some(false),
                    _ => None,
                },
                Value::String(text) => match text.trim().to_lowercase().as_str() {
                    "true" | "yes" | "pass" | "1" | "y" => Some(true),
                    "false" | "no" | "fail" | "0" | "n" => Some(false),
                    _ => None,
                },
                _ => None,
            }
            .ok_or_else(|| format!("score {score} is not a boolean"))?;
            let label = if flag { "True" } else { "False" };
            Ok((if flag { 1.0 } else { 0.0 }, Some(label.to_owned())))
        }
        OutputSpec::Categorical { categories } => {
            let Value::String(text) = score else {
                return Err(format!("score {score} is not one of the categories"));
            };
            let wanted = text.trim();
            categories
                .iter()
                .position(|category| category.eq_ignore_ascii_case(wanted))
                .map(|index| (index as f64, Some(categories[index].clone())))
                .ok_or_else(|| {
                    format!(
                        "score {wanted:?} is not one of the categories {}",
                        categories.join(", ")
                    )
                })
        }
    }
}

/// Returns at most 200 characters of `text`, for failure messages.
pub(crate) fn excerpt(text: &str) -> String {
    let mut cut: String = text.chars().take(200).collect();
    if cut.len() < text.len() {
        cut.push('…');
    }
    cut
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit() -> OutputSpec {
        OutputSpec::Numeric {
            min: Some(0.0),
            max: Some(1.0),
        }
    }

    #[test]
    fn json_is_found_alone_in_fences_and_inside_prose() {
        let plain = parse_answer(r#"{"reasoning": "ok", "score": 1}"#, &unit()).unwrap();
        assert_eq!((plain.value, plain.reasoning.as_deref()), (1.0, Some("ok")));
        let fenced = "Here you go:\n```json\n{\"score\": 0.5, \"reason\": \"half\"}\n```";
        assert_eq!(parse_answer(fenced, &unit()).unwrap().value, 0.5);
        let prose = r#"I think {"note": "x {y}"} and then {"score": "0", "reasoning": "no"}."#;
        let verdict = parse_answer(prose, &unit()).unwrap();
        assert_eq!(
            (verdict.value, verdict.reasoning.as_deref()),
            (0.0, Some("no"))
        );
        assert_eq!(parse_answer("1", &unit()).unwrap().value, 1.0);
    }

    #[test]
    fn booleans_and_categories_are_coerced() {
        let yes = parse_answer(r#"{"score": "Yes"}"#, &OutputSpec::Boolean).unwrap();
        assert_eq!((yes.value, yes.label.as_deref()), (1.0, Some("True")));
        let no = parse_answer("false", &OutputSpec::Boolean).unwrap();
        assert_eq!(no.label.as_deref(), Some("False"));
        let categories = OutputSpec::Categorical {
            categories: vec!["good".into(), "bad".into()],
        };
        let bad = parse_answer(r#"{"score": " BAD "}"#, &categories).unwrap();
        assert_eq!((bad.value, bad.label.as_deref()), (1.0, Some("bad")));
        assert!(parse_answer(r#"{"score": "meh"}"#, &categories).is_err());
    }

    #[test]
    fn garbage_and_out_of_range_scores_are_refused_with_a_reason() {
        let error = parse_answer("I cannot judge this.", &unit()).unwrap_err();
        assert!(error.contains("no JSON object"), "{error}");
        let error = parse_answer(r#"{"score": 7}"#, &unit()).unwrap_err();
        assert!(error.contains("outside"), "{error}");
        assert!(parse_answer("   ", &unit()).is_err());
    }
}
