//! Golden fixtures: each `fixtures/otlp/<name>.json` (an OTLP/JSON `ExportTraceServiceRequest`)
//! is decoded, mapped for project `proj-1` at a fixed receive time, and compared with
//! `<name>.expected.json`. The expected files are the reviewed specification of the mapping;
//! `UPDATE_FIXTURES=1 cargo test -p periscope-processors golden` rewrites them, and the diff must
//! then be reviewed like code.

use std::fs;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use periscope_core::model::Record;
use periscope_core::otlp_json::decode_export_request;
use serde_json::Value;

use super::map_resource_spans;

const PROJECT_ID: &str = "proj-1";
const RECEIVED_AT: &str = "2026-11-27T02:00:00Z";

fn fixture_inputs() -> Vec<PathBuf> {
    let directory = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/otlp");
    let mut inputs: Vec<PathBuf> = fs::read_dir(&directory)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| {
            let name = path.file_name().unwrap().to_string_lossy();
            name.ends_with(".json") && !name.ends_with(".expected.json")
        })
        .collect();
    inputs.sort();
    inputs
}

fn map_fixture(input: &Path) -> Vec<Record> {
    let received_at: DateTime<Utc> = RECEIVED_AT.parse().unwrap();
    let request = decode_export_request(&fs::read(input).unwrap())
        .unwrap_or_else(|error| panic!("{}: {error}", input.display()));
    request
        .resource_spans
        .iter()
        .flat_map(|resource_spans| map_resource_spans(PROJECT_ID, resource_spans, received_at))
        .collect()
}

#[test]
fn golden_fixtures_map_to_their_expected_records() {
    let update = std::env::var("UPDATE_FIXTURES").is_ok_and(|value| value == "1");
    let inputs = fixture_inputs();
    assert!(
        inputs.len() >= 7,
        "expected at least one fixture per convention, found {inputs:?}"
    );
    let mut mismatches = Vec::new();
    for input in &inputs {
        let records = map_fixture(input);
        assert!(
            !records.is_empty(),
            "{} maps to no records",
            input.display()
        );
        let expected_path = input.with_extension("expected.json");
        if update {
            let mut pretty = serde_json::to_string_pretty(&records).unwrap();
            pretty.push('\n');
            fs::write(&expected_path, pretty).unwrap();
            continue;
        }
        let Ok(expected_text) = fs::read_to_string(&expected_path) else {
            mismatches.push(format!("{} is missing", expected_path.display()));
            continue;
        };
        let expected: Value = serde_json::from_str(&expected_text).unwrap();
        if serde_json::to_value(&records).unwrap() != expected {
            mismatches.push(format!("{} differs", expected_path.display()));
        }
        // The expected file must also read back as records, as the records topic does.
        let read_back: Vec<Record> = serde_json::from_str(&expected_text).unwrap();
        assert_eq!(
            read_back.len(),
            records.len(),
            "{}",
            expected_path.display()
        );
    }
    assert!(
        mismatches.is_empty(),
        "{mismatches:#?}\nrerun with UPDATE_FIXTURES=1 and review the diff of the expected files"
    );
}
