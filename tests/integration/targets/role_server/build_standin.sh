#!/usr/bin/env bash
# Build the stand-in sigma-media-server packages and a flat apt repository.
#   build_standin.sh EMULATOR_PYTHON OUT_DIR VERSION...
# EMULATOR_PYTHON is a Python that can import sigma_emulator and its
# dependencies (aiohttp, yaml, cryptography); they are copied into
# /opt/sigma-media-server/lib of the package. The launcher runs them with
# /usr/bin/python3 when it is the same Python minor version (compiled parts of
# aiohttp and cryptography are version-specific); otherwise this script prints
# SIGMA_PYTHON=<EMULATOR_PYTHON> for /etc/default/sigma-media-server.
set -euo pipefail
emu_py="$1" out="$2"
shift 2
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
mkdir -p "$out/build" "$out/repo"

lib="$out/build/lib"
rm -rf "$lib"
mkdir -p "$lib"
"$emu_py" - "$lib" <<'PY'
import importlib, os, shutil, sys
dest = sys.argv[1]
names = ["sigma_emulator", "aiohttp", "aiohappyeyeballs", "aiosignal", "attr", "attrs",
         "frozenlist", "multidict", "propcache", "yarl", "idna", "yaml", "_yaml",
         "cryptography", "cffi", "_cffi_backend", "pycparser", "typing_extensions"]
for name in names:
    try:
        mod = importlib.import_module(name)
    except ImportError:
        if name in ("sigma_emulator", "aiohttp", "yaml"):
            sys.exit(f"{sys.executable} cannot import {name}")
        continue
    paths = getattr(mod, "__path__", None)
    if paths:
        src = list(paths)[0]
        shutil.copytree(src, os.path.join(dest, os.path.basename(src)),
                        ignore=shutil.ignore_patterns("__pycache__", "tests"))
    else:
        shutil.copy2(mod.__file__, dest)
PY

# Can the target's python3 run the vendored copy?
same=0
if /usr/bin/python3 -I -B -c "import sys; sys.path.insert(0, '$lib'); import sigma_emulator.cli" 2>/dev/null; then
    same=1
fi

for version in "$@"; do
    root="$out/build/sigma-media-server_$version"
    rm -rf "$root"
    cp -a "$here/files/standin" "$root"
    cp -a "$lib" "$root/opt/sigma-media-server/lib"
    echo "$version" > "$root/opt/sigma-media-server/VERSION"
    cat > "$root/DEBIAN/control" <<CONTROL
Package: sigma-media-server
Version: $version
Architecture: $(dpkg --print-architecture)
Maintainer: sigma.media_server tests <noreply@example.invalid>
Depends: python3
Section: video
Priority: optional
Description: STAND-IN for Sigma Media Server (sigma.media_server role_server test)
 Runs the collection's API emulator as one server on SIGMA_PORT.
CONTROL
    dpkg-deb --root-owner-group -Zgzip -z1 --build "$root" "$out/repo/sigma-media-server_${version}_$(dpkg --print-architecture).deb" >/dev/null
done
(cd "$out/repo" && dpkg-scanpackages --multiversion . /dev/null 2>/dev/null > Packages && gzip -9kf Packages)
if [ "$same" = 0 ]; then
    echo "SIGMA_PYTHON=$emu_py"
fi
