//! The image table's row: the output contract of `bench-runner images`, written as JSON and
//! markdown and read by later tooling. Fields are added, never renamed.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::catalog::{Base, Framework};

/// Bytes, as a count.
pub type Bytes = u64;

/// One image of the framework × base matrix, as measured from the image itself.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageRow {
    pub framework: Framework,
    pub base: Base,
    /// `benchlab/<framework>:<base>`.
    pub tag: String,
    /// The engine's image id (`sha256:…`).
    pub image_id: String,
    /// Size of the service binary inside the image.
    pub binary_bytes: Bytes,
    /// Uncompressed size of the image as the engine reports it (the sum of its layers' files).
    pub image_bytes: Bytes,
    /// What a registry stores: the sum of each layer tar, gzipped at the default level (6).
    pub compressed_bytes: Bytes,
    pub layers: usize,
    /// Entries of the image filesystem that are not directories: regular files, links, nodes.
    pub files: usize,
    /// The first shell found (`/bin/sh`, `/usr/bin/bash`, …), if any.
    pub shell: Option<String>,
    /// The first package manager found (`/usr/bin/dpkg`, `/usr/bin/apt`, …), if any.
    pub package_manager: Option<String>,
    /// The user the image runs as, from its config (`65532:65532`); empty means root.
    pub user: String,
    /// Where the base image came from.
    pub base_provenance: Provenance,
}

/// Where a base image came from, recorded on every benchlab image in the label
/// `benchlab.base.provenance` (as this JSON).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Provenance {
    /// `FROM scratch`: no base image.
    Scratch,
    /// The upstream image, as pulled from its registry (by the user or by benchlab).
    Upstream {
        reference: String,
        /// The registry digest when the engine knows one, else the engine's image id.
        digest: String,
    },
    /// Built by benchlab from Debian packages with mmdebstrap.
    DebianPackages {
        /// The Debian suite (`bookworm`), with its updates and security suites.
        suite: String,
        /// The state of the archive the packages came from: the newest `Date:` of the
        /// Release files apt used (RFC 3339).
        snapshot: String,
        /// When the base was built (RFC 3339).
        built: String,
    },
}

impl fmt::Display for Provenance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Provenance::Scratch => f.write_str("none (scratch)"),
            Provenance::Upstream { reference, digest } => {
                let short = digest.get(..19).unwrap_or(digest);
                write!(f, "upstream {reference} ({short})")
            }
            Provenance::DebianPackages {
                suite, snapshot, ..
            } => {
                let date = snapshot.get(..10).unwrap_or(snapshot);
                write!(
                    f,
                    "built locally from Debian packages ({suite}, snapshot {date})"
                )
            }
        }
    }
}
