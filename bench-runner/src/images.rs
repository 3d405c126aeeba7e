//! Builds the framework × base images through the engine's build API from an in-memory
//! context (a Dockerfile and the binary), labels them with what went in, and skips an image
//! whose binary, base and Dockerfile are unchanged.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use anyhow::{Context, Result, anyhow};
use bollard::Docker;
use bollard::query_parameters::{BuildImageOptionsBuilder, RemoveImageOptions};
use futures_util::StreamExt;
use sha2::{Digest, Sha256};

use crate::bases::BaseImage;
use crate::binaries::Binary;
use crate::docker::is_not_found;
use crate::measure::BINARY_PATH;
use bench_core::catalog::{Base, Framework, image_tag};

/// Labels every benchlab image carries.
pub mod label {
    pub const FRAMEWORK: &str = "benchlab.framework";
    pub const BASE: &str = "benchlab.base";
    /// Hex SHA-256 of the service binary.
    pub const BINARY_SHA256: &str = "benchlab.binary.sha256";
    /// The engine's id of the base image (`sha256:…`), or `scratch`.
    pub const BASE_DIGEST: &str = "benchlab.base.digest";
    /// What `FROM` named.
    pub const BASE_REFERENCE: &str = "benchlab.base.reference";
    /// [`bench_core::images::BaseOrigin`] as JSON.
    pub const BASE_PROVENANCE: &str = "benchlab.base.provenance";
    /// Hex SHA-256 of the Dockerfile.
    pub const DOCKERFILE_SHA256: &str = "benchlab.dockerfile.sha256";
    /// The commit the image was built from.
    pub const OCI_REVISION: &str = "org.opencontainers.image.revision";
    /// Where that commit's source is.
    pub const OCI_SOURCE: &str = "org.opencontainers.image.source";
    /// The workspace's version.
    pub const OCI_VERSION: &str = "org.opencontainers.image.version";
    /// When the image was built (RFC 3339).
    pub const OCI_CREATED: &str = "org.opencontainers.image.created";
}

/// How images are named and labelled.
#[derive(Clone, Debug)]
pub struct ImageOptions {
    /// Tags are `<repository>/<framework>:<base>`; tests use their own repository.
    pub repository: String,
    /// Labels added to every image, such as the one tests clean up by.
    pub extra_labels: BTreeMap<String, String>,
    /// Build even when nothing changed.
    pub rebuild: bool,
}

/// An image that exists after [`ensure_image`].
#[derive(Clone, Debug)]
pub struct BuiltImage {
    pub framework: Framework,
    pub base: Base,
    pub tag: String,
    /// The engine's image id.
    pub id: String,
    /// Hex SHA-256 of the service binary in it.
    pub binary_sha256: String,
    /// False when the existing image was up to date and kept.
    pub rebuilt: bool,
}

/// Makes sure the image of `binary` on `base` exists and is up to date, building it when its
/// labels say that the binary, the base or the Dockerfile changed.
///
/// # Errors
/// When the Dockerfile or binary cannot be read, or the build fails; the error names the image
/// and carries the engine's message.
pub async fn ensure_image(
    docker: &Docker,
    dockerfiles: &Path,
    binary: &Binary,
    base: &BaseImage,
    options: &ImageOptions,
) -> Result<BuiltImage> {
    let tag = image_tag(&options.repository, binary.framework, base.base);
    let dockerfile_path = dockerfiles.join(base.base.dockerfile());
    let dockerfile = std::fs::read(&dockerfile_path)
        .with_context(|| format!("could not read '{}'", dockerfile_path.display()))?;
    let labels = labels(binary, base, &dockerfile, &options.extra_labels)?;
    let built = |id: String, rebuilt| BuiltImage {
        framework: binary.framework,
        base: base.base,
        tag: tag.clone(),
        id,
        binary_sha256: binary.sha256.clone(),
        rebuilt,
    };
    let existing = existing(docker, &tag, &labels).await?;
    if let Some(Existing { id, current: true }) = &existing
        && !options.rebuild
    {
        return Ok(built(id.clone(), false));
    }
    let mut labels = labels;
    labels.extend(build_labels(dockerfiles));
    let binary_bytes = std::fs::read(&binary.path)
        .with_context(|| format!("could not read '{}'", binary.path.display()))?;
    let context = build_context(&dockerfile, &binary_bytes)?;
    let from = base.reference.as_deref().unwrap_or("scratch");
    build(docker, &tag, base, &labels, context)
        .await
        .with_context(|| format!("could not build image '{tag}' on '{from}'"))?;
    let id = docker
        .inspect_image(&tag)
        .await
        .with_context(|| format!("image '{tag}' is missing after its build"))?
        .id
        .unwrap_or_default();
    if let Some(old) = existing
        && old.id != id
    {
        // The tag moved on; the old image would linger untagged. An image a container still
        // uses is kept (no force).
        let _ = docker
            .remove_image(&old.id, None::<RemoveImageOptions>, None)
            .await;
    }
    Ok(built(id, true))
}

/// The labels an image of `binary` on `base` from `dockerfile` must carry.
fn labels(
    binary: &Binary,
    base: &BaseImage,
    dockerfile: &[u8],
    extra: &BTreeMap<String, String>,
) -> Result<HashMap<String, String>> {
    let mut labels: HashMap<String, String> = extra.clone().into_iter().collect();
    let provenance = serde_json::to_string(&base.provenance)?;
    let base_reference = base
        .reference
        .clone()
        .unwrap_or_else(|| "scratch".to_owned());
    labels.extend(
        [
            (label::FRAMEWORK, binary.framework.name().to_owned()),
            (label::BASE, base.base.name().to_owned()),
            (label::BINARY_SHA256, binary.sha256.clone()),
            (
                label::BASE_DIGEST,
                base.id.clone().unwrap_or_else(|| "scratch".to_owned()),
            ),
            (label::BASE_REFERENCE, base_reference.clone()),
            (label::BASE_PROVENANCE, provenance),
            (
                label::DOCKERFILE_SHA256,
                hex::encode(Sha256::digest(dockerfile)),
            ),
            (
                "org.opencontainers.image.title",
                binary.framework.package().to_owned(),
            ),
            ("org.opencontainers.image.base.name", base_reference),
        ]
        .map(|(key, value)| (key.to_owned(), value)),
    );
    Ok(labels)
}

/// The OCI labels that describe one build rather than what went in: the commit (`revision`),
/// where its source is (`source`: git's `origin`, else the checkout as a `file://` URL), the
/// workspace's `version` and when the image was built (`created`, RFC 3339). They are set
/// on every build and never compared: an image whose binary, base and Dockerfile are
/// unchanged is kept, with the labels of the build that made it.
fn build_labels(dockerfiles: &Path) -> [(String, String); 4] {
    let git = |args: &[&str]| {
        std::process::Command::new("git")
            .args(args)
            .current_dir(dockerfiles)
            .output()
            .ok()
            .filter(|output| output.status.success())
            .map(|output| String::from_utf8_lossy(&output.stdout).trim().to_owned())
            .filter(|text| !text.is_empty())
    };
    let revision = git(&["rev-parse", "HEAD"]).unwrap_or_else(|| "unknown".to_owned());
    let source = git(&["remote", "get-url", "origin"])
        .or_else(|| git(&["rev-parse", "--show-toplevel"]).map(|root| format!("file://{root}")))
        .unwrap_or_else(|| "unknown".to_owned());
    [
        (label::OCI_REVISION, revision),
        (label::OCI_SOURCE, source),
        (label::OCI_VERSION, env!("CARGO_PKG_VERSION").to_owned()),
        (label::OCI_CREATED, crate::provenance::now_rfc3339()),
    ]
    .map(|(key, value)| (key.to_owned(), value))
}

/// An image already tagged as the one to build.
struct Existing {
    id: String,
    /// It carries all the labels the new image would: nothing changed.
    current: bool,
}

/// The image tagged `tag`, if any, and whether it carries all of `labels`.
async fn existing(
    docker: &Docker,
    tag: &str,
    labels: &HashMap<String, String>,
) -> Result<Option<Existing>> {
    let image = match docker.inspect_image(tag).await {
        Ok(image) => image,
        Err(err) if is_not_found(&err) => return Ok(None),
        Err(err) => return Err(err).with_context(|| format!("could not inspect image '{tag}'")),
    };
    let current = image
        .config
        .and_then(|config| config.labels)
        .unwrap_or_default();
    Ok(Some(Existing {
        id: image.id.unwrap_or_default(),
        current: labels
            .iter()
            .all(|(key, value)| current.get(key) == Some(value)),
    }))
}

/// The build context: `Dockerfile` and the binary as `service`, root-owned, executable.
fn build_context(dockerfile: &[u8], binary: &[u8]) -> Result<Vec<u8>> {
    let mut builder = tar::Builder::new(Vec::new());
    for (path, mode, content) in [
        ("Dockerfile", 0o644, dockerfile),
        (BINARY_PATH, 0o755, binary),
    ] {
        let mut header = tar::Header::new_gnu();
        header.set_mode(mode);
        header.set_size(content.len() as u64);
        builder
            .append_data(&mut header, path, content)
            .with_context(|| format!("could not add '{path}' to the build context"))?;
    }
    builder
        .into_inner()
        .context("could not finish the build context")
}

/// Builds `tag` with the classic builder, reading the build's stream to its end: a failed
/// build reports its error inside the stream.
async fn build(
    docker: &Docker,
    tag: &str,
    base: &BaseImage,
    labels: &HashMap<String, String>,
    context: Vec<u8>,
) -> Result<()> {
    let mut build_args = HashMap::new();
    if let Some(reference) = &base.reference {
        build_args.insert("BASE".to_owned(), reference.clone());
    }
    let options = BuildImageOptionsBuilder::new()
        .dockerfile("Dockerfile")
        .t(tag)
        .rm(true)
        .forcerm(true)
        .buildargs(&build_args)
        .labels(labels)
        .build();
    let mut stream = docker.build_image(options, None, Some(bollard::body_full(context.into())));
    let mut output = String::new();
    while let Some(info) = stream.next().await {
        match info {
            Ok(info) => output.extend(info.stream),
            Err(bollard::errors::Error::DockerStreamError { error }) => {
                return Err(anyhow!("{}{}", error.trim(), last_lines(&output, 5)));
            }
            Err(err) => return Err(err).context("the engine's build stream broke off"),
        }
    }
    Ok(())
}

/// The last `count` non-empty lines of `text` on lines of their own, for context after a build
/// error; empty when there are none.
fn last_lines(text: &str, count: usize) -> String {
    let lines: Vec<&str> = text
        .lines()
        .filter(|line| !line.trim().is_empty())
        .collect();
    let start = lines.len().saturating_sub(count);
    lines[start..]
        .iter()
        .map(|line| format!("\n  | {line}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;
    use bench_core::images::BaseOrigin;

    fn binary() -> Binary {
        Binary {
            framework: Framework::Axum,
            path: "/nonexistent/svc-axum".into(),
            size: 3,
            sha256: "ab".repeat(32),
        }
    }

    #[test]
    fn labels_record_binary_base_and_dockerfile() {
        let base = BaseImage {
            base: Base::Debian,
            reference: Some("benchlab/base-debian:bookworm-slim".into()),
            id: Some("sha256:feed".into()),
            provenance: BaseOrigin::Scratch,
        };
        let extra = BTreeMap::from([("benchlab.test".to_owned(), "1".to_owned())]);
        let labels = labels(&binary(), &base, b"FROM x\n", &extra).unwrap();
        assert_eq!(labels[label::FRAMEWORK], "axum");
        assert_eq!(labels[label::BASE], "debian");
        assert_eq!(labels[label::BINARY_SHA256], "ab".repeat(32));
        assert_eq!(labels[label::BASE_DIGEST], "sha256:feed");
        assert_eq!(
            labels[label::BASE_REFERENCE],
            "benchlab/base-debian:bookworm-slim"
        );
        assert_eq!(labels[label::BASE_PROVENANCE], r#"{"kind":"scratch"}"#);
        assert_eq!(
            labels[label::DOCKERFILE_SHA256],
            hex::encode(Sha256::digest(b"FROM x\n"))
        );
        assert_eq!(labels["benchlab.test"], "1");
    }

    #[test]
    fn build_labels_name_the_commit_its_source_and_the_version() {
        let labels: HashMap<String, String> =
            build_labels(Path::new(env!("CARGO_MANIFEST_DIR"))).into();
        let revision = &labels[label::OCI_REVISION];
        assert_eq!(revision.len(), 40, "a full commit id: {revision}");
        assert!(revision.chars().all(|c| c.is_ascii_hexdigit()));
        assert!(!labels[label::OCI_SOURCE].is_empty());
        assert_eq!(labels[label::OCI_VERSION], env!("CARGO_PKG_VERSION"));
        let created = &labels[label::OCI_CREATED];
        assert!(
            time::OffsetDateTime::parse(created, &time::format_description::well_known::Rfc3339)
                .is_ok(),
            "{created}"
        );
    }

    #[test]
    fn context_holds_the_dockerfile_and_an_executable_service() {
        let context = build_context(b"FROM scratch\n", b"elf").unwrap();
        let mut archive = tar::Archive::new(context.as_slice());
        let entries: Vec<(String, u32, String)> = archive
            .entries()
            .unwrap()
            .map(|entry| {
                let mut entry = entry.unwrap();
                let mut content = String::new();
                entry.read_to_string(&mut content).unwrap();
                let path = entry.path().unwrap().to_string_lossy().into_owned();
                (path, entry.header().mode().unwrap(), content)
            })
            .collect();
        assert_eq!(
            entries,
            [
                ("Dockerfile".to_owned(), 0o644, "FROM scratch\n".to_owned()),
                ("service".to_owned(), 0o755, "elf".to_owned()),
            ]
        );
    }

    #[test]
    fn build_error_context_keeps_the_last_lines() {
        let output = "Step 1/3 : FROM x\n\n ---> abc\nStep 2/3 : COPY service /service\n";
        assert_eq!(
            last_lines(output, 2),
            "\n  |  ---> abc\n  | Step 2/3 : COPY service /service"
        );
        assert_eq!(last_lines("", 2), "");
    }
}
