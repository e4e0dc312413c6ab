//! periscope-ingest
