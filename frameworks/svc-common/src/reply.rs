//! The replies of the contract: status and JSON body for every route, byte for byte.

use std::borrow::Cow;
use std::fmt;
use std::time::Duration;

use bytes::Bytes;

use crate::instance;

/// The `Content-Type` of every reply.
pub const CONTENT_TYPE: &str = "application/json";

/// The largest `<ms>` that `/sleep/<ms>` accepts: one minute.
pub const MAX_SLEEP_MS: u64 = 60_000;

const HELLO_BODY: &str = r#"{"message":"Hello, World!"}"#;
const NOT_FOUND_BODY: &str = r#"{"error":"not found"}"#;
const METHOD_NOT_ALLOWED_BODY: &str = r#"{"error":"method not allowed"}"#;

/// A framework-neutral response: a status code and a JSON body. Every reply carries
/// [`CONTENT_TYPE`], `Allow` on a 405 ([`Self::allow`]) and `X-Instance` when the service
/// was started with `INSTANCE` ([`Self::instance`]); frameworks add `Content-Length` and
/// `Date` themselves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub status: u16,
    pub body: Cow<'static, str>,
}

impl Reply {
    fn new(status: u16, body: impl Into<Cow<'static, str>>) -> Self {
        Reply {
            status,
            body: body.into(),
        }
    }

    /// The `Allow` header a 405 reply must carry (RFC 9110, section 15.5.6): the contract's
    /// routes answer `GET` only.
    pub fn allow(&self) -> Option<&'static str> {
        (self.status == 405).then_some("GET")
    }

    /// The value of the `X-Instance` header ([`instance::HEADER_NAME`]) every reply carries
    /// when the service was started with `INSTANCE` set: the same for every reply of the
    /// process (see [`crate::instance`]). `None` when it was not, and in-process.
    pub fn instance(&self) -> Option<&'static str> {
        instance::name()
    }

    /// [`Self::instance`] as the `http` crate's header name and value, for frameworks whose
    /// headers are its 1.x types: both are static, so making them copies no bytes.
    pub fn instance_header(&self) -> Option<(http::HeaderName, http::HeaderValue)> {
        instance::header()
    }

    /// The reply as an [`http::Response`], for a framework whose responses are the `http`
    /// crate's (warp, xitca-web): the status, `Content-Type`, `Allow` on a 405, `X-Instance`
    /// when `INSTANCE` is set, and the body that `body` makes of the reply's bytes.
    pub fn into_http_response<B>(self, body: impl FnOnce(Bytes) -> B) -> http::Response<B> {
        let status =
            http::StatusCode::from_u16(self.status).expect("the contract's statuses are valid");
        let allow = self.allow();
        let instance = self.instance_header();
        let mut response = http::Response::new(body(self.into_bytes()));
        *response.status_mut() = status;
        let headers = response.headers_mut();
        headers.insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static(CONTENT_TYPE),
        );
        if let Some(allow) = allow {
            headers.insert(http::header::ALLOW, http::HeaderValue::from_static(allow));
        }
        if let Some((name, value)) = instance {
            headers.insert(name, value);
        }
        response
    }

    /// The body as [`Bytes`], without copying.
    pub fn into_bytes(self) -> Bytes {
        match self.body {
            Cow::Borrowed(body) => Bytes::from_static(body.as_bytes()),
            Cow::Owned(body) => Bytes::from(body),
        }
    }
}

/// `GET /hello`.
pub fn hello() -> Reply {
    Reply::new(200, HELLO_BODY)
}

/// `GET /sleep/<ms>`: waits `<ms>` milliseconds on the runtime's timer, never blocking the
/// worker thread, or answers 400 when `raw_ms` is not a valid duration.
pub async fn sleep(raw_ms: &str) -> Reply {
    match parse_sleep_ms(raw_ms) {
        Ok(ms) => {
            // tokio's timer rounds a deadline up to its next millisecond tick, so even a zero
            // sleep would take about 1 ms: `/sleep/0` answers at once instead.
            if ms > 0 {
                tokio::time::sleep(Duration::from_millis(ms)).await;
            }
            Reply::new(200, format!(r#"{{"slept_ms":{ms}}}"#))
        }
        Err(err) => err.into(),
    }
}

/// Every request the framework's router did not send to [`hello`] or [`sleep`]: 405 for
/// another method on a known path, 400 for `GET /sleep/` (the empty `<ms>`, which routers do
/// not match), 404 for the rest. `path` is the request's path without its query.
pub fn unrouted(method_is_get: bool, path: &str) -> Reply {
    let sleep_ms = path.strip_prefix("/sleep/");
    let known = path == "/hello" || sleep_ms.is_some_and(|ms| !ms.contains('/'));
    match (known, method_is_get) {
        (true, false) => Reply::new(405, METHOD_NOT_ALLOWED_BODY),
        (true, true) if sleep_ms == Some("") => SleepError::Missing.into(),
        _ => Reply::new(404, NOT_FOUND_BODY),
    }
}

/// Parses the `<ms>` of `/sleep/<ms>`: ASCII decimal digits only (no sign, no fraction), at
/// most [`MAX_SLEEP_MS`].
pub fn parse_sleep_ms(raw: &str) -> Result<u64, SleepError> {
    if raw.is_empty() {
        return Err(SleepError::Missing);
    }
    if !raw.bytes().all(|b| b.is_ascii_digit()) {
        return Err(SleepError::NotAnInteger(raw.to_owned()));
    }
    // Only digits are left, so the one way to fail is overflow: out of range too.
    match raw.parse::<u64>() {
        Ok(ms) if ms <= MAX_SLEEP_MS => Ok(ms),
        _ => Err(SleepError::OutOfRange(raw.to_owned())),
    }
}

/// Why a `<ms>` was refused. Its `Display` is the `error` message of the 400 reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SleepError {
    Missing,
    NotAnInteger(String),
    OutOfRange(String),
}

impl fmt::Display for SleepError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SleepError::Missing => write!(
                f,
                "missing sleep duration: use /sleep/<ms> with <ms> from 0 to {MAX_SLEEP_MS}"
            ),
            SleepError::NotAnInteger(raw) => write!(
                f,
                "invalid sleep duration '{raw}': <ms> must be a whole number of milliseconds \
                 from 0 to {MAX_SLEEP_MS}"
            ),
            SleepError::OutOfRange(raw) => write!(
                f,
                "sleep duration {raw} ms is out of range: <ms> must be from 0 to {MAX_SLEEP_MS}"
            ),
        }
    }
}

impl std::error::Error for SleepError {}

impl From<SleepError> for Reply {
    fn from(err: SleepError) -> Self {
        let body = serde_json::json!({ "error": err.to_string() });
        Reply::new(400, body.to_string())
    }
}

#[cfg(test)]
mod tests {
    use std::future::Future;

    use super::*;

    #[test]
    fn sleep_durations_are_whole_milliseconds_up_to_a_minute() {
        assert_eq!(parse_sleep_ms("0"), Ok(0));
        assert_eq!(parse_sleep_ms("007"), Ok(7));
        assert_eq!(parse_sleep_ms("60000"), Ok(60_000));
        for raw in ["abc", "-1", "+1", "1.5", " 1", "1e3", "١"] {
            assert_eq!(
                parse_sleep_ms(raw),
                Err(SleepError::NotAnInteger(raw.into())),
                "{raw}"
            );
        }
        for raw in ["60001", "18446744073709551615", "99999999999999999999"] {
            assert_eq!(parse_sleep_ms(raw), Err(SleepError::OutOfRange(raw.into())));
        }
        assert_eq!(parse_sleep_ms(""), Err(SleepError::Missing));
    }

    #[test]
    fn bad_durations_are_400_with_an_escaped_json_message() {
        let reply = Reply::from(SleepError::NotAnInteger(r#"a"b"#.into()));
        assert_eq!(reply.status, 400);
        assert_eq!(
            reply.body,
            r#"{"error":"invalid sleep duration 'a\"b': <ms> must be a whole number of milliseconds from 0 to 60000"}"#
        );
    }

    #[test]
    fn unrouted_requests_are_405_on_known_paths_and_404_elsewhere() {
        let status = |get, path| unrouted(get, path).status;
        assert_eq!(status(false, "/hello"), 405);
        assert_eq!(unrouted(false, "/hello").allow(), Some("GET"));
        assert_eq!(unrouted(true, "/nope").allow(), None);
        assert_eq!(status(false, "/sleep/10"), 405);
        assert_eq!(status(false, "/sleep/"), 405);
        assert_eq!(status(true, "/sleep/"), 400);
        assert_eq!(status(true, "/nope"), 404);
        assert_eq!(status(false, "/nope"), 404);
        assert_eq!(status(true, "/hello/"), 404);
        assert_eq!(status(true, "/sleep/1/2"), 404);
        assert_eq!(status(true, "/sleep"), 404);
        assert_eq!(unrouted(true, "/x").body, r#"{"error":"not found"}"#);
    }

    #[test]
    fn http_responses_carry_the_status_the_headers_and_the_body() {
        let response = unrouted(false, "/hello").into_http_response(|body| body);
        assert_eq!(response.status(), 405);
        assert_eq!(response.headers()["content-type"], CONTENT_TYPE);
        assert_eq!(response.headers()["allow"], "GET");
        assert_eq!(response.headers().len(), 2);
        assert_eq!(response.body(), r#"{"error":"method not allowed"}"#);
        let response = hello().into_http_response(|body| body);
        assert_eq!(response.status(), 200);
        assert!(!response.headers().contains_key("allow"));
    }

    #[tokio::test]
    async fn sleep_0_answers_without_waiting_for_a_timer_tick() {
        // A zero sleep on tokio's timer is pending until the next 1 ms tick.
        let mut reply = std::pin::pin!(sleep("0"));
        let mut context = std::task::Context::from_waker(std::task::Waker::noop());
        assert_eq!(
            reply.as_mut().poll(&mut context),
            std::task::Poll::Ready(Reply::new(200, r#"{"slept_ms":0}"#))
        );
    }

    #[tokio::test(start_paused = true)]
    async fn sleep_waits_on_the_timer_then_reports_the_duration() {
        let start = tokio::time::Instant::now();
        let reply = sleep("250").await;
        assert_eq!(start.elapsed(), Duration::from_millis(250));
        assert_eq!(reply, Reply::new(200, r#"{"slept_ms":250}"#));
    }
}
