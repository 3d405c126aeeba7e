//! The build steps the commands share: the base images made present, the static service
//! binaries built, and the framework × base images built on them. `lab` and `run` both call
//! these; neither calls the other.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, Result};
use bench_core::catalog::{Base, Framework, image_tag};
use bollard::Docker;

use crate::bases::{self, BaseImage, BaseOptions};
use crate::binaries::{self, Binary};
use crate::images::{self, BuiltImage, ImageOptions};
use crate::progress::Progress;
use crate::workspace::Workspace;

/// Makes each of `bases` present, in order.
///
/// # Errors
/// When a base can be neither used, pulled nor built.
pub async fn ensure_bases(
    docker: &Docker,
    bases: &[Base],
    options: BaseOptions,
) -> Result<BTreeMap<Base, BaseImage>> {
    let mut ready = BTreeMap::new();
    for &base in bases {
        ready.insert(base, bases::ensure(docker, base, options).await?);
    }
    Ok(ready)
}

/// Builds the static binaries of `frameworks` (each alone, see [`binaries`]) off the async
/// runtime.
///
/// # Errors
/// When the build fails.
pub async fn build_binaries(
    workspace: &Workspace,
    frameworks: &[Framework],
) -> Result<BTreeMap<Framework, Binary>> {
    eprintln!(
        "building the static release binaries of {} (target {})",
        frameworks
            .iter()
            .map(|framework| framework.package())
            .collect::<Vec<_>>()
            .join(", "),
        binaries::TARGET
    );
    let workspace = workspace.clone();
    let frameworks = frameworks.to_vec();
    tokio::task::spawn_blocking(move || binaries::build_static(&workspace, &frameworks))
        .await
        .context("the thread running cargo panicked")?
}

/// The images that exist after [`build_images`], and the ones that failed with why.
#[derive(Debug, Default)]
pub struct Built {
    pub images: Vec<BuiltImage>,
    pub failures: Vec<BuildFailure>,
}

/// An image that could not be built.
#[derive(Debug)]
pub struct BuildFailure {
    pub framework: Framework,
    pub base: Base,
    pub tag: String,
    pub error: anyhow::Error,
}

/// Builds every framework × base image, in table order, with progress on stderr. A failed
/// image does not stop the others.
pub async fn build_images(
    docker: &Docker,
    dockerfiles: &Path,
    binaries: &BTreeMap<Framework, Binary>,
    bases: &BTreeMap<Base, BaseImage>,
    options: &ImageOptions,
) -> Built {
    // Framework-major, each in catalog order (the maps' order).
    let cells: Vec<(Framework, Base)> = binaries
        .keys()
        .flat_map(|&framework| bases.keys().map(move |&base| (framework, base)))
        .collect();
    let mut progress = Progress::new(cells.len());
    let mut built = Built::default();
    for (framework, base) in cells {
        let tag = image_tag(&options.repository, framework, base);
        progress.start(&format!("building {tag}"));
        let result = images::ensure_image(
            docker,
            dockerfiles,
            &binaries[&framework],
            &bases[&base],
            options,
        )
        .await;
        match result {
            Ok(image) => {
                let how = if image.rebuilt { "built" } else { "up to date" };
                progress.finish(&format!("{tag}: {how}"));
                built.images.push(image);
            }
            Err(error) => {
                progress.finish(&format!("{tag}: FAILED"));
                built.failures.push(BuildFailure {
                    framework,
                    base,
                    tag,
                    error,
                });
            }
        }
    }
    built
}
