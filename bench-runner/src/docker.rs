//! The connection to the Docker engine, chosen once per process the way the Docker CLI
//! chooses one: `--docker-host`, else `DOCKER_HOST`, else the local socket, over TLS with
//! client certificates when `DOCKER_TLS_VERIFY` is set. Also the API version both sides speak,
//! a clear message when no engine answers, and a guard that removes a container whatever
//! happens.

use std::ffi::OsString;
use std::fmt;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::{Once, OnceLock};
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use bollard::Docker;
use bollard::query_parameters::{ListContainersOptionsBuilder, RemoveContainerOptionsBuilder};

/// How long an engine may take to answer the first request before benchlab says none answers.
const PING_TIMEOUT: Duration = Duration::from_secs(10);

/// How long any one request to the engine may take, in seconds (bollard's default): image
/// builds and exports stream for longer than a ping.
const REQUEST_TIMEOUT_SECS: u64 = 120;

/// The local engine's socket: the address when neither `--docker-host` nor `DOCKER_HOST`
/// names one.
pub const LOCAL_SOCKET: &str = "unix:///var/run/docker.sock";

/// What to do when no engine answers, said in every such error about a local engine.
pub const HOW_TO_START: &str =
    "start one with `sudo dockerd &` or run scripts/ensure-docker.sh (it installs and starts one)";

/// The files of a TLS client, in the directory `DOCKER_CERT_PATH` names, as the Docker CLI
/// names them.
const TLS_FILES: [&str; 3] = ["ca.pem", "cert.pem", "key.pem"];

/// Where the engine's address came from, for messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// `--docker-host`.
    Flag,
    /// `DOCKER_HOST`.
    Environment,
    /// Neither: the local socket.
    Default,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Source::Flag => "--docker-host",
            Source::Environment => "DOCKER_HOST",
            Source::Default => "the default",
        })
    }
}

/// The client side of TLS: the directory of `ca.pem` (the CA that signed the engine's
/// certificate), `cert.pem` and `key.pem` (this client's certificate and key).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tls {
    pub dir: PathBuf,
    /// How the directory was named, for messages: `DOCKER_CERT_PATH=/etc/benchlab` or
    /// `~/.docker (DOCKER_CERT_PATH is unset)`.
    pub named_by: String,
}

impl Tls {
    /// The path of one of [`TLS_FILES`].
    fn file(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }
}

/// The engine benchlab talks to and how: its address, and TLS when `DOCKER_TLS_VERIFY` asks
/// for it on a `tcp://` address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Engine {
    /// `unix:///var/run/docker.sock`, or `tcp://HOST:PORT` with the port filled in as the
    /// Docker CLI fills it (2376 with TLS, 2375 without).
    pub address: String,
    pub source: Source,
    /// `None`: a socket, or plain HTTP.
    pub tls: Option<Tls>,
}

impl Engine {
    /// The engine of `flag` (`--docker-host`), else of `DOCKER_HOST`, else the local socket,
    /// read as the Docker CLI reads them: an empty variable is unset; `DOCKER_TLS_VERIFY` set
    /// to anything but the empty string means TLS (a socket ignores it), with the files of
    /// `DOCKER_CERT_PATH`, or of `~/.docker` when that is unset. `env` looks a variable up, so
    /// that callers (and tests) need not change the process's environment.
    ///
    /// # Errors
    /// An address that is neither `unix://PATH` nor `tcp://HOST[:PORT]`, naming the flag or
    /// variable it came from; TLS with no directory to take the files from.
    pub fn resolve(flag: Option<&str>, env: impl Fn(&str) -> Option<OsString>) -> Result<Engine> {
        let var = |name: &str| {
            env(name)
                .map(|value| value.to_string_lossy().into_owned())
                .filter(|value| !value.is_empty())
        };
        let (given, source) = match (flag, var("DOCKER_HOST")) {
            (Some(flag), _) => (flag.to_owned(), Source::Flag),
            (None, Some(host)) => (host, Source::Environment),
            (None, None) => (LOCAL_SOCKET.to_owned(), Source::Default),
        };
        let tls_asked = var("DOCKER_TLS_VERIFY").is_some();
        let (address, tls) = if let Some(path) = given.strip_prefix("unix://") {
            if path.is_empty() {
                bail!("{source} '{given}' names no socket: give unix:///PATH");
            }
            (given.clone(), None)
        } else if let Some(rest) = given.strip_prefix("tcp://") {
            let (host, port) = split_host_port(rest)
                .with_context(|| format!("{source} '{given}' is not tcp://HOST[:PORT]"))?;
            let port = port.unwrap_or(if tls_asked { 2376 } else { 2375 });
            let tls = if tls_asked {
                Some(match var("DOCKER_CERT_PATH") {
                    Some(dir) => Tls {
                        named_by: format!("DOCKER_CERT_PATH={dir}"),
                        dir: PathBuf::from(dir),
                    },
                    None => {
                        let home = var("HOME").context(
                            "DOCKER_TLS_VERIFY is set, but neither DOCKER_CERT_PATH nor HOME \
                             says where ca.pem, cert.pem and key.pem are",
                        )?;
                        let dir = Path::new(&home).join(".docker");
                        Tls {
                            named_by: format!("{} (DOCKER_CERT_PATH is unset)", dir.display()),
                            dir,
                        }
                    }
                })
            } else {
                None
            };
            (format!("tcp://{host}:{port}"), tls)
        } else {
            bail!(
                "{source} '{given}': benchlab reaches an engine at unix:///PATH or \
                 tcp://HOST[:PORT] (with DOCKER_TLS_VERIFY and DOCKER_CERT_PATH for TLS)"
            );
        };
        Ok(Engine {
            address,
            source,
            tls,
        })
    }

    /// [`Engine::resolve`] with this process's environment.
    ///
    /// # Errors
    /// As [`Engine::resolve`].
    pub fn from_env(flag: Option<&str>) -> Result<Engine> {
        Engine::resolve(flag, |name| std::env::var_os(name))
    }

    /// The host of a `tcp://` address, as written (a name, an IPv4 or a bracketed IPv6
    /// address); `None` for a socket.
    pub fn tcp_host(&self) -> Option<&str> {
        let rest = self.address.strip_prefix("tcp://")?;
        split_host_port(rest).map(|(host, _)| host)
    }

    /// Whether the engine runs on this machine: a socket, or TCP to a loopback address or
    /// `localhost`. Its containers' cgroups can then be read here, and services bound to
    /// loopback are this machine's.
    pub fn is_local(&self) -> bool {
        match self.tcp_host() {
            None => true,
            Some(host) => {
                host.eq_ignore_ascii_case("localhost")
                    || host
                        .trim_start_matches('[')
                        .trim_end_matches(']')
                        .parse::<IpAddr>()
                        .is_ok_and(|ip| ip.is_loopback())
            }
        }
    }

    /// The address and how it is reached, for messages and the provenance:
    /// `tcp://10.0.0.5:2376 over TLS (from DOCKER_HOST)`.
    pub fn describe(&self) -> String {
        let how = match (&self.tls, self.tcp_host()) {
            (Some(_), _) => " over TLS",
            (None, Some(_)) => " over plain HTTP",
            (None, None) => "",
        };
        match self.source {
            Source::Default => format!("{}{how}", self.address),
            source => format!("{}{how} (from {source})", self.address),
        }
    }

    /// Connects and negotiates the API version down to what the engine speaks (Debian's
    /// engine 20.10 speaks 1.41). Warns once on stderr when the engine is another machine
    /// reached without TLS.
    ///
    /// # Errors
    /// A missing TLS file, naming it and `DOCKER_CERT_PATH`; a failed TLS handshake, naming
    /// the address and the file to check; no engine answering within 10 s.
    pub async fn connect(&self) -> Result<Docker> {
        let docker = self.client()?;
        if self.tls.is_none() && !self.is_local() {
            static WARNED: Once = Once::new();
            WARNED.call_once(|| {
                eprintln!(
                    "warning: the Docker engine at {} is reached over plain HTTP: anyone who \
                     can reach that port is root on its machine; give it TLS (dockerd \
                     --tlsverify) and set DOCKER_TLS_VERIFY=1 and DOCKER_CERT_PATH here",
                    self.address
                );
            });
        }
        match tokio::time::timeout(PING_TIMEOUT, docker.ping()).await {
            Ok(Ok(_)) => {}
            Ok(Err(err)) => return Err(self.unanswered(&err)),
            Err(_) => {
                return Err(self.no_answer(&format!("no answer within {PING_TIMEOUT:?}")));
            }
        }
        docker.negotiate_version().await.with_context(|| {
            format!(
                "could not negotiate the API version with the engine at {}",
                self.address
            )
        })
    }

    /// The client for the address, not yet connected.
    fn client(&self) -> Result<Docker> {
        let version = bollard::API_DEFAULT_VERSION;
        let client = match (&self.tls, self.address.strip_prefix("unix://")) {
            (_, Some(path)) if !Path::new(path).exists() => {
                return Err(self.no_answer(&format!("{path} does not exist")));
            }
            (_, Some(_)) => Docker::connect_with_unix(&self.address, REQUEST_TIMEOUT_SECS, version),
            (None, None) => Docker::connect_with_http(&self.address, REQUEST_TIMEOUT_SECS, version),
            (Some(tls), None) => {
                for name in TLS_FILES {
                    let path = tls.file(name);
                    if !path.is_file() {
                        bail!(
                            "DOCKER_TLS_VERIFY is set, but {} is missing: the TLS client \
                             files ca.pem, cert.pem and key.pem come from {}",
                            path.display(),
                            tls.named_by
                        );
                    }
                }
                // bollard's client-certificate resolver asks for the process's default
                // provider; `lib::run` installs the same one, and the first install wins.
                let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
                Docker::connect_with_ssl(
                    &self.address,
                    &tls.file("key.pem"),
                    &tls.file("cert.pem"),
                    &tls.file("ca.pem"),
                    REQUEST_TIMEOUT_SECS,
                    version,
                )
            }
        };
        client.with_context(|| format!("could not use the Docker address {}", self.describe()))
    }

    /// The error for a ping that failed with `err`: a TLS handshake that failed, with the file
    /// to check, or no engine answering.
    fn unanswered(&self, err: &bollard::errors::Error) -> anyhow::Error {
        if let bollard::errors::Error::DockerResponseServerError {
            status_code,
            message,
        } = err
        {
            // Something answers, but not as an engine would (plain HTTP to a TLS port says so).
            return anyhow!(
                "the Docker engine at {} refused the ping with HTTP {status_code}: {}{}",
                self.describe(),
                message.trim().trim_end_matches('.'),
                self.tls_hint()
            );
        }
        let Some(tls) = &self.tls else {
            return self.no_answer(&causes(err));
        };
        let Some(tls_error) = rustls_error(err) else {
            return self.no_answer(&causes(err));
        };
        let check = match tls_error {
            rustls::Error::InvalidCertificate(_) => format!(
                "check that {} is the CA that signed the engine's certificate, and that the \
                 certificate names the host of {}",
                tls.file("ca.pem").display(),
                self.address
            ),
            rustls::Error::AlertReceived(_) => format!(
                "the engine refused this client: check that {} and {} are a certificate and \
                 key signed by the CA the engine trusts (its --tlscacert)",
                tls.file("cert.pem").display(),
                tls.file("key.pem").display()
            ),
            _ => format!(
                "check {}, {} and {} (from {})",
                tls.file("ca.pem").display(),
                tls.file("cert.pem").display(),
                tls.file("key.pem").display(),
                tls.named_by
            ),
        };
        anyhow!(
            "the TLS handshake with the Docker engine at {} failed: {tls_error}; {check}",
            self.address
        )
    }

    /// The error for an engine that does not answer: how to start a local one, or what to
    /// check for another machine's.
    fn no_answer(&self, err: &dyn fmt::Display) -> anyhow::Error {
        let advice = if !self.is_local() {
            "check that it listens there and that this machine can reach it".to_owned()
        } else if self.tcp_host().is_some() {
            format!("{HOW_TO_START}; it sets up the TLS listener on 127.0.0.1:2376")
        } else {
            HOW_TO_START.to_owned()
        };
        anyhow!(
            "no Docker engine answers at {}: {err}; {advice}{}",
            self.describe(),
            self.tls_hint()
        )
    }

    /// For plain HTTP over TCP, what an engine that speaks TLS needs; empty otherwise.
    fn tls_hint(&self) -> &'static str {
        if self.tcp_host().is_some() && self.tls.is_none() {
            "; an engine that speaks TLS needs DOCKER_TLS_VERIFY=1 and DOCKER_CERT_PATH"
        } else {
            ""
        }
    }
}

/// `err` and its sources in one line (`client error (Connect): tcp connect error: Connection
/// refused (os error 111)`): hyper's own message names no cause.
fn causes(err: &(dyn std::error::Error + 'static)) -> String {
    let mut text = err.to_string();
    let mut next = err.source();
    while let Some(cause) = next {
        let message = cause.to_string();
        if !text.contains(&message) {
            text.push_str(": ");
            text.push_str(&message);
        }
        next = cause.source();
    }
    text
}

/// `HOST[:PORT][/]` split into the host (brackets kept on an IPv6 address) and the port.
fn split_host_port(text: &str) -> Option<(&str, Option<u16>)> {
    let text = text.trim_end_matches('/');
    let (host, port) = if let Some(after) = text.strip_prefix('[') {
        let end = after.find(']')?;
        let host = &text[..end + 2];
        match &text[end + 2..] {
            "" => (host, None),
            rest => (host, Some(rest.strip_prefix(':')?)),
        }
    } else {
        match text.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (text, None),
        }
    };
    if host.is_empty() || host.contains(['/', '@', ' ']) {
        return None;
    }
    let port = match port {
        Some(port) => Some(port.parse::<u16>().ok().filter(|&port| port > 0)?),
        None => None,
    };
    Some((host, port))
}

/// The rustls error inside `err`'s chain of sources, if a TLS handshake is what failed. The
/// TLS layers wrap it in an `io::Error` inside another, and an `io::Error`'s own `source`
/// skips what it wraps, so the walk looks inside each one.
fn rustls_error(err: &bollard::errors::Error) -> Option<&rustls::Error> {
    let mut next: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(error) = next {
        if let Some(found) = error.downcast_ref::<rustls::Error>() {
            return Some(found);
        }
        next = match error
            .downcast_ref::<std::io::Error>()
            .and_then(std::io::Error::get_ref)
        {
            Some(wrapped) => Some(wrapped),
            None => error.source(),
        };
    }
    None
}

/// The engine of this process, once chosen.
static ENGINE: OnceLock<Engine> = OnceLock::new();

/// Makes `engine` the one every connection of this process uses ([`connect`], and the
/// guards' removals from their own threads). `lib::run` calls it once, before anything
/// connects.
///
/// # Errors
/// When another engine was chosen or used already.
pub fn select(engine: Engine) -> Result<&'static Engine> {
    let chosen = ENGINE.get_or_init(|| engine.clone());
    if *chosen != engine {
        bail!(
            "the Docker engine is {} already; it cannot become {} in the same process",
            chosen.describe(),
            engine.describe()
        );
    }
    Ok(chosen)
}

/// The engine of this process: the one [`select`]ed, else the environment's
/// (`DOCKER_HOST`, `DOCKER_TLS_VERIFY`, `DOCKER_CERT_PATH`), which it then stays.
///
/// # Errors
/// As [`Engine::resolve`].
pub fn engine() -> Result<&'static Engine> {
    if let Some(engine) = ENGINE.get() {
        return Ok(engine);
    }
    let engine = Engine::from_env(None)?;
    Ok(ENGINE.get_or_init(|| engine))
}

/// The address of the engine benchlab talks to, as the one place that says it: the chosen
/// engine's, else `DOCKER_HOST` or the local socket as given.
pub fn engine_address() -> String {
    match engine() {
        Ok(engine) => engine.address.clone(),
        Err(_) => std::env::var("DOCKER_HOST")
            .ok()
            .filter(|host| !host.is_empty())
            .unwrap_or_else(|| LOCAL_SOCKET.to_owned()),
    }
}

/// Connects to this process's [`engine`] and negotiates the API version.
///
/// # Errors
/// As [`Engine::connect`].
pub async fn connect() -> Result<Docker> {
    engine()?.connect().await
}

/// What an engine's `docker info` says of its machine: for an engine on another machine,
/// the machine the services run on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EngineMachine {
    /// The machine's host name.
    pub name: String,
    pub cpus: u32,
    pub kernel: String,
    /// `Debian GNU/Linux 12 (bookworm)`.
    pub os: String,
    /// `x86_64`.
    pub architecture: String,
    /// `1` or `2`.
    pub cgroup_version: String,
}

impl EngineMachine {
    /// The machine in one line: `ip-10-0-0-5: 4 CPUs, x86_64, kernel 6.1.0-28-amd64, Debian
    /// GNU/Linux 12 (bookworm), cgroup v2`.
    pub fn describe(&self) -> String {
        format!(
            "{}: {} CPUs, {}, kernel {}, {}, cgroup v{}",
            self.name, self.cpus, self.architecture, self.kernel, self.os, self.cgroup_version
        )
    }
}

/// Asks the engine about its machine.
///
/// # Errors
/// When the engine does not answer, or does not say how many CPUs it has.
pub async fn engine_machine(docker: &Docker) -> Result<EngineMachine> {
    let info = docker.info().await.with_context(|| {
        format!(
            "could not ask the engine at {} about its machine",
            engine_address()
        )
    })?;
    let cpus = info
        .ncpu
        .and_then(|n| u32::try_from(n).ok())
        .filter(|&n| n > 0)
        .context("the engine's `docker info` gives no CPU count (NCPU)")?;
    let text = |value: Option<String>| value.unwrap_or_else(|| "unknown".to_owned());
    Ok(EngineMachine {
        name: text(info.name),
        cpus,
        kernel: text(info.kernel_version),
        os: text(info.operating_system),
        architecture: text(info.architecture),
        cgroup_version: text(info.cgroup_version.map(|v| v.to_string())),
    })
}

/// Removes its container (and its anonymous volumes) when dropped, so a container never
/// outlives the code that started it, even when that code panics or returns early.
///
/// Prefer [`ContainerGuard::remove`], which reports errors; the drop path is the fallback.
/// It removes the container from a thread with its own runtime and a connection of its own to
/// this process's [`engine`], because drop cannot await and the caller's runtime may be the
/// one that is blocked.
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

#[cfg(test)]
mod tests {
    use super::*;

    /// [`Engine::resolve`] with `flag` and only the variables of `vars` set.
    fn resolve(flag: Option<&str>, vars: &[(&str, &str)]) -> Result<Engine> {
        Engine::resolve(flag, |name| {
            vars.iter()
                .find(|(var, _)| *var == name)
                .map(|(_, value)| OsString::from(value))
        })
    }

    #[test]
    fn the_flag_beats_docker_host_which_beats_the_local_socket() {
        let local = resolve(None, &[]).unwrap();
        assert_eq!(
            (local.address.as_str(), local.source, &local.tls),
            (LOCAL_SOCKET, Source::Default, &None)
        );
        assert!(local.is_local());
        // An empty variable is unset, as for the Docker CLI.
        assert_eq!(resolve(None, &[("DOCKER_HOST", "")]).unwrap(), local);
        let env = [("DOCKER_HOST", "tcp://10.0.0.5:2375")];
        let from_env = resolve(None, &env).unwrap();
        assert_eq!(
            (from_env.address.as_str(), from_env.source),
            ("tcp://10.0.0.5:2375", Source::Environment)
        );
        let from_flag = resolve(Some("unix:///run/other.sock"), &env).unwrap();
        assert_eq!(
            (from_flag.address.as_str(), from_flag.source),
            ("unix:///run/other.sock", Source::Flag)
        );
    }

    #[test]
    fn tls_is_docker_tls_verify_with_the_files_of_docker_cert_path() {
        let tls = resolve(
            Some("tcp://10.0.0.5"),
            &[
                ("DOCKER_TLS_VERIFY", "1"),
                ("DOCKER_CERT_PATH", "/etc/benchlab/client"),
            ],
        )
        .unwrap();
        assert_eq!(tls.address, "tcp://10.0.0.5:2376", "TLS's default port");
        assert_eq!(
            tls.tls,
            Some(Tls {
                dir: PathBuf::from("/etc/benchlab/client"),
                named_by: "DOCKER_CERT_PATH=/etc/benchlab/client".to_owned(),
            })
        );
        assert_eq!(
            tls.describe(),
            "tcp://10.0.0.5:2376 over TLS (from --docker-host)"
        );
        let home = resolve(
            Some("tcp://10.0.0.5:2376"),
            &[("DOCKER_TLS_VERIFY", "1"), ("HOME", "/home/lab")],
        )
        .unwrap();
        assert_eq!(
            home.tls.map(|tls| tls.dir),
            Some(PathBuf::from("/home/lab/.docker"))
        );
        // Empty is off; a socket ignores it.
        let plain = resolve(Some("tcp://10.0.0.5"), &[("DOCKER_TLS_VERIFY", "")]).unwrap();
        assert_eq!(
            (plain.address.as_str(), plain.tls),
            ("tcp://10.0.0.5:2375", None)
        );
        let socket = resolve(None, &[("DOCKER_TLS_VERIFY", "1")]).unwrap();
        assert_eq!(socket.tls, None);
        let err = resolve(Some("tcp://10.0.0.5"), &[("DOCKER_TLS_VERIFY", "1")]).unwrap_err();
        assert!(
            err.to_string()
                .contains("neither DOCKER_CERT_PATH nor HOME"),
            "{err}"
        );
    }

    #[test]
    fn loopback_and_sockets_are_this_machine() {
        for address in [
            "tcp://127.0.0.1:2376",
            "tcp://localhost:2376",
            "tcp://[::1]:2376",
            "unix:///var/run/docker.sock",
        ] {
            assert!(resolve(Some(address), &[]).unwrap().is_local(), "{address}");
        }
        for address in [
            "tcp://10.0.0.5:2376",
            "tcp://build-server",
            "tcp://[fd00::5]:2376",
        ] {
            let engine = resolve(Some(address), &[]).unwrap();
            assert!(!engine.is_local(), "{address}");
        }
        assert_eq!(
            resolve(Some("tcp://[fd00::5]"), &[]).unwrap().tcp_host(),
            Some("[fd00::5]")
        );
    }

    #[test]
    fn a_bad_address_names_where_it_came_from() {
        let err = resolve(None, &[("DOCKER_HOST", "ssh://lab@server")]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "DOCKER_HOST 'ssh://lab@server': benchlab reaches an engine at unix:///PATH or \
             tcp://HOST[:PORT] (with DOCKER_TLS_VERIFY and DOCKER_CERT_PATH for TLS)"
        );
        for bad in [
            "tcp://",
            "tcp://host:0",
            "tcp://host:x",
            "tcp://host:2376/v1.41",
        ] {
            let err = resolve(Some(bad), &[]).unwrap_err();
            assert_eq!(
                err.to_string(),
                format!("--docker-host '{bad}' is not tcp://HOST[:PORT]"),
                "{bad}"
            );
        }
        assert!(resolve(Some("unix://"), &[]).is_err());
    }

    #[test]
    fn a_missing_tls_file_is_named_with_docker_cert_path() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["ca.pem", "cert.pem"] {
            std::fs::write(dir.path().join(name), "").unwrap();
        }
        let path = dir.path().to_string_lossy().into_owned();
        let engine = resolve(
            Some("tcp://127.0.0.1:2376"),
            &[("DOCKER_TLS_VERIFY", "1"), ("DOCKER_CERT_PATH", &path)],
        )
        .unwrap();
        let err = engine.client().unwrap_err().to_string();
        assert_eq!(
            err,
            format!(
                "DOCKER_TLS_VERIFY is set, but {path}/key.pem is missing: the TLS client files \
                 ca.pem, cert.pem and key.pem come from DOCKER_CERT_PATH={path}"
            )
        );
    }
}
