//! `bench-runner push`: framework × base images pushed to a registry through the engine, each
//! push timed and read to its end, the stored size read back from the registry's manifest,
//! and a cold pull timed with none of the image's layers in the engine. The image table
//! (`results/images/`) gets the figures.
//!
//! Credentials are looked for the way the Docker CLI looks: the flags and environment first,
//! then `~/.docker/config.json` (its `auths` and credential helpers, `DOCKER_CONFIG` to move
//! it). `--local-registry` starts Debian's registry on loopback with a password of its own.
//!
//! A cold pull must find none of the image's layers, yet the engine keeps a layer while any
//! image holds it: a base is shared by every image built on it. So the images holding the
//! bottom layer are saved (`docker save`, to a file), removed, the images of that group are
//! pulled one at a time (each removed after its pull), and the saved images are loaded
//! back, with their ids checked. A container using one of them makes the group's pulls
//! impossible to make cold; they are then skipped with that reason.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use anyhow::{Context, Result, anyhow, bail};
use bollard::Docker;
use bollard::auth::DockerCredentials;
use bollard::query_parameters::{
    CreateImageOptionsBuilder, ImportImageOptionsBuilder, ListImagesOptions,
    PushImageOptionsBuilder, RemoveImageOptions, TagImageOptionsBuilder,
};
use futures_util::StreamExt;
use oci_client::client::{ClientConfig, ClientProtocol};
use oci_client::secrets::RegistryAuth;

use crate::aws;
use crate::cli::PushArgs;
use crate::docker::{self, is_not_found};
use crate::output;
use crate::registry::{self, LocalRegistry};
use crate::workspace::Workspace;
use bench_core::catalog::{Base, Framework, image_tag};
use bench_core::ecr::EcrHost;
use bench_core::images::{ImageRow, RegistryStats};

/// What `push` does, from the command line.
#[derive(Debug)]
pub struct PushPlan {
    pub frameworks: Vec<Framework>,
    pub bases: Vec<Base>,
    pub target: Target,
    /// `<registry>/<namespace>/<framework>:<base>`.
    pub namespace: String,
    /// The local images: `<repository>/<framework>:<base>`.
    pub repository: String,
    pub login: Option<Login>,
    /// Take the password from ECR's `GetAuthorizationToken` even though the registry's host
    /// is not an ECR host (`--ecr`).
    pub ecr: bool,
    pub cold_pull: bool,
    pub out: Option<PathBuf>,
}

/// Where the images go.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// A registry started for this command on loopback and stopped after it.
    Local,
    /// `HOST[:PORT]` of a registry that runs.
    Remote(String),
}

/// A user and password given on the command line or in the environment.
#[derive(Clone)]
pub struct Login {
    pub username: String,
    pub password: String,
}

impl std::fmt::Debug for Login {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Login({}, ***)", self.username)
    }
}

/// The environment variable that carries the password (never a flag: flags show in `ps`).
pub const PASSWORD_ENV: &str = "BENCHLAB_REGISTRY_PASSWORD";

impl PushPlan {
    /// The plan of `args`; the password comes from `--password-stdin` or [`PASSWORD_ENV`].
    ///
    /// # Errors
    /// When the registry is not a `HOST[:PORT]`, or a user is given without a password (or
    /// the other way round); each error names the flag or variable.
    pub fn new(args: &PushArgs) -> Result<PushPlan> {
        let target = match &args.registry {
            Some(registry) => Target::Remote(check_registry(registry)?),
            None => Target::Local,
        };
        let password = if args.password_stdin {
            let mut password = String::new();
            std::io::stdin()
                .read_line(&mut password)
                .context("could not read the password from standard input (--password-stdin)")?;
            Some(password.trim_end_matches(['\r', '\n']).to_owned())
        } else {
            std::env::var(PASSWORD_ENV).ok().filter(|p| !p.is_empty())
        };
        let login = match (&args.username, password) {
            (Some(username), Some(password)) => Some(Login {
                username: username.clone(),
                password,
            }),
            (Some(_), None) => {
                bail!("--username needs a password: set {PASSWORD_ENV} or pass --password-stdin")
            }
            (None, Some(_)) => bail!(
                "a password was given ({PASSWORD_ENV} or --password-stdin) without --username"
            ),
            (None, None) => None,
        };
        if login.is_some() && target == Target::Local {
            bail!("--local-registry makes its own password: drop --username");
        }
        if args.ecr && target == Target::Local {
            bail!("--local-registry makes its own password: drop --ecr");
        }
        Ok(PushPlan {
            frameworks: all_if_empty(&args.frameworks, Framework::ALL),
            bases: all_if_empty(&args.bases, Base::ALL),
            target,
            namespace: args.namespace.clone(),
            repository: args.repository.clone(),
            login,
            ecr: args.ecr,
            cold_pull: !args.no_cold_pull,
            out: args.out.clone(),
        })
    }
}

fn all_if_empty<T: Copy + Ord>(selected: &[T], all: &[T]) -> Vec<T> {
    if selected.is_empty() {
        return all.to_vec();
    }
    let chosen: BTreeSet<T> = selected.iter().copied().collect();
    all.iter().copied().filter(|t| chosen.contains(t)).collect()
}

/// `--registry` must be a host with an optional port: what goes before the first `/` of an
/// image reference.
fn check_registry(registry: &str) -> Result<String> {
    let valid = !registry.is_empty()
        && !registry.contains('/')
        && !registry.contains("://")
        && registry
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'));
    if !valid {
        bail!(
            "--registry '{registry}' is not a registry host: write HOST or HOST:PORT, like \
             123456789012.dkr.ecr.us-east-1.amazonaws.com or 127.0.0.1:5000"
        );
    }
    Ok(registry.to_owned())
}

/// Credentials for a registry, resolved once.
#[derive(Clone)]
struct Credentials {
    /// What the engine gets with each push and pull.
    engine: Option<DockerCredentials>,
    /// What the registry client that reads manifests uses.
    client: RegistryAuth,
    /// Where they came from, for messages.
    source: String,
}

/// Credentials in the Docker CLI's order: the command line or environment, then the Docker
/// config's `auths` or credential helper for `registry`, then, for an ECR host, a token from
/// ECR's `GetAuthorizationToken` in the host's region; none when nothing has any. `--ecr`
/// asks ECR for any host, before the Docker config.
async fn resolve_credentials(
    registry: &str,
    login: Option<&Login>,
    ecr: bool,
) -> Result<Credentials> {
    if let Some(login) = login {
        return Ok(basic(
            registry,
            &login.username,
            &login.password,
            "--username",
        ));
    }
    if ecr {
        return ecr_credentials(registry, None).await;
    }
    match docker_credential::get_credential(registry) {
        Ok(docker_credential::DockerCredential::UsernamePassword(user, password)) => Ok(basic(
            registry,
            &user,
            &password,
            "the Docker config (~/.docker/config.json)",
        )),
        Ok(docker_credential::DockerCredential::IdentityToken(token)) => Ok(Credentials {
            engine: Some(DockerCredentials {
                identitytoken: Some(token),
                serveraddress: Some(registry.to_owned()),
                ..Default::default()
            }),
            // An identity token is exchanged by the engine; the manifest client goes
            // anonymously and the registry says if it may not.
            client: RegistryAuth::Anonymous,
            source: "an identity token in the Docker config".to_owned(),
        }),
        Err(
            docker_credential::CredentialRetrievalError::ConfigNotFound
            | docker_credential::CredentialRetrievalError::NoCredentialConfigured,
        ) => match EcrHost::parse(registry) {
            Some(host) => ecr_credentials(registry, Some(&host.region)).await,
            None => Ok(Credentials {
                engine: None,
                client: RegistryAuth::Anonymous,
                source: "no credentials (none given, none in the Docker config)".to_owned(),
            }),
        },
        Err(err) => Err(anyhow!(
            "could not read the credentials for {registry} from the Docker config: {err}"
        )),
    }
}

/// ECR's registry token for `registry`, from the AWS credential chain in `region` (the
/// chain's region when `None`).
async fn ecr_credentials(registry: &str, region: Option<&str>) -> Result<Credentials> {
    let aws = aws::Aws::connect(region)
        .await
        .with_context(|| format!("could not ask ECR for {registry}'s password"))?;
    let login = aws::ecr_login(&aws).await?;
    Ok(basic(
        registry,
        &login.username,
        &login.password,
        &format!("ECR's GetAuthorizationToken in {}", aws.describe()),
    ))
}

fn basic(registry: &str, username: &str, password: &str, source: &str) -> Credentials {
    Credentials {
        engine: Some(DockerCredentials {
            username: Some(username.to_owned()),
            password: Some(password.to_owned()),
            serveraddress: Some(registry.to_owned()),
            ..Default::default()
        }),
        client: RegistryAuth::Basic(username.to_owned(), password.to_owned()),
        source: format!("user '{username}' from {source}"),
    }
}

/// One image to push.
#[derive(Clone, Debug)]
struct Image {
    framework: Framework,
    base: Base,
    /// `benchlab/axum:scratch`.
    local: String,
    /// `<registry>/<namespace>/axum:scratch`.
    remote: String,
    id: String,
    /// The image's bottom layer (`RootFS.Layers[0]`): images that share it share a base.
    bottom_layer: String,
}

/// `bench-runner push`.
///
/// # Errors
/// When nothing can be pushed: the engine, a missing image, the registry, the credentials.
/// An image whose push or pull fails is reported at the end and fails the command, after
/// the others.
pub async fn push_command(plan: &PushPlan) -> Result<ExitCode> {
    let docker = docker::connect().await?;
    let workspace = Workspace::locate()?;
    let out = plan
        .out
        .clone()
        .unwrap_or_else(|| workspace.image_results());
    let interrupted = Arc::new(AtomicBool::new(false));
    {
        let interrupted = interrupted.clone();
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                eprintln!("interrupted: finishing the current step, then restoring images");
                interrupted.store(true, Ordering::SeqCst);
            }
        });
    }
    let local = match plan.target {
        Target::Local => Some(LocalRegistry::start().await?),
        Target::Remote(_) => None,
    };
    let result = push_all(&docker, plan, local.as_ref(), &out, &interrupted).await;
    if let Some(local) = local {
        local.stop().await?;
    }
    let failures = result?;
    if interrupted.load(Ordering::SeqCst) {
        return Ok(ExitCode::from(130));
    }
    if failures.is_empty() {
        return Ok(ExitCode::SUCCESS);
    }
    for failure in &failures {
        eprintln!("error: {failure:#}");
    }
    Ok(ExitCode::FAILURE)
}

/// Pushes and pulls every image of `plan`, writing the tables after each; returns the
/// failures of single images.
async fn push_all(
    docker: &Docker,
    plan: &PushPlan,
    local: Option<&LocalRegistry>,
    out: &std::path::Path,
    interrupted: &AtomicBool,
) -> Result<Vec<anyhow::Error>> {
    let (registry, credentials, described) = match (&plan.target, local) {
        (Target::Local, Some(local)) => {
            let host = local.host();
            let credentials = basic(&host, registry::USERNAME, local.password(), "the registry");
            let described = format!("a local docker-registry on loopback ({host})");
            (host, credentials, described)
        }
        (Target::Remote(host), _) => {
            let credentials = resolve_credentials(host, plan.login.as_ref(), plan.ecr).await?;
            (host.clone(), credentials, host.clone())
        }
        (Target::Local, None) => bail!("the local registry did not start"),
    };
    let images = select_images(docker, plan, &registry).await?;
    eprintln!(
        "pushing {} images to {described} as {}",
        images.len(),
        credentials.source
    );
    let client = manifest_client(&registry);
    let mut rows = output::read_image_rows(out)?;
    let mut failures = Vec::new();
    let mut pushed = Vec::new();
    for image in &images {
        if interrupted.load(Ordering::SeqCst) {
            break;
        }
        let stats = push_one(docker, image, &credentials, &client, local, &described).await;
        match stats {
            Ok(stats) => {
                eprintln!(
                    "pushed {} in {:.3} s: {} stored, {} of {} layers sent",
                    image.remote,
                    stats.push_seconds,
                    bench_core::images::human(stats.stored_bytes),
                    stats.layers_pushed,
                    stats.layers_pushed + stats.layers_present
                );
                record(&mut rows, image, stats.clone());
                output::write_image_tables(out, &rows)?;
                pushed.push((image.clone(), stats));
            }
            Err(err) => failures.push(err.context(format!(
                "could not push '{}' to {}",
                image.local, image.remote
            ))),
        }
    }
    if plan.cold_pull && !interrupted.load(Ordering::SeqCst) {
        let pulls = cold_pulls(docker, &pushed, &credentials, interrupted).await?;
        for (image, stats) in &mut pushed {
            match pulls.get(&image.remote) {
                Some(Ok(seconds)) => {
                    eprintln!("cold pull of {} took {seconds:.3} s", image.remote);
                    stats.cold_pull_seconds = Some(*seconds);
                }
                Some(Err(note)) => {
                    eprintln!("no cold pull of {}: {note}", image.remote);
                    stats.cold_pull_note = Some(note.clone());
                }
                None => {}
            }
            record(&mut rows, image, stats.clone());
        }
        output::write_image_tables(out, &rows)?;
    }
    for image in &images {
        // The registry's tag, pushed or not, would outlive a local registry; the image keeps
        // its own tag.
        let _ = docker
            .remove_image(&image.remote, None::<RemoveImageOptions>, None)
            .await;
    }
    eprintln!("wrote {}", out.join("images.md").display());
    Ok(failures)
}

/// The selected images as the engine has them; every one must be there.
async fn select_images(docker: &Docker, plan: &PushPlan, registry: &str) -> Result<Vec<Image>> {
    let mut images = Vec::new();
    let mut missing = Vec::new();
    for &framework in &plan.frameworks {
        for &base in &plan.bases {
            let local = image_tag(&plan.repository, framework, base);
            match docker.inspect_image(&local).await {
                Ok(inspect) => images.push(Image {
                    framework,
                    base,
                    remote: image_tag(&format!("{registry}/{}", plan.namespace), framework, base),
                    id: inspect.id.unwrap_or_default(),
                    bottom_layer: inspect
                        .root_fs
                        .and_then(|fs| fs.layers)
                        .and_then(|layers| layers.into_iter().next())
                        .unwrap_or_default(),
                    local,
                }),
                Err(err) if is_not_found(&err) => missing.push(local),
                Err(err) => {
                    return Err(err).with_context(|| format!("could not inspect image '{local}'"));
                }
            }
        }
    }
    if !missing.is_empty() {
        bail!(
            "not in the engine: {}; build them with `bench-runner images`",
            missing.join(", ")
        );
    }
    Ok(images)
}

/// The client that reads manifests: plain HTTP for a registry on loopback (as the engine
/// treats 127.0.0.0/8), HTTPS elsewhere.
fn manifest_client(registry: &str) -> oci_client::Client {
    let protocol = if is_loopback(registry) {
        ClientProtocol::Http
    } else {
        ClientProtocol::Https
    };
    oci_client::Client::new(ClientConfig {
        protocol,
        ..Default::default()
    })
}

/// Whether `registry` (`HOST[:PORT]`) is on this machine's loopback.
fn is_loopback(registry: &str) -> bool {
    let host = match registry.rsplit_once(':') {
        Some((host, port)) if port.chars().all(|c| c.is_ascii_digit()) => host,
        _ => registry,
    };
    let host = host.trim_matches(['[', ']']);
    host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Tags, pushes (timed, the stream read to its end) and reads the manifest back.
async fn push_one(
    docker: &Docker,
    image: &Image,
    credentials: &Credentials,
    client: &oci_client::Client,
    local: Option<&LocalRegistry>,
    described: &str,
) -> Result<RegistryStats> {
    let (repository, tag) = split_tag(&image.remote)?;
    docker
        .tag_image(
            &image.local,
            Some(
                TagImageOptionsBuilder::new()
                    .repo(repository)
                    .tag(tag)
                    .build(),
            ),
        )
        .await
        .with_context(|| format!("could not tag '{}' as '{}'", image.local, image.remote))?;
    let blobs_before = local.map(LocalRegistry::blob_bytes).transpose()?;
    let pushed_at = crate::provenance::now_rfc3339();
    let started = Instant::now();
    let mut stream = docker.push_image(
        repository,
        Some(PushImageOptionsBuilder::new().tag(tag).build()),
        credentials.engine.clone(),
    );
    let (mut layers_pushed, mut layers_present) = (0, 0);
    while let Some(message) = stream.next().await {
        match message {
            Ok(info) => match info.status.as_deref() {
                Some("Pushed") => layers_pushed += 1,
                Some(status)
                    if status == "Layer already exists" || status.starts_with("Mounted from") =>
                {
                    layers_present += 1;
                }
                _ => {}
            },
            Err(bollard::errors::Error::DockerStreamError { error }) => {
                bail!(
                    "{} refused the push: {}",
                    registry_of(&image.remote),
                    error.trim()
                );
            }
            Err(err) => {
                return Err(err).context("the engine's push stream broke off");
            }
        }
    }
    let push_seconds = started.elapsed().as_secs_f64();
    let sent_bytes = match (local, blobs_before) {
        (Some(local), Some(before)) => Some(local.blob_bytes()?.saturating_sub(before)),
        _ => None,
    };
    let reference: oci_client::Reference = image
        .remote
        .parse()
        .with_context(|| format!("'{}' is not an image reference", image.remote))?;
    let (manifest, digest) = client
        .pull_image_manifest(&reference, &credentials.client)
        .await
        .with_context(|| {
            format!(
                "{} took the push but its manifest could not be read back",
                registry_of(&image.remote)
            )
        })?;
    let stored_bytes = manifest
        .layers
        .iter()
        .map(|layer| layer.size)
        .chain([manifest.config.size])
        .map(|size| u64::try_from(size).unwrap_or_default())
        .sum();
    Ok(RegistryStats {
        reference: image.remote.clone(),
        registry: described.to_owned(),
        digest,
        stored_bytes,
        sent_bytes,
        layers_pushed,
        layers_present,
        push_seconds,
        cold_pull_seconds: None,
        cold_pull_note: None,
        pushed_at,
    })
}

/// `repo/name:tag` → (`repo/name`, `tag`).
fn split_tag(reference: &str) -> Result<(&str, &str)> {
    let (repository, tag) = reference
        .rsplit_once(':')
        .filter(|(_, tag)| !tag.contains('/'))
        .ok_or_else(|| anyhow!("'{reference}' has no tag"))?;
    Ok((repository, tag))
}

fn registry_of(reference: &str) -> &str {
    reference.split('/').next().unwrap_or(reference)
}

/// Cold pulls of `pushed`, group by group of images sharing their bottom layer: by remote
/// reference, the seconds of each pull or why it could not be made cold.
async fn cold_pulls(
    docker: &Docker,
    pushed: &[(Image, RegistryStats)],
    credentials: &Credentials,
    interrupted: &AtomicBool,
) -> Result<BTreeMap<String, std::result::Result<f64, String>>> {
    let mut groups: BTreeMap<&str, Vec<&Image>> = BTreeMap::new();
    for (image, _) in pushed {
        groups.entry(&image.bottom_layer).or_default().push(image);
    }
    let mut pulls = BTreeMap::new();
    for (bottom, group) in groups {
        if interrupted.load(Ordering::SeqCst) {
            break;
        }
        let holders = holders_of(docker, bottom).await?;
        eprintln!(
            "cold pulls of {} images: saving, then removing, {} images that hold their bottom layer",
            group.len(),
            holders.len()
        );
        let saved = save(docker, &holders).await?;
        let pulled = match remove_all(docker, &holders).await {
            Ok(()) => {
                let mut pulled = Vec::new();
                for image in &group {
                    if interrupted.load(Ordering::SeqCst) {
                        break;
                    }
                    let seconds = pull_timed(docker, image, credentials)
                        .await
                        .map_err(|err| format!("the pull failed: {err:#}"));
                    let _ = docker
                        .remove_image(&image.remote, None::<RemoveImageOptions>, None)
                        .await;
                    pulled.push((image.remote.clone(), seconds));
                }
                pulled
            }
            Err(err) => group
                .iter()
                .map(|image| {
                    (
                        image.remote.clone(),
                        Err(format!("its layers could not be removed first: {err:#}")),
                    )
                })
                .collect(),
        };
        restore(docker, saved, &holders).await?;
        pulls.extend(pulled);
    }
    Ok(pulls)
}

/// An image holding a layer: its id and every tag it has.
#[derive(Debug)]
struct Holder {
    id: String,
    tags: Vec<String>,
}

/// Every image in the engine whose bottom layer is `bottom`.
async fn holders_of(docker: &Docker, bottom: &str) -> Result<Vec<Holder>> {
    let summaries = docker
        .list_images(None::<ListImagesOptions>)
        .await
        .context("could not list the engine's images")?;
    let mut holders = Vec::new();
    for summary in summaries {
        let inspect = match docker.inspect_image(&summary.id).await {
            Ok(inspect) => inspect,
            Err(err) if is_not_found(&err) => continue,
            Err(err) => return Err(err).context("could not inspect an image"),
        };
        let first = inspect
            .root_fs
            .and_then(|fs| fs.layers)
            .and_then(|layers| layers.into_iter().next());
        if first.as_deref() == Some(bottom) {
            let tags = summary
                .repo_tags
                .into_iter()
                .filter(|tag| tag != "<none>:<none>")
                .collect();
            holders.push(Holder {
                id: summary.id,
                tags,
            });
        }
    }
    Ok(holders)
}

/// `docker save` of `holders` (by tag, or by id when untagged) into a temporary file.
async fn save(docker: &Docker, holders: &[Holder]) -> Result<tempfile::NamedTempFile> {
    let names: Vec<&str> = holders
        .iter()
        .flat_map(|holder| {
            if holder.tags.is_empty() {
                vec![holder.id.as_str()]
            } else {
                holder.tags.iter().map(String::as_str).collect()
            }
        })
        .collect();
    let mut file = tempfile::Builder::new()
        .prefix("benchlab-cold-pull-")
        .suffix(".tar")
        .tempfile()
        .context("could not make a file to save the images in")?;
    let mut export = docker.export_images(&names);
    while let Some(chunk) = export.next().await {
        let chunk = chunk.context("could not save the images that share the layers")?;
        file.write_all(&chunk)
            .context("could not write the saved images")?;
    }
    file.flush().context("could not write the saved images")?;
    Ok(file)
}

/// Removes every tag of every holder (the last tag removes the image), or the image by id.
async fn remove_all(docker: &Docker, holders: &[Holder]) -> Result<()> {
    for holder in holders {
        let names: Vec<&str> = if holder.tags.is_empty() {
            vec![&holder.id]
        } else {
            holder.tags.iter().map(String::as_str).collect()
        };
        for name in names {
            match docker
                .remove_image(name, None::<RemoveImageOptions>, None)
                .await
            {
                Ok(_) => {}
                Err(err) if is_not_found(&err) => {}
                Err(err) => return Err(err).with_context(|| format!("could not remove '{name}'")),
            }
        }
    }
    Ok(())
}

/// Loads `saved` back and checks that every holder's tags name its id again. On failure the
/// file is kept and the error says how to load it by hand.
async fn restore(
    docker: &Docker,
    saved: tempfile::NamedTempFile,
    holders: &[Holder],
) -> Result<()> {
    let loaded = async {
        let bytes = std::fs::read(saved.path()).context("could not read the saved images")?;
        let mut stream = docker.import_image(
            ImportImageOptionsBuilder::new().quiet(true).build(),
            bollard::body_full(bytes.into()),
            None,
        );
        while let Some(message) = stream.next().await {
            message.context("the engine did not load the saved images")?;
        }
        for holder in holders {
            for tag in &holder.tags {
                let id = docker
                    .inspect_image(tag)
                    .await
                    .with_context(|| format!("'{tag}' is missing after the load"))?
                    .id
                    .unwrap_or_default();
                if id != holder.id {
                    bail!("'{tag}' is {id} after the load, not {}", holder.id);
                }
            }
        }
        Ok(())
    }
    .await;
    if let Err(err) = loaded {
        let path = saved.into_temp_path().keep().ok();
        let how = path.map_or_else(String::new, |path| {
            format!(
                "; the images are saved in {}: `docker load -i` it",
                path.display()
            )
        });
        bail!("could not restore the images removed for the cold pulls: {err:#}{how}");
    }
    Ok(())
}

/// Pulls `image` from its registry, timed from the request to the end of the stream.
async fn pull_timed(docker: &Docker, image: &Image, credentials: &Credentials) -> Result<f64> {
    let (repository, tag) = split_tag(&image.remote)?;
    let started = Instant::now();
    let mut stream = docker.create_image(
        Some(
            CreateImageOptionsBuilder::new()
                .from_image(repository)
                .tag(tag)
                .build(),
        ),
        None,
        credentials.engine.clone(),
    );
    while let Some(message) = stream.next().await {
        match message {
            Ok(_) => {}
            Err(bollard::errors::Error::DockerStreamError { error }) => {
                bail!(
                    "{} refused the pull: {}",
                    registry_of(&image.remote),
                    error.trim()
                );
            }
            Err(err) => return Err(err).context("the engine's pull stream broke off"),
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    let id = docker
        .inspect_image(&image.remote)
        .await
        .with_context(|| format!("'{}' is missing after its pull", image.remote))?
        .id
        .unwrap_or_default();
    if id != image.id {
        bail!(
            "'{}' came back as {id}, not as the pushed {}",
            image.remote,
            image.id
        );
    }
    Ok(seconds)
}

/// Puts `stats` on the row of `image` when the row describes this very image (same id); a
/// row of another build of it, or no row, is left as it is: run `bench-runner images`
/// first to measure the image itself.
fn record(rows: &mut [ImageRow], image: &Image, stats: RegistryStats) {
    match rows
        .iter_mut()
        .find(|row| row.framework == image.framework && row.base == image.base)
    {
        Some(row) if row.image_id == image.id => row.registry = Some(stats),
        Some(_) => eprintln!(
            "warning: the image table has another build of '{}'; run `bench-runner images` to measure this one",
            image.local
        ),
        None => eprintln!(
            "warning: the image table has no row for '{}'; run `bench-runner images` first",
            image.local
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_must_be_a_host() {
        assert_eq!(check_registry("127.0.0.1:5000").unwrap(), "127.0.0.1:5000");
        assert!(check_registry("123456789012.dkr.ecr.us-east-1.amazonaws.com").is_ok());
        for bad in ["", "https://example.com", "example.com/benchlab", "a b"] {
            let err = check_registry(bad).unwrap_err().to_string();
            assert!(err.starts_with("--registry"), "{err}");
        }
    }

    #[test]
    fn tags_split_after_the_last_colon_of_the_name() {
        assert_eq!(
            split_tag("127.0.0.1:5000/benchlab/axum:scratch").unwrap(),
            ("127.0.0.1:5000/benchlab/axum", "scratch")
        );
        assert!(split_tag("127.0.0.1:5000/benchlab/axum").is_err());
    }

    #[test]
    fn loopback_registries_are_read_over_http() {
        for (registry, loopback) in [
            ("127.0.0.1:5000", true),
            ("127.0.0.1", true),
            ("localhost:5000", true),
            ("[::1]:5000", true),
            ("[::1]", true),
            ("10.0.0.5:5000", false),
            ("123456789012.dkr.ecr.us-east-1.amazonaws.com", false),
        ] {
            assert_eq!(is_loopback(registry), loopback, "{registry}");
        }
    }
}
