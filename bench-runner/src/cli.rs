//! The command line as typed: clap derive structs that mirror the flags and only parse. The
//! plans in [`crate::lab`] are made from them.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::catalog::{Base, Framework};

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

    /// Directory for images.md and images.json [default: results/images in the workspace].
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,

    #[command(flatten)]
    pub pull: PullArgs,
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
