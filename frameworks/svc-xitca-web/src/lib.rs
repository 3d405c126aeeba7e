//! benchlab's service on xitca-web: the application, for the binary and for in-process tests
//! and benchmarks.

use std::convert::Infallible;
use std::fmt;

use svc_common::{Reply, Service, reply};
use xitca_web::body::ResponseBody;
use xitca_web::bytes::Bytes;
use xitca_web::error::{Error, MatchError, MethodNotAllowed};
use xitca_web::handler::handler_service;
use xitca_web::handler::params::ParamsRef;
use xitca_web::http::{Method, WebRequest, WebResponse};
use xitca_web::route::get;
use xitca_web::service::Service as XitcaService;
use xitca_web::service::ready::ReadyService;
use xitca_web::{App, BodyStream, WebContext};

pub const SERVICE: Service = svc_common::service!();

/// The application: `/hello`, `/sleep/{ms}`, and the contract's 404 and 405 replies. Calling
/// it with `()` builds the service that answers requests.
pub fn app() -> impl XitcaService<
    Response = impl ReadyService
               + XitcaService<
        WebRequest,
        Response = WebResponse<impl BodyStream<Data = Bytes, Error: fmt::Debug> + 'static>,
        Error = Infallible,
    > + 'static,
    Error = impl fmt::Debug,
> + Send
+ Sync
+ 'static {
    App::new()
        .at("/hello", get(handler_service(hello)))
        .at("/sleep/{ms}", get(handler_service(sleep)))
        .enclosed_fn(unrouted)
        .finish()
}

async fn hello() -> WebResponse {
    respond(reply::hello())
}

async fn sleep(params: ParamsRef<'_>) -> WebResponse {
    respond(reply::sleep(params.get("ms").unwrap_or_default()).await)
}

/// xitca-web's router fails a request it has no route for with a `MatchError`, or a
/// `MethodNotAllowed` for another method on a route: both become the contract's reply.
async fn unrouted<S>(service: &S, mut context: WebContext<'_>) -> Result<WebResponse, Error>
where
    S: for<'r> XitcaService<WebContext<'r>, Response = WebResponse, Error = Error>,
{
    match service.call(context.reborrow()).await {
        Err(err) if is_unrouted(&err) => {
            let request = context.req();
            let is_get = request.method() == Method::GET;
            Ok(respond(reply::unrouted(is_get, request.uri().path())))
        }
        routed => routed,
    }
}

fn is_unrouted(err: &Error) -> bool {
    let err = err.upcast();
    err.downcast_ref::<MatchError>().is_some() || err.downcast_ref::<MethodNotAllowed>().is_some()
}

fn respond(reply: Reply) -> WebResponse {
    reply.into_http_response(ResponseBody::from)
}
