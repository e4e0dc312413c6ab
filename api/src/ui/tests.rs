use axum::body::Body;
use axum::http::{Request, StatusCode};
use tower::ServiceExt;

use super::assets::{APP_HTML, ASSETS, SHARE_HTML};
use super::*;

async fn get_path(path: &str) -> Response {
    page_routes::<()>()
        .oneshot(Request::get(path).body(Body::empty()).unwrap())
        .await
        .unwrap()
}

fn header<'a>(response: &'a Response, name: &str) -> &'a str {
    response.headers()[name].to_str().unwrap()
}

#[tokio::test]
async fn the_app_is_served_at_the_root_and_under_ui() {
    for path in ["/", "/ui", "/ui/"] {
        let response = get_path(path).await;
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        assert_eq!(
            header(&response, "content-type"),
            "text/html; charset=utf-8"
        );
        assert!(header(&response, "content-security-policy").contains("script-src 'self'"));
        assert_eq!(header(&response, "x-content-type-options"), "nosniff");
    }
}

#[tokio::test]
async fn assets_have_their_media_type_and_unknown_names_are_404() {
    let response = get_path("/ui/assets/app.js").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        header(&response, "content-type"),
        "text/javascript; charset=utf-8"
    );
    let response = get_path("/ui/assets/style.css").await;
    assert_eq!(header(&response, "content-type"), "text/css; charset=utf-8");
    for missing in ["/ui/assets/nope.js", "/ui/assets/..%2Fmod.rs"] {
        assert_eq!(
            get_path(missing).await.status(),
            StatusCode::NOT_FOUND,
            "{missing}"
        );
    }
}

#[tokio::test]
async fn the_share_page_needs_no_credentials() {
    let response = get_path("/ui/share/traces/abc123").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(header(&response, "referrer-policy"), "no-referrer");
}

#[tokio::test]
async fn langfuse_html_paths_redirect_into_the_app() {
    let response = get_path("/project/p1/traces/a%2Fb%20c%C3%A9").await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        header(&response, "location"),
        "/ui/#/traces/a%2Fb%20c%C3%A9"
    );
}

/// Returns every `/ui/assets/<name>` and `./<name>.js` reference in a text file.
fn references(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    for (marker, end) in [
        ("/ui/assets/", '"'),
        ("from './", '\''),
        ("import('./", '\''),
    ] {
        for piece in text.split(marker).skip(1) {
            if let Some(name) = piece.split(end).next() {
                found.push(name.to_owned());
            }
        }
    }
    found
}

#[test]
fn every_file_the_pages_load_is_embedded() {
    let mut texts = vec![APP_HTML, SHARE_HTML];
    texts.extend(
        ASSETS
            .iter()
            .copied()
            .filter(|asset| asset.name.ends_with(".js")),
    );
    let mut checked = 0;
    for page in texts {
        let text = std::str::from_utf8(page.body).unwrap();
        for name in references(text) {
            assert!(
                assets::find(&name).is_some(),
                "{} loads {name}, which is not embedded",
                page.name
            );
            checked += 1;
        }
    }
    assert!(checked > 10, "only {checked} references found");
}

#[test]
fn no_page_relies_on_inline_code_or_styles_that_the_policy_blocks() {
    for page in [APP_HTML, SHARE_HTML] {
        let text = std::str::from_utf8(page.body).unwrap();
        assert!(
            !text.contains("<script>"),
            "{} has an inline script",
            page.name
        );
        assert!(
            !text.contains("style=\""),
            "{} has an inline style",
            page.name
        );
        assert!(
            !text.contains("onclick="),
            "{} has an inline handler",
            page.name
        );
    }
    for asset in ASSETS.iter().filter(|asset| asset.name.ends_with(".js")) {
        let text = std::str::from_utf8(asset.body).unwrap();
        assert!(
            !text.contains("innerHTML"),
            "{} writes HTML from strings",
            asset.name
        );
        assert!(
            !text.contains("setAttribute('style'"),
            "{} sets inline styles",
            asset.name
        );
    }
}

#[test]
fn every_file_in_the_ui_folder_is_embedded() {
    let folder = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("ui");
    let mut names: Vec<String> = std::fs::read_dir(&folder)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .filter(|name| !name.ends_with(".html"))
        .collect();
    names.sort();
    for name in &names {
        assert!(
            assets::find(name).is_some(),
            "api/ui/{name} is not in assets::ASSETS, so the binary does not serve it"
        );
    }
    assert!(names.len() >= ASSETS.len(), "{names:?}");
}
