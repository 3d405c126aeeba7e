//! The service binaries that go into the images: built statically, one cargo invocation per
//! framework, and kept by their SHA-256 in a store whose files never change.
//!
//! Two rules make a binary depend on nothing but the commit:
//! - Each service is built alone. One cargo invocation unifies the features of every package
//!   it builds, so `svc-hyper` built beside `svc-rocket` is another program than `svc-hyper`
//!   built alone (4,000 bytes apart, measured). Alone is what a user who builds only that
//!   service gets, so that is what is measured, whatever else a run or a test selects.
//! - What callers get is a copy in the store, `<target>/benchlab/binaries/<sha256>/<package>`,
//!   written once through a temporary file and a rename. Cargo replaces its own output on
//!   every build; a store file is never replaced, so a [`Binary`]'s path holds its digest's
//!   bytes for as long as it exists, whatever another run or test builds meanwhile.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};
use sha2::{Digest, Sha256};

use crate::workspace::{Workspace, cargo};
use bench_core::catalog::Framework;

/// The only target with a static glibc; it must be explicit, or the static flag also hits
/// proc-macro crates, which cannot be static.
pub const TARGET: &str = "x86_64-unknown-linux-gnu";

/// The flags of the static build: the C runtime linked in, so the binary runs in an empty
/// (scratch) image; and the checkout's and cargo's own paths, which panic messages carry,
/// remapped, so an image does not ship the build machine's paths. (Two checkouts at
/// different paths still give different bytes: cargo's metadata hash of a path dependency
/// includes its path.)
fn static_rustflags(workspace: &Workspace) -> Vec<String> {
    let mut flags = vec!["-C".to_owned(), "target-feature=+crt-static".to_owned()];
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cargo")));
    let remaps = [
        Some((workspace.root.clone(), "/benchlab")),
        cargo_home.map(|home| (home, "/cargo")),
    ];
    for (from, to) in remaps.into_iter().flatten() {
        flags.push("--remap-path-prefix".to_owned());
        flags.push(format!("{}={to}", from.display()));
    }
    flags
}

/// A built service binary.
#[derive(Clone, Debug)]
pub struct Binary {
    pub framework: Framework,
    /// The file in the store: it holds exactly the bytes of `sha256`, and always will.
    pub path: PathBuf,
    /// Size in bytes.
    pub size: u64,
    /// Hex SHA-256 of the file: what image labels and run results record.
    pub sha256: String,
}

/// Builds the static release binary of each of `frameworks`, each in a cargo invocation of
/// its own, and returns them by framework from the store. Cargo's own output goes to this
/// process's stderr.
///
/// # Errors
/// When cargo fails, or a binary is missing or cannot be stored afterwards.
pub fn build_static(
    workspace: &Workspace,
    frameworks: &[Framework],
) -> Result<BTreeMap<Framework, Binary>> {
    let built = workspace.target_dir.join(TARGET).join("release");
    let store = workspace.target_dir.join("benchlab").join("binaries");
    frameworks
        .iter()
        .map(|&framework| {
            build_one(workspace, framework)?;
            let binary = store_binary(framework, &built.join(framework.package()), &store)?;
            Ok((framework, binary))
        })
        .collect()
}

/// `cargo build --release` of `framework`'s package alone, statically linked.
fn build_one(workspace: &Workspace, framework: Framework) -> Result<()> {
    let mut command = Command::new(cargo());
    command.current_dir(&workspace.root).args([
        "build",
        "--release",
        "--locked",
        "--target",
        TARGET,
        "--package",
        framework.package(),
    ]);
    // The encoded form keeps paths with spaces whole, and wins over RUSTFLAGS.
    command
        .env(
            "CARGO_ENCODED_RUSTFLAGS",
            static_rustflags(workspace).join("\x1f"),
        )
        .env_remove("RUSTFLAGS");
    let status = command
        .status()
        .with_context(|| format!("could not run {command:?}"))?;
    if !status.success() {
        bail!("the static release build of {framework} failed ({status}): {command:?}");
    }
    Ok(())
}

/// Reads cargo's output at `built` once, and makes sure the store holds those bytes under
/// their digest; the returned path is the store's.
fn store_binary(framework: Framework, built: &Path, store: &Path) -> Result<Binary> {
    let bytes = std::fs::read(built).with_context(|| {
        format!(
            "could not read the {framework} binary '{}'",
            built.display()
        )
    })?;
    let sha256 = hex::encode(Sha256::digest(&bytes));
    let dir = store.join(&sha256);
    let path = dir.join(framework.package());
    if !path.is_file() {
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("could not create '{}'", dir.display()))?;
        // The temporary name is this process's own, so two runs storing the same binary at
        // once each rename a whole file over an identical one.
        let temporary = dir.join(format!(
            ".{}.{}.tmp",
            framework.package(),
            std::process::id()
        ));
        write_executable(&temporary, &bytes)?;
        std::fs::rename(&temporary, &path)
            .with_context(|| format!("could not store '{}'", path.display()))?;
    }
    Ok(Binary {
        framework,
        path,
        size: bytes.len() as u64,
        sha256,
    })
}

fn write_executable(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o755)
        .open(path)
        .with_context(|| format!("could not create '{}'", path.display()))?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .with_context(|| format!("could not write '{}'", path.display()))
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    #[test]
    fn the_store_keeps_a_binary_by_its_digest_and_never_replaces_it() {
        let dir = tempfile::tempdir().unwrap();
        let built = dir.path().join("svc-axum");
        let store = dir.path().join("store");
        std::fs::write(&built, b"first build").unwrap();
        let first = store_binary(Framework::Axum, &built, &store).unwrap();
        assert_eq!(first.sha256, hex::encode(Sha256::digest(b"first build")));
        assert_eq!(first.size, 11);
        assert_eq!(
            first.path,
            store.join(&first.sha256).join("svc-axum"),
            "the file keeps the package's name"
        );
        let mode = std::fs::metadata(&first.path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o755);

        // Cargo replaces its output; what was handed out before stays as it was.
        std::fs::write(&built, b"second build").unwrap();
        let second = store_binary(Framework::Axum, &built, &store).unwrap();
        assert_ne!(second.path, first.path);
        assert_eq!(std::fs::read(&first.path).unwrap(), b"first build");
        assert_eq!(std::fs::read(&second.path).unwrap(), b"second build");
        let again = store_binary(Framework::Axum, &built, &store).unwrap();
        assert_eq!(again.path, second.path);
    }
}
