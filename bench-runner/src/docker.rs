//! The connection to the Docker engine: where it is (`DOCKER_HOST` or the local socket), the
//! API version both sides speak, a clear message when no engine answers, and a guard that
//! removes a container whatever happens.

use std::time::Duration;

use anyhow::{Context, Result, anyhow};
use bollard::Docker;
use bollard::query_parameters::{ListContainersOptionsBuilder, RemoveContainerOptionsBuilder};

/// How long an engine may take to answer the first request before benchlab says none answers.
const PING_TIMEOUT: Duration = Duration::from_secs(10);

/// What to do when no engine answers, said in every such error.
pub const HOW_TO_START: &str =
    "start one with `sudo dockerd &` or run scripts/ensure-docker.sh (it installs and starts one)";

/// The engine address benchlab talks to: `DOCKER_HOST` when set, else the local socket.
pub fn engine_address() -> String {
    std::env::var("DOCKER_HOST").unwrap_or_else(|_| "unix:///var/run/docker.sock".to_owned())
}

/// Connects to the engine at [`engine_address`] and negotiates the API version down to what
/// it speaks (Debian's engine 20.10 speaks 1.41).
///
/// # Errors
/// When the address is not one bollard understands, or no engine answers within 10 s; the
/// message says how to start one.
pub async fn connect() -> Result<Docker> {
    let address = engine_address();
    let docker = Docker::connect_with_defaults()
        .with_context(|| format!("could not use the Docker address '{address}'"))?;
    let no_engine = |err: &dyn std::fmt::Display| {
        anyhow!("no Docker engine answers at {address}: {err}; {HOW_TO_START}")
    };
    match tokio::time::timeout(PING_TIMEOUT, docker.ping()).await {
        Ok(Ok(_)) => {}
        Ok(Err(err)) => return Err(no_engine(&err)),
        Err(_) => return Err(no_engine(&format!("no answer within {PING_TIMEOUT:?}"))),
    }
    docker.negotiate_version().await.with_context(|| {
        format!("could not negotiate the API version with the engine at {address}")
    })
}

/// Removes its container (and its anonymous volumes) when dropped, so a container never
/// outlives the code that started it, even when that code panics or returns early.
///
/// Prefer [`ContainerGuard::remove`], which reports errors; the drop path is the fallback.
/// It removes the container from a thread with its own runtime and connection, because drop
/// cannot await and the caller's runtime may be the one that is blocked.
#[derive(Debug)]
pub struct ContainerGuard {
    docker: Docker,
    id: String,
    armed: bool,
}

impl ContainerGuard {
    /// Guards the container `id`, which must already exist.
    pub fn new(docker: Docker, id: String) -> Self {
        Self {
            docker,
            id,
            armed: true,
        }
    }

    /// The id of the guarded container.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Removes the container now, stopping it if it still runs.
    ///
    /// # Errors
    /// When the engine refuses or cannot be reached.
    pub async fn remove(mut self) -> Result<()> {
        self.armed = false;
        remove_container(&self.docker, &self.id).await
    }
}

impl Drop for ContainerGuard {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        let id = std::mem::take(&mut self.id);
        let removal = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            runtime.block_on(async {
                let docker = connect().await?;
                remove_container(&docker, &id).await
            })
        });
        match removal.join() {
            Ok(Ok(())) => {}
            Ok(Err(err)) => eprintln!("warning: {err:#}; remove it with `docker rm -f`"),
            Err(_) => eprintln!("warning: the thread removing a container panicked"),
        }
    }
}

/// Removes every container that carries `label` (`key`, or `key=value`), running or not,
/// and returns how many there were.
///
/// # Errors
/// When the engine cannot list them or refuses to remove one.
pub async fn remove_labelled(docker: &Docker, label: &str) -> Result<usize> {
    let filters = std::collections::HashMap::from([("label", vec![label.to_owned()])]);
    let options = ListContainersOptionsBuilder::new()
        .all(true)
        .filters(&filters)
        .build();
    let containers = docker
        .list_containers(Some(options))
        .await
        .with_context(|| format!("could not list the containers labelled {label}"))?;
    let ids: Vec<String> = containers.into_iter().filter_map(|c| c.id).collect();
    for id in &ids {
        remove_container(docker, id).await?;
    }
    Ok(ids.len())
}

/// Removes container `id`, stopping it first if it runs; a container already gone is fine.
async fn remove_container(docker: &Docker, id: &str) -> Result<()> {
    let options = RemoveContainerOptionsBuilder::new()
        .force(true)
        .v(true)
        .build();
    match docker.remove_container(id, Some(options)).await {
        Err(err) if !is_not_found(&err) => {
            Err(err).with_context(|| format!("could not remove container {id}"))
        }
        _ => Ok(()),
    }
}

/// Whether `err` is the engine saying that what was asked for does not exist.
pub fn is_not_found(err: &bollard::errors::Error) -> bool {
    matches!(
        err,
        bollard::errors::Error::DockerResponseServerError {
            status_code: 404,
            ..
        }
    )
}
