//! The service binaries that go into the images: built once, statically linked, with one
//! cargo invocation for every framework, then identified by their SHA-256.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};
use sha2::{Digest, Sha256};

use crate::catalog::Framework;
use crate::workspace::{Workspace, cargo};

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
    pub path: PathBuf,
    /// Size in bytes.
    pub size: u64,
    /// Hex SHA-256 of the file: what image labels record to decide on rebuilds.
    pub sha256: String,
}

/// Builds the release binaries of `frameworks` in one cargo invocation, statically linked,
/// and returns them by framework. Cargo's own output goes to this process's stderr.
///
/// # Errors
/// When cargo fails or a binary is missing afterwards.
pub fn build_static(
    workspace: &Workspace,
    frameworks: &[Framework],
) -> Result<BTreeMap<Framework, Binary>> {
    let mut command = Command::new(cargo());
    command.current_dir(&workspace.root).args([
        "build",
        "--release",
        "--locked",
        "--target",
        TARGET,
    ]);
    for framework in frameworks {
        command.args(["-p", framework.package()]);
    }
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
        bail!("the static release build failed ({status}): {command:?}");
    }
    let dir = workspace.target_dir.join(TARGET).join("release");
    frameworks
        .iter()
        .map(|&framework| {
            let binary = identify(framework, &dir.join(framework.package()))?;
            Ok((framework, binary))
        })
        .collect()
}

/// Reads the binary at `path` for its size and digest.
fn identify(framework: Framework, path: &Path) -> Result<Binary> {
    let mut file = std::fs::File::open(path)
        .with_context(|| format!("could not open the {framework} binary '{}'", path.display()))?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0; 1 << 16];
    let mut size = 0;
    loop {
        let read = file
            .read(&mut buffer)
            .with_context(|| format!("could not read '{}'", path.display()))?;
        if read == 0 {
            break;
        }
        hasher.update(&buffer[..read]);
        size += read as u64;
    }
    Ok(Binary {
        framework,
        path: path.to_owned(),
        size,
        sha256: hex::encode(hasher.finalize()),
    })
}
