//! Running a real service binary and talking HTTP/1.1 to it over loopback TCP.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper::client::conn::http1::SendRequest;
use hyper::{HeaderMap, Method, Request};
use hyper_util::rt::TokioIo;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use tokio::net::TcpStream;
use tokio::process::{Child, ChildStderr, Command};
use tokio::time::timeout;

/// How long a service may take to print its startup line.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(20);

/// The path of `package`'s binary, built by cargo with the profile of this test run the
/// first time it is asked for, so a stale binary is never tested.
pub fn binary(package: &str) -> PathBuf {
    static BUILT: Mutex<Option<HashMap<String, PathBuf>>> = Mutex::new(None);
    let mut built = BUILT
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let built = built.get_or_insert_with(HashMap::new);
    if let Some(path) = built.get(package) {
        return path.clone();
    }
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../Cargo.toml");
    let run = escargot::CargoBuild::new()
        .manifest_path(&manifest)
        .package(package)
        .bin(package)
        .current_release()
        .run()
        .unwrap_or_else(|err| panic!("could not build {package}: {err}"));
    let path = run.path().to_owned();
    built.insert(package.to_owned(), path.clone());
    path
}

/// A service started with `PORT=0` on 127.0.0.1; killed when dropped.
pub struct Running {
    pub package: &'static str,
    pub addr: SocketAddr,
    pub startup_line: String,
    later_stdout: Arc<Mutex<Vec<String>>>,
    child: Child,
    stderr: Option<ChildStderr>,
}

impl Running {
    /// Starts `package` with `BIND_ADDR=127.0.0.1 PORT=0 WORKERS=2` and `env` on top, and
    /// waits for its startup line.
    pub async fn start(package: &'static str, env: &[(&str, &str)]) -> Running {
        let mut child = command(package, env)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|err| panic!("could not start {package}: {err}"));
        let stdout = child.stdout.take().expect("stdout is piped");
        let mut lines = BufReader::new(stdout).lines();
        let startup_line = match timeout(STARTUP_TIMEOUT, lines.next_line()).await {
            Ok(Ok(Some(line))) => line,
            outcome => {
                let _ = child.kill().await;
                let mut stderr = String::new();
                if let Some(mut pipe) = child.stderr.take() {
                    let _ = pipe.read_to_string(&mut stderr).await;
                }
                panic!("{package} printed no startup line ({outcome:?}); stderr: {stderr}");
            }
        };
        let addr = startup_line
            .split_whitespace()
            .find_map(|word| word.parse::<SocketAddr>().ok())
            .unwrap_or_else(|| panic!("no address in {package}'s startup line {startup_line:?}"));
        // Keep what comes after the startup line: the contract says nothing should.
        let later_stdout = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&later_stdout);
        tokio::spawn(async move {
            while let Ok(Some(line)) = lines.next_line().await {
                sink.lock().unwrap().push(line);
            }
        });
        let stderr = child.stderr.take();
        Running {
            package,
            addr,
            startup_line,
            later_stdout,
            child,
            stderr,
        }
    }

    pub fn signal(&self, signal: Signal) {
        let pid = self.child.id().expect("the service has not been reaped");
        kill(Pid::from_raw(pid as i32), signal).expect("could not signal the service");
    }

    /// What the service printed on stdout after its startup line, so far.
    pub fn later_stdout(&self) -> Vec<String> {
        self.later_stdout.lock().unwrap().clone()
    }

    /// Waits at most `limit` for the process to exit; returns its status and its stderr.
    pub async fn exit(mut self, limit: Duration) -> (ExitStatus, String) {
        let status = timeout(limit, self.child.wait())
            .await
            .unwrap_or_else(|_| panic!("{} did not exit within {limit:?}", self.package))
            .expect("could not wait for the service");
        let mut stderr = String::new();
        if let Some(mut pipe) = self.stderr.take() {
            let _ = pipe.read_to_string(&mut stderr).await;
        }
        (status, stderr)
    }

    pub async fn connect(&self) -> Connection {
        Connection::open(self.addr).await
    }

    /// One request on a connection of its own.
    pub async fn request(&self, method: Method, path: &str) -> Exchange {
        self.connect().await.request(method, path).await
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}

/// The service's command, with the contract's variables cleared from the test's environment.
pub fn command(package: &str, env: &[(&str, &str)]) -> Command {
    let mut command = Command::new(binary(package));
    for var in [
        "PORT",
        "BIND_ADDR",
        "WORKERS",
        "SHUTDOWN_GRACE_MS",
        "INSTANCE",
    ] {
        command.env_remove(var);
    }
    command
        .env("BIND_ADDR", "127.0.0.1")
        .env("PORT", "0")
        .env("WORKERS", "2")
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .kill_on_drop(true);
    command
}

/// A response, read whole.
#[derive(Debug)]
pub struct Exchange {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Exchange {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(|value| {
            value
                .to_str()
                .unwrap_or_else(|_| panic!("header {name} is not ASCII: {value:?}"))
        })
    }

    pub fn body_text(&self) -> &str {
        std::str::from_utf8(&self.body).expect("the body is UTF-8")
    }
}

/// One HTTP/1.1 connection: requests on it reuse it (keep-alive) or fail.
pub struct Connection {
    sender: SendRequest<Empty<Bytes>>,
}

impl Connection {
    pub async fn open(addr: SocketAddr) -> Connection {
        let stream = TcpStream::connect(addr)
            .await
            .unwrap_or_else(|err| panic!("could not connect to {addr}: {err}"));
        Connection::handshake(stream).await
    }

    pub async fn handshake(stream: TcpStream) -> Connection {
        let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .expect("HTTP/1.1 handshake");
        tokio::spawn(connection);
        Connection { sender }
    }

    pub async fn try_request(&mut self, method: Method, path: &str) -> hyper::Result<Exchange> {
        let request = Request::builder()
            .method(method)
            .uri(path)
            .header(hyper::header::HOST, "127.0.0.1")
            .body(Empty::new())
            .expect("a valid request");
        self.sender.ready().await?;
        let response = self.sender.send_request(request).await?;
        let (parts, body) = response.into_parts();
        let body = body.collect().await?.to_bytes();
        Ok(Exchange {
            status: parts.status.as_u16(),
            headers: parts.headers,
            body,
        })
    }

    pub async fn request(&mut self, method: Method, path: &str) -> Exchange {
        let what = format!("{method} {path}");
        self.try_request(method, path)
            .await
            .unwrap_or_else(|err| panic!("{what} failed: {err}"))
    }
}
