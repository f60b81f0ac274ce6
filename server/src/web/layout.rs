//! The page shell every page shares, and HTML error pages for browsers.

use axum::{
    extract::Request,
    http::{HeaderValue, StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Response},
};
use maud::{DOCTYPE, Markup, PreEscaped, html};

/// Phone first, high contrast, visible focus; no external resources.
const STYLE: &str = "
:root{color-scheme:light dark;--fg:#1b1b1b;--bg:#fff;--muted:#4a4a4a;--accent:#0b5cad;--line:#c8c8c8;--err:#a4000f}
@media (prefers-color-scheme:dark){:root{--fg:#f2f2f2;--bg:#141414;--muted:#c4c4c4;--accent:#8cc4ff;--line:#555;--err:#ff9ca6}}
*{box-sizing:border-box}
body{margin:0;font:1.0625rem/1.5 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;color:var(--fg);background:var(--bg)}
main{max-width:40rem;margin:0 auto;padding:1rem}
header.site{border-bottom:1px solid var(--line);padding:.75rem 1rem}
header.site a{color:var(--fg);font-weight:700;text-decoration:none}
a{color:var(--accent)}
h1{font-size:1.6rem;line-height:1.25}
label{display:block;font-weight:600;margin-top:1rem}
input[type=text],input[type=password],input[type=email],textarea{width:100%;font:inherit;padding:.6rem;margin-top:.25rem;border:2px solid var(--line);border-radius:.4rem;background:var(--bg);color:var(--fg)}
button{font:inherit;font-weight:600;padding:.7rem 1.2rem;margin:1rem .5rem 0 0;border-radius:.4rem;border:2px solid var(--accent);cursor:pointer;min-height:44px}
button.primary{background:var(--accent);color:var(--bg)}
button.secondary{background:transparent;color:var(--accent)}
:focus-visible{outline:3px solid var(--accent);outline-offset:2px}
.error{color:var(--err);font-weight:600;border-left:4px solid var(--err);padding-left:.75rem}
.muted{color:var(--muted)}
label.check{display:flex;gap:.6rem;align-items:flex-start;font-weight:600}
label.check input{width:1.5rem;height:1.5rem;margin:0;flex:none}
ul.scopes li{margin:.25rem 0}
.card{border:1px solid var(--line);border-radius:.5rem;padding:1rem;margin:1rem 0}
.card>:first-child{margin-top:0}
form.inline{display:inline-block}
nav{margin:.5rem 0;line-height:2.2}
fieldset{border:1px solid var(--line);border-radius:.4rem;margin-top:1rem}
select{font:inherit;padding:.5rem;margin-top:.25rem;width:100%}
.card{overflow-wrap:anywhere}
code.code{display:block;font-size:1.25rem;padding:1rem;border:2px dashed var(--line);word-break:break-all;user-select:all}
";

/// Security headers of every page: no framing (clickjacking of the consent page), no scripts,
/// no referrer leaking codes or paths.
const CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; \
                   frame-ancestors 'none'; base-uri 'none'";

/// A whole page.
pub fn page(site_name: &str, title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " – " (site_name) }
                style { (PreEscaped(STYLE)) }
            }
            body {
                header.site { a href="/" { (site_name) } }
                main { (body) }
            }
        }
    }
}

/// A page as a response with the security headers.
pub fn respond(status: StatusCode, markup: Markup) -> Response {
    let mut response = (status, markup).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// Whether a request comes from a browser asking for a page (not an app, not a server).
fn wants_html(request: &Request) -> bool {
    let accept = request
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let path = request.uri().path();
    accept.contains("text/html") && !path.starts_with("/api/") && !path.starts_with("/.well-known/")
}

/// Middleware: an error a browser asked for as a page becomes a page, with the same status and
/// message; apps and servers keep their JSON.
pub async fn html_errors(request: Request, next: Next) -> Response {
    let html = wants_html(&request);
    let response = next.run(request).await;
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if !html
        || !is_json
        || !(response.status().is_client_error() || response.status().is_server_error())
    {
        return response;
    }
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), 64 * 1024)
        .await
        .unwrap_or_default();
    let message = serde_json::from_slice::<serde_json::Value>(&bytes)
        .ok()
        .and_then(|v| v["error"].as_str().map(str::to_owned))
        .unwrap_or_else(|| status.canonical_reason().unwrap_or("Error").to_owned());
    let title = status.canonical_reason().unwrap_or("Error");
    respond(
        status,
        page(
            "Hearth",
            title,
            html! {
                h1 { (title) }
                p { (message) }
                p { a href="/" { "Go to the home page" } }
            },
        ),
    )
}
