//! Runs a service image the way benchlab measures it: one container on the host network, bound
//! to 127.0.0.1 on a port the service picks, its address read from its startup line, removed by
//! a guard.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use bollard::Docker;
use bollard::models::{ContainerCreateBody, HostConfig};
use bollard::query_parameters::{LogsOptionsBuilder, StopContainerOptionsBuilder};
use futures_util::StreamExt;

use crate::docker::ContainerGuard;

/// How long a service may take from start to its startup line.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(30);

/// A started service container.
#[derive(Debug)]
pub struct Service {
    /// Removes the container when dropped.
    pub container: ContainerGuard,
    /// Where it listens (on 127.0.0.1).
    pub addr: SocketAddr,
    /// The line it printed once bound.
    pub startup_line: String,
}

/// Starts `image` with host networking, `BIND_ADDR=127.0.0.1` and `PORT=0` (the service picks a
/// free port and prints it), plus `env` (`KEY=value`) and `labels`, and waits for its startup
/// line.
///
/// # Errors
/// When the container cannot be created or started, or the service exits or stays silent
/// instead of printing its startup line; the error carries what it printed.
pub async fn start(
    docker: &Docker,
    image: &str,
    env: &[String],
    labels: HashMap<String, String>,
) -> Result<Service> {
    let mut all_env = vec!["BIND_ADDR=127.0.0.1".to_owned(), "PORT=0".to_owned()];
    all_env.extend_from_slice(env);
    let body = ContainerCreateBody {
        image: Some(image.to_owned()),
        env: Some(all_env),
        labels: Some(labels),
        host_config: Some(HostConfig {
            network_mode: Some("host".to_owned()),
            ..Default::default()
        }),
        ..Default::default()
    };
    let created = docker
        .create_container(None, body)
        .await
        .with_context(|| format!("could not create a container of '{image}'"))?;
    let container = ContainerGuard::new(docker.clone(), created.id);
    docker
        .start_container(container.id(), None)
        .await
        .with_context(|| format!("could not start the container of '{image}'"))?;
    let startup_line = tokio::time::timeout(STARTUP_TIMEOUT, startup_line(docker, container.id()))
        .await
        .map_err(|_| {
            anyhow!(
                "'{image}' printed no startup line within {} s",
                STARTUP_TIMEOUT.as_secs()
            )
        })??;
    let addr = listening_addr(&startup_line).with_context(|| {
        format!("the startup line of '{image}' names no address: {startup_line:?}")
    })?;
    Ok(Service {
        container,
        addr,
        startup_line,
    })
}

/// Stops the container `id` as the engine does (its stop signal, then SIGKILL after `grace`)
/// and returns the exit code of its process.
///
/// # Errors
/// When the engine fails to stop or inspect it.
pub async fn stop(docker: &Docker, id: &str, grace: Duration) -> Result<i64> {
    let seconds = i32::try_from(grace.as_secs()).unwrap_or(i32::MAX);
    let options = StopContainerOptionsBuilder::new().t(seconds).build();
    docker
        .stop_container(id, Some(options))
        .await
        .with_context(|| format!("could not stop container {id}"))?;
    let state = docker
        .inspect_container(id, None)
        .await
        .with_context(|| format!("could not inspect container {id}"))?
        .state
        .unwrap_or_default();
    state
        .exit_code
        .with_context(|| format!("container {id} reports no exit code"))
}

/// Follows the output of container `id` up to the first line that names where it listens.
async fn startup_line(docker: &Docker, id: &str) -> Result<String> {
    let options = LogsOptionsBuilder::new()
        .follow(true)
        .stdout(true)
        .stderr(true)
        .build();
    let mut logs = docker.logs(id, Some(options));
    let mut output = String::new();
    while let Some(chunk) = logs.next().await {
        let chunk =
            chunk.with_context(|| format!("could not read the output of container {id}"))?;
        output.push_str(&chunk.to_string());
        if let Some(line) = output.lines().find(|line| listening_addr(line).is_some()) {
            return Ok(line.to_owned());
        }
    }
    bail!("the service exited before its startup line; it printed: {output:?}")
}

/// The address in a startup line such as
/// `svc-axum: axum 0.8.9 listening on 127.0.0.1:43512 (workers: 2)`.
pub fn listening_addr(line: &str) -> Option<SocketAddr> {
    let (_, rest) = line.split_once(" listening on ")?;
    rest.split_whitespace().next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn address_comes_from_the_startup_line() {
        let line = "svc-axum: axum 0.8.9 listening on 127.0.0.1:43512 (workers: 2)";
        assert_eq!(
            listening_addr(line),
            Some("127.0.0.1:43512".parse().unwrap())
        );
        let line = "svc-actix-web: actix-web 4.9.0 listening on 127.0.0.1:8080";
        assert_eq!(
            listening_addr(line),
            Some("127.0.0.1:8080".parse().unwrap())
        );
        assert_eq!(
            listening_addr("svc-rocket: could not bind 127.0.0.1:80"),
            None
        );
        assert_eq!(listening_addr("listening on nowhere"), None);
    }
}
