//! The service configuration, read from the environment only.

use std::ffi::OsString;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::num::NonZeroUsize;
use std::time::Duration;

/// Everything a service reads from its environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// `BIND_ADDR` (default `0.0.0.0`) and `PORT` (default 8080; 0 picks a free port, which
    /// the startup line then names).
    pub addr: SocketAddr,
    /// `WORKERS`: runtime worker threads. Defaults to
    /// [`std::thread::available_parallelism`], which honours a container's CPU quota.
    pub workers: NonZeroUsize,
    /// `SHUTDOWN_GRACE_MS` (default 10000): how long in-flight requests may run after SIGTERM
    /// or SIGINT.
    pub shutdown_grace: Duration,
}

const DEFAULT_PORT: u16 = 8080;
const DEFAULT_BIND_ADDR: IpAddr = IpAddr::V4(Ipv4Addr::UNSPECIFIED);
const DEFAULT_SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|var| std::env::var_os(var))
    }

    /// Reads the configuration through `lookup`, which returns a variable's value if it is set.
    /// A variable that is set must be valid, even when empty: `PORT=` is an error, not 8080.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<OsString>) -> Result<Self, ConfigError> {
        let port = parse_var(&lookup, "PORT", "a port number from 0 to 65535", |v| {
            v.parse::<u16>().ok()
        })?
        .unwrap_or(DEFAULT_PORT);
        let ip = parse_var(
            &lookup,
            "BIND_ADDR",
            "an IPv4 or IPv6 address such as 127.0.0.1 or ::1",
            |v| v.parse::<IpAddr>().ok(),
        )?
        .unwrap_or(DEFAULT_BIND_ADDR);
        let workers = match parse_var(&lookup, "WORKERS", "a whole number of at least 1", |v| {
            v.parse::<NonZeroUsize>().ok()
        })? {
            Some(workers) => workers,
            None => std::thread::available_parallelism().unwrap_or(NonZeroUsize::MIN),
        };
        let shutdown_grace = parse_var(
            &lookup,
            "SHUTDOWN_GRACE_MS",
            "a whole number of milliseconds",
            |v| v.parse::<u64>().ok().map(Duration::from_millis),
        )?
        .unwrap_or(DEFAULT_SHUTDOWN_GRACE);
        Ok(Config {
            addr: SocketAddr::new(ip, port),
            workers,
            shutdown_grace,
        })
    }
}

fn parse_var<T>(
    lookup: &impl Fn(&str) -> Option<OsString>,
    var: &'static str,
    expected: &'static str,
    parse: impl Fn(&str) -> Option<T>,
) -> Result<Option<T>, ConfigError> {
    let Some(raw) = lookup(var) else {
        return Ok(None);
    };
    let error = |value: String| ConfigError {
        var,
        value,
        expected,
    };
    let value = raw
        .into_string()
        .map_err(|raw| error(raw.to_string_lossy().into_owned()))?;
    parse(&value).map(Some).ok_or_else(|| error(value))
}

/// An environment variable with a value the service cannot use. Its `Display` is the one
/// line the service prints before exiting with status 2.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub var: &'static str,
    pub value: String,
    pub expected: &'static str,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid {}={:?}: expected {}",
            self.var, self.value, self.expected
        )
    }
}

impl std::error::Error for ConfigError {}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        Config::from_lookup(|name| {
            vars.iter()
                .find(|(var, _)| *var == name)
                .map(|(_, value)| value.into())
        })
    }

    #[test]
    fn defaults_follow_the_contract() {
        let config = config(&[]).unwrap();
        assert_eq!(config.addr, "0.0.0.0:8080".parse().unwrap());
        assert_eq!(
            config.workers,
            std::thread::available_parallelism().unwrap()
        );
        assert_eq!(config.shutdown_grace, Duration::from_secs(10));
    }

    #[test]
    fn every_variable_is_read() {
        let config = config(&[
            ("PORT", "0"),
            ("BIND_ADDR", "::1"),
            ("WORKERS", "3"),
            ("SHUTDOWN_GRACE_MS", "250"),
        ])
        .unwrap();
        assert_eq!(config.addr, "[::1]:0".parse().unwrap());
        assert_eq!(config.workers.get(), 3);
        assert_eq!(config.shutdown_grace, Duration::from_millis(250));
    }

    #[test]
    fn bad_values_name_the_variable_and_the_value() {
        let cases = [
            (
                "PORT",
                "abc",
                "invalid PORT=\"abc\": expected a port number from 0 to 65535",
            ),
            ("PORT", "65536", "invalid PORT=\"65536\""),
            ("PORT", "", "invalid PORT=\"\""),
            (
                "WORKERS",
                "0",
                "invalid WORKERS=\"0\": expected a whole number of at least 1",
            ),
            (
                "BIND_ADDR",
                "localhost",
                "invalid BIND_ADDR=\"localhost\": expected an IPv4",
            ),
            (
                "SHUTDOWN_GRACE_MS",
                "-1",
                "invalid SHUTDOWN_GRACE_MS=\"-1\"",
            ),
        ];
        for (var, value, message) in cases {
            let err = config(&[(var, value)]).unwrap_err();
            assert_eq!(err.var, var);
            assert!(err.to_string().starts_with(message), "{err}");
        }
    }
}
