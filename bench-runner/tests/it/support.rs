//! What the Docker tests share: the engine (or a loud failure when none answers), the one
//! static build of the service binaries, a sweep that removes everything they made, and a
//! small HTTP/1.1 client for one request.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;

use bench_core::catalog::Framework;
use bench_runner::binaries::Binary;
use bench_runner::workspace::Workspace;
use bench_runner::{artifacts, docker};
use bollard::Docker;
use bollard::query_parameters::{
    ListContainersOptionsBuilder, ListImagesOptionsBuilder, RemoveContainerOptionsBuilder,
    RemoveImageOptionsBuilder,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::OnceCell;

/// The label on every container and image the tests create; its value is the test's scope
/// (its name), so a test sweeps only what it made while other tests run beside it.
pub const TEST_LABEL: &str = "benchlab.test";

/// The repository test images go to, so they never replace a user's `benchlab/…` images.
pub const TEST_REPOSITORY: &str = "benchlab-test";

/// Set to 1 to skip the Docker tests on a machine without an engine. CI never sets it.
const SKIP_VARIABLE: &str = "BENCHLAB_SKIP_DOCKER";

/// The labels the containers and images of test `scope` carry.
pub fn test_labels(scope: &str) -> HashMap<String, String> {
    HashMap::from([(TEST_LABEL.to_owned(), scope.to_owned())])
}

/// The engine, or `None` when none answers and `BENCHLAB_SKIP_DOCKER=1` says to skip.
///
/// # Panics
/// When no engine answers and skipping was not asked for: these tests are never skipped
/// silently.
pub async fn engine() -> Option<Docker> {
    match docker::connect().await {
        Ok(docker) => Some(docker),
        Err(err) if std::env::var(SKIP_VARIABLE).is_ok_and(|value| value == "1") => {
            eprintln!("skipping a Docker test ({SKIP_VARIABLE}=1): {err:#}");
            None
        }
        Err(err) => panic!(
            "{err:#}\nThis test needs a Docker engine. On a laptop without one, set \
             {SKIP_VARIABLE}=1 to skip it (CI never does)."
        ),
    }
}

/// The static service binaries of every framework, built once for all the tests of this
/// binary that need them (the first caller builds, the others wait). `bench-runner run`
/// started by a test builds them too, but after this its cargo has nothing left to do.
pub async fn binaries() -> &'static BTreeMap<Framework, Binary> {
    static BINARIES: OnceCell<BTreeMap<Framework, Binary>> = OnceCell::const_new();
    BINARIES
        .get_or_init(|| async {
            let workspace = Workspace::locate().expect("the workspace");
            artifacts::build_binaries(&workspace, Framework::ALL)
                .await
                .expect("the static release binaries build")
        })
        .await
}

/// Removes every container and image labelled with test `scope`, and every image of its
/// `repository` if it has one of its own, when created (leftovers of an interrupted run) and
/// when dropped, even by a panic. Base images are not labelled and stay, as a cache.
pub struct Sweep {
    what: Swept,
}

/// What a [`Sweep`] removes.
#[derive(Clone)]
struct Swept {
    scope: String,
    repository: Option<String>,
}

impl Sweep {
    pub async fn new(docker: &Docker, scope: &str) -> Self {
        Self::start(docker, scope, None).await
    }

    /// A sweep that also removes every image of `repository`, for a test whose images are
    /// built by `bench-runner` itself and so carry no test label.
    pub async fn with_repository(docker: &Docker, scope: &str, repository: &str) -> Self {
        Self::start(docker, scope, Some(repository.to_owned())).await
    }

    async fn start(docker: &Docker, scope: &str, repository: Option<String>) -> Self {
        let what = Swept {
            scope: scope.to_owned(),
            repository,
        };
        what.remove(docker).await;
        Self { what }
    }
}

impl Swept {
    async fn remove(&self, docker: &Docker) {
        let label = format!("{TEST_LABEL}={}", self.scope);
        remove_containers(docker, &label).await;
        remove_images(docker, "label", &label).await;
        if let Some(repository) = &self.repository {
            remove_images(docker, "reference", &format!("{repository}/*")).await;
        }
    }
}

impl Drop for Sweep {
    fn drop(&mut self) {
        // Drop cannot await: sweep from a thread with its own runtime and connection.
        let what = self.what.clone();
        let swept = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime for the sweep");
            runtime.block_on(async {
                if let Ok(docker) = docker::connect().await {
                    what.remove(&docker).await;
                }
            });
        });
        if swept.join().is_err() {
            eprintln!("warning: the sweep of test containers and images panicked");
        }
    }
}

/// The ids of the containers labelled `label` (`key` or `key=value`), running or not.
pub async fn labelled_containers(docker: &Docker, label: &str) -> Vec<String> {
    let filters = HashMap::from([("label", vec![label.to_owned()])]);
    let options = ListContainersOptionsBuilder::new()
        .all(true)
        .filters(&filters)
        .build();
    docker
        .list_containers(Some(options))
        .await
        .expect("the engine lists containers")
        .into_iter()
        .filter_map(|container| container.id)
        .collect()
}

/// Removes the containers labelled `label` (`key=value`).
async fn remove_containers(docker: &Docker, label: &str) {
    let filters = HashMap::from([("label", vec![label.to_owned()])]);
    let containers = docker
        .list_containers(Some(
            ListContainersOptionsBuilder::new()
                .all(true)
                .filters(&filters)
                .build(),
        ))
        .await
        .unwrap_or_default();
    for id in containers.into_iter().filter_map(|container| container.id) {
        let options = RemoveContainerOptionsBuilder::new()
            .force(true)
            .v(true)
            .build();
        if let Err(err) = docker.remove_container(&id, Some(options)).await {
            eprintln!("warning: could not remove test container {id}: {err}");
        }
    }
}

/// Removes the images the engine's `filter` (`label` or `reference`) matches with `value`.
async fn remove_images(docker: &Docker, filter: &str, value: &str) {
    let filters = HashMap::from([(filter, vec![value.to_owned()])]);
    let images = docker
        .list_images(Some(
            ListImagesOptionsBuilder::new()
                .all(true)
                .filters(&filters)
                .build(),
        ))
        .await
        .unwrap_or_default();
    for image in images {
        let options = RemoveImageOptionsBuilder::new().force(true).build();
        if let Err(err) = docker.remove_image(&image.id, Some(options), None).await
            && !docker::is_not_found(&err)
        {
            eprintln!("warning: could not remove test image {}: {err}", image.id);
        }
    }
}

/// A response: status code and body.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub body: String,
}

/// `GET path` over HTTP/1.1 to `addr` (a loopback address), with `Connection: close`.
pub async fn get(addr: SocketAddr, path: &str) -> std::io::Result<Response> {
    get_with(addr, path, &[]).await
}

/// [`get`] with more request headers.
pub async fn get_with(
    addr: SocketAddr,
    path: &str,
    headers: &[(&str, &str)],
) -> std::io::Result<Response> {
    assert!(
        addr.ip().is_loopback(),
        "tests only talk to loopback: {addr}"
    );
    let mut stream = tokio::net::TcpStream::connect(addr).await?;
    let headers: String = headers
        .iter()
        .map(|(name, value)| format!("{name}: {value}\r\n"))
        .collect();
    let request =
        format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\n{headers}Connection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await?;
    let text = String::from_utf8_lossy(&raw);
    let invalid = |what: &str| std::io::Error::other(format!("{what} in response {text:?}"));
    let (head, body) = text
        .split_once("\r\n\r\n")
        .ok_or_else(|| invalid("no header end"))?;
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| invalid("no status code"))?;
    let chunked = head
        .lines()
        .any(|line| line.eq_ignore_ascii_case("transfer-encoding: chunked"));
    let body = if chunked {
        dechunk(body).ok_or_else(|| invalid("bad chunked body"))?
    } else {
        body.to_owned()
    };
    Ok(Response { status, body })
}

/// The payload of a chunked body.
fn dechunk(mut body: &str) -> Option<String> {
    let mut payload = String::new();
    loop {
        let (size, rest) = body.split_once("\r\n")?;
        let size = usize::from_str_radix(size.split(';').next()?.trim(), 16).ok()?;
        if size == 0 {
            return Some(payload);
        }
        payload.push_str(rest.get(..size)?);
        body = rest.get(size..)?.strip_prefix("\r\n")?;
    }
}

/// Real, effective, saved and filesystem user ids of process `pid` on this host.
pub fn process_uids(pid: i64) -> std::io::Result<Vec<u32>> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let line = status
        .lines()
        .find_map(|line| line.strip_prefix("Uid:"))
        .ok_or_else(|| std::io::Error::other("no Uid line"))?;
    Ok(line
        .split_whitespace()
        .filter_map(|uid| uid.parse().ok())
        .collect())
}
