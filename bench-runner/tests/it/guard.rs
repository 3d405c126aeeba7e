//! The container guard removes its container when the code holding it panics.

use bench_runner::docker::{ContainerGuard, is_not_found};
use bollard::models::ContainerCreateBody;
use bollard::query_parameters::CreateImageOptionsBuilder;
use futures_util::StreamExt;

use crate::support::{self, Sweep, TEST_LABEL, TEST_REPOSITORY};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn container_guard_removes_its_container_on_panic() {
    let Some(docker) = support::engine().await else {
        return;
    };
    let scope = "container_guard_removes_its_container_on_panic";
    let _sweep = Sweep::new(&docker, scope).await;
    // A one-file image, made here so the test needs nothing else.
    let mut rootfs = tar::Builder::new(Vec::new());
    let mut header = tar::Header::new_gnu();
    header.set_mode(0o755);
    header.set_size(2);
    rootfs
        .append_data(&mut header, "probe", &b"#!"[..])
        .unwrap();
    let rootfs = rootfs.into_inner().unwrap();
    let image = format!("{TEST_REPOSITORY}/guard:probe");
    let options = CreateImageOptionsBuilder::new()
        .from_src("-")
        .repo(&format!("{TEST_REPOSITORY}/guard"))
        .tag("probe")
        .changes(vec![format!("LABEL {TEST_LABEL}={scope}")])
        .build();
    let mut import =
        docker.create_image(Some(options), Some(bollard::body_full(rootfs.into())), None);
    while let Some(item) = import.next().await {
        item.expect("the probe image imports");
    }
    let body = ContainerCreateBody {
        image: Some(image),
        cmd: Some(vec!["/probe".to_owned()]),
        labels: Some(support::test_labels(scope)),
        ..Default::default()
    };
    let id = docker
        .create_container(None, body)
        .await
        .expect("the probe container is created")
        .id;

    let guarded = ContainerGuard::new(docker.clone(), id.clone());
    let panicked = tokio::spawn(async move {
        let _guard = guarded;
        panic!("a test body failing while it holds a container");
    })
    .await;
    assert!(panicked.is_err_and(|err| err.is_panic()));

    let err = docker
        .inspect_container(&id, None)
        .await
        .expect_err("the guard removed the container");
    assert!(is_not_found(&err), "{err}");
}
