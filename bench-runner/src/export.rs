//! The image table as bytes: markdown for people, JSON for tools. Pure: rows in, bytes out.

use std::fmt::Write as _;

use anyhow::{Context, Result};
use serde::Serialize;

use crate::results::{Bytes, ImageRow};

/// The JSON document: sizes in bytes.
#[derive(Serialize)]
struct Document<'a> {
    images: &'a [ImageRow],
}

/// The rows as a JSON document `{"images": [...]}`, pretty-printed, ending in a newline.
///
/// # Errors
/// Never in practice: every row is serializable.
pub fn json(rows: &[ImageRow]) -> Result<Vec<u8>> {
    let mut bytes = serde_json::to_vec_pretty(&Document { images: rows })
        .context("could not serialize the image table")?;
    bytes.push(b'\n');
    Ok(bytes)
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
    use crate::results::Provenance;

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
                base_provenance: Provenance::Scratch,
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
                base_provenance: Provenance::DebianPackages {
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
                base_provenance: Provenance::Upstream {
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
        let json = String::from_utf8(json(&rows()).unwrap()).unwrap();
        insta::assert_snapshot!(json);
    }

    #[test]
    fn json_round_trips() {
        #[derive(serde::Deserialize)]
        struct Document {
            images: Vec<ImageRow>,
        }
        let document: Document = serde_json::from_slice(&json(&rows()).unwrap()).unwrap();
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
