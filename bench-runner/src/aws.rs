//! AWS as the cloud commands reach it: one SDK configuration from the standard chain, ECR's
//! registry token, and ECS's task life cycle (register, run, describe, stop, deregister) with
//! a [`Ledger`] of everything created, so that nothing outlives the command that created it.
//!
//! The configuration is `aws-config`'s: region and credentials from the environment, the
//! shared files (`AWS_PROFILE`, SSO, `credential_process`), web identity, then the container
//! and instance roles. `AWS_ENDPOINT_URL` sends every call to another endpoint, an emulator's
//! such as moto's; results then say so.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_ecs::config::ProvideCredentials;
use aws_sdk_ecs::error::DisplayErrorContext;
use aws_sdk_ecs::types as ecs;
use base64::Engine as _;
use bench_core::catalog::{Base, Framework};
use bench_core::ecr::EcrHost;
use bench_core::fargate::taskdef::{Options, TaskDefinition};
use bench_core::fargate::timeline::{
    AttachmentDetail, AwsTime, DescribedTask, NetworkInterface, TaskAttachment, TaskContainer,
};

/// The SDK configuration of one region, checked to have credentials.
#[derive(Clone, Debug)]
pub struct Aws {
    pub config: SdkConfig,
    pub region: String,
    /// The endpoint every call goes to instead of AWS's (`AWS_ENDPOINT_URL`), if one is set.
    pub endpoint: Option<String>,
}

impl Aws {
    /// The standard chain's configuration, in `region` when given (a flag, or the region of
    /// an ECR host), else the chain's own.
    ///
    /// # Errors
    /// When no region is found, or no credentials: each error says where they were looked for.
    pub async fn connect(region: Option<&str>) -> Result<Aws> {
        let mut loader = aws_config::defaults(BehaviorVersion::latest());
        if let Some(region) = region {
            loader = loader.region(Region::new(region.to_owned()));
        }
        let config = loader.load().await;
        let region = config.region().map(ToString::to_string).context(
            "no AWS region: give --region, or set AWS_REGION or the region of the profile \
                 (AWS_PROFILE) in ~/.aws/config",
        )?;
        let provider = config.credentials_provider().context(
            "the AWS SDK configuration has no credentials provider (this is a bug in benchlab)",
        )?;
        if let Err(err) = provider.provide_credentials().await {
            bail!(
                "no AWS credentials: {}. They are looked for in AWS_ACCESS_KEY_ID and \
                 AWS_SECRET_ACCESS_KEY, then in the profile (AWS_PROFILE, else default) of \
                 ~/.aws/credentials and ~/.aws/config (keys, SSO or credential_process), then \
                 web identity, then the ECS container's and the EC2 instance's role",
                DisplayErrorContext(&err)
            );
        }
        let endpoint = config.endpoint_url().map(ToOwned::to_owned);
        Ok(Aws {
            config,
            region,
            endpoint,
        })
    }

    pub fn ecs(&self) -> aws_sdk_ecs::Client {
        aws_sdk_ecs::Client::new(&self.config)
    }

    pub fn ecr(&self) -> aws_sdk_ecr::Client {
        aws_sdk_ecr::Client::new(&self.config)
    }

    /// Where the calls go: the region, and the endpoint when it is not AWS's.
    pub fn describe(&self) -> String {
        match &self.endpoint {
            Some(endpoint) => format!("{} at {endpoint}", self.region),
            None => self.region.clone(),
        }
    }
}

/// A registry login from ECR's `GetAuthorizationToken`: valid 12 hours for every repository
/// the credentials may pull from or push to.
pub struct EcrLogin {
    pub username: String,
    pub password: String,
    /// `https://<account>.dkr.ecr.<region>.amazonaws.com`, the registry the token is for.
    pub proxy_endpoint: Option<String>,
}

/// ECR's token for the credentials of `aws`, decoded into a user and password.
///
/// # Errors
/// When ECR refuses (the credentials may not call `ecr:GetAuthorizationToken`) or answers
/// something that is not `base64(user:password)`.
pub async fn ecr_login(aws: &Aws) -> Result<EcrLogin> {
    let answer = aws
        .ecr()
        .get_authorization_token()
        .send()
        .await
        .map_err(|err| {
            anyhow!(
                "ECR's GetAuthorizationToken failed in {}: {}",
                aws.describe(),
                DisplayErrorContext(&err)
            )
        })?;
    let data = answer
        .authorization_data()
        .first()
        .with_context(|| format!("ECR in {} sent no authorization data", aws.describe()))?;
    let token = data
        .authorization_token()
        .with_context(|| format!("ECR in {} sent no authorization token", aws.describe()))?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(token)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .with_context(|| format!("ECR's token from {} is not base64 text", aws.describe()))?;
    let (username, password) = decoded.split_once(':').with_context(|| {
        format!(
            "ECR's token from {} is not user:password once decoded",
            aws.describe()
        )
    })?;
    Ok(EcrLogin {
        username: username.to_owned(),
        password: password.to_owned(),
        proxy_endpoint: data.proxy_endpoint().map(ToOwned::to_owned),
    })
}

/// The digest of `repository:tag` in ECR in `aws`'s region (`sha256:…`, the manifest's).
///
/// # Errors
/// When the repository or the tag is missing, with what to do about it, or ECR fails.
pub async fn ecr_image_digest(aws: &Aws, repository: &str, tag: &str) -> Result<String> {
    let id = aws_sdk_ecr::types::ImageIdentifier::builder()
        .image_tag(tag)
        .build();
    match aws
        .ecr()
        .describe_images()
        .repository_name(repository)
        .image_ids(id)
        .send()
        .await
    {
        Ok(answer) if !answer.image_details().is_empty() => answer.image_details()[0]
            .image_digest()
            .map(ToOwned::to_owned)
            .with_context(|| format!("ECR gave {repository}:{tag} without a digest")),
        Ok(_) => bail!(
            "{repository}:{tag} is not in ECR in {}: push it first (bench-runner push)",
            aws.describe()
        ),
        Err(err) => {
            let service = err.as_service_error();
            if service.is_some_and(|e| e.is_repository_not_found_exception()) {
                bail!(
                    "there is no ECR repository {repository} in {}: create it (aws ecr \
                     create-repository --repository-name {repository}) and push the image \
                     (bench-runner push)",
                    aws.describe()
                )
            }
            if service.is_some_and(|e| e.is_image_not_found_exception()) {
                bail!(
                    "{repository}:{tag} is not in ECR in {}: push it first (bench-runner push)",
                    aws.describe()
                )
            }
            bail!(
                "could not look for {repository}:{tag} in ECR in {}: {}",
                aws.describe(),
                DisplayErrorContext(&err)
            )
        }
    }
}

/// The digest of each of `images` in `options`' registry when that is ECR, each looked up
/// in ECR in the registry's own region: a missing image would otherwise cost a task that
/// stops with CannotPullContainerError. `None` for another registry, whose images cannot be
/// checked without its credentials.
///
/// # Errors
/// When an image is missing (all of them listed, each with what to do) or ECR fails.
pub async fn ecr_digests(
    aws: &Aws,
    options: &Options,
    images: &[(Framework, Base)],
) -> Result<Option<BTreeMap<(Framework, Base), String>>> {
    let Some(host) = options.registry.as_deref().and_then(EcrHost::parse) else {
        return Ok(None);
    };
    if options.execution_role_arn.is_none() && aws.endpoint.is_none() {
        eprintln!(
            "warning: the images are in ECR but no --execution-role-arn is given: Fargate \
             pulls from ECR with the task execution role, so without one every task stops \
             with CannotPullContainerError"
        );
    }
    let ecr = if host.region == aws.region {
        aws.clone()
    } else {
        Aws::connect(Some(&host.region)).await?
    };
    let mut digests = BTreeMap::new();
    let mut missing = Vec::new();
    for &(framework, base) in images {
        let repository = format!("{}/{framework}", options.namespace);
        match ecr_image_digest(&ecr, &repository, base.name()).await {
            Ok(digest) => {
                digests.insert((framework, base), digest);
            }
            Err(err) => missing.push(format!("{err:#}")),
        }
    }
    if !missing.is_empty() {
        bail!(
            "{} of the images cannot be found:\n  {}",
            missing.len(),
            missing.join("\n  ")
        );
    }
    Ok(Some(digests))
}

/// Why the images of `options` were not looked for before launch.
pub fn unchecked_registry_note(options: &Options) -> String {
    match &options.registry {
        None => "warning: without --registry the images are looked for on Docker Hub, where \
                 benchlab publishes none"
            .to_owned(),
        Some(registry) => {
            format!("note: {registry} is not ECR: the images are not checked before launch")
        }
    }
}

/// Where tasks run: the cluster and the `awsvpc` network of every task.
#[derive(Clone, Debug)]
pub struct TaskNetwork {
    pub cluster: String,
    pub subnets: Vec<String>,
    pub security_groups: Vec<String>,
    pub assign_public_ip: bool,
}

impl TaskNetwork {
    /// The network of the flags `--cluster`, `--subnets`, `--security-groups` and
    /// `--assign-public-ip`, checked.
    ///
    /// # Errors
    /// An empty cluster, no subnet, or an id that is not a subnet's or a security group's,
    /// naming the flag.
    pub fn new(
        cluster: &str,
        subnets: &[String],
        security_groups: &[String],
        assign_public_ip: bool,
    ) -> Result<TaskNetwork> {
        if cluster.is_empty() {
            bail!("--cluster is empty: give the name or ARN of an ECS cluster");
        }
        if subnets.is_empty() {
            bail!(
                "--subnets is missing: give the subnets the tasks run in (subnet-…, \
                 comma-separated), in the VPC this machine is in"
            );
        }
        check_ids("--subnets", "subnet-", subnets)?;
        check_ids("--security-groups", "sg-", security_groups)?;
        Ok(TaskNetwork {
            cluster: cluster.to_owned(),
            subnets: subnets.to_vec(),
            security_groups: security_groups.to_vec(),
            assign_public_ip,
        })
    }
}

/// Every id of `ids` starts with `prefix` and goes on with letters and digits, as VPC ids do.
fn check_ids(flag: &str, prefix: &str, ids: &[String]) -> Result<()> {
    for id in ids {
        let valid = id.strip_prefix(prefix).is_some_and(|rest| {
            !rest.is_empty() && rest.chars().all(|c| c.is_ascii_alphanumeric())
        });
        if !valid {
            bail!("invalid {flag} entry {id:?}: expected an id like {prefix}0123456789abcdef0");
        }
    }
    Ok(())
}

/// Checks that `cluster` exists and is active in `aws`'s region.
///
/// # Errors
/// When it does not, naming the region (clusters are regional), or ECS fails.
pub async fn check_cluster(aws: &Aws, cluster: &str) -> Result<()> {
    let answer = aws
        .ecs()
        .describe_clusters()
        .clusters(cluster)
        .send()
        .await
        .map_err(|err| {
            anyhow!(
                "could not describe ECS cluster {cluster} in {}: {}",
                aws.describe(),
                DisplayErrorContext(&err)
            )
        })?;
    let active = answer
        .clusters()
        .iter()
        .any(|c| c.status() == Some("ACTIVE"));
    if !active {
        bail!(
            "there is no active ECS cluster {cluster} in region {}: clusters are regional, so \
             check --cluster and the region (--region, AWS_REGION or the profile's)",
            aws.describe()
        );
    }
    Ok(())
}

/// What the command created in ECS and has not removed yet: the task definitions it
/// registered, the tasks it started, and the families whose registration had not answered.
/// [`Ledger::clean_up`] removes them all; it runs at the end of the command, after an error
/// and after Ctrl-C, and on drop (a panic) from a thread of its own.
#[derive(Clone)]
pub struct Ledger {
    ecs: aws_sdk_ecs::Client,
    cluster: String,
    /// `startedBy` of every task of this command, so a task whose RunTask was cut off is
    /// found too.
    started_by: String,
    entries: Arc<Mutex<Entries>>,
}

#[derive(Default)]
struct Entries {
    definitions: Vec<String>,
    tasks: Vec<String>,
}

impl Ledger {
    /// An empty ledger for tasks of `cluster` started as `started_by`.
    pub fn new(aws: &Aws, cluster: &str, started_by: &str) -> Ledger {
        Ledger {
            ecs: aws.ecs(),
            cluster: cluster.to_owned(),
            started_by: started_by.to_owned(),
            entries: Arc::default(),
        }
    }

    fn entries(&self) -> std::sync::MutexGuard<'_, Entries> {
        self.entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Registers `definition`, tagged with this command's `startedBy`; its ARN.
    ///
    /// # Errors
    /// When ECS refuses it, with ECS's reason.
    pub async fn register(&self, definition: &TaskDefinition) -> Result<String> {
        let request = register_request(&self.ecs, definition, &self.started_by)?;
        let answer = request.send().await.map_err(|err| {
            anyhow!(
                "ECS refused task definition {}: {}",
                definition.family,
                DisplayErrorContext(&err)
            )
        })?;
        let arn = answer
            .task_definition()
            .and_then(|d| d.task_definition_arn())
            .with_context(|| format!("ECS registered {} without an ARN", definition.family))?
            .to_owned();
        self.entries().definitions.push(arn.clone());
        Ok(arn)
    }

    /// Starts one Fargate task of `definition_arn` in `network`; its ARN.
    ///
    /// # Errors
    /// When ECS refuses, or starts nothing and says why (`failures`).
    pub async fn run_task(&self, definition_arn: &str, network: &TaskNetwork) -> Result<String> {
        let vpc = ecs::AwsVpcConfiguration::builder()
            .set_subnets(Some(network.subnets.clone()))
            .set_security_groups(
                (!network.security_groups.is_empty()).then(|| network.security_groups.clone()),
            )
            .assign_public_ip(if network.assign_public_ip {
                ecs::AssignPublicIp::Enabled
            } else {
                ecs::AssignPublicIp::Disabled
            })
            .build()
            .context("an awsvpc configuration needs subnets")?;
        let answer = self
            .ecs
            .run_task()
            .cluster(&self.cluster)
            .task_definition(definition_arn)
            .launch_type(ecs::LaunchType::Fargate)
            .count(1)
            .started_by(&self.started_by)
            .network_configuration(
                ecs::NetworkConfiguration::builder()
                    .awsvpc_configuration(vpc)
                    .build(),
            )
            .send()
            .await
            .map_err(|err| {
                anyhow!(
                    "ECS did not run {definition_arn} in cluster {}: {}",
                    self.cluster,
                    DisplayErrorContext(&err)
                )
            })?;
        if let Some(task) = answer.tasks().first().and_then(|t| t.task_arn()) {
            self.entries().tasks.push(task.to_owned());
            return Ok(task.to_owned());
        }
        let reasons: Vec<String> = answer
            .failures()
            .iter()
            .map(|f| {
                [f.reason(), f.detail()]
                    .into_iter()
                    .flatten()
                    .collect::<Vec<_>>()
                    .join(": ")
            })
            .collect();
        bail!(
            "ECS started no task of {definition_arn}: {}",
            if reasons.is_empty() {
                "it gave no reason".to_owned()
            } else {
                reasons.join("; ")
            }
        )
    }

    /// The task as DescribeTasks gives it now.
    ///
    /// # Errors
    /// When ECS fails or does not know the task.
    pub async fn describe(&self, task_arn: &str) -> Result<DescribedTask> {
        let answer = self
            .ecs
            .describe_tasks()
            .cluster(&self.cluster)
            .tasks(task_arn)
            .send()
            .await
            .map_err(|err| {
                anyhow!(
                    "could not describe task {task_arn}: {}",
                    DisplayErrorContext(&err)
                )
            })?;
        let task = answer
            .tasks()
            .first()
            .with_context(|| format!("ECS does not know task {task_arn}"))?;
        Ok(described(task))
    }

    /// Stops the task (ECS sends SIGTERM, and SIGKILL after the container's stop timeout)
    /// and takes it off the ledger.
    ///
    /// # Errors
    /// When ECS refuses.
    pub async fn stop(&self, task_arn: &str) -> Result<()> {
        stop_task(&self.ecs, &self.cluster, task_arn).await?;
        self.entries().tasks.retain(|t| t != task_arn);
        Ok(())
    }

    /// Deregisters the definition and takes it off the ledger.
    ///
    /// # Errors
    /// When ECS refuses.
    pub async fn deregister(&self, definition_arn: &str) -> Result<()> {
        deregister(&self.ecs, definition_arn).await?;
        self.entries().definitions.retain(|d| d != definition_arn);
        Ok(())
    }

    /// Stops every task this command started that still runs and deregisters every
    /// definition it registered; what could not be removed, one message each with the command
    /// that removes it. Each is tried once: the ledger is empty afterwards, whatever happened.
    pub async fn clean_up(&self) -> Vec<String> {
        let Entries {
            mut tasks,
            definitions,
        } = std::mem::take(&mut *self.entries());
        let mut problems = Vec::new();
        // A task whose RunTask answer never came is found by its startedBy.
        match self
            .ecs
            .list_tasks()
            .cluster(&self.cluster)
            .started_by(&self.started_by)
            .desired_status(ecs::DesiredStatus::Running)
            .send()
            .await
        {
            Ok(answer) => {
                for arn in answer.task_arns() {
                    if !tasks.contains(arn) {
                        tasks.push(arn.clone());
                    }
                }
            }
            Err(err) => problems.push(format!(
                "could not list the tasks started by {} in cluster {}: {}; find them with aws \
                 ecs list-tasks --cluster {} --started-by {}",
                self.started_by,
                self.cluster,
                DisplayErrorContext(&err),
                self.cluster,
                self.started_by
            )),
        }
        for task in &tasks {
            if let Err(err) = stop_task(&self.ecs, &self.cluster, task).await {
                problems.push(format!(
                    "{err:#}; stop it with aws ecs stop-task --cluster {} --task {task}",
                    self.cluster
                ));
            }
        }
        for definition in &definitions {
            if let Err(err) = deregister(&self.ecs, definition).await {
                problems.push(format!(
                    "{err:#}; deregister it with aws ecs deregister-task-definition \
                     --task-definition {definition}"
                ));
            }
        }
        problems
    }

    /// Whether anything is left to clean up.
    fn is_empty(&self) -> bool {
        let entries = self.entries();
        entries.tasks.is_empty() && entries.definitions.is_empty()
    }
}

impl Drop for Ledger {
    /// The last clone cleans up what is left, from a thread with a runtime of its own: drop
    /// cannot await, and the caller's runtime may be the one that is blocked or unwinding.
    fn drop(&mut self) {
        if Arc::strong_count(&self.entries) > 1 || self.is_empty() {
            return;
        }
        let ledger = Ledger {
            ecs: self.ecs.clone(),
            cluster: self.cluster.clone(),
            started_by: self.started_by.clone(),
            entries: Arc::new(Mutex::new(std::mem::take(&mut *self.entries()))),
        };
        let cleanup = std::thread::spawn(move || -> Result<Vec<String>> {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build();
            match runtime {
                // clean_up empties the copy, so its own drop does nothing.
                Ok(runtime) => Ok(runtime.block_on(ledger.clean_up())),
                Err(err) => {
                    let Entries { tasks, definitions } = std::mem::take(&mut *ledger.entries());
                    Err(anyhow!(
                        "{err}; stop the tasks {tasks:?} and deregister {definitions:?} by hand"
                    ))
                }
            }
        });
        match cleanup.join() {
            Ok(Ok(problems)) => {
                for problem in problems {
                    eprintln!("warning: {problem}");
                }
            }
            Ok(Err(err)) => eprintln!("warning: could not clean up ECS: {err:#}"),
            Err(_) => eprintln!("warning: the thread cleaning up ECS panicked"),
        }
    }
}

async fn stop_task(client: &aws_sdk_ecs::Client, cluster: &str, task_arn: &str) -> Result<()> {
    client
        .stop_task()
        .cluster(cluster)
        .task(task_arn)
        .reason("bench-runner: measured")
        .send()
        .await
        .map_err(|err| {
            anyhow!(
                "could not stop task {task_arn}: {}",
                DisplayErrorContext(&err)
            )
        })?;
    Ok(())
}

async fn deregister(client: &aws_sdk_ecs::Client, definition_arn: &str) -> Result<()> {
    client
        .deregister_task_definition()
        .task_definition(definition_arn)
        .send()
        .await
        .map_err(|err| {
            anyhow!(
                "could not deregister {definition_arn}: {}",
                DisplayErrorContext(&err)
            )
        })?;
    Ok(())
}

/// `RegisterTaskDefinition` with every field of `definition`, which is shaped like its input,
/// and the tag `benchlab:started-by`.
fn register_request(
    client: &aws_sdk_ecs::Client,
    definition: &TaskDefinition,
    started_by: &str,
) -> Result<
    aws_sdk_ecs::operation::register_task_definition::builders::RegisterTaskDefinitionFluentBuilder,
> {
    let containers = definition
        .container_definitions
        .iter()
        .map(container_definition)
        .collect::<Result<Vec<_>>>()?;
    Ok(client
        .register_task_definition()
        .family(&definition.family)
        .set_execution_role_arn(definition.execution_role_arn.clone())
        .network_mode(ecs::NetworkMode::Awsvpc)
        .requires_compatibilities(ecs::Compatibility::Fargate)
        .cpu(&definition.cpu)
        .memory(&definition.memory)
        .runtime_platform(
            ecs::RuntimePlatform::builder()
                .cpu_architecture(ecs::CpuArchitecture::X8664)
                .operating_system_family(ecs::OsFamily::Linux)
                .build(),
        )
        .set_container_definitions(Some(containers))
        .tags(
            ecs::Tag::builder()
                .key("benchlab:started-by")
                .value(started_by)
                .build(),
        ))
}

fn container_definition(
    container: &bench_core::fargate::taskdef::ContainerDefinition,
) -> Result<ecs::ContainerDefinition> {
    let health = &container.health_check;
    let health_check = ecs::HealthCheck::builder()
        .set_command(Some(health.command.clone()))
        .interval(i32::try_from(health.interval)?)
        .timeout(i32::try_from(health.timeout)?)
        .retries(i32::try_from(health.retries)?)
        .start_period(i32::try_from(health.start_period)?)
        .build()
        .context("a health check needs a command")?;
    let log_configuration = container
        .log_configuration
        .as_ref()
        .map(|logs| {
            ecs::LogConfiguration::builder()
                .log_driver(ecs::LogDriver::Awslogs)
                .set_options(Some(logs.options.clone().into_iter().collect()))
                .build()
                .context("a log configuration needs a driver")
        })
        .transpose()?;
    Ok(ecs::ContainerDefinition::builder()
        .name(&container.name)
        .image(&container.image)
        .essential(container.essential)
        .memory(i32::try_from(container.memory)?)
        .set_port_mappings(Some(
            container
                .port_mappings
                .iter()
                .map(|mapping| {
                    ecs::PortMapping::builder()
                        .container_port(i32::from(mapping.container_port))
                        .protocol(ecs::TransportProtocol::Tcp)
                        .build()
                })
                .collect(),
        ))
        .set_environment(Some(
            container
                .environment
                .iter()
                .map(|pair| {
                    ecs::KeyValuePair::builder()
                        .name(&pair.name)
                        .value(&pair.value)
                        .build()
                })
                .collect(),
        ))
        .health_check(health_check)
        .stop_timeout(i32::try_from(container.stop_timeout)?)
        .set_log_configuration(log_configuration)
        .build())
}

/// The SDK's task as bench-core's `DescribedTask`, the shape DescribeTasks' JSON has.
fn described(task: &ecs::Task) -> DescribedTask {
    let time = |t: Option<&aws_sdk_ecs::primitives::DateTime>| {
        t.and_then(|t| {
            AwsTime::from_unix_micros(t.secs() * 1_000_000 + i64::from(t.subsec_nanos() / 1_000))
        })
    };
    let text = |t: Option<&str>| t.map(ToOwned::to_owned);
    DescribedTask {
        task_arn: task.task_arn().unwrap_or_default().to_owned(),
        task_definition_arn: text(task.task_definition_arn()),
        last_status: text(task.last_status()),
        desired_status: text(task.desired_status()),
        launch_type: task.launch_type().map(|l| l.as_str().to_owned()),
        cpu: text(task.cpu()),
        memory: text(task.memory()),
        platform_version: text(task.platform_version()),
        availability_zone: text(task.availability_zone()),
        created_at: time(task.created_at()),
        connectivity_at: time(task.connectivity_at()),
        pull_started_at: time(task.pull_started_at()),
        pull_stopped_at: time(task.pull_stopped_at()),
        started_at: time(task.started_at()),
        stopping_at: time(task.stopping_at()),
        execution_stopped_at: time(task.execution_stopped_at()),
        stopped_at: time(task.stopped_at()),
        stopped_reason: text(task.stopped_reason()),
        stop_code: task.stop_code().map(|c| c.as_str().to_owned()),
        health_status: task.health_status().map(|h| h.as_str().to_owned()),
        containers: task
            .containers()
            .iter()
            .map(|c| TaskContainer {
                name: text(c.name()),
                image: text(c.image()),
                image_digest: text(c.image_digest()),
                last_status: text(c.last_status()),
                exit_code: c.exit_code(),
                reason: text(c.reason()),
                health_status: c.health_status().map(|h| h.as_str().to_owned()),
                network_interfaces: c
                    .network_interfaces()
                    .iter()
                    .map(|n| NetworkInterface {
                        attachment_id: text(n.attachment_id()),
                        private_ipv4_address: text(n.private_ipv4_address()),
                    })
                    .collect(),
            })
            .collect(),
        attachments: task
            .attachments()
            .iter()
            .map(|a| TaskAttachment {
                id: text(a.id()),
                kind: text(a.r#type()),
                status: text(a.status()),
                details: a
                    .details()
                    .iter()
                    .map(|d| AttachmentDetail {
                        name: text(d.name()),
                        value: text(d.value()),
                    })
                    .collect(),
            })
            .collect(),
    }
}

/// Whether ECS has given the task up: it is on its way to STOPPED or there.
pub fn stopping(task: &DescribedTask) -> bool {
    task.desired_status.as_deref() == Some("STOPPED")
        || matches!(
            task.last_status.as_deref(),
            Some("DEACTIVATING" | "STOPPING" | "DEPROVISIONING" | "STOPPED")
        )
}

/// The error of a task that stopped `when`, with ECS's reasons.
pub fn stopped_error(task: &DescribedTask, when: &str) -> anyhow::Error {
    anyhow!(
        "the task stopped {when}: {}",
        task.stop_reason()
            .unwrap_or_else(|| "ECS gave no reason".to_owned())
    )
}

/// Describes `task` every [`DESCRIBE_EVERY`] until it is RUNNING, and returns it then;
/// `seen` gets every answer on the way.
///
/// # Errors
/// When the task stops first (with ECS's reasons), is not RUNNING `timeout` after `since`,
/// or ECS fails.
pub async fn wait_running(
    ledger: &Ledger,
    task: &str,
    since: std::time::Instant,
    timeout: Duration,
    mut seen: impl FnMut(&DescribedTask),
) -> Result<DescribedTask> {
    loop {
        let described = ledger.describe(task).await?;
        seen(&described);
        if described.last_status.as_deref() == Some("RUNNING") {
            return Ok(described);
        }
        if stopping(&described) {
            return Err(stopped_error(&described, "before it ran"));
        }
        if since.elapsed() > timeout {
            bail!(
                "not RUNNING within {timeout:?} of RunTask: last status {}",
                described.last_status.as_deref().unwrap_or("none")
            );
        }
        tokio::time::sleep(DESCRIBE_EVERY).await;
    }
}

/// How often a launching task is described: ECS's DescribeTasks allows 20 calls per second
/// per account with bursts of 100 (its documented throttle), so once a second per task
/// leaves room for everything else the account does.
pub const DESCRIBE_EVERY: Duration = Duration::from_secs(1);

/// The task's address in its VPC, once its network interface is attached.
pub fn task_address(task: &DescribedTask) -> Option<Ipv4Addr> {
    task.private_ipv4()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_task_network_names_the_flag_at_fault() {
        let subnets = ["subnet-0a1b2c3d".to_owned()];
        assert!(TaskNetwork::new("default", &subnets, &[], false).is_ok());
        let err = |cluster: &str, subnets: &[&str], groups: &[&str]| {
            let owned = |ids: &[&str]| ids.iter().map(|&id| id.to_owned()).collect::<Vec<_>>();
            TaskNetwork::new(cluster, &owned(subnets), &owned(groups), false)
                .unwrap_err()
                .to_string()
        };
        assert_eq!(
            err("default", &["subnet-1"], &["subnet-1"]),
            "invalid --security-groups entry \"subnet-1\": expected an id like \
             sg-0123456789abcdef0"
        );
        assert!(err("default", &["subnet-"], &[]).starts_with("invalid --subnets entry"));
        assert!(err("default", &["subnet-a b"], &[]).starts_with("invalid --subnets entry"));
        assert!(err("default", &[], &[]).starts_with("--subnets is missing"));
        assert!(err("", &["subnet-1"], &[]).starts_with("--cluster is empty"));
    }
}
