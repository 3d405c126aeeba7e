//! benchlab's service on rocket: the instance, for the binary and for in-process tests and
//! benchmarks (through rocket's local client).

use std::io::Cursor;
use std::num::NonZeroUsize;
use std::time::Duration;

use rocket::config::{Ident, LogLevel, Shutdown as RocketShutdown};
use rocket::http::uri::Origin;
use rocket::http::{ContentType, Header, Method, Status};
use rocket::request::Request;
use rocket::response::{self, Responder, Response};
use rocket::shield::Shield;
use rocket::{Build, Rocket, catch, catchers, get, routes};
use svc_common::{Reply, Service, reply};

pub const SERVICE: Service = svc_common::service!();

/// Rocket's configuration for the contract: address, workers and grace from the service's
/// [`svc_common::Config`], and nothing read from `Rocket.toml` or `ROCKET_*` variables.
pub fn config(
    addr: std::net::SocketAddr,
    workers: NonZeroUsize,
    grace: Duration,
) -> rocket::Config {
    rocket::Config {
        address: addr.ip(),
        port: addr.port(),
        workers: workers.get(),
        // No per-request logging, like every other service; no `Server` header either.
        log_level: LogLevel::Off,
        cli_colors: false,
        ident: Ident::none(),
        shutdown: RocketShutdown {
            // Signals are handled by `svc_common::Shutdown`, like every other service's.
            ctrlc: false,
            signals: Default::default(),
            grace: u32::try_from(grace.as_secs_f64().ceil() as u64).unwrap_or(u32::MAX),
            mercy: 0,
            ..RocketShutdown::default()
        },
        ..rocket::Config::release_default()
    }
}

/// The application: `/hello`, `/sleep/<ms>`, and the contract's 404 and 405 replies.
///
/// Rocket's default security headers (Shield) are off, so its responses carry the same
/// headers as every other framework's.
pub fn rocket(config: rocket::Config) -> Rocket<Build> {
    rocket::custom(config)
        .attach(Shield::new())
        .mount("/", routes![hello, sleep])
        .register("/", catchers![unrouted])
}

#[get("/hello")]
fn hello(uri: &Origin<'_>) -> Json {
    match trailing_slash(uri) {
        Some(unrouted) => Json(unrouted),
        None => Json(reply::hello()),
    }
}

#[get("/sleep/<ms>")]
async fn sleep(uri: &Origin<'_>, ms: &str) -> Json {
    match trailing_slash(uri) {
        Some(unrouted) => Json(unrouted),
        None => Json(reply::sleep(ms).await),
    }
}

/// Rocket routes `/hello/` to `/hello` (and `/sleep/5/` to `/sleep/<ms>`); in the contract
/// a trailing slash makes another path.
fn trailing_slash(uri: &Origin<'_>) -> Option<Reply> {
    let path = uri.path().as_str();
    path.ends_with('/').then(|| reply::unrouted(true, path))
}

/// Rocket has no 405 of its own: a request no route matches is a 404, whatever its method.
#[catch(404)]
fn unrouted(request: &Request<'_>) -> Json {
    Json(reply::unrouted(
        request.method() == Method::Get,
        request.uri().path().as_str(),
    ))
}

/// A [`Reply`] as a rocket response.
#[derive(Debug)]
pub struct Json(pub Reply);

impl<'r> Responder<'r, 'static> for Json {
    fn respond_to(self, _: &'r Request<'_>) -> response::Result<'static> {
        let Json(reply) = self;
        let mut response = Response::build();
        response.status(Status::new(reply.status));
        response.header(ContentType::JSON);
        if let Some(allow) = reply.allow() {
            response.header(Header::new("Allow", allow));
        }
        if let Some(instance) = reply.instance() {
            response.header(Header::new(svc_common::instance::HEADER_NAME, instance));
        }
        let body = reply.into_bytes();
        response.sized_body(body.len(), Cursor::new(body));
        response.ok()
    }
}
