//! Measures images from what the engine exports, not from what benchlab thinks it built: one
//! `docker save` of all of them (shared layers come once), each layer tar gzipped as a
//! registry would store it, and the image filesystem rebuilt from the layers to count files and
//! look for a shell and a package manager.

use std::collections::{BTreeMap, HashMap};
use std::io::{self, Read, Write};

use anyhow::{Context, Result, anyhow, bail};
use bollard::Docker;
use bytes::{Buf, Bytes};
use flate2::Compression;
use flate2::write::GzEncoder;
use futures_util::StreamExt;
use serde::Deserialize;
use tokio::sync::mpsc;

/// Where the Dockerfiles put the service binary (relative to the image root).
pub const BINARY_PATH: &str = "service";

/// Shells, in the order they are looked for.
pub const SHELLS: [&str; 10] = [
    "bin/sh",
    "usr/bin/sh",
    "bin/bash",
    "usr/bin/bash",
    "bin/dash",
    "usr/bin/dash",
    "bin/ash",
    "usr/bin/ash",
    "bin/busybox",
    "usr/bin/busybox",
];

/// Package managers, in the order they are looked for.
pub const PACKAGE_MANAGERS: [&str; 9] = [
    "usr/bin/dpkg",
    "bin/dpkg",
    "usr/bin/apt",
    "usr/bin/apt-get",
    "sbin/apk",
    "usr/bin/rpm",
    "usr/bin/dnf",
    "usr/bin/microdnf",
    "usr/bin/yum",
];

/// What the exported layers say about one image.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Contents {
    pub layers: usize,
    /// Sum of the layers' tar sizes, uncompressed.
    pub layer_tar_bytes: u64,
    /// Sum of the layers' tars gzipped at the default level (6): what a registry stores.
    pub compressed_bytes: u64,
    /// Entries of the merged filesystem that are not directories.
    pub files: usize,
    /// Absolute paths of the shells present, in [`SHELLS`] order.
    pub shells: Vec<String>,
    /// Absolute paths of the package managers present, in [`PACKAGE_MANAGERS`] order.
    pub package_managers: Vec<String>,
    /// Size of `/service`, when present.
    pub binary_bytes: Option<u64>,
}

/// Exports `tags` from the engine in one archive and measures each image in it.
///
/// # Errors
/// When the export fails or an image's layers cannot be read.
pub async fn contents(docker: &Docker, tags: &[String]) -> Result<BTreeMap<String, Contents>> {
    let (sender, receiver) = mpsc::channel(16);
    let parser = tokio::task::spawn_blocking(move || parse_save(ChannelReader::new(receiver)));
    let names: Vec<&str> = tags.iter().map(String::as_str).collect();
    let mut export = docker.export_images(&names);
    while let Some(chunk) = export.next().await {
        let chunk = chunk.map_err(io::Error::other);
        let failed = chunk.is_err();
        // A closed channel means the parser stopped on an error, which it returns below.
        if sender.send(chunk).await.is_err() || failed {
            break;
        }
    }
    drop(sender);
    let save = parser
        .await
        .context("the thread reading the exported images panicked")?
        .with_context(|| format!("could not read the export of {}", tags.join(", ")))?;
    tags.iter()
        .map(|tag| Ok((tag.clone(), save.contents(tag)?)))
        .collect()
}

/// A `docker save` archive, read: which layers make which tagged image, and what each layer
/// holds.
#[derive(Debug, Default)]
struct Save {
    manifest: Vec<ManifestEntry>,
    /// By path in the archive. A blob that is not a tar (an image config in the OCI layout)
    /// has the parse error instead; it only matters if a manifest calls it a layer.
    layers: HashMap<String, Result<Layer, String>>,
    /// Layer paths that are links to another layer path: engine 20.10 writes a layer that
    /// several images share once and links the others to it.
    links: HashMap<String, String>,
}

/// One image of `manifest.json`.
#[derive(Debug, Deserialize)]
struct ManifestEntry {
    #[serde(rename = "RepoTags", default)]
    repo_tags: Option<Vec<String>>,
    #[serde(rename = "Layers")]
    layers: Vec<String>,
}

/// One layer tar.
#[derive(Debug, Default)]
struct Layer {
    tar_bytes: u64,
    gzip_bytes: u64,
    entries: Vec<LayerEntry>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct LayerEntry {
    /// Relative path (`usr/bin/sh`).
    path: String,
    directory: bool,
    size: u64,
}

impl Save {
    fn contents(&self, tag: &str) -> Result<Contents> {
        let entry = self
            .manifest
            .iter()
            .find(|entry| {
                entry
                    .repo_tags
                    .iter()
                    .flatten()
                    .any(|repo_tag| repo_tag == tag)
            })
            .ok_or_else(|| anyhow!("the export holds no image tagged '{tag}'"))?;
        let layers = entry
            .layers
            .iter()
            .map(|path| self.links.get(path).unwrap_or(path))
            .map(|path| match self.layers.get(path) {
                Some(Ok(layer)) => Ok(layer),
                Some(Err(err)) => Err(anyhow!("layer '{path}' of '{tag}' is not a tar: {err}")),
                None => Err(anyhow!("the export lacks layer '{path}' of '{tag}'")),
            })
            .collect::<Result<Vec<&Layer>>>()?;
        let filesystem = merge(&layers);
        let present = |candidates: &[&str]| {
            candidates
                .iter()
                .filter(|path| filesystem.contains_key(**path))
                .map(|path| format!("/{path}"))
                .collect()
        };
        Ok(Contents {
            layers: layers.len(),
            layer_tar_bytes: layers.iter().map(|layer| layer.tar_bytes).sum(),
            compressed_bytes: layers.iter().map(|layer| layer.gzip_bytes).sum(),
            files: filesystem.values().filter(|entry| !entry.directory).count(),
            shells: present(&SHELLS),
            package_managers: present(&PACKAGE_MANAGERS),
            binary_bytes: filesystem
                .get(BINARY_PATH)
                .filter(|entry| !entry.directory)
                .map(|entry| entry.size),
        })
    }
}

/// Reads a `docker save` archive: the legacy layout (`<id>/layer.tar`, as engine 20.10 writes
/// it) and the OCI layout (`blobs/sha256/<digest>`, newer engines).
fn parse_save(reader: impl Read) -> Result<Save> {
    let mut archive = tar::Archive::new(reader);
    let mut save = Save::default();
    for entry in archive
        .entries()
        .context("could not read the export archive")?
    {
        let mut entry = entry.context("could not read an entry of the export archive")?;
        let path = entry.path()?.to_string_lossy().into_owned();
        if path == "manifest.json" {
            save.manifest = serde_json::from_reader(&mut entry)
                .context("could not read manifest.json of the export")?;
        } else if path.ends_with("/layer.tar") || path.starts_with("blobs/") {
            let entry_type = entry.header().entry_type();
            if entry_type.is_symlink() || entry_type.is_hard_link() {
                let target = entry
                    .link_name()?
                    .with_context(|| format!("link '{path}' of the export has no target"))?;
                let target = link_target(&path, &target.to_string_lossy(), entry_type);
                save.links.insert(path, target);
                continue;
            }
            let layer = read_layer(&mut entry)
                .with_context(|| format!("could not read '{path}' of the export"))?;
            save.layers.insert(path, layer);
        }
    }
    if save.manifest.is_empty() {
        bail!("the export has no manifest.json");
    }
    Ok(save)
}

/// The archive path a link at `path` points to: a hard link names it, a symlink is relative
/// to the link's directory (`../<id>/layer.tar`).
fn link_target(path: &str, target: &str, entry_type: tar::EntryType) -> String {
    if entry_type.is_hard_link() {
        return relative(target);
    }
    let mut parts: Vec<&str> = path.split('/').collect();
    parts.pop();
    for part in target.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            part => parts.push(part),
        }
    }
    parts.join("/")
}

/// Reads one layer candidate to its end, gzipping every byte on the way; the inner result is
/// the layer, or why it is not a tar.
fn read_layer(reader: impl Read) -> io::Result<Result<Layer, String>> {
    let gzip = GzEncoder::new(CountingWriter::default(), Compression::default());
    let mut tee = TeeReader {
        inner: reader,
        sink: gzip,
        count: 0,
    };
    let entries = layer_entries(&mut tee);
    // The tar reader may stop before the padding at the end; the registry stores that too.
    io::copy(&mut tee, &mut io::sink())?;
    let gzip_bytes = tee.sink.finish()?.count;
    Ok(entries
        .map(|entries| Layer {
            tar_bytes: tee.count,
            gzip_bytes,
            entries,
        })
        .map_err(|err| err.to_string()))
}

fn layer_entries(reader: impl Read) -> io::Result<Vec<LayerEntry>> {
    let mut archive = tar::Archive::new(reader);
    let mut entries = Vec::new();
    for entry in archive.entries()? {
        let entry = entry?;
        let header = entry.header();
        entries.push(LayerEntry {
            path: relative(&entry.path()?.to_string_lossy()),
            directory: header.entry_type().is_dir(),
            size: header.size()?,
        });
    }
    Ok(entries)
}

/// The filesystem the layers make, bottom layer first: each layer's whiteouts (`.wh.<name>`
/// hides a lower path, `.wh..wh..opq` hides a directory's lower contents) apply to the layers
/// below it, then its entries are added.
fn merge(layers: &[&Layer]) -> BTreeMap<String, LayerEntry> {
    let mut filesystem: BTreeMap<String, LayerEntry> = BTreeMap::new();
    for layer in layers {
        for entry in &layer.entries {
            let (parent, name) = match entry.path.rsplit_once('/') {
                Some((parent, name)) => (parent, name),
                None => ("", entry.path.as_str()),
            };
            if name == ".wh..wh..opq" {
                remove_below(&mut filesystem, parent);
            } else if let Some(hidden) = name.strip_prefix(".wh.") {
                let hidden = if parent.is_empty() {
                    hidden.to_owned()
                } else {
                    format!("{parent}/{hidden}")
                };
                filesystem.remove(&hidden);
                remove_below(&mut filesystem, &hidden);
            }
        }
        for entry in &layer.entries {
            let name = entry.path.rsplit('/').next().unwrap_or_default();
            if !entry.path.is_empty() && !name.starts_with(".wh.") {
                filesystem.insert(entry.path.clone(), entry.clone());
            }
        }
    }
    filesystem
}

/// Removes everything below directory `dir` ("" is the root).
fn remove_below(filesystem: &mut BTreeMap<String, LayerEntry>, dir: &str) {
    if dir.is_empty() {
        filesystem.clear();
        return;
    }
    let prefix = format!("{dir}/");
    let below: Vec<String> = filesystem
        .range(prefix.clone()..)
        .take_while(|(path, _)| path.starts_with(&prefix))
        .map(|(path, _)| path.clone())
        .collect();
    for path in below {
        filesystem.remove(&path);
    }
}

/// `path` without a leading `./` or `/` and without a trailing `/`.
fn relative(path: &str) -> String {
    let path = path.strip_prefix("./").unwrap_or(path);
    let path = path.trim_matches('/');
    if path == "." {
        String::new()
    } else {
        path.to_owned()
    }
}

/// Counts what is written to it and keeps nothing.
#[derive(Default)]
struct CountingWriter {
    count: u64,
}

impl Write for CountingWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.count += buf.len() as u64;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Passes reads through and writes every byte read into `sink`.
struct TeeReader<R, W> {
    inner: R,
    sink: W,
    count: u64,
}

impl<R: Read, W: Write> Read for TeeReader<R, W> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let read = self.inner.read(buf)?;
        self.sink.write_all(&buf[..read])?;
        self.count += read as u64;
        Ok(read)
    }
}

/// Blocking reader over the chunks an async task sends: bridges the engine's byte stream to
/// the synchronous tar reader without holding the whole export in memory.
struct ChannelReader {
    receiver: mpsc::Receiver<io::Result<Bytes>>,
    current: Bytes,
}

impl ChannelReader {
    fn new(receiver: mpsc::Receiver<io::Result<Bytes>>) -> Self {
        Self {
            receiver,
            current: Bytes::new(),
        }
    }
}

impl Read for ChannelReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.current.is_empty() {
            match self.receiver.blocking_recv() {
                Some(chunk) => self.current = chunk?,
                None => return Ok(0),
            }
        }
        let len = buf.len().min(self.current.len());
        buf[..len].copy_from_slice(&self.current[..len]);
        self.current.advance(len);
        Ok(len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layer_tar(entries: &[(&str, &[u8])]) -> Vec<u8> {
        let mut builder = tar::Builder::new(Vec::new());
        for (path, content) in entries {
            let mut header = tar::Header::new_gnu();
            if path.ends_with('/') {
                header.set_entry_type(tar::EntryType::Directory);
                header.set_mode(0o755);
            } else {
                header.set_mode(0o644);
            }
            header.set_size(content.len() as u64);
            builder.append_data(&mut header, path, *content).unwrap();
        }
        builder.into_inner().unwrap()
    }

    /// A legacy-layout save archive of the given layers and images; a layer whose content is
    /// `link:<id>` is written as a symlink to that layer, as engine 20.10 does.
    fn save_archive(layers: &[(&str, Vec<u8>)], images: &[(&str, &[&str])]) -> Vec<u8> {
        let manifest: Vec<serde_json::Value> = images
            .iter()
            .map(|(tag, layers)| {
                let layers: Vec<String> =
                    layers.iter().map(|id| format!("{id}/layer.tar")).collect();
                serde_json::json!({"Config": "c.json", "RepoTags": [tag], "Layers": layers})
            })
            .collect();
        let mut entries: Vec<(String, Vec<u8>)> = layers
            .iter()
            .map(|(id, tar)| (format!("{id}/layer.tar"), tar.clone()))
            .collect();
        entries.push(("c.json".into(), b"{}".to_vec()));
        entries.push((
            "manifest.json".into(),
            serde_json::to_vec(&manifest).unwrap(),
        ));
        let mut builder = tar::Builder::new(Vec::new());
        for (path, content) in &entries {
            let mut header = tar::Header::new_gnu();
            header.set_mode(0o644);
            if let Some(target) = content.strip_prefix(b"link:") {
                let target = format!("../{}/layer.tar", String::from_utf8_lossy(target));
                header.set_entry_type(tar::EntryType::Symlink);
                header.set_size(0);
                builder.append_link(&mut header, path, target).unwrap();
                continue;
            }
            header.set_size(content.len() as u64);
            builder
                .append_data(&mut header, path, content.as_slice())
                .unwrap();
        }
        builder.into_inner().unwrap()
    }

    #[test]
    fn contents_of_a_two_layer_image_with_whiteouts() {
        let base = layer_tar(&[
            ("bin/", b""),
            ("bin/sh", b"dash"),
            ("usr/bin/", b""),
            ("usr/bin/dpkg", b"elf"),
            ("etc/", b""),
            ("etc/motd", b"hi"),
            ("var/log/", b""),
            ("var/log/a.log", b"log"),
        ]);
        let top = layer_tar(&[
            ("etc/.wh.motd", b""),
            ("var/log/.wh..wh..opq", b""),
            ("var/log/b.log", b"new"),
            ("service", &[0; 1000]),
        ]);
        let archive = save_archive(
            &[("base", base.clone()), ("top", top.clone())],
            &[("t/x:debian", &["base", "top"]), ("t/x:scratch", &["top"])],
        );
        let save = parse_save(archive.as_slice()).unwrap();

        let debian = save.contents("t/x:debian").unwrap();
        assert_eq!(debian.layers, 2);
        assert_eq!(debian.layer_tar_bytes, (base.len() + top.len()) as u64);
        assert_eq!(
            debian.files, 4,
            "bin/sh, usr/bin/dpkg, var/log/b.log, service"
        );
        assert_eq!(debian.shells, ["/bin/sh"]);
        assert_eq!(debian.package_managers, ["/usr/bin/dpkg"]);
        assert_eq!(debian.binary_bytes, Some(1000));

        let scratch = save.contents("t/x:scratch").unwrap();
        assert_eq!(
            (scratch.layers, scratch.files),
            (1, 2),
            "var/log/b.log and service"
        );
        assert!(scratch.shells.is_empty() && scratch.package_managers.is_empty());

        let mut gzip = GzEncoder::new(Vec::new(), Compression::default());
        gzip.write_all(&top).unwrap();
        assert_eq!(
            scratch.compressed_bytes,
            gzip.finish().unwrap().len() as u64
        );
    }

    #[test]
    fn a_layer_written_as_a_link_counts_as_its_target() {
        let layer = layer_tar(&[("service", &[7; 300])]);
        let archive = save_archive(
            &[("first", layer.clone()), ("second", b"link:first".to_vec())],
            &[("t/x:a", &["first"]), ("t/x:b", &["second"])],
        );
        let save = parse_save(archive.as_slice()).unwrap();
        let a = save.contents("t/x:a").unwrap();
        let b = save.contents("t/x:b").unwrap();
        assert_eq!(b, a);
        assert_eq!((b.files, b.binary_bytes), (1, Some(300)));
        assert_eq!(b.layer_tar_bytes, layer.len() as u64);
    }

    #[test]
    fn link_targets_resolve_in_the_archive() {
        let symlink = tar::EntryType::Symlink;
        assert_eq!(
            link_target("b/layer.tar", "../a/layer.tar", symlink),
            "a/layer.tar"
        );
        assert_eq!(
            link_target("b/layer.tar", "./layer2.tar", symlink),
            "b/layer2.tar"
        );
        let hard = tar::EntryType::Link;
        assert_eq!(
            link_target("b/layer.tar", "./a/layer.tar", hard),
            "a/layer.tar"
        );
    }

    #[test]
    fn a_tag_missing_from_the_export_is_an_error() {
        let archive = save_archive(&[("l", layer_tar(&[]))], &[("t/x:a", &["l"])]);
        let save = parse_save(archive.as_slice()).unwrap();
        let err = save.contents("t/x:b").unwrap_err();
        assert_eq!(err.to_string(), "the export holds no image tagged 't/x:b'");
    }

    #[test]
    fn channel_reader_joins_chunks_and_ends() {
        let (sender, receiver) = mpsc::channel(4);
        for chunk in [&b"ab"[..], b"", b"cde"] {
            sender.try_send(Ok(Bytes::from_static(chunk))).unwrap();
        }
        drop(sender);
        let mut text = String::new();
        ChannelReader::new(receiver)
            .read_to_string(&mut text)
            .unwrap();
        assert_eq!(text, "abcde");
    }
}
