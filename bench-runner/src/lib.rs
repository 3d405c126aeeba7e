//! benchlab's runner as a library: the image lab (base images, framework × base images, the
//! image table) and the pieces later commands reuse (catalog, Docker connection, exporters).
//!
//! `main` only parses the command line and calls [`run`].

pub mod bases;
pub mod binaries;
pub mod catalog;
pub mod cli;
pub mod docker;
pub mod export;
pub mod images;
pub mod lab;
pub mod measure;
pub mod progress;
pub mod results;
pub mod rootfs;
pub mod service;
pub mod workspace;

use std::process::ExitCode;

use anyhow::{Context, Result};

use crate::cli::{Cli, Command};
use crate::lab::{BasesPlan, ImagesPlan};

/// Runs the parsed command line to its exit code.
///
/// # Errors
/// When the command fails as a whole; failures of single images are reported by the command
/// and only set the exit code.
pub fn run(cli: Cli) -> Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("could not start the async runtime")?;
    runtime.block_on(async {
        match cli.command {
            Command::Bases(args) => lab::bases_command(&BasesPlan::new(&args)).await,
            Command::Images(args) => lab::images_command(&ImagesPlan::new(&args)).await,
        }
    })
}
