//! The image lab against a real engine: the bases, every framework × base image built through
//! the library, each one measured, started on the host network and asked for `/hello`.

use std::collections::BTreeMap;
use std::time::Duration;

use bench_core::catalog::{Base, Framework};
use bench_core::images::{BaseOrigin, ImageRow};
use bench_runner::bases::{BaseImage, BaseOptions};
use bench_runner::binaries::Binary;
use bench_runner::images::{self, ImageOptions};
use bench_runner::server::{Limits, Server, Target};
use bench_runner::workspace::Workspace;
use bench_runner::{artifacts, lab, output};

use crate::support::{self, Sweep, TEST_LABEL, TEST_REPOSITORY};

/// The user every benchlab image runs as: distroless' `nonroot`.
const NONROOT: u32 = 65532;

/// Images in the test repository, labelled with the test's `scope`.
fn test_image_options(scope: &str) -> ImageOptions {
    ImageOptions {
        repository: TEST_REPOSITORY.to_owned(),
        extra_labels: BTreeMap::from([(TEST_LABEL.to_owned(), scope.to_owned())]),
        rebuild: false,
    }
}

/// Try a registry only when the environment allows it (`BENCHLAB_NO_PULL` unset); offline the
/// pull fails fast and the base is built.
fn base_options() -> BaseOptions {
    BaseOptions {
        pull: std::env::var_os("BENCHLAB_NO_PULL").is_none(),
        rebuild: false,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_image_serves_hello_as_nonroot() {
    let Some(docker) = support::engine().await else {
        return;
    };
    let scope = "every_image_serves_hello_as_nonroot";
    let _sweep = Sweep::new(&docker, scope).await;
    let workspace = Workspace::locate().expect("the workspace");

    let bases = artifacts::ensure_bases(&docker, Base::ALL, base_options())
        .await
        .expect("every base is present, pulled or built");
    let binaries = support::binaries().await;
    let options = test_image_options(scope);
    let built = artifacts::build_images(
        &docker,
        &workspace.dockerfiles(),
        binaries,
        &bases,
        &options,
    )
    .await;
    let failures: Vec<String> = built
        .failures
        .iter()
        .map(|failure| format!("{}: {:#}", failure.tag, failure.error))
        .collect();
    assert!(
        failures.is_empty(),
        "images failed:\n{}",
        failures.join("\n")
    );
    assert_eq!(
        built.images.len(),
        Framework::ALL.len() * Base::ALL.len(),
        "every framework on every base"
    );

    let rows = lab::measure_images(&docker, &built.images)
        .await
        .expect("the images can be measured");
    for row in &rows {
        check_row(row, &binaries[&row.framework], &bases[&row.base]);
    }
    // The tables and the size chart, as `bench-runner images` writes them.
    let tables = tempfile::tempdir().expect("a temporary directory");
    output::write_image_tables(tables.path(), &rows).expect("the tables are written");
    let markdown = std::fs::read_to_string(tables.path().join("images.md")).expect("images.md");
    assert!(
        markdown.contains("](image-sizes.svg)"),
        "images.md shows the chart:\n{markdown}"
    );
    let svg = std::fs::read_to_string(tables.path().join("image-sizes.svg")).expect("the chart");
    for row in &rows {
        let name = format!("{} ({})", row.framework, row.base);
        assert!(svg.contains(&name), "the chart has a row for {name}");
    }

    for image in &built.images {
        let tag = &image.tag;
        let limits = Limits {
            vcpus: 1.0,
            memory_bytes: 512 << 20,
            cpuset: "0-1".parse().expect("a CPU list"),
            workers: 1,
            shutdown_grace: Duration::from_secs(10),
        };
        let target = Target::Image(tag.clone());
        let mut running = Server::start(
            Some(&docker),
            &target,
            &limits,
            &support::test_labels(scope),
        )
        .await
        .unwrap_or_else(|err| panic!("{tag} does not start: {err:#}"));
        running
            .wait_ready(Duration::from_secs(30))
            .await
            .unwrap_or_else(|err| panic!("{tag} never answers: {err:#}"));
        let response = support::get(running.addr, "/hello")
            .await
            .unwrap_or_else(|err| panic!("{tag}: GET /hello failed: {err}"));
        assert_eq!(response.status, 200, "{tag}: GET /hello");
        assert_eq!(response.body, r#"{"message":"Hello, World!"}"#, "{tag}");

        let pid = running.pid().expect("a container has a process");
        let uids = support::process_uids(i64::from(pid))
            .unwrap_or_else(|err| panic!("{tag}: cannot read /proc/{pid}/status: {err}"));
        assert_eq!(uids, [NONROOT; 4], "{tag}: real, effective, saved, fs uid");

        let stopped = running.stop().await.expect("the container stops");
        assert_eq!(
            stopped.exit_code,
            Some(0),
            "{tag}: SIGTERM (the stop signal) ends it cleanly"
        );
    }

    // Nothing changed: building again keeps the image. A different binary rebuilds it.
    let axum = &binaries[&Framework::Axum];
    let scratch = &bases[&Base::Scratch];
    let again = images::ensure_image(&docker, &workspace.dockerfiles(), axum, scratch, &options)
        .await
        .expect("the unchanged image is kept");
    assert!(
        !again.rebuilt,
        "{}: nothing changed, so no rebuild",
        again.tag
    );
    let changed = Binary {
        sha256: "0".repeat(64),
        ..axum.clone()
    };
    let rebuilt = images::ensure_image(
        &docker,
        &workspace.dockerfiles(),
        &changed,
        scratch,
        &options,
    )
    .await
    .expect("the image is rebuilt");
    assert!(
        rebuilt.rebuilt,
        "{}: the binary digest changed",
        rebuilt.tag
    );
}

/// What the image table must say about an image of `binary` on `base`.
fn check_row(row: &ImageRow, binary: &Binary, base: &BaseImage) {
    let tag = &row.tag;
    assert_eq!(
        row.binary_bytes, binary.size,
        "{tag}: the image holds the built binary"
    );
    assert_eq!(row.user, "65532:65532", "{tag}");
    assert_eq!(row.base_provenance, base.provenance, "{tag}");
    match row.base {
        Base::Scratch => {
            assert_eq!((row.layers, row.files), (1, 1), "{tag}: the binary alone");
            let overhead = row.image_bytes.abs_diff(row.binary_bytes) as f64;
            assert!(
                overhead <= 0.01 * row.binary_bytes as f64,
                "{tag}: {} bytes of image for a {} byte binary",
                row.image_bytes,
                row.binary_bytes
            );
            assert_eq!(row.base_provenance, BaseOrigin::Scratch);
        }
        Base::Distroless | Base::Debian => {
            assert_eq!(row.layers, 2, "{tag}: the base and the binary");
            assert!(row.image_bytes > row.binary_bytes, "{tag}");
            assert!(row.compressed_bytes < row.image_bytes, "{tag}");
        }
    }
    let has_shell = row.base == Base::Debian;
    assert_eq!(
        row.shell.is_some(),
        has_shell,
        "{tag}: shell {:?}",
        row.shell
    );
    assert_eq!(
        row.package_manager.is_some(),
        has_shell,
        "{tag}: package manager {:?}",
        row.package_manager
    );
}

/// The regression this guards: one cargo invocation for several services unifies their
/// dependencies' features, and `svc-hyper` built with the others came out 4,000 bytes apart
/// from `svc-hyper` built alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_service_binary_is_the_same_whatever_else_is_built() {
    let workspace = Workspace::locate().expect("the workspace");
    let all = support::binaries().await;
    let alone = artifacts::build_binaries(&workspace, &[Framework::Hyper])
        .await
        .expect("svc-hyper builds alone");
    let (hyper, with_others) = (&alone[&Framework::Hyper], &all[&Framework::Hyper]);
    assert_eq!(
        hyper.sha256, with_others.sha256,
        "svc-hyper alone ({} bytes) and built with every other service ({} bytes)",
        hyper.size, with_others.size
    );
    assert_eq!(hyper.path, with_others.path, "one file in the store");
    assert_eq!(
        std::fs::read(&hyper.path).expect("the stored binary"),
        std::fs::read(&with_others.path).expect("the stored binary"),
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_build_names_the_image_and_says_why() {
    let Some(docker) = support::engine().await else {
        return;
    };
    let scope = "failed_build_names_the_image_and_says_why";
    let _sweep = Sweep::new(&docker, scope).await;
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("svc-axum");
    std::fs::write(&path, b"not really a binary").expect("a stand-in binary");
    let binary = Binary {
        framework: Framework::Axum,
        path,
        size: 19,
        sha256: "1".repeat(64),
    };
    let missing_base = BaseImage {
        base: Base::Distroless,
        reference: Some(format!("{TEST_REPOSITORY}/no-such-base:missing")),
        id: Some("sha256:none".to_owned()),
        provenance: BaseOrigin::Scratch,
    };
    let workspace = Workspace::locate().expect("the workspace");
    let err = images::ensure_image(
        &docker,
        &workspace.dockerfiles(),
        &binary,
        &missing_base,
        &test_image_options(scope),
    )
    .await
    .expect_err("a build from a base that does not exist fails");
    let message = format!("{err:#}");
    let expected = format!(
        "could not build image '{TEST_REPOSITORY}/axum:distroless' on \
         '{TEST_REPOSITORY}/no-such-base:missing': "
    );
    assert!(message.starts_with(&expected), "{message}");
    assert!(
        message.len() > expected.len() + 10,
        "the engine's reason follows: {message}"
    );
    eprintln!("as reported: {message}");
}
