//! Turns the root filesystem tarball mmdebstrap writes into the one benchlab imports as a base
//! image: the policy of what a base ships, as a pure tar-to-tar rewrite (no IO of its own).
//!
//! mmdebstrap leaves things in its tarball that no image should carry (the build host's
//! `/etc/resolv.conf` and `/etc/hostname`, device nodes in `/dev`, which the engine provides)
//! and, in its `extract` variant, runs no maintainer scripts. So the distroless equivalent is
//! finished here: only the files of the wanted packages (apt pulls in their dependencies:
//! debconf, mawk, openssl...), no package manager state, documentation reduced to copyright
//! files, the CA bundle `update-ca-certificates` would have generated, the `root` and `nonroot`
//! users, and `/tmp` with mode 1777.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};

use anyhow::{Context, Result, bail};
use tar::{EntryType, Header};

/// The user distroless images run as, and the only user besides root in its `/etc/passwd`.
pub const NONROOT_UID: u32 = 65532;

/// The packages of upstream distroless `cc` for Debian 12: its `static` layer (base-files,
/// netbase, tzdata, media-types, the CA bundle), its `base` layer (libc6, libssl3) and its `cc`
/// layer (libgcc-s1, gcc-12-base, libgomp1, libstdc++6). Their files make the distroless base;
/// of ca-certificates only the generated bundle remains. The files of anything apt adds as a
/// dependency are dropped.
pub const DISTROLESS_PACKAGES: [&str; 11] = [
    "base-files",
    "netbase",
    "tzdata",
    "media-types",
    "ca-certificates",
    "libc6",
    "libssl3",
    "libgcc-s1",
    "gcc-12-base",
    "libgomp1",
    "libstdc++6",
];

/// A Debian package as it was downloaded for the rootfs: the hook copies out its control
/// fields and the paths in its data archive (`./usr/bin/x`, directories end in `/`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Package {
    pub name: String,
    pub version: String,
    /// The control fields, as `dpkg-deb --field` prints them.
    pub control: String,
    /// The paths of its data archive, as `tar -t` lists them.
    pub files: Vec<String>,
}

impl Package {
    /// Reads a package from its control fields and its file list.
    ///
    /// # Errors
    /// When the control fields name no package or no version.
    pub fn parse(control: &str, files: &str) -> Result<Self> {
        let field = |name: &str| {
            control.lines().find_map(|line| {
                line.strip_prefix(name)
                    .and_then(|rest| rest.strip_prefix(':'))
                    .map(|value| value.trim().to_owned())
            })
        };
        let name = field("Package").context("the control fields name no Package")?;
        let version = field("Version")
            .with_context(|| format!("the control fields of '{name}' name no Version"))?;
        Ok(Self {
            name,
            version,
            control: control.to_owned(),
            files: files.lines().map(str::to_owned).collect(),
        })
    }
}

/// What a rewrite kept and dropped.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    /// Entries written, added ones included.
    pub entries: u64,
    /// Entries of the input left out.
    pub dropped: u64,
    /// Bytes of file content written.
    pub content_bytes: u64,
}

/// Rewrites mmdebstrap's minbase tarball for the debian base: the slimming itself happened at
/// install time (dpkg path excludes); this only drops what describes the build host.
///
/// # Errors
/// When the input is not a readable tar or the output cannot be written.
pub fn slim_debian(input: impl Read, output: impl Write) -> Result<Summary> {
    let mut builder = tar::Builder::new(output);
    let summary = rewrite(input, &mut builder, |path, _| {
        if describes_build_host(path) || is_backup_state(path) {
            Action::Drop
        } else {
            Action::Keep
        }
    })?;
    builder
        .finish()
        .context("could not finish the rootfs tar")?;
    Ok(summary.written)
}

/// Rewrites mmdebstrap's `extract` tarball into the distroless base. `packages` are all the
/// packages that were extracted; the files of those not in [`DISTROLESS_PACKAGES`] are dropped.
/// Added files get `mtime` (seconds since the epoch) so equal inputs give equal layers.
///
/// # Errors
/// When the input is not a readable tar, a wanted package is missing, or no CA certificate
/// was found.
pub fn slim_distroless(
    input: impl Read,
    output: impl Write,
    packages: &[Package],
    mtime: u64,
) -> Result<Summary> {
    for wanted in DISTROLESS_PACKAGES {
        if !packages.iter().any(|package| package.name == wanted) {
            bail!("package '{wanted}' was not extracted into the distroless rootfs");
        }
    }
    let ownership = Ownership::of(packages);
    let added = distroless_files(packages);
    let mut builder = tar::Builder::new(output);
    let mut rewritten = rewrite(input, &mut builder, |path, entry_type| {
        if added.contains_key(path) || ownership.is_unwanted(path) {
            return Action::Drop;
        }
        distroless_action(path, entry_type)
    })?;
    if rewritten.certificates.is_empty() {
        bail!("no CA certificate (*.crt) under /usr/share/ca-certificates in the rootfs");
    }
    let mut bundle = Vec::new();
    for pem in rewritten.certificates.values() {
        bundle.extend_from_slice(pem);
        if !pem.ends_with(b"\n") {
            bundle.push(b'\n');
        }
    }
    let mut files = added;
    files.insert(
        "etc/ssl/certs/ca-certificates.crt".to_owned(),
        Added::file(0o644, bundle),
    );
    for (path, file) in &files {
        append(&mut builder, path, file, mtime)?;
        rewritten.written.entries += 1;
        rewritten.written.content_bytes += file.content.len() as u64;
    }
    builder
        .finish()
        .context("could not finish the rootfs tar")?;
    Ok(rewritten.written)
}

/// What happens to one entry of the input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Action {
    Keep,
    /// Keep with these permission bits.
    KeepMode(u32),
    Drop,
    /// Drop, but keep the content: a CA certificate that goes into the bundle.
    Collect,
}

/// The result of [`rewrite`]: counts, and the collected certificates by path.
struct Rewritten {
    written: Summary,
    certificates: BTreeMap<String, Vec<u8>>,
}

/// Copies every entry of `input` to `builder` as `decide` says, with paths made relative
/// (`./usr/bin/x` becomes `usr/bin/x`) and extended attributes kept.
fn rewrite<W: Write>(
    input: impl Read,
    builder: &mut tar::Builder<W>,
    mut decide: impl FnMut(&str, EntryType) -> Action,
) -> Result<Rewritten> {
    let mut archive = tar::Archive::new(input);
    let mut rewritten = Rewritten {
        written: Summary::default(),
        certificates: BTreeMap::new(),
    };
    for entry in archive.entries().context("could not read the rootfs tar")? {
        let mut entry = entry.context("could not read an entry of the rootfs tar")?;
        let raw_path = entry.path().context("an entry has no readable path")?;
        let path = relative(&raw_path.to_string_lossy());
        let entry_type = entry.header().entry_type();
        let action = if path.is_empty() {
            Action::Drop
        } else {
            decide(&path, entry_type)
        };
        match action {
            Action::Drop => rewritten.written_dropped(),
            Action::Collect => {
                let mut pem = Vec::new();
                entry
                    .read_to_end(&mut pem)
                    .with_context(|| format!("could not read '{path}'"))?;
                rewritten.certificates.insert(path, pem);
                rewritten.written_dropped();
            }
            Action::Keep | Action::KeepMode(_) => {
                let xattrs: Vec<(String, Vec<u8>)> = match entry.pax_extensions()? {
                    Some(extensions) => extensions
                        .filter_map(Result::ok)
                        .filter_map(|extension| {
                            let key = extension.key().ok()?;
                            key.starts_with("SCHILY.xattr.")
                                .then(|| (key.to_owned(), extension.value_bytes().to_vec()))
                        })
                        .collect(),
                    None => Vec::new(),
                };
                builder.append_pax_extensions(
                    xattrs
                        .iter()
                        .map(|(key, value)| (key.as_str(), value.as_slice())),
                )?;
                let mut header = entry.header().clone();
                if let Action::KeepMode(mode) = action {
                    header.set_mode(mode);
                }
                match entry_type {
                    EntryType::Symlink | EntryType::Link => {
                        let target = entry
                            .link_name()?
                            .with_context(|| format!("link '{path}' has no target"))?;
                        let target = target.to_string_lossy();
                        // Hard links name a path in the archive, which is now relative too.
                        let target = if entry_type == EntryType::Link {
                            relative(&target)
                        } else {
                            target.into_owned()
                        };
                        builder
                            .append_link(&mut header, &path, &target)
                            .with_context(|| format!("could not write link '{path}'"))?;
                    }
                    _ => {
                        rewritten.written.content_bytes += header.size()?;
                        builder
                            .append_data(&mut header, &path, &mut entry)
                            .with_context(|| format!("could not write '{path}'"))?;
                    }
                }
                rewritten.written.entries += 1;
            }
        }
    }
    Ok(rewritten)
}

impl Rewritten {
    fn written_dropped(&mut self) {
        self.written.dropped += 1;
    }
}

/// `path` without a leading `./` or `/` and without a trailing `/`; the root becomes "".
fn relative(path: &str) -> String {
    let path = path.strip_prefix("./").unwrap_or(path);
    let path = path.trim_start_matches('/');
    let path = path.trim_end_matches('/');
    if path == "." {
        String::new()
    } else {
        path.to_owned()
    }
}

/// Whether `path` is `dir` or lies below it.
fn within(path: &str, dir: &str) -> bool {
    path.strip_prefix(dir)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

/// Files that describe the machine that ran mmdebstrap, not the image: its resolver and host
/// name (the engine provides both at run time) and device nodes (the engine mounts `/dev`).
fn describes_build_host(path: &str) -> bool {
    path == "etc/resolv.conf" || path == "etc/hostname" || (within(path, "dev") && path != "dev")
}

/// The `-old` copies dpkg and debconf keep of their databases.
fn is_backup_state(path: &str) -> bool {
    path.ends_with("-old") && (within(path, "var/lib/dpkg") || within(path, "var/cache/debconf"))
}

/// Directories a distroless image does not ship: package manager state, documentation beyond
/// copyright files, translations.
const DISTROLESS_DROPPED_DIRS: [&str; 11] = [
    "etc/apt",
    "etc/ca-certificates",
    "var/cache/apt",
    "var/cache/debconf",
    "var/lib/apt",
    "var/lib/dpkg",
    "var/log/apt",
    "usr/share/info",
    "usr/share/lintian",
    "usr/share/locale",
    "usr/share/man",
];

/// The distroless policy for one path of the extracted packages.
fn distroless_action(path: &str, entry_type: EntryType) -> Action {
    if describes_build_host(path)
        || DISTROLESS_DROPPED_DIRS.iter().any(|dir| within(path, dir))
        // A shell script, and there is no shell; the bundle it would make is added instead.
        || path == "usr/sbin/update-ca-certificates"
    {
        return Action::Drop;
    }
    if within(path, "usr/share/ca-certificates") {
        return if path.ends_with(".crt") && entry_type == EntryType::Regular {
            Action::Collect
        } else {
            Action::Drop
        };
    }
    if let Some(rest) = path.strip_prefix("usr/share/doc/") {
        // Keep `usr/share/doc/<package>` (a directory, or a link to the directory of the
        // package it comes with) and its copyright file, as upstream does.
        let keep = !rest.contains('/')
            || rest
                .split_once('/')
                .is_some_and(|(_, file)| file == "copyright");
        return if keep { Action::Keep } else { Action::Drop };
    }
    match path {
        "tmp" => Action::KeepMode(0o1777),
        "root" => Action::KeepMode(0o700),
        _ => Action::Keep,
    }
}

/// Which paths belong only to packages that are not wanted.
struct Ownership {
    /// Files (not directories) of unwanted packages; a file has exactly one package.
    unwanted_files: BTreeSet<String>,
    /// Directories of unwanted packages that no wanted package has.
    unwanted_dirs: BTreeSet<String>,
}

impl Ownership {
    fn of(packages: &[Package]) -> Self {
        let mut unwanted_files = BTreeSet::new();
        let mut unwanted_dirs = BTreeSet::new();
        let mut wanted_dirs = BTreeSet::new();
        for package in packages {
            let wanted = DISTROLESS_PACKAGES.contains(&package.name.as_str());
            for listed in &package.files {
                let path = merged_usr(&relative(listed));
                match (listed.ends_with('/'), wanted) {
                    (true, true) => wanted_dirs.insert(path),
                    (true, false) => unwanted_dirs.insert(path),
                    (false, false) => unwanted_files.insert(path),
                    (false, true) => false,
                };
            }
        }
        let unwanted_dirs = unwanted_dirs.difference(&wanted_dirs).cloned().collect();
        Self {
            unwanted_files,
            unwanted_dirs,
        }
    }

    fn is_unwanted(&self, path: &str) -> bool {
        self.unwanted_files.contains(path) || self.unwanted_dirs.contains(path)
    }
}

/// Where a package path lands in a merged-/usr tree: `/bin`, `/sbin` and `/lib*` are links
/// into `/usr`, so `bin/x` is extracted as `usr/bin/x`.
fn merged_usr(path: &str) -> String {
    let first = path.split('/').next().unwrap_or_default();
    if matches!(first, "bin" | "sbin" | "lib" | "lib32" | "lib64" | "libx32") {
        format!("usr/{path}")
    } else {
        path.to_owned()
    }
}

/// An entry benchlab adds to the distroless rootfs.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Added {
    directory: bool,
    mode: u32,
    owner: u32,
    content: Vec<u8>,
}

impl Added {
    fn file(mode: u32, content: impl Into<Vec<u8>>) -> Self {
        Self {
            directory: false,
            mode,
            owner: 0,
            content: content.into(),
        }
    }

    fn directory(mode: u32, owner: u32) -> Self {
        Self {
            directory: true,
            mode,
            owner,
            content: Vec::new(),
        }
    }
}

/// What the maintainer scripts and distroless' own build would have made: users, the home of
/// `nonroot`, name service configuration, and the package records scanners read (one control
/// file per package in `var/lib/dpkg/status.d/`, as distroless ships them). The CA bundle is
/// added separately once the certificates are collected.
fn distroless_files(packages: &[Package]) -> BTreeMap<String, Added> {
    let nonroot = NONROOT_UID;
    let mut files = BTreeMap::from([
        (
            "etc/passwd".to_owned(),
            Added::file(
                0o644,
                format!(
                    "root:x:0:0:root:/root:/sbin/nologin\n\
                     nonroot:x:{nonroot}:{nonroot}:nonroot:/home/nonroot:/sbin/nologin\n"
                ),
            ),
        ),
        (
            "etc/group".to_owned(),
            Added::file(0o644, format!("root:x:0:\nnonroot:x:{nonroot}:\n")),
        ),
        (
            "etc/nsswitch.conf".to_owned(),
            Added::file(
                0o644,
                "passwd: files\ngroup: files\nshadow: files\nhosts: files dns\n\
                 networks: files\nprotocols: files\nservices: files\n",
            ),
        ),
        ("home/nonroot".to_owned(), Added::directory(0o700, nonroot)),
        ("var/lib/dpkg".to_owned(), Added::directory(0o755, 0)),
        (
            "var/lib/dpkg/status.d".to_owned(),
            Added::directory(0o755, 0),
        ),
    ]);
    for package in packages {
        if DISTROLESS_PACKAGES.contains(&package.name.as_str()) {
            let mut record = package.control.clone();
            if !record.ends_with('\n') {
                record.push('\n');
            }
            files.insert(
                format!("var/lib/dpkg/status.d/{}", package.name),
                Added::file(0o644, record),
            );
        }
    }
    files
}

/// Appends one added entry (paths sort parents first, so directories precede their files).
fn append<W: Write>(
    builder: &mut tar::Builder<W>,
    path: &str,
    file: &Added,
    mtime: u64,
) -> Result<()> {
    let mut header = Header::new_gnu();
    header.set_entry_type(if file.directory {
        EntryType::Directory
    } else {
        EntryType::Regular
    });
    header.set_mode(file.mode);
    header.set_uid(file.owner.into());
    header.set_gid(file.owner.into());
    header.set_mtime(mtime);
    header.set_size(file.content.len() as u64);
    builder
        .append_data(&mut header, path, file.content.as_slice())
        .with_context(|| format!("could not add '{path}'"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One entry of a test tarball.
    enum Entry<'a> {
        Dir(&'a str, u32),
        File(&'a str, &'a str),
        Symlink(&'a str, &'a str),
        HardLink(&'a str, &'a str),
    }

    fn tarball(entries: &[Entry<'_>]) -> Vec<u8> {
        let mut builder = tar::Builder::new(Vec::new());
        for entry in entries {
            let mut header = Header::new_ustar();
            header.set_uid(0);
            header.set_gid(0);
            header.set_mtime(0);
            match *entry {
                Entry::Dir(path, mode) => {
                    header.set_entry_type(EntryType::Directory);
                    header.set_mode(mode);
                    header.set_size(0);
                    builder.append_data(&mut header, path, &[][..]).unwrap();
                }
                Entry::File(path, content) => {
                    header.set_mode(0o644);
                    header.set_size(content.len() as u64);
                    builder
                        .append_data(&mut header, path, content.as_bytes())
                        .unwrap();
                }
                Entry::Symlink(path, target) | Entry::HardLink(path, target) => {
                    header.set_mode(0o777);
                    header.set_entry_type(if matches!(entry, Entry::Symlink(..)) {
                        EntryType::Symlink
                    } else {
                        EntryType::Link
                    });
                    header.set_size(0);
                    builder.append_link(&mut header, path, target).unwrap();
                }
            }
        }
        builder.into_inner().unwrap()
    }

    /// Path, type, mode, owner and content of every entry.
    fn listing(tar: &[u8]) -> Vec<(String, char, u32, u64, String)> {
        let mut archive = tar::Archive::new(tar);
        archive
            .entries()
            .unwrap()
            .map(|entry| {
                let mut entry = entry.unwrap();
                let path = entry.path().unwrap().to_string_lossy().into_owned();
                let header = entry.header().clone();
                let kind = match header.entry_type() {
                    EntryType::Directory => 'd',
                    EntryType::Symlink => 'l',
                    EntryType::Link => 'h',
                    _ => 'f',
                };
                let mut content = String::new();
                if kind == 'l' || kind == 'h' {
                    content = entry.link_name().unwrap().unwrap().to_string_lossy().into();
                } else {
                    entry.read_to_string(&mut content).unwrap();
                }
                (
                    path,
                    kind,
                    header.mode().unwrap(),
                    header.uid().unwrap(),
                    content,
                )
            })
            .collect()
    }

    fn paths(tar: &[u8]) -> Vec<String> {
        listing(tar).into_iter().map(|entry| entry.0).collect()
    }

    fn package(name: &str, files: &[&str]) -> Package {
        Package::parse(
            &format!("Package: {name}\nVersion: 1.0-1\nArchitecture: all\n"),
            &files.join("\n"),
        )
        .unwrap()
    }

    /// The wanted packages with their shared directories; libc6 also ships `usr/bin/getconf`.
    fn wanted_packages() -> Vec<Package> {
        DISTROLESS_PACKAGES
            .iter()
            .map(|&name| {
                let mut files = vec!["./", "./usr/", "./usr/share/", "./usr/share/doc/"];
                if name == "libc6" {
                    files.extend(["./usr/bin/", "./usr/bin/getconf"]);
                }
                package(name, &files)
            })
            .collect()
    }

    #[test]
    fn debian_drops_only_what_describes_the_build_host() {
        let input = tarball(&[
            Entry::Dir("./", 0o755),
            Entry::Dir("./dev/", 0o755),
            Entry::File("./dev/null", ""),
            Entry::Dir("./etc/", 0o755),
            Entry::File("./etc/hostname", "vm\n"),
            Entry::File("./etc/resolv.conf", "nameserver 10.0.0.1\n"),
            Entry::File("./etc/os-release", "ID=debian\n"),
            Entry::File("./var/lib/dpkg/status-old", ""),
            Entry::File("./var/lib/dpkg/status", "Package: bash\n"),
            Entry::Symlink("./bin", "usr/bin"),
            Entry::File("./usr/bin/gunzip", "#!/bin/sh\n"),
            Entry::HardLink("./usr/bin/uncompress", "./usr/bin/gunzip"),
        ]);
        let mut output = Vec::new();
        let summary = slim_debian(input.as_slice(), &mut output).unwrap();
        assert_eq!(
            paths(&output),
            [
                "dev",
                "etc",
                "etc/os-release",
                "var/lib/dpkg/status",
                "bin",
                "usr/bin/gunzip",
                "usr/bin/uncompress",
            ]
        );
        assert_eq!(
            summary.dropped, 5,
            "root entry, dev/null, hostname, resolv.conf, -old"
        );
        let listing = listing(&output);
        assert_eq!(
            listing[4].4, "usr/bin",
            "symlink targets are kept as they are"
        );
        assert_eq!(
            listing[6].4, "usr/bin/gunzip",
            "hard link targets become relative"
        );
    }

    #[test]
    fn distroless_keeps_wanted_packages_only_and_adds_what_scripts_would_make() {
        let mut packages = wanted_packages();
        packages.push(package(
            "mawk",
            &[
                "./",
                "./usr/",
                "./usr/bin/",
                "./usr/bin/mawk",
                "./usr/share/doc/mawk/",
            ],
        ));
        packages.push(package(
            "debconf",
            &["./usr/share/debconf/", "./usr/share/debconf/x.sh"],
        ));
        let input = tarball(&[
            Entry::Dir("./", 0o755),
            Entry::Dir("./tmp/", 0o755),
            Entry::Dir("./root/", 0o755),
            Entry::Dir("./usr/bin/", 0o755),
            Entry::File("./usr/bin/mawk", "awk"),
            Entry::File("./usr/bin/getconf", "elf"),
            Entry::Dir("./usr/share/debconf/", 0o755),
            Entry::File("./usr/share/debconf/x.sh", "sh"),
            Entry::Dir("./usr/share/doc/", 0o755),
            Entry::Dir("./usr/share/doc/libc6/", 0o755),
            Entry::File("./usr/share/doc/libc6/copyright", "GPL"),
            Entry::File("./usr/share/doc/libc6/changelog.Debian.gz", "log"),
            Entry::Symlink("./usr/share/doc/libgcc-s1", "gcc-12-base"),
            Entry::Dir("./usr/share/doc/mawk/", 0o755),
            Entry::Dir("./usr/share/man/man1/", 0o755),
            Entry::File("./usr/share/man/man1/ldd.1.gz", "man"),
            Entry::File("./usr/share/ca-certificates/mozilla/B.crt", "-----B-----"),
            Entry::File("./usr/share/ca-certificates/mozilla/A.crt", "-----A-----\n"),
            Entry::File("./usr/sbin/update-ca-certificates", "#!/bin/sh"),
            Entry::File("./var/lib/dpkg/status", ""),
            Entry::File("./etc/apt/sources.list", "deb ..."),
            Entry::File("./etc/resolv.conf", "nameserver 10.0.0.1\n"),
        ]);
        let mut output = Vec::new();
        slim_distroless(input.as_slice(), &mut output, &packages, 1_700_000_000).unwrap();
        let listing = listing(&output);
        let kept: Vec<&str> = listing.iter().map(|entry| entry.0.as_str()).collect();
        assert_eq!(
            kept,
            [
                "tmp",
                "root",
                "usr/bin",
                "usr/bin/getconf",
                "usr/share/doc",
                "usr/share/doc/libc6",
                "usr/share/doc/libc6/copyright",
                "usr/share/doc/libgcc-s1",
                "etc/group",
                "etc/nsswitch.conf",
                "etc/passwd",
                "etc/ssl/certs/ca-certificates.crt",
                "home/nonroot",
                "var/lib/dpkg",
                "var/lib/dpkg/status.d",
                "var/lib/dpkg/status.d/base-files",
                "var/lib/dpkg/status.d/ca-certificates",
                "var/lib/dpkg/status.d/gcc-12-base",
                "var/lib/dpkg/status.d/libc6",
                "var/lib/dpkg/status.d/libgcc-s1",
                "var/lib/dpkg/status.d/libgomp1",
                "var/lib/dpkg/status.d/libssl3",
                "var/lib/dpkg/status.d/libstdc++6",
                "var/lib/dpkg/status.d/media-types",
                "var/lib/dpkg/status.d/netbase",
                "var/lib/dpkg/status.d/tzdata",
            ]
        );
        let entry = |path: &str| listing.iter().find(|entry| entry.0 == path).unwrap();
        assert_eq!(entry("tmp").2, 0o1777);
        assert_eq!(entry("root").2, 0o700);
        assert_eq!(
            (entry("home/nonroot").2, entry("home/nonroot").3),
            (0o700, 65532)
        );
        assert_eq!(
            entry("etc/ssl/certs/ca-certificates.crt").4,
            "-----A-----\n-----B-----\n",
            "certificates are bundled in path order, each ending in a newline"
        );
        assert_eq!(
            entry("etc/passwd").4,
            "root:x:0:0:root:/root:/sbin/nologin\n\
             nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n"
        );
        assert_eq!(entry("etc/group").4, "root:x:0:\nnonroot:x:65532:\n");
        assert!(
            entry("var/lib/dpkg/status.d/libc6")
                .4
                .starts_with("Package: libc6\n")
        );
    }

    #[test]
    fn distroless_requires_every_wanted_package() {
        let packages: Vec<Package> = wanted_packages()
            .into_iter()
            .filter(|package| package.name != "libssl3")
            .collect();
        let err = slim_distroless(&tarball(&[])[..], Vec::new(), &packages, 0).unwrap_err();
        assert_eq!(
            err.to_string(),
            "package 'libssl3' was not extracted into the distroless rootfs"
        );
    }

    #[test]
    fn distroless_without_certificates_is_an_error() {
        let input = tarball(&[Entry::Dir("./etc/", 0o755)]);
        let err = slim_distroless(input.as_slice(), Vec::new(), &wanted_packages(), 0).unwrap_err();
        assert!(err.to_string().contains("no CA certificate"), "{err}");
    }

    #[test]
    fn unwanted_package_paths_map_into_merged_usr() {
        let mut packages = wanted_packages();
        packages.push(package(
            "old-layout",
            &["./bin/", "./bin/tool", "./lib64/", "./lib64/x.so"],
        ));
        let ownership = Ownership::of(&packages);
        assert!(ownership.is_unwanted("usr/bin/tool"));
        assert!(ownership.is_unwanted("usr/lib64/x.so"));
        assert!(
            ownership.is_unwanted("usr/lib64"),
            "no wanted package has usr/lib64"
        );
        assert!(!ownership.is_unwanted("usr/bin"), "libc6 has usr/bin too");
        assert!(!ownership.is_unwanted("usr/bin/getconf"));
    }

    #[test]
    fn package_fields_are_read_from_control_text() {
        let package = Package::parse(
            "Package: libc6\nSource: glibc\nVersion: 2.36-9+deb12u13\nDepends: libgcc-s1\n",
            "./\n./usr/\n",
        )
        .unwrap();
        assert_eq!(
            (package.name.as_str(), package.version.as_str()),
            ("libc6", "2.36-9+deb12u13")
        );
        assert_eq!(package.files, ["./", "./usr/"]);
        assert!(Package::parse("Version: 1\n", "").is_err());
    }
}
