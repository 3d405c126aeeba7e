//! benchlab's service on actix-web: the routes, for the binary and for in-process tests and
//! benchmarks (`App::new().configure(svc_actix_web::configure)`).

use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::{HttpRequest, HttpResponse, web};
use svc_common::{Reply, Service, reply};

pub const SERVICE: Service = svc_common::service!();

/// `X-Instance` in actix-web's header types (the `http` crate's 0.2), made at compile time.
const X_INSTANCE: HeaderName = HeaderName::from_static(svc_common::instance::HEADER_NAME);

/// The application: `/hello`, `/sleep/{ms}`, and the contract's 404 and 405 replies.
pub fn configure(config: &mut web::ServiceConfig) {
    config
        .route("/hello", web::get().to(hello))
        .route("/sleep/{ms}", web::get().to(sleep))
        .default_service(web::to(unrouted));
}

async fn hello() -> HttpResponse {
    respond(reply::hello())
}

async fn sleep(ms: web::Path<String>) -> HttpResponse {
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
    response.insert_header((header::CONTENT_TYPE, svc_common::CONTENT_TYPE));
    if let Some(allow) = reply.allow() {
        response.insert_header((header::ALLOW, allow));
    }
    if let Some(instance) = reply.instance() {
        response.insert_header((X_INSTANCE, HeaderValue::from_static(instance)));
    }
    response.body(reply.into_bytes())
}
