#![expect(
    clippy::result_large_err,
    reason = "figment::Jail closures must return figment::Error"
)]

use super::*;

#[test]
fn defaults_load_and_validate() {
    let config: Config = Figment::from(Toml::string(DEFAULT_TOML)).extract().unwrap();
    config.validate().unwrap();
    assert_eq!(config.server.http_addr.port(), 3000);
    assert_eq!(config.server.grpc_addr.port(), 4317);
    assert_eq!(config.pipeline.batch_max_wait, Duration::from_millis(50));
}

#[test]
fn env_overrides_file_which_overrides_defaults() {
    figment::Jail::expect_with(|jail| {
        jail.create_file(
            "p.toml",
            "[server]\nhttp_addr = \"127.0.0.1:4000\"\ngrpc_addr = \"127.0.0.1:5000\"\n",
        )?;
        jail.set_env("PERISCOPE__SERVER__GRPC_ADDR", "127.0.0.1:6000");
        let config = Config::load(Some(Path::new("p.toml"))).map_err(|e| e.to_string())?;
        assert_eq!(config.server.http_addr.port(), 4000);
        assert_eq!(config.server.grpc_addr.port(), 6000);
        Ok(())
    });
}

#[test]
fn unknown_keys_and_bad_values_are_rejected_with_the_key_named() {
    figment::Jail::expect_with(|jail| {
        jail.set_env("PERISCOPE__PIPELINE__BATCH_MAX_RECORDS", "0");
        let error = Config::load(None).unwrap_err().to_string();
        assert!(error.contains("pipeline.batch_max_records"), "{error}");
        Ok(())
    });
    figment::Jail::expect_with(|jail| {
        jail.set_env("PERISCOPE__SERVER__NO_SUCH_KEY", "1");
        let error = Config::load(None).unwrap_err().to_string();
        assert!(error.contains("no_such_key"), "{error}");
        Ok(())
    });
}

#[test]
fn durations_parse_with_units() {
    assert_eq!(parse_duration("50ms").unwrap(), Duration::from_millis(50));
    assert_eq!(parse_duration("7d").unwrap(), Duration::from_secs(604_800));
    assert!(parse_duration("7 weeks").unwrap_err().contains("unit"));
}

#[test]
fn the_example_config_in_deploy_matches_the_defaults() {
    let example = include_str!("../../../deploy/config.example.toml");
    let from_example: figment::value::Value =
        Figment::from(Toml::string(example)).extract().unwrap();
    let from_defaults: figment::value::Value =
        Figment::from(Toml::string(DEFAULT_TOML)).extract().unwrap();
    assert_eq!(
        from_example, from_defaults,
        "deploy/config.example.toml drifted from the defaults"
    );
}
