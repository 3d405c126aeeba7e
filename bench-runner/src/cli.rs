//! The command line as typed: clap derive structs that mirror the flags and only parse. The
//! commands' plans are made from them (`lab::ImagesPlan`, `run::RunPlan`). The run's matrix
//! flags are bench-core's [`Settings`], declared once for flags and matrix files alike.

use std::path::PathBuf;

use std::time::Duration;

use bench_core::catalog::{Backend, Base, Framework, REPOSITORY};
use bench_core::deploy::Strategy;
use bench_core::fargate::sizes::{FargateSize, parse_sizes};
use bench_core::fargate::taskdef::{AwsLogs, Options};
use bench_core::plan::{CpuSet, Endpoint, Settings};
use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand};

use crate::aws::TaskNetwork;

/// Builds benchlab's images and measures its services.
#[derive(Debug, Parser)]
#[command(name = "bench-runner", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

/// The command line as parsed for `args`: the derive's definition, with `--resume` refusing
/// each matrix flag by name (a matrix flag cannot change a recorded run).
///
/// # Errors
/// clap's own, for bad or conflicting arguments, `--help` and `--version`.
pub fn try_parse_from<I, T>(args: I) -> Result<Cli, clap::Error>
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let matrix_flags: Vec<clap::Id> = Settings::augment_args(clap::Command::new("settings"))
        .get_arguments()
        .map(|arg| arg.get_id().clone())
        .collect();
    let command = Cli::command().mut_subcommand("run", |run| {
        run.mut_arg("resume", |resume| resume.conflicts_with_all(matrix_flags))
    });
    let matches = command.try_get_matches_from(args)?;
    Cli::from_arg_matches(&matches)
}

/// [`try_parse_from`] on this process's arguments; a bad command line prints clap's
/// message and exits.
pub fn parse() -> Cli {
    try_parse_from(std::env::args_os()).unwrap_or_else(|err| err.exit())
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Makes the base images present: uses one that is present, pulls one a registry serves,
    /// else builds an equivalent from Debian packages (mmdebstrap, as root).
    Bases(BasesArgs),
    /// Builds the framework × base images (`benchlab/<framework>:<base>`) and writes the image
    /// table to results/images/.
    Images(ImagesArgs),
    /// Measures every framework × base × CPU quota × endpoint × connection count × load shape
    /// (closed loop or fixed rate, keep-alive or churn, oha or wrk) and writes results.json,
    /// results.md and results.csv under results/<timestamp>-<host>/.
    ///
    /// Settings come from the default matrix (or --quick), then --config, then the flags.
    Run(Box<RunArgs>),
    /// Measures the same cells with oha and with wrk, interleaved round by round in the same
    /// minutes, and reports the ratios of req/s, p99 and server CPU per request: how much the
    /// figures are the generator's. A run like `run` (same flags, same files) whose matrix
    /// starts from matrices/cross-check.toml instead of the default one.
    CrossCheck(Box<RunArgs>),
    /// Compares a new run with a base run, cell by cell: the change in req/s, p99 and CPU µs
    /// per request with their intervals, and a verdict (slower, faster, within noise, no
    /// significant change); then both runs side by side (medians, % of hyper, orderings).
    ///
    /// Exit status: 0 when no cell is slower beyond --threshold, 1 when one is (a CI gate),
    /// 2 on bad input or runs from different machines.
    Compare(CompareArgs),
    /// Measures what a redeploy costs each framework: nginx on loopback in front of a blue
    /// instance, a fixed-rate load through it recorded request by request, and a green
    /// instance replacing blue (blue-green, rolling or naive) while the load runs. Writes
    /// deploy.md, deploy.json, deploy.csv and a timeline chart per swap under
    /// results/deploy-<timestamp>-<host>/.
    Deploy(Box<DeployArgs>),
    /// Pushes framework × base images to a registry through the engine and measures what a
    /// registry holds and costs: the size it stores (from its manifest), the bytes sent,
    /// the push time and a cold pull's time (none of the image's layers present). Adds an
    /// "In a registry" table to results/images/images.md.
    ///
    /// Credentials: --username with BENCHLAB_REGISTRY_PASSWORD or --password-stdin, else
    /// ~/.docker/config.json (auths and credential helpers), else none. --local-registry
    /// starts Debian's docker-registry on 127.0.0.1 instead, with a password of its own.
    Push(Box<PushArgs>),
    /// ECS task definitions for the framework × base images at Fargate's sizes: `plan`
    /// writes them as JSON, for review, `aws ecs register-task-definition` or Terraform and
    /// CloudFormation.
    Fargate(Box<FargateArgs>),
    /// Writes the charts (charts/*.svg), report.html and results.md with the charts linked
    /// of a finished run from its results.json, as a run does when it ends; for a deploy
    /// run, deploy.md, deploy.csv and the timeline charts from its deploy.json.
    Report(ReportArgs),
    /// The load generator's child process (internal): pins itself to CPUS and runs oha with
    /// the arguments after `--`.
    #[command(hide = true)]
    Oha(OhaArgs),
}

#[derive(Debug, Args)]
pub struct BasesArgs {
    /// Bases to make present, comma-separated [default: all].
    #[arg(long, value_enum, value_delimiter = ',')]
    pub bases: Vec<Base>,

    /// Build from Debian packages even when a base is present.
    #[arg(long)]
    pub rebuild: bool,

    #[command(flatten)]
    pub pull: PullArgs,

    #[command(flatten)]
    pub engine: EngineArgs,
}

#[derive(Debug, Args)]
pub struct ImagesArgs {
    /// Frameworks to build, comma-separated [default: all].
    #[arg(long, value_enum, value_delimiter = ',')]
    pub frameworks: Vec<Framework>,

    /// Bases to build on, comma-separated [default: all].
    #[arg(long, value_enum, value_delimiter = ',')]
    pub bases: Vec<Base>,

    /// Build every image even when its binary, base and Dockerfile are unchanged.
    #[arg(long)]
    pub rebuild: bool,

    /// The repository the images go to: <REPOSITORY>/<framework>:<base>.
    #[arg(long, value_name = "REPOSITORY", default_value = REPOSITORY)]
    pub repository: String,

    /// Directory for images.md, images.json and image-sizes.svg [default: results/images in the workspace].
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,

    #[command(flatten)]
    pub pull: PullArgs,

    #[command(flatten)]
    pub engine: EngineArgs,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// A TOML matrix file (keys as the flags: frameworks, cpus, connections, ...; see
    /// matrices/example.toml); flags override it
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Start from the smoke matrix (about four minutes) instead of the default one
    /// (matrices/default.toml)
    #[arg(long)]
    pub quick: bool,

    /// The matrix: each flag overrides the default matrix, --quick and --config.
    #[command(flatten)]
    pub settings: Settings,

    /// Complete the interrupted run in DIR, with the matrix it recorded
    /// (the matrix flags, --config, --quick and --out are refused with it, by name)
    #[arg(long, value_name = "DIR", conflicts_with_all = ["config", "quick", "out"])]
    pub resume: Option<PathBuf>,

    /// With --resume: resume even when the commit, uncommitted changes, Cargo.lock, the
    /// toolchain, a binary or an image differ from what the run recorded (the differences are
    /// recorded in the results)
    #[arg(long, requires = "resume")]
    pub force: bool,

    /// The results directory, which must not exist yet [default:
    /// results/<timestamp>-<host> in the workspace]
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,

    /// The repository the images are built in and run from: <REPOSITORY>/<framework>:<base>
    #[arg(long, value_name = "REPOSITORY", default_value = REPOSITORY)]
    pub repository: String,

    /// A Fargate price table to price every cell at, recorded in the run (the shape of
    /// bench-core/prices/fargate.toml, the built-in one); with --resume it replaces the
    /// recorded one
    #[arg(long, value_name = "FILE")]
    pub prices: Option<PathBuf>,

    #[command(flatten)]
    pub engine: EngineArgs,

    /// Where the load goes: the address the services bind and the generator loads
    /// [default: 127.0.0.1, or with --resume the recorded one; under --backend ecs each
    /// task's private address]. Any other address must be the machine of a remote engine
    /// (--docker-host), or under --backend ecs a tunnel to the tasks; a name is resolved once
    /// and its address recorded
    #[arg(long, value_name = "HOST")]
    pub target_host: Option<String>,

    /// The tasks of --backend ecs: their images and definitions.
    #[command(flatten, next_help_heading = "The ecs backend")]
    pub task: TaskArgs,

    /// The tasks of --backend ecs: where they run.
    #[command(flatten, next_help_heading = "The ecs backend")]
    pub ecs: EcsArgs,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// The run's results directory
    pub dir: PathBuf,

    /// A Fargate price table to price every cell at instead of the one the run recorded (the
    /// shape of bench-core/prices/fargate.toml); results.json is left as it is
    #[arg(long, value_name = "FILE")]
    pub prices: Option<PathBuf>,

    /// Then render report.html in headless Chromium (JavaScript off, network blocked) into
    /// report.png, and fail (exit status 1) when it logs an error, requests anything from the
    /// network, lays a chart out empty or looks blank. Chromium is /usr/bin/chromium or
    /// $BENCHLAB_CHROMIUM (scripts/ensure-chromium.sh installs it)
    #[arg(long)]
    pub screenshot: bool,
}

#[derive(Debug, Args)]
pub struct CompareArgs {
    /// The base run's results directory (or its results.json)
    pub base: PathBuf,
    /// The new run's results directory (or its results.json)
    pub new: PathBuf,
    /// The noise band in percent: a change whose whole interval lies within it is not called
    /// slower or faster
    #[arg(long, value_name = "PERCENT", default_value = "5", value_parser = parse_percent)]
    pub threshold: f64,
    /// Compare runs made on different hosts, CPU models or kernels (refused otherwise)
    #[arg(long)]
    pub allow_different_hosts: bool,
    /// The output's format
    #[arg(long, value_enum, default_value = "markdown")]
    pub format: CompareFormat,
}

/// What `compare` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum CompareFormat {
    Markdown,
    Json,
}

/// `5` or `5%`: a percentage from 0 to 100, as a fraction.
fn parse_percent(text: &str) -> Result<f64, String> {
    let number = text.trim().trim_end_matches('%').trim();
    match number.parse::<f64>() {
        Ok(value) if (0.0..=100.0).contains(&value) => Ok(value / 100.0),
        _ => Err(format!(
            "'{text}' is not a percentage from 0 to 100 (like 5 or 2.5%)"
        )),
    }
}

#[derive(Debug, Args)]
pub struct OhaArgs {
    /// The CPUs to pin to, as a cpuset list.
    #[arg(long)]
    pub cpus: String,

    /// oha's arguments.
    #[arg(last = true)]
    pub args: Vec<std::ffi::OsString>,
}

#[derive(Debug, Args)]
pub struct PullArgs {
    /// Do not try a registry for a missing base; build it from Debian packages right away.
    #[arg(long, env = "BENCHLAB_NO_PULL")]
    pub no_pull: bool,
}

/// Which Docker engine the command uses, chosen as the Docker CLI chooses one (see
/// `docker::Engine::resolve`).
#[derive(Debug, Clone, Default, Args)]
pub struct EngineArgs {
    /// The Docker engine: unix:///PATH or tcp://HOST[:PORT] [default: $DOCKER_HOST, else
    /// unix:///var/run/docker.sock]. As with the Docker CLI, DOCKER_TLS_VERIFY=1 makes tcp://
    /// TLS with ca.pem, cert.pem and key.pem from DOCKER_CERT_PATH (default ~/.docker)
    #[arg(long, value_name = "URL")]
    pub docker_host: Option<String>,
}

impl Command {
    /// The engine flags of a command that uses the engine; `None` for one that does not.
    pub fn engine(&self) -> Option<&EngineArgs> {
        match self {
            Command::Bases(args) => Some(&args.engine),
            Command::Images(args) => Some(&args.engine),
            Command::Run(args) | Command::CrossCheck(args) => Some(&args.engine),
            Command::Deploy(args) => Some(&args.engine),
            Command::Push(args) => Some(&args.engine),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn cli_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn lists_are_comma_separated() {
        let cli = try_parse_from([
            "bench-runner",
            "images",
            "--frameworks",
            "axum,actix-web",
            "--bases",
            "scratch",
        ])
        .unwrap();
        let Command::Images(args) = cli.command else {
            panic!("expected the images command");
        };
        assert_eq!(args.frameworks, [Framework::Axum, Framework::ActixWeb]);
        assert_eq!(args.bases, [Base::Scratch]);
    }

    #[test]
    fn run_flags_fill_the_settings() {
        let cli = try_parse_from([
            "bench-runner",
            "run",
            "--frameworks",
            "xitca-web,hyper",
            "--connections",
            "1,64",
            "--warmup",
            "500ms",
        ])
        .unwrap();
        let Command::Run(args) = cli.command else {
            panic!("expected the run command");
        };
        assert_eq!(
            args.settings.frameworks,
            Some(vec![Framework::XitcaWeb, Framework::Hyper])
        );
        assert_eq!(args.settings.connections, Some(vec![1, 64]));
        assert_eq!(
            args.settings.warmup,
            Some(std::time::Duration::from_millis(500))
        );
        assert_eq!(args.settings.bases, None, "left to the matrix");
    }

    #[test]
    fn resume_refuses_matrix_flags_naming_them() {
        let err = try_parse_from([
            "bench-runner",
            "run",
            "--resume",
            "results/x",
            "--connections",
            "256",
        ])
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("'--resume <DIR>' cannot be used with '--connections <N>'"),
            "{err}"
        );
        let err = try_parse_from(["bench-runner", "run", "--resume", "x", "--quick"])
            .unwrap_err()
            .to_string();
        assert!(err.contains("cannot be used with '--quick'"), "{err}");
    }

    #[test]
    fn a_bad_name_lists_the_valid_ones() {
        let err = try_parse_from(["bench-runner", "images", "--frameworks", "flask"])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("invalid value 'flask' for '--frameworks"),
            "{err}"
        );
        let names: Vec<&str> = Framework::ALL.iter().map(|f| f.name()).collect();
        assert!(
            err.contains(&format!("[possible values: {}]", names.join(", "))),
            "{err}"
        );
        let err = try_parse_from(["bench-runner", "bases", "--bases", "alpine"])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("[possible values: scratch, distroless, debian]"),
            "{err}"
        );
    }
}

#[derive(Debug, Args)]
pub struct PushArgs {
    /// Frameworks to push, comma-separated [default: all].
    #[arg(long, value_enum, value_delimiter = ',')]
    pub frameworks: Vec<Framework>,

    /// Bases to push, comma-separated [default: all].
    #[arg(long, value_enum, value_delimiter = ',')]
    pub bases: Vec<Base>,

    /// The registry: HOST or HOST:PORT, like 123456789012.dkr.ecr.us-east-1.amazonaws.com
    #[arg(
        long,
        value_name = "HOST[:PORT]",
        required_unless_present = "local_registry",
        conflicts_with = "local_registry"
    )]
    pub registry: Option<String>,

    /// Start Debian's docker-registry on 127.0.0.1 for this command (scripts/ensure-registry.sh
    /// installs it), push there, and stop it afterwards
    #[arg(long)]
    pub local_registry: bool,

    /// Where the images go in the registry: <REGISTRY>/<NAMESPACE>/<framework>:<base>
    #[arg(long, value_name = "NAMESPACE", default_value = "benchlab")]
    pub namespace: String,

    /// The local images to push: <REPOSITORY>/<framework>:<base>
    #[arg(long, value_name = "REPOSITORY", default_value = REPOSITORY)]
    pub repository: String,

    /// The registry user; the password comes from BENCHLAB_REGISTRY_PASSWORD or --password-stdin
    #[arg(long, env = "BENCHLAB_REGISTRY_USERNAME")]
    pub username: Option<String>,

    /// Read the password from the first line of standard input
    #[arg(long, requires = "username")]
    pub password_stdin: bool,

    /// Log in with a token from ECR's GetAuthorizationToken (the AWS credential chain, in
    /// AWS_REGION), whatever the registry's host: an ECR host
    /// (<account>.dkr.ecr.<region>.amazonaws.com) gets one anyway when the Docker config has
    /// no credentials for it
    #[arg(long, conflicts_with = "username")]
    pub ecr: bool,

    /// Push only; skip the cold pulls (which save, remove and load back every image that
    /// shares a layer with the pushed ones)
    #[arg(long)]
    pub no_cold_pull: bool,

    /// Directory of the image table to add the figures to [default: results/images in the workspace].
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,

    #[command(flatten)]
    pub engine: EngineArgs,
}

#[derive(Debug, Args)]
pub struct DeployArgs {
    /// Frameworks to swap, comma-separated [default: all]
    #[arg(long, value_enum, value_delimiter = ',')]
    pub frameworks: Vec<Framework>,

    /// Strategies, comma-separated [default: all]: blue-green (green starts, the upstream
    /// switches, blue gets SIGTERM after --drain), rolling (green joins, after --drain blue
    /// leaves and gets SIGTERM at once), naive (SIGTERM to blue, then green on its port)
    #[arg(long, value_enum, value_delimiter = ',')]
    pub strategies: Vec<Strategy>,

    /// Client keep-alive to nginx: true, false or both
    #[arg(long, value_delimiter = ',', default_values_t = [true, false])]
    pub client_keep_alive: Vec<bool>,

    /// nginx's keep-alive to the instances: true, false or both
    #[arg(long, value_delimiter = ',', default_values_t = [true, false])]
    pub upstream_keep_alive: Vec<bool>,

    /// The fixed arrival rate through nginx, requests per second
    #[arg(long, default_value_t = 1000.0)]
    pub rate: f64,

    /// How long the load runs, the swap included
    #[arg(long, default_value = "8s", value_parser = bench_core::units::parse_duration)]
    pub duration: Duration,

    /// When the swap begins after the load started
    #[arg(long, default_value = "2s", value_parser = bench_core::units::parse_duration)]
    pub swap_at: Duration,

    /// Blue-green: how long blue runs on after the switch; rolling: how long blue and green
    /// serve together
    #[arg(long, default_value = "1s", value_parser = bench_core::units::parse_duration)]
    pub drain: Duration,

    /// The instances' SHUTDOWN_GRACE_MS
    #[arg(long, default_value = "2s", value_parser = bench_core::units::parse_duration)]
    pub grace: Duration,

    /// A request without a complete answer after this long is a timeout
    #[arg(long, default_value = "5s", value_parser = bench_core::units::parse_duration)]
    pub timeout: Duration,

    /// The path requested: /hello or /sleep/<ms> (a sleep keeps requests in flight at the
    /// swap)
    #[arg(long, default_value = "/sleep/20")]
    pub endpoint: Endpoint,

    /// Instances as containers (docker) or as pinned processes (process)
    #[arg(long, value_enum, default_value_t = Backend::Docker)]
    pub backend: Backend,

    /// The base image of the instances (docker backend)
    #[arg(long, value_enum, default_value_t = Base::Scratch)]
    pub base: Base,

    /// CPU quota of each instance, vCPUs (docker backend)
    #[arg(long, default_value_t = 1.0)]
    pub vcpus: f64,

    /// Memory limit of each instance, MiB (docker backend)
    #[arg(long, default_value_t = 256)]
    pub memory_mib: u64,

    /// The CPUs the instances run on
    #[arg(long, default_value = "1")]
    pub server_cpus: CpuSet,

    /// The CPUs nginx and the recorder run on
    #[arg(long, default_value = "0")]
    pub client_cpus: CpuSet,

    /// The repository the images are built in and run from: <REPOSITORY>/<framework>:<base>
    #[arg(long, value_name = "REPOSITORY", default_value = REPOSITORY)]
    pub repository: String,

    /// The results directory, which must not exist [default:
    /// results/deploy-<timestamp>-<host> in the workspace]
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,

    #[command(flatten)]
    pub engine: EngineArgs,
}

#[derive(Debug, Args)]
pub struct FargateArgs {
    #[command(subcommand)]
    pub command: FargateCommand,
}

#[derive(Debug, Subcommand)]
pub enum FargateCommand {
    /// Writes one ECS task definition per image × Fargate size to results/fargate-plan/:
    /// <family>.json for `aws ecs register-task-definition --cli-input-json`,
    /// task-definitions.json (all of them in one array) and README.md (the table, and how to
    /// register and run them). Needs no engine and no AWS.
    Plan(FargatePlanArgs),
    /// Launches each image × size as a Fargate task and times it from RunTask to the first
    /// 200 of GET /hello, with ECS's own timeline (created, pull started and stopped,
    /// started) in between; every task is stopped and every definition deregistered
    /// afterwards, after an error or Ctrl-C too. Writes timeline.json, timeline.md,
    /// timeline.csv and timeline.svg. Run it from a machine in the tasks' VPC: the probe
    /// goes to each task's private address.
    Run(FargateRunArgs),
}

/// The images and what their task definitions hold, for `fargate plan` and `fargate run`.
#[derive(Debug, Args)]
pub struct TaskDefinitionArgs {
    /// Frameworks, comma-separated [default: all]
    #[arg(long, value_enum, value_delimiter = ',')]
    pub frameworks: Vec<Framework>,

    /// Bases, comma-separated [default: all]
    #[arg(long, value_enum, value_delimiter = ',')]
    pub bases: Vec<Base>,

    #[command(flatten)]
    pub task: TaskArgs,
}

/// What a task definition holds besides the image's framework, base and size: for
/// `fargate plan`, `fargate run` and `run --backend ecs`.
#[derive(Debug, Args)]
pub struct TaskArgs {
    /// The registry the images were pushed to: HOST or HOST:PORT, like
    /// 123456789012.dkr.ecr.us-east-1.amazonaws.com [default: none, so images are named as
    /// on Docker Hub]
    #[arg(long, value_name = "HOST[:PORT]")]
    pub registry: Option<String>,

    /// Where the images are in the registry: <REGISTRY>/<NAMESPACE>/<framework>:<base>
    #[arg(long, value_name = "NAMESPACE", default_value = REPOSITORY)]
    pub namespace: String,

    /// The task execution role, which Fargate needs to pull from a private registry (ECR) and
    /// to write awslogs
    #[arg(long, value_name = "ARN")]
    pub execution_role_arn: Option<String>,

    /// Send the service's output to this CloudWatch Logs group (the awslogs driver; needs
    /// --execution-role-arn, and --region)
    #[arg(long, value_name = "GROUP")]
    pub log_group: Option<String>,

    /// The port the service binds in the task
    #[arg(long, default_value_t = bench_core::fargate::taskdef::DEFAULT_PORT)]
    pub port: u16,
}

impl TaskArgs {
    /// The definitions' options, checked; `region` is where the logs go.
    ///
    /// # Errors
    /// A value ECS would refuse, or `--log-group` without a region, naming the flag.
    pub fn options(&self, region: Option<&str>) -> anyhow::Result<Options> {
        let logs = match (&self.log_group, region) {
            (Some(group), Some(region)) => Some(AwsLogs {
                group: group.clone(),
                region: region.to_owned(),
            }),
            (Some(_), None) => {
                anyhow::bail!("--log-group needs --region, the region of the group")
            }
            (None, _) => None,
        };
        let options = Options {
            registry: self.registry.clone(),
            namespace: self.namespace.clone(),
            execution_role_arn: self.execution_role_arn.clone(),
            logs,
            port: self.port,
        };
        options.validate()?;
        Ok(options)
    }
}

/// Where Fargate tasks run: for `fargate run` and `run --backend ecs`.
#[derive(Debug, Args)]
pub struct EcsArgs {
    /// The ECS cluster to run the tasks in
    #[arg(long, default_value = "default")]
    pub cluster: String,

    /// The tasks' subnets, comma-separated: they must reach the registry (a NAT gateway,
    /// VPC endpoints for ECR and S3, or --assign-public-ip in a public subnet)
    #[arg(long, value_name = "SUBNETS", value_delimiter = ',')]
    pub subnets: Vec<String>,

    /// The tasks' security groups, comma-separated; they must let this machine reach --port
    /// [default: the VPC's default group]
    #[arg(long, value_name = "GROUPS", value_delimiter = ',')]
    pub security_groups: Vec<String>,

    /// Give each task a public address (in a public subnet without a NAT gateway, the only
    /// way it reaches ECR); the load and the probes still go to the private one
    #[arg(long)]
    pub assign_public_ip: bool,

    /// The AWS region [default: AWS_REGION or the profile's]
    #[arg(long)]
    pub region: Option<String>,
}

impl EcsArgs {
    /// The tasks' cluster and network, checked.
    ///
    /// # Errors
    /// A missing or malformed value, naming the flag.
    pub fn network(&self) -> anyhow::Result<TaskNetwork> {
        TaskNetwork::new(
            &self.cluster,
            &self.subnets,
            &self.security_groups,
            self.assign_public_ip,
        )
    }
}

#[derive(Debug, Args)]
pub struct FargatePlanArgs {
    #[command(flatten)]
    pub definitions: TaskDefinitionArgs,

    /// Fargate sizes, comma-separated: vCPUs with the least memory Fargate pairs with them
    /// (0.25), or vCPUs and memory (0.25:1GB, 1:3072 in MiB)
    #[arg(long, value_name = "SIZES", default_value = "0.25,0.5,1,2,4", value_parser = parse_fargate_sizes)]
    pub sizes: FargateSizes,

    /// The region of --log-group
    #[arg(long, requires = "log_group")]
    pub region: Option<String>,

    /// The plan's directory; definitions of an earlier plan in it (benchlab-*.json) are
    /// replaced [default: results/fargate-plan in the workspace]
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct FargateRunArgs {
    #[command(flatten)]
    pub definitions: TaskDefinitionArgs,

    /// Fargate sizes, comma-separated, as for `plan`
    #[arg(long, value_name = "SIZES", default_value = "0.25", value_parser = parse_fargate_sizes)]
    pub sizes: FargateSizes,

    #[command(flatten)]
    pub ecs: EcsArgs,

    /// How many times each image × size is launched, one after the other in rounds
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=20))]
    pub launches: u32,

    /// How long a task may take from RunTask to its first 200 before it counts as failed
    #[arg(long, value_name = "DURATION", default_value = "5m", value_parser = bench_core::units::parse_duration)]
    pub timeout: Duration,

    /// Probe this address instead of each task's private one: a tunnel, or an emulator whose
    /// tasks run on this machine's loopback
    #[arg(long, value_name = "IP")]
    pub target_host: Option<std::net::IpAddr>,

    /// The results directory [default: results/fargate-<time>-<host> in the workspace]
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

/// `--sizes`, read whole by bench-core's `parse_sizes`, so a size listed twice is refused
/// too.
#[derive(Debug, Clone, PartialEq)]
pub struct FargateSizes(pub Vec<FargateSize>);

fn parse_fargate_sizes(text: &str) -> Result<FargateSizes, String> {
    parse_sizes(text)
        .map(FargateSizes)
        .map_err(|err| err.to_string())
}
