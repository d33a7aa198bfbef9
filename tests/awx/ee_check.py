# -*- coding: utf-8 -*-
# Copyright: Contributors to the sigma.media_server collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Checks of the `ee` CI step (scripts/ci.py ee), one sub-command each.

  ee_check.py introspected ROOT PIP_OUT BINDEP_OUT
      what `ansible-builder introspect` found in the installed collection is exactly
      requirements.txt and bindep.txt of ROOT
  ee_check.py definition DEFINITION TARBALL OUTDIR
      writes OUTDIR/execution-environment.yml: DEFINITION with the collection taken from
      TARBALL (copied next to it) instead of Galaxy, as docs/awx.md tells users to do
  ee_check.py context CONTEXT TARBALL_NAME
      the build context ansible-builder created installs that tarball
"""

from __future__ import annotations

import os
import shutil
import sys

import yaml

FROM = '  # from collection sigma.media_server'


def requirement_lines(path):
    with open(path) as handle:
        return [line.strip() for line in handle if line.strip() and not line.lstrip().startswith('#')]


def introspected(root, pip_out, bindep_out):
    problems = []
    for name, out in (('requirements.txt', pip_out), ('bindep.txt', bindep_out)):
        want = ['%s%s' % (line, FROM) for line in requirement_lines(os.path.join(root, name))]
        got = requirement_lines(out) if os.path.exists(out) else []
        if got != want:
            problems.append('%s: ansible-builder found %r, expected %r' % (name, got, want))
    return problems


def definition(source, tarball, outdir):
    with open(source) as handle:
        doc = yaml.safe_load(handle)
    os.makedirs(outdir, exist_ok=True)
    shutil.copy(tarball, outdir)
    name = os.path.basename(tarball)
    collections = doc['dependencies']['galaxy']['collections']
    ours = [c for c in collections if c.get('name') == 'sigma.media_server']
    if len(ours) != 1:
        return ['%s: expected one galaxy collection named sigma.media_server, found %r' % (source, collections)]
    ours[0].clear()
    ours[0].update({'name': 'collections/%s' % name, 'type': 'file'})
    doc.setdefault('additional_build_files', []).append({'src': name, 'dest': 'collections'})
    with open(os.path.join(outdir, 'execution-environment.yml'), 'w') as handle:
        yaml.safe_dump(doc, handle, sort_keys=False)
    return []


def context(ctx, tarball_name):
    problems = []
    if not os.path.isfile(os.path.join(ctx, '_build', 'collections', tarball_name)):
        problems.append('the build context has no _build/collections/%s' % tarball_name)
    with open(os.path.join(ctx, '_build', 'requirements.yml')) as handle:
        galaxy = yaml.safe_load(handle)
    if {'name': 'collections/%s' % tarball_name, 'type': 'file'} not in galaxy.get('collections', []):
        problems.append('_build/requirements.yml does not install the tarball: %r' % galaxy)
    files = [f for f in ('Containerfile', 'Dockerfile') if os.path.isfile(os.path.join(ctx, f))]
    if not files:
        problems.append('no Containerfile in %s' % ctx)
    else:
        with open(os.path.join(ctx, files[0])) as handle:
            text = handle.read()
        for needle in ('ansible-galaxy collection install', 'introspect', 'COPY _build /build'):
            if needle not in text:
                problems.append('%s has no %r' % (files[0], needle))
    return problems


def main(argv):
    commands = {'introspected': (introspected, 3), 'definition': (definition, 3), 'context': (context, 2)}
    if len(argv) < 2 or argv[1] not in commands or len(argv) - 2 != commands[argv[1]][1]:
        sys.exit(__doc__)
    function = commands[argv[1]][0]
    problems = function(*argv[2:])
    for problem in problems:
        print('ee check: %s' % problem, file=sys.stderr)
    if problems:
        sys.exit(1)
    print('ee check %s: ok' % argv[1])


if __name__ == '__main__':
    main(sys.argv)
