//! The base images: the upstream one when it is present or a registry serves it, else an
//! equivalent benchlab builds from Debian packages with mmdebstrap and imports through the
//! engine API. Whatever is used, its provenance goes with it.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use bollard::Docker;
use bollard::models::ImageInspect;
use bollard::query_parameters::CreateImageOptionsBuilder;
use futures_util::StreamExt;
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{OffsetDateTime, PrimitiveDateTime};

use crate::docker::is_not_found;
use crate::rootfs::{self, Package};
use bench_core::catalog::Base;
use bench_core::images::{BaseOrigin, human};

/// The Debian suite the bases come from (Debian 12, as upstream's `bookworm-slim` and
/// `cc-debian12`).
pub const SUITE: &str = "bookworm";

/// How long a registry may take to start answering a pull before benchlab builds instead. A
/// registry that answers may then take as long as the download takes.
const PULL_ANSWER_TIMEOUT: Duration = Duration::from_secs(20);

/// The hook that copies the Release dates and package lists out of the rootfs.
const COLLECT_META_HOOK: &str = include_str!("../hooks/collect-meta.sh");

/// Labels on a base benchlab built.
mod label {
    pub const SOURCE: &str = "benchlab.base.source";
    pub const SUITE: &str = "benchlab.base.suite";
    pub const SNAPSHOT: &str = "benchlab.base.snapshot";
    pub const BUILT: &str = "benchlab.base.built";
    /// The value of [`SOURCE`] for bases built from Debian packages.
    pub const DEBIAN_PACKAGES: &str = "debian-packages";
}

/// How missing bases are obtained.
#[derive(Clone, Copy, Debug, Default)]
pub struct BaseOptions {
    /// Try the upstream registry before building.
    pub pull: bool,
    /// Build from Debian packages even when a base is present.
    pub rebuild: bool,
}

/// A base image ready to build on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BaseImage {
    pub base: Base,
    /// What `FROM` names; `None` for scratch.
    pub reference: Option<String>,
    /// The engine's image id; `None` for scratch.
    pub id: Option<String>,
    pub provenance: BaseOrigin,
}

impl BaseImage {
    /// No base at all.
    pub fn scratch() -> Self {
        Self {
            base: Base::Scratch,
            reference: None,
            id: None,
            provenance: BaseOrigin::Scratch,
        }
    }
}

/// Makes `base` present and says where it came from. In order: the upstream image if present
/// (a user pulled it), benchlab's own build if present, the upstream image if a registry
/// serves it (unless `pull` is off), else a fresh build from Debian packages. `rebuild` goes
/// straight to the build. Progress goes to stderr.
///
/// # Errors
/// When the engine fails, or building is needed and fails.
pub async fn ensure(docker: &Docker, base: Base, options: BaseOptions) -> Result<BaseImage> {
    let (Some(upstream), Some(local)) = (base.upstream(), base.local_tag()) else {
        return Ok(BaseImage::scratch());
    };
    if !options.rebuild {
        if let Some(image) = inspect(docker, upstream).await? {
            eprintln!("{base}: using {upstream}, already present");
            return Ok(upstream_base(base, upstream, image));
        }
        if let Some(image) = inspect(docker, local).await? {
            if let Some(provenance) = recorded_provenance(&image) {
                eprintln!("{base}: using {local}, already present ({provenance})");
                return Ok(local_base(base, local, image, provenance));
            }
            eprintln!("{base}: {local} records no provenance; building it again");
        }
        if options.pull {
            match pull(docker, upstream).await {
                Ok(()) => {
                    let image = inspect(docker, upstream)
                        .await?
                        .with_context(|| format!("{upstream} is missing right after its pull"))?;
                    eprintln!("{base}: pulled {upstream}");
                    return Ok(upstream_base(base, upstream, image));
                }
                Err(reason) => eprintln!(
                    "{base}: could not pull {upstream} ({reason}); building the equivalent \
                     from Debian packages"
                ),
            }
        }
    }
    build(docker, base, local)
        .await
        .with_context(|| format!("could not build the {base} base '{local}' from Debian packages"))
}

/// The image `reference`, or `None` when the engine does not have it.
async fn inspect(docker: &Docker, reference: &str) -> Result<Option<ImageInspect>> {
    match docker.inspect_image(reference).await {
        Ok(image) => Ok(Some(image)),
        Err(err) if is_not_found(&err) => Ok(None),
        Err(err) => Err(err).with_context(|| format!("could not inspect image '{reference}'")),
    }
}

fn upstream_base(base: Base, reference: &str, image: ImageInspect) -> BaseImage {
    let id = image.id.unwrap_or_default();
    let digest = image
        .repo_digests
        .unwrap_or_default()
        .iter()
        .find_map(|digest| digest.split_once('@').map(|(_, digest)| digest.to_owned()))
        .unwrap_or_else(|| id.clone());
    BaseImage {
        base,
        reference: Some(reference.to_owned()),
        id: Some(id),
        provenance: BaseOrigin::Upstream {
            reference: reference.to_owned(),
            digest,
        },
    }
}

fn local_base(base: Base, tag: &str, image: ImageInspect, provenance: BaseOrigin) -> BaseImage {
    BaseImage {
        base,
        reference: Some(tag.to_owned()),
        id: image.id,
        provenance,
    }
}

/// The provenance a base built by benchlab carries in its labels.
fn recorded_provenance(image: &ImageInspect) -> Option<BaseOrigin> {
    let labels = image.config.as_ref()?.labels.as_ref()?;
    if labels.get(label::SOURCE)? != label::DEBIAN_PACKAGES {
        return None;
    }
    Some(BaseOrigin::DebianPackages {
        suite: labels.get(label::SUITE)?.clone(),
        snapshot: labels.get(label::SNAPSHOT)?.clone(),
        built: labels.get(label::BUILT)?.clone(),
    })
}

/// Pulls `reference`, giving up if no registry starts answering within
/// [`PULL_ANSWER_TIMEOUT`]; the error is the reason, for a message.
async fn pull(docker: &Docker, reference: &str) -> Result<(), String> {
    let options = CreateImageOptionsBuilder::new()
        .from_image(reference)
        .build();
    let mut progress = docker.create_image(Some(options), None, None);
    match tokio::time::timeout(PULL_ANSWER_TIMEOUT, progress.next()).await {
        Err(_) => {
            return Err(format!(
                "no registry answered within {} s",
                PULL_ANSWER_TIMEOUT.as_secs()
            ));
        }
        Ok(Some(Err(err))) => return Err(err.to_string()),
        Ok(Some(Ok(_)) | None) => {}
    }
    while let Some(item) = progress.next().await {
        item.map_err(|err| err.to_string())?;
    }
    Ok(())
}

/// Builds `base` with mmdebstrap, slims the rootfs and imports it as `tag`.
async fn build(docker: &Docker, base: Base, tag: &str) -> Result<BaseImage> {
    let started = Instant::now();
    eprintln!("{base}: building {tag} from Debian {SUITE} packages with mmdebstrap");
    let built = OffsetDateTime::now_utc()
        .replace_nanosecond(0)?
        .format(&Rfc3339)?;
    let (rootfs, snapshot) = tokio::task::spawn_blocking(move || make_rootfs(base))
        .await
        .context("the thread making the rootfs panicked")??;
    let snapshot_text = snapshot.format(&Rfc3339)?;
    let provenance = BaseOrigin::DebianPackages {
        suite: SUITE.to_owned(),
        snapshot: snapshot_text.clone(),
        built: built.clone(),
    };
    let mut changes = vec![
        "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".to_owned(),
        format!("LABEL {}={}", label::SOURCE, label::DEBIAN_PACKAGES),
        format!("LABEL {}={SUITE}", label::SUITE),
        format!("LABEL {}={snapshot_text}", label::SNAPSHOT),
        format!("LABEL {}={built}", label::BUILT),
    ];
    match base {
        Base::Debian => changes.push(r#"CMD ["bash"]"#.to_owned()),
        Base::Distroless => changes.extend([
            "ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt".to_owned(),
            format!("USER {}", rootfs::NONROOT_UID),
            "WORKDIR /home/nonroot".to_owned(),
        ]),
        Base::Scratch => bail!("scratch is not built"),
    }
    let (repository, image_tag) = tag.rsplit_once(':').unwrap_or((tag, "latest"));
    let options = CreateImageOptionsBuilder::new()
        .from_src("-")
        .repo(repository)
        .tag(image_tag)
        .message(&format!(
            "benchlab {base} base from Debian {SUITE} packages"
        ))
        .changes(changes)
        .build();
    let size = rootfs.len();
    let mut import =
        docker.create_image(Some(options), Some(bollard::body_full(rootfs.into())), None);
    while let Some(item) = import.next().await {
        item.context("the engine refused the rootfs import")?;
    }
    let image = inspect(docker, tag)
        .await?
        .with_context(|| format!("'{tag}' is missing right after its import"))?;
    eprintln!(
        "{base}: built {tag} in {:.0?} (rootfs tar {}, {provenance})",
        started.elapsed(),
        human(size as u64)
    );
    Ok(local_base(base, tag, image, provenance))
}

/// Runs mmdebstrap for `base` and returns the slimmed rootfs tar and the archive snapshot
/// date.
fn make_rootfs(base: Base) -> Result<(Vec<u8>, OffsetDateTime)> {
    let dir = tempfile::Builder::new()
        .prefix("benchlab-base-")
        .tempdir()
        .context("could not create a temporary directory")?;
    let meta = dir.path().join("meta");
    std::fs::create_dir(&meta)?;
    let raw = dir.path().join("rootfs.tar");
    mmdebstrap(base, &raw, &meta, &dir.path().join("mmdebstrap.log"))?;

    let dates = std::fs::read_to_string(meta.join("release-dates"))
        .context("the mmdebstrap hook wrote no release dates")?;
    let snapshot = newest_release_date(&dates)?;
    let input = std::io::BufReader::new(
        std::fs::File::open(&raw).with_context(|| format!("could not open '{}'", raw.display()))?,
    );
    let mut rootfs = Vec::new();
    let summary = match base {
        Base::Debian => rootfs::slim_debian(input, &mut rootfs)?,
        Base::Distroless => {
            let packages = read_packages(&meta.join("packages"))?;
            rootfs::slim_distroless(
                input,
                &mut rootfs,
                &packages,
                snapshot.unix_timestamp().try_into()?,
            )?
        }
        Base::Scratch => bail!("scratch is not built"),
    };
    eprintln!(
        "{base}: rootfs has {} entries ({} left out), {} of file content",
        summary.entries,
        summary.dropped,
        human(summary.content_bytes)
    );
    Ok((rootfs, snapshot))
}

/// The mmdebstrap options for `base`, before the suite, target and sources.
fn mmdebstrap_options(base: Base) -> Vec<String> {
    let options: Vec<String> = match base {
        Base::Debian => {
            let mut options = vec![
                "--variant=minbase".to_owned(),
                // Merged /usr made by symlinks, as debootstrap does, rather than by the usrmerge
                // package, which would bring perl along.
                "--hook-dir=/usr/share/mmdebstrap/hooks/merged-usr".to_owned(),
            ];
            // Slim the way upstream's bookworm-slim is: dpkg leaves documentation (copyright
            // files excepted), manuals and translations out, now and for later installs.
            for path in [
                "/usr/share/doc/*",
                "/usr/share/man/*",
                "/usr/share/groff/*",
                "/usr/share/info/*",
                "/usr/share/lintian/*",
                "/usr/share/linda/*",
                "/usr/share/locale/*",
            ] {
                options.push(format!("--dpkgopt=path-exclude={path}"));
            }
            options.push("--dpkgopt=path-include=/usr/share/doc/*/copyright".to_owned());
            // And apt keeps no caches or translations when the image is used later.
            for option in [
                r#"Acquire::Languages "none""#,
                r#"Acquire::GzipIndexes "true""#,
                r#"Dir::Cache::pkgcache """#,
                r#"Dir::Cache::srcpkgcache """#,
                r#"APT::AutoRemove::SuggestsImportant "false""#,
            ] {
                options.push(format!("--aptopt={option}"));
            }
            options.push(format!("--customize-hook={COLLECT_META_HOOK}"));
            options
        }
        Base::Distroless => vec![
            // Unpack the packages without installing them: no maintainer scripts, no dpkg.
            "--variant=extract".to_owned(),
            format!("--include={}", rootfs::DISTROLESS_PACKAGES.join(",")),
            "--setup-hook=/usr/share/mmdebstrap/hooks/merged-usr/setup00.sh".to_owned(),
            // In the extract variant only setup and extract hooks run.
            format!("--extract-hook={COLLECT_META_HOOK}"),
        ],
        Base::Scratch => Vec::new(),
    };
    options
}

/// The apt sources: the suite with its updates and security suites, as upstream images use.
/// `BENCHLAB_DEBIAN_MIRROR` replaces `http://deb.debian.org` (for a local mirror).
fn apt_sources() -> Vec<String> {
    let mirror = std::env::var("BENCHLAB_DEBIAN_MIRROR")
        .unwrap_or_else(|_| "http://deb.debian.org".to_owned());
    let mirror = mirror.trim_end_matches('/');
    vec![
        format!("deb {mirror}/debian {SUITE} main"),
        format!("deb {mirror}/debian {SUITE}-updates main"),
        format!("deb {mirror}/debian-security {SUITE}-security main"),
    ]
}

/// Runs mmdebstrap for `base` into the tarball `target`, its output into `log`.
fn mmdebstrap(base: Base, target: &Path, meta: &Path, log: &Path) -> Result<()> {
    let log_file = std::fs::File::create(log)
        .with_context(|| format!("could not create '{}'", log.display()))?;
    let mut command = Command::new("mmdebstrap");
    command
        .args(mmdebstrap_options(base))
        .arg(SUITE)
        .arg(target)
        .args(apt_sources())
        .env("BENCHLAB_BASE_META", meta)
        .stdin(Stdio::null())
        .stdout(log_file.try_clone()?)
        .stderr(log_file);
    let status = match command.status() {
        Ok(status) => status,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => bail!(
            "mmdebstrap is not installed: `sudo apt-get install mmdebstrap`, or run \
             scripts/ensure-docker.sh"
        ),
        Err(err) => return Err(err).context("could not run mmdebstrap"),
    };
    if !status.success() {
        let output = std::fs::read_to_string(log).unwrap_or_default();
        let lines: Vec<&str> = output.lines().collect();
        let tail = lines[lines.len().saturating_sub(15)..].join("\n");
        bail!("mmdebstrap failed ({status}); its last lines:\n{tail}");
    }
    Ok(())
}

/// The newest of the `Date:` values of Release files (`Sat, 11 Jul 2026 10:16:37 UTC`): the
/// state of the archive the packages were taken from.
fn newest_release_date(dates: &str) -> Result<OffsetDateTime> {
    let format = format_description!(
        "[weekday repr:short], [day padding:none] [month repr:short] [year] \
         [hour]:[minute]:[second] UTC"
    );
    dates
        .lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| {
            PrimitiveDateTime::parse(line.trim(), format)
                .map(PrimitiveDateTime::assume_utc)
                .with_context(|| format!("unexpected Release date '{}'", line.trim()))
        })
        .collect::<Result<Vec<_>>>()?
        .into_iter()
        .max()
        .ok_or_else(|| anyhow!("apt used no Release file with a Date"))
}

/// The packages the hook recorded: `<name>.control` and `<name>.files` in `dir`.
fn read_packages(dir: &Path) -> Result<Vec<Package>> {
    let mut by_name: HashMap<String, PathBuf> = HashMap::new();
    for entry in
        std::fs::read_dir(dir).with_context(|| format!("could not list '{}'", dir.display()))?
    {
        let path = entry?.path();
        if path
            .extension()
            .is_some_and(|extension| extension == "control")
        {
            let name = path
                .file_stem()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned();
            by_name.insert(name, path);
        }
    }
    let mut packages = by_name
        .into_iter()
        .map(|(name, control)| {
            let files = control.with_extension("files");
            let read = |path: &Path| {
                std::fs::read_to_string(path)
                    .with_context(|| format!("could not read '{}'", path.display()))
            };
            Package::parse(&read(&control)?, &read(&files)?)
                .with_context(|| format!("could not read the control fields of '{name}'"))
        })
        .collect::<Result<Vec<_>>>()?;
    packages.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(packages)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn newest_release_date_wins() {
        let dates = "Sat, 21 Nov 2026 00:53:02 UTC\nSun, 22 Nov 2026 02:09:05 UTC\n\
                     Sat, 11 Jul 2026 10:16:37 UTC\n";
        let newest = newest_release_date(dates).unwrap();
        assert_eq!(newest.format(&Rfc3339).unwrap(), "2026-11-22T02:09:05Z");
        let single_digit_day = newest_release_date("Sat, 4 Jul 2026 10:16:37 UTC").unwrap();
        assert_eq!(
            single_digit_day.format(&Rfc3339).unwrap(),
            "2026-07-04T10:16:37Z"
        );
    }

    #[test]
    fn release_dates_must_exist_and_parse() {
        assert!(newest_release_date("\n").is_err());
        let err = newest_release_date("yesterday").unwrap_err();
        assert_eq!(err.to_string(), "unexpected Release date 'yesterday'");
    }

    #[test]
    fn distroless_extracts_the_upstream_package_set() {
        let options = mmdebstrap_options(Base::Distroless);
        assert!(options.contains(&"--variant=extract".to_owned()));
        let include = "--include=base-files,netbase,tzdata,media-types,ca-certificates,libc6,\
                       libssl3,libgcc-s1,gcc-12-base,libgomp1,libstdc++6";
        assert!(options.contains(&include.to_owned()), "{options:?}");
        assert!(
            options
                .iter()
                .any(|option| option.starts_with("--extract-hook="))
        );
    }

    #[test]
    fn debian_is_minbase_without_docs() {
        let options = mmdebstrap_options(Base::Debian);
        assert!(options.contains(&"--variant=minbase".to_owned()));
        assert!(options.contains(&"--dpkgopt=path-exclude=/usr/share/doc/*".to_owned()));
        assert!(options.contains(&"--dpkgopt=path-include=/usr/share/doc/*/copyright".to_owned()));
        assert!(
            options
                .iter()
                .any(|option| option.starts_with("--customize-hook="))
        );
    }

    #[test]
    fn recorded_provenance_needs_every_label() {
        let mut labels = HashMap::from([
            (label::SOURCE.to_owned(), label::DEBIAN_PACKAGES.to_owned()),
            (label::SUITE.to_owned(), "bookworm".to_owned()),
            (
                label::SNAPSHOT.to_owned(),
                "2026-11-22T02:09:05Z".to_owned(),
            ),
            (label::BUILT.to_owned(), "2026-11-23T14:00:00Z".to_owned()),
        ]);
        let image = |labels: &HashMap<String, String>| ImageInspect {
            config: Some(bollard::models::ImageConfig {
                labels: Some(labels.clone()),
                ..Default::default()
            }),
            ..Default::default()
        };
        assert_eq!(
            recorded_provenance(&image(&labels)),
            Some(BaseOrigin::DebianPackages {
                suite: "bookworm".into(),
                snapshot: "2026-11-22T02:09:05Z".into(),
                built: "2026-11-23T14:00:00Z".into(),
            })
        );
        labels.remove(label::SNAPSHOT);
        assert_eq!(recorded_provenance(&image(&labels)), None);
    }
}
