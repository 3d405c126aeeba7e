//! The process life cycle every service shares: runtime, startup line, graceful shutdown.

use std::future::Future;
use std::net::SocketAddr;
use std::num::NonZeroUsize;
use std::process::ExitCode;
use std::time::Duration;

use tokio::net::{TcpListener, TcpSocket};
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::watch;

use crate::{Config, health};

/// Who a service is: its binary, the framework it runs on and that framework's locked
/// version (from the build script, see `svc-build`). A service crate gets its own with
/// [`service!`](crate::service).
#[derive(Debug, Clone, Copy)]
pub struct Service {
    pub binary: &'static str,
    pub framework: &'static str,
    pub framework_version: &'static str,
}

impl Service {
    /// The configuration from the environment; on a bad value, prints one line naming the
    /// variable and the value and exits with status 2. Every service calls it first, before
    /// serving: it makes `INSTANCE` the process's instance, which every reply then names
    /// (see [`crate::instance`]). Started as `<binary> health`, the process probes the
    /// service on its port instead and exits (see [`crate::health`]), so every framework has
    /// the probe through this one call.
    pub fn config_or_exit(&self) -> Config {
        let config = Config::from_env().unwrap_or_else(|err| {
            eprintln!("{}: {err}", self.binary);
            std::process::exit(2)
        });
        if health::requested() {
            self.probe_and_exit(&config);
        }
        if let Some(instance) = &config.instance {
            crate::instance::install(instance);
        }
        config
    }

    /// `<binary> health`: one `GET /hello` to the service configured by `config`; exits 0 on
    /// a 200, 1 otherwise, and 2 with `PORT=0`, whose port only the service itself knows.
    fn probe_and_exit(&self, config: &Config) -> ! {
        if config.addr.port() == 0 {
            eprintln!(
                "{}: health: PORT=0 lets the service pick its port, which the probe cannot know: set PORT",
                self.binary
            );
            std::process::exit(2)
        }
        match health::probe(health::target(config.addr)) {
            Ok(()) => std::process::exit(0),
            Err(err) => {
                eprintln!("{}: health: {err}", self.binary);
                std::process::exit(1)
            }
        }
    }

    /// The one line a service prints on start, once it is bound and ready to accept.
    pub fn announce(&self, addr: SocketAddr, workers: NonZeroUsize) {
        println!(
            "{}: {} {} listening on {addr} (workers: {workers})",
            self.binary, self.framework, self.framework_version
        );
    }

    /// The life of a service on a tokio runtime: the configuration (exit 2 on a bad value), a
    /// runtime with `WORKERS` threads, the signal handlers, then `serve` to its exit status.
    pub fn run_on_tokio<F, Fut>(&self, serve: F) -> ExitCode
    where
        F: FnOnce(Config, Shutdown) -> Fut,
        Fut: Future<Output = ExitCode>,
    {
        let config = self.config_or_exit();
        let runtime = runtime(config.workers);
        self.run_on(runtime, config, serve)
    }

    /// The life of a service on a framework that starts its own worker threads and runtimes:
    /// the configuration (exit 2 on a bad value), a tokio runtime on the main thread only, for
    /// the signal handlers and the grace period, then `serve` to its exit status.
    pub fn run_beside_tokio<F, Fut>(&self, serve: F) -> ExitCode
    where
        F: FnOnce(Config, Shutdown) -> Fut,
        Fut: Future<Output = ExitCode>,
    {
        let config = self.config_or_exit();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build();
        self.run_on(runtime, config, serve)
    }

    fn run_on<F, Fut>(
        &self,
        runtime: std::io::Result<tokio::runtime::Runtime>,
        config: Config,
        serve: F,
    ) -> ExitCode
    where
        F: FnOnce(Config, Shutdown) -> Fut,
        Fut: Future<Output = ExitCode>,
    {
        let runtime = match runtime {
            Ok(runtime) => runtime,
            Err(err) => return self.fail("could not start the tokio runtime", err),
        };
        runtime.block_on(async {
            match Shutdown::install() {
                Ok(shutdown) => serve(config, shutdown).await,
                Err(err) => self.fail("could not install signal handlers", err),
            }
        })
    }

    /// [`Self::run_on_tokio`] for a framework that accepts connections itself on a listener
    /// it is given, with no hook to set `TCP_NODELAY` on each: binds with
    /// [`Self::bind_nodelay`] and the backlog of [`TcpListener::bind`], then runs `serve` on
    /// the listener to its exit status.
    pub fn run_on_tokio_listener<F, Fut>(&self, serve: F) -> ExitCode
    where
        F: FnOnce(TcpListener, Config, Shutdown) -> Fut,
        Fut: Future<Output = ExitCode>,
    {
        self.run_on_tokio(|config, shutdown| async move {
            match self.bind_nodelay(&config, STD_BACKLOG) {
                Ok(listener) => serve(listener, config, shutdown).await,
                Err(status) => status,
            }
        })
    }

    /// Binds `addr` and announces the service on the address it got; on failure, reports it
    /// and gives the exit status to return.
    pub async fn bind(&self, config: &Config) -> Result<TcpListener, ExitCode> {
        self.announce_bound(TcpListener::bind(config.addr).await, config)
    }

    /// [`Self::bind`] with `TCP_NODELAY` set on the listening socket, which accepted sockets
    /// inherit on Linux, and `backlog` pending connections: for a framework that accepts
    /// connections itself with no hook to set the option on each. Must be called inside a
    /// tokio runtime.
    pub fn bind_nodelay(&self, config: &Config, backlog: u32) -> Result<TcpListener, ExitCode> {
        self.announce_bound(listen_nodelay(config.addr, backlog), config)
    }

    fn announce_bound(
        &self,
        bound: std::io::Result<TcpListener>,
        config: &Config,
    ) -> Result<TcpListener, ExitCode> {
        match bound {
            Ok(listener) => {
                self.announce(listener.local_addr().unwrap_or(config.addr), config.workers);
                Ok(listener)
            }
            Err(err) => Err(self.fail(&format!("could not bind {}", config.addr), err)),
        }
    }

    /// Reports a failure to start (say, the port is taken) and returns exit status 1.
    pub fn fail(&self, what: &str, err: impl std::fmt::Display) -> ExitCode {
        eprintln!("{}: {what}: {err}", self.binary);
        ExitCode::FAILURE
    }
}

/// The backlog of [`TcpListener::bind`], which is the standard library's.
const STD_BACKLOG: u32 = 128;

/// A listener on `addr` whose accepted sockets have `TCP_NODELAY`, with `SO_REUSEADDR` like
/// [`TcpListener::bind`] and `backlog` pending connections.
fn listen_nodelay(addr: SocketAddr, backlog: u32) -> std::io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.set_nodelay(true)?;
    socket.bind(addr)?;
    socket.listen(backlog)
}

/// A multi-threaded tokio runtime with `workers` worker threads.
fn runtime(workers: NonZeroUsize) -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers.get())
        .enable_all()
        .build()
}

/// SIGTERM or SIGINT, seen by every clone. Install it before announcing readiness, so a
/// signal sent right after the startup line is not lost to the default action.
#[derive(Debug, Clone)]
pub struct Shutdown {
    requested: watch::Receiver<bool>,
}

impl Shutdown {
    /// Registers the handlers. Must be called inside a tokio runtime.
    pub fn install() -> std::io::Result<Self> {
        let mut term = signal(SignalKind::terminate())?;
        let mut int = signal(SignalKind::interrupt())?;
        let (tx, requested) = watch::channel(false);
        tokio::spawn(async move {
            tokio::select! {
                _ = term.recv() => {}
                _ = int.recv() => {}
            }
            let _ = tx.send(true);
        });
        Ok(Shutdown { requested })
    }

    /// Resolves once a signal has arrived.
    pub async fn requested(&self) {
        let mut requested = self.requested.clone();
        // An error means the signal task is gone, which only happens with the runtime.
        let _ = requested.wait_for(|&requested| requested).await;
    }

    /// Drives `server` (which must start its own graceful shutdown when [`Self::requested`]
    /// resolves) until it ends. After the signal it gets `grace` to finish its in-flight
    /// requests; past that the service stops waiting and says so.
    pub async fn drain<F: Future>(&self, server: F, grace: Duration) -> Option<F::Output> {
        tokio::pin!(server);
        tokio::select! {
            output = &mut server => return Some(output),
            () = self.requested() => {}
        }
        match tokio::time::timeout(grace, server).await {
            Ok(output) => Some(output),
            Err(_) => {
                eprintln!(
                    "stopped waiting for the server after the shutdown grace period of {} ms",
                    grace.as_millis()
                );
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use tokio::net::TcpStream;

    use super::*;

    #[tokio::test]
    async fn accepted_sockets_inherit_nodelay_from_the_listener() {
        let listener = listen_nodelay(([127, 0, 0, 1], 0).into(), STD_BACKLOG).unwrap();
        let _client = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (accepted, _) = listener.accept().await.unwrap();
        assert!(accepted.nodelay().unwrap());
    }
}
