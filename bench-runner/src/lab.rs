//! The image lab's commands, `bases` and `images`, each reading as its table of contents: plan,
//! bases, binaries, images, measurements, tables. It writes the image table; run results are
//! `run`'s.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, anyhow};
use bollard::Docker;

use bench_core::catalog::{Base, Framework};
use bench_core::images::{self as table, BaseOrigin, ImageRow};

use crate::artifacts::{build_binaries, build_images, ensure_bases};
use crate::bases::BaseOptions;
use crate::cli::{BasesArgs, ImagesArgs};
use crate::images::{BuiltImage, ImageOptions, label};
use crate::output;
use crate::workspace::Workspace;
use crate::{docker, measure};

/// What `bench-runner bases` does.
#[derive(Clone, Debug)]
pub struct BasesPlan {
    pub bases: Vec<Base>,
    pub options: BaseOptions,
}

impl BasesPlan {
    pub fn new(args: &BasesArgs) -> Self {
        Self {
            bases: all_if_empty(&args.bases, Base::ALL),
            options: BaseOptions {
                pull: !args.pull.no_pull,
                rebuild: args.rebuild,
            },
        }
    }
}

/// What `bench-runner images` does.
#[derive(Clone, Debug)]
pub struct ImagesPlan {
    pub frameworks: Vec<Framework>,
    pub bases: Vec<Base>,
    pub base_options: BaseOptions,
    pub image_options: ImageOptions,
    /// Where the tables go; `None` for the workspace's results/images.
    pub out: Option<PathBuf>,
}

impl ImagesPlan {
    pub fn new(args: &ImagesArgs) -> Self {
        Self {
            frameworks: all_if_empty(&args.frameworks, Framework::ALL),
            bases: all_if_empty(&args.bases, Base::ALL),
            base_options: BaseOptions {
                pull: !args.pull.no_pull,
                rebuild: false,
            },
            image_options: ImageOptions {
                repository: args.repository.clone(),
                extra_labels: BTreeMap::new(),
                rebuild: args.rebuild,
            },
            out: args.out.clone(),
        }
    }
}

/// The selection, sorted and without duplicates; everything when nothing was selected.
fn all_if_empty<T: Copy + Ord>(selected: &[T], all: &[T]) -> Vec<T> {
    let mut chosen = if selected.is_empty() {
        all.to_vec()
    } else {
        selected.to_vec()
    };
    chosen.sort();
    chosen.dedup();
    chosen
}

/// `bench-runner bases`: makes every selected base present and lists them.
///
/// # Errors
/// When no engine answers or a base can be neither used, pulled nor built.
pub async fn bases_command(plan: &BasesPlan) -> Result<ExitCode> {
    let docker = docker::connect().await?;
    let bases = ensure_bases(&docker, &plan.bases, plan.options).await?;
    println!("| Base | Image | Id | Provenance |\n|---|---|---|---|");
    for base in bases.values() {
        let id = base.id.as_deref().unwrap_or("-");
        println!(
            "| {} | {} | {} | {} |",
            base.base,
            base.reference.as_deref().unwrap_or("scratch"),
            id.get(..19).unwrap_or(id),
            base.provenance
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// `bench-runner images`: bases, one static build of the binaries, the images, their
/// measurements, the tables. An image that fails to build is reported at the end and fails
/// the command, after the others are built and measured.
///
/// # Errors
/// When something all images need fails: the engine, a base, the binaries, the tables.
pub async fn images_command(plan: &ImagesPlan) -> Result<ExitCode> {
    let docker = docker::connect().await?;
    let workspace = Workspace::locate()?;
    let bases = ensure_bases(&docker, &plan.bases, plan.base_options).await?;
    let binaries = build_binaries(&workspace, &plan.frameworks).await?;
    let built = build_images(
        &docker,
        &workspace.dockerfiles(),
        &binaries,
        &bases,
        &plan.image_options,
    )
    .await;
    let mut rows = measure_images(&docker, &built.images).await?;
    let out = plan
        .out
        .clone()
        .unwrap_or_else(|| workspace.image_results());
    // What `push` measured still holds for an image that was kept as it was.
    let previous = output::read_image_rows(&out)?;
    for row in &mut rows {
        row.registry = previous
            .iter()
            .find(|old| old.image_id == row.image_id && old.tag == row.tag)
            .and_then(|old| old.registry.clone());
    }
    output::write_image_tables(&out, &rows)?;
    print!("{}", table::markdown(&rows));
    eprintln!(
        "wrote {}, images.json and image-sizes.svg",
        out.join("images.md").display()
    );
    if built.failures.is_empty() {
        return Ok(ExitCode::SUCCESS);
    }
    for failure in &built.failures {
        eprintln!("error: image '{}' failed: {:#}", failure.tag, failure.error);
    }
    eprintln!(
        "{} of {} images failed",
        built.failures.len(),
        built.failures.len() + built.images.len()
    );
    Ok(ExitCode::FAILURE)
}

/// Measures `images` as the engine has them: one row each, in the given order.
///
/// # Errors
/// When an image cannot be inspected or exported.
pub async fn measure_images(docker: &Docker, images: &[BuiltImage]) -> Result<Vec<ImageRow>> {
    if images.is_empty() {
        return Ok(Vec::new());
    }
    eprintln!(
        "measuring {} images (export, gzip of every layer)",
        images.len()
    );
    let tags: Vec<String> = images.iter().map(|image| image.tag.clone()).collect();
    let mut contents = measure::contents(docker, &tags).await?;
    let mut rows = Vec::with_capacity(images.len());
    for image in images {
        let inspect = docker
            .inspect_image(&image.tag)
            .await
            .with_context(|| format!("could not inspect image '{}'", image.tag))?;
        let config = inspect.config.unwrap_or_default();
        let labels = config.labels.unwrap_or_default();
        let provenance: BaseOrigin = labels
            .get(label::BASE_PROVENANCE)
            .ok_or_else(|| anyhow!("image '{}' has no base provenance label", image.tag))
            .and_then(|json| Ok(serde_json::from_str(json)?))
            .with_context(|| format!("could not read the base provenance of '{}'", image.tag))?;
        let measured = contents
            .remove(&image.tag)
            .with_context(|| format!("image '{}' is missing from the export", image.tag))?;
        rows.push(ImageRow {
            framework: image.framework,
            base: image.base,
            tag: image.tag.clone(),
            image_id: inspect.id.unwrap_or_default(),
            binary_bytes: measured.binary_bytes.unwrap_or_default(),
            image_bytes: inspect
                .size
                .unwrap_or_default()
                .try_into()
                .unwrap_or_default(),
            compressed_bytes: measured.compressed_bytes,
            layers: measured.layers,
            files: measured.files,
            shell: measured.shells.into_iter().next(),
            package_manager: measured.package_managers.into_iter().next(),
            user: config.user.unwrap_or_default(),
            base_provenance: provenance,
            registry: None,
        });
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_selection_means_all_in_catalog_order() {
        assert_eq!(all_if_empty(&[], Base::ALL), Base::ALL);
        assert_eq!(
            all_if_empty(&[Base::Debian, Base::Scratch, Base::Debian], Base::ALL),
            [Base::Scratch, Base::Debian]
        );
    }
}
