//! benchlab's service on salvo: the service, for the binary and for in-process tests and
//! benchmarks.

use salvo::catcher::Catcher;
use salvo::http::header::{self, HeaderValue};
use salvo::http::{Method, StatusCode};
use salvo::{Request, Response, Router, handler};
use svc_common::{Reply, Service, reply};

pub const SERVICE: Service = svc_common::service!();

/// The application: `/hello`, `/sleep/{ms}`, and the contract's 404 and 405 replies.
///
/// A request no route takes gets salvo's 404 or 405, which the catcher replaces with the
/// contract's reply. salvo routes `/hello/` to `/hello` (and `/sleep/5/` to `/sleep/{ms}`);
/// in the contract a trailing slash makes another path, so no route takes one.
pub fn service() -> salvo::Service {
    let router = Router::new()
        .filter_fn(|request, _| !request.uri().path().ends_with('/'))
        .push(Router::with_path("hello").get(hello))
        .push(Router::with_path("sleep/{ms}").get(sleep));
    salvo::Service::new(router).catcher(Catcher::new(unrouted))
}

#[handler]
async fn hello(response: &mut Response) {
    respond(response, reply::hello());
}

#[handler]
async fn sleep(request: &mut Request, response: &mut Response) {
    let ms = request.params().get("ms").map_or("", String::as_str);
    respond(response, reply::sleep(ms).await);
}

#[handler]
async fn unrouted(request: &mut Request, response: &mut Response) {
    let reply = reply::unrouted(request.method() == Method::GET, request.uri().path());
    respond(response, reply);
}

fn respond(response: &mut Response, reply: Reply) {
    let status = StatusCode::from_u16(reply.status).expect("the contract's statuses are valid");
    response.status_code(status);
    let headers = response.headers_mut();
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
    response.body(reply.into_bytes());
}
