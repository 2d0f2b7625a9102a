//! Security headers for the studio: its pages (static files under `/studio`)
//! and its API (`/v1/studio/…`, `/v1/admin/…`). A studio page holds a
//! publisher's session, so it must not be framed by another site
//! (clickjacking a publish) nor run script the edge did not ship.
//!
//! The policy is written from what the pages load (`studio/index.html`,
//! `agent/studio/preview.html`): their own ES modules and CSS, vendored uPlot,
//! the agent's wasm (compiled with `WebAssembly`, hence `'wasm-unsafe-eval'`)
//! and the same-origin preview iframe. No page has an inline script (the
//! preview page's is `preview-frame.js`). Styles may be inline: the agent's
//! renderer falls back to a `<style>` in a campaign's shadow root where a
//! browser has no constructable stylesheets. Campaign images
//! come from the shop's own hosts, so images may be any https URL.

/// The studio pages' policy, but for who may frame them.
const PAGE_POLICY: &str = "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; \
    style-src 'self' 'unsafe-inline'; img-src 'self' data: https:; font-src 'self'; \
    connect-src 'self'; frame-src 'self'; base-uri 'none'; form-action 'self'; object-src 'none'";

/// The studio's own preview page, embedded only by the studio. The assets
/// answer `/studio/preview.html` with a redirect to `/studio/preview` (their
/// clean-URL handling), and the frame loads that.
const PREVIEW_PAGES: &[&str] = &["/studio/preview.html", "/studio/preview"];

/// The headers a response to `path` must carry: `None` outside the studio.
pub fn studio_headers(path: &str) -> Option<Vec<(&'static str, String)>> {
    let page = path == "/studio" || path.starts_with("/studio/");
    let api = path.starts_with("/v1/studio/") || path.starts_with("/v1/admin/");
    let (policy, frame_options) = if PREVIEW_PAGES.contains(&path) {
        (
            format!("{PAGE_POLICY}; frame-ancestors 'self'"),
            "SAMEORIGIN",
        )
    } else if page {
        (format!("{PAGE_POLICY}; frame-ancestors 'none'"), "DENY")
    } else if api {
        // JSON and CSV: nothing in them may run or be framed.
        (
            "default-src 'none'; frame-ancestors 'none'".to_owned(),
            "DENY",
        )
    } else {
        return None;
    };
    Some(vec![
        ("content-security-policy", policy),
        ("x-content-type-options", "nosniff".to_owned()),
        ("x-frame-options", frame_options.to_owned()),
        ("referrer-policy", "same-origin".to_owned()),
    ])
}

/// `response` with `headers` set (a fetched response's own headers are
/// immutable, so they are copied).
pub fn with_headers(
    response: worker::Response,
    headers: &[(&'static str, String)],
) -> worker::Result<worker::Response> {
    let copy = worker::Headers::new();
    // Appended: a response may carry several `set-cookie` headers.
    for (name, value) in response.headers().entries() {
        copy.append(&name, &value)?;
    }
    for (name, value) in headers {
        copy.set(name, value)?;
    }
    Ok(response.with_headers(copy))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(path: &str, name: &str) -> Option<String> {
        studio_headers(path)?
            .into_iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v)
    }

    #[test]
    fn studio_pages_cannot_be_framed_but_the_preview_can_by_the_studio() {
        for path in [
            "/studio",
            "/studio/",
            "/studio/app.js",
            "/studio/vendor/uPlot.min.css",
        ] {
            let csp = header(path, "content-security-policy").unwrap();
            assert!(csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
            assert!(
                csp.contains("script-src 'self' 'wasm-unsafe-eval';"),
                "{csp}"
            );
            assert!(!csp.contains("script-src 'self' 'unsafe-inline'"), "{csp}");
            assert_eq!(header(path, "x-content-type-options").unwrap(), "nosniff");
        }
        for path in PREVIEW_PAGES {
            let preview = header(path, "content-security-policy").unwrap();
            assert!(preview.ends_with("frame-ancestors 'self'"), "{preview}");
            assert!(preview.contains("frame-src 'self'"));
        }
    }

    #[test]
    fn the_studio_api_is_inert_and_the_shop_is_left_alone() {
        for path in ["/v1/studio/session", "/v1/admin/sites/demo/config"] {
            assert_eq!(
                header(path, "content-security-policy").unwrap(),
                "default-src 'none'; frame-ancestors 'none'"
            );
            assert_eq!(header(path, "x-content-type-options").unwrap(), "nosniff");
        }
        for path in [
            "/",
            "/nudge/nudge.js",
            "/v1/config",
            "/v1/events",
            "/studiox",
        ] {
            assert_eq!(studio_headers(path), None, "{path}");
        }
    }
}
