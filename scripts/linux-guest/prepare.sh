#!/bin/bash
# prepare.sh - make a directory usable as COSIM_LINUX_DIR, the arm64 Linux test guest.
#
# Why: the tests that boot Linux need Debian's arm64 kernel, its modules and a static busybox,
# and everything must come from the Debian archive through apt (the only source these machines
# reach), without changing the host beyond letting apt see arm64 package lists. So the
# packages are only downloaded and unpacked, never installed: an arm64 package installed
# into an amd64 host would be useless there and could fight with the host's own packages.
# The kernel package is found through linux-image-arm64's dependency, so a new Debian
# kernel ABI (linux-image-6.1.0-NN-arm64) is picked up without editing this script.
#
# usage: prepare.sh [--add-arch] [--force] DIR
#   DIR          the guest directory to fill (made if missing)
#   --add-arch   if apt does not know the arm64 architecture yet, run
#                `dpkg --add-architecture arm64 && apt-get update` (needs root)
#   --force      also write into a non-empty DIR that this script did not make
#   -h, --help   this help
#
# DIR gets: Image, vmlinuz-<ver> (symlink to Image), config-<ver>, kernel-release,
# lib/modules/<ver>/, busybox, debs/ (the two .deb files and SHA256SUMS), make-initramfs.sh,
# init.template, initramfs.cpio.gz, and the marker file .cosim-linux-guest.
# Needs apt-get, apt-cache, dpkg, dpkg-deb, python3 and about 700 MB of free space.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
MARKER=.cosim-linux-guest
ME=prepare.sh

usage() { sed -n '/^# usage:/,/^[^#]/{/^#/s/^# \{0,1\}//p}' "${BASH_SOURCE[0]}"; }
die() { echo "$ME: $*" >&2; exit 1; }

ADD_ARCH=0
FORCE=0
DIR=""
while [ $# -gt 0 ]; do
    case "$1" in
        --add-arch) ADD_ARCH=1 ;;
        --force) FORCE=1 ;;
        -h|--help) usage; exit 0 ;;
        --) shift; [ $# -eq 1 ] || { usage >&2; exit 2; }; DIR=$1 ;;
        -*) echo "$ME: unknown option $1" >&2; usage >&2; exit 2 ;;
        *) [ -z "$DIR" ] || { echo "$ME: give one DIR" >&2; usage >&2; exit 2; }; DIR=$1 ;;
    esac
    shift
done
[ -n "$DIR" ] || { usage >&2; exit 2; }

# ---- what the host must have ----------------------------------------------------------------
need() {
    command -v "$1" >/dev/null ||
        die "$1 not found ($2): this script needs a Debian host with apt, since the guest comes from the Debian archive"
}
need apt-get "it downloads the packages"
need apt-cache "it finds the current kernel package"
need dpkg "it tells which architectures apt knows"
need dpkg-deb "it unpacks the downloaded packages"
command -v python3 >/dev/null ||
    die "python3 not found: make-initramfs.sh needs it (apt-get install python3)"
for f in make-initramfs.sh init.template; do
    [ -f "$HERE/$f" ] || die "$HERE/$f is missing (it is copied into DIR)"
done

if ! dpkg --print-foreign-architectures | grep -qx arm64; then
    if [ "$ADD_ARCH" = 0 ]; then
        die "apt does not know the arm64 architecture, so it cannot download arm64 packages.
Add it with:  dpkg --add-architecture arm64 && apt-get update
(as root; or run this script again with --add-arch to have it do that). This installs no
arm64 package; it only lets apt see the arm64 package lists."
    fi
    [ "$(id -u)" = 0 ] || die "--add-arch needs root (it runs dpkg --add-architecture arm64 && apt-get update)"
    echo "$ME: running dpkg --add-architecture arm64 && apt-get update"
    dpkg --add-architecture arm64 && apt-get update
fi

# ---- the target directory ---------------------------------------------------------------------
if [ -e "$DIR" ] && [ ! -d "$DIR" ]; then die "$DIR exists and is not a directory"; fi
mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd)
if [ ! -f "$DIR/$MARKER" ] && [ -n "$(ls -A "$DIR")" ] && [ "$FORCE" = 0 ]; then
    die "$DIR is not empty and was not made by this script (no $MARKER in it).
Give an empty or new directory, or --force to write into it anyway."
fi
[ -w "$DIR" ] || die "cannot write into $DIR"

TMP=$(mktemp -d "${TMPDIR:-/tmp}/cosim-linux-guest.XXXXXX")
cleanup() { rm -rf "$TMP"; }
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---- which kernel -------------------------------------------------------------------------------
# The candidate linux-image-arm64:arm64 (bookworm or bookworm-security, whichever is newer)
# depends on exactly one versioned linux-image-6.1.0-NN-arm64.
if ! META=$(apt-cache show --no-all-versions linux-image-arm64:arm64 2>/dev/null) || [ -z "$META" ]; then
    die "apt has no arm64 package list with linux-image-arm64 in it: run apt-get update (as root);
if that does not help, the host's apt sources do not include Debian bookworm main for arm64"
fi
DEPENDS=$(printf '%s\n' "$META" | sed -n 's/^Depends: //p')
KPKGS=$(printf '%s\n' "$DEPENDS" | grep -oE 'linux-image-6\.1\.0-[0-9]+-arm64' | sort -u || true)
[ "$(printf '%s\n' "$KPKGS" | grep -c .)" = 1 ] ||
    die "expected linux-image-arm64:arm64 to depend on one linux-image-6.1.0-NN-arm64 (Debian bookworm's kernel),
but its Depends is: ${DEPENDS:-(none)}. Are the host's apt sources Debian bookworm?"
KPKG=$KPKGS
KVER=${KPKG#linux-image-}
echo "$ME: kernel package $KPKG:arm64 (linux-image-arm64 $(printf '%s\n' "$META" | sed -n 's/^Version: //p'))"

# ---- download and unpack (nothing is installed) ------------------------------------------------
mkdir -p "$TMP/debs" "$TMP/kx" "$TMP/bbx"
# apt fetches as the unprivileged _apt user where it can; let it write the download dir.
if [ "$(id -u)" = 0 ] && id _apt >/dev/null 2>&1; then
    chmod 755 "$TMP" && chown _apt "$TMP/debs"
fi
( cd "$TMP/debs" && apt-get download "$KPKG:arm64" busybox-static:arm64 ) ||
    die "apt-get download $KPKG:arm64 busybox-static:arm64 failed (is the package list current? apt-get update)"
KDEB=$(ls "$TMP/debs/${KPKG}"_*_arm64.deb 2>/dev/null | head -n1 || true)
BDEB=$(ls "$TMP/debs"/busybox-static_*_arm64.deb 2>/dev/null | head -n1 || true)
[ -n "$KDEB" ] || die "apt-get download gave no $KPKG arm64 .deb"
[ -n "$BDEB" ] || die "apt-get download gave no busybox-static arm64 .deb"
dpkg-deb -x "$KDEB" "$TMP/kx"
dpkg-deb -x "$BDEB" "$TMP/bbx"

KIMG="$TMP/kx/boot/vmlinuz-$KVER"
[ -f "$KIMG" ] || die "$(basename "$KDEB") has no boot/vmlinuz-$KVER"
[ -f "$TMP/kx/boot/config-$KVER" ] || die "$(basename "$KDEB") has no boot/config-$KVER"
[ -d "$TMP/kx/lib/modules/$KVER" ] || die "$(basename "$KDEB") has no lib/modules/$KVER"
[ -f "$TMP/bbx/bin/busybox" ] || die "$(basename "$BDEB") has no bin/busybox"
# QEMU's -kernel wants the plain arm64 Image, which is what Debian ships as vmlinuz on arm64
# ("ARM\x64" at offset 56); a gzip-compressed one is unpacked to be safe.
if [ "$(head -c 2 "$KIMG" | od -An -tx1 | tr -d ' \n')" = 1f8b ]; then
    gzip -dc "$KIMG" > "$TMP/Image"
else
    cp "$KIMG" "$TMP/Image"
fi
[ "$(dd if="$TMP/Image" bs=1 skip=56 count=4 2>/dev/null | od -An -tx1 | tr -d ' \n')" = 41524d64 ] ||
    die "boot/vmlinuz-$KVER in $(basename "$KDEB") is not an arm64 Image"

# ---- fill DIR -----------------------------------------------------------------------------------
KDEB_VER=$(dpkg-deb -f "$KDEB" Version)
BDEB_VER=$(dpkg-deb -f "$BDEB" Version)
# The marker goes in first, so that a run that fails half way may be repeated without --force.
printf 'made by cosim scripts/linux-guest/prepare.sh\nstatus: incomplete\n' > "$DIR/$MARKER"

# Replace only what this script writes; other files in DIR stay.
rm -rf "$DIR/Image" "$DIR"/vmlinuz-*-arm64 "$DIR"/config-*-arm64 "$DIR/kernel-release" \
       "$DIR"/lib/modules/*-arm64 "$DIR/busybox" "$DIR/debs" "$DIR/make-initramfs.sh" \
       "$DIR/init.template" "$DIR/initramfs.cpio.gz"
mkdir -p "$DIR/debs" "$DIR/lib/modules"
cp "$KDEB" "$BDEB" "$DIR/debs/"
( cd "$DIR/debs" && sha256sum -- *.deb > SHA256SUMS )
mv "$TMP/Image" "$DIR/Image"
ln -s Image "$DIR/vmlinuz-$KVER"
cp "$TMP/kx/boot/config-$KVER" "$DIR/"
mv "$TMP/kx/lib/modules/$KVER" "$DIR/lib/modules/$KVER"
install -m 755 "$TMP/bbx/bin/busybox" "$DIR/busybox"
echo "$KVER" > "$DIR/kernel-release"
install -m 755 "$HERE/make-initramfs.sh" "$DIR/make-initramfs.sh"
install -m 644 "$HERE/init.template" "$DIR/init.template"

"$DIR/make-initramfs.sh"

cat > "$DIR/$MARKER" <<EOF
made by cosim scripts/linux-guest/prepare.sh
status: complete
kernel-release: $KVER
$KPKG: $KDEB_VER
busybox-static: $BDEB_VER
EOF
echo "$ME: $DIR is ready: use it as COSIM_LINUX_DIR ($KPKG $KDEB_VER, busybox-static $BDEB_VER)"
