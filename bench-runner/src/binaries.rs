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

/// Links the C runtime statically, so the binary runs in an empty (scratch) image.
const STATIC_RUSTFLAGS: &str = "-C target-feature=+crt-static";

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
    // RUSTFLAGS would lose against CARGO_ENCODED_RUSTFLAGS, which an outer cargo may set.
    command
        .env("RUSTFLAGS", STATIC_RUSTFLAGS)
        .env_remove("CARGO_ENCODED_RUSTFLAGS");
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
