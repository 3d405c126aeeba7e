//! benchlab's service on poem: the endpoint, for the binary and for in-process tests and
//! benchmarks.

use std::sync::Arc;

use poem::error::{MethodNotAllowedError, NotFoundError};
use poem::http::{Method, StatusCode, header};
use poem::web::Path;
use poem::{Endpoint, EndpointExt, Request, Response, Route, get, handler};
use svc_common::{Reply, Service, reply};

pub const SERVICE: Service = svc_common::service!();

/// The application: `/hello`, `/sleep/:ms`, and the contract's 404 and 405 replies.
pub fn app() -> impl Endpoint<Output = Response> {
    Route::new()
        .at("/hello", get(hello))
        .at("/sleep/:ms", get(sleep))
        .around(unrouted)
}

#[handler]
fn hello() -> Response {
    respond(reply::hello())
}

#[handler]
async fn sleep(Path(ms): Path<String>) -> Response {
    respond(reply::sleep(&ms).await)
}

/// poem's router fails a request it has no route for with a `NotFoundError`, or a
/// `MethodNotAllowedError` for another method on a route: both become the contract's reply.
async fn unrouted(route: Arc<Route>, request: Request) -> poem::Result<Response> {
    let is_get = request.method() == Method::GET;
    let uri = request.uri().clone();
    match route.call(request).await {
        Err(err) if err.is::<NotFoundError>() || err.is::<MethodNotAllowedError>() => {
            Ok(respond(reply::unrouted(is_get, uri.path())))
        }
        routed => routed,
    }
}

fn respond(reply: Reply) -> Response {
    let status = StatusCode::from_u16(reply.status).expect("the contract's statuses are valid");
    let mut response = Response::builder()
        .status(status)
        .content_type(svc_common::CONTENT_TYPE);
    if let Some(allow) = reply.allow() {
        response = response.header(header::ALLOW, allow);
    }
    if let Some((name, value)) = reply.instance_header() {
        response = response.header(name, value);
    }
    response.body(reply.into_bytes())
}
