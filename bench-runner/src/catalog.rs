//! The closed sets benchlab measures: its frameworks and its base images, with the names users
//! type, the crates that build them and the images they become.

use std::fmt;

use clap::ValueEnum;
use serde::{Deserialize, Serialize};

/// A web framework with a benchlab service. Each one is the package and binary
/// `svc-<name>` under `frameworks/`.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, ValueEnum, Serialize, Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum Framework {
    Axum,
    ActixWeb,
    Rocket,
    Hyper,
}

impl Framework {
    /// Every framework, in the order tables list them.
    pub const ALL: [Framework; 4] = [
        Framework::Axum,
        Framework::ActixWeb,
        Framework::Rocket,
        Framework::Hyper,
    ];

    /// The name users see: in image tags, tables and `--frameworks`.
    pub fn name(self) -> &'static str {
        match self {
            Framework::Axum => "axum",
            Framework::ActixWeb => "actix-web",
            Framework::Rocket => "rocket",
            Framework::Hyper => "hyper",
        }
    }

    /// The framework's crate and the version series the service depends on, to find its
    /// locked version in `Cargo.lock` (see `svc-build`).
    pub fn crate_series(self) -> (&'static str, &'static str) {
        match self {
            Framework::Axum => ("axum", "0.8"),
            Framework::ActixWeb => ("actix-web", "4"),
            Framework::Rocket => ("rocket", "0.5"),
            Framework::Hyper => ("hyper", "1"),
        }
    }

    /// The cargo package, which is also the name of its binary.
    pub fn package(self) -> &'static str {
        match self {
            Framework::Axum => "svc-axum",
            Framework::ActixWeb => "svc-actix-web",
            Framework::Rocket => "svc-rocket",
            Framework::Hyper => "svc-hyper",
        }
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
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, ValueEnum, Serialize, Deserialize,
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
    pub const ALL: [Base; 3] = [Base::Scratch, Base::Distroless, Base::Debian];

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

/// The repository benchlab's images live in: `benchlab/<framework>:<base>`.
pub const REPOSITORY: &str = "benchlab";

/// The tag of the image of `framework` on `base` in `repository`.
pub fn image_tag(repository: &str, framework: Framework, base: Base) -> String {
    format!("{repository}/{}:{}", framework.name(), base.name())
}

/// The framework × base matrix in table order: framework-major, each in catalog order,
/// whatever order the selections were given in; duplicates collapse.
pub fn matrix(frameworks: &[Framework], bases: &[Base]) -> Vec<(Framework, Base)> {
    let mut frameworks = frameworks.to_vec();
    frameworks.sort();
    frameworks.dedup();
    let mut bases = bases.to_vec();
    bases.sort();
    bases.dedup();
    frameworks
        .iter()
        .flat_map(|&framework| bases.iter().map(move |&base| (framework, base)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matrix_order_is_framework_major_in_catalog_order() {
        let cells = matrix(
            &[Framework::Hyper, Framework::Axum, Framework::Hyper],
            &[Base::Debian, Base::Scratch],
        );
        let tags: Vec<String> = cells
            .iter()
            .map(|&(framework, base)| image_tag(REPOSITORY, framework, base))
            .collect();
        assert_eq!(
            tags,
            [
                "benchlab/axum:scratch",
                "benchlab/axum:debian",
                "benchlab/hyper:scratch",
                "benchlab/hyper:debian",
            ]
        );
    }

    #[test]
    fn full_matrix_has_twelve_cells() {
        assert_eq!(matrix(&Framework::ALL, &Base::ALL).len(), 12);
    }

    #[test]
    fn names_match_clap_value_names() {
        for framework in Framework::ALL {
            let value = framework
                .to_possible_value()
                .expect("no framework is skipped");
            assert_eq!(value.get_name(), framework.name());
            assert_eq!(framework.package(), format!("svc-{}", framework.name()));
        }
        for base in Base::ALL {
            let value = base.to_possible_value().expect("no base is skipped");
            assert_eq!(value.get_name(), base.name());
        }
    }
}
