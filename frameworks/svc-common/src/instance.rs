//! The `X-Instance` header: which instance of a service answered, for a deploy that runs two
//! instances side by side (blue and green) behind one proxy.
//!
//! `INSTANCE` is read with the rest of the [`Config`](crate::Config); the life cycle
//! ([`Service::config_or_exit`](crate::Service::config_or_exit), which every service calls
//! first) makes it the process's instance before anything is served, and every reply reads it
//! from here ([`Reply::instance`](crate::Reply::instance),
//! [`Reply::instance_header`](crate::Reply::instance_header)).
//!
//! It is one value per process rather than a parameter of each framework's app builder: a
//! process serves as one instance, the nine builders and their in-process callers (the
//! framework tests and micro-benchmarks) stay as they are, and the glue adds the header in one
//! line where it already adds `Allow`. It costs a reply one atomic load; when `INSTANCE` is
//! unset nothing is added, allocated or copied, and when it is set the header's name and value
//! are static, made once at startup. Nothing in-process ever sets it, so the apps built by
//! tests and benchmarks answer without the header.

use std::sync::OnceLock;

/// The header's name, lower case as [`http::HeaderName::from_static`] wants it, for
/// frameworks whose header types are not the `http` crate's 1.x (actix-web, rocket).
pub const HEADER_NAME: &str = "x-instance";

/// [`HEADER_NAME`] as the `http` crate's header name.
pub const HEADER: http::HeaderName = http::HeaderName::from_static(HEADER_NAME);

/// The longest instance name `INSTANCE` may give, in bytes.
pub const MAX_LEN: usize = 64;

/// An instance name that is a valid header value everywhere: 1 to [`MAX_LEN`] visible ASCII
/// characters (0x21 to 0x7E), so no spaces, control characters or non-ASCII.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instance(String);

impl Instance {
    /// `name` if it is a valid instance name.
    pub fn parse(name: &str) -> Option<Self> {
        let valid =
            !name.is_empty() && name.len() <= MAX_LEN && name.bytes().all(|b| b.is_ascii_graphic());
        valid.then(|| Instance(name.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The process's instance, made once: the name and the header value borrowing it.
struct Current {
    name: &'static str,
    value: http::HeaderValue,
}

static CURRENT: OnceLock<Current> = OnceLock::new();

/// Makes `instance` the one every reply of the process names. The first call wins; the life
/// cycle makes it once, before serving.
pub(crate) fn install(instance: &Instance) {
    CURRENT.get_or_init(|| {
        // Leaked once per process, so the header value is static and cloning it copies nothing.
        let name: &'static str = Box::leak(instance.as_str().into());
        Current {
            name,
            value: http::HeaderValue::from_static(name),
        }
    });
}

/// The process's instance name, if `INSTANCE` was set.
pub(crate) fn name() -> Option<&'static str> {
    CURRENT.get().map(|current| current.name)
}

/// The `X-Instance` header of the process's replies, if `INSTANCE` was set.
pub(crate) fn header() -> Option<(http::HeaderName, http::HeaderValue)> {
    CURRENT.get().map(|current| (HEADER, current.value.clone()))
}
