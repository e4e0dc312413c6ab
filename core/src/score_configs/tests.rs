use super::*;

fn config(data_type: ScoreDataType) -> ScoreConfig {
    ScoreConfig {
        id: "c1".to_owned(),
        project_id: "p".to_owned(),
        name: "quality".to_owned(),
        data_type,
        is_archived: false,
        min_value: None,
        max_value: None,
        categories: Vec::new(),
        description: None,
        created_at: Utc::now(),
        updated_at: Utc::now(),
    }
}

fn category(label: &str, value: f64) -> ConfigCategory {
    ConfigCategory {
        label: label.to_owned(),
        value,
    }
}

#[test]
fn configs_are_validated_per_data_type() {
    let mut numeric = config(ScoreDataType::Numeric);
    numeric.min_value = Some(2.0);
    numeric.max_value = Some(1.0);
    assert!(
        validate_config(&mut numeric)
            .unwrap_err()
            .contains("minValue")
    );
    numeric.max_value = Some(2.0);
    validate_config(&mut numeric).unwrap();

    let mut blank = config(ScoreDataType::Numeric);
    blank.name = " ".to_owned();
    assert!(validate_config(&mut blank).unwrap_err().contains("name"));

    let mut categorical = config(ScoreDataType::Categorical);
    assert!(
        validate_config(&mut categorical)
            .unwrap_err()
            .contains("categories")
    );
    categorical.categories = vec![category("good", 1.0), category("good", 2.0)];
    assert!(
        validate_config(&mut categorical)
            .unwrap_err()
            .contains("duplicate label")
    );
    categorical.categories = vec![category("good", 1.0), category("bad", 1.0)];
    assert!(
        validate_config(&mut categorical)
            .unwrap_err()
            .contains("duplicate value")
    );
    categorical.categories = vec![category("good", 1.0), category("bad", 0.0)];
    validate_config(&mut categorical).unwrap();

    let mut boolean = config(ScoreDataType::Boolean);
    validate_config(&mut boolean).unwrap();
    assert_eq!(boolean.categories, boolean_categories());
}

#[test]
fn numeric_scores_must_fall_in_range() {
    let mut numeric = config(ScoreDataType::Numeric);
    numeric.min_value = Some(0.0);
    numeric.max_value = Some(1.0);
    let ok = check_score_value(&numeric, None, &ScoreInput::Number(0.5)).unwrap();
    assert_eq!(ok.value, 0.5);
    let error = check_score_value(&numeric, None, &ScoreInput::Number(1.5)).unwrap_err();
    assert!(
        error.contains("value 1.5") && error.contains("configId"),
        "{error}"
    );
    let error = check_score_value(&numeric, None, &ScoreInput::Text("x")).unwrap_err();
    assert!(error.contains("must be a number"), "{error}");
    let error = check_score_value(
        &numeric,
        Some(ScoreDataType::Categorical),
        &ScoreInput::Number(0.5),
    )
    .unwrap_err();
    assert!(error.contains("dataType"), "{error}");
}

#[test]
fn categorical_labels_map_to_their_values_and_archived_configs_refuse() {
    let mut categorical = config(ScoreDataType::Categorical);
    categorical.categories = vec![category("good", 1.0), category("bad", 0.0)];
    let checked = check_score_value(&categorical, None, &ScoreInput::Text("good")).unwrap();
    assert_eq!(checked.value, 1.0);
    assert_eq!(checked.string_value.as_deref(), Some("good"));
    let error = check_score_value(&categorical, None, &ScoreInput::Text("meh")).unwrap_err();
    assert!(
        error.contains("not a category") && error.contains("good, bad"),
        "{error}"
    );

    let mut boolean = config(ScoreDataType::Boolean);
    validate_config(&mut boolean).unwrap();
    let checked = check_score_value(&boolean, None, &ScoreInput::Number(1.0)).unwrap();
    assert_eq!(checked.string_value.as_deref(), Some("True"));
    assert!(check_score_value(&boolean, None, &ScoreInput::Number(2.0)).is_err());

    categorical.is_archived = true;
    let error = check_score_value(&categorical, None, &ScoreInput::Text("good")).unwrap_err();
    assert!(error.contains("archived"), "{error}");
}
