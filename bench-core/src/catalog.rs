//! The closed sets benchlab measures, each defined once: its frameworks, the bases their
//! images are built on, where services run, and what a cell's service runs from. Names users
//! type, crates, binaries, image tags and CLI values are methods on these types; no other
//! place lists them.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Declares [`Framework`] from one line per framework: `Variant => "name"`, where `name` is
/// the framework's crate on crates.io, the name users type and the `<name>` of its service
/// crate and binary `svc-<name>`.
macro_rules! frameworks {
    ($($(#[$doc:meta])* $variant:ident => $name:literal,)+) => {
        /// A web framework with a benchlab service: the package and binary `svc-<name>`
        /// under `frameworks/`, serving the contract of `frameworks/README.md`.
        #[derive(
            Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
            clap::ValueEnum,
        )]
        pub enum Framework {
            $($(#[$doc])* #[serde(rename = $name)] #[value(name = $name)] $variant,)+
        }

        impl Framework {
            /// Every framework, in the order tables list them.
            pub const ALL: &[Framework] = &[$(Framework::$variant),+];

            /// The name users see (in `--frameworks`, image tags and tables), which is also
            /// the framework's crate.
            pub fn name(self) -> &'static str {
                match self {
                    $(Framework::$variant => $name,)+
                }
            }

            /// The cargo package of its service, which is also the name of its binary.
            pub fn package(self) -> &'static str {
                match self {
                    $(Framework::$variant => concat!("svc-", $name),)+
                }
            }
        }
    };
}

frameworks! {
    Axum => "axum",
    ActixWeb => "actix-web",
    Rocket => "rocket",
    /// hyper alone, with a match on method and path: the baseline with no framework.
    Hyper => "hyper",
    Salvo => "salvo",
    Poem => "poem",
    Ntex => "ntex",
    Warp => "warp",
    XitcaWeb => "xitca-web",
}

impl Framework {
    /// The framework whose service is the cargo package `package` (`svc-axum`).
    pub fn of_package(package: &str) -> Option<Framework> {
        Framework::ALL
            .iter()
            .copied()
            .find(|framework| framework.package() == package)
    }
}

impl fmt::Display for Framework {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What an image is built on. The service binary is the same static binary in every base, so
/// the base is the only variable.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    clap::ValueEnum,
)]
#[serde(rename_all = "kebab-case")]
pub enum Base {
    /// No base at all: the binary and the image metadata.
    Scratch,
    /// Google's distroless `cc` image (or benchlab's equivalent built from Debian packages):
    /// glibc, libgcc, libssl, CA certificates, time zones; no shell, no package manager.
    Distroless,
    /// Debian bookworm, slimmed like upstream's `bookworm-slim`: shell and apt included.
    Debian,
}

impl Base {
    /// Every base, in the order tables list them: smallest first.
    pub const ALL: &[Base] = &[Base::Scratch, Base::Distroless, Base::Debian];

    /// The name users see: in image tags, tables and `--bases`.
    pub fn name(self) -> &'static str {
        match self {
            Base::Scratch => "scratch",
            Base::Distroless => "distroless",
            Base::Debian => "debian",
        }
    }

    /// The Dockerfile under `dockerfiles/` that puts a service on this base.
    pub fn dockerfile(self) -> &'static str {
        match self {
            Base::Scratch => "scratch.Dockerfile",
            Base::Distroless => "distroless.Dockerfile",
            Base::Debian => "debian.Dockerfile",
        }
    }

    /// The upstream image users know, and the default of the Dockerfile's `BASE` argument.
    /// `None` for scratch, which is no image.
    pub fn upstream(self) -> Option<&'static str> {
        match self {
            Base::Scratch => None,
            Base::Distroless => Some("gcr.io/distroless/cc-debian12:nonroot"),
            Base::Debian => Some("debian:bookworm-slim"),
        }
    }

    /// The tag under which benchlab keeps the equivalent it builds from Debian packages when
    /// the upstream image is neither present nor pullable.
    pub fn local_tag(self) -> Option<&'static str> {
        match self {
            Base::Scratch => None,
            Base::Distroless => Some("benchlab/base-distroless:cc-debian12-nonroot"),
            Base::Debian => Some("benchlab/base-debian:bookworm-slim"),
        }
    }
}

impl fmt::Display for Base {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Where the services run.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, clap::ValueEnum,
)]
#[serde(rename_all = "kebab-case")]
pub enum Backend {
    /// Containers with CPU quota and memory limit, from the framework × base images.
    #[default]
    Docker,
    /// The static binaries as local processes pinned to the server CPUs: no image, no
    /// quota, no memory limit.
    Process,
    /// Fargate tasks in an ECS cluster, from the framework × base images in a registry (ECR),
    /// each of its cell's task size; the load comes from this machine over the VPC. The
    /// server's CPU, memory and throttling are not measured: Fargate gives the runner no
    /// cgroup to read.
    Ecs,
}

impl Backend {
    /// The name in flags, files and tables.
    pub fn name(self) -> &'static str {
        match self {
            Backend::Docker => "docker",
            Backend::Process => "process",
            Backend::Ecs => "ecs",
        }
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What loads a cell: oha, the default, or wrk as a second opinion on the same cell.
#[derive(
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    clap::ValueEnum,
)]
#[serde(rename_all = "kebab-case")]
pub enum Generator {
    /// oha 1.16, as a library in a child process of the runner: closed loop, fixed rate
    /// (`-q` with `--latency-correction`) and connection churn, every request recorded.
    #[default]
    Oha,
    /// Debian's wrk 4.1, with a Lua report: closed loop only (wrk has no fixed-rate mode),
    /// a latency histogram but no per-request records, so no timeline.
    Wrk,
}

impl Generator {
    /// Both, in the order `--cross-check` pairs them.
    pub const ALL: [Generator; 2] = [Generator::Oha, Generator::Wrk];

    /// The name in flags, files, cell ids and tables.
    pub fn name(self) -> &'static str {
        match self {
            Generator::Oha => "oha",
            Generator::Wrk => "wrk",
        }
    }

    /// The one that is not this one: what a cross-check measures the same cell with.
    pub fn other(self) -> Generator {
        match self {
            Generator::Oha => Generator::Wrk,
            Generator::Wrk => Generator::Oha,
        }
    }

    /// Whether this is oha (for `skip_serializing_if`: cells loaded by oha keep the ids and
    /// the JSON they had before there was a choice).
    pub fn is_oha(&self) -> bool {
        *self == Generator::Oha
    }
}

impl fmt::Display for Generator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What a cell's service runs from: an image on a base, or the bare binary under the
/// process backend. Written as the base's name, or `process`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Packaging {
    Image(Base),
    Process,
}

impl Packaging {
    /// The name in cell ids, tables and `results.json`.
    pub fn name(self) -> &'static str {
        match self {
            Packaging::Image(base) => base.name(),
            Packaging::Process => "process",
        }
    }

    /// The base, for an image.
    pub fn base(self) -> Option<Base> {
        match self {
            Packaging::Image(base) => Some(base),
            Packaging::Process => None,
        }
    }
}

impl fmt::Display for Packaging {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Packaging {
    type Err = String;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        if name == Packaging::Process.name() {
            return Ok(Packaging::Process);
        }
        Base::ALL
            .iter()
            .find(|base| base.name() == name)
            .map(|&base| Packaging::Image(base))
            .ok_or_else(|| format!("unknown base \"{name}\": expected a base or \"process\""))
    }
}

impl Serialize for Packaging {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl<'de> Deserialize<'de> for Packaging {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        name.parse().map_err(serde::de::Error::custom)
    }
}

/// The repository benchlab's images live in by default: `benchlab/<framework>:<base>`.
pub const REPOSITORY: &str = "benchlab";

/// The tag of the image of `framework` on `base` in `repository`.
pub fn image_tag(repository: &str, framework: Framework, base: Base) -> String {
    format!("{repository}/{}:{}", framework.name(), base.name())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::path::Path;

    use clap::ValueEnum;

    use super::*;

    /// The framework crates in the workspace: the folders `frameworks/svc-<name>` whose build
    /// script exports a framework version (the contract, build and suite crates do not).
    fn framework_crates() -> BTreeSet<String> {
        let frameworks = Path::new(env!("CARGO_MANIFEST_DIR")).join("../frameworks");
        std::fs::read_dir(&frameworks)
            .expect("the frameworks folder")
            .map(|entry| entry.expect("a folder entry").path())
            .filter(|path| {
                std::fs::read_to_string(path.join("build.rs"))
                    .is_ok_and(|script| script.contains("svc_build::export_framework"))
            })
            .map(|path| path.file_name().unwrap().to_string_lossy().into_owned())
            .collect()
    }

    #[test]
    fn every_framework_crate_is_in_the_catalog_and_every_entry_has_a_crate() {
        let crates = framework_crates();
        let catalog: BTreeSet<String> = Framework::ALL
            .iter()
            .map(|framework| framework.package().to_owned())
            .collect();
        assert_eq!(
            crates.difference(&catalog).collect::<Vec<_>>(),
            Vec::<&String>::new(),
            "crates under frameworks/ missing from the catalog"
        );
        assert_eq!(
            catalog.difference(&crates).collect::<Vec<_>>(),
            Vec::<&String>::new(),
            "catalog entries without a crate under frameworks/"
        );
    }

    #[test]
    fn names_are_the_clap_values_and_the_serde_names() {
        for &framework in Framework::ALL {
            let value = framework
                .to_possible_value()
                .expect("no framework is skipped");
            assert_eq!(value.get_name(), framework.name());
            assert_eq!(
                serde_json::to_string(&framework).unwrap(),
                format!("\"{}\"", framework.name())
            );
            assert_eq!(Framework::of_package(framework.package()), Some(framework));
        }
        for &base in Base::ALL {
            let value = base.to_possible_value().expect("no base is skipped");
            assert_eq!(value.get_name(), base.name());
            let packaging = Packaging::Image(base);
            assert_eq!(packaging.name().parse(), Ok(packaging));
        }
        for &backend in &[Backend::Docker, Backend::Process, Backend::Ecs] {
            let value = backend.to_possible_value().expect("no backend is skipped");
            assert_eq!(value.get_name(), backend.name());
            assert_eq!(
                serde_json::to_string(&backend).unwrap(),
                format!("\"{}\"", backend.name())
            );
        }
        assert_eq!("process".parse(), Ok(Packaging::Process));
        assert_eq!(
            serde_json::to_string(&Packaging::Process).unwrap(),
            "\"process\""
        );
        assert!("alpine".parse::<Packaging>().is_err());
    }

    #[test]
    fn image_tags() {
        assert_eq!(
            image_tag(REPOSITORY, Framework::XitcaWeb, Base::Distroless),
            "benchlab/xitca-web:distroless"
        );
    }
}
