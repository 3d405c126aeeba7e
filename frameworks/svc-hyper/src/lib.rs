//! benchlab's baseline service on plain hyper, with no framework: the request handler, for
//! the binary and for in-process tests and benchmarks.

use std::convert::Infallible;

use bytes::Bytes;
use http_body_util::Full;
use hyper::header;
use hyper::{Method, Request, Response};
use svc_common::{Reply, Service, reply};

pub const SERVICE: Service = svc_common::service!();

/// Answers one request. Routing is a match on method and path: the least any framework does.
/// The request body is never read, so any body type will do.
pub async fn handle<B>(request: Request<B>) -> Result<Response<Full<Bytes>>, Infallible> {
    let is_get = request.method() == Method::GET;
    let path = request.uri().path();
    let reply = match path.strip_prefix("/sleep/") {
        _ if is_get && path == "/hello" => reply::hello(),
        Some(ms) if is_get && !ms.is_empty() && !ms.contains('/') => reply::sleep(ms).await,
        _ => reply::unrouted(is_get, path),
    };
    Ok(respond(reply))
}

fn respond(reply: Reply) -> Response<Full<Bytes>> {
    let mut response = Response::builder()
        .status(reply.status)
        .header(header::CONTENT_TYPE, svc_common::CONTENT_TYPE);
    if let Some(allow) = reply.allow() {
        response = response.header(header::ALLOW, allow);
    }
    if let Some((name, value)) = reply.instance_header() {
        response = response.header(name, value);
    }
    response
        .body(Full::new(reply.into_bytes()))
        .expect("the contract's statuses and headers are valid")
}
