//! benchlab's service on ntex: the application, for the binary and for in-process tests and
//! benchmarks.

use std::borrow::Cow;

use ntex::http::header::{self, HeaderValue};
use ntex::http::{Method, StatusCode};
use ntex::service::cfg::SharedCfg;
use ntex::service::{Identity, ServiceFactory};
use ntex::web::{self, App, DefaultError, HttpRequest, HttpResponse, WebRequest};
use svc_common::{Reply, Service, reply};

pub const SERVICE: Service = svc_common::service!();

/// The application: `/hello`, `/sleep/{ms}`, and the contract's 404 and 405 replies.
///
/// The middle type parameter is ntex's request filter, a type ntex does not name publicly.
pub fn app() -> App<
    Identity,
    impl ServiceFactory<
        WebRequest<DefaultError>,
        SharedCfg,
        Response = WebRequest<DefaultError>,
        Error = web::Error,
        InitError = (),
    >,
    DefaultError,
> {
    App::new()
        .route("/hello", web::get().to(hello))
        .route("/sleep/{ms}", web::get().to(sleep))
        .default_service(web::to(unrouted))
}

async fn hello() -> HttpResponse {
    respond(reply::hello())
}

async fn sleep(ms: web::types::Path<String>) -> HttpResponse {
    respond(reply::sleep(&ms).await)
}

async fn unrouted(request: HttpRequest) -> HttpResponse {
    respond(reply::unrouted(
        request.method() == Method::GET,
        request.path(),
    ))
}

fn respond(reply: Reply) -> HttpResponse {
    let status = StatusCode::from_u16(reply.status).expect("the contract's statuses are valid");
    let mut response = HttpResponse::build(status);
    response.header(
        header::CONTENT_TYPE,
        HeaderValue::from_static(svc_common::CONTENT_TYPE),
    );
    if let Some(allow) = reply.allow() {
        response.header(header::ALLOW, HeaderValue::from_static(allow));
    }
    if let Some(instance) = reply.instance() {
        // ntex's header names are the `http` crate's; its values are its own.
        response.header(
            svc_common::instance::HEADER,
            HeaderValue::from_static(instance),
        );
    }
    // ntex has its own `Bytes`; its body takes the reply's text without a copy.
    match reply.body {
        Cow::Borrowed(body) => response.body(body),
        Cow::Owned(body) => response.body(body),
    }
}
