#!/usr/bin/env python3
# Copyright: Contributors to the sigma.media_server collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmarks of the sigma.media_server collection against the emulator (GitHub issue 9).

    .venv/bin/python bench/run.py                 # all four; writes docs/performance.md, its plot, bench/results.json
    .venv/bin/python bench/run.py --quick         # small sizes; asserts the counts; writes nothing in the tree
    .venv/bin/python bench/run.py --only noop,lineup

Exit status: 0 when every benchmark ran and every count check passed, 1 when a count check failed,
2 when a benchmark could not run. See bench/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_fleet  # noqa: E402
import bench_inventory  # noqa: E402
import bench_lineup  # noqa: E402
import bench_noop  # noqa: E402
import report  # noqa: E402
from _harness import ROOT, BenchError, Checks, Workspace, log, machine_info  # noqa: E402

BENCHMARKS = {
    'inventory': bench_inventory.bench,
    'noop': bench_noop.bench,
    'lineup': bench_lineup.bench,
    'fleet': bench_fleet.bench,
}
DOC = ROOT / 'docs' / 'performance.md'
PLOT_NAME = 'performance-inventory.png'
RESULTS = ROOT / 'bench' / 'results.json'


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--quick', action='store_true',
                   help='small sizes (under 2 minutes), for `make test`: asserts the counts, writes nothing in the '
                        'tree unless --output is given')
    p.add_argument('--only', default=','.join(report.ORDER),
                   help='comma-separated benchmarks to run (default: %(default)s)')
    p.add_argument('--output', type=Path,
                   help='where to write the markdown report (default: docs/performance.md in full mode; nowhere '
                        'with --quick); the plot and the results JSON are written beside it')
    p.add_argument('--report-only', action='store_true',
                   help='measure nothing: write the report again from the stored results (bench/results.json)')
    p.add_argument('--keep', action='store_true', help='keep the temporary workspace (playbooks, logs)')
    p.add_argument('--fleet-sizes', metavar='SxJ[,SxJ]',
                   help='the fleet benchmark\'s fleets, servers x jobs per server (default: 100x20,1000x4; '
                        'quick: 5x4), e.g. 100x20 to leave out the long 1000-server fleet')
    args = p.parse_args(argv)
    if args.fleet_sizes:
        try:
            bench_fleet.SIZES[:] = [tuple(int(n) for n in size.split('x')) for size in args.fleet_sizes.split(',')]
        except ValueError:
            p.error('--fleet-sizes: expected servers x jobs, e.g. 100x20,1000x4; got %r' % args.fleet_sizes)
    args.only = [name.strip() for name in args.only.split(',') if name.strip()]
    unknown = [name for name in args.only if name not in BENCHMARKS]
    if unknown or not args.only:
        p.error('--only: unknown benchmark(s) %s; choose from %s'
                % (', '.join(unknown) or '(none)', ', '.join(report.ORDER)))
    return args


def _terminate(signum, frame):
    raise SystemExit(128 + signum)  # so that the finally blocks stop the emulator


def main(argv=None):
    args = parse_args(argv)
    if args.report_only:
        write(args, None, {})
        return 0
    signal.signal(signal.SIGTERM, _terminate)
    started = time.monotonic()
    machine = machine_info()
    log('bench: %s mode, %s; %s, %s cores, load %s'
        % ('quick' if args.quick else 'full', ', '.join(args.only), machine['cpu'], machine['cores'], machine['load']))
    results, failed_checks, errors = {}, [], []
    ws = Workspace(keep=args.keep)
    try:
        for name in report.ORDER:
            if name not in args.only:
                continue
            log('bench: %s ...' % name)
            checks = Checks()
            t0 = time.monotonic()
            date = time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())
            try:
                result = BENCHMARKS[name](ws, args.quick, checks)
            except BenchError as exc:
                errors.append('%s: %s' % (name, exc))
                log('bench: %s could not run: %s' % (name, exc))
                continue
            except Exception as exc:  # pylint: disable=broad-except
                # a bug or an unexpected answer: say where, go on with the other benchmarks, exit 2
                errors.append('%s: %s: %s' % (name, type(exc).__name__, exc))
                log('bench: %s failed:\n%s' % (name, traceback.format_exc()))
                continue
            entry = {'result': result, 'machine': machine, 'quick': args.quick, 'date': date,
                     'seconds': time.monotonic() - t0, 'checks': len(checks.items)}
            bad = checks.failed()
            failed_checks += ['%s: got %r, expected %r' % (what, got, expected) for what, got, expected, _ in bad]
            if not bad:
                results[name] = entry
            else:
                errors.append('%s: %d count check(s) failed' % (name, len(bad)))
            print(report.section_md(name, entry) + '\n', flush=True)
        write(args, ws, results)
    finally:
        ws.close()
    elapsed = time.monotonic() - started
    for line in failed_checks:
        log('bench: CHECK FAILED: %s' % line)
    for line in errors:
        log('bench: ERROR: %s' % line)
    checks_total = sum(entry['checks'] for entry in results.values())
    log('bench: %d benchmark(s) passed %d count checks, %d failed, in %.0f s'
        % (len(results), checks_total, len(args.only) - len(results), elapsed))
    if failed_checks:
        return 1
    return 2 if errors else 0


def write(args, ws, results):
    """The report: full mode merges into bench/results.json and rewrites docs/performance.md and the plot."""
    if args.quick and args.output is None and not args.report_only:
        # exercise the report and the plot, in the workspace only
        doc = ws.path / 'performance.md'
        problem = report.write_plot(results, str(ws.path / PLOT_NAME))
        doc.write_text(report.document(results, PLOT_NAME, quick=True), encoding='utf-8')
        log('bench: quick mode: report rendered in the workspace only%s'
            % ('' if problem is None or 'inventory' not in results else ' (plot not rendered: %s)' % problem))
        return
    doc = args.output or DOC
    store = doc.parent / 'performance-results.json' if args.output else RESULTS
    merged = {}
    if store.exists():
        try:
            merged = json.loads(store.read_text(encoding='utf-8'))
        except ValueError:
            merged = {}
    merged.update(results)
    if args.report_only:
        results = dict((name, entry) for name, entry in merged.items() if name == 'inventory')
    if not merged:
        log('bench: nothing measured, %s left as it is' % doc)
        return
    store.write_text(json.dumps(merged, indent=1, sort_keys=True) + '\n', encoding='utf-8')
    plot = doc.parent / PLOT_NAME
    plot_name, wrote = PLOT_NAME, [doc, store]
    if 'inventory' in results:
        problem = report.write_plot(merged, str(plot))
        if problem:
            log('bench: plot not rendered: %s' % problem)
            plot_name = None
        else:
            wrote.append(plot)
    elif not plot.exists():
        plot_name = None
    doc.write_text(report.document(merged, plot_name, quick=args.quick), encoding='utf-8')
    log('bench: wrote %s' % ', '.join(os.path.relpath(path) for path in wrote))


if __name__ == '__main__':
    sys.exit(main())
