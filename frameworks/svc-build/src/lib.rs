//! Build-script helper for the framework crates: reads the workspace's `Cargo.lock` and hands
//! the locked version of a dependency to the crate as a compile-time environment variable, so a
//! service can name the exact framework version it was built with in its startup line.
//!
//! It has no dependencies on purpose: build scripts run before everything else compiles.

use std::path::{Path, PathBuf};

/// Emits `cargo:rustc-env=FRAMEWORK_VERSION=<version>` for `package` as locked in the
/// workspace's `Cargo.lock`. `series` is the version requirement the crate depends on (`"0.8"`,
/// `"1"`): a lock file may hold several major versions of one package (rocket brings hyper
/// 0.14 beside hyper 1).
///
/// # Panics
/// When the lock file cannot be read or does not lock exactly one version of `package` in
/// `series`: a build that cannot name its framework version should not produce a binary.
pub fn export_framework_version(package: &str, series: &str) {
    let lock = workspace_lock_file();
    println!("cargo:rerun-if-changed={}", lock.display());
    let text = std::fs::read_to_string(&lock)
        .unwrap_or_else(|err| panic!("could not read '{}': {err}", lock.display()));
    let version = locked_version(&text, package, series)
        .unwrap_or_else(|err| panic!("{}: {err}", lock.display()));
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

/// The version in `series` (`"0.8"` matches `0.8.9`, not `0.80.0`) that `package` is locked at
/// in the text of a `Cargo.lock`.
///
/// A lock file lists `[[package]]` tables whose first two keys are `name` and `version`. Two
/// versions in one series is an error, because the startup line must name one version.
pub fn locked_version(lock: &str, package: &str, series: &str) -> Result<String, String> {
    let wanted_name = format!("name = \"{package}\"");
    let in_series = |version: &str| {
        version
            .strip_prefix(series)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('.'))
    };
    let mut found = Vec::new();
    let mut lines = lock.lines().map(str::trim);
    while let Some(line) = lines.next() {
        if line != wanted_name {
            continue;
        }
        let version = lines
            .next()
            .and_then(|line| line.strip_prefix("version = \""))
            .and_then(|rest| rest.strip_suffix('"'))
            .ok_or_else(|| format!("package '{package}' has no version line after its name"))?;
        if in_series(version) {
            found.push(version.to_owned());
        }
    }
    match found.as_slice() {
        [version] => Ok(version.clone()),
        [] => Err(format!(
            "package '{package}' has no version {series}.x in the lock file"
        )),
        _ => Err(format!(
            "package '{package}' is locked at several {series}.x versions ({})",
            found.join(", ")
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::locked_version;

    const LOCK: &str = r#"
[[package]]
name = "axum"
version = "0.8.9"
source = "registry+https://github.com/rust-lang/crates.io-index"

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
name = "twice"
version = "1.0.0"

[[package]]
name = "twice"
version = "1.2.0"
"#;

    #[test]
    fn finds_the_one_locked_version() {
        assert_eq!(locked_version(LOCK, "axum", "0.8").unwrap(), "0.8.9");
        assert_eq!(locked_version(LOCK, "axum-core", "0.5").unwrap(), "0.5.2");
        assert_eq!(locked_version(LOCK, "hyper", "1").unwrap(), "1.12.0");
        assert_eq!(locked_version(LOCK, "hyper", "0.14").unwrap(), "0.14.32");
    }

    #[test]
    fn missing_and_ambiguous_packages_are_errors() {
        assert_eq!(
            locked_version(LOCK, "rocket", "0.5").unwrap_err(),
            "package 'rocket' has no version 0.5.x in the lock file"
        );
        assert_eq!(
            locked_version(LOCK, "axum", "0.80").unwrap_err(),
            "package 'axum' has no version 0.80.x in the lock file"
        );
        let err = locked_version(LOCK, "twice", "1").unwrap_err();
        assert!(err.contains("(1.0.0, 1.2.0)"), "{err}");
    }
}
