# mmdebstrap hook, run on the build host with the rootfs as $1 before mmdebstrap cleans up.
# It copies out what the finished tarball no longer holds: the Date of every Release file apt
# used (the state of the archive the base comes from) and, for every downloaded package, its
# control fields and the paths it ships (the distroless rootfs keeps only wanted packages).
set -eu
meta="$BENCHLAB_BASE_META"
sed -n 's/^Date: //p' "$1"/var/lib/apt/lists/*Release > "$meta/release-dates"
mkdir -p "$meta/packages"
for deb in "$1"/var/cache/apt/archives/*.deb; do
    [ -e "$deb" ] || continue
    name=$(dpkg-deb --field "$deb" Package)
    dpkg-deb --field "$deb" > "$meta/packages/$name.control"
    dpkg-deb --fsys-tarfile "$deb" | tar -t > "$meta/packages/$name.files"
done
