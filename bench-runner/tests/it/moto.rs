//! moto, the AWS API emulator, for the tests of what the runner does on ECR and ECS: a real
//! moto server per test on a loopback port of its own, the environment that points an AWS
//! client at it and nowhere else, and boto3 from moto's venv as a second client, independent
//! of the runner's, to set the scene and to check what the runner did.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::Value;
use tempfile::TempDir;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::process::{Child, Command};

use crate::support;

/// The moto server `scripts/ensure-moto.sh` installs; the tests look nowhere else.
pub const MOTO_SERVER: &str = "/opt/benchlab/moto-5.2.5/bin/moto_server";

/// The Python of moto's venv, which has boto3.
const PYTHON: &str = "/opt/benchlab/moto-5.2.5/bin/python";

/// The region of [`Moto::env`] and of the helpers' clients; moto keeps regions apart.
pub const REGION: &str = "us-east-1";

/// The account moto answers for: its ARNs and ECR registry name it.
pub const ACCOUNT: &str = "123456789012";

/// How long a new server has to answer: moto imports for a second or two before it listens.
const READY_WITHIN: Duration = Duration::from_secs(30);

/// How many free ports are tried when something else takes the port before moto binds it.
const PORT_ATTEMPTS: usize = 3;

/// Keeps the server's tasks RUNNING however often they are described: by default moto moves a
/// task one status on (DEACTIVATING, STOPPING, …, STOPPED) at each DescribeTasks.
const MANUAL_TASK_TRANSITION: &str =
    r#"{"model_name": "ecs::task", "transition": {"progression": "manual", "times": 1000}}"#;

/// Runs before every [`Moto::boto`] snippet: `ecs`, `ecr` and `ec2` clients against the server
/// in [`REGION`], each made when first used, `client(service, region)` for another, and
/// `emit(value)`, which prints the snippet's one JSON answer (times in ISO 8601). A 500 from
/// moto is not retried: it is a traceback in moto's log, which the panic shows.
const PRELUDE: &str = r#"
import json, os, sys, textwrap
import boto3
from botocore.config import Config

def client(service, region="us-east-1"):
    return boto3.client(service, endpoint_url=os.environ["AWS_ENDPOINT_URL"], region_name=region,
                        config=Config(retries={"max_attempts": 1, "mode": "standard"}))

def emit(value):
    print(json.dumps(value, default=lambda v: v.isoformat() if hasattr(v, "isoformat") else str(v)))

class Lazy:
    """A client made at its first use: making one takes a third of a second or more."""
    def __init__(self, service):
        self.service, self.client = service, None
    def __getattr__(self, name):
        if self.client is None:
            self.client = client(self.service)
        return getattr(self.client, name)

ecs, ecr, ec2 = Lazy("ecs"), Lazy("ecr"), Lazy("ec2")
exec(compile(textwrap.dedent(sys.argv[1]), "<snippet>", "exec"))
"#;

/// A moto server on a loopback port of its own, stopped when dropped.
pub struct Moto {
    port: u16,
    server: Child,
    /// Holds the server's log and the paths of the AWS files that must not exist.
    dir: TempDir,
}

impl Moto {
    /// Starts a server, waits until it answers, and keeps its ECS tasks RUNNING until stopped.
    ///
    /// # Panics
    /// When moto is not installed (the message says to run `scripts/ensure-moto.sh`), or the
    /// server does not answer within 30 s (the message ends with its log).
    pub async fn start() -> Moto {
        for path in [MOTO_SERVER, PYTHON] {
            assert!(
                Path::new(path).exists(),
                "{path} is missing: run scripts/ensure-moto.sh, which installs moto for the \
                 ECR and ECS tests"
            );
        }
        let dir = tempfile::tempdir().expect("a temporary directory");
        let log = dir.path().join("moto.log");
        let mut attempt = 1;
        let (port, server) = loop {
            let port = bench_runner::server::free_port().expect("a free port");
            let mut server = spawn(port, &log);
            let started = wait_ready(&mut server, port, &log).await;
            if started.is_err() {
                stop(&mut server, port);
            }
            match started {
                Ok(()) => break (port, server),
                Err(Start::PortTaken) if attempt < PORT_ATTEMPTS => attempt += 1,
                Err(Start::PortTaken) => panic!(
                    "moto_server found each of {PORT_ATTEMPTS} free ports taken; the last, \
                     127.0.0.1:{port}:\n{}",
                    tail(&log)
                ),
                Err(Start::Failed(why)) => {
                    panic!("moto_server on 127.0.0.1:{port} {why}:\n{}", tail(&log))
                }
            }
        };
        let moto = Moto { port, server, dir };
        moto.keep_tasks_running().await;
        moto
    }

    /// `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr())
    }

    /// The address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from((Ipv4Addr::LOCALHOST, self.port))
    }

    /// The environment that points an AWS SDK client at this server and nowhere else: its
    /// endpoint, moto's test credentials, [`REGION`], no instance metadata, and config and
    /// credentials files that do not exist, so a developer's `~/.aws` never comes in.
    pub fn env(&self) -> Vec<(String, String)> {
        let missing = |name: &str| self.dir.path().join(name).display().to_string();
        [
            ("AWS_ENDPOINT_URL", self.endpoint()),
            ("AWS_ACCESS_KEY_ID", "testing".to_owned()),
            ("AWS_SECRET_ACCESS_KEY", "testing".to_owned()),
            ("AWS_REGION", REGION.to_owned()),
            ("AWS_EC2_METADATA_DISABLED", "true".to_owned()),
            ("AWS_CONFIG_FILE", missing("no-aws-config")),
            ("AWS_SHARED_CREDENTIALS_FILE", missing("no-aws-credentials")),
        ]
        .into_iter()
        .map(|(name, value)| (name.to_owned(), value))
        .collect()
    }

    /// The last lines of the server's log (requests, and the traceback of every 500).
    pub fn log_tail(&self) -> String {
        tail(&self.dir.path().join("moto.log"))
    }

    /// Runs a Python snippet with boto3 against this server and returns the JSON value it
    /// prints with `emit` (`null` when it prints nothing). The snippet is dedented and sees
    /// the clients of [`PRELUDE`]; values go in as JSON literals ([`py`]).
    ///
    /// # Panics
    /// When the snippet fails (with its stderr and the server's log) or prints no JSON value.
    pub fn boto(&self, script: &str) -> Value {
        let output = std::process::Command::new(PYTHON)
            .args(["-c", PRELUDE, script])
            .env_clear()
            .envs(self.env())
            .output()
            .expect("moto's python runs");
        if !output.status.success() {
            panic!(
                "boto3 failed ({}):\n{script}\n{}\nmoto's log:\n{}",
                output.status,
                String::from_utf8_lossy(&output.stderr),
                self.log_tail()
            );
        }
        let stdout = String::from_utf8_lossy(&output.stdout);
        if stdout.trim().is_empty() {
            return Value::Null;
        }
        serde_json::from_str(&stdout).unwrap_or_else(|err| {
            panic!("the snippet printed no single JSON value ({err}):\n{stdout}\n{script}")
        })
    }

    /// Creates ECS cluster `name`; its ARN.
    pub fn create_cluster(&self, name: &str) -> String {
        string(self.boto(&format!(
            "emit(ecs.create_cluster(clusterName={})['cluster']['clusterArn'])",
            py(name)
        )))
    }

    /// A subnet of the default VPC (the default one of the first availability zone) and the
    /// VPC's default security group: moto's RunTask with awsvpc needs both to exist.
    pub fn default_network(&self) -> (String, String) {
        let network = self.boto(
            r#"
            vpc = ec2.describe_vpcs(Filters=[{"Name": "isDefault", "Values": ["true"]}])
            vpc = vpc["Vpcs"][0]["VpcId"]
            subnets = ec2.describe_subnets(Filters=[
                {"Name": "vpc-id", "Values": [vpc]},
                {"Name": "default-for-az", "Values": ["true"]},
            ])["Subnets"]
            subnet = min(subnets, key=lambda subnet: subnet["AvailabilityZone"])["SubnetId"]
            group = ec2.describe_security_groups(Filters=[
                {"Name": "vpc-id", "Values": [vpc]},
                {"Name": "group-name", "Values": ["default"]},
            ])["SecurityGroups"][0]["GroupId"]
            emit([subnet, group])
            "#,
        );
        let [subnet, group] = [&network[0], &network[1]].map(|id| string(id.clone()));
        (subnet, group)
    }

    /// Creates ECR repository `name`; its URI (`ACCOUNT.dkr.ecr.REGION.amazonaws.com/name`).
    pub fn create_repository(&self, name: &str) -> String {
        string(self.boto(&format!(
            "emit(ecr.create_repository(repositoryName={})['repository']['repositoryUri'])",
            py(name)
        )))
    }

    /// Puts image `repository:tag` through the ECR API, so DescribeImages finds it; its
    /// digest. The manifest is a minimal valid one whose layer differs for each
    /// `repository:tag`; its blobs are never uploaded (moto's ECR has no registry behind it).
    pub fn put_image(&self, repository: &str, tag: &str) -> String {
        string(self.boto(&format!(
            r#"
            import hashlib
            repository, tag = {repository}, {tag}
            def digest(data):
                return "sha256:" + hashlib.sha256(data).hexdigest()
            config = b"{{}}"
            manifest = {{
                "schemaVersion": 2,
                "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
                "config": {{
                    "mediaType": "application/vnd.docker.container.image.v1+json",
                    "size": len(config),
                    "digest": digest(config),
                }},
                "layers": [{{
                    "mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
                    "size": 32,
                    "digest": digest(f"{{repository}}:{{tag}}".encode()),
                }}],
            }}
            image = ecr.put_image(repositoryName=repository, imageTag=tag,
                                  imageManifest=json.dumps(manifest),
                                  imageManifestMediaType=manifest["mediaType"])
            emit(image["image"]["imageId"]["imageDigest"])
            "#,
            repository = py(repository),
            tag = py(tag),
        )))
    }

    /// The user and password in the token of ECR's GetAuthorizationToken: moto always hands
    /// out `AWS` and `123456789012-auth-token`.
    pub fn ecr_login(&self) -> (String, String) {
        let login = self.boto(
            r#"
            import base64
            token = ecr.get_authorization_token()["authorizationData"][0]["authorizationToken"]
            emit(base64.b64decode(token).decode().split(":", 1))
            "#,
        );
        let [user, password] = [&login[0], &login[1]].map(|part| string(part.clone()));
        (user, password)
    }

    /// The ARNs of the ACTIVE task definitions, of every family.
    pub fn active_task_definitions(&self) -> Vec<String> {
        strings(self.boto(
            r#"
            pages = ecs.get_paginator("list_task_definitions").paginate(status="ACTIVE")
            emit([arn for page in pages for arn in page["taskDefinitionArns"]])
            "#,
        ))
    }

    /// The ARNs of the tasks of `cluster` (name or ARN) whose desired status is
    /// `desired_status`, `RUNNING` or `STOPPED`.
    pub fn tasks(&self, cluster: &str, desired_status: &str) -> Vec<String> {
        assert!(
            ["RUNNING", "STOPPED"].contains(&desired_status),
            "ListTasks takes a desired status of RUNNING or STOPPED, not {desired_status}"
        );
        strings(self.boto(&format!(
            r#"
            pages = ecs.get_paginator("list_tasks").paginate(cluster={}, desiredStatus={})
            emit([arn for page in pages for arn in page["taskArns"]])
            "#,
            py(cluster),
            py(desired_status)
        )))
    }

    /// DescribeTasks' description of task `arn` of `cluster`.
    ///
    /// # Panics
    /// When moto does not describe exactly that task.
    pub fn describe_task(&self, cluster: &str, arn: &str) -> Value {
        self.boto(&format!(
            r#"
            answer = ecs.describe_tasks(cluster={}, tasks=[{}])
            if len(answer["tasks"]) != 1:
                sys.exit(f"DescribeTasks found no single task: {{answer['failures']}}")
            emit(answer["tasks"][0])
            "#,
            py(cluster),
            py(arn)
        ))
    }

    /// Sets [`MANUAL_TASK_TRANSITION`] and checks that the server took it.
    async fn keep_tasks_running(&self) {
        let path = "/moto-api/state-manager/set-transition";
        let status = post_json(self.addr(), path, MANUAL_TASK_TRANSITION)
            .await
            .unwrap_or_else(|err| panic!("POST {path} to moto failed: {err}"));
        assert!(
            (200..300).contains(&status),
            "POST {path} to moto: status {status}\n{}",
            self.log_tail()
        );
        let path = "/moto-api/state-manager/get-transition?model_name=ecs::task";
        let transition = support::get(self.addr(), path)
            .await
            .unwrap_or_else(|err| panic!("GET {path} from moto failed: {err}"));
        let transition: Value = serde_json::from_str(&transition.body).expect("a transition");
        assert_eq!(
            transition,
            serde_json::json!({"progression": "manual", "times": 1000}),
            "moto did not take the manual task transition"
        );
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        stop(&mut self.server, self.port);
    }
}

/// Why a server did not start.
enum Start {
    /// Another process bound the port between the test's look and moto's bind.
    PortTaken,
    Failed(String),
}

/// Spawns `moto_server` on `127.0.0.1:port`, its output to `log`.
fn spawn(port: u16, log: &Path) -> Child {
    let log = std::fs::File::create(log).expect("moto's log file");
    let stderr = log.try_clone().expect("moto's log file, again");
    Command::new(MOTO_SERVER)
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(stderr)
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|err| panic!("could not start {MOTO_SERVER}: {err}"))
}

/// Waits until the server on `port`, and not another process on that port, answers.
async fn wait_ready(server: &mut Child, port: u16, log: &Path) -> Result<(), Start> {
    // moto binds its port only after importing, so an answer alone could come from something
    // else on the port: its own "Running on" line says the port is its own.
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let bound = format!("Running on http://{addr}");
    let until = Instant::now() + READY_WITHIN;
    loop {
        let output = std::fs::read_to_string(log).unwrap_or_default();
        if let Some(status) = server.try_wait().expect("moto_server's status") {
            return Err(if output.contains("Address already in use") {
                Start::PortTaken
            } else {
                Start::Failed(format!("exited before answering ({status})"))
            });
        }
        if output.contains(&bound)
            && support::get(addr, "/moto-api/")
                .await
                .is_ok_and(|response| response.status == 200)
        {
            return Ok(());
        }
        if Instant::now() > until {
            return Err(Start::Failed(format!(
                "did not answer GET /moto-api/ within {} s",
                READY_WITHIN.as_secs()
            )));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Kills the server on `port` and reaps it, so it never outlives its test.
fn stop(server: &mut Child, port: u16) {
    if server.try_wait().is_ok_and(|status| status.is_some()) {
        return;
    }
    if let Err(err) = server.start_kill() {
        eprintln!("warning: could not kill moto_server on port {port}: {err}");
        return;
    }
    // Drop cannot await: poll for the exit, which SIGKILL makes prompt.
    let until = Instant::now() + Duration::from_secs(10);
    while Instant::now() < until {
        match server.try_wait() {
            Ok(Some(_)) => return,
            Ok(None) => std::thread::sleep(Duration::from_millis(10)),
            Err(err) => {
                eprintln!("warning: could not reap moto_server on port {port}: {err}");
                return;
            }
        }
    }
    eprintln!("warning: moto_server on port {port} did not exit within 10 s of SIGKILL");
}

/// The last 40 lines of the server's log.
fn tail(log: &Path) -> String {
    let output = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = output.lines().collect();
    lines[lines.len().saturating_sub(40)..].join("\n")
}

/// `POST path` with a JSON `body` to `addr` over HTTP/1.1; the status code.
async fn post_json(addr: SocketAddr, path: &str, body: &str) -> std::io::Result<u16> {
    let mut stream = tokio::net::TcpStream::connect(addr).await?;
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await?;
    let text = String::from_utf8_lossy(&raw);
    text.split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("no status code in response {text:?}")))
}

/// `text` as a Python string literal (a JSON string is one), to put values into snippets.
pub fn py(text: &str) -> String {
    Value::from(text).to_string()
}

/// The string a snippet emitted.
pub fn string(value: Value) -> String {
    match value {
        Value::String(text) => text,
        other => panic!("the snippet emitted {other}, not a string"),
    }
}

/// The strings a snippet emitted, as a list.
fn strings(value: Value) -> Vec<String> {
    serde_json::from_value(value.clone())
        .unwrap_or_else(|_| panic!("the snippet emitted {value}, not a list of strings"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn moto_runs_a_fargate_task_until_it_is_stopped_and_the_helpers_see_it() {
    let moto = Moto::start().await;

    // ECR: a repository, and an image DescribeImages finds by its tag.
    let uri = moto.create_repository("benchlab/axum");
    assert_eq!(
        uri,
        format!("{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/benchlab/axum")
    );
    let digest = moto.put_image("benchlab/axum", "scratch");
    let found = moto.boto(
        r#"
        images = ecr.describe_images(repositoryName="benchlab/axum",
                                     imageIds=[{"imageTag": "scratch"}])["imageDetails"]
        emit([image["imageDigest"] for image in images])
        "#,
    );
    assert_eq!(found, serde_json::json!([digest]));

    // ECS: a Fargate task with awsvpc in the default network. moto needs the container's
    // memory (or memoryReservation) beside the task's, and the security group.
    let cluster = moto.create_cluster("benchlab-test");
    let (subnet, group) = moto.default_network();
    assert!(subnet.starts_with("subnet-") && group.starts_with("sg-"));
    let definition = string(moto.boto(&format!(
        r#"
        answer = ecs.register_task_definition(
            family="benchlab-test-moto", requiresCompatibilities=["FARGATE"],
            networkMode="awsvpc", cpu="256", memory="512",
            containerDefinitions=[{{
                "name": "svc", "image": {image}, "essential": True, "memoryReservation": 512,
                "portMappings": [{{"containerPort": 8080, "protocol": "tcp"}}],
            }}],
        )
        emit(answer["taskDefinition"]["taskDefinitionArn"])
        "#,
        image = py(&format!("{uri}:scratch"))
    )));
    assert_eq!(
        moto.active_task_definitions(),
        std::slice::from_ref(&definition)
    );
    let task = string(moto.boto(&format!(
        r#"
        answer = ecs.run_task(
            cluster={cluster}, taskDefinition={definition}, launchType="FARGATE", count=1,
            networkConfiguration={{"awsvpcConfiguration": {{
                "subnets": [{subnet}], "securityGroups": [{group}], "assignPublicIp": "ENABLED",
            }}}},
        )
        assert not answer["failures"], answer["failures"]
        emit(answer["tasks"][0]["taskArn"])
        "#,
        cluster = py(&cluster),
        definition = py(&definition),
        subnet = py(&subnet),
        group = py(&group),
    )));
    for _ in 0..2 {
        let described = moto.describe_task(&cluster, &task);
        assert_eq!(described["lastStatus"], "RUNNING", "{described:#}");
        assert_eq!(described["taskDefinitionArn"], definition.as_str());
    }
    let described = moto.describe_task(&cluster, &task);
    let details = &described["attachments"][0]["details"];
    assert!(
        details
            .as_array()
            .expect("the network interface's details")
            .iter()
            .any(|detail| detail["name"] == "subnetId" && detail["value"] == subnet.as_str()),
        "{described:#}"
    );
    assert_eq!(moto.tasks(&cluster, "RUNNING"), std::slice::from_ref(&task));
    assert!(moto.tasks(&cluster, "STOPPED").is_empty());

    // Stopped and deregistered: nothing is left running or active.
    moto.boto(&format!(
        r#"
        ecs.stop_task(cluster={cluster}, task={task}, reason="done")
        ecs.deregister_task_definition(taskDefinition={definition})
        "#,
        cluster = py(&cluster),
        task = py(&task),
        definition = py(&definition),
    ));
    assert_eq!(moto.describe_task(&cluster, &task)["lastStatus"], "STOPPED");
    assert!(moto.tasks(&cluster, "RUNNING").is_empty());
    assert_eq!(moto.tasks(&cluster, "STOPPED"), std::slice::from_ref(&task));
    assert!(moto.active_task_definitions().is_empty());

    // The client environment points at this server, and at no AWS file of the user's.
    let env = moto.env();
    let value = |name: &str| {
        let found = env.iter().find(|(key, _)| key == name);
        found.map(|(_, value)| value.clone()).expect(name)
    };
    assert_eq!(value("AWS_ENDPOINT_URL"), moto.endpoint());
    for file in ["AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"] {
        assert!(!Path::new(&value(file)).exists(), "{file}");
    }

    // Dropped, the server is gone.
    let addr = moto.addr();
    drop(moto);
    assert!(
        std::net::TcpStream::connect(addr).is_err(),
        "moto still answers on {addr}"
    );
}
