# -*- coding: utf-8 -*-
# Copyright: Contributors to the sigma.media_server collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""sigma.media_server.job_events: an ansible-rulebook event source watching the jobs of Sigma servers.

Run it by itself for a quick look (prints one JSON event a line):

    python job_events.py http://sigma-01:9999 http://sigma-02:9999 --interval 5
    python job_events.py --inventory fleet.sigma.yml
"""

from __future__ import annotations

DOCUMENTATION = r'''
---
short_description: Events from the jobs of a fleet of Sigma Media Servers, for Event-Driven Ansible.
description:
  - An ansible-rulebook event source that polls C(dump) and C(progress) of every server of a fleet every O(interval)
    seconds, all servers at the same time, and puts ONE event on the queue for each new thing it sees.
  - "C(job_error): a job entered the C(error) state, with the error lines that came with it (code, what it concerns,
    whether only a new start clears it: O(needs_restart))."
  - "C(error_line): a new error line of a job that did not just enter C(error). The same line (server, job, line) is
    never sent twice."
  - "C(job_recovered): a job left C(error). C(job_slow): a running job's speed stayed under O(slow_speed) for
    O(slow_polls) polls in a row. C(job_gone): a job disappeared while its server kept running."
  - "C(server_down) / C(server_up): a server stops answering / answers again. C(server_restarted): its C(start) time
    in C(dump) moved, or (a server whose C(dump) has no C(start)) every job vanished while it kept answering; a
    restarted server has forgotten every job (C(jobs_lost) lists them)."
  - "Each event is C({sigma: {type, server, url, job, seen, ...}, meta: {hosts: SERVER}}). C(server) is the server's
    INVENTORY host name (as the inventory plugin M(sigma.media_server.sigma) names it), and C(meta.hosts) makes
    ansible-rulebook limit a C(run_playbook) action to that host."
  - The source never stops because a server fails (ansible-rulebook stops when a source returns); only a bad
    option stops it, at start, before any request.
author:
  - Sigma collection maintainers (@sigma-media)
version_added: 0.1.0
requirements:
  - ansible-core and requests, in the Python that runs ansible-rulebook (a decision environment has both).
options:
  servers:
    description:
      - The servers to watch, as the O(servers) option of the inventory plugin M(sigma.media_server.sigma) takes them,
        API URLs (C(http://HOST:9999), C(https://HOST:PORT)) or dictionaries with C(url) and C(name) (the host name).
      - The inventory plugin reads the list and names the hosts (the server's C(name) in C(dump), its C(hostname), or
        the URL), so events name the hosts an inventory of these servers would have.
      - Exactly one of O(servers) and O(inventory) is required.
    type: list
    elements: raw
  inventory:
    description:
      - An inventory source file of the inventory plugin M(sigma.media_server.sigma) (a C(*.sigma.yml) file, usually
        the one the rulebook runs with), or a directory holding exactly one such file (an inventory directory with its
        C(host_vars) and C(group_vars), as C(ansible-rulebook -i) takes it). Its servers are watched, under the host names it gives them, with its
        connection settings (and the C(SIGMA_*) environment variables it reads); the options below override them.
      - A server the inventory could not reach at start is named by its URL (or its entry's C(name)), as the
        inventory names it; when it answers again the inventory is read once more for its name.
      - The list of servers is read at start; restart the rulebook when it changes.
    type: path
  interval:
    description: Seconds from the start of one poll of a server to the start of its next poll.
    type: float
    default: 10
  slow_speed:
    description:
      - A running job whose speed (1 is real time) stays under this for O(slow_polls) polls in a row gets a
        C(job_slow) event; the vendor's console flags a job under 0.9.
    type: float
    default: 0.9
  slow_polls:
    description: How many polls in a row a job must be slow before its C(job_slow) event.
    type: int
    default: 3
  max_lines:
    description:
      - How many of the newest error lines of each job are remembered to recognise new ones (the memory bound).
      - When a job gets more new lines than this between two polls, the older ones are not reported.
    type: int
    default: 100
  max_workers:
    description:
      - How many servers are polled at the same time (threads); the others wait for a free one.
      - Default, the inventory's value, else E(SIGMA_INVENTORY_MAX_WORKERS), else 32.
    type: int
  timeout:
    description:
      - Seconds to wait for the connection and each answer; a poll that keeps failing gives up after O(timeout) x
        (O(retries) + 1) seconds, then the server is C(server_down).
      - Default, the inventory's value, else E(SIGMA_TIMEOUT), else 10.
    type: float
    env:
      - name: SIGMA_TIMEOUT
  retries:
    description:
      - How many times a failed C(dump) or C(progress) is sent again within one poll.
      - Default, the inventory's value, else E(SIGMA_RETRIES), else 1.
    type: int
    env:
      - name: SIGMA_RETRIES
  validate_certs:
    description: Whether to verify the servers' TLS certificates (default the inventory's, else E(SIGMA_VALIDATE_CERTS), else true).
    type: bool
    env:
      - name: SIGMA_VALIDATE_CERTS
  ca_path:
    description: A PEM file of CA certificates for the servers' TLS certificates (default the inventory's, else E(SIGMA_CA_PATH)).
    type: path
    env:
      - name: SIGMA_CA_PATH
  username:
    description: User name for HTTP basic authentication at a reverse proxy (default the inventory's, else E(SIGMA_USERNAME)).
    type: str
    env:
      - name: SIGMA_USERNAME
  password:
    description:
      - Password for HTTP basic authentication (default the inventory's, else E(SIGMA_PASSWORD)).
      - Never put in an event, nor the password of a server URL, nor header values.
    type: str
    env:
      - name: SIGMA_PASSWORD
  headers:
    description:
      - Extra HTTP headers for every request, for example a proxy's token (default the inventory's, else
        E(SIGMA_HEADERS), a JSON object or C(NAME=VALUE) pairs).
      - Never put in an event.
    type: dict
    env:
      - name: SIGMA_HEADERS
  use_proxy:
    description:
      - Whether to connect through the proxy of the E(HTTP_PROXY), E(HTTPS_PROXY) or E(ALL_PROXY) environment
        variables, except for the servers in E(NO_PROXY) (default the inventory's, else E(SIGMA_USE_PROXY), else true).
    type: bool
    env:
      - name: SIGMA_USE_PROXY
notes:
  - "Every event carries: C(type), C(server) (inventory host name), C(url) (the API URL without a password), C(job)
    (null for server events), C(seen) (UTC time of the poll) and C(summary) (one sentence for a person). Job events add C(state), C(previous_state), C(speed),
    C(code) (the first code), C(codes), C(needs_restart) (true when a code needs a new start, false when the server
    retries by itself, null when nobody can tell: no code, or a code the vendor does not document) and C(errors) (each
    line parsed: C(line), C(time) (UTC), C(message), C(code), C(known), C(concerns), C(needs_restart), C(meaning),
    C(remedy)); C(error_line) adds C(line); C(job_slow) C(threshold) and C(polls); C(server_down) C(error);
    C(server_up) C(down_since) and C(down_seconds); C(server_restarted) C(reason), C(start), C(previous_start) and
    C(jobs_lost)."
  - At its first answer a server's existing error lines are the baseline, not news; a job already in C(error) then
    still gets its C(job_error) (with its newest line), so a source started after a failure still sees it.
  - A job in C(error) whose error line arrives with it gets ONE event (C(job_error)), not also an C(error_line).
  - "Memory: per job, the newest O(max_lines) lines; a job that disappears, and every job of a restarted server, is
    forgotten; the servers are those of the configuration."
  - Requests per poll and server, one C(progress) (every job) then one C(dump), on one kept-alive connection.
'''

EXAMPLES = r'''
- name: Heal the channels of a Sigma fleet
  hosts: all
  sources:
    - sigma.media_server.job_events:
        inventory: inventory/fleet.sigma.yml
        interval: 10
  rules:
    - name: Restart a job that only a new start clears
      condition: event.sigma.needs_restart == true and event.sigma.state == "error"
      throttle:
        once_within: 10 minutes
        group_by_attributes:
          - event.sigma.server
          - event.sigma.job
      action:
        run_playbook:
          name: sigma.media_server.heal_job

- name: Watch two servers by URL, slow jobs after 5 polls
  hosts: all
  sources:
    - sigma.media_server.job_events:
        servers:
          - http://10.0.1.11:9999
          - url: https://10.0.1.12:8443
            name: sigma-02
        interval: 5
        slow_polls: 5
        password: "{{ SIGMA_PASSWORD }}"
  rules:
    - name: Tell
      condition: event.sigma is defined
      action:
        debug:
          msg: "{{ event.sigma.type }} {{ event.sigma.server }} {{ event.sigma.job }} {{ event.sigma.codes }}"
'''

import asyncio
import atexit
import copy
import datetime
import difflib
import logging
import os
import shutil
import sys
import tempfile

from concurrent.futures import ThreadPoolExecutor

import yaml

try:
    from ansible.inventory.data import InventoryData
    from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
    from ansible.parsing.dataloader import DataLoader
    from ansible.plugins.loader import init_plugin_loader, inventory_loader
    from ansible.utils.collection_loader import AnsibleCollectionConfig
except ImportError as _exc:  # pragma: no cover - the decision environment has ansible-core
    raise ImportError('sigma.media_server.job_events needs ansible-core in the Python that runs ansible-rulebook: %s'
                      % _exc) from _exc


def _collections_path():
    """The folder that holds an ansible_collections tree with this collection in it, or None.

    Installed, this file is in one. In a checkout of the collection (python job_events.py from a clone), a
    temporary tree is made whose sigma/media_server links to the checkout, and removed at exit.
    """
    parts = os.path.abspath(__file__).split(os.sep)
    if len(parts) > 8 and parts[-8] == 'ansible_collections':
        return os.sep.join(parts[:-8]) or os.sep
    root = os.sep.join(parts[:-5])  # <root>/extensions/eda/plugins/event_source/job_events.py
    try:
        with open(os.path.join(root, 'galaxy.yml'), encoding='utf-8') as handle:
            galaxy = yaml.safe_load(handle) or {}
    except (OSError, yaml.YAMLError):
        return None
    if not isinstance(galaxy, dict) or (galaxy.get('namespace'), galaxy.get('name')) != ('sigma', 'media_server'):
        return None
    tree = tempfile.mkdtemp(prefix='sigma-job-events-')
    atexit.register(shutil.rmtree, tree, True)
    os.makedirs(os.path.join(tree, 'ansible_collections', 'sigma'))
    os.symlink(root, os.path.join(tree, 'ansible_collections', 'sigma', 'media_server'))
    return tree


def _install_collection_loader():
    """Make the collection's Python code importable as ansible-core does (ansible-rulebook runs this file by path).

    ansible-core's collection loader also installs a path hook that claims every path starting with its own package
    path, .../site-packages/ansible, and so .../site-packages/ansible_rulebook too: ansible-rulebook's later
    runpy.run_path of its own event filters would fail ("can't find '__main__' module"). Imports of collection code
    go through the loader's meta path finder, so the hook is taken out again.
    """
    if AnsibleCollectionConfig.collection_finder is not None:
        return
    path = _collections_path()
    init_plugin_loader([path] if path else [])
    finder = AnsibleCollectionConfig.collection_finder
    sys.path_hooks[:] = [hook for hook in sys.path_hooks if getattr(hook, '__self__', None) is not finder]
    sys.path_importer_cache.clear()


_install_collection_loader()

from ansible_collections.sigma.media_server.plugins.module_utils._client import (  # noqa: E402
    SigmaError, url_password,
)
from ansible_collections.sigma.media_server.plugins.plugin_utils._job_watch import ServerWatch  # noqa: E402

NAME = 'sigma.media_server.job_events'
INVENTORY_PLUGIN = 'sigma.media_server.sigma'
CONNECTION_OPTIONS = ('validate_certs', 'ca_path', 'timeout', 'retries', 'username', 'password', 'headers', 'use_proxy')
IN_MEMORY_SOURCE = '<sigma.media_server.job_events servers>.sigma.yml'

logger = logging.getLogger(NAME)


# ------------------------------------------------------------------------------------------------ options

def _argument_spec():
    """The argument spec, from DOCUMENTATION (the one description of the options)."""
    spec = {}
    for name, doc in yaml.safe_load(DOCUMENTATION)['options'].items():
        spec[name] = dict((k, doc[k]) for k in ('type', 'elements', 'default', 'choices') if k in doc)
        if name in ('password', 'headers'):
            spec[name]['no_log'] = True
    return spec


def _inventory_file(path):
    """The inventory source file: `path`, or the one *.sigma.yml / *.sigma.yaml file of the directory `path`."""
    if os.path.isdir(path):
        found = sorted(os.path.join(path, name) for name in os.listdir(path)
                       if name.endswith(('sigma.yml', 'sigma.yaml')) and os.path.isfile(os.path.join(path, name)))
        if len(found) != 1:
            raise ValueError('%s: inventory %s is a directory with %s *.sigma.yml file; name the file'
                             % (NAME, path, 'no' if not found else 'more than one'))
        return found[0]
    if not os.path.isfile(path):
        raise ValueError('%s: inventory %s is not a file or a directory' % (NAME, path))
    return path


def check_args(args):
    """The validated options, and the names given explicitly. Raises ValueError naming the option."""
    if not isinstance(args, dict):
        raise ValueError('%s: the arguments must be a dictionary, got %s' % (NAME, type(args).__name__))
    # ansible-rulebook adds its own keys (eda_feedback_queue); they are not options
    given = dict((k, v) for k, v in args.items() if not str(k).startswith('eda_') and v is not None)
    spec = _argument_spec()
    unknown = sorted(str(k) for k in given if k not in spec)
    if unknown:
        described = []
        for key in unknown:
            close = difflib.get_close_matches(key, sorted(spec), n=1)
            described.append('%s (did you mean %s?)' % (key, close[0]) if close else key)
        raise ValueError('%s: unknown option(s) %s; the options are %s' % (NAME, ', '.join(described), ', '.join(sorted(spec))))
    result = ArgumentSpecValidator(spec).validate(copy.deepcopy(given))
    if result.error_messages:
        raise ValueError('%s: %s' % (NAME, '; '.join(result.error_messages)))
    params = result.validated_parameters
    if (params.get('servers') is None) == (params.get('inventory') is None):
        raise ValueError('%s: set exactly one of servers (a list of server URLs) and inventory (a *.sigma.yml file)'
                         % NAME)
    if params.get('servers') is not None and not params['servers']:
        raise ValueError('%s: servers is empty' % NAME)
    for name, low in (('interval', 0.01), ('timeout', 0.01), ('slow_speed', 0)):
        if params.get(name) is not None and params[name] < low:
            raise ValueError('%s: %s must be %s, got %s' % (NAME, name, 'greater than 0' if low else '0 or more',
                                                            params[name]))
    for name, low in (('slow_polls', 1), ('max_lines', 1), ('max_workers', 1), ('retries', 0)):
        if params.get(name) is not None and params[name] < low:
            raise ValueError('%s: %s must be %d or more, got %s' % (NAME, name, low, params[name]))
    if params.get('inventory') is not None:
        params['inventory'] = _inventory_file(params['inventory'])
    return params, set(given)


# ------------------------------------------------------------------------------------------------ the fleet

class _ServersSource(DataLoader):
    """A DataLoader that reads the inventory plugin's configuration for `servers` from memory, not a file."""

    def __init__(self, config):
        super(_ServersSource, self).__init__()
        self._config = config

    def load_from_file(self, file_name, *args, **kwargs):
        if file_name == IN_MEMORY_SOURCE:
            return copy.deepcopy(self._config)
        return super(_ServersSource, self).load_from_file(file_name, *args, **kwargs)


class Server(object):
    """One watched server: where it is, what the inventory calls it, its events."""

    def __init__(self, url, display_url, host, unreachable):
        self.url = url
        self.display_url = display_url
        self.host = host
        self.unreachable = unreachable   # the inventory could not reach it when it named it
        self.rename_on_answer = unreachable
        self.client = None
        self.watch = None


class Fleet(object):
    """The servers and the connection settings, as the inventory plugin reads and names them."""

    def __init__(self, params, given):
        self.params = params
        self.given = given

    def _source(self):
        """(loader, path) of the inventory source the plugin reads."""
        if self.params.get('inventory') is not None:
            return DataLoader(), self.params['inventory']
        config = {'plugin': INVENTORY_PLUGIN, 'servers': self.params['servers']}
        for name in CONNECTION_OPTIONS + ('max_workers',):
            if name in self.given:
                config[name] = self.params[name]
        return _ServersSource(config), IN_MEMORY_SOURCE

    def resolve(self):
        """[(url, display_url, host, unreachable)] and the plugin that read them. Blocking: run it in a thread.

        The inventory plugin reads the configuration (refusing unknown keys, reading SIGMA_* variables), asks each
        server's dump (or takes its cache) and names the hosts; raises AnsibleError for a bad configuration.
        """
        loader, path = self._source()
        plugin = inventory_loader.get(INVENTORY_PLUGIN)
        if plugin is None:
            raise RuntimeError('%s: the inventory plugin %s cannot be loaded' % (NAME, INVENTORY_PLUGIN))
        inventory = InventoryData()
        plugin.parse(inventory, loader, path, cache=True)
        named = {}
        for host in inventory.hosts.values():
            url = host.vars.get('sigma_api_url')
            if url is not None:
                named[str.__str__(url)] = (str.__str__(host.name),
                                           'sigma_unreachable' in [g.name for g in host.get_groups()])
        servers = []
        # the plugin's private methods are the collection's own: its reading of the servers and of the connection
        for server in plugin._servers():  # pylint: disable=protected-access
            host, unreachable = named.get(server.display_url, (server.display_url, True))
            servers.append((server.url, server.display_url, host, unreachable))
        return servers, plugin

    def connect(self, plugin, count):
        """The transport for `count` servers, as the inventory plugin builds it (the source's options win), and the
        secrets it knows (password, header values, basic auth text)."""
        # pylint: disable=protected-access
        for name in CONNECTION_OPTIONS + ('max_workers',):
            if name in self.given:
                plugin.set_option(name, self.params[name])
        timeout, retries, max_workers, _hostnames = plugin._checked_options()
        workers = max(1, min(max_workers, count))
        # the source polls every server again and again: its transport keeps the connections
        transport = plugin._transport(timeout, retries, workers, plugin._headers(), one_request=False)
        return transport, workers, list(plugin._secrets)


# ------------------------------------------------------------------------------------------------ the source

class JobEvents(object):
    """The event source: resolve the fleet once, then poll every server on its own schedule."""

    def __init__(self, params, given):
        self.params = params
        self.fleet = Fleet(params, given)
        self.servers = []
        self.transport = None
        self.executor = None
        self._rename_lock = None

    @classmethod
    def from_args(cls, args):
        return cls(*check_args(args))

    def _now(self):
        return datetime.datetime.now(datetime.timezone.utc)

    async def start(self):
        """Read the fleet (the inventory plugin, in a thread) and prepare a client and a watch per server."""
        loop = asyncio.get_running_loop()
        self._rename_lock = asyncio.Lock()
        resolver = ThreadPoolExecutor(max_workers=1, thread_name_prefix='sigma-job-events-inventory')
        try:
            found, plugin = await loop.run_in_executor(resolver, self.fleet.resolve)
            self.transport, workers, secrets = self.fleet.connect(plugin, len(found))
        finally:
            resolver.shutdown(wait=False)
        self.executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix='sigma-job-events')
        secrets += [url_password(url) for url, _display_url, _host, _unreachable in found]
        p = self.params
        for url, display_url, host, unreachable in found:
            server = Server(url, display_url, host, unreachable)
            server.client = self.transport.client(url)
            server.watch = ServerWatch(host, display_url, slow_speed=p['slow_speed'], slow_polls=p['slow_polls'],
                                       max_lines=p['max_lines'], secrets=[secret for secret in secrets if secret])
            self.servers.append(server)
        logger.info('%s: watching %d server(s) every %gs', NAME, len(self.servers), p['interval'])

    def close(self):
        if self.executor is not None:
            self.executor.shutdown(wait=False, cancel_futures=True)
        if self.transport is not None:
            self.transport.close()

    @staticmethod
    def _ask(client):
        """progress, then dump, of one server (blocking, in a worker thread): (dump, progress, None) or an error text.

        In this order a restart between the two requests shows in dump's start time (see ServerWatch.answered).
        """
        try:
            progress = client.progress('*')
            return client.dump(), progress, None
        except SigmaError as err:
            return None, None, str(err)
        except Exception as err:  # pylint: disable=broad-exception-caught  # a poll never kills the source
            return None, None, 'Sigma server %s: unexpected error: %s: %s' % (client.display_url, type(err).__name__, err)

    async def _rename(self, server):
        """The server answers, but the inventory named it when it did not: ask the inventory again for its name."""
        async with self._rename_lock:
            if not server.rename_on_answer:
                return
            loop = asyncio.get_running_loop()
            try:
                found, _plugin = await loop.run_in_executor(self.executor, self.fleet.resolve)
            except Exception as err:  # pylint: disable=broad-exception-caught
                logger.warning('%s: could not read the inventory again to name %s: %s', NAME, server.display_url, err)
                server.rename_on_answer = False
                return
            by_url = dict((display_url, (host, unreachable)) for _url, display_url, host, unreachable in found)
            for other in self.servers:
                if other.display_url not in by_url:
                    continue
                host, other.unreachable = by_url[other.display_url]
                if host != other.host:
                    logger.info('%s: %s is now named %s (was %s)', NAME, other.display_url, host, other.host)
                    other.host = other.watch.host = host
                # Ask again when a server the inventory still could not reach answers; a server that answers
                # now but stays unnamed (a cached failure) waits until it is down and back.
                other.rename_on_answer = other.unreachable and other is not server and not other.watch.answering
            server.rename_on_answer = False

    async def poll_server(self, server, queue):
        """One poll of one server; its events go to the queue. Never raises but for cancellation."""
        loop = asyncio.get_running_loop()
        try:
            dump, progress, error = await loop.run_in_executor(self.executor, self._ask, server.client)
            if error is None:
                if server.rename_on_answer:
                    await self._rename(server)
                events = server.watch.answered(dump, progress, self._now())
            else:
                if server.watch.answering is not False and server.unreachable:
                    server.rename_on_answer = True
                events = server.watch.failed(error, self._now())
        except asyncio.CancelledError:
            raise
        except Exception:  # pylint: disable=broad-exception-caught  # never exit because of one server
            logger.exception('%s: polling %s failed', NAME, server.display_url)
            return
        for event in events:
            await queue.put(event)

    async def poll(self, queue):
        """One poll of every server, at the same time."""
        await asyncio.gather(*(self.poll_server(server, queue) for server in self.servers))

    async def _watch(self, server, queue):
        loop = asyncio.get_running_loop()
        interval = self.params['interval']
        due = loop.time()
        while True:
            await self.poll_server(server, queue)
            due += interval
            if due < loop.time():  # a poll longer than the interval: the next one starts now
                due = loop.time()
            await asyncio.sleep(due - loop.time())

    async def run(self, queue):
        """Poll every server every interval until cancelled."""
        await self.start()
        tasks = [asyncio.ensure_future(self._watch(server, queue)) for server in self.servers]
        try:
            await asyncio.gather(*tasks)
        finally:
            for task in tasks:
                task.cancel()
            self.close()


async def main(queue, args):
    """The ansible-rulebook entry point: put the fleet's job events on `queue` until cancelled."""
    await JobEvents.from_args(args).run(queue)


if __name__ == '__main__':
    import argparse
    import json

    parser = argparse.ArgumentParser(prog='python job_events.py', description='Print the job events of Sigma servers.')
    parser.add_argument('servers', nargs='*', help='API URLs of the servers')
    parser.add_argument('--inventory', help='an inventory source file of sigma.media_server.sigma instead')
    parser.add_argument('--interval', type=float, default=10)
    parser.add_argument('--slow-polls', type=int, default=3)
    cli = parser.parse_args()

    class PrintQueue(asyncio.Queue):
        """A queue that prints each event as a JSON line."""

        async def put(self, item):
            print(json.dumps(item, sort_keys=True), flush=True)

    import signal

    signal.signal(signal.SIGTERM, lambda *_args: sys.exit(0))  # end as on Ctrl-C: the temporary tree goes too
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format='%(asctime)s %(message)s')
    cli_args = {'interval': cli.interval, 'slow_polls': cli.slow_polls}
    cli_args.update({'inventory': cli.inventory} if cli.inventory else {'servers': cli.servers})
    try:
        asyncio.run(main(PrintQueue(), cli_args))
    except KeyboardInterrupt:
        pass
    except ValueError as exc:
        sys.exit(str(exc))
