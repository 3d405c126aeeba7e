//! `bench-runner fargate run` against moto's ECS and ECR on loopback, through the real AWS
//! SDK with an endpoint override. moto registers, runs, describes, stops and deregisters as
//! ECS does, but runs no container and gives no timestamps: the test stands the real axum
//! binary on 127.0.0.1 in for the task's container (`--target-host`), started a while after
//! the launch so the probe has to wait for it. `bench-runner run --backend ecs` is tested the
//! same way: a task per cell, each loaded by oha at the stand-in. What the runner left in moto
//! is checked with another client, boto3.

use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use bench_core::catalog::{Backend, Base, Framework};
use bench_core::fargate::timeline::FargateRun;
use bench_core::results::{Outcome, RunResults};

use crate::moto::Moto;
use crate::support;

/// moto's account, and the ECR host of its region.
const REGISTRY: &str = "123456789012.dkr.ecr.us-east-1.amazonaws.com";

const CLUSTER: &str = "benchlab-test";

/// bench-runner's `command` (a subcommand and its first flags) against moto, in the test's
/// cluster with its registry and network (if any), writing to `out`, with `args` last.
fn bench_runner(
    moto: &Moto,
    command: &[&str],
    network: Option<&(String, String)>,
    out: &Path,
    args: &[&str],
) -> Command {
    let mut runner = Command::new(env!("CARGO_BIN_EXE_bench-runner"));
    runner
        .args(command)
        .args(["--cluster", CLUSTER, "--registry", REGISTRY]);
    if let Some((subnet, group)) = network {
        runner.args(["--subnets", subnet, "--security-groups", group]);
    }
    runner
        .arg("--out")
        .arg(out)
        .args(args)
        .envs(moto.env())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    runner
}

/// `bench-runner fargate run` with moto's environment, the test's network and `args`.
fn fargate_run(moto: &Moto, network: &(String, String), out: &Path, args: &[&str]) -> Command {
    bench_runner(moto, &["fargate", "run"], Some(network), out, args)
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Asserts that moto holds no active task definition and no task this cluster runs.
fn nothing_left(moto: &Moto, after: &str) {
    assert_eq!(
        moto.active_task_definitions(),
        Vec::<String>::new(),
        "task definitions left after {after}"
    );
    assert_eq!(
        moto.tasks(CLUSTER, "RUNNING"),
        Vec::<String>::new(),
        "tasks left running after {after}"
    );
}

/// moto with the test's cluster and axum's scratch image in its ECR; the default VPC's
/// subnet and security group, and the image's digest.
async fn prepared() -> (Moto, (String, String), String) {
    let moto = Moto::start().await;
    moto.create_cluster(CLUSTER);
    let network = moto.default_network();
    moto.create_repository("benchlab/axum");
    let digest = moto.put_image("benchlab/axum", "scratch");
    (moto, network, digest)
}

/// A service process, killed when dropped.
struct Service(Child);

impl Service {
    /// axum's static binary on 127.0.0.1:`port`, standing in for a task's container.
    async fn axum(port: &str) -> Service {
        let axum = &support::binaries().await[&Framework::Axum].path;
        Service(
            Command::new(axum)
                .env("BIND_ADDR", "127.0.0.1")
                .env("PORT", port)
                .env("WORKERS", "1")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("axum starts"),
        )
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fargate_run_times_a_task_to_its_first_200_and_leaves_nothing() {
    let (moto, network, _) = prepared().await;
    // Built before the launch, so that the stand-in comes up when the test says.
    support::binaries().await;
    let port = bench_runner::server::free_port().expect("a free port");
    let tmp = tempfile::tempdir().expect("a temporary directory");
    let out = tmp.path().join("fargate");

    let port_arg = port.to_string();
    let runner = fargate_run(
        &moto,
        &network,
        &out,
        &[
            "--frameworks",
            "axum",
            "--bases",
            "scratch",
            "--sizes",
            "0.25",
            "--port",
            &port_arg,
            "--target-host",
            "127.0.0.1",
            "--timeout",
            "60s",
        ],
    )
    .spawn()
    .expect("bench-runner starts");
    // The task's "container" comes up late, as a real one would.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let _service = Service::axum(&port_arg).await;
    let output = runner.wait_with_output().expect("bench-runner finishes");
    assert!(output.status.success(), "{}", stderr(&output));

    let json = std::fs::read_to_string(out.join("timeline.json")).expect("timeline.json");
    let run = FargateRun::from_json(&json).expect("timeline.json reads back");
    assert_eq!(run.region, "us-east-1");
    assert_eq!(run.cluster, CLUSTER);
    assert_eq!(run.endpoint.as_deref(), Some(moto.endpoint().as_str()));
    assert!(run.ended.is_some());
    let [launch] = run.launches.as_slice() else {
        panic!("one launch: {:?}", run.launches);
    };
    assert_eq!(
        (launch.framework, launch.base),
        (Framework::Axum, Base::Scratch)
    );
    assert!(launch.failure.is_none(), "{:?}", launch.failure);
    assert!(launch.cleanup.is_empty(), "{:?}", launch.cleanup);
    assert_eq!(launch.image, format!("{REGISTRY}/benchlab/axum:scratch"));
    assert_eq!(
        launch.probe_target.as_deref(),
        Some(format!("127.0.0.1:{port}").as_str())
    );
    let (running, first_200) = (
        launch.running_seen_ms.expect("RUNNING seen"),
        launch.first_200_ms.expect("a first 200"),
    );
    assert!(running <= first_200, "{running} > {first_200}");
    assert!(
        launch.probes >= 2,
        "the service came up late, yet {} probe(s) sufficed",
        launch.probes
    );
    // moto gives no timestamps: only the runner's own clock has a total.
    let phases = launch.phases();
    assert_eq!(phases.total, Some(first_200));
    assert_eq!(phases.pull, None);
    let markdown = std::fs::read_to_string(out.join("timeline.md")).expect("timeline.md");
    assert!(markdown.contains(&moto.endpoint()), "{markdown}");
    assert!(out.join("timeline.csv").exists());

    // What ECS holds: the definition as planned (now deregistered), the task stopped.
    let task_arn = launch.task_arn.clone().expect("a task");
    let definition = moto.boto(&format!(
        "d = ecs.describe_task_definition(taskDefinition={:?})['taskDefinition']\n\
         print(json.dumps(d, default=str))",
        launch.task_definition_arn.clone().expect("a definition")
    ));
    assert_eq!(definition["status"], "INACTIVE");
    assert_eq!(definition["family"], "benchlab-axum-scratch-0_25vcpu-0_5gb");
    assert_eq!(
        (definition["cpu"].as_str(), definition["memory"].as_str()),
        (Some("256"), Some("512"))
    );
    assert_eq!(definition["networkMode"], "awsvpc");
    let container = &definition["containerDefinitions"][0];
    assert_eq!(container["image"], launch.image.as_str());
    assert_eq!(container["portMappings"][0]["containerPort"], port);
    assert_eq!(
        container["healthCheck"]["command"],
        serde_json::json!(["CMD", "/service", "health"])
    );
    let task = moto.describe_task(CLUSTER, &task_arn);
    assert_eq!(task["desiredStatus"], "STOPPED", "{task}");
    nothing_left(&moto, "a launch");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fargate_run_errors_name_their_cause_and_leave_nothing() {
    let (moto, network, _) = prepared().await;
    let tmp = tempfile::tempdir().expect("a temporary directory");
    let axum = [
        "--frameworks",
        "axum",
        "--bases",
        "scratch",
        "--timeout",
        "10s",
    ];
    let run = |name: &str, args: &[&str], env: &[(&str, &str)], removed: &[&str]| {
        let mut command = fargate_run(&moto, &network, &tmp.path().join(name), args);
        for variable in removed {
            command.env_remove(variable);
        }
        let output = command
            .envs(env.iter().copied())
            .output()
            .expect("bench-runner runs");
        assert!(!output.status.success(), "{name} succeeded");
        nothing_left(&moto, name);
        stderr(&output)
    };

    let started = Instant::now();
    let no_credentials = run(
        "no-credentials",
        &axum,
        &[],
        &["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"],
    );
    assert!(
        no_credentials.contains("no AWS credentials")
            && no_credentials.contains("AWS_ACCESS_KEY_ID"),
        "{no_credentials}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "looking for credentials took {:?}",
        started.elapsed()
    );

    let wrong_region = run("wrong-region", &axum, &[("AWS_REGION", "eu-west-3")], &[]);
    assert!(
        wrong_region.contains(&format!("no active ECS cluster {CLUSTER}"))
            && wrong_region.contains("eu-west-3"),
        "{wrong_region}"
    );

    let unknown_image = run(
        "unknown-image",
        &["--frameworks", "axum,poem", "--bases", "scratch,debian"],
        &[],
        &[],
    );
    for missing in [
        "benchlab/axum:debian is not in ECR",
        "no ECR repository benchlab/poem",
    ] {
        assert!(unknown_image.contains(missing), "{unknown_image}");
    }
    assert!(unknown_image.contains("3 of the images"), "{unknown_image}");

    let invalid_size = run(
        "invalid-size",
        &["--frameworks", "axum", "--sizes", "0.25:4GB"],
        &[],
        &[],
    );
    assert!(
        invalid_size.contains("--sizes")
            && invalid_size.contains("0.25 vCPU takes 512 MiB, 1 GB or 2 GB"),
        "{invalid_size}"
    );

    let bad_subnet = run(
        "bad-subnet",
        &["--frameworks", "axum", "--subnets", "sg-123"],
        &[],
        &[],
    );
    assert!(
        bad_subnet.contains("invalid --subnets entry \"sg-123\""),
        "{bad_subnet}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fargate_run_interrupted_stops_its_task_and_deregisters() {
    let (moto, network, _) = prepared().await;
    let tmp = tempfile::tempdir().expect("a temporary directory");
    // Nothing listens on the port, so the launch waits for its first 200 until interrupted.
    let port = bench_runner::server::free_port()
        .expect("a free port")
        .to_string();
    let runner = fargate_run(
        &moto,
        &network,
        &tmp.path().join("interrupted"),
        &[
            "--frameworks",
            "axum",
            "--bases",
            "scratch",
            "--port",
            &port,
            "--target-host",
            "127.0.0.1",
            "--timeout",
            "120s",
        ],
    )
    .spawn()
    .expect("bench-runner starts");
    let started = Instant::now();
    while moto.tasks(CLUSTER, "RUNNING").is_empty() {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "no task started within a minute"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(moto.active_task_definitions().len(), 1);
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(i32::try_from(runner.id()).expect("a pid")),
        nix::sys::signal::Signal::SIGINT,
    )
    .expect("SIGINT is sent");
    let output = runner.wait_with_output().expect("bench-runner finishes");
    assert_eq!(output.status.code(), Some(130), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("interrupted"),
        "{}",
        stderr(&output)
    );
    nothing_left(&moto, "Ctrl-C");
}

/// `bench-runner run --backend ecs` of axum on scratch, short cells, with moto's environment,
/// the test's network (if any) and `args`.
fn run_on_ecs(
    moto: &Moto,
    network: Option<&(String, String)>,
    out: &Path,
    args: &[&str],
) -> Command {
    let command = [
        "run",
        "--backend",
        "ecs",
        "--frameworks",
        "axum",
        "--bases",
        "scratch",
        "--endpoints",
        "/hello",
        "--connections",
        "4",
        "--rates",
        "--cross-check",
        "--warmup",
        "0s",
        "--duration",
        "1s",
        "--repetitions",
        "2",
    ];
    bench_runner(moto, &command, network, out, args)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_on_ecs_loads_a_task_per_cell_and_leaves_nothing() {
    let (moto, network, digest) = prepared().await;
    let port = bench_runner::server::free_port()
        .expect("a free port")
        .to_string();
    // moto runs no container: axum on loopback stands in for every cell's task.
    let _service = Service::axum(&port).await;
    let tmp = tempfile::tempdir().expect("a temporary directory");
    let out = tmp.path().join("run");
    let output = run_on_ecs(
        &moto,
        Some(&network),
        &out,
        &[
            "--cpus",
            "0.25,0.5",
            "--port",
            &port,
            "--target-host",
            "127.0.0.1",
        ],
    )
    .output()
    .expect("bench-runner runs");
    assert!(output.status.success(), "{}", stderr(&output));

    let json = std::fs::read_to_string(out.join("results.json")).expect("results.json");
    let results = RunResults::from_json(&json).expect("results.json reads back");
    assert_eq!(results.matrix.backend, Backend::Ecs);
    let ecs = results.provenance.ecs.as_ref().expect("the ECS provenance");
    assert_eq!(
        (
            ecs.cluster.as_str(),
            ecs.region.as_str(),
            ecs.registry.as_str()
        ),
        (CLUSTER, "us-east-1", REGISTRY)
    );
    assert_eq!(ecs.endpoint.as_deref(), Some(moto.endpoint().as_str()));
    assert_eq!(results.cells.len(), 2, "{:?}", results.cells);
    for cell in &results.cells {
        assert_eq!(cell.outcome, Outcome::Measured, "{}", cell.id);
        assert_eq!(cell.repetitions.len(), 2, "{}", cell.id);
        for repetition in &cell.repetitions {
            assert!(repetition.load.ok_2xx > 0, "{}", cell.id);
            assert_eq!(repetition.server, None, "{}: a task is not read", cell.id);
        }
        assert_eq!(cell.artifact.image_id.as_deref(), Some(digest.as_str()));
        assert_eq!(cell.artifact.binary_sha256, None);
        assert!(cell.lifecycle.ready_ms.is_some(), "{}", cell.id);
    }
    let markdown = std::fs::read_to_string(out.join("results.md")).expect("results.md");
    for expected in ["not measured", moto.endpoint().as_str()] {
        assert!(markdown.contains(expected), "{expected}: {markdown}");
    }

    // Each cell had a task of its own size, of the image by digest.
    let stopped = moto.tasks(CLUSTER, "STOPPED");
    let mut sizes: Vec<(String, String)> = stopped
        .iter()
        .map(|arn| {
            let task = moto.describe_task(CLUSTER, arn);
            let definition = moto.boto(&format!(
                "d = ecs.describe_task_definition(taskDefinition={:?})['taskDefinition']\n\
                 print(json.dumps(d, default=str))",
                task["taskDefinitionArn"].as_str().expect("a definition")
            ));
            assert_eq!(
                definition["containerDefinitions"][0]["image"],
                format!("{REGISTRY}/benchlab/axum@{digest}")
            );
            assert_eq!(definition["status"], "INACTIVE");
            (
                definition["cpu"].as_str().unwrap_or_default().to_owned(),
                definition["memory"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    sizes.sort();
    assert_eq!(
        sizes,
        [("256", "512"), ("512", "1024")].map(|(c, m)| (c.to_owned(), m.to_owned()))
    );
    nothing_left(&moto, "a run on ECS");

    // A quota that is no Fargate size, and no subnets, are refused by name.
    let refused = |name: &str, command: &mut Command| {
        let output = command.output().expect("bench-runner runs");
        assert!(!output.status.success(), "{name} succeeded");
        stderr(&output)
    };
    let between_sizes = refused(
        "between sizes",
        &mut run_on_ecs(
            &moto,
            Some(&network),
            &tmp.path().join("1.5"),
            &["--cpus", "1.5"],
        ),
    );
    assert!(
        between_sizes.contains("cpus") && between_sizes.contains("Fargate"),
        "{between_sizes}"
    );
    let no_subnets = refused(
        "no subnets",
        &mut run_on_ecs(&moto, None, &tmp.path().join("no-subnets"), &[]),
    );
    assert!(no_subnets.contains("--subnets is missing"), "{no_subnets}");
    nothing_left(&moto, "refused runs");
}
