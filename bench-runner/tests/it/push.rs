//! `bench-runner push` as users call it, against a real registry: Debian's docker-registry on
//! loopback with htpasswd auth, started here. axum's scratch image is pushed and pulled back
//! cold; what the image table then says is checked against the registry itself (its
//! manifest, read here over HTTP, and the bytes its storage grew by). Wrong credentials, a
//! registry that does not answer and an image that is not there each fail with a message
//! naming what is wrong, and leave no tag behind. Last, the push logs in with the token of
//! moto's ECR (`--ecr`), to a registry that takes that token's user and password.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Output;

use base64::Engine as _;
use bench_core::catalog::{Base, Framework};
use bench_core::images::ImageRow;
use bench_runner::bases::BaseImage;
use bench_runner::binaries::Binary;
use bench_runner::images::{ImageOptions, ensure_image};
use bench_runner::registry::{LocalRegistry, USERNAME};
use bench_runner::workspace::Workspace;
use bench_runner::{lab, output};
use sha2::{Digest, Sha256};

use crate::moto::Moto;
use crate::support::{self, Sweep, TEST_LABEL};

/// This test's local images: never the user's `benchlab/…`, no other test's.
const REPOSITORY: &str = "benchlab-test-push";

fn push(out: &Path, args: &[&str], password: &str) -> Output {
    push_with(out, args, password, Vec::new())
}

/// [`push`] with more environment.
fn push_with(out: &Path, args: &[&str], password: &str, env: Vec<(String, String)>) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_bench-runner"))
        .args(["push", "--repository", REPOSITORY, "--out"])
        .arg(out)
        .args(["--frameworks", "axum", "--bases", "scratch"])
        .args(args)
        .env("BENCHLAB_REGISTRY_PASSWORD", password)
        // No Docker config of the user's: credentials come only from what the test gives.
        .env("DOCKER_CONFIG", out)
        .envs(env)
        .output()
        .expect("bench-runner runs")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn row(out: &Path) -> ImageRow {
    output::read_image_rows(out)
        .expect("the image table reads")
        .into_iter()
        .find(|row| row.framework == Framework::Axum && row.base == Base::Scratch)
        .expect("axum's scratch row")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn push_and_cold_pull_match_the_registry_and_bad_registries_are_named() {
    let Some(docker) = support::engine().await else {
        return;
    };
    let scope = "push";
    let _sweep = Sweep::with_repository(&docker, scope, REPOSITORY).await;
    let workspace = Workspace::locate().expect("the workspace");
    let tmp = tempfile::tempdir().expect("a temporary directory");
    let out = tmp.path();

    // The image and its row in an image table of the test's own, as `images` writes them.
    // Its binary is axum's with 16 random bytes appended (an ELF file ignores what follows
    // its sections): no other image shares its layer, so the cold pull, which removes every
    // image holding the layer, touches nothing another test uses.
    let axum = &support::binaries().await[&Framework::Axum];
    let mut bytes = std::fs::read(&axum.path).expect("axum's binary reads");
    bytes.extend(*uuid_like());
    let path = out.join("svc-axum");
    std::fs::write(&path, &bytes).expect("the copy is written");
    let binary = Binary {
        framework: Framework::Axum,
        path,
        size: bytes.len() as u64,
        sha256: hex::encode(Sha256::digest(&bytes)),
    };
    let options = ImageOptions {
        repository: REPOSITORY.to_owned(),
        extra_labels: BTreeMap::from([(TEST_LABEL.to_owned(), scope.to_owned())]),
        rebuild: false,
    };
    let image = ensure_image(
        &docker,
        &workspace.dockerfiles(),
        &binary,
        &BaseImage::scratch(),
        &options,
    )
    .await
    .expect("axum's scratch image builds");
    let rows = lab::measure_images(&docker, std::slice::from_ref(&image))
        .await
        .expect("the image is measured");
    output::write_image_tables(out, &rows).expect("the table is written");

    let registry = LocalRegistry::start().await.expect("the registry starts");
    let host = registry.host();
    let remote = format!("{host}/benchlab/axum:scratch");

    // Wrong credentials: refused, the registry named, nothing recorded, no tag left.
    let refused = push(out, &["--registry", &host, "--username", USERNAME], "wrong");
    assert!(!refused.status.success(), "{}", stderr(&refused));
    assert!(
        stderr(&refused).contains(&host) && stderr(&refused).contains("refused the push"),
        "{}",
        stderr(&refused)
    );
    assert_eq!(row(out).registry, None);
    assert!(
        docker.inspect_image(&remote).await.is_err(),
        "{remote} left"
    );

    // The push itself.
    let stored_before = registry.blob_bytes().expect("the registry's storage");
    let pushed = push(
        out,
        &["--registry", &host, "--username", USERNAME],
        registry.password(),
    );
    assert!(pushed.status.success(), "{}", stderr(&pushed));
    let stats = row(out).registry.expect("the row has registry figures");
    assert_eq!(stats.reference, remote);
    assert_eq!((stats.layers_pushed, stats.layers_present), (1, 0));
    assert!(stats.push_seconds > 0.0);
    assert_eq!(
        stats.sent_bytes, None,
        "only a local registry's storage is read"
    );

    // The registry's own manifest: its digest, and the sizes it lists, are what the table says;
    // the storage grew by those blobs and the manifest itself.
    let manifest = support::get_with(
        registry_addr(&host),
        "/v2/benchlab/axum/manifests/scratch",
        &[
            ("Authorization", &basic_auth(registry.password())),
            (
                "Accept",
                "application/vnd.docker.distribution.manifest.v2+json, \
                 application/vnd.oci.image.manifest.v1+json",
            ),
        ],
    )
    .await
    .expect("the registry answers");
    assert_eq!(manifest.status, 200, "{}", manifest.body);
    assert_eq!(
        stats.digest,
        format!("sha256:{}", hex::encode(Sha256::digest(&manifest.body)))
    );
    let listed: serde_json::Value = serde_json::from_str(&manifest.body).expect("manifest JSON");
    let sizes: u64 = listed["layers"]
        .as_array()
        .expect("layers")
        .iter()
        .chain([&listed["config"]])
        .map(|blob| blob["size"].as_u64().expect("a size"))
        .sum();
    assert_eq!(stats.stored_bytes, sizes);
    let grown = registry.blob_bytes().expect("the registry's storage") - stored_before;
    assert_eq!(grown, sizes + manifest.body.len() as u64);

    // The cold pull brought back the very image; the local image is there as it was and the
    // pushed tag is gone.
    assert!(
        stats.cold_pull_seconds.is_some_and(|seconds| seconds > 0.0),
        "{stats:?}"
    );
    let local = docker
        .inspect_image(&image.tag)
        .await
        .expect("the local image is back");
    assert_eq!(local.id.as_deref(), Some(image.id.as_str()));
    assert!(
        docker.inspect_image(&remote).await.is_err(),
        "{remote} left"
    );

    // A registry that does not answer is named.
    let closed = format!(
        "127.0.0.1:{}",
        bench_runner::server::free_port().expect("a port")
    );
    let unreachable = push(out, &["--registry", &closed, "--no-cold-pull"], "");
    assert!(!unreachable.status.success());
    assert!(
        stderr(&unreachable).contains(&closed),
        "{}",
        stderr(&unreachable)
    );

    // An image that is not there is named, before anything is pushed.
    let missing = std::process::Command::new(env!("CARGO_BIN_EXE_bench-runner"))
        .args([
            "push",
            "--registry",
            &host,
            "--repository",
            "benchlab-test-push-none",
        ])
        .args(["--frameworks", "axum", "--bases", "scratch", "--out"])
        .arg(out)
        .output()
        .expect("bench-runner runs");
    assert!(!missing.status.success());
    assert!(
        stderr(&missing).contains("benchlab-test-push-none/axum:scratch")
            && stderr(&missing).contains("bench-runner images"),
        "{}",
        stderr(&missing)
    );

    registry.stop().await.expect("the registry stops");

    // ECR's login (`--ecr`): the token of moto's ECR, through the AWS SDK, opens a registry
    // whose one user is the token's; without AWS credentials the push is refused first.
    let moto = Moto::start().await;
    let (user, password) = moto.ecr_login();
    let ecr = LocalRegistry::start_as(&user, &password)
        .await
        .expect("the registry starts");
    let args = ["--registry", &ecr.host(), "--ecr", "--no-cold-pull"];
    let no_credentials = moto
        .env()
        .into_iter()
        .filter(|(name, _)| {
            !name.starts_with("AWS_ACCESS_KEY_ID") && !name.starts_with("AWS_SECRET")
        })
        .collect();
    let refused = push_with(out, &args, "", no_credentials);
    assert!(!refused.status.success());
    assert!(
        stderr(&refused).contains("no AWS credentials"),
        "{}",
        stderr(&refused)
    );
    let pushed = push_with(out, &args, "", moto.env());
    assert!(pushed.status.success(), "{}", stderr(&pushed));
    let stats = row(out).registry.expect("the row has registry figures");
    assert_eq!(
        stats.reference,
        format!("{}/benchlab/axum:scratch", ecr.host())
    );
    assert_eq!(stats.cold_pull_seconds, None);
    ecr.stop().await.expect("the registry stops");
}

fn registry_addr(host: &str) -> std::net::SocketAddr {
    host.parse().expect("the registry listens on an address")
}

fn basic_auth(password: &str) -> String {
    let token = base64::engine::general_purpose::STANDARD.encode(format!("{USERNAME}:{password}"));
    format!("Basic {token}")
}

/// 16 bytes that differ from run to run.
fn uuid_like() -> Box<[u8; 16]> {
    let mut bytes = [0; 16];
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("the clock is after 1970")
        .as_nanos();
    bytes.copy_from_slice(&(nanos ^ u128::from(std::process::id()) << 64).to_le_bytes());
    Box::new(bytes)
}
