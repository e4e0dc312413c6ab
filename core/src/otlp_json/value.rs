//! Scalar and attribute decoding: integers given as strings or numbers, hex ids, base64
//! bytes, enums by number or name, and `AnyValue`/`KeyValue` trees.

use base64::Engine as _;
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use periscope_proto::otlp_common::any_value::Value as Any;
use periscope_proto::otlp_common::{AnyValue, ArrayValue, EntityRef, KeyValue, KeyValueList};
use serde_json::{Map, Value};

use super::path::JsonPath;
use super::{FieldProblem, OtlpJsonError, Result};

/// Protobuf JSON accepts base64 with or without padding, in the standard or URL-safe alphabet.
const BASE64_STANDARD: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);
const BASE64_URL_SAFE: GeneralPurpose = GeneralPurpose::new(
    &alphabet::URL_SAFE,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Returns an error for the field at `path`.
pub(super) fn field_error(path: &JsonPath<'_>, problem: FieldProblem) -> OtlpJsonError {
    OtlpJsonError::Field {
        path: path.render(),
        problem,
    }
}

/// Returns the members of an object.
pub(super) fn into_object(value: Value, path: &JsonPath<'_>) -> Result<Map<String, Value>> {
    match value {
        Value::Object(map) => Ok(map),
        _ => Err(field_error(path, FieldProblem::ExpectedObject)),
    }
}

/// Returns a string, moved out of the tree.
pub(super) fn into_string(value: Value, path: &JsonPath<'_>) -> Result<String> {
    match value {
        Value::String(text) => Ok(text),
        _ => Err(field_error(path, FieldProblem::ExpectedString)),
    }
}

/// Decodes every element of an array with `decode`.
pub(super) fn decode_repeated<T>(
    value: Value,
    path: &JsonPath<'_>,
    decode: fn(Value, &JsonPath<'_>) -> Result<T>,
) -> Result<Vec<T>> {
    let Value::Array(items) = value else {
        return Err(field_error(path, FieldProblem::ExpectedArray));
    };
    let mut decoded = Vec::with_capacity(items.len());
    for (index, item) in items.into_iter().enumerate() {
        decoded.push(decode(item, &path.index(index))?);
    }
    Ok(decoded)
}

/// Reads a 64-bit signed integer given as a JSON number or a decimal string.
pub(super) fn to_i64(value: &Value, path: &JsonPath<'_>) -> Result<i64> {
    let parsed = match value {
        Value::Number(number) => number
            .as_i64()
            .or_else(|| number.as_f64().and_then(integral_f64_to_i64)),
        Value::String(text) => text.trim().parse::<i64>().ok(),
        _ => None,
    };
    parsed.ok_or_else(|| field_error(path, FieldProblem::ExpectedInteger("a 64-bit integer")))
}

/// Reads a 64-bit unsigned integer (`fixed64` times) given as a JSON number or a string.
pub(super) fn to_u64(value: &Value, path: &JsonPath<'_>) -> Result<u64> {
    let parsed = match value {
        Value::Number(number) => number.as_u64().or_else(|| {
            number
                .as_f64()
                .and_then(integral_f64_to_i64)
                .and_then(|signed| u64::try_from(signed).ok())
        }),
        Value::String(text) => text.trim().parse::<u64>().ok(),
        _ => None,
    };
    parsed.ok_or_else(|| {
        field_error(
            path,
            FieldProblem::ExpectedInteger("an unsigned 64-bit integer"),
        )
    })
}

/// Reads a 32-bit unsigned integer (counts and flags).
pub(super) fn to_u32(value: &Value, path: &JsonPath<'_>) -> Result<u32> {
    let wide = to_i64(value, path)?;
    u32::try_from(wide).map_err(|_| {
        field_error(
            path,
            FieldProblem::ExpectedInteger("an unsigned 32-bit integer"),
        )
    })
}

/// Reads a 32-bit signed integer.
fn to_i32(value: &Value, path: &JsonPath<'_>) -> Result<i32> {
    let wide = to_i64(value, path)?;
    i32::try_from(wide)
        .map_err(|_| field_error(path, FieldProblem::ExpectedInteger("a 32-bit integer")))
}

/// Converts a float without fractional part (`1e3`, `200.0`) to an integer.
fn integral_f64_to_i64(float: f64) -> Option<i64> {
    // The bounds keep the cast exact: every f64 in this range with no fraction is an i64.
    let in_range = (-9.223_372_036_854_775e18..9.223_372_036_854_775e18).contains(&float);
    (float.fract() == 0.0 && in_range).then_some(float as i64)
}

/// Reads a double given as a JSON number, a decimal string, or `"NaN"`/`"Infinity"`.
fn to_f64(value: &Value, path: &JsonPath<'_>) -> Result<f64> {
    let parsed = match value {
        Value::Number(number) => number.as_f64(),
        Value::String(text) => match text.as_str() {
            "NaN" => Some(f64::NAN),
            "Infinity" => Some(f64::INFINITY),
            "-Infinity" => Some(f64::NEG_INFINITY),
            other => other.trim().parse::<f64>().ok(),
        },
        _ => None,
    };
    parsed.ok_or_else(|| field_error(path, FieldProblem::ExpectedNumber))
}

/// Reads an enum given as its number or its name.
pub(super) fn enum_value(
    value: &Value,
    path: &JsonPath<'_>,
    from_name: fn(&str) -> Option<i32>,
) -> Result<i32> {
    match value {
        Value::String(name) => match from_name(name) {
            Some(number) => Ok(number),
            // A numeric string is still a number.
            None => to_i32(value, path)
                .map_err(|_| field_error(path, FieldProblem::UnknownEnum(name.clone()))),
        },
        _ => to_i32(value, path),
    }
}

/// Decodes a trace or span id: hex per OTLP/JSON; the empty string means absent.
///
/// Base64 of the right length is accepted as a fallback, because exporters built on a plain
/// protobuf JSON library send `bytes` that way; the lengths never collide with hex.
///
/// A string that is neither decodes to `INVALID_ID`, whose length no id has: the ingest edge
/// then rejects that one span (OTLP `partial_success`) instead of the whole request.
pub(super) fn id_bytes(value: &Value, path: &JsonPath<'_>, length: usize) -> Result<Vec<u8>> {
    let Value::String(text) = value else {
        return Err(field_error(path, FieldProblem::ExpectedString));
    };
    if text.is_empty() {
        return Ok(Vec::new());
    }
    if text.len() == length * 2 {
        let mut bytes = vec![0; length];
        if hex::decode_to_slice(text, &mut bytes).is_ok() {
            return Ok(bytes);
        }
    } else if let Ok(bytes) = decode_base64(text)
        && bytes.len() == length
    {
        return Ok(bytes);
    }
    Ok(INVALID_ID.to_vec())
}

/// The bytes an undecodable id becomes: one byte, a length no trace or span id has.
pub(crate) const INVALID_ID: [u8; 1] = [0];

fn decode_base64(text: &str) -> std::result::Result<Vec<u8>, base64::DecodeError> {
    if text.contains(['-', '_']) {
        BASE64_URL_SAFE.decode(text)
    } else {
        BASE64_STANDARD.decode(text)
    }
}

/// Decodes a `repeated KeyValue` (attributes).
pub(super) fn decode_key_values(value: Value, path: &JsonPath<'_>) -> Result<Vec<KeyValue>> {
    decode_repeated(value, path, decode_key_value)
}

fn decode_key_value(value: Value, path: &JsonPath<'_>) -> Result<KeyValue> {
    let mut key_value = KeyValue::default();
    for (key, field) in into_object(value, path)? {
        if field.is_null() {
            continue;
        }
        match key.as_str() {
            "key" => key_value.key = into_string(field, &path.field("key"))?,
            "value" => key_value.value = Some(decode_any_value(field, &path.field("value"))?),
            "keyStrindex" | "key_strindex" => {
                key_value.key_strindex = to_i32(&field, &path.field("keyStrindex"))?;
            }
            _ => {}
        }
    }
    Ok(key_value)
}

/// Decodes an `AnyValue`: an object with one of `stringValue`, `boolValue`, `intValue`,
/// `doubleValue`, `arrayValue`, `kvlistValue`, `bytesValue`. `{}` is the empty value.
fn decode_any_value(value: Value, path: &JsonPath<'_>) -> Result<AnyValue> {
    let mut decoded = None;
    for (key, field) in into_object(value, path)? {
        if field.is_null() {
            continue;
        }
        decoded = match key.as_str() {
            "stringValue" | "string_value" => Some(Any::StringValue(into_string(
                field,
                &path.field("stringValue"),
            )?)),
            "boolValue" | "bool_value" => match field {
                Value::Bool(flag) => Some(Any::BoolValue(flag)),
                _ => {
                    return Err(field_error(
                        &path.field("boolValue"),
                        FieldProblem::ExpectedBool,
                    ));
                }
            },
            "intValue" | "int_value" => {
                Some(Any::IntValue(to_i64(&field, &path.field("intValue"))?))
            }
            "doubleValue" | "double_value" => Some(Any::DoubleValue(to_f64(
                &field,
                &path.field("doubleValue"),
            )?)),
            "arrayValue" | "array_value" => Some(Any::ArrayValue(decode_array_value(
                field,
                &path.field("arrayValue"),
            )?)),
            "kvlistValue" | "kvlist_value" => Some(Any::KvlistValue(decode_kvlist_value(
                field,
                &path.field("kvlistValue"),
            )?)),
            "bytesValue" | "bytes_value" => {
                let path = path.field("bytesValue");
                let text = into_string(field, &path)?;
                let bytes = decode_base64(&text)
                    .map_err(|_| field_error(&path, FieldProblem::ExpectedBase64))?;
                Some(Any::BytesValue(bytes))
            }
            "stringValueStrindex" | "string_value_strindex" => Some(Any::StringValueStrindex(
                to_i32(&field, &path.field("stringValueStrindex"))?,
            )),
            _ => continue,
        };
    }
    Ok(AnyValue { value: decoded })
}

fn decode_array_value(value: Value, path: &JsonPath<'_>) -> Result<ArrayValue> {
    let mut array = ArrayValue::default();
    for (key, field) in into_object(value, path)? {
        if !field.is_null() && key == "values" {
            array.values = decode_repeated(field, &path.field("values"), decode_any_value)?;
        }
    }
    Ok(array)
}

fn decode_kvlist_value(value: Value, path: &JsonPath<'_>) -> Result<KeyValueList> {
    let mut list = KeyValueList::default();
    for (key, field) in into_object(value, path)? {
        if !field.is_null() && key == "values" {
            list.values = decode_key_values(field, &path.field("values"))?;
        }
    }
    Ok(list)
}

/// Decodes the resource's `entityRefs`.
pub(super) fn decode_entity_refs(value: Value, path: &JsonPath<'_>) -> Result<Vec<EntityRef>> {
    decode_repeated(value, path, decode_entity_ref)
}

fn decode_entity_ref(value: Value, path: &JsonPath<'_>) -> Result<EntityRef> {
    let mut entity = EntityRef::default();
    for (key, field) in into_object(value, path)? {
        if field.is_null() {
            continue;
        }
        match key.as_str() {
            "schemaUrl" | "schema_url" => {
                entity.schema_url = into_string(field, &path.field("schemaUrl"))?;
            }
            "type" => entity.r#type = into_string(field, &path.field("type"))?,
            "idKeys" | "id_keys" => {
                entity.id_keys = decode_repeated(field, &path.field("idKeys"), into_string)?;
            }
            "descriptionKeys" | "description_keys" => {
                let path = path.field("descriptionKeys");
                entity.description_keys = decode_repeated(field, &path, into_string)?;
            }
            _ => {}
        }
    }
    Ok(entity)
}
