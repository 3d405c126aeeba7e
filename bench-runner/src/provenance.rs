//! Where, when and with what a run happened: read from the machine, the toolchain, git,
//! `Cargo.lock` and the Docker engine (where it is, whether over TLS, and a remote one's
//! machine), so that a result can be reproduced.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::process::Command;

use bench_core::catalog::{Backend, Framework};
use bench_core::plan::{CpuSet, Matrix};
use bench_core::results::{EngineProvenance, Provenance};
use bollard::Docker;
use sha2::{Digest, Sha256};

use crate::workspace::Workspace;

/// The provenance of a run starting now, whose load goes to `target_host` (`None`: to each
/// Fargate task's own address). A fact that cannot be read is recorded as `unknown (<why>)`
/// rather than stopping the run.
pub async fn collect(
    workspace: &Workspace,
    docker: Option<&Docker>,
    matrix: &Matrix,
    target_host: Option<IpAddr>,
) -> Provenance {
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
    let engine = match (docker, crate::docker::engine()) {
        (Some(docker), Ok(engine)) => Some(EngineProvenance {
            address: engine.address.clone(),
            tls: engine.tls.is_some(),
            remote_machine: if engine.is_local() {
                None
            } else {
                Some(match crate::docker::engine_machine(docker).await {
                    Ok(machine) => machine.describe(),
                    Err(err) => unknown(format!("{err:#}")),
                })
            },
        }),
        _ => None,
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
        started: now_rfc3339(),
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
        cgroup: cgroup_version(),
        cpu_topology: cpu_topology(
            (matrix.backend != Backend::Ecs).then_some(&matrix.server_cpus),
            &matrix.generator_cpus,
        ),
        cpu_governor: governor(),
        images: Vec::new(),
        engine,
        target_host: target_host.map(|host| host.to_string()),
        ecs: None,
    }
}

/// `v2 (cgroup2fs)` or `v1 (tmpfs)`: what is mounted at `/sys/fs/cgroup`.
fn cgroup_version() -> String {
    let mounts = std::fs::read_to_string("/proc/self/mounts").unwrap_or_default();
    let fs = mounts.lines().find_map(|line| {
        let mut fields = line.split_whitespace();
        let (_, target, fs) = (fields.next()?, fields.next()?, fields.next()?);
        (target == "/sys/fs/cgroup").then(|| fs.to_owned())
    });
    match fs.as_deref() {
        Some("cgroup2") => "v2 (cgroup2 at /sys/fs/cgroup)".to_owned(),
        Some(fs) => format!("v1 ({fs} at /sys/fs/cgroup)"),
        None => unknown("nothing mounted at /sys/fs/cgroup"),
    }
}

/// The SMT siblings of the server's and the generator's CPUs, and whether they share a
/// core: `server CPU 1 (siblings 1), generator CPU 0 (siblings 0): no core shared`; the
/// generator's alone when the server runs elsewhere (`None`: a Fargate task).
fn cpu_topology(server: Option<&CpuSet>, generator: &CpuSet) -> String {
    let siblings = |cpu: u32| -> Vec<u32> {
        let path = format!("/sys/devices/system/cpu/cpu{cpu}/topology/thread_siblings_list");
        std::fs::read_to_string(path)
            .ok()
            .and_then(|text| text.trim().parse::<CpuSet>().ok())
            .map_or_else(|| vec![cpu], |set| set.ids().to_vec())
    };
    let describe = |set: &CpuSet| -> (String, Vec<u32>) {
        let mut all = Vec::new();
        let parts: Vec<String> = set
            .ids()
            .iter()
            .map(|&cpu| {
                let s = siblings(cpu);
                let list: Vec<String> = s.iter().map(u32::to_string).collect();
                all.extend(s);
                format!("{cpu} (siblings {})", list.join(","))
            })
            .collect();
        (parts.join(", "), all)
    };
    let (generator_text, generator_cores) = describe(generator);
    let Some(server) = server else {
        return format!("generator CPU {generator_text}; the server is a Fargate task");
    };
    let (server_text, server_cores) = describe(server);
    let shared = server_cores.iter().any(|c| generator_cores.contains(c));
    format!(
        "server CPU {server_text}, generator CPU {generator_text}: {}",
        if shared {
            "SMT siblings of one core, sharing it"
        } else {
            "no core shared"
        }
    )
}

/// The CPU frequency governor of CPU 0, or why there is none.
fn governor() -> String {
    std::fs::read_to_string("/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor")
        .map(|text| text.trim().to_owned())
        .unwrap_or_else(|_| "none (no cpufreq: the frequency is the host's to set)".to_owned())
}

/// `steal` and the total of the `cpu` line of `/proc/stat`, in clock ticks.
pub fn steal_ticks() -> Option<(u64, u64)> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let line = stat.lines().find(|line| line.starts_with("cpu "))?;
    let values: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|v| v.parse().ok())
        .collect();
    // user nice system idle iowait irq softirq steal guest guest_nice; guests are in user.
    let steal = *values.get(7)?;
    let total = values.iter().take(8).sum();
    Some((steal, total))
}

/// Steal between two [`steal_ticks`] readings, in percent of all CPU time.
pub fn steal_percent(start: (u64, u64), end: (u64, u64)) -> Option<f64> {
    let total = end.1.checked_sub(start.1)?;
    (total > 0).then(|| end.0.saturating_sub(start.0) as f64 / total as f64 * 100.0)
}

/// The facts `--resume` checks against the run it completes: what would make the binaries
/// or images differ, and where the services run and the load goes (an engine or target host
/// recorded by the run). Each difference in words (`git commit 1a2b3c4d5e6f → 7a8b9c0d1e2f`).
pub fn differences(recorded: &Provenance, now: &Provenance) -> Vec<String> {
    let short = |s: &str| s.get(..12).unwrap_or(s).to_owned();
    let facts = [
        ("git commit", &recorded.git_commit, &now.git_commit, true),
        (
            "uncommitted changes",
            &recorded.git_dirty.to_string(),
            &now.git_dirty.to_string(),
            false,
        ),
        (
            "Cargo.lock",
            &recorded.cargo_lock_sha256,
            &now.cargo_lock_sha256,
            true,
        ),
        ("toolchain", &recorded.rustc, &now.rustc, false),
    ];
    let mut differences: Vec<String> = facts
        .into_iter()
        .filter(|(_, then, now, _)| then != now)
        .map(|(name, then, now, digest)| {
            let show = |value: &String| if digest { short(value) } else { value.clone() };
            format!("{name} {} → {}", show(then), show(now))
        })
        .collect();
    let address = |p: &Provenance| p.engine.as_ref().map(|e| e.address.clone());
    let places = [
        ("engine", address(recorded), address(now)),
        (
            "target host",
            recorded.target_host.clone(),
            now.target_host.clone(),
        ),
    ];
    for (name, then, now) in places {
        if let (Some(then), Some(now)) = (then, now)
            && then != now
        {
            differences.push(format!("{name} {then} → {now}"));
        }
    }
    differences
}

/// Now, in RFC 3339.
pub fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(unknown)
}

/// The commit of `workspace`'s checkout, with ` (uncommitted changes)` when tracked files
/// differ from it.
pub fn git_commit(workspace: &Workspace) -> String {
    let commit = command_output("git", &["rev-parse", "HEAD"], workspace);
    let dirty = !command_output(
        "git",
        &["status", "--porcelain", "--untracked-files=no"],
        workspace,
    )
    .is_empty();
    if dirty {
        format!("{commit} (uncommitted changes)")
    } else {
        commit
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resume_names_what_differs() {
        let recorded = Provenance {
            git_commit: "1a2b3c4d5e6f7a8b9c0d".to_owned(),
            cargo_lock_sha256: "ffff".to_owned(),
            rustc: "rustc 1.95.0".to_owned(),
            ..Provenance::default()
        };
        assert!(differences(&recorded, &recorded).is_empty());
        let now = Provenance {
            git_commit: "9999999999999999".to_owned(),
            git_dirty: true,
            ..recorded.clone()
        };
        assert_eq!(
            differences(&recorded, &now),
            [
                "git commit 1a2b3c4d5e6f → 999999999999",
                "uncommitted changes false → true"
            ]
        );
    }

    #[test]
    fn resume_names_another_engine_or_target_host_but_not_an_unrecorded_one() {
        let engine = |address: &str| EngineProvenance {
            address: address.to_owned(),
            tls: true,
            remote_machine: Some("server: 4 CPUs".to_owned()),
        };
        let recorded = Provenance {
            engine: Some(engine("tcp://10.0.0.5:2376")),
            target_host: Some("10.0.0.5".to_owned()),
            ..Provenance::default()
        };
        let now = Provenance {
            engine: Some(engine("tcp://10.0.0.6:2376")),
            target_host: Some("10.0.0.6".to_owned()),
            ..Provenance::default()
        };
        assert_eq!(
            differences(&recorded, &now),
            [
                "engine tcp://10.0.0.5:2376 → tcp://10.0.0.6:2376",
                "target host 10.0.0.5 → 10.0.0.6"
            ]
        );
        // A run recorded before the fields existed loaded 127.0.0.1 from a local engine.
        assert!(differences(&Provenance::default(), &recorded).is_empty());
    }

    #[test]
    fn steal_is_a_share_of_all_cpu_time() {
        assert_eq!(steal_percent((10, 1000), (20, 2000)), Some(1.0));
        assert_eq!(steal_percent((10, 1000), (10, 1000)), None);
        let (steal, total) = steal_ticks().expect("/proc/stat has a cpu line");
        assert!(steal <= total);
    }
}
