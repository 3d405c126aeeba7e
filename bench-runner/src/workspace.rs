//! Where the benchlab workspace is: its root (Dockerfiles, results) and its target directory
//! (the service binaries), as cargo itself reports them.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};
use serde::Deserialize;

/// The benchlab workspace this runner was built from.
#[derive(Clone, Debug)]
pub struct Workspace {
    /// The directory of the root `Cargo.toml`.
    pub root: PathBuf,
    /// Cargo's target directory (honours `CARGO_TARGET_DIR` and `.cargo/config.toml`).
    pub target_dir: PathBuf,
}

/// The part of `cargo metadata` benchlab reads.
#[derive(Deserialize)]
struct Metadata {
    workspace_root: PathBuf,
    target_directory: PathBuf,
}

impl Workspace {
    /// Asks cargo where the workspace of this crate is. The manifest path is the one this
    /// runner was compiled from, so the answer does not depend on the current directory.
    ///
    /// # Errors
    /// When cargo cannot be run or does not describe the workspace.
    pub fn locate() -> Result<Self> {
        let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml");
        let output = Command::new(cargo())
            .args([
                "metadata",
                "--format-version",
                "1",
                "--no-deps",
                "--manifest-path",
            ])
            .arg(&manifest)
            .output()
            .context("could not run `cargo metadata`: is cargo on PATH?")?;
        if !output.status.success() {
            bail!(
                "`cargo metadata --manifest-path {}` failed: {}",
                manifest.display(),
                String::from_utf8_lossy(&output.stderr).trim()
            );
        }
        let metadata: Metadata = serde_json::from_slice(&output.stdout)
            .context("could not read the output of `cargo metadata`")?;
        Ok(Self {
            root: metadata.workspace_root,
            target_dir: metadata.target_directory,
        })
    }

    /// The directory holding the Dockerfiles.
    pub fn dockerfiles(&self) -> PathBuf {
        self.root.join("dockerfiles")
    }

    /// Where the image lab writes its tables.
    pub fn image_results(&self) -> PathBuf {
        self.root.join("results").join("images")
    }
}

/// The cargo to run: the one that runs us when there is one, else `cargo` from PATH.
pub fn cargo() -> PathBuf {
    std::env::var_os("CARGO").map_or_else(|| PathBuf::from("cargo"), PathBuf::from)
}
