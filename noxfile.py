# Copyright: Contributors to the sigma.media_server collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The CI steps of sigma.media_server, declared for nox.

    make test                      # every step, in two lanes, with a summary (scripts/ci.py)
    scripts/ci.py units lint       # some steps (also: scripts/test.sh STEP...)
    .venv/bin/nox -s units         # nox itself; `nox -l` lists the steps

Every step runs with the project's pinned tools (.venv: Python 3.11 and ansible-core 2.19;
.venv-2.21: Python 3.13 and ansible-core 2.21; `make venv` builds them), not in a venv of nox's
own (`python=False`): nothing is installed twice, and ansible-test makes its own cached venvs
(--venv, with the offline pip bootstrap from scripts/). The collection's extra checks come from
antsibull-nox (antsibull-nox.toml); its ansible-test, lint and import sessions are not used: they
install unpinned tools per session and run ansible-test in containers, which this project's CI
cannot run.

Lanes: reliability (timing bounds) and bench-quick (request counts) are sensitive to load: they run
one after the other in lane a. To add a step: a function decorated with ``@step(lane)`` (``lane`` "a" or "b": scripts/ci.py runs
the two lanes side by side on two cores, each lane's steps one after the other, and prints every
step's result and seconds), using ``tool()`` for a command of the dev venv and
``collection_copy()`` for an ansible_collections tree.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import tempfile
from pathlib import Path

import nox

ROOT = Path(__file__).resolve().parent
VENV = Path(os.environ.get('VENV', ROOT / '.venv'))
VENV221 = Path(os.environ.get('VENV221', ROOT / '.venv-2.21'))
VENVFLOOR = Path(os.environ.get('VENVFLOOR', ROOT / '.venv-floor'))
VENVEDA = Path(os.environ.get('VENVEDA', ROOT / '.venv-eda'))
VENVAWXEE = Path(os.environ.get('VENVAWXEE', ROOT / '.venv-awx-ee'))
WORK = Path(os.environ.get('SIGMA_CI_WORK', ROOT / 'build' / 'ci'))
# ansible-test uses git to list a collection's files when it finds a repository above it: the copies
# live outside the checkout (one folder per checkout, so that two checkouts never share one).
COPIES = Path(os.environ.get('SIGMA_CI_COPIES', Path(tempfile.gettempdir()) / (
    'sigma-ci-' + hashlib.sha256(str(ROOT).encode()).hexdigest()[:12])))
# Not part of the collection (galaxy.yml build_ignore): left out of the copies ansible-test checks.
NOT_COLLECTION_TOP = ('.git', '.nox', '.venv*', 'build', 'emulator', 'bench', 'noxfile.py', 'antsibull-nox.toml',
                      'importer_result.json', '*.tar.gz', '.ansible')
NOT_COLLECTION_ANYWHERE = ('__pycache__', '.pytest_cache', '.ruff_cache', '.mypy_cache', '*.egg-info')

nox.options.default_venv_backend = 'none'
nox.options.error_on_missing_interpreters = True
nox.options.sessions = []  # filled by @step, in declaration order

try:
    import antsibull_nox
except ImportError:  # pragma: no cover - a venv without it
    antsibull_nox = None
else:
    antsibull_nox.load_antsibull_nox_toml()  # the session extra-checks (lane b: it has no lane tag)
    nox.options.sessions.append('extra-checks')


def env(**extra):
    """The environment of a step: the dev venv's tools first, stable output, no pip noise."""
    out = {
        'PATH': os.pathsep.join([str(VENV / 'bin'), os.environ.get('PATH', '')]),
        'PIP_DISABLE_PIP_VERSION_CHECK': '1', 'PIP_NO_INPUT': '1',
        'ANSIBLE_FORCE_COLOR': '0', 'ANSIBLE_NOCOLOR': '1', 'PY_COLORS': '0',
        'ANSIBLE_PYTHON_INTERPRETER': str(VENV / 'bin' / 'python'),
    }
    out.update(extra)
    return out


def tool(name, venv=VENV):
    path = venv / 'bin' / name
    if not path.exists():
        raise FileNotFoundError(f'{path} is missing: run make venv')
    return str(path)


def step(lane, name=None, fixed_ports=False):
    """Declare a CI step: a nox session without a venv of its own, in lane ``a`` or ``b``.

    ``fixed_ports``: the step starts emulated servers on ports files name (tag fixed-ports): it runs
    under the machine-wide fleet lock (``fleet_lock``; scripts/ci.py takes it once per run).
    """
    def wrap(func):
        session_name = name or func.__name__.replace('_', '-')
        nox.options.sessions.append(session_name)
        tags = [f'lane-{lane}'] + (['fixed-ports'] if fixed_ports else [])
        return nox.session(name=session_name, python=False, tags=tags)(func)
    return wrap


def collection_copy(session, label, with_emulator=False):
    """A fresh copy of the checkout at COPIES/LABEL/ansible_collections/sigma/media_server.

    ansible-test refuses symlinks and, without .git, would check every file: the copy leaves out
    what is not part of the collection (integration copies keep emulator/: targets start fleets).
    """
    dest = COPIES / label / 'ansible_collections' / 'sigma' / 'media_server'
    if dest.exists():
        shutil.rmtree(dest)
    top, anywhere = shutil.ignore_patterns(*NOT_COLLECTION_TOP), shutil.ignore_patterns(*NOT_COLLECTION_ANYWHERE)

    def ignore(folder, names):
        if Path(folder) != ROOT:
            return anywhere(folder, names)
        return anywhere(folder, names) | (top(folder, names) - ({'emulator'} if with_emulator else set()))

    shutil.copytree(ROOT, dest, symlinks=True, ignore=ignore)
    shutil.rmtree(dest / 'tests' / 'output', ignore_errors=True)
    session.log(f'collection copy: {dest}')
    return dest


def keep_reports(copy):
    """ansible-test's junit/bot/data reports back into the checkout's tests/output."""
    for kind in ('junit', 'bot', 'data', 'reports'):
        src = copy / 'tests' / 'output' / kind
        if src.is_dir():
            dst = ROOT / 'tests' / 'output' / kind
            shutil.rmtree(dst, ignore_errors=True)
            shutil.copytree(src, dst)


def offline_pip_bootstrap(session):
    session.run('bash', str(ROOT / 'scripts' / 'install-get-pip.sh'), tool('python'),
                *([tool('python', VENV221)] if (VENV221 / 'bin' / 'python').exists() else []), silent=True)


def ansible_test(session, label, args, venv=VENV, extra_env=None):
    offline_pip_bootstrap(session)
    copy = collection_copy(session, label)
    try:
        with session.chdir(copy):
            session.run(tool('ansible-test', venv), *args, '--color', 'no', *session.posargs,
                        env=env(PATH=os.pathsep.join([str(venv / 'bin'), str(VENV / 'bin'), os.environ.get('PATH', '')]),
                                **(extra_env or {})))
    finally:
        keep_reports(copy)


# ---------------------------------------------------------------------------- lane a

@step('a')
def emulator(session):
    """The emulator's own tests (emulator/tests)."""
    with session.chdir(ROOT / 'emulator'):
        session.run(tool('python'), '-m', 'pytest', 'tests', '-q', '-p', 'no:cacheprovider', env=env())


@step('a', 'sanity-2.19')
def sanity_219(session):
    """ansible-test sanity, ansible-core 2.19 on Python 3.11."""
    ansible_test(session, 'sanity-2.19', ['sanity', '--venv', '--python', '3.11'])


@step('a')
def units(session):
    """ansible-test units, ansible-core 2.19 on Python 3.11."""
    ansible_test(session, 'units', ['units', '--venv', '--python', '3.11'])


TARGETS = ROOT / 'tests' / 'integration' / 'targets'


def integration_targets(session, roles):
    """The targets of one integration step: role and playbook targets (their own fleets on fixed
    ports), or the others (the shared fleet). Target names among the options narrow the choice."""
    allowed = os.geteuid() == 0 and os.environ.get('SIGMA_TEST_DESTRUCTIVE', '1') != '0'
    names = []
    for path in sorted(p for p in TARGETS.iterdir() if p.is_dir()):
        aliases = (path / 'aliases').read_text(encoding='utf-8').split() if (path / 'aliases').exists() else []
        if 'disabled' in aliases or 'unsupported' in aliases or 'hidden' in aliases or ('destructive' in aliases and not allowed):
            continue
        if (path.name.startswith('role_') or path.name == 'playbooks') == roles:
            names.append(path.name)
    asked = [a for a in session.posargs if not a.startswith('-')]
    options = [a for a in session.posargs if a.startswith('-')]
    if asked:
        names = [n for n in names if n in asked]
    return names, options + (['--allow-destructive'] if allowed else [])


# The module targets, run again on the path of a remote host by the step integration-remote.
REMOTE_TARGETS = ('sigma_info', 'sigma_job', 'sigma_jobs', 'sigma_job_record')


def run_integration(session, roles, remote=False):
    targets, options = integration_targets(session, roles)
    if remote:
        targets = [t for t in targets if t in REMOTE_TARGETS]
    if not targets:
        session.skip('no integration target of this step was asked for')
    if not remote:
        ensure_chromium(session)
    label = 'integration-roles' if roles else 'integration-remote' if remote else 'integration'
    copy = collection_copy(session, label, with_emulator=True)
    fleet = WORK / (label + '-fleet')
    # integration-remote's targets listen on ephemeral ports only: no lock (integration's inventory_sigma and the
    # role targets use fixed ones)
    with contextlib.nullcontext() if remote else fleet_lock(session):
        if not roles:  # the shared fleet, on ephemeral ports
            session.run('bash', str(ROOT / 'scripts' / 'fleet.sh'), 'start', str(fleet),
                        str(ROOT / 'tests' / 'integration' / 'fleet.yml'),
                        str(copy / 'tests' / 'integration' / 'integration_config.yml'),
                        str(ROOT / 'tests' / 'integration' / 'integration_config.yml'), env=env())
        if remote:  # every task with the test-only connection sigma_remote: the action plugins execute the modules
            with open(copy / 'tests' / 'integration' / 'integration_config.yml', 'a', encoding='utf-8') as config:
                config.write('\n# the remote path (the step integration-remote)\nansible_connection: sigma_remote\n')
        try:
            offline_pip_bootstrap(session)
            with session.chdir(copy):
                session.run(tool('ansible-test'), 'integration', '--python', '3.11', '--color', 'no', *options,
                            *targets, env=env())
        finally:
            if not roles:
                session.run('bash', str(ROOT / 'scripts' / 'fleet.sh'), 'stop', str(fleet), env=env())
            keep_reports(copy)


@step('a', fixed_ports=True)
def integration(session):
    """ansible-test integration (Python 3.11) of the module and inventory targets, against the
    shared emulated fleet (tests/integration/fleet.yml, ephemeral ports)."""
    run_integration(session, roles=False)


@step('a', 'integration-remote')
def integration_remote(session):
    """The module targets again (sigma_info, sigma_job, sigma_jobs, sigma_job_record) with the test-only
    connection sigma_remote (tests/integration/targets/setup_sigma_remote): the action plugins then execute
    the modules as on a remote host instead of running the engine on the controller. Every fleet of these
    targets listens on ephemeral ports (no fleet lock); it is in lane a for the balance of the two lanes."""
    run_integration(session, roles=False, remote=True)


@step('a')
def reliability(session):
    """tests/reliability: faults, bad input, concurrency, secrets, TLS (figures to a scratch file)."""
    doc = WORK / 'reliability.md'
    session.run(tool('python'), '-m', 'pytest', 'tests/reliability', '-q', '-p', 'no:cacheprovider',
                env=env(SIGMA_RELIABILITY_DOC=str(doc)))
    session.log(f'figures: {doc} (docs/reliability.md: .venv/bin/python -m pytest tests/reliability)')


@step('b', 'reliability-remote')
def reliability_remote(session):
    """tests/reliability with every play on the path of a remote host (the connection sigma_remote); the
    inventory's tests run no task, so they run in the step reliability only."""
    session.run(tool('python'), '-m', 'pytest', 'tests/reliability', '-q', '-p', 'no:cacheprovider',
                '-k', 'not inventory',
                env=env(SIGMA_RELIABILITY_CONNECTION='sigma_remote',
                        SIGMA_RELIABILITY_DOC=str(WORK / 'reliability-remote.md')))


@step('a', 'bench-quick')
def bench_quick(session):
    """bench/run.py --quick: every benchmark at a small size, request counts checked."""
    session.run(tool('python'), 'bench/run.py', '--quick', env=env())


@step('b')
def eda(session):
    """tests/eda: the event source job_events against the emulator, and the example rulebook run end to
    end by ansible-rulebook (.venv-eda; Debian's openjdk-17-jre-headless is installed when java is missing)."""
    tool('ansible-rulebook', VENVEDA)
    ensure_java(session)
    session.run(tool('python'), '-m', 'pytest', 'tests/eda', '-q', '-p', 'no:cacheprovider', '--durations=3',
                env=env(SIGMA_EDA_VENV=str(VENVEDA)))


def ensure_java(session):
    """A Java runtime (17 or later) for ansible-rulebook's rule engine: Debian's package when missing (as root)."""
    if shutil.which('java'):
        return
    if os.geteuid() != 0 or not shutil.which('apt-get'):
        session.error("ansible-rulebook needs a Java runtime (17 or later): install Debian's openjdk-17-jre-headless")
    session.log("installing Debian's openjdk-17-jre-headless for ansible-rulebook")
    session.run('apt-get', 'update', '-qq', external=True, silent=True)
    session.run('apt-get', 'install', '-y', '-qq', '--no-install-recommends', 'openjdk-17-jre-headless', external=True,
                silent=True, env={'DEBIAN_FRONTEND': 'noninteractive'})


class fleet_lock:  # pylint: disable=invalid-name
    """Exclusive use of the fixed ports some integration targets need (flock on a machine-wide file;
    scripts/ci.py takes it once for a whole run and says so with SIGMA_FLEET_LOCK_HELD=1)."""

    def __init__(self, session):
        self.session, self.fh = session, None

    def __enter__(self):
        import fcntl
        if os.environ.get('SIGMA_FLEET_LOCK_HELD') == '1':
            return self
        self.fh = open(os.path.join(os.environ.get('TMPDIR', '/tmp'), 'sigma-media-server-fleet.lock'), 'w',
                       encoding='utf-8')
        try:
            fcntl.flock(self.fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            self.session.log('another run uses the fixed fleet ports; waiting for it')
            fcntl.flock(self.fh, fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc):
        if self.fh:
            self.fh.close()


def ensure_chromium(session):
    """Headless Chromium for the report test: Debian's package, installed when missing (as root)."""
    if os.environ.get('CHROMIUM') or shutil.which('chromium'):
        return
    if os.geteuid() != 0 or not shutil.which('apt-get'):
        session.error('headless Chromium is needed by the report test: install Debian\'s chromium package '
                      '(or set CHROMIUM=/path)')
    session.log("installing Debian's chromium for the report test")
    session.run('apt-get', 'update', '-qq', external=True, silent=True)
    session.run('apt-get', 'install', '-y', '-qq', '--no-install-recommends', 'chromium', external=True,
                silent=True, env={'DEBIAN_FRONTEND': 'noninteractive'})


# ---------------------------------------------------------------------------- lane b

@step('b', 'sanity-2.21')
def sanity_221(session):
    """ansible-test sanity, ansible-core 2.21 on Python 3.13."""
    if not (VENV221 / 'bin' / 'ansible-test').exists():
        session.skip('no .venv-2.21 (needs Python 3.13; see make venv)')
    ansible_test(session, 'sanity-2.21', ['sanity', '--venv', '--python', '3.13'], venv=VENV221)


@step('b', 'units-floor')
def units_floor(session):
    """The unit tests at the floor: ansible-core 2.17 and the oldest requests/urllib3 of
    requirements.txt (.venv-floor, ansible-test units --local)."""
    if not (VENVFLOOR / 'bin' / 'ansible-test').exists():
        session.error(f'{VENVFLOOR} is missing: run make venv')
    copy = collection_copy(session, 'units-floor')  # its own copy: ansible-test 2.17 writes its own tests/output
    path = os.pathsep.join([str(VENVFLOOR / 'bin'), str(VENV / 'bin'), os.environ.get('PATH', '')])
    with session.chdir(copy):
        session.run(tool('python', VENVFLOOR), '-c', 'import ansible, requests, urllib3; print("-- ansible-core %s, '
                    'requests %s, urllib3 %s" % (ansible.__version__, requests.__version__, urllib3.__version__))',
                    env=env(PATH=path))
        session.run(tool('ansible-test', VENVFLOOR), 'units', '--local', '--python', '3.11', '--color', 'no',
                    *session.posargs, env=env(PATH=path))


@step('b', 'inventory-cores')
def inventory_cores(session):
    """The inventory AWX imports (no __ansible_unsafe) and a crafted server's templates never rendered, on
    ansible-core 2.21 and 2.17 (.venv-2.21, .venv-floor; the inventory_sigma target does 2.19): cores.sh."""
    session.run('bash', str(TARGETS / 'inventory_sigma' / 'cores.sh'), str(VENV221), str(VENVFLOOR), env=env())


def in_copy(session, label, command, *args):
    """A command of the dev venv, run in a fresh collection copy (COPIES/LABEL), which is also its collections path."""
    with session.chdir(collection_copy(session, label)):
        session.run(tool(command), *args, env=env(ANSIBLE_COLLECTIONS_PATH=str(COPIES / label)))


@step('b')
def lint(session):
    """ansible-lint --profile production, offline."""
    in_copy(session, 'lint', 'ansible-lint', '--profile', 'production', '--offline')


@step('b')
def docs(session):
    """antsibull-docs lint-collection-docs --plugin-docs."""
    in_copy(session, 'docs', 'antsibull-docs', 'lint-collection-docs', '--plugin-docs', '.')


@step('b')
def changelog(session):
    """antsibull-changelog lint."""
    session.run(tool('antsibull-changelog'), 'lint', env=env())


def built_tarball(session):
    """The collection tarball of this run (WORK/dist), built once: scripts/ci.py names the run in
    SIGMA_CI_RUN; another run, or nox alone, builds it again."""
    dist, run = WORK / 'dist', os.environ.get('SIGMA_CI_RUN', '')
    marker = dist / 'run'
    tarballs = sorted(dist.glob('sigma-media_server-*.tar.gz'))
    if run and tarballs and marker.exists() and marker.read_text(encoding='utf-8') == run:
        return tarballs[0]
    shutil.rmtree(dist, ignore_errors=True)
    dist.mkdir(parents=True)
    copy = collection_copy(session, 'build')
    with session.chdir(copy):
        session.run(tool('ansible-galaxy'), 'collection', 'build', '--force', '--output-path', str(dist), '.',
                    env=env(), silent=True)
    marker.write_text(run, encoding='utf-8')
    return next(dist.glob('sigma-media_server-*.tar.gz'))


@step('b')
def galaxy(session):
    """galaxy-importer on the built tarball (ansible-test and ansible-lint off: the sanity and lint
    steps run them). Its warnings fail the step: Galaxy shows them on the collection's page."""
    tarball = built_tarball(session)
    tmp = WORK / 'galaxy' / 'importer-tmp'
    tmp.mkdir(parents=True, exist_ok=True)
    with session.chdir(WORK / 'galaxy'):
        out = session.run(tool('python'), '-m', 'galaxy_importer.main', str(tarball), silent=True,
                          env=env(GALAXY_IMPORTER_CONFIG=str(ROOT / 'scripts' / 'galaxy-importer.cfg'),
                                  GALAXY_IMPORTER_TMP_ROOT_DIR=str(tmp),
                                  ANSIBLE_COLLECTIONS_PATH=str(COPIES / 'galaxy')))
    print(out)
    problems = [line for line in out.splitlines() if line.startswith(('WARNING:', 'ERROR:', 'CRITICAL:'))]
    if problems or 'Importer processing completed successfully' not in out:
        session.error('galaxy-importer: ' + ('; '.join(problems) or 'did not complete'))


@step('b')
def ee(session):
    """The execution environment: ansible-builder introspect of the installed tarball
    (meta/execution-environment.yml must list exactly requirements.txt and bindep.txt), then
    ansible-builder create from the definition users copy (extras/awx/execution-environment.yml,
    with the tarball in place of Galaxy). No container is built."""
    tarball = built_tarball(session)
    cols, definition, context = WORK / 'ee-collections', WORK / 'ee-definition', WORK / 'ee-context'
    for path in (cols, definition, context):
        shutil.rmtree(path, ignore_errors=True)
    check = [tool('python'), str(ROOT / 'tests' / 'awx' / 'ee_check.py')]
    session.run(tool('ansible-galaxy'), 'collection', 'install', '--force', '--no-deps', '-p', str(cols), str(tarball),
                env=env(), silent=True)
    session.run(tool('ansible-builder'), 'introspect', '--sanitize', str(cols), '--write-pip', str(WORK / 'ee-pip.txt'),
                '--write-bindep', str(WORK / 'ee-bindep.txt'), env=env())
    session.run(*check, 'introspected', str(ROOT), str(WORK / 'ee-pip.txt'), str(WORK / 'ee-bindep.txt'), env=env())
    session.run(*check, 'definition', str(ROOT / 'extras' / 'awx' / 'execution-environment.yml'), str(tarball),
                str(definition), env=env())
    session.run(tool('ansible-builder'), 'create', '--file', str(definition / 'execution-environment.yml'),
                '--context', str(context), '-v', '1', env=env())
    session.run(*check, 'context', str(context), tarball.name, env=env())


@step('b', fixed_ports=True)
def awx(session):
    """tests/awx: the inventory update exactly as AWX runs it, and the playbooks through
    ansible-runner (fresh private data dir and HOME per run, the collection installed from the built
    tarball, AWX's fact storage). The jobs run with ansible-core 2.18, as AWX's own EE (.venv-awx-ee),
    one test also with 2.19 (.venv). Its fleet listens on fixed ports."""
    tarball = built_tarball(session)
    with fleet_lock(session):
        session.run(tool('python'), '-m', 'pytest', 'tests/awx', '-q', '-p', 'no:cacheprovider',
                    env=env(SIGMA_AWX_TARBALL=str(tarball), SIGMA_AWX_EE_PYTHON=tool('python', VENVAWXEE)))


@step('b', 'integration-roles', fixed_ports=True)
def integration_roles(session):
    """ansible-test integration (Python 3.11) of the role and playbook targets; each starts its own
    fleet on the ports its inventory names. As root, the destructive role_server target runs too
    (SIGMA_TEST_DESTRUCTIVE=0 leaves it out); Debian's chromium is installed for the report test
    when it is missing."""
    run_integration(session, roles=True)



if __name__ == '__main__':
    nox.main()
