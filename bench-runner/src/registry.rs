//! A real registry on loopback: Debian's `docker-registry` (distribution 2.8, the reference
//! implementation of the OCI distribution API) run as a child process, from a config written
//! in a temporary directory, with htpasswd (bcrypt) basic auth, the scheme ECR uses, and a
//! password of its own. `scripts/ensure-registry.sh` installs it.
//!
//! The engine pushes to it over plain HTTP: Docker treats registries on 127.0.0.0/8 as
//! insecure by default, so no certificate is needed on loopback.

use std::io::Read as _;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use tempfile::TempDir;
use tokio::process::{Child, Command};

use crate::server::free_port;

/// Where Debian's registry is; `scripts/ensure-registry.sh` installs it.
pub const REGISTRY: &str = "/usr/bin/docker-registry";

/// Where apache2-utils' htpasswd is: it writes the bcrypt password file the registry reads.
pub const HTPASSWD: &str = "/usr/bin/htpasswd";

/// The user every local registry knows.
pub const USERNAME: &str = "benchlab";

/// How long the registry may take to listen, and to stop after SIGTERM.
const REGISTRY_WAIT: Duration = Duration::from_secs(10);

/// A running registry on 127.0.0.1, removed with its storage when dropped.
#[derive(Debug)]
pub struct LocalRegistry {
    child: Option<Child>,
    addr: SocketAddr,
    password: String,
    dir: TempDir,
}

impl LocalRegistry {
    /// Starts a registry on a free loopback port with an empty storage and a fresh password,
    /// and waits until it accepts connections.
    ///
    /// # Errors
    /// When the registry or htpasswd is missing (the message says how to install them), or
    /// the registry exits or does not listen within 10 s (the message carries its log).
    pub async fn start() -> Result<LocalRegistry> {
        LocalRegistry::start_as(USERNAME, &random_hex(16)?).await
    }

    /// [`LocalRegistry::start`] with the one user and password given: a registry that takes
    /// the login another service hands out (ECR's, from an emulator).
    ///
    /// # Errors
    /// Those of [`LocalRegistry::start`].
    pub async fn start_as(username: &str, password: &str) -> Result<LocalRegistry> {
        for (tool, package) in [(REGISTRY, "docker-registry"), (HTPASSWD, "apache2-utils")] {
            if !Path::new(tool).exists() {
                bail!("{tool} is missing: run scripts/ensure-registry.sh (Debian's {package})");
            }
        }
        let dir = tempfile::Builder::new()
            .prefix("benchlab-registry-")
            .tempdir()
            .context("could not make a directory for the registry")?;
        let htpasswd = Command::new(HTPASSWD)
            .args(["-B", "-b", "-n", username, password])
            .stdin(Stdio::null())
            .output()
            .await
            .with_context(|| format!("could not run {HTPASSWD}"))?;
        if !htpasswd.status.success() {
            bail!(
                "{HTPASSWD} failed ({}): {}",
                htpasswd.status,
                String::from_utf8_lossy(&htpasswd.stderr).trim()
            );
        }
        std::fs::write(dir.path().join("htpasswd"), &htpasswd.stdout)
            .context("could not write the registry's htpasswd file")?;
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, free_port()?));
        std::fs::write(
            config_path(dir.path()),
            render_config(dir.path(), addr, &random_hex(16)?),
        )
        .context("could not write the registry's config")?;
        let log = std::fs::File::create(log_path(dir.path()))
            .context("could not create the registry's log")?;
        let mut child = Command::new(REGISTRY)
            .arg("serve")
            .arg(config_path(dir.path()))
            .stdin(Stdio::null())
            .stdout(
                log.try_clone()
                    .context("could not share the registry's log")?,
            )
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("could not start {REGISTRY}"))?;
        let started = Instant::now();
        loop {
            if tokio::net::TcpStream::connect(addr).await.is_ok() {
                break;
            }
            if let Some(status) = child
                .try_wait()
                .context("could not check on the registry")?
            {
                bail!(
                    "{REGISTRY} exited ({status}) before listening on {addr}: {}",
                    read_log(dir.path())
                );
            }
            if started.elapsed() > REGISTRY_WAIT {
                bail!(
                    "{REGISTRY} did not listen on {addr} within {REGISTRY_WAIT:?}: {}",
                    read_log(dir.path())
                );
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        Ok(LocalRegistry {
            child: Some(child),
            addr,
            password: password.to_owned(),
            dir,
        })
    }

    /// `127.0.0.1:<port>`: the registry part of an image reference.
    pub fn host(&self) -> String {
        self.addr.to_string()
    }

    /// The password of [`USERNAME`].
    pub fn password(&self) -> &str {
        &self.password
    }

    /// The bytes of every blob the registry stores (layers, configs and manifests, each once
    /// by digest). What a push sent is the difference of two readings.
    pub fn blob_bytes(&self) -> Result<u64> {
        dir_bytes(&self.dir.path().join("storage/docker/registry/v2/blobs"))
    }

    /// Stops the registry: SIGTERM, then SIGKILL after 10 s. Its storage is removed when
    /// `self` is dropped.
    pub async fn stop(mut self) -> Result<()> {
        let Some(mut child) = self.child.take() else {
            return Ok(());
        };
        if let Some(pid) = child.id() {
            let _ = kill(Pid::from_raw(pid as i32), Signal::SIGTERM);
        }
        if tokio::time::timeout(REGISTRY_WAIT, child.wait())
            .await
            .is_err()
        {
            let _ = child.start_kill();
            let _ = child.wait().await;
            bail!("{REGISTRY} did not stop within {REGISTRY_WAIT:?} of SIGTERM; it was killed");
        }
        Ok(())
    }
}

impl Drop for LocalRegistry {
    fn drop(&mut self) {
        // `kill_on_drop` sends SIGKILL; the registry keeps nothing worth a graceful stop.
        if let Some(mut child) = self.child.take() {
            let _ = child.start_kill();
        }
    }
}

fn config_path(dir: &Path) -> PathBuf {
    dir.join("config.yml")
}

fn log_path(dir: &Path) -> PathBuf {
    dir.join("registry.log")
}

/// The registry's config: loopback only, filesystem storage in `dir`, htpasswd auth, no
/// access log (warnings and errors only).
fn render_config(dir: &Path, addr: SocketAddr, secret: &str) -> String {
    format!(
        "version: 0.1\n\
         log:\n  level: warn\n  accesslog:\n    disabled: true\n\
         storage:\n  filesystem:\n    rootdirectory: {storage}\n  delete:\n    enabled: true\n\
         http:\n  addr: {addr}\n  secret: {secret}\n\
         auth:\n  htpasswd:\n    realm: benchlab\n    path: {htpasswd}\n",
        storage = dir.join("storage").display(),
        htpasswd = dir.join("htpasswd").display(),
    )
}

/// The last lines of the registry's log, for an error message.
fn read_log(dir: &Path) -> String {
    let log = std::fs::read_to_string(log_path(dir)).unwrap_or_default();
    let lines: Vec<&str> = log.lines().collect();
    lines[lines.len().saturating_sub(10)..].join("\n")
}

/// `bytes` random bytes from the kernel, in hex.
fn random_hex(bytes: usize) -> Result<String> {
    let mut buffer = vec![0; bytes];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut random| random.read_exact(&mut buffer))
        .context("could not read /dev/urandom")?;
    Ok(hex::encode(buffer))
}

/// The size of every file under `dir` (0 when it does not exist yet).
fn dir_bytes(dir: &Path) -> Result<u64> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(err) => return Err(err).with_context(|| format!("could not read '{}'", dir.display())),
    };
    let mut total = 0;
    for entry in entries {
        let entry = entry.with_context(|| format!("could not read '{}'", dir.display()))?;
        let kind = entry.file_type()?;
        if kind.is_dir() {
            total += dir_bytes(&entry.path())?;
        } else if kind.is_file() {
            total += entry.metadata()?.len();
        }
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_binds_loopback_and_turns_auth_on() {
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, 5123));
        let config = render_config(Path::new("/tmp/r"), addr, "s3cret");
        assert!(config.contains("  addr: 127.0.0.1:5123\n"), "{config}");
        assert!(config.contains("rootdirectory: /tmp/r/storage\n"));
        assert!(config.contains("htpasswd:\n    realm: benchlab\n    path: /tmp/r/htpasswd\n"));
        assert!(config.contains("secret: s3cret\n"));
    }

    #[test]
    fn stored_bytes_add_up_nested_files() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(dir_bytes(&dir.path().join("missing")).unwrap(), 0);
        std::fs::create_dir_all(dir.path().join("a/b")).unwrap();
        std::fs::write(dir.path().join("a/one"), [0; 10]).unwrap();
        std::fs::write(dir.path().join("a/b/two"), [0; 32]).unwrap();
        assert_eq!(dir_bytes(dir.path()).unwrap(), 42);
    }
}
