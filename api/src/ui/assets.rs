//! The UI's static files, compiled into the binary so that `periscope serve` works offline and
//! needs nothing beside itself. Hand-written HTML/CSS/JS without a build step (api/ui/).

/// One embedded file: its name under `/ui/assets/`, its media type and its bytes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Asset {
    pub(crate) name: &'static str,
    pub(crate) content_type: &'static str,
    pub(crate) body: &'static [u8],
}

const JS: &str = "text/javascript; charset=utf-8";

macro_rules! asset {
    ($name:literal, $content_type:expr) => {
        Asset {
            name: $name,
            content_type: $content_type,
            body: include_bytes!(concat!("../../ui/", $name)),
        }
    };
}

/// The single-page app's shell (login, traces, sessions, prompts, datasets, evaluators, queues,
/// dashboard).
pub(crate) const APP_HTML: Asset = asset!("index.html", "text/html; charset=utf-8");

/// The public share page's shell (no login).
pub(crate) const SHARE_HTML: Asset = asset!("share.html", "text/html; charset=utf-8");

/// Everything the two shells load from `/ui/assets/`.
pub(crate) const ASSETS: &[Asset] = &[
    asset!("style.css", "text/css; charset=utf-8"),
    asset!("favicon.svg", "image/svg+xml"),
    asset!("api.js", JS),
    asset!("dom.js", JS),
    asset!("format.js", JS),
    asset!("values.js", JS),
    asset!("trace_view.js", JS),
    asset!("app.js", JS),
    asset!("login.js", JS),
    asset!("traces.js", JS),
    asset!("trace_filters.js", JS),
    asset!("trace.js", JS),
    asset!("sessions.js", JS),
    asset!("prompts.js", JS),
    asset!("prompt_diff.js", JS),
    asset!("widgets.js", JS),
    asset!("datasets.js", JS),
    asset!("run_data.js", JS),
    asset!("compare.js", JS),
    asset!("dataset_add.js", JS),
    asset!("evaluators.js", JS),
    asset!("evaluator_form.js", JS),
    asset!("eval_paths.js", JS),
    asset!("backfills.js", JS),
    asset!("queues.js", JS),
    asset!("charts.js", JS),
    asset!("dashboard.js", JS),
    asset!("dashboard_data.js", JS),
    asset!("keys.js", JS),
    asset!("share.js", JS),
    asset!("theme.js", JS),
];

/// Returns the embedded file named `name`, if there is one.
pub(crate) fn find(name: &str) -> Option<&'static Asset> {
    ASSETS.iter().find(|asset| asset.name == name)
}
