#!/bin/bash
# Build the pycore corpus of real vmcores (see README.md beside this file).
#   testdata/corpus/build.sh            all cases, into ~/.cache/pycore/corpus/<case>/
#   testdata/corpus/build.sh --case 6.1-sysrq-l4
#   testdata/corpus/build.sh --sample [DIR]   the small committed sample
# Cached under ~/.cache/pycore (PYCORE_CACHE); a second run takes seconds.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
start=$(date +%s)

# Host tools (Debian 12). Installed only when missing, so a warm run stays fast.
need=()
check() { command -v "$1" >/dev/null 2>&1 || need+=("$2"); }
check qemu-system-x86_64 qemu-system-x86
check cpio cpio
check gzip gzip
check xz xz-utils
check zstd zstd
check readelf binutils
check file file
check dpkg-deb dpkg
check apt-get apt
check python3 python3
[ -e /usr/lib/x86_64-linux-gnu/libsnappy.so.1 ] || need+=(libsnappy1v5)
if ! file -L /bin/busybox 2>/dev/null | grep -q 'statically linked'; then need+=(busybox-static); fi
[ -f /usr/share/keyrings/debian-archive-keyring.gpg ] || need+=(debian-archive-keyring)
if [ ${#need[@]} -gt 0 ]; then
    echo "[corpus] installing: ${need[*]}"
    if [ "$(id -u)" != 0 ]; then echo "[corpus] FAILED: need root to install ${need[*]}" >&2; exit 1; fi
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y --no-install-recommends "${need[@]}" >/dev/null \
        || { apt-get update >/dev/null && apt-get install -y --no-install-recommends "${need[@]}" >/dev/null; } \
        || { echo "[corpus] FAILED: apt-get install ${need[*]}" >&2; exit 1; }
fi
echo "[corpus] host tools ready in $(( $(date +%s) - start )) s"

rc=0
python3 "$here/build.py" "$@" || rc=$?
echo "[corpus] build.sh finished in $(( $(date +%s) - start )) s (exit $rc)"
exit $rc
