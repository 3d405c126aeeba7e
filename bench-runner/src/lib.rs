//! benchlab's runner as a library: the image lab (base images, framework × base images, the
//! image table), the main job, `run`, which loads every service with oha under CPU and
//! memory limits, and `report`, which reads finished runs (`report`, `compare`). What it measures and
//! exports is defined IO-free in `bench-core`.
//!
//! `main` only parses the command line and calls [`run`].

pub mod artifacts;
pub mod aws;
pub mod bases;
pub mod binaries;
pub mod browser;
pub mod cli;
pub mod cloud;
pub mod deploy;
pub mod docker;
pub mod images;
pub mod lab;
pub mod loadgen;
pub mod measure;
pub mod output;
pub mod progress;
pub mod provenance;
pub mod proxy;
pub mod recorder;
pub mod registry;
pub mod report;
pub mod rootfs;
pub mod run;
pub mod server;
pub mod workspace;
pub mod wrk;

use std::process::ExitCode;

use anyhow::{Context, Result};

use bench_core::plan::Matrix;

use crate::cli::{Cli, Command};
use crate::lab::{BasesPlan, ImagesPlan};
use crate::run::RunPlan;
use crate::workspace::Workspace;

/// Runs the parsed command line to its exit code.
///
/// # Errors
/// When the command fails as a whole; failures of single images are reported by the command
/// and only set the exit code.
pub fn run(cli: Cli) -> Result<ExitCode> {
    if let Command::Oha(args) = cli.command {
        // The load generator's child process: a runtime of oha's own, pinned first.
        loadgen::child_main(&args.cpus, args.args)?;
        return Ok(ExitCode::SUCCESS);
    }
    // Every TLS client here (the engine's, the registry's, oha's) uses rustls with the
    // process's default provider: aws-lc-rs, set before any client is built, so that a
    // dependency enabling a second provider cannot leave rustls without a default.
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    // The engine is chosen once, so every module and every guard's removal use the same one.
    if let Some(engine) = cli.command.engine() {
        docker::select(docker::Engine::from_env(engine.docker_host.as_deref())?)?;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("could not start the async runtime")?;
    runtime.block_on(async {
        match cli.command {
            Command::Bases(args) => lab::bases_command(&BasesPlan::new(&args)).await,
            Command::Images(args) => lab::images_command(&ImagesPlan::new(&args)).await,
            Command::Run(args) => {
                let workspace = Workspace::locate()?;
                let plan = RunPlan::new(&args, &workspace, Matrix::default())?;
                run::run_command(plan, &workspace).await
            }
            Command::CrossCheck(args) => {
                let workspace = Workspace::locate()?;
                let plan = RunPlan::new(&args, &workspace, Matrix::cross_check())?;
                run::run_command(plan, &workspace).await
            }
            Command::Deploy(args) => {
                let workspace = Workspace::locate()?;
                let plan = deploy::DeployPlan::new(&args, &workspace)?;
                deploy::deploy_command(plan, &workspace).await
            }
            Command::Push(args) => {
                cloud::push::push_command(&cloud::push::PushPlan::new(&args)?).await
            }
            Command::Fargate(args) => cloud::fargate::fargate_command(&args).await,
            Command::Compare(args) => report::compare_command(&args),
            Command::Report(args) => report::report_command(&args),
            Command::Oha(_) => unreachable!("handled before the runtime starts"),
        }
    })
}
