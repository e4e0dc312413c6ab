//! OTLP spans → records.
