//! periscope-api
