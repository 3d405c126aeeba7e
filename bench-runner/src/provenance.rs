//! Where, when and with what a run happened: read from the machine, the toolchain, git,
//! `Cargo.lock` and the Docker engine, so that a result can be reproduced.

use std::collections::BTreeMap;
use std::process::Command;

use bench_core::catalog::Framework;
use bench_core::results::Provenance;
use bollard::Docker;
use sha2::{Digest, Sha256};

use crate::workspace::Workspace;

/// The provenance of a run starting now. A fact that cannot be read is recorded as
/// `unknown (<why>)` rather than stopping the run.
pub async fn collect(workspace: &Workspace, docker: Option<&Docker>) -> Provenance {
    let lock = std::fs::read_to_string(workspace.root.join("Cargo.lock")).unwrap_or_default();
    let docker_version = match docker {
        Some(docker) => Some(match docker.version().await {
            Ok(version) => format!(
                "{} (API {})",
                version.version.unwrap_or_default(),
                version.api_version.unwrap_or_default()
            ),
            Err(err) => unknown(err),
        }),
        None => None,
    };
    let framework_versions: BTreeMap<Framework, String> = Framework::ALL
        .iter()
        .map(|&framework| {
            let version =
                svc_build::dependency_version(&lock, framework.package(), framework.name())
                    .unwrap_or_else(unknown);
            (framework, version)
        })
        .collect();
    let git = |args: &[&str]| command_output("git", args, workspace);
    Provenance {
        started: time::OffsetDateTime::now_utc()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_else(unknown),
        host: hostname(),
        cpu_model: cpu_model(),
        cores: std::thread::available_parallelism().map_or(0, |n| n.get() as u32),
        kernel: read_trimmed("/proc/sys/kernel/osrelease"),
        docker_version,
        rustc: command_output("rustc", &["--version"], workspace),
        oha_version: svc_build::locked_version(&lock, "oha").unwrap_or_else(unknown),
        framework_versions,
        git_commit: git(&["rev-parse", "HEAD"]),
        git_dirty: !git(&["status", "--porcelain", "--untracked-files=no"]).is_empty(),
        cargo_lock_sha256: hex::encode(Sha256::digest(lock.as_bytes())),
        images: Vec::new(),
    }
}

/// The machine's host name.
pub fn hostname() -> String {
    read_trimmed("/proc/sys/kernel/hostname")
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find_map(|line| line.strip_prefix("model name")?.split_once(':'))
                .map(|(_, model)| model.trim().to_owned())
        })
        .unwrap_or_else(|| unknown("no model name in /proc/cpuinfo"))
}

fn read_trimmed(path: &str) -> String {
    std::fs::read_to_string(path)
        .map(|text| text.trim().to_owned())
        .unwrap_or_else(|err| unknown(format!("{path}: {err}")))
}

fn command_output(program: &str, args: &[&str], workspace: &Workspace) -> String {
    match Command::new(program)
        .args(args)
        .current_dir(&workspace.root)
        .output()
    {
        Ok(output) if output.status.success() => {
            String::from_utf8_lossy(&output.stdout).trim().to_owned()
        }
        Ok(output) => unknown(String::from_utf8_lossy(&output.stderr).trim()),
        Err(err) => unknown(format!("{program}: {err}")),
    }
}

fn unknown(why: impl std::fmt::Display) -> String {
    format!("unknown ({why})")
}
