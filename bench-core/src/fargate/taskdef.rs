//! The ECS task definitions of `bench-runner fargate`: one per image × Fargate size, shaped
//! exactly like the input of ECS's `RegisterTaskDefinition` (camelCase, as
//! `aws ecs register-task-definition --cli-input-json` reads it and as Terraform's
//! `container_definitions` holds the containers), so that what `fargate plan` writes for
//! review is what gets registered.
//!
//! Every definition runs the image as the lab runs it, with what Fargate adds: `awsvpc`
//! networking (the task's own network interface, so the host port is the container port),
//! Linux on x86-64 (the images hold x86-64 binaries), the service bound to `0.0.0.0` (the
//! interface's address, not loopback: that is the lab's rule, and Fargate's task is reached
//! from outside it), one worker per started vCPU as in the lab, and a health check that
//! runs the service binary as its own probe (`/service health`, see `svc_common::health`),
//! since scratch and distroless images have no shell and no curl.
//!
//! Field names, values and limits are those of the ECS API reference: RegisterTaskDefinition,
//! ContainerDefinition, PortMapping, KeyValuePair, HealthCheck, LogConfiguration and
//! RuntimePlatform.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};
/// The port the services bind unless told otherwise, and the tasks' default.
pub use svc_common::config::DEFAULT_PORT;
use svc_common::config::DEFAULT_SHUTDOWN_GRACE;
use svc_common::health;

use crate::catalog::{Base, Framework, REPOSITORY, image_tag};
use crate::fargate::sizes::FargateSize;
use crate::plan::CpuQuota;

/// The name of the one container of every definition.
pub const CONTAINER_NAME: &str = "service";

/// Where every image keeps the service binary (`COPY service /service` in
/// `dockerfiles/*.Dockerfile`).
pub const SERVICE_PATH: &str = "/service";

/// How much longer than the services' grace period ECS waits after SIGTERM before it sends
/// SIGKILL: a service gives up on in-flight requests when its grace period ends and exits
/// right after, so the kill never cuts a drain short.
const STOP_MARGIN: Duration = Duration::from_secs(2);

/// Input of `RegisterTaskDefinition`, with the fields benchlab sets.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskDefinition {
    /// `benchlab-<framework>-<base>-<size label>`, such as
    /// `benchlab-axum-scratch-0_25vcpu-0_5gb`: up to 255 letters, digits, `-` and `_`.
    pub family: String,
    /// The task execution role, which the ECS agent assumes on the task's behalf: Fargate
    /// needs it to pull an image from a private ECR repository and to write awslogs. Without
    /// one, only public images run and logging is refused at registration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution_role_arn: Option<String>,
    pub network_mode: NetworkMode,
    pub requires_compatibilities: Vec<Compatibility>,
    /// CPU units (1024 per vCPU), as a string.
    pub cpu: String,
    /// MiB, as a string.
    pub memory: String,
    pub runtime_platform: RuntimePlatform,
    pub container_definitions: Vec<ContainerDefinition>,
}

/// `networkMode`: benchlab's definitions use the one mode Fargate has.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NetworkMode {
    Awsvpc,
}

/// An entry of `requiresCompatibilities`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Compatibility {
    Fargate,
}

/// `runtimePlatform`: `linux/amd64`, what the images are built for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RuntimePlatform {
    pub cpu_architecture: CpuArchitecture,
    pub operating_system_family: OperatingSystemFamily,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum CpuArchitecture {
    #[serde(rename = "X86_64")]
    X86_64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum OperatingSystemFamily {
    Linux,
}

/// An entry of `containerDefinitions`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContainerDefinition {
    pub name: String,
    pub image: String,
    /// The task stops when this container does.
    pub essential: bool,
    /// The container's hard memory limit in MiB: the task's memory, all of it. Fargate needs
    /// only the task's, but moto, the emulator the tests run against, refuses a task whose
    /// containers have none, and with one container the limit is the same.
    pub memory: u32,
    pub port_mappings: Vec<PortMapping>,
    /// Sorted by name.
    pub environment: Vec<KeyValuePair>,
    pub health_check: HealthCheck,
    /// Seconds between SIGTERM and SIGKILL (Fargate allows 2 to 120; 30 when unset).
    pub stop_timeout: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_configuration: Option<LogConfiguration>,
}

/// An entry of `portMappings`. With `awsvpc` the host port is the container port, so it is
/// not given.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PortMapping {
    pub container_port: u16,
    pub protocol: Protocol,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    Tcp,
}

/// An environment variable.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyValuePair {
    pub name: String,
    pub value: String,
}

/// `healthCheck`: a command run inside the container. ECS takes `interval` 5 to 300 s,
/// `timeout` 2 to 60 s, `retries` 1 to 10 and `startPeriod` 0 to 300 s.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HealthCheck {
    /// `CMD` then the program and its arguments (no shell: the images have none).
    pub command: Vec<String>,
    pub interval: u32,
    pub timeout: u32,
    pub retries: u32,
    pub start_period: u32,
}

impl HealthCheck {
    /// `/service health` every 5 s (ECS's shortest interval), given the probe's own 2 s
    /// timeout, unhealthy after 3 failures in a row; failures in the first 10 s after the
    /// container starts do not count (a service answers within milliseconds of its start,
    /// so this only covers a slow first scheduling).
    pub fn service_probe() -> Self {
        HealthCheck {
            command: vec![
                "CMD".to_owned(),
                SERVICE_PATH.to_owned(),
                health::ARG.to_owned(),
            ],
            interval: 5,
            timeout: whole_seconds(health::TIMEOUT),
            retries: 3,
            start_period: 10,
        }
    }
}

/// `logConfiguration`: the `awslogs` driver, sending the container's stdout and stderr to
/// CloudWatch Logs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LogConfiguration {
    pub log_driver: LogDriver,
    /// `awslogs-group`, `awslogs-region` and `awslogs-stream-prefix` (which Fargate
    /// requires), sorted.
    pub options: BTreeMap<String, String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogDriver {
    Awslogs,
}

/// What the definitions take besides the image and the size.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Options {
    /// The registry the images were pushed to, `HOST` or `HOST:PORT` such as
    /// `123456789012.dkr.ecr.us-east-1.amazonaws.com`: images are then
    /// `<registry>/<namespace>/<framework>:<base>`, as `bench-runner push` puts them. Without
    /// one they are `<namespace>/<framework>:<base>`, which ECS would look for on Docker Hub.
    pub registry: Option<String>,
    /// Where the images are in the registry: `benchlab` unless they were pushed elsewhere.
    pub namespace: String,
    /// The task execution role (see [`TaskDefinition::execution_role_arn`]).
    pub execution_role_arn: Option<String>,
    /// Where the container's output goes, if anywhere.
    pub logs: Option<AwsLogs>,
    /// The port the service binds and the task exposes (`PORT`, the port mapping).
    pub port: u16,
}

impl Default for Options {
    /// Images `benchlab/<framework>:<base>`, no execution role, no logging, the services'
    /// default port.
    fn default() -> Self {
        Options {
            registry: None,
            namespace: REPOSITORY.to_owned(),
            execution_role_arn: None,
            logs: None,
            port: DEFAULT_PORT,
        }
    }
}

/// A CloudWatch Logs group and its region, for the `awslogs` driver.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AwsLogs {
    pub group: String,
    pub region: String,
}

/// An option whose value ECS would refuse, or that needs another: its `Display` names the
/// flag (`--registry`, `--namespace`, `--execution-role-arn`, `--log-group`, `--region`, `--port`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InvalidOption {
    pub flag: &'static str,
    pub value: String,
    pub expected: &'static str,
}

impl fmt::Display for InvalidOption {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid {} {:?}: expected {}",
            self.flag, self.value, self.expected
        )
    }
}

impl std::error::Error for InvalidOption {}

impl Options {
    /// Checks every value against what ECS, IAM and CloudWatch Logs accept, so that a bad one
    /// is refused before anything is written or registered.
    pub fn validate(&self) -> Result<(), InvalidOption> {
        let invalid = |flag, value: &str, expected| InvalidOption {
            flag,
            value: value.to_owned(),
            expected,
        };
        if let Some(registry) = &self.registry
            && !valid_registry(registry)
        {
            return Err(invalid(
                "--registry",
                registry,
                "HOST or HOST:PORT, like 123456789012.dkr.ecr.us-east-1.amazonaws.com or \
                 127.0.0.1:5000",
            ));
        }
        if self.port == 0 {
            return Err(invalid(
                "--port",
                "0",
                "a port from 1 to 65535 for the service to bind in the task",
            ));
        }
        if !valid_namespace(&self.namespace) {
            return Err(invalid(
                "--namespace",
                &self.namespace,
                "a repository path such as benchlab: lower-case letters, digits and . _ - \
                 between slashes",
            ));
        }
        if let Some(arn) = &self.execution_role_arn
            && !valid_role_arn(arn)
        {
            return Err(invalid(
                "--execution-role-arn",
                arn,
                "an IAM role ARN such as arn:aws:iam::123456789012:role/ecsTaskExecutionRole",
            ));
        }
        if let Some(logs) = &self.logs {
            if !valid_log_group(&logs.group) {
                return Err(invalid(
                    "--log-group",
                    &logs.group,
                    "a CloudWatch Logs group name: 1 to 512 letters, digits and . - _ / #",
                ));
            }
            if !valid_region(&logs.region) {
                return Err(invalid(
                    "--region",
                    &logs.region,
                    "an AWS region such as us-east-1",
                ));
            }
            if self.execution_role_arn.is_none() {
                return Err(invalid(
                    "--log-group",
                    &logs.group,
                    "--execution-role-arn with it: Fargate writes awslogs with the execution role",
                ));
            }
        }
        Ok(())
    }

    /// The image of `framework` on `base` as the task pulls it.
    pub fn image(&self, framework: Framework, base: Base) -> String {
        match &self.registry {
            Some(registry) => image_tag(&format!("{registry}/{}", self.namespace), framework, base),
            None => image_tag(&self.namespace, framework, base),
        }
    }

    /// The image of `framework` by its manifest's `digest` (`sha256:…`):
    /// `<registry>/<namespace>/<framework>@<digest>`, the one image a tag pointed to when it
    /// was looked up, whatever is pushed to the tag later.
    pub fn image_by_digest(&self, framework: Framework, digest: &str) -> String {
        match &self.registry {
            Some(registry) => format!("{registry}/{}/{framework}@{digest}", self.namespace),
            None => format!("{}/{framework}@{digest}", self.namespace),
        }
    }
}

/// `HOST` or `HOST:PORT`, what an image reference has before its first `/` (the rule
/// `bench-runner push` applies to its `--registry`).
fn valid_registry(registry: &str) -> bool {
    !registry.is_empty()
        && registry
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || ".-:[]".contains(c))
}

/// Path components of a repository name, as the OCI distribution spec allows them.
fn valid_namespace(namespace: &str) -> bool {
    namespace.split('/').all(|part| {
        !part.is_empty()
            && part
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-".contains(c))
    })
}

/// `arn:<partition>:iam::<account>:role/<name>`.
fn valid_role_arn(arn: &str) -> bool {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    matches!(parts.as_slice(), ["arn", partition, "iam", "", account, resource]
        if !partition.is_empty()
            && account.len() == 12
            && account.chars().all(|c| c.is_ascii_digit())
            && resource.strip_prefix("role/").is_some_and(|name| !name.is_empty()))
}

fn valid_log_group(group: &str) -> bool {
    (1..=512).contains(&group.len())
        && group
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || ".-_/#".contains(c))
}

/// Lower-case words and a number joined by `-`: `us-east-1`, `eu-central-2`, `us-gov-west-1`.
fn valid_region(region: &str) -> bool {
    let parts: Vec<&str> = region.split('-').collect();
    let part_of =
        |part: &&str, class: fn(&char) -> bool| !part.is_empty() && part.chars().all(|c| class(&c));
    match parts.split_last() {
        Some((number, words)) => {
            words.len() >= 2
                && words
                    .iter()
                    .all(|word| part_of(word, char::is_ascii_lowercase))
                && part_of(number, char::is_ascii_digit)
        }
        None => false,
    }
}

/// The family of the definition of `framework` on `base` at `size`.
pub fn family(framework: Framework, base: Base, size: FargateSize) -> String {
    format!("benchlab-{framework}-{base}-{}", size.label())
}

/// `WORKERS` at `size`: one per started vCPU, as the lab gives a quota
/// ([`CpuQuota::workers`]).
pub fn workers(size: FargateSize) -> u32 {
    CpuQuota {
        vcpus: size.vcpus(),
        memory_mib: u64::from(size.memory_mib),
    }
    .workers()
}

/// ECS's `stopTimeout` for the services: their default grace period and [`STOP_MARGIN`].
pub fn stop_timeout() -> u32 {
    whole_seconds(DEFAULT_SHUTDOWN_GRACE + STOP_MARGIN)
}

/// `duration` in whole seconds, rounded up.
fn whole_seconds(duration: Duration) -> u32 {
    u32::try_from(duration.as_millis().div_ceil(1000)).unwrap_or(u32::MAX)
}

/// The definition of the image of `framework` on `base` at `size`.
pub fn definition(
    framework: Framework,
    base: Base,
    size: FargateSize,
    options: &Options,
) -> TaskDefinition {
    let family = family(framework, base, size);
    let environment = [
        ("BIND_ADDR", "0.0.0.0".to_owned()),
        ("PORT", options.port.to_string()),
        ("WORKERS", workers(size).to_string()),
    ]
    .into_iter()
    .map(|(name, value)| KeyValuePair {
        name: name.to_owned(),
        value,
    })
    .collect();
    let log_configuration = options.logs.as_ref().map(|logs| LogConfiguration {
        log_driver: LogDriver::Awslogs,
        options: BTreeMap::from([
            ("awslogs-group".to_owned(), logs.group.clone()),
            ("awslogs-region".to_owned(), logs.region.clone()),
            // Streams are named <prefix>/<container>/<task id>.
            ("awslogs-stream-prefix".to_owned(), family.clone()),
        ]),
    });
    TaskDefinition {
        execution_role_arn: options.execution_role_arn.clone(),
        network_mode: NetworkMode::Awsvpc,
        requires_compatibilities: vec![Compatibility::Fargate],
        cpu: size.cpu_units.to_string(),
        memory: size.memory_mib.to_string(),
        runtime_platform: RuntimePlatform {
            cpu_architecture: CpuArchitecture::X86_64,
            operating_system_family: OperatingSystemFamily::Linux,
        },
        container_definitions: vec![ContainerDefinition {
            name: CONTAINER_NAME.to_owned(),
            image: options.image(framework, base),
            essential: true,
            memory: size.memory_mib,
            port_mappings: vec![PortMapping {
                container_port: options.port,
                protocol: Protocol::Tcp,
            }],
            environment,
            health_check: HealthCheck::service_probe(),
            stop_timeout: stop_timeout(),
            log_configuration,
        }],
        family,
    }
}

/// One definition per image × size, in that order: every size of the first image, then the
/// next image.
pub fn plan(
    images: &[(Framework, Base)],
    sizes: &[FargateSize],
    options: &Options,
) -> Vec<TaskDefinition> {
    images
        .iter()
        .flat_map(|&(framework, base)| {
            sizes
                .iter()
                .map(move |&size| definition(framework, base, size, options))
        })
        .collect()
}

/// A definition as `aws ecs register-task-definition --cli-input-json` reads it: pretty,
/// with a final newline.
pub fn json(definition: &TaskDefinition) -> String {
    pretty(definition)
}

/// Every definition as one JSON array, for Terraform, CloudFormation and scripts.
pub fn json_array(definitions: &[TaskDefinition]) -> String {
    pretty(definitions)
}

fn pretty(value: &(impl Serialize + ?Sized)) -> String {
    let mut json = serde_json::to_string_pretty(value)
        .expect("task definitions have string keys and no floats");
    json.push('\n');
    json
}

/// The plan's `README.md`: what each file is, the table image × size → family, cpu, memory
/// and workers, and how to register and run a definition.
pub fn readme(images: &[(Framework, Base)], sizes: &[FargateSize], options: &Options) -> String {
    let definitions = plan(images, sizes, options);
    let port = options.port;
    let cells = images
        .iter()
        .flat_map(|&image| sizes.iter().map(move |&size| (image, size)));
    let mut out = String::from("# Fargate task definitions\n\n");
    out.push_str(&format!(
        "Written by `bench-runner fargate plan`; run it again rather than editing these files. \
         One ECS task definition per image × Fargate size: `awsvpc` networking, Linux on \
         x86-64, the service on port {port} bound to `0.0.0.0`, one worker per started \
         vCPU, and a health check that runs the service binary as its own probe \
         (`{SERVICE_PATH} {}`: one `GET /hello` on 127.0.0.1, healthy on a 200).\n\n",
        health::ARG
    ));
    out.push_str(
        "- `<family>.json`: one definition, as `aws ecs register-task-definition \
         --cli-input-json` reads it.\n\
         - `task-definitions.json`: all of them in one array, in the order of the table.\n\n",
    );
    out.push_str(&format!(
        "Images: {}. Execution role: {}. Logs: {}.\n\n",
        match &options.registry {
            Some(registry) => format!("`{registry}/{}/<framework>:<base>`", options.namespace),
            None => format!(
                "`{}/<framework>:<base>` with no registry, which ECS would look for on Docker \
                 Hub: push them (`bench-runner push --registry HOST`) and plan again with \
                 `--registry HOST`",
                options.namespace
            ),
        },
        match &options.execution_role_arn {
            Some(arn) => format!("`{arn}`"),
            None => "none, so Fargate can pull only public images and write no awslogs: \
                     plan again with `--execution-role-arn` for a private ECR repository"
                .to_owned(),
        },
        match &options.logs {
            Some(logs) => format!(
                "CloudWatch Logs group `{}` in {}, streams `<family>/service/<task id>`",
                logs.group, logs.region
            ),
            None => "none (`--log-group` and `--region` send them to CloudWatch Logs)".to_owned(),
        },
    ));
    out.push_str("| Image | Size | Family | cpu | memory | WORKERS |\n");
    out.push_str("|---|---|---|---:|---:|---:|\n");
    for (definition, ((framework, base), size)) in definitions.iter().zip(cells) {
        out.push_str(&format!(
            "| `{}` | {size} | `{}` | {} | {} | {} |\n",
            options.image(framework, base),
            definition.family,
            definition.cpu,
            definition.memory,
            workers(size)
        ));
    }
    let example = definitions
        .first()
        .map_or("<family>", |definition| definition.family.as_str());
    out.push_str(&format!(
        "\n## Register and run one\n\n\
         The subnets must reach the registry (a NAT gateway, or VPC endpoints for ECR and S3), \
         and the security group must let the client reach TCP port {port}.\n\n\
         ```sh\n\
         aws ecs register-task-definition --cli-input-json file://{example}.json\n\
         aws ecs run-task --cluster CLUSTER --launch-type FARGATE --task-definition {example} \\\n  \
         --network-configuration 'awsvpcConfiguration={{subnets=[SUBNET],securityGroups=[SG],assignPublicIp=DISABLED}}'\n\
         aws ecs describe-tasks --cluster CLUSTER --tasks TASK_ARN \\\n  \
         --query 'tasks[0].[lastStatus,healthStatus,attachments[0].details]'\n\
         curl http://TASK_PRIVATE_IP:{port}/hello\n\
         aws ecs stop-task --cluster CLUSTER --task TASK_ARN\n\
         aws ecs deregister-task-definition --task-definition {example}:REVISION\n\
         ```\n"
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn size(text: &str) -> FargateSize {
        text.parse().unwrap()
    }

    fn every_option() -> Options {
        Options {
            registry: Some("123456789012.dkr.ecr.us-east-1.amazonaws.com".to_owned()),
            namespace: REPOSITORY.to_owned(),
            execution_role_arn: Some(
                "arn:aws:iam::123456789012:role/ecsTaskExecutionRole".to_owned(),
            ),
            logs: Some(AwsLogs {
                group: "/benchlab/fargate".to_owned(),
                region: "us-east-1".to_owned(),
            }),
            port: DEFAULT_PORT,
        }
    }

    #[test]
    fn one_definition_as_json() {
        let definition = definition(
            Framework::Axum,
            Base::Scratch,
            size("0.25"),
            &every_option(),
        );
        let json = json(&definition);
        insta::assert_snapshot!(json);
        let read: TaskDefinition = serde_json::from_str(&json).unwrap();
        assert_eq!(read, definition, "the JSON reads back");
    }

    #[test]
    fn without_options_the_image_has_no_registry_and_there_is_no_role_or_logging() {
        let definition = definition(
            Framework::XitcaWeb,
            Base::Distroless,
            size("1"),
            &Options::default(),
        );
        let value = serde_json::to_value(&definition).unwrap();
        assert_eq!(
            value["containerDefinitions"][0]["image"],
            "benchlab/xitca-web:distroless"
        );
        assert_eq!(value.get("executionRoleArn"), None);
        assert_eq!(
            value["containerDefinitions"][0].get("logConfiguration"),
            None
        );
        assert_eq!(value["networkMode"], "awsvpc");
        assert_eq!(value["requiresCompatibilities"][0], "FARGATE");
        assert_eq!(
            (value["cpu"].as_str(), value["memory"].as_str()),
            (Some("1024"), Some("2048"))
        );
    }

    #[test]
    fn families_name_image_and_size_in_what_ecs_allows() {
        assert_eq!(
            family(Framework::Axum, Base::Scratch, size("0.25")),
            "benchlab-axum-scratch-0_25vcpu-0_5gb"
        );
        assert_eq!(
            family(Framework::ActixWeb, Base::Debian, size("4:30GB")),
            "benchlab-actix-web-debian-4vcpu-30gb"
        );
        let mut families = std::collections::BTreeSet::new();
        for &framework in Framework::ALL {
            for &base in Base::ALL {
                for size in FargateSize::all() {
                    let family = family(framework, base, size);
                    assert!(family.len() <= 255, "{family}");
                    assert!(
                        family
                            .chars()
                            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'),
                        "{family}: ECS allows letters, digits, - and _"
                    );
                    assert!(families.insert(family.clone()), "{family} twice");
                }
            }
        }
    }

    #[test]
    fn one_worker_per_started_vcpu() {
        let workers: Vec<(String, u32)> = ["0.25", "0.5", "1", "2", "4", "8", "16"]
            .into_iter()
            .map(|text| (text.to_owned(), workers(size(text))))
            .collect();
        let expected = [1, 1, 1, 2, 4, 8, 16];
        for ((text, workers), expected) in workers.iter().zip(expected) {
            assert_eq!(*workers, expected, "{text} vCPU");
        }
        let definition = definition(
            Framework::Hyper,
            Base::Debian,
            size("2"),
            &Options::default(),
        );
        let environment: Vec<(&str, &str)> = definition.container_definitions[0]
            .environment
            .iter()
            .map(|pair| (pair.name.as_str(), pair.value.as_str()))
            .collect();
        assert_eq!(
            environment,
            [("BIND_ADDR", "0.0.0.0"), ("PORT", "8080"), ("WORKERS", "2")]
        );
    }

    #[test]
    fn health_check_and_stop_timeout_are_within_ecs_limits() {
        let check = HealthCheck::service_probe();
        assert_eq!(check.command, ["CMD", "/service", "health"]);
        // RegisterTaskDefinition's limits (HealthCheck in the ECS API reference).
        assert!((5..=300).contains(&check.interval), "{check:?}");
        assert!((2..=60).contains(&check.timeout), "{check:?}");
        assert!((1..=10).contains(&check.retries), "{check:?}");
        assert!((0..=300).contains(&check.start_period), "{check:?}");
        assert!(
            check.timeout < check.interval,
            "a probe ends before the next one"
        );
        assert!(
            u64::from(check.timeout) >= health::TIMEOUT.as_secs(),
            "ECS waits at least as long as the probe does"
        );
        // Fargate's stopTimeout is at most 120 s; the services drain for their grace period.
        let stop = stop_timeout();
        assert!(stop <= 120, "{stop}");
        assert!(u64::from(stop) > DEFAULT_SHUTDOWN_GRACE.as_secs(), "{stop}");
    }

    #[test]
    fn the_plan_is_images_times_sizes_in_order() {
        let images = [
            (Framework::Axum, Base::Scratch),
            (Framework::Hyper, Base::Debian),
        ];
        let sizes = [size("0.25"), size("1:3GB")];
        let families: Vec<String> = plan(&images, &sizes, &Options::default())
            .into_iter()
            .map(|definition| definition.family)
            .collect();
        assert_eq!(
            families,
            [
                "benchlab-axum-scratch-0_25vcpu-0_5gb",
                "benchlab-axum-scratch-1vcpu-3gb",
                "benchlab-hyper-debian-0_25vcpu-0_5gb",
                "benchlab-hyper-debian-1vcpu-3gb",
            ]
        );
    }

    #[test]
    fn the_readme_lists_every_definition() {
        let images = [(Framework::Axum, Base::Scratch)];
        insta::assert_snapshot!(readme(
            &images,
            &[size("0.25"), size("2")],
            &Options::default()
        ));
    }

    #[test]
    fn bad_options_name_their_flag() {
        assert_eq!(every_option().validate(), Ok(()));
        let local = Options {
            registry: Some("127.0.0.1:5000".to_owned()),
            ..Options::default()
        };
        assert_eq!(local.validate(), Ok(()));
        assert_eq!(
            local.image(Framework::Poem, Base::Scratch),
            "127.0.0.1:5000/benchlab/poem:scratch"
        );
        let nested = Options {
            namespace: "team/benchlab".to_owned(),
            ..local
        };
        assert_eq!(nested.validate(), Ok(()));
        assert_eq!(
            nested.image(Framework::Poem, Base::Scratch),
            "127.0.0.1:5000/team/benchlab/poem:scratch"
        );
        let cases = [
            (
                Options {
                    registry: Some("https://123456789012.dkr.ecr.us-east-1.amazonaws.com".into()),
                    ..Options::default()
                },
                "invalid --registry \"https://",
            ),
            (
                Options {
                    registry: Some("registry.example/benchlab".into()),
                    ..Options::default()
                },
                "invalid --registry \"registry.example/benchlab\": expected HOST or HOST:PORT",
            ),
            (
                Options {
                    namespace: "Team/".into(),
                    ..Options::default()
                },
                "invalid --namespace \"Team/\"",
            ),
            (
                Options {
                    execution_role_arn: Some("ecsTaskExecutionRole".into()),
                    ..Options::default()
                },
                "invalid --execution-role-arn \"ecsTaskExecutionRole\": expected an IAM role ARN",
            ),
            (
                Options {
                    execution_role_arn: Some("arn:aws:iam::1234:role/x".into()),
                    ..Options::default()
                },
                "invalid --execution-role-arn",
            ),
            (
                Options {
                    logs: Some(AwsLogs {
                        group: "bench lab".into(),
                        region: "us-east-1".into(),
                    }),
                    ..every_option()
                },
                "invalid --log-group \"bench lab\"",
            ),
            (
                Options {
                    logs: Some(AwsLogs {
                        group: "benchlab".into(),
                        region: "US-East-1".into(),
                    }),
                    ..every_option()
                },
                "invalid --region \"US-East-1\": expected an AWS region such as us-east-1",
            ),
            (
                Options {
                    execution_role_arn: None,
                    ..every_option()
                },
                "invalid --log-group \"/benchlab/fargate\": expected --execution-role-arn with it",
            ),
        ];
        for (options, message) in cases {
            let err = options.validate().unwrap_err().to_string();
            assert!(err.starts_with(message), "{err}");
        }
        for region in [
            "us-east-1",
            "eu-central-2",
            "us-gov-west-1",
            "ap-southeast-4",
        ] {
            assert!(valid_region(region), "{region}");
        }
        for region in ["us-east", "useast1", "us--1", "us-east-+1", ""] {
            assert!(!valid_region(region), "{region}");
        }
    }
}
