#!/usr/bin/env bash
# Install scripts/get_pip_offline.py into ansible-test's bootstrap cache under
# the names ansible-test looks for (get_pip_<pip version>.py), unless a file is
# already there (a real get-pip.py someone downloaded is left alone; an older
# copy of this stand-in is refreshed).
# The pip versions are read from the installed ansible-test when possible.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cache="${HOME}/.ansible/test/cache"
mkdir -p "$cache"

versions=("24_2" "25_2")   # ansible-core 2.19 / 2.21
for py in "$@"; do          # optional: python executables with ansible-core installed
  [ -x "$py" ] || continue
  v="$("$py" - <<'PY' 2>/dev/null || true
import os, re, ansible_test
p = os.path.join(os.path.dirname(ansible_test.__file__), '_internal', 'python_requirements.py')
m = re.search(r"pip='([0-9.]+)'", open(p).read())
print(m.group(1).replace('.', '_') if m else '')
PY
)"
  [ -n "$v" ] && versions+=("$v")
done

for v in $(printf '%s\n' "${versions[@]}" | sort -u); do
  target="$cache/get_pip_${v}.py"
  if [ ! -e "$target" ]; then
    cp "$here/get_pip_offline.py" "$target"
    echo "installed offline pip bootstrap: $target"
  elif grep -q 'Offline stand-in for the' "$target" && ! cmp -s "$here/get_pip_offline.py" "$target"; then
    cp "$here/get_pip_offline.py" "$target"   # an older copy of ours: refresh it
    echo "updated offline pip bootstrap: $target"
  fi
done
