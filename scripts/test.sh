#!/usr/bin/env bash
# The `make test` pipeline. Runs the given steps (default: all, in this order),
# stops at the first failing step, and ends with a plain summary line.
#
#   scripts/test.sh [STEP...]
#
# Steps:
#   emulator     pytest emulator/tests (the emulator's own tests)
#   sanity-2.19  ansible-test sanity, ansible-core 2.19 on Python 3.11 (.venv)
#   sanity-2.21  ansible-test sanity, ansible-core 2.21 on Python 3.13 (.venv-2.21)
#   units        ansible-test units --python 3.11
#   units-floor  the same unit tests in .venv-floor: ansible-core 2.17 and the oldest
#                requests/urllib3 of requirements.txt (ansible-test units --local)
#   integration  emulated fleet + ansible-test integration --python 3.11
#                (installs Debian's chromium for the report test when missing and
#                running as root; the destructive role_server target runs as root
#                unless SIGMA_TEST_DESTRUCTIVE=0)
#   reliability  tests/reliability: faults, bad input, concurrency, secrets, TLS
#   bench-quick  bench/run.py --quick: every benchmark at a small size, request counts checked
#   lint         ansible-lint --profile production --offline
#   docs         antsibull-docs lint-collection-docs --plugin-docs
#   changelog    antsibull-changelog lint
#   galaxy       ansible-galaxy collection build + galaxy-importer on the tarball
#   ee           ansible-builder introspect on the installed tarball (meta/execution-environment.yml)
#                and create from extras/awx/execution-environment.yml
#   awx          tests/awx: the inventory update exactly as AWX runs it, and the playbooks
#                through ansible-runner (fresh private data dir and HOME per run, the
#                collection installed from the built tarball, AWX's fact storage)
#
# ansible-test needs the collection at .../ansible_collections/sigma/media_server
# and refuses symlinks, so the checkout is copied once into a temp dir that all
# steps share; the temp dir (and any emulator) is removed/stopped on exit.
# Environment: KEEP_GOING=1 runs the remaining steps after a failure (the exit
# status is still non-zero); KEEP_TMP=1 keeps the temp dir; SANITY_ARGS/UNITS_ARGS/
# INTEGRATION_ARGS add ansible-test options (e.g. SANITY_ARGS="--test pylint").
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ALL_STEPS=(emulator sanity-2.19 sanity-2.21 units units-floor integration reliability bench-quick lint docs changelog galaxy ee awx)
steps=("$@")
[ ${#steps[@]} -gt 0 ] || steps=("${ALL_STEPS[@]}")
for s in "${steps[@]}"; do
  case " ${ALL_STEPS[*]} sanity " in *" $s "*) ;; *) die "unknown step: $s (known: ${ALL_STEPS[*]})" ;; esac
done
# "sanity" means both legs
expanded=()
for s in "${steps[@]}"; do
  if [ "$s" = sanity ]; then expanded+=(sanity-2.19 sanity-2.21); else expanded+=("$s"); fi
done
steps=("${expanded[@]}")

[ -x "$VENV/bin/ansible-test" ] || die "$VENV is missing: run 'make venv' (make test does it for you)"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/sigma-test.XXXXXX")"
FLEET_STATE="$ROOT/build/integration-fleet"   # kept after the run: emulator.log, requests.log
COPY=
STEP_PID=
BG221_PID=
cleanup() {
  local rc=$? d
  local group
  for group in "${STEP_PID:-}" "${BG221_PID:-}"; do   # process groups still running
    if [ -z "$group" ] || ! kill -0 "$group" 2>/dev/null; then continue; fi
    kill -TERM -- "-$group" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$group" 2>/dev/null || break; sleep 0.1; done
    kill -KILL -- "-$group" 2>/dev/null || true
  done
  # stop the fleet only if this run started it (another run may own it)
  if [ -f "$WORK/fleet-started" ]; then
    bash "$ROOT/scripts/fleet.sh" stop "$FLEET_STATE" || true
  fi
  # keep ansible-test's reports (junit XML, bot/data files) in the checkout
  if [ -n "$COPY" ] && [ -d "$COPY/tests/output" ]; then
    for d in junit bot data reports; do
      if [ -d "$COPY/tests/output/$d" ]; then
        mkdir -p "$ROOT/tests/output"
        rm -rf "${ROOT:?}/tests/output/$d"
        cp -r "$COPY/tests/output/$d" "$ROOT/tests/output/$d"
      fi
    done
  fi
  if [ -n "${KEEP_TMP:-}" ]; then note "kept $WORK"; else rm -rf "$WORK"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

install_get_pip
COPY="$(make_collection_copy "$WORK")"
export PATH="$VENV/bin:$PATH"
# Make ansible-lint / antsibull-docs / galaxy-importer find this collection
# (and no other installed copy of it) through the temp ansible_collections tree.
export ANSIBLE_COLLECTIONS_PATH="$WORK"
export ANSIBLE_LOCAL_TEMP="$WORK/ansible-tmp" ANSIBLE_REMOTE_TEMP="$WORK/ansible-tmp"

results=()    # "name status seconds"
passed=0; failed=0; skipped=0

summary() {
  printf '\n%-14s %-8s %s\n' STEP RESULT SECONDS
  [ -z "$BG221_PID" ] || printf '(sanity-2.21 ran in parallel with sanity-2.19)\n'
  local r
  for r in "${results[@]}"; do
    # shellcheck disable=SC2086
    printf '%-14s %-8s %s\n' $r
  done
  printf '\nsummary: %d passed, %d failed, %d skipped\n' "$passed" "$failed" "$skipped"
}

SKIP_RC=77
run_step() {
  local name="$1" start rc
  header "$name"
  start=$(date +%s)
  # The step runs in its own process group (set -m) and is waited for with
  # `wait`, which a signal interrupts: on Ctrl-C/TERM, cleanup ends the whole
  # step (ansible-test and its children) instead of waiting for it to finish.
  set +e
  set -m
  ( set -e; "step_${name//[-.]/_}" ) </dev/null &
  STEP_PID=$!
  set +m
  wait "$STEP_PID"
  rc=$?
  STEP_PID=
  set -e
  local took=$(( $(date +%s) - start ))
  # a step that ran in the background reports its own duration
  [ -f "$WORK/took-$name" ] && took="$(cat "$WORK/took-$name")"
  if [ "$rc" -eq 0 ]; then
    results+=("$name passed $took"); passed=$((passed + 1))
    note "$name: passed (${took}s)"
  elif [ "$rc" -eq "$SKIP_RC" ]; then
    results+=("$name skipped $took"); skipped=$((skipped + 1))
  else
    results+=("$name FAILED $took"); failed=$((failed + 1))
    note "$name: FAILED (exit $rc, ${took}s)"
    if [ -z "${KEEP_GOING:-}" ]; then
      summary
      exit 1
    fi
  fi
}

skip() { note "SKIPPED: $*"; exit "$SKIP_RC"; }

# ---------------------------------------------------------------- steps

step_emulator() {
  local tests=()
  [ -d "$ROOT/emulator/tests" ] && mapfile -t tests < <(find "$ROOT/emulator/tests" -name 'test_*.py' -o -name '*_test.py')
  [ ${#tests[@]} -gt 0 ] || skip "emulator/tests has no tests yet"
  cd "$ROOT"
  "$VENV/bin/python" -m pytest emulator/tests -q -p no:cacheprovider
}

step_sanity_2_19() {
  bash "$ROOT/scripts/sanity.sh" 2.19 "$COPY"
}

step_sanity_2_21() {
  [ -x "$VENV221/bin/ansible-test" ] || skip "no .venv-2.21 (needs Python 3.13; see 'make venv')"
  if [ -z "$BG221_PID" ]; then
    bash "$ROOT/scripts/sanity.sh" 2.21 "$COPY"
    return
  fi
  # started in the background together with sanity-2.19: wait for it, show its output
  note "this leg ran in parallel with sanity-2.19; its output:"
  while [ ! -f "$WORK/sanity-2.21.rc" ] && kill -0 "$BG221_PID" 2>/dev/null; do sleep 1; done
  sleep 0.2
  cat "$WORK/sanity-2.21.log"
  [ -f "$WORK/sanity-2.21.rc" ] || die "the background sanity-2.21 run ended without a result"
  echo $(( $(cat "$WORK/sanity-2.21.end") - $(cat "$WORK/sanity-2.21.start") )) > "$WORK/took-sanity-2.21"
  note "sanity-2.21 took $(cat "$WORK/took-sanity-2.21")s in the background, in parallel with sanity-2.19"
  return "$(cat "$WORK/sanity-2.21.rc")"
}

# When both sanity legs are due (and the machine has 2+ cores), the 2.21 leg
# runs in the background, in its own copy, while the 2.19 leg runs: each leg is
# mostly single-threaded (pylint, validate-modules), so this saves minutes.
# SANITY_PARALLEL=0 turns it off.
start_sanity_2_21_in_background() {
  local copy
  copy="$(make_collection_copy "$WORK/leg-2.21")"
  date +%s > "$WORK/sanity-2.21.start"
  # setsid: own process group, so cleanup can end it (and its children) early
  # shellcheck disable=SC2016  # the inner script expands its own arguments
  setsid bash -c 'rc=0; bash "$1" 2.21 "$2" > "$3/sanity-2.21.log" 2>&1 || rc=$?
                  date +%s > "$3/sanity-2.21.end"; echo "$rc" > "$3/sanity-2.21.rc"' \
    _ "$ROOT/scripts/sanity.sh" "$copy" "$WORK" </dev/null >/dev/null 2>&1 &
  BG221_PID=$!
}

step_units() {
  local tests=()
  [ -d "$COPY/tests/unit" ] && mapfile -t tests < <(find "$COPY/tests/unit" -name 'test_*.py')
  [ ${#tests[@]} -gt 0 ] || skip "tests/unit has no test_*.py yet"
  cd "$COPY"
  # shellcheck disable=SC2086
  ansible-test units --venv --python 3.11 --color no ${UNITS_ARGS:-} 2>&1 | pip_filter
}

step_units_floor() {
  [ -x "$VENVFLOOR/bin/ansible-test" ] || die "$VENVFLOOR is missing: run 'make venv'"
  local copy
  # its own copy: ansible-test 2.17 writes its own tests/output
  copy="$(make_collection_copy "$WORK/floor")"
  cd "$copy"
  "$VENVFLOOR/bin/python" -c 'import ansible, requests, urllib3
print("-- ansible-core %s, requests %s, urllib3 %s" % (ansible.__version__, requests.__version__, urllib3.__version__))'
  # shellcheck disable=SC2086
  PATH="$VENVFLOOR/bin:$PATH" ansible-test units --local --python 3.11 --color no ${UNITS_ARGS:-}
}

step_integration() {
  local targets=()
  [ -d "$COPY/tests/integration/targets" ] && mapfile -t targets < <(find "$COPY/tests/integration/targets" -mindepth 1 -maxdepth 1 -type d)
  [ ${#targets[@]} -gt 0 ] || skip "tests/integration/targets has no targets yet"
  "$VENV/bin/python" -c 'import sigma_emulator' 2>/dev/null || die "emulator not installed in .venv (emulator/pyproject.toml missing?)"
  fleet_lock
  touch "$WORK/fleet-started"
  bash "$ROOT/scripts/fleet.sh" start "$FLEET_STATE" "$ROOT/tests/integration/fleet.yml" \
    "$COPY/tests/integration/integration_config.yml" "$ROOT/tests/integration/integration_config.yml"
  ensure_chromium
  local extra=()
  # role_server installs a stand-in package with apt and runs its service: root only
  if [ "$(id -u)" -eq 0 ] && [ "${SIGMA_TEST_DESTRUCTIVE:-1}" != 0 ]; then extra+=(--allow-destructive); fi
  cd "$COPY"
  local rc=0
  # shellcheck disable=SC2086
  ansible-test integration --python 3.11 --color no "${extra[@]}" ${INTEGRATION_ARGS:-} || rc=$?
  bash "$ROOT/scripts/fleet.sh" stop "$FLEET_STATE"
  return "$rc"
}

# The report role's test renders the page in headless Chromium (Debian's package).
ensure_chromium() {
  [ -n "${CHROMIUM:-}" ] && return 0
  command -v chromium >/dev/null 2>&1 && return 0
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    note "installing Debian's chromium for the report test"
    quietly apt-get update -qq
    DEBIAN_FRONTEND=noninteractive quietly apt-get install -y -qq --no-install-recommends chromium
  else
    die "headless Chromium is needed by the report test: install Debian's chromium package (or set CHROMIUM=/path)"
  fi
}

step_reliability() {
  [ -d "$ROOT/tests/reliability" ] || skip "tests/reliability does not exist"
  cd "$ROOT"
  # the figures go to a scratch file: a test run does not rewrite docs/reliability.md
  SIGMA_RELIABILITY_DOC="$WORK/reliability.md" "$VENV/bin/python" -m pytest tests/reliability -q -p no:cacheprovider
  note "figures: $WORK/reliability.md (regenerate docs/reliability.md with: .venv/bin/python -m pytest tests/reliability)"
}

step_bench_quick() {
  [ -f "$ROOT/bench/run.py" ] || skip "bench/run.py does not exist"
  bash "$ROOT/scripts/bench.sh" --quick
}

step_lint() {
  cd "$COPY"
  ansible-lint --profile production --offline
}

step_docs() {
  cd "$COPY"
  antsibull-docs lint-collection-docs --plugin-docs .
}

step_changelog() {
  cd "$COPY"
  antsibull-changelog lint
}

step_galaxy() {
  local tarball
  mkdir -p "$WORK/importer-tmp"
  tarball="$(built_tarball)"
  note "built $tarball ($(du -h "$tarball" | cut -f1)); contents:"
  tar -tzf "$tarball" | grep -v '/$' | sed 's/^/   /'
  cd "$WORK"
  GALAXY_IMPORTER_CONFIG="$ROOT/scripts/galaxy-importer.cfg" \
    GALAXY_IMPORTER_TMP_ROOT_DIR="$WORK/importer-tmp" \
    "$VENV/bin/python" -m galaxy_importer.main "$tarball" 2>&1 | tee "$WORK/importer.log"
  # Warnings count as failures: they are what Galaxy shows users on the collection's
  # page (a broken meta/execution-environment.yml is only a warning there).
  if grep -E '^(WARNING|ERROR|CRITICAL):' "$WORK/importer.log"; then
    die "galaxy-importer reported the warnings or errors above"
  fi
  grep -q 'Importer processing completed successfully' "$WORK/importer.log" \
    || die "galaxy-importer did not complete"
}

# The collection tarball, built once per run into $WORK/dist; prints its path.
built_tarball() {
  local dist="$WORK/dist" tarball
  tarball="$(find "$dist" -name 'sigma-media_server-*.tar.gz' 2>/dev/null | head -n 1)"
  if [ -z "$tarball" ]; then
    mkdir -p "$dist"
    (cd "$COPY" && ansible-galaxy collection build --force --output-path "$dist" . >/dev/null)
    tarball="$(find "$dist" -name 'sigma-media_server-*.tar.gz' | head -n 1)"
  fi
  echo "$tarball"
}

step_ee() {
  local tarball cols="$WORK/ee-collections" def="$WORK/ee-definition"
  tarball="$(built_tarball)"
  # 1. What ansible-builder reads in the INSTALLED collection (meta/execution-environment.yml):
  #    it must resolve, and list exactly requirements.txt and bindep.txt.
  ansible-galaxy collection install --force --no-deps -p "$cols" "$tarball" 2>&1 | grep -v "is not part of the configured"
  ansible-builder introspect --sanitize "$cols" --write-pip "$WORK/ee-pip.txt" --write-bindep "$WORK/ee-bindep.txt"
  "$VENV/bin/python" "$ROOT/tests/awx/ee_check.py" introspected "$ROOT" "$WORK/ee-pip.txt" "$WORK/ee-bindep.txt"
  # 2. The build definition users copy (extras/awx/execution-environment.yml), with the
  #    tarball in place of Galaxy: ansible-builder must accept it and install the tarball.
  "$VENV/bin/python" "$ROOT/tests/awx/ee_check.py" definition "$ROOT/extras/awx/execution-environment.yml" "$tarball" "$def"
  ansible-builder create --file "$def/execution-environment.yml" --context "$WORK/ee-context" -v 1
  "$VENV/bin/python" "$ROOT/tests/awx/ee_check.py" context "$WORK/ee-context" "$(basename "$tarball")"
}

step_awx() {
  [ -d "$ROOT/tests/awx" ] || skip "tests/awx does not exist"
  local tarball
  tarball="$(built_tarball)"
  fleet_lock   # the suite's emulated fleet listens on fixed ports (19661-19669)
  cd "$ROOT"
  SIGMA_AWX_TARBALL="$tarball" "$VENV/bin/python" -m pytest tests/awx -q -p no:cacheprovider
}

if [[ " ${steps[*]} " == *" sanity-2.19 "* && " ${steps[*]} " == *" sanity-2.21 "* ]] \
   && [ "${SANITY_PARALLEL:-1}" != 0 ] && [ -x "$VENV221/bin/ansible-test" ] \
   && [ "$(nproc 2>/dev/null || echo 1)" -ge 2 ]; then
  start_sanity_2_21_in_background
fi

for s in "${steps[@]}"; do
  run_step "$s"
done
summary
[ "$failed" -eq 0 ]
