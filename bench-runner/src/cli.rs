//! The command line as typed: clap derive structs that mirror the flags and only parse. The
//! plans in [`crate::lab`] are made from them.

use std::path::PathBuf;

use std::time::Duration;

use bench_core::plan::{CpuSet, Endpoint, QuotaSpec};
use bench_core::units::parse_duration;
use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::catalog::{Base, Framework, REPOSITORY};

/// Builds benchlab's images and measures its services.
#[derive(Debug, Parser)]
#[command(name = "bench-runner", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Makes the base images present: uses one that is present, pulls one a registry serves,
    /// else builds an equivalent from Debian packages (mmdebstrap, as root).
    Bases(BasesArgs),
    /// Builds the framework × base images (`benchlab/<framework>:<base>`) and writes the image
    /// table to results/images/.
    Images(ImagesArgs),
    /// Measures every framework × base × CPU quota × endpoint × connection count with oha and
    /// writes results.json, results.md and results.csv under results/<timestamp>-<host>/.
    ///
    /// Settings come from the default matrix (or --quick), then --config, then the flags.
    Run(Box<RunArgs>),
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

    /// Directory for images.md and images.json [default: results/images in the workspace].
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,

    #[command(flatten)]
    pub pull: PullArgs,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// A TOML matrix file (keys as the flags: frameworks, cpus, connections, ...); flags
    /// override it.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Start from the one-minute smoke matrix instead of the default one.
    #[arg(long)]
    pub quick: bool,

    /// Where services run [default: docker, or process when no engine answers].
    #[arg(long, value_enum)]
    pub backend: Option<BackendArg>,

    /// Frameworks, comma-separated.
    #[arg(long, value_enum, value_delimiter = ',')]
    pub frameworks: Vec<Framework>,

    /// Bases, comma-separated.
    #[arg(long, value_enum, value_delimiter = ',')]
    pub bases: Vec<Base>,

    /// CPU quotas in vCPUs, each with an optional memory limit in MiB: 0.5,1:4096.
    #[arg(long, value_delimiter = ',', value_name = "VCPUS[:MIB]")]
    pub cpus: Vec<QuotaSpec>,

    /// Connection counts, comma-separated.
    #[arg(long, value_delimiter = ',', value_name = "N")]
    pub connections: Vec<u32>,

    /// Endpoints: /hello or /sleep/<ms>, comma-separated.
    #[arg(long, value_delimiter = ',', value_name = "PATH")]
    pub endpoints: Vec<Endpoint>,

    /// Warm-up load before the measured repetitions (e.g. 3s).
    #[arg(long, value_parser = parse_duration, value_name = "DURATION")]
    pub warmup: Option<Duration>,

    /// Length of one measured repetition (e.g. 10s).
    #[arg(long, value_parser = parse_duration, value_name = "DURATION")]
    pub duration: Option<Duration>,

    /// Measured repetitions per cell.
    #[arg(long, value_name = "N")]
    pub repetitions: Option<u32>,

    /// Cold starts per image (and per bare binary) in the startup phase; 0 skips it.
    #[arg(long, value_name = "N")]
    pub startup_runs: Option<u32>,

    /// CPUs the services run on, as a cpuset list.
    #[arg(long, value_name = "CPUS")]
    pub server_cpus: Option<CpuSet>,

    /// CPUs the load generator runs on, as a cpuset list, disjoint from --server-cpus.
    #[arg(long, value_name = "CPUS")]
    pub generator_cpus: Option<CpuSet>,

    /// How long a service may take to answer /hello after it starts.
    #[arg(long, value_parser = parse_duration, value_name = "DURATION")]
    pub ready_timeout: Option<Duration>,

    /// The services' shutdown grace period; a stop that takes longer ends in SIGKILL.
    #[arg(long, value_parser = parse_duration, value_name = "DURATION")]
    pub stop_timeout: Option<Duration>,

    /// Complete the interrupted run in DIR (its recorded matrix is used).
    #[arg(long, value_name = "DIR", conflicts_with_all = ["config", "quick", "out"])]
    pub resume: Option<PathBuf>,

    /// The results directory [default: results/<timestamp>-<host> in the workspace].
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,

    /// The repository the images are built in and run from: <REPOSITORY>/<framework>:<base>.
    #[arg(long, value_name = "REPOSITORY", default_value = REPOSITORY)]
    pub repository: String,
}

/// `--backend`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum BackendArg {
    /// Containers with CPU quota and memory limit, from the benchlab images.
    Docker,
    /// The static binaries as local processes pinned to --server-cpus.
    Process,
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
        let cli = Cli::try_parse_from([
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
    fn a_bad_name_lists_the_valid_ones() {
        let err = Cli::try_parse_from(["bench-runner", "images", "--frameworks", "flask"])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("invalid value 'flask' for '--frameworks"),
            "{err}"
        );
        assert!(
            err.contains("[possible values: axum, actix-web, rocket, hyper]"),
            "{err}"
        );
        let err = Cli::try_parse_from(["bench-runner", "bases", "--bases", "alpine"])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("[possible values: scratch, distroless, debian]"),
            "{err}"
        );
    }
}
