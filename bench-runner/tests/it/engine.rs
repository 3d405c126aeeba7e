//! A remote engine's path, TCP and TLS with client certificates, against the local engine's
//! listener on 127.0.0.1:2376 and the certificates scripts/ensure-docker.sh generated:
//! `bench-runner images --docker-host` builds and measures an image through it, the runner's
//! own engine code starts that image's service and reads it through the engine's stats API,
//! and it answers on loopback; a CA that did not sign the engine's certificate, a
//! certificate directory without key.pem and plain HTTP fail with errors that say what to
//! check. And what a remote engine cannot measure is refused before anything starts.

use std::ffi::OsString;
use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use bench_runner::docker::Engine;
use bench_runner::server::{Limits, Server, StartOptions, Target, engine_reading};

use crate::support::{self, Sweep, TEST_LABEL};

/// The local engine's TLS listener, as scripts/ensure-docker.sh starts it.
const TLS_ENDPOINT: &str = "tcp://127.0.0.1:2376";

/// Where scripts/ensure-docker.sh writes the client's ca.pem, cert.pem and key.pem.
const CLIENT_DIR: &str = "/var/lib/benchlab/engine-tls/client";

/// The repository of this test's image: never the user's `benchlab/…`, no other test's.
const REPOSITORY: &str = "benchlab-test-engine";

/// Fails the test, with what to run, unless the TLS listener answers and its client files
/// are there. Never skipped: CI runs scripts/ensure-docker.sh first.
fn require_tls_endpoint() {
    let advice = "run scripts/ensure-docker.sh: it starts the local engine with its TLS \
                  listener on 127.0.0.1:2376 and writes the client's certificates to";
    let addr = "127.0.0.1:2376".parse().expect("an address");
    if let Err(err) = std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(2)) {
        panic!("nothing answers on 127.0.0.1:2376 ({err}): {advice} {CLIENT_DIR}");
    }
    for name in ["ca.pem", "cert.pem", "key.pem"] {
        let path = Path::new(CLIENT_DIR).join(name);
        assert!(
            path.is_file(),
            "{} is missing: {advice} {CLIENT_DIR}",
            path.display()
        );
    }
}

/// The TLS endpoint's engine with DOCKER_TLS_VERIFY=1 and DOCKER_CERT_PATH=`cert_dir`, read
/// without touching this process's environment.
fn tls_engine(cert_dir: &Path) -> Engine {
    let cert_dir = cert_dir.as_os_str().to_owned();
    Engine::resolve(Some(TLS_ENDPOINT), |name| match name {
        "DOCKER_TLS_VERIFY" => Some(OsString::from("1")),
        "DOCKER_CERT_PATH" => Some(cert_dir.clone()),
        _ => None,
    })
    .expect("the TLS endpoint resolves")
}

/// `bench-runner` with `args`, its engine chosen by `--docker-host` and the TLS variables
/// only, as a user's shell would set them.
fn bench_runner(args: &[&str], tls: bool) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_bench-runner"));
    command
        .args(args)
        .env_remove("DOCKER_HOST")
        .env_remove("DOCKER_TLS_VERIFY")
        .env_remove("DOCKER_CERT_PATH");
    if tls {
        command
            .env("DOCKER_TLS_VERIFY", "1")
            .env("DOCKER_CERT_PATH", CLIENT_DIR);
    }
    command.output().expect("bench-runner runs")
}

/// A throwaway CA's certificate at `dir/ca.pem`: one that signed nothing the engine has.
fn throwaway_ca(dir: &Path) {
    let status = Command::new("openssl")
        .args(["req", "-x509", "-newkey", "ec", "-pkeyopt"])
        .args(["ec_paramgen_curve:P-256", "-nodes", "-days", "1"])
        .args(["-subj", "/CN=not the engine's CA", "-keyout"])
        .arg(dir.join("ca-key.pem"))
        .arg("-out")
        .arg(dir.join("ca.pem"))
        .output()
        .expect("openssl runs (scripts/ensure-docker.sh installs it)");
    assert!(
        status.status.success(),
        "openssl made no CA: {}",
        String::from_utf8_lossy(&status.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_engine_builds_and_serves_and_wrong_certificates_fail_clearly() {
    require_tls_endpoint();
    let scope = "tls_engine_builds_and_serves_and_wrong_certificates_fail_clearly";
    let engine = tls_engine(Path::new(CLIENT_DIR));
    assert!(engine.is_local(), "{}", engine.describe());
    let docker = engine
        .connect()
        .await
        .unwrap_or_else(|err| panic!("{err:#}"));
    let server_api = docker
        .version()
        .await
        .expect("the engine answers over TLS")
        .api_version
        .expect("the engine names its API version");
    assert_eq!(
        docker.client_version().to_string(),
        server_api,
        "the client negotiated down to the engine's API version"
    );
    let _sweep = Sweep::with_repository(&docker, scope, REPOSITORY).await;

    // The CLI through the TLS endpoint: the image built and measured there.
    let scratch = tempfile::tempdir().expect("a temporary directory");
    let tables = scratch.path().join("images");
    let tables_arg = tables.to_string_lossy().into_owned();
    let output = bench_runner(
        &[
            "images",
            "--docker-host",
            TLS_ENDPOINT,
            "--frameworks",
            "axum",
            "--bases",
            "scratch",
            "--repository",
            REPOSITORY,
            "--out",
            &tables_arg,
        ],
        true,
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "images over TLS failed: {stderr}");
    let image = format!("{REPOSITORY}/axum:scratch");
    let table = std::fs::read_to_string(tables.join("images.md")).expect("images.md");
    assert!(table.contains("axum"), "the table has the image:\n{table}");
    docker
        .inspect_image(&image)
        .await
        .unwrap_or_else(|err| panic!("{image} is not on the engine: {err}"));

    // The runner's own code starts it through the TLS connection, and reads its usage the way
    // it reads a remote engine's containers: the engine's stats API.
    let limits = Limits {
        vcpus: 1.0,
        memory_bytes: 256 << 20,
        cpuset: "0-1".parse().expect("a CPU list"),
        workers: 1,
        shutdown_grace: Duration::from_secs(2),
    };
    let options = StartOptions {
        stats_from_engine: true,
        ..StartOptions::default()
    };
    let mut server = Server::start_with(
        Some(&docker),
        &Target::Image(image.clone()),
        &limits,
        &support::test_labels(scope),
        &options,
    )
    .await
    .unwrap_or_else(|err| panic!("{image} does not start over TLS: {err:#}"));
    assert!(server.reads_through_engine());
    server
        .wait_ready(Duration::from_secs(30))
        .await
        .unwrap_or_else(|err| panic!("{image} never answers: {err:#}"));
    assert!(server.addr.ip().is_loopback(), "{}", server.addr);
    for _ in 0..50 {
        let response = support::get(server.addr, "/hello")
            .await
            .expect("GET /hello");
        assert_eq!(response.status, 200, "GET /hello");
        assert_eq!(response.body, r#"{"message":"Hello, World!"}"#);
    }
    let usage = server.usage().await.expect("the engine's stats");
    assert!(usage.cpu > Duration::ZERO, "{usage:?}");
    assert!(usage.anon_bytes > 0, "{usage:?}");
    let throttling = usage.throttling.expect("a quota's CFS counters");
    assert!(throttling.periods > 0, "{throttling:?}");
    let later = server.usage().await.expect("the engine's stats again");
    assert!(later.cpu >= usage.cpu, "{usage:?} then {later:?}");
    if let Some(peak) = server.memory_peak().await.expect("the peak") {
        assert!(
            peak >= usage.anon_bytes,
            "peak {peak} < anon {}",
            usage.anon_bytes
        );
    }
    let stopped = server.stop().await.expect("the container stops");
    assert_eq!(stopped.exit_code, Some(0), "SIGTERM ends it cleanly");
    let label = format!("{TEST_LABEL}={scope}");
    let left = support::labelled_containers(&docker, &label).await;
    assert!(left.is_empty(), "the container was removed: {left:?}");

    // The stats API gives what the cgroup files give: a local engine's container read from
    // its files, then the engine, then its files again, brackets the engine's figures.
    let server = Server::start_with(
        Some(&docker),
        &Target::Image(image.clone()),
        &limits,
        &support::test_labels(scope),
        &StartOptions::default(),
    )
    .await
    .unwrap_or_else(|err| panic!("{image} does not start over TLS: {err:#}"));
    assert!(!server.reads_through_engine());
    let running = support::labelled_containers(&docker, &label).await;
    let [id] = running.as_slice() else {
        panic!("one container of {image} runs: {running:?}");
    };
    let before = server.usage().await.expect("the cgroup files");
    let through_engine = engine_reading(&docker, id).await.expect("the stats").usage;
    let after = server.usage().await.expect("the cgroup files again");
    assert!(
        before.cpu <= through_engine.cpu && through_engine.cpu <= after.cpu,
        "CPU: files {before:?}, engine {through_engine:?}, files {after:?}"
    );
    let (low, high) = (
        before.anon_bytes.min(after.anon_bytes),
        before.anon_bytes.max(after.anon_bytes),
    );
    assert!(
        (low..=high).contains(&through_engine.anon_bytes),
        "anon: files {before:?}, engine {through_engine:?}, files {after:?}"
    );
    server.stop().await.expect("the container stops");

    // A CA that did not sign the engine's certificate: the handshake fails, saying so.
    let wrong = tempfile::tempdir().expect("a temporary directory");
    throwaway_ca(wrong.path());
    for name in ["cert.pem", "key.pem"] {
        std::fs::copy(Path::new(CLIENT_DIR).join(name), wrong.path().join(name))
            .expect("the client's files copy");
    }
    let err = format!(
        "{:#}",
        tls_engine(wrong.path()).connect().await.unwrap_err()
    );
    let ca = wrong.path().join("ca.pem");
    assert!(
        err.starts_with(
            "the TLS handshake with the Docker engine at tcp://127.0.0.1:2376 failed: invalid peer certificate"
        ) && err.contains(&format!("check that {} is the CA that signed", ca.display())),
        "{err}"
    );

    // A directory without key.pem: the missing file and DOCKER_CERT_PATH, before connecting.
    let keyless = tempfile::tempdir().expect("a temporary directory");
    for name in ["ca.pem", "cert.pem"] {
        std::fs::copy(Path::new(CLIENT_DIR).join(name), keyless.path().join(name))
            .expect("the client's files copy");
    }
    let err = format!(
        "{:#}",
        tls_engine(keyless.path()).connect().await.unwrap_err()
    );
    let dir = keyless.path().display();
    assert_eq!(
        err,
        format!(
            "DOCKER_TLS_VERIFY is set, but {dir}/key.pem is missing: the TLS client files \
             ca.pem, cert.pem and key.pem come from DOCKER_CERT_PATH={dir}"
        )
    );

    // Plain HTTP to the TLS port: the engine's refusal, and what TLS needs.
    let plain = Engine::resolve(Some(TLS_ENDPOINT), |_| None).expect("the address resolves");
    let err = format!("{:#}", plain.connect().await.unwrap_err());
    assert_eq!(
        err,
        "the Docker engine at tcp://127.0.0.1:2376 over plain HTTP (from --docker-host) refused \
         the ping with HTTP 400: Client sent an HTTP request to an HTTPS server; an engine \
         that speaks TLS needs DOCKER_TLS_VERIFY=1 and DOCKER_CERT_PATH"
    );
}

/// What a remote engine cannot measure is refused by flag before anything starts or
/// connects (the addresses are TEST-NET-1, which nothing answers).
#[test]
fn a_remote_engine_refuses_what_it_would_measure_wrong() {
    let out = tempfile::tempdir().expect("a temporary directory");
    let out = out.path().join("run").to_string_lossy().into_owned();
    let cases: [(&[&str], &str); 4] = [
        (
            &["run", "--target-host", "192.0.2.10", "--out", &out],
            "--target-host 192.0.2.10: the Docker engine at unix:///var/run/docker.sock runs \
             on this machine, where the services bind loopback only",
        ),
        (
            &[
                "run",
                "--docker-host",
                "tcp://192.0.2.10:2376",
                "--out",
                &out,
            ],
            "the Docker engine at tcp://192.0.2.10:2376 over plain HTTP (from --docker-host) \
             is another machine, but the load would go to 127.0.0.1, this one",
        ),
        (
            &[
                "cross-check",
                "--docker-host",
                "tcp://192.0.2.10:2376",
                "--target-host",
                "192.0.2.10",
                "--backend",
                "process",
                "--out",
                &out,
            ],
            "--backend process runs the services as processes of this machine",
        ),
        (
            &["deploy", "--docker-host", "tcp://192.0.2.10:2376"],
            "deploy runs nginx and the recorder on this machine, in front of instances on its \
             loopback, but the Docker engine is tcp://192.0.2.10:2376 over plain HTTP (from \
             --docker-host), another machine",
        ),
    ];
    for (args, message) in cases {
        let output = bench_runner(args, false);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{args:?}: {stderr}");
        assert!(stderr.contains(message), "{args:?}:\n{stderr}");
    }
    assert!(!Path::new(&out).exists(), "nothing was written");
    let output = bench_runner(&["bases", "--docker-host", "ssh://lab@server"], false);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("--docker-host 'ssh://lab@server': benchlab reaches an engine at"),
        "{stderr}"
    );
}
