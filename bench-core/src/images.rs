//! The image table, the output contract of `bench-runner images`: one row per framework ×
//! base image as measured from the image itself, and its exporters (markdown for people,
//! JSON for tools). Pure: rows in, strings out. Fields are added, never renamed.

use std::fmt::{self, Write as _};

use serde::{Deserialize, Serialize};

use crate::catalog::{Base, Framework};
use crate::units::Bytes;

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
    pub base_provenance: BaseOrigin,
}

/// Where a base image came from, recorded on every benchlab image in the label
/// `benchlab.base.provenance` (as this JSON) and in the image table as `base_provenance`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum BaseOrigin {
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

impl fmt::Display for BaseOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BaseOrigin::Scratch => f.write_str("none (scratch)"),
            BaseOrigin::Upstream { reference, digest } => {
                let short = digest.get(..19).unwrap_or(digest);
                write!(f, "upstream {reference} ({short})")
            }
            BaseOrigin::DebianPackages {
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

/// The JSON document: sizes in bytes.
#[derive(Serialize)]
struct Document<'a> {
    images: &'a [ImageRow],
}

/// The rows as a JSON document `{"images": [...]}`, pretty-printed, ending in a newline.
pub fn json(rows: &[ImageRow]) -> String {
    let mut json = serde_json::to_string_pretty(&Document { images: rows })
        .expect("image rows have string keys and whole numbers");
    json.push('\n');
    json
}

/// The rows as a markdown table in human units, followed by what the columns measure.
pub fn markdown(rows: &[ImageRow]) -> String {
    let mut out = String::from(
        "| Framework | Base | Binary | Image | Compressed | Layers | Files | Shell \
         | Package manager | User | Base image |\n\
         |---|---|--:|--:|--:|--:|--:|---|---|---|---|\n",
    );
    for row in rows {
        let found = |path: &Option<String>| path.as_deref().unwrap_or("no").to_owned();
        let user = if row.user.is_empty() {
            "root"
        } else {
            &row.user
        };
        // Writing to a String cannot fail.
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            row.framework,
            row.base,
            human(row.binary_bytes),
            human(row.image_bytes),
            human(row.compressed_bytes),
            row.layers,
            row.files,
            found(&row.shell),
            found(&row.package_manager),
            user,
            row.base_provenance,
        );
    }
    out.push_str(
        "\nSizes in SI units (1 MB = 1,000,000 bytes). Image: uncompressed, as the engine \
         reports it. Compressed: every layer tar gzipped (level 6), as a registry stores it. \
         Files: entries of the image filesystem that are not directories. Shell and package \
         manager: the first one found, or no.\n",
    );
    out
}

/// `bytes` in SI units with three significant digits: `812 B`, `1.85 MB`, `74.8 MB`.
pub fn human(bytes: Bytes) -> String {
    const UNITS: [&str; 4] = ["kB", "MB", "GB", "TB"];
    if bytes < 1000 {
        return format!("{bytes} B");
    }
    // Precision loss is fine: three significant digits are shown.
    #[allow(clippy::cast_precision_loss)]
    let mut value = bytes as f64 / 1000.0;
    let mut unit = 0;
    while value >= 999.5 && unit + 1 < UNITS.len() {
        value /= 1000.0;
        unit += 1;
    }
    let unit = UNITS[unit];
    if value >= 99.95 {
        format!("{value:.0} {unit}")
    } else if value >= 9.995 {
        format!("{value:.1} {unit}")
    } else {
        format!("{value:.2} {unit}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::{Base, Framework};

    fn rows() -> Vec<ImageRow> {
        vec![
            ImageRow {
                framework: Framework::Axum,
                base: Base::Scratch,
                tag: "benchlab/axum:scratch".into(),
                image_id: "sha256:1111".into(),
                binary_bytes: 1_851_392,
                image_bytes: 1_851_392,
                compressed_bytes: 802_113,
                layers: 1,
                files: 1,
                shell: None,
                package_manager: None,
                user: "65532:65532".into(),
                base_provenance: BaseOrigin::Scratch,
            },
            ImageRow {
                framework: Framework::ActixWeb,
                base: Base::Distroless,
                tag: "benchlab/actix-web:distroless".into(),
                image_id: "sha256:2222".into(),
                binary_bytes: 2_604_112,
                image_bytes: 25_712_004,
                compressed_bytes: 9_402_331,
                layers: 2,
                files: 1_342,
                shell: None,
                package_manager: None,
                user: "65532:65532".into(),
                base_provenance: BaseOrigin::DebianPackages {
                    suite: "bookworm".into(),
                    snapshot: "2026-11-22T02:09:05Z".into(),
                    built: "2026-11-23T14:00:00Z".into(),
                },
            },
            ImageRow {
                framework: Framework::Hyper,
                base: Base::Debian,
                tag: "benchlab/hyper:debian".into(),
                image_id: "sha256:3333".into(),
                binary_bytes: 1_400_000,
                image_bytes: 76_200_000,
                compressed_bytes: 28_100_000,
                layers: 2,
                files: 4_021,
                shell: Some("/usr/bin/sh".into()),
                package_manager: Some("/usr/bin/dpkg".into()),
                user: String::new(),
                base_provenance: BaseOrigin::Upstream {
                    reference: "debian:bookworm-slim".into(),
                    digest: "sha256:0123456789abcdef0123456789abcdef".into(),
                },
            },
        ]
    }

    #[test]
    fn markdown_table() {
        insta::assert_snapshot!(markdown(&rows()));
    }

    #[test]
    fn json_document() {
        insta::assert_snapshot!(json(&rows()));
    }

    #[test]
    fn json_round_trips() {
        #[derive(serde::Deserialize)]
        struct Document {
            images: Vec<ImageRow>,
        }
        let document: Document = serde_json::from_str(&json(&rows())).unwrap();
        assert_eq!(document.images, rows());
    }

    #[test]
    fn human_units_keep_three_significant_digits() {
        let cases = [
            (0, "0 B"),
            (999, "999 B"),
            (1_000, "1.00 kB"),
            (812_345, "812 kB"),
            (999_499, "999 kB"),
            (999_500, "1.00 MB"),
            (1_851_392, "1.85 MB"),
            (23_456_789, "23.5 MB"),
            (74_800_000, "74.8 MB"),
            (164_900_000, "165 MB"),
            (2_000_000_000, "2.00 GB"),
        ];
        for (bytes, expected) in cases {
            assert_eq!(human(bytes), expected, "{bytes} bytes");
        }
    }
}
