#!/usr/bin/env bash
# `make build`: build the collection tarball into build/ (from a clean copy of
# the checkout, so untracked caches and venvs never end up in it).
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/sigma-build.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$ROOT/build"
find "$ROOT/build" -maxdepth 1 -name 'sigma-media_server-*.tar.gz' -delete
COPY="$(make_collection_copy "$WORK")"
(cd "$COPY" && "$VENV/bin/ansible-galaxy" collection build --force --output-path "$ROOT/build" .)
