//! benchlab's service on warp: the filter, for the binary and for in-process tests and
//! benchmarks.

use std::convert::Infallible;

use svc_common::{Reply, Service, reply};
use warp::http::Method;
use warp::path::FullPath;
use warp::reply::Response;
use warp::{Filter, path};

pub const SERVICE: Service = svc_common::service!();

/// The application: `/hello`, `/sleep/<ms>`, and the contract's 404 and 405 replies.
///
/// A request neither route takes falls through to a filter that takes every request, so
/// warp's own rejections never reach the client. warp routes `/hello/` to `/hello` (and
/// `/sleep/5/` to `/sleep/<ms>`); in the contract a trailing slash makes another path, so
/// neither route takes one.
pub fn routes() -> impl Filter<Extract = (Response,), Error = Infallible> + Clone {
    let no_trailing_slash = path::full()
        .and_then(|path: FullPath| async move {
            if path.as_str().ends_with('/') {
                Err(warp::reject::not_found())
            } else {
                Ok(())
            }
        })
        .untuple_one();
    let hello = path!("hello")
        .and(warp::get())
        .map(|| respond(reply::hello()));
    let sleep = path!("sleep" / String)
        .and(warp::get())
        .then(|ms: String| async move { respond(reply::sleep(&ms).await) });
    let unrouted = warp::method()
        .and(path::full())
        .map(|method: Method, path: FullPath| {
            respond(reply::unrouted(method == Method::GET, path.as_str()))
        });
    no_trailing_slash
        .and(hello.or(sleep).unify())
        .or(unrouted)
        .unify()
}

fn respond(reply: Reply) -> Response {
    reply.into_http_response(Into::into)
}
