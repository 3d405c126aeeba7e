//! The contract's checks, one function each, run against one service package.
//!
//! Expected bodies are written out here byte for byte rather than taken from `svc-common`,
//! so a change to the shared replies that breaks the contract fails the suite.

use std::io::ErrorKind;
use std::os::unix::process::ExitStatusExt;
use std::time::{Duration, Instant};

use futures_util::future::join_all;
use hyper::Method;
use nix::sys::signal::Signal;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::{sleep, timeout};

use crate::harness::{Exchange, Running, command};

/// Asserts one exchange against the contract: status, `Content-Type`, a `Content-Length`
/// that matches the body (never chunked), a `Date`, no other header but `Allow` on a 405
/// (and `Connection`, which the keep-alive and shutdown checks look at), and the body byte
/// for byte. So with `INSTANCE` unset, as every other check starts the service, there is no
/// `X-Instance` header.
#[track_caller]
fn assert_reply(package: &str, what: &str, exchange: &Exchange, status: u16, body: &str) {
    let context = format!("{package}: {what}");
    assert_eq!(
        exchange.status, status,
        "{context}: status; body {:?}",
        exchange.body
    );
    assert_eq!(exchange.body_text(), body, "{context}: body");
    assert_eq!(
        exchange.header("content-type"),
        Some("application/json"),
        "{context}: Content-Type"
    );
    assert_eq!(
        exchange.header("content-length"),
        Some(body.len().to_string().as_str()),
        "{context}: Content-Length"
    );
    assert_eq!(
        exchange.header("transfer-encoding"),
        None,
        "{context}: the body must not be chunked"
    );
    let date = exchange
        .header("date")
        .unwrap_or_else(|| panic!("{context}: no Date header"));
    assert!(
        date.ends_with(" GMT"),
        "{context}: Date {date:?} is not an HTTP date"
    );
    // Every framework sends the same headers: a `Server` or security header of its own would
    // make its responses longer than the others'.
    let mut names: Vec<&str> = exchange
        .headers
        .keys()
        .map(|name| name.as_str())
        .filter(|&name| name != "connection")
        .collect();
    names.sort_unstable();
    let expected: &[&str] = if status == 405 {
        &["allow", "content-length", "content-type", "date"]
    } else {
        &["content-length", "content-type", "date"]
    };
    assert_eq!(names, expected, "{context}: headers");
}

pub async fn hello(package: &'static str) {
    let service = Running::start(package, &[]).await;
    let exchange = service.request(Method::GET, "/hello").await;
    assert_reply(
        package,
        "GET /hello",
        &exchange,
        200,
        r#"{"message":"Hello, World!"}"#,
    );
}

pub async fn sleep_replies_with_its_duration(package: &'static str) {
    let service = Running::start(package, &[]).await;
    for (path, body) in [
        ("/sleep/0", r#"{"slept_ms":0}"#),
        ("/sleep/7", r#"{"slept_ms":7}"#),
        ("/sleep/007", r#"{"slept_ms":7}"#),
        ("/sleep/20?ignored=query", r#"{"slept_ms":20}"#),
    ] {
        let exchange = service.request(Method::GET, path).await;
        assert_reply(package, &format!("GET {path}"), &exchange, 200, body);
    }
}

pub async fn sleep_waits_on_a_timer(package: &'static str) {
    let service = Running::start(package, &[]).await;
    let mut connection = service.connect().await;
    // Warm the connection up, so the timing is the sleep's and not the first request's.
    connection.request(Method::GET, "/hello").await;
    let start = Instant::now();
    let exchange = connection.request(Method::GET, "/sleep/100").await;
    let elapsed = start.elapsed();
    assert_reply(
        package,
        "GET /sleep/100",
        &exchange,
        200,
        r#"{"slept_ms":100}"#,
    );
    assert!(
        elapsed >= Duration::from_millis(100),
        "{package}: /sleep/100 answered after {elapsed:?}, before 100 ms"
    );
    assert!(
        elapsed < Duration::from_millis(600),
        "{package}: /sleep/100 answered after {elapsed:?}"
    );
}

pub async fn bad_sleep_durations_are_400(package: &'static str) {
    const NOT_AN_INTEGER: &str = "<ms> must be a whole number of milliseconds from 0 to 60000\"}";
    let service = Running::start(package, &[]).await;
    let cases = [
        ("abc", format!(r#"{{"error":"invalid sleep duration 'abc': {NOT_AN_INTEGER}"#)),
        ("-1", format!(r#"{{"error":"invalid sleep duration '-1': {NOT_AN_INTEGER}"#)),
        ("1.5", format!(r#"{{"error":"invalid sleep duration '1.5': {NOT_AN_INTEGER}"#)),
        ("+1", format!(r#"{{"error":"invalid sleep duration '+1': {NOT_AN_INTEGER}"#)),
        (
            "60001",
            r#"{"error":"sleep duration 60001 ms is out of range: <ms> must be from 0 to 60000"}"#
                .to_owned(),
        ),
        (
            "99999999999999999999",
            r#"{"error":"sleep duration 99999999999999999999 ms is out of range: <ms> must be from 0 to 60000"}"#
                .to_owned(),
        ),
        (
            "",
            r#"{"error":"missing sleep duration: use /sleep/<ms> with <ms> from 0 to 60000"}"#
                .to_owned(),
        ),
    ];
    for (ms, body) in cases {
        let path = format!("/sleep/{ms}");
        let exchange = service.request(Method::GET, &path).await;
        assert_reply(package, &format!("GET {path}"), &exchange, 400, &body);
    }
}

pub async fn unknown_paths_are_404(package: &'static str) {
    let service = Running::start(package, &[]).await;
    for path in [
        "/",
        "/nope",
        "/hello/",
        "/HELLO",
        "/sleep",
        "/sleep/5/",
        "/sleep/1/2",
    ] {
        let exchange = service.request(Method::GET, path).await;
        assert_reply(
            package,
            &format!("GET {path}"),
            &exchange,
            404,
            r#"{"error":"not found"}"#,
        );
    }
    let exchange = service.request(Method::POST, "/nope").await;
    assert_reply(
        package,
        "POST /nope",
        &exchange,
        404,
        r#"{"error":"not found"}"#,
    );
}

pub async fn wrong_methods_are_405(package: &'static str) {
    let service = Running::start(package, &[]).await;
    for (method, path) in [
        (Method::POST, "/hello"),
        (Method::PUT, "/hello"),
        (Method::DELETE, "/sleep/5"),
        (Method::POST, "/sleep/abc"),
        (Method::PATCH, "/sleep/"),
    ] {
        let what = format!("{method} {path}");
        let exchange = service.request(method, path).await;
        assert_reply(
            package,
            &what,
            &exchange,
            405,
            r#"{"error":"method not allowed"}"#,
        );
        let allow = exchange.header("allow").unwrap_or_default();
        assert!(
            allow.split(',').any(|method| method.trim() == "GET"),
            "{package}: {what}: a 405 must carry Allow with GET, got {allow:?}"
        );
    }
}

pub async fn instance_header_names_the_instance(package: &'static str) {
    let service = Running::start(package, &[("INSTANCE", "blue")]).await;
    let cases = [
        (Method::GET, "/hello", 200, r#"{"message":"Hello, World!"}"#),
        (Method::GET, "/sleep/0", 200, r#"{"slept_ms":0}"#),
        (
            Method::GET,
            "/sleep/abc",
            400,
            r#"{"error":"invalid sleep duration 'abc': <ms> must be a whole number of milliseconds from 0 to 60000"}"#,
        ),
        (Method::GET, "/nope", 404, r#"{"error":"not found"}"#),
        (
            Method::POST,
            "/hello",
            405,
            r#"{"error":"method not allowed"}"#,
        ),
    ];
    for (method, path, status, body) in cases {
        let what = format!("{method} {path} with INSTANCE=blue");
        let mut exchange = service.request(method, path).await;
        let instance: Vec<_> = exchange.headers.get_all("x-instance").iter().collect();
        assert_eq!(instance, ["blue"], "{package}: {what}: X-Instance");
        // Without it, the reply is the one the other checks expect, header for header.
        exchange.headers.remove("x-instance");
        assert_reply(package, &what, &exchange, status, body);
        if status == 405 {
            let allow = exchange.header("allow").unwrap_or_default();
            assert!(
                allow.split(',').any(|method| method.trim() == "GET"),
                "{package}: {what}: a 405 must carry Allow with GET, got {allow:?}"
            );
        }
    }
}

pub async fn keep_alive_serves_100_requests_on_one_connection(package: &'static str) {
    let service = Running::start(package, &[]).await;
    let mut connection = service.connect().await;
    for i in 0..100 {
        let path = if i % 2 == 0 { "/hello" } else { "/sleep/0" };
        let exchange = connection
            .try_request(Method::GET, path)
            .await
            .unwrap_or_else(|err| panic!("{package}: request {i} on one connection: {err}"));
        assert_eq!(exchange.status, 200, "{package}: request {i}");
        let connection_header = exchange.header("connection").unwrap_or_default();
        assert!(
            !connection_header.eq_ignore_ascii_case("close"),
            "{package}: request {i} answered with Connection: close"
        );
    }
    // No per-request logging, on either stream.
    assert_eq!(
        service.later_stdout(),
        Vec::<String>::new(),
        "{package}: stdout"
    );
    service.signal(Signal::SIGTERM);
    let (status, stderr) = service.exit(Duration::from_secs(15)).await;
    assert!(status.success(), "{package}: {status}; stderr: {stderr}");
    assert_eq!(stderr, "", "{package}: stderr");
}

pub async fn sleep_does_not_block_the_only_worker(package: &'static str) {
    const REQUESTS: usize = 200;
    let service = Running::start(package, &[("WORKERS", "1")]).await;
    assert!(
        service.startup_line.ends_with("(workers: 1)"),
        "{package}: {}",
        service.startup_line
    );
    let start = Instant::now();
    let exchanges =
        join_all((0..REQUESTS).map(|_| service.request(Method::GET, "/sleep/300"))).await;
    let elapsed = start.elapsed();
    for exchange in &exchanges {
        assert_reply(
            package,
            "GET /sleep/300",
            exchange,
            200,
            r#"{"slept_ms":300}"#,
        );
    }
    // Sleeping on the worker thread would take 200 × 300 ms = 60 s.
    assert!(
        elapsed < Duration::from_millis(1500),
        "{package}: {REQUESTS} concurrent /sleep/300 on one worker took {elapsed:?}"
    );
}

/// The grace period of the shutdown checks. Rocket waits out the whole grace period when a
/// request was in flight at the signal (see `frameworks/README.md`), so a short one keeps the
/// suite quick; the contract only asks for an exit within the grace period.
const GRACE: (&str, &str) = ("SHUTDOWN_GRACE_MS", "3000");
const GRACE_LIMIT: Duration = Duration::from_millis(3000 + 2000);
/// How long a connection made during the drain may wait to be refused or closed.
const NEW_CONNECTION_LIMIT: Duration = Duration::from_millis(400);

pub async fn graceful_shutdown_on_sigterm(package: &'static str) {
    let service = Running::start(package, &[GRACE]).await;
    let addr = service.addr;
    let mut connection = service.connect().await;
    let in_flight =
        tokio::spawn(async move { connection.request(Method::GET, "/sleep/1000").await });
    // Let the request reach the handler before the signal.
    sleep(Duration::from_millis(200)).await;
    let signalled = Instant::now();
    service.signal(Signal::SIGTERM);
    sleep(Duration::from_millis(200)).await;

    // A new connection is refused, or accepted by the kernel and closed: never left hanging.
    // It must be told while the in-flight request still runs (about 600 ms more): a listener
    // kept open through the drain holds it in the backlog until the process exits.
    match timeout(NEW_CONNECTION_LIMIT, new_connection_after_shutdown(addr)).await {
        Ok(Ok(outcome)) => eprintln!("{package}: new connection after SIGTERM: {outcome}"),
        Ok(Err(served)) => {
            panic!("{package}: a connection made after SIGTERM was served: {served}")
        }
        Err(_) => {
            panic!("{package}: a connection made after SIGTERM hung for {NEW_CONNECTION_LIMIT:?}")
        }
    }

    let exchange = in_flight.await.expect("the in-flight request task");
    assert_reply(
        package,
        "in-flight GET /sleep/1000",
        &exchange,
        200,
        r#"{"slept_ms":1000}"#,
    );
    let (status, stderr) = service.exit(GRACE_LIMIT).await;
    assert_eq!(
        status.code(),
        Some(0),
        "{package}: {status}; stderr: {stderr}"
    );
    let stop = signalled.elapsed();
    assert!(stop < GRACE_LIMIT, "{package}: took {stop:?} to stop");
    eprintln!("{package}: stopped {stop:?} after SIGTERM");
}

/// Connects and sends `GET /hello`. `Ok` says how the service refused; `Err` is the response
/// it should not have sent.
async fn new_connection_after_shutdown(addr: std::net::SocketAddr) -> Result<String, String> {
    let mut stream = match TcpStream::connect(addr).await {
        Ok(stream) => stream,
        Err(err) if err.kind() == ErrorKind::ConnectionRefused => return Ok("refused".into()),
        Err(err) => return Ok(format!("connect failed: {err}")),
    };
    let request = b"GET /hello HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
    if let Err(err) = stream.write_all(request).await {
        return Ok(format!("closed on write: {err}"));
    }
    let mut response = Vec::new();
    match stream.read_to_end(&mut response).await {
        Ok(_) if response.is_empty() => Ok("closed without a response".into()),
        Ok(_) => Err(String::from_utf8_lossy(&response).into_owned()),
        Err(err) => Ok(format!("closed on read: {err}")),
    }
}

pub async fn sigint_also_stops_gracefully(package: &'static str) {
    let service = Running::start(package, &[GRACE]).await;
    let mut connection = service.connect().await;
    let in_flight =
        tokio::spawn(async move { connection.request(Method::GET, "/sleep/300").await });
    sleep(Duration::from_millis(100)).await;
    service.signal(Signal::SIGINT);
    let exchange = in_flight.await.expect("the in-flight request task");
    assert_reply(
        package,
        "in-flight GET /sleep/300",
        &exchange,
        200,
        r#"{"slept_ms":300}"#,
    );
    let (status, stderr) = service.exit(GRACE_LIMIT).await;
    assert_eq!(
        status.code(),
        Some(0),
        "{package}: {status}; stderr: {stderr}"
    );
}

pub async fn bad_environment_exits_2(package: &'static str) {
    let too_long_instance = "x".repeat(65);
    let cases = [
        ("PORT", "abc"),
        ("PORT", "70000"),
        ("WORKERS", "0"),
        ("BIND_ADDR", "localhost"),
        ("SHUTDOWN_GRACE_MS", "soon"),
        ("INSTANCE", "blue green"),
        ("INSTANCE", "blue\ngreen"),
        ("INSTANCE", &too_long_instance),
    ];
    for (var, value) in cases {
        let output = command(package, &[(var, value)])
            .output()
            .await
            .expect("could not run the service");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(
            output.status.code(),
            Some(2),
            "{package}: {var}={value}: {:?} (signal {:?}); stderr: {stderr}",
            output.status,
            output.status.signal()
        );
        assert_eq!(
            stderr.lines().count(),
            1,
            "{package}: {var}={value}: {stderr:?}"
        );
        // The value is quoted and escaped as Rust's `{:?}` does, so a newline in it stays on
        // the one line.
        assert!(
            stderr.contains(&format!("{var}={value:?}")),
            "{package}: the message must name {var} and {value:?}: {stderr:?}"
        );
        assert!(output.stdout.is_empty(), "{package}: {var}={value}: stdout");
    }
}

/// Runs `<package> health` with `env` on top of the suite's environment; returns its exit
/// code and stderr, after checking that it printed nothing on stdout.
async fn health_probe(package: &str, env: &[(&str, &str)]) -> (Option<i32>, String) {
    let output = command(package, env)
        .arg("health")
        .output()
        .await
        .expect("could not run the health probe");
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(
        output.stdout.is_empty(),
        "{package} health {env:?}: stdout {:?}",
        String::from_utf8_lossy(&output.stdout)
    );
    (output.status.code(), stderr)
}

pub async fn health_probe_exits_0_while_serving_and_1_once_stopped(package: &'static str) {
    let service = Running::start(package, &[]).await;
    let port = service.addr.port().to_string();
    // As the service was bound, and as a Fargate task binds it: 0.0.0.0, probed on 127.0.0.1.
    for bind in ["127.0.0.1", "0.0.0.0"] {
        let (code, stderr) = health_probe(package, &[("PORT", &port), ("BIND_ADDR", bind)]).await;
        assert_eq!(
            (code, stderr.as_str()),
            (Some(0), ""),
            "{package} health with BIND_ADDR={bind} PORT={port}"
        );
    }
    service.signal(Signal::SIGTERM);
    let (status, stderr) = service.exit(GRACE_LIMIT).await;
    assert!(status.success(), "{package}: {status}; stderr: {stderr}");

    let (code, stderr) = health_probe(package, &[("PORT", &port)]).await;
    assert_eq!(
        code,
        Some(1),
        "{package} health with nothing on port {port}: stderr {stderr:?}"
    );
    assert_eq!(stderr.lines().count(), 1, "{package}: {stderr:?}");
    assert!(
        stderr.starts_with(&format!(
            "{package}: health: could not connect to 127.0.0.1:{port}"
        )),
        "{package}: {stderr:?}"
    );
}

pub async fn health_probe_bad_environment_exits_2(package: &'static str) {
    let cases = [
        ("PORT", "x", "invalid PORT=\"x\""),
        ("PORT", "0", "health: PORT=0"),
        ("BIND_ADDR", "localhost", "invalid BIND_ADDR=\"localhost\""),
    ];
    for (var, value, message) in cases {
        let (code, stderr) = health_probe(package, &[(var, value)]).await;
        assert_eq!(
            code,
            Some(2),
            "{package} health with {var}={value}: {stderr:?}"
        );
        assert_eq!(stderr.lines().count(), 1, "{package}: {stderr:?}");
        assert!(
            stderr.starts_with(&format!("{package}: {message}")),
            "{package} health with {var}={value}: {stderr:?}"
        );
    }
}

pub async fn startup_line(package: &'static str) {
    let service = Running::start(package, &[("WORKERS", "3")]).await;
    let framework = package
        .strip_prefix("svc-")
        .expect("packages are named svc-<framework>");
    let expected_start = format!("{package}: {framework} ");
    let expected_end = format!(" listening on {} (workers: 3)", service.addr);
    let line = &service.startup_line;
    assert!(
        line.starts_with(&expected_start) && line.ends_with(&expected_end),
        "{package}: startup line {line:?}"
    );
    let version = &line[expected_start.len()..line.len() - expected_end.len()];
    assert!(
        version.split('.').count() == 3 && version.split('.').all(|n| n.parse::<u32>().is_ok()),
        "{package}: {version:?} is not a version"
    );
    assert!(service.addr.ip().is_loopback() && service.addr.port() != 0);
}
