//! Build-script helper for the framework crates: tells a service which framework it runs on
//! and that framework's version as locked in the workspace's `Cargo.lock`, so the startup
//! line names the exact version a binary was built with.
//!
//! A service crate is `svc-<name>` and `<name>` is its framework's crate, so the crate's own
//! package name says everything: nothing is repeated in a build script.
//!
//! It has no dependencies on purpose: build scripts run before everything else compiles.

use std::path::{Path, PathBuf};

/// Emits `cargo:rustc-env=FRAMEWORK=<name>` and `cargo:rustc-env=FRAMEWORK_VERSION=<version>`
/// for the service crate being built (`svc-<name>`, from `CARGO_PKG_NAME`): the framework's
/// crate and the version of it that the service depends on in the workspace's `Cargo.lock`.
///
/// # Panics
/// When the package is not named `svc-<name>`, or the lock file cannot be read or does not
/// say which version of `<name>` the package depends on: a build that cannot name its
/// framework version should not produce a binary.
pub fn export_framework() {
    let package = std::env::var("CARGO_PKG_NAME").expect("cargo sets CARGO_PKG_NAME");
    let framework = package
        .strip_prefix("svc-")
        .unwrap_or_else(|| panic!("'{package}' is not a service crate: name it svc-<framework>"));
    let lock = workspace_lock_file();
    println!("cargo:rerun-if-changed={}", lock.display());
    let text = std::fs::read_to_string(&lock)
        .unwrap_or_else(|err| panic!("could not read '{}': {err}", lock.display()));
    let version = dependency_version(&text, &package, framework)
        .unwrap_or_else(|err| panic!("{}: {err}", lock.display()));
    println!("cargo:rustc-env=FRAMEWORK={framework}");
    println!("cargo:rustc-env=FRAMEWORK_VERSION={version}");
}

/// `Cargo.lock` of the workspace around the crate being built: the nearest one upwards from
/// `CARGO_MANIFEST_DIR`.
fn workspace_lock_file() -> PathBuf {
    let manifest_dir = std::env::var_os("CARGO_MANIFEST_DIR")
        .expect("CARGO_MANIFEST_DIR is set by cargo for build scripts");
    Path::new(&manifest_dir)
        .ancestors()
        .map(|dir| dir.join("Cargo.lock"))
        .find(|candidate| candidate.is_file())
        .expect("no Cargo.lock above CARGO_MANIFEST_DIR: build inside the benchlab workspace")
}

/// One `[[package]]` table of a lock file: the keys benchlab reads.
struct LockedPackage<'a> {
    name: &'a str,
    version: &'a str,
    dependencies: Vec<&'a str>,
}

/// The `[[package]]` tables of the text of a `Cargo.lock`, in order.
fn packages(lock: &str) -> Vec<LockedPackage<'_>> {
    let mut packages = Vec::new();
    for table in lock.split("[[package]]").skip(1) {
        let value = |key: &str| {
            table.lines().find_map(|line| {
                line.trim()
                    .strip_prefix(key)?
                    .trim_start()
                    .strip_prefix("= \"")?
                    .strip_suffix('"')
            })
        };
        let dependencies = table
            .split_once("dependencies = [")
            .and_then(|(_, rest)| rest.split_once(']'))
            .map(|(list, _)| {
                list.split(',')
                    .map(|entry| entry.trim().trim_matches('"'))
                    .filter(|entry| !entry.is_empty())
                    .collect()
            })
            .unwrap_or_default();
        if let (Some(name), Some(version)) = (value("name"), value("version")) {
            packages.push(LockedPackage {
                name,
                version,
                dependencies,
            });
        }
    }
    packages
}

/// The version of `dependency` that `package` depends on, in the text of a `Cargo.lock`.
///
/// A lock file names a dependency `"name"` when it holds one version of it and
/// `"name version"` (or `"name version (source)"`) when it holds several.
pub fn dependency_version(lock: &str, package: &str, dependency: &str) -> Result<String, String> {
    let packages = packages(lock);
    let dependent = packages
        .iter()
        .find(|locked| locked.name == package)
        .ok_or_else(|| format!("package '{package}' is not in the lock file"))?;
    let entry = dependent
        .dependencies
        .iter()
        .find(|entry| entry.split(' ').next() == Some(dependency))
        .ok_or_else(|| format!("package '{package}' does not depend on '{dependency}'"))?;
    if let Some(version) = entry.split(' ').nth(1) {
        return Ok(version.to_owned());
    }
    let versions: Vec<&str> = packages
        .iter()
        .filter(|locked| locked.name == dependency)
        .map(|locked| locked.version)
        .collect();
    match versions.as_slice() {
        [version] => Ok((*version).to_owned()),
        _ => Err(format!(
            "'{package}' depends on '{dependency}' without a version, yet the lock file holds {} of it",
            versions.len()
        )),
    }
}

/// The version `package` is locked at, when the lock file holds exactly one version of it
/// (the load generator, `oha`, for the provenance).
pub fn locked_version(lock: &str, package: &str) -> Result<String, String> {
    let versions: Vec<&str> = packages(lock)
        .into_iter()
        .filter(|locked| locked.name == package)
        .map(|locked| locked.version)
        .collect();
    match versions.as_slice() {
        [version] => Ok((*version).to_owned()),
        [] => Err(format!("package '{package}' is not in the lock file")),
        _ => Err(format!(
            "package '{package}' is locked at several versions ({})",
            versions.join(", ")
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::{dependency_version, locked_version};

    const LOCK: &str = r#"
# This file is automatically @generated by Cargo.
version = 4

[[package]]
name = "axum"
version = "0.8.9"
source = "registry+https://github.com/rust-lang/crates.io-index"
checksum = "00"
dependencies = [
 "axum-core",
 "hyper 1.12.0",
]

[[package]]
name = "axum-core"
version = "0.5.2"

[[package]]
name = "hyper"
version = "0.14.32"

[[package]]
name = "hyper"
version = "1.12.0"

[[package]]
name = "svc-axum"
version = "0.1.0"
dependencies = [
 "axum",
 "svc-common",
]

[[package]]
name = "svc-hyper"
version = "0.1.0"
dependencies = [
 "hyper 1.12.0",
 "svc-common",
]

[[package]]
name = "svc-loose"
version = "0.1.0"
dependencies = [
 "hyper",
]
"#;

    #[test]
    fn finds_the_version_a_service_depends_on() {
        assert_eq!(
            dependency_version(LOCK, "svc-axum", "axum").unwrap(),
            "0.8.9"
        );
        assert_eq!(
            dependency_version(LOCK, "svc-hyper", "hyper").unwrap(),
            "1.12.0",
            "the lock names the version when it holds several"
        );
        assert_eq!(dependency_version(LOCK, "axum", "hyper").unwrap(), "1.12.0");
    }

    #[test]
    fn missing_and_ambiguous_dependencies_are_errors() {
        assert_eq!(
            dependency_version(LOCK, "svc-rocket", "rocket").unwrap_err(),
            "package 'svc-rocket' is not in the lock file"
        );
        assert_eq!(
            dependency_version(LOCK, "svc-axum", "hyper").unwrap_err(),
            "package 'svc-axum' does not depend on 'hyper'"
        );
        assert_eq!(
            dependency_version(LOCK, "svc-loose", "hyper").unwrap_err(),
            "'svc-loose' depends on 'hyper' without a version, yet the lock file holds 2 of it"
        );
    }

    #[test]
    fn a_package_locked_once_has_its_version() {
        assert_eq!(locked_version(LOCK, "axum-core").unwrap(), "0.5.2");
        assert!(
            locked_version(LOCK, "hyper")
                .unwrap_err()
                .contains("(0.14.32, 1.12.0)")
        );
        assert!(locked_version(LOCK, "rocket").is_err());
    }

    #[test]
    fn the_workspace_lock_file_names_every_service_framework() {
        let lock = include_str!("../../../Cargo.lock");
        let version = dependency_version(lock, "svc-axum", "axum").unwrap();
        assert!(version.starts_with("0."), "{version}");
    }
}
