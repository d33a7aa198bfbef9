#!/usr/bin/env python
"""Offline stand-in for the ``get-pip.py`` bootstrap script used by ansible-test.

ansible-test bootstraps pip into the empty virtual environments it creates
(``--venv`` sanity/units/integration) by running a ``get-pip.py`` script that it
downloads from ci-files.testing.ansible.com.  That host is not reachable from
air-gapped machines (or this project's CI), but ansible-test first looks for a
cached copy at ``~/.ansible/test/cache/get_pip_<VERSION>.py`` (for example
``get_pip_24_2.py`` for ansible-core 2.19, ``get_pip_25_2.py`` for 2.21).

``scripts/install-get-pip.sh`` copies this file to those names.  When run it:

1. bootstraps pip with the standard library's ``ensurepip`` (no network), unless
   pip is already importable in this interpreter;
2. runs ``python -m pip install <requested packages>`` (e.g. ``pip==24.2``) so the
   environment ends up with exactly the pip version ansible-test asked for.
   That step needs a package index (PyPI or a local mirror/wheelhouse configured
   through pip's usual configuration: pip.conf, PIP_INDEX_URL, PIP_FIND_LINKS).
   If it fails, the ensurepip-provided pip is kept and a warning is printed.

ansible-test invokes it (via its quiet_pip.py wrapper, GET_PIP=<this file>) as::

    python quiet_pip.py --disable-pip-version-check pip==24.2 --no-setuptools --no-wheel

so ``sys.argv[1:]`` holds pip options, requirement specifiers and the get-pip
specific ``--no-setuptools`` / ``--no-wheel`` flags.
"""

from __future__ import annotations

import os
import subprocess
import sys

GET_PIP_ONLY_FLAGS = {'--no-setuptools', '--no-wheel', '--no-pip'}


def log(message: str) -> None:
    sys.stderr.write('get-pip (offline stand-in): %s\n' % message)
    sys.stderr.flush()


def pip_importable() -> bool:
    return subprocess.call([sys.executable, '-c', 'import pip'],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) == 0


def main() -> int:
    args = [arg for arg in sys.argv[1:] if arg not in GET_PIP_ONLY_FLAGS]
    env = dict(os.environ)
    env.pop('GET_PIP', None)  # do not let a nested quiet_pip.py run us again

    if not pip_importable():
        log('bootstrapping pip with ensurepip')
        rc = subprocess.call([sys.executable, '-m', 'ensurepip', '--default-pip'], env=env)
        if rc != 0:
            log('ensurepip failed (exit %d)' % rc)
            return rc
        if '--no-setuptools' in sys.argv[1:]:
            # ensurepip on Python < 3.12 also installs setuptools, which get-pip.py
            # would not have installed when asked for --no-setuptools
            subprocess.call([sys.executable, '-m', 'pip', 'uninstall', '-q', '-y', 'setuptools'],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    options = [arg for arg in args if arg.startswith('-')]
    packages = [arg for arg in args if not arg.startswith('-')]
    if not packages:
        return 0

    cmd = [sys.executable, '-m', 'pip', 'install', '--disable-pip-version-check'] + \
        [opt for opt in options if opt != '--disable-pip-version-check'] + packages
    log('running: %s' % ' '.join(cmd[1:]))
    rc = subprocess.call(cmd, env=env)
    if rc != 0:
        log('could not install %s (exit %d); keeping the pip that ensurepip installed'
            % (' '.join(packages), rc))
    return 0


if __name__ == '__main__':
    sys.exit(main())
