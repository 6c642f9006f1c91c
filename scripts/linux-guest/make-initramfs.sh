#!/bin/bash
# make-initramfs.sh - build the initramfs of cosim's arm64 Linux test guest.
#
# Why it exists: the tests boot Debian's stock arm64 kernel in QEMU, and that kernel has the
# virtio drivers the tests care about as modules, not built in. So each boot needs a small
# root filesystem that loads them, says when the guest is usable (the line
# "cosim-guest: ready"), and runs the shell code a test wants to run inside the guest.
# The archive is written by this script itself instead of by cpio, so that building it needs
# no root, no cpio and no arm64 emulation, and so that the same inputs always give the same
# bytes (a test may rebuild it with its own snippet on every run).
# It reads kernel-release, busybox and lib/modules/ from the directory it sits in: the guest
# directory that scripts/linux-guest/prepare.sh makes (COSIM_LINUX_DIR).
#
# usage: make-initramfs.sh [options] [SNIPPET]
#   SNIPPET / -s FILE  shell code run by /init right after "cosim-guest: ready" (sourced in a
#                      subshell by busybox sh; its exit status is printed as
#                      "cosim-guest: snippet exit N"). Stored as /etc/cosim/snippet.sh.
#   -e TEXT            inline snippet text (may be repeated; appended after SNIPPET's contents)
#   -o FILE            output file (default: <this dir>/initramfs.cpio.gz)
#   -m MODULE          also bundle and load MODULE (and what it depends on); repeatable
#   -M                 do not bundle the default modules
#   -f SRC:DEST        add host file SRC as DEST inside the initramfs (mode kept); repeatable
#   -i FILE            use FILE as /init instead of <this dir>/init.template
#   -h                 this help
#
# Default modules: virtio_pci virtio_rng virtio_console virtio_mmio virtio_blk virtio_net 8250_pci
# (a module that is built into the kernel is listed in builtin.list and not bundled).
# Needs only bash and python3 (standard library). The output is byte-for-byte reproducible
# (all mtimes 0, owner root, gzip header mtime 0).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

OUT="$HERE/initramfs.cpio.gz"
INIT="$HERE/init.template"
SNIPPET_FILE=""
SNIPPET_TEXT=""
DEFAULT_MODS="virtio_pci virtio_rng virtio_console virtio_mmio virtio_blk virtio_net 8250_pci"
MODS="$DEFAULT_MODS"
EXTRA_MODS=""
FILES=()

usage() { sed -n '/^# usage:/,/^[^#]/{/^#/s/^# \{0,1\}//p}' "${BASH_SOURCE[0]}"; }
while getopts "s:e:o:m:Mf:i:h" opt; do
    case "$opt" in
        s) SNIPPET_FILE=$OPTARG ;;
        e) SNIPPET_TEXT+="$OPTARG"$'\n' ;;
        o) OUT=$OPTARG ;;
        m) EXTRA_MODS+=" $OPTARG" ;;
        M) MODS="" ;;
        f) FILES+=("$OPTARG") ;;
        i) INIT=$OPTARG ;;
        h) usage; exit 0 ;;
        *) usage >&2; exit 2 ;;
    esac
done
shift $((OPTIND - 1))
if [ $# -gt 1 ]; then usage >&2; exit 2; fi
if [ $# -eq 1 ]; then
    [ -z "$SNIPPET_FILE" ] || { echo "give the snippet either as -s FILE or as an argument" >&2; exit 2; }
    SNIPPET_FILE=$1
fi
[ -z "$SNIPPET_FILE" ] || [ -f "$SNIPPET_FILE" ] || { echo "make-initramfs: no such snippet: $SNIPPET_FILE" >&2; exit 1; }
[ -f "$INIT" ] || { echo "make-initramfs: no such /init file: $INIT" >&2; exit 1; }
command -v python3 >/dev/null || { echo "make-initramfs: python3 not found (it writes the archive)" >&2; exit 1; }
for need in kernel-release busybox; do
    [ -e "$HERE/$need" ] || {
        echo "make-initramfs: $HERE/$need is missing: run the copy of this script inside a guest" \
             "directory made by scripts/linux-guest/prepare.sh (COSIM_LINUX_DIR)" >&2
        exit 1
    }
done

export LG_HERE="$HERE" LG_OUT="$OUT" LG_INIT="$INIT" LG_SNIPPET_FILE="$SNIPPET_FILE" \
       LG_SNIPPET_TEXT="$SNIPPET_TEXT" LG_MODS="$MODS $EXTRA_MODS"
python3 - "${FILES[@]+"${FILES[@]}"}" <<'PY'
import gzip, io, os, re, stat, sys

here = os.environ["LG_HERE"]
out = os.environ["LG_OUT"]
kver = open(os.path.join(here, "kernel-release")).read().strip()
moddir = os.path.join(here, "lib", "modules", kver)

def norm(n):
    return n.replace("-", "_")

# ---- module resolution --------------------------------------------------------------------
builtin = set()
with open(os.path.join(moddir, "modules.builtin")) as f:
    for line in f:
        line = line.strip()
        if line:
            builtin.add(norm(os.path.basename(line)[:-3]))   # strip .ko
index = {}
for root, _, files in os.walk(os.path.join(moddir, "kernel")):
    for fn in files:
        if fn.endswith(".ko"):
            index[norm(fn[:-3])] = os.path.join(root, fn)

def modinfo(path):
    data = open(path, "rb").read()
    info = {}
    for key in (b"depends", b"vermagic"):
        m = re.search(rb"(?:^|\0)" + key + rb"=([^\0]*)\0", data)
        info[key.decode()] = m.group(1).decode() if m else ""
    return info

order, seen, builtins_hit = [], set(), []
def add(name, chain=()):
    n = norm(name)
    if n in seen:
        return
    if n in builtin:
        seen.add(n); builtins_hit.append(n); return
    if n not in index:
        sys.exit("make-initramfs: module %r is neither built in nor in %s%s"
                 % (name, moddir, (" (needed by %s)" % " <- ".join(chain)) if chain else ""))
    seen.add(n)
    info = modinfo(index[n])
    if not info["vermagic"].startswith(kver + " "):
        sys.exit("make-initramfs: %s has vermagic %r, not %s" % (index[n], info["vermagic"], kver))
    for dep in filter(None, info["depends"].split(",")):
        add(dep, chain + (n,))
    order.append(index[n])

for m in os.environ["LG_MODS"].split():
    add(m)

# ---- cpio newc writer ---------------------------------------------------------------------
buf = io.BytesIO()
ino = [1000]
def entry(name, mode, data=b"", rdev=(0, 0), nlink=1):
    ino[0] += 1
    nameb = name.encode() + b"\0"
    hdr = "070701" + "".join("%08X" % v for v in (
        ino[0], mode, 0, 0, nlink, 0, len(data), 0, 0, rdev[0], rdev[1], len(nameb), 0))
    buf.write(hdr.encode() + nameb)
    buf.write(b"\0" * ((-(110 + len(nameb))) % 4))
    buf.write(data)
    buf.write(b"\0" * ((-len(data)) % 4))

dirs_done = set()
def d(path):
    path = path.strip("/")
    if not path or path in dirs_done:
        return
    d(os.path.dirname(path))
    dirs_done.add(path)
    entry(path, stat.S_IFDIR | 0o755, nlink=2)

def f(path, data, perm=0o644):
    path = path.strip("/")
    d(os.path.dirname(path))
    entry(path, stat.S_IFREG | perm, data)

for p in ("bin", "sbin", "usr/bin", "usr/sbin", "dev", "proc", "sys", "tmp", "run",
          "root", "mnt", "etc/cosim", "lib/modules/" + kver):
    d(p)
entry("dev/console", stat.S_IFCHR | 0o600, rdev=(5, 1))
entry("dev/null", stat.S_IFCHR | 0o666, rdev=(1, 3))
f("bin/busybox", open(os.path.join(here, "busybox"), "rb").read(), 0o755)
entry("bin/sh", stat.S_IFLNK | 0o777, b"busybox")
f("init", open(os.environ["LG_INIT"], "rb").read(), 0o755)
f("etc/passwd", b"root:x:0:0:root:/root:/bin/sh\n")
f("etc/group", b"root:x:0:\n")
f("etc/profile", b"export PATH=/sbin:/bin:/usr/sbin:/usr/bin\nPS1='cosim-guest# '\n")

snippet = b""
if os.environ["LG_SNIPPET_FILE"]:
    snippet += open(os.environ["LG_SNIPPET_FILE"], "rb").read()
    if not snippet.endswith(b"\n"):
        snippet += b"\n"
snippet += os.environ["LG_SNIPPET_TEXT"].encode()
if snippet:
    f("etc/cosim/snippet.sh", snippet, 0o755)

mdir = "lib/modules/" + kver
for p in order:
    f(mdir + "/" + os.path.basename(p), open(p, "rb").read())
f(mdir + "/load.list", "".join(os.path.basename(p) + "\n" for p in order).encode())
if builtins_hit:
    f(mdir + "/builtin.list", "".join(n + "\n" for n in builtins_hit).encode())

for spec in sys.argv[1:]:
    src, sep, dest = spec.partition(":")
    if not sep or not dest:
        sys.exit("make-initramfs: -f wants SRC:DEST, got %r" % spec)
    f(dest, open(src, "rb").read(), stat.S_IMODE(os.stat(src).st_mode))

entry("TRAILER!!!", 0, nlink=1)
raw = buf.getvalue()
tmp = out + ".tmp"
with open(tmp, "wb") as fo:
    with gzip.GzipFile(filename="", mode="wb", fileobj=fo, compresslevel=9, mtime=0) as gz:
        gz.write(raw)
os.replace(tmp, out)
print("make-initramfs: wrote %s (%d bytes; cpio %d bytes)" % (out, os.path.getsize(out), len(raw)))
print("make-initramfs: kernel %s; modules (load order): %s" % (
    kver, " ".join(os.path.basename(p)[:-3] for p in order) or "none"))
print("make-initramfs: built in, not bundled: %s" % (" ".join(builtins_hit) or "none"))
print("make-initramfs: snippet: %s" % ("%d bytes" % len(snippet) if snippet else "none"))
PY
