//! The image lab's two commands, each reading as its table of contents: plan, bases, binaries,
//! images, measurements, tables. The only module that writes files.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, anyhow};
use bollard::Docker;

use crate::bases::{self, BaseImage, BaseOptions};
use crate::binaries::{self, Binary};
use crate::catalog::{Base, Framework, matrix};
use crate::cli::{BasesArgs, ImagesArgs};
use crate::images::{self, BuiltImage, ImageOptions, label};
use crate::progress::Progress;
use crate::results::{ImageRow, Provenance};
use crate::workspace::Workspace;
use crate::{docker, export, measure};

/// What `bench-runner bases` does.
#[derive(Clone, Debug)]
pub struct BasesPlan {
    pub bases: Vec<Base>,
    pub options: BaseOptions,
}

impl BasesPlan {
    pub fn new(args: &BasesArgs) -> Self {
        Self {
            bases: all_if_empty(&args.bases, &Base::ALL),
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
            frameworks: all_if_empty(&args.frameworks, &Framework::ALL),
            bases: all_if_empty(&args.bases, &Base::ALL),
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
    let rows = measure_images(&docker, &built.images).await?;
    let out = plan
        .out
        .clone()
        .unwrap_or_else(|| workspace.image_results());
    write_tables(&out, &rows)?;
    print!("{}", export::markdown(&rows));
    eprintln!("wrote {} and images.json", out.join("images.md").display());
    if built.failures.is_empty() {
        return Ok(ExitCode::SUCCESS);
    }
    for (tag, err) in &built.failures {
        eprintln!("error: image '{tag}' failed: {err:#}");
    }
    eprintln!(
        "{} of {} images failed",
        built.failures.len(),
        built.failures.len() + built.images.len()
    );
    Ok(ExitCode::FAILURE)
}

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
    pub failures: Vec<(String, anyhow::Error)>,
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
    let frameworks: Vec<Framework> = binaries.keys().copied().collect();
    let base_list: Vec<Base> = bases.keys().copied().collect();
    let cells = matrix(&frameworks, &base_list);
    let mut progress = Progress::new(cells.len());
    let mut built = Built::default();
    for (framework, base) in cells {
        let tag = crate::catalog::image_tag(&options.repository, framework, base);
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
            Err(err) => {
                progress.finish(&format!("{tag}: FAILED"));
                built.failures.push((tag, err));
            }
        }
    }
    built
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
        let provenance: Provenance = labels
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
        });
    }
    Ok(rows)
}

/// Writes `images.md` and `images.json` into `dir`, creating it.
///
/// # Errors
/// When the directory or a file cannot be written.
pub fn write_tables(dir: &Path, rows: &[ImageRow]) -> Result<()> {
    std::fs::create_dir_all(dir)
        .with_context(|| format!("could not create '{}'", dir.display()))?;
    let markdown = dir.join("images.md");
    std::fs::write(&markdown, export::markdown(rows))
        .with_context(|| format!("could not write '{}'", markdown.display()))?;
    let json = dir.join("images.json");
    std::fs::write(&json, export::json(rows)?)
        .with_context(|| format!("could not write '{}'", json.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_selection_means_all_in_catalog_order() {
        assert_eq!(all_if_empty(&[], &Base::ALL), Base::ALL);
        assert_eq!(
            all_if_empty(&[Base::Debian, Base::Scratch, Base::Debian], &Base::ALL),
            [Base::Scratch, Base::Debian]
        );
    }
}
