//! `<binary> health`: the service binary as its own health probe. A container health check
//! (an ECS task's `healthCheck`, Docker's `HEALTHCHECK`) runs a command inside the container,
//! and the scratch and distroless images have no shell and no curl: the one program they hold
//! is the service, so the service probes itself.
//!
//! The probe reads the same environment as the service ([`Config`](crate::Config): a bad
//! value exits 2, as it does for the server), sends one `GET /hello` over HTTP/1.1 with
//! `Connection: close` to the port the service listens on, and exits 0 on a `200` status
//! line, 1 on anything else after one line on stderr saying what it got. It is plain
//! `std::net`, blocking, with no runtime: it runs before the service would start one
//! ([`Service::config_or_exit`](crate::Service::config_or_exit)).

use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream};
use std::time::Duration;

/// The first argument that makes a service binary probe instead of serve: `/service health`.
pub const ARG: &str = "health";

/// How long the probe waits to connect, and then for each write and read: ECS's shortest
/// health-check timeout.
pub const TIMEOUT: Duration = Duration::from_secs(2);

/// The most of the response the probe reads: `/hello`'s answer is about 150 bytes.
const MAX_RESPONSE: usize = 16 * 1024;

/// Whether the process was started as the probe: its first argument is [`ARG`].
pub fn requested() -> bool {
    std::env::args_os().nth(1).is_some_and(|arg| arg == ARG)
}

/// Where the probe connects for a service bound to `bind`: the same address, or the loopback
/// address of its family when it is the unspecified one (`0.0.0.0` → `127.0.0.1`,
/// `::` → `::1`), which a listener on the unspecified address accepts too.
pub fn target(bind: SocketAddr) -> SocketAddr {
    let ip = match bind.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    SocketAddr::new(ip, bind.port())
}

/// One `GET /hello` to `addr`: `Ok` when the status line says 200, else what the probe got,
/// as one line.
pub fn probe(addr: SocketAddr) -> Result<(), String> {
    let mut stream = TcpStream::connect_timeout(&addr, TIMEOUT)
        .map_err(|err| format!("could not connect to {addr}: {err}"))?;
    let request = format!("GET /hello HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream
        .set_write_timeout(Some(TIMEOUT))
        .and_then(|()| stream.set_read_timeout(Some(TIMEOUT)))
        .and_then(|()| stream.write_all(request.as_bytes()))
        .map_err(|err| format!("could not send GET /hello to {addr}: {err}"))?;
    let response = read_response(&mut stream);
    let status_line = match (status_line(&response.bytes), response.error) {
        (Some(line), _) => line,
        (None, Some(err)) => return Err(format!("no status line from {addr}: {err}")),
        (None, None) => {
            return Err(format!(
                "{addr} closed the connection without a status line, after {} bytes",
                response.bytes.len()
            ));
        }
    };
    if is_200(&status_line) {
        Ok(())
    } else {
        Err(format!("GET /hello on {addr} answered {status_line:?}"))
    }
}

/// What was read of a response, and the error that ended the reading early, if one did.
struct Response {
    bytes: Vec<u8>,
    error: Option<std::io::Error>,
}

/// Reads until the server closes the connection, as `Connection: close` asks, so the socket
/// is not closed with the answer unread (which would reset the connection under the server).
fn read_response(stream: &mut TcpStream) -> Response {
    let mut bytes = Vec::new();
    let mut chunk = [0; 1024];
    while bytes.len() < MAX_RESPONSE {
        match stream.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => bytes.extend_from_slice(&chunk[..n]),
            Err(err) if err.kind() == std::io::ErrorKind::Interrupted => {}
            Err(error) => {
                return Response {
                    bytes,
                    error: Some(error),
                };
            }
        }
    }
    Response { bytes, error: None }
}

/// The response's first line, when a whole one arrived.
fn status_line(response: &[u8]) -> Option<String> {
    let end = response.windows(2).position(|pair| pair == b"\r\n")?;
    Some(String::from_utf8_lossy(&response[..end]).into_owned())
}

/// Whether `line` is an HTTP status line with status 200: `HTTP/1.1 200 OK`.
fn is_200(line: &str) -> bool {
    let mut parts = line.splitn(3, ' ');
    parts
        .next()
        .is_some_and(|version| version.starts_with("HTTP/"))
        && parts.next() == Some("200")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_probe_targets_loopback_for_an_unspecified_bind_address() {
        let cases = [
            ("0.0.0.0:8080", "127.0.0.1:8080"),
            ("[::]:8080", "[::1]:8080"),
            ("127.0.0.1:9000", "127.0.0.1:9000"),
            ("[::1]:8080", "[::1]:8080"),
            ("10.0.3.7:8080", "10.0.3.7:8080"),
        ];
        for (bind, expected) in cases {
            let bind: SocketAddr = bind.parse().unwrap();
            assert_eq!(target(bind), expected.parse().unwrap(), "{bind}");
        }
    }

    #[test]
    fn only_a_200_status_line_is_healthy() {
        assert!(is_200("HTTP/1.1 200 OK"));
        assert!(is_200("HTTP/1.0 200"));
        for line in [
            "HTTP/1.1 404 Not Found",
            "HTTP/1.1 2000 OK",
            "HTTP/1.1  200 OK",
            "200 OK",
            "",
        ] {
            assert!(!is_200(line), "{line:?}");
        }
    }

    #[test]
    fn the_status_line_needs_its_line_end() {
        assert_eq!(
            status_line(b"HTTP/1.1 200 OK\r\ncontent-length: 27\r\n\r\n").as_deref(),
            Some("HTTP/1.1 200 OK")
        );
        assert_eq!(status_line(b"HTTP/1.1 200 O"), None);
    }
}
