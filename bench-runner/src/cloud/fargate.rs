//! `bench-runner fargate`: ECS task definitions for the framework × base images at Fargate's
//! sizes, made by `bench_core::fargate::taskdef`. `plan` writes them for review, for
//! `aws ecs register-task-definition --cli-input-json` and for Terraform and CloudFormation
//! users; it needs no engine and no AWS. `run` launches them on Fargate and times each from
//! RunTask to its first 200 (`launch`).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use bench_core::catalog::{Base, Framework};
use bench_core::fargate::sizes::FargateSize;
use bench_core::fargate::taskdef::{self, Options};

mod launch;

use crate::cli::{FargateArgs, FargateCommand, FargatePlanArgs, TaskDefinitionArgs};
use crate::workspace::Workspace;

/// The file that holds every definition of a plan, as one JSON array.
pub const ALL_DEFINITIONS: &str = "task-definitions.json";

/// What `bench-runner fargate plan` writes, checked.
#[derive(Clone, Debug)]
pub struct FargatePlan {
    /// Framework × base, in catalog order.
    pub images: Vec<(Framework, Base)>,
    /// In the order `--sizes` gave them.
    pub sizes: Vec<FargateSize>,
    pub options: Options,
    pub out: PathBuf,
}

impl FargatePlan {
    /// The plan of `args`; an error names the flag at fault.
    ///
    /// # Errors
    /// When an option has a value ECS would refuse, or the workspace cannot be found for the
    /// default `--out`.
    pub fn new(args: &FargatePlanArgs) -> Result<Self> {
        let (images, options) = definitions(&args.definitions, args.region.as_deref())?;
        let out = match &args.out {
            Some(out) => out.clone(),
            None => Workspace::locate()?
                .root
                .join("results")
                .join("fargate-plan"),
        };
        Ok(FargatePlan {
            images,
            sizes: args.sizes.0.clone(),
            options,
            out,
        })
    }
}

/// The images and the definitions' options of `args`, checked; `region` is where the logs
/// go.
fn definitions(
    args: &TaskDefinitionArgs,
    region: Option<&str>,
) -> Result<(Vec<(Framework, Base)>, Options)> {
    let frameworks = all_if_empty(&args.frameworks, Framework::ALL);
    let bases = all_if_empty(&args.bases, Base::ALL);
    let options = args.task.options(region)?;
    let images = frameworks
        .iter()
        .flat_map(|&framework| bases.iter().map(move |&base| (framework, base)))
        .collect();
    Ok((images, options))
}

/// The selection, sorted and without duplicates; everything when nothing was selected.
fn all_if_empty<T: Copy + Ord>(selected: &[T], all: &[T]) -> Vec<T> {
    let chosen = if selected.is_empty() { all } else { selected };
    chosen
        .iter()
        .copied()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect()
}

/// `bench-runner fargate <command>`.
///
/// # Errors
/// Those of the subcommand.
pub async fn fargate_command(args: &FargateArgs) -> Result<ExitCode> {
    match &args.command {
        FargateCommand::Plan(args) => plan_command(&FargatePlan::new(args)?),
        FargateCommand::Run(args) => launch::run_command(&launch::LaunchPlan::new(args)?).await,
    }
}

/// `bench-runner fargate plan`: the definitions, then their files, all made before the first
/// is written.
///
/// # Errors
/// When a file cannot be written.
pub fn plan_command(plan: &FargatePlan) -> Result<ExitCode> {
    let definitions = taskdef::plan(&plan.images, &plan.sizes, &plan.options);
    let mut files: Vec<(String, String)> = definitions
        .iter()
        .map(|definition| {
            (
                format!("{}.json", definition.family),
                taskdef::json(definition),
            )
        })
        .collect();
    files.push((
        ALL_DEFINITIONS.to_owned(),
        taskdef::json_array(&definitions),
    ));
    files.push((
        "README.md".to_owned(),
        taskdef::readme(&plan.images, &plan.sizes, &plan.options),
    ));
    if let Some(registry) = &plan.options.registry
        && plan.options.execution_role_arn.is_none()
    {
        eprintln!(
            "warning: with no --execution-role-arn, Fargate pulls only public images: give the \
             role if {registry} is private (an ECR repository always is)"
        );
    }
    let replaced = write_plan(&plan.out, &files)?;
    eprintln!(
        "wrote {} to {}{}",
        match definitions.len() {
            1 => format!("a task definition, {ALL_DEFINITIONS} and README.md"),
            n => format!("{n} task definitions, {ALL_DEFINITIONS} and README.md"),
        },
        plan.out.display(),
        match replaced {
            0 => String::new(),
            1 => " (and removed a definition of an earlier plan)".to_owned(),
            n => format!(" (and removed {n} definitions of an earlier plan)"),
        }
    );
    Ok(ExitCode::SUCCESS)
}

/// Writes `files` into `dir`, after removing the definitions of an earlier plan that this one
/// does not have (`benchlab-*.json`), so the directory holds one plan; returns how many were
/// removed.
fn write_plan(dir: &Path, files: &[(String, String)]) -> Result<usize> {
    std::fs::create_dir_all(dir).with_context(|| format!("could not create {}", dir.display()))?;
    let planned: BTreeSet<&str> = files.iter().map(|(name, _)| name.as_str()).collect();
    let mut removed = 0;
    let entries =
        std::fs::read_dir(dir).with_context(|| format!("could not read {}", dir.display()))?;
    for entry in entries {
        let entry = entry.with_context(|| format!("could not read {}", dir.display()))?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if name.starts_with("benchlab-") && name.ends_with(".json") && !planned.contains(name) {
            std::fs::remove_file(entry.path())
                .with_context(|| format!("could not remove {}", entry.path().display()))?;
            removed += 1;
        }
    }
    for (name, contents) in files {
        let path = dir.join(name);
        std::fs::write(&path, contents)
            .with_context(|| format!("could not write {}", path.display()))?;
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selections_are_sorted_without_duplicates_and_empty_means_all() {
        assert_eq!(all_if_empty(&[], Base::ALL), Base::ALL);
        assert_eq!(
            all_if_empty(
                &[Framework::Hyper, Framework::Axum, Framework::Hyper],
                Framework::ALL
            ),
            [Framework::Axum, Framework::Hyper]
        );
    }
}
