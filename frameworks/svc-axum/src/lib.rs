//! benchlab's service on axum: the router, for the binary and for in-process tests and
//! benchmarks.

use axum::Router;
use axum::extract::Path;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use svc_common::{Reply, Service, reply};

pub const SERVICE: Service = svc_common::service!();

/// The application: `/hello`, `/sleep/{ms}`, and the contract's 404 and 405 replies.
pub fn app() -> Router {
    Router::new()
        .route("/hello", get(hello))
        .route("/sleep/{ms}", get(sleep))
        .fallback(unrouted)
        .method_not_allowed_fallback(unrouted)
}

async fn hello() -> Response {
    respond(reply::hello())
}

async fn sleep(Path(ms): Path<String>) -> Response {
    respond(reply::sleep(&ms).await)
}

async fn unrouted(method: Method, uri: Uri) -> Response {
    respond(reply::unrouted(method == Method::GET, uri.path()))
}

fn respond(reply: Reply) -> Response {
    let status = StatusCode::from_u16(reply.status).expect("the contract's statuses are valid");
    let mut headers = HeaderMap::new();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(svc_common::CONTENT_TYPE),
    );
    if let Some(allow) = reply.allow() {
        headers.insert(header::ALLOW, HeaderValue::from_static(allow));
    }
    if let Some((name, value)) = reply.instance_header() {
        headers.insert(name, value);
    }
    (status, headers, reply.into_bytes()).into_response()
}
