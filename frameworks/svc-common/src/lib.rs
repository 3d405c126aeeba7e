//! What every benchlab service shares, so the framework crates hold only framework glue.
//!
//! The contract (see `frameworks/README.md`) is implemented here once: the reply for each
//! route ([`reply`]), the environment configuration ([`config`]), the `X-Instance` header
//! ([`instance`]), the process life cycle: runtime, startup line and graceful shutdown
//! ([`lifecycle`]), and the binary's own health probe, `<binary> health` ([`health`]). A
//! framework crate routes requests to these functions and turns a [`Reply`] into its own
//! response type.

pub mod config;
pub mod health;
pub mod instance;
pub mod lifecycle;
pub mod reply;

pub use config::{Config, ConfigError};
pub use lifecycle::{Service, Shutdown};
pub use reply::{CONTENT_TYPE, Reply};

/// The [`Service`] of the crate it is written in: its package name, and the framework and
/// version its build script exported with `svc_build::export_framework()`.
#[macro_export]
macro_rules! service {
    () => {
        $crate::Service {
            binary: env!("CARGO_PKG_NAME"),
            framework: env!("FRAMEWORK"),
            framework_version: env!("FRAMEWORK_VERSION"),
        }
    };
}
