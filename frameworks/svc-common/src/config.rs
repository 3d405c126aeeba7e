//! The service configuration, read from the environment only.

use std::ffi::OsString;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::num::NonZeroUsize;
use std::time::Duration;

use crate::instance::Instance;

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
    /// `INSTANCE` (default: none): the name every response carries in an `X-Instance` header,
    /// to tell apart two instances of a service in a deploy (blue and green). Unset or empty
    /// means no header.
    pub instance: Option<Instance>,
}

/// `PORT` when unset: the port the images expose.
pub const DEFAULT_PORT: u16 = 8080;
const DEFAULT_BIND_ADDR: IpAddr = IpAddr::V4(Ipv4Addr::UNSPECIFIED);
/// `SHUTDOWN_GRACE_MS` when unset.
pub const DEFAULT_SHUTDOWN_GRACE: Duration = Duration::from_secs(10);
/// What `INSTANCE` must be: an [`Instance`] (the tests pin the limit to
/// [`crate::instance::MAX_LEN`]).
const INSTANCE_EXPECTED: &str =
    "a name of at most 64 visible ASCII characters (no spaces or control characters), such as blue";

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|var| std::env::var_os(var))
    }

    /// Reads the configuration through `lookup`, which returns a variable's value if it is set.
    /// A variable that is set must be valid, even when empty: `PORT=` is an error, not 8080.
    /// `INSTANCE` is the one exception: empty is off, like unset.
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
        let instance = parse_var(&lookup, "INSTANCE", INSTANCE_EXPECTED, |v| {
            if v.is_empty() {
                Some(None)
            } else {
                Instance::parse(v).map(Some)
            }
        })?
        .flatten();
        Ok(Config {
            addr: SocketAddr::new(ip, port),
            workers,
            shutdown_grace,
            instance,
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
    use crate::instance;

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
        assert_eq!(config.instance, None);
    }

    #[test]
    fn every_variable_is_read() {
        let config = config(&[
            ("PORT", "0"),
            ("BIND_ADDR", "::1"),
            ("WORKERS", "3"),
            ("SHUTDOWN_GRACE_MS", "250"),
            ("INSTANCE", "blue"),
        ])
        .unwrap();
        assert_eq!(config.addr, "[::1]:0".parse().unwrap());
        assert_eq!(config.workers.get(), 3);
        assert_eq!(config.shutdown_grace, Duration::from_millis(250));
        assert_eq!(config.instance.as_ref().map(Instance::as_str), Some("blue"));
    }

    #[test]
    fn instance_is_up_to_64_visible_ascii_characters_and_off_when_empty() {
        let instance = |value: &str| config(&[("INSTANCE", value)]).map(|config| config.instance);
        let longest = "x".repeat(instance::MAX_LEN);
        for name in ["blue", "green-2", "a", "!~\"\\{}", longest.as_str()] {
            assert_eq!(
                instance(name).unwrap().as_ref().map(Instance::as_str),
                Some(name)
            );
        }
        assert_eq!(instance(""), Ok(None));
        let too_long = "x".repeat(instance::MAX_LEN + 1);
        for name in [
            "blue green",
            " blue",
            "blue\t",
            "blue\ngreen",
            "blue\u{7f}",
            "bl\u{e9}u",
            too_long.as_str(),
        ] {
            let err = instance(name).unwrap_err();
            assert_eq!((err.var, err.value.as_str()), ("INSTANCE", name));
        }
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
            (
                "INSTANCE",
                "blue green",
                "invalid INSTANCE=\"blue green\": expected a name of at most 64 visible ASCII \
                 characters (no spaces or control characters), such as blue",
            ),
            // A control character is escaped, so the message stays on one line.
            (
                "INSTANCE",
                "blue\ngreen",
                "invalid INSTANCE=\"blue\\ngreen\": expected",
            ),
        ];
        for (var, value, message) in cases {
            let err = config(&[(var, value)]).unwrap_err();
            assert_eq!(err.var, var);
            assert!(err.to_string().starts_with(message), "{err}");
            assert_eq!(err.to_string().lines().count(), 1, "{err}");
        }
    }
}
