//! The image table, the output contract of `bench-runner images`: one row per framework ×
//! base image as measured from the image itself, and its exporters (markdown for people,
//! JSON for tools). Pure: rows in, strings out. Fields are added, never renamed.

use std::fmt::{self, Write as _};

use serde::{Deserialize, Serialize};

use crate::catalog::{Base, Framework};
use crate::units::Bytes;

/// One image of the framework × base matrix, as measured from the image itself.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
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
    /// The image as a registry has it, once `bench-runner push` pushed this very image (same
    /// id); absent before that.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registry: Option<RegistryStats>,
}

/// One push of an image to a registry and one cold pull of it back, as `bench-runner push`
/// measured them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RegistryStats {
    /// Where it went: `127.0.0.1:40123/benchlab/axum:scratch`.
    pub reference: String,
    /// What kind of registry that was, in words (`local docker-registry 2.8.2 on loopback`,
    /// or the registry's host), so a reader knows what the timings include.
    pub registry: String,
    /// The manifest's digest, as the registry serves it.
    pub digest: String,
    /// What the registry stores for the image: the config and every layer, compressed, as
    /// the manifest lists them.
    pub stored_bytes: Bytes,
    /// What the push added to the registry's blobs (layers it lacked, the config and the
    /// manifest), when the registry's storage could be read (a local registry); a layer the
    /// registry already had is not sent again.
    pub sent_bytes: Option<Bytes>,
    /// Layers the engine uploaded, and layers the registry already had (or mounted from
    /// another repository).
    pub layers_pushed: usize,
    pub layers_present: usize,
    /// From the push request to the end of the engine's push stream, in seconds.
    pub push_seconds: f64,
    /// From the pull request to the end of the engine's pull stream, with no layer of the
    /// image present in the engine beforehand, in seconds: download, decompression and
    /// extraction. Absent when the pull could not be made cold; `cold_pull_note` says why.
    pub cold_pull_seconds: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cold_pull_note: Option<String>,
    /// When the push started (RFC 3339).
    pub pushed_at: String,
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

/// The rows of a JSON document [`json`] wrote.
///
/// # Errors
/// When `text` is not such a document.
pub fn from_json(text: &str) -> Result<Vec<ImageRow>, serde_json::Error> {
    #[derive(Deserialize)]
    struct Owned {
        images: Vec<ImageRow>,
    }
    serde_json::from_str::<Owned>(text).map(|document| document.images)
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
    out.push_str(&registry_markdown(rows));
    out
}

/// The registry table: one row per image `bench-runner push` measured; empty when it
/// measured none.
fn registry_markdown(rows: &[ImageRow]) -> String {
    let pushed: Vec<(&ImageRow, &RegistryStats)> = rows
        .iter()
        .filter_map(|row| Some((row, row.registry.as_ref()?)))
        .collect();
    let Some((_, first)) = pushed.first() else {
        return String::new();
    };
    let mut out = format!(
        "\n### In a registry\n\n\
         Pushed to {} by `bench-runner push`.\n\n\
         | Framework | Base | Stored | Sent | Layers sent | Push | Cold pull | Digest |\n\
         |---|---|--:|--:|--:|--:|--:|---|\n",
        first.registry
    );
    for (row, stats) in &pushed {
        let sent = stats.sent_bytes.map_or_else(|| "–".to_owned(), human);
        let pull = stats
            .cold_pull_seconds
            .map_or_else(|| "–".to_owned(), seconds);
        let digest = stats.digest.get(..19).unwrap_or(&stats.digest);
        // Writing to a String cannot fail.
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} of {} | {} | {} | `{digest}` |",
            row.framework,
            row.base,
            human(stats.stored_bytes),
            sent,
            stats.layers_pushed,
            stats.layers_pushed + stats.layers_present,
            seconds(stats.push_seconds),
            pull,
        );
    }
    out.push_str(
        "\nStored: the config and the compressed layers the manifest lists, as the registry \
         keeps them. Sent: what the push added to the registry's blobs; a layer it already \
         had (a base shared with an image pushed before) is not sent again. Push: the \
         engine's push, request to last message. Cold pull: the engine's pull with none of \
         the image's layers present (every image sharing them was saved, removed and loaded \
         back afterwards): download, decompression and extraction, as on a fresh Fargate \
         host, here without a network in between.\n",
    );
    if pushed
        .iter()
        .any(|(_, stats)| stats.cold_pull_note.is_some())
    {
        out.push_str("\nNo cold pull:\n\n");
    }
    for (row, stats) in &pushed {
        if let Some(note) = &stats.cold_pull_note {
            let _ = writeln!(out, "- {} on {}: {note}", row.framework, row.base);
        }
    }
    out
}

/// Seconds for people: `0.412 s`, `12.3 s`.
fn seconds(value: f64) -> String {
    if value < 10.0 {
        format!("{value:.3} s")
    } else {
        format!("{value:.1} s")
    }
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
                registry: Some(RegistryStats {
                    reference: "127.0.0.1:40123/benchlab/axum:scratch".into(),
                    registry: "a local docker-registry on loopback".into(),
                    digest: "sha256:4e5f6a7b8c9d0e1f2a3b4c5d6e7f8a9b".into(),
                    stored_bytes: 803_001,
                    sent_bytes: Some(803_529),
                    layers_pushed: 1,
                    layers_present: 0,
                    push_seconds: 0.4123,
                    cold_pull_seconds: Some(0.2871),
                    cold_pull_note: None,
                    pushed_at: "2026-11-26T08:00:00Z".into(),
                }),
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
                registry: Some(RegistryStats {
                    reference: "127.0.0.1:40123/benchlab/actix-web:distroless".into(),
                    registry: "a local docker-registry on loopback".into(),
                    digest: "sha256:5f6a7b8c9d0e1f2a3b4c5d6e7f8a9b0c".into(),
                    stored_bytes: 9_403_120,
                    sent_bytes: None,
                    layers_pushed: 1,
                    layers_present: 1,
                    push_seconds: 12.34,
                    cold_pull_seconds: None,
                    cold_pull_note: Some("a container uses it".into()),
                    pushed_at: "2026-11-26T08:00:01Z".into(),
                }),
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
                registry: None,
            },
        ]
    }

    #[test]
    fn markdown_table() {
        insta::assert_snapshot!(markdown(&rows()));
    }

    #[test]
    fn json_reads_back_what_it_wrote() {
        assert_eq!(from_json(&json(&rows())).unwrap(), rows());
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
