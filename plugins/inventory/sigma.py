# -*- coding: utf-8 -*-
# Copyright: Contributors to the sigma.media_server collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
name: sigma
short_description: Sigma Media Server fleet inventory
version_added: 0.1.0
description:
  - Builds an inventory from a fleet of Sigma Media Servers, one host per server, from each server's C(dump) answer.
  - The C(dump) of every server is fetched in parallel by a bounded pool of O(max_workers) threads.
    The whole fetch ends within O(timeout) x (O(retries) + 1) seconds, whatever the size of the fleet;
    a server that has not answered by then goes to the C(sigma_unreachable) group.
  - "On Linux, when at least 50 servers are to be asked, the threads run in a helper process forked from Ansible's,
    which hands each answer back as soon as it is there: the fetching then runs on another CPU core while Ansible
    builds the hosts, instead of taking turns with it (Python runs one thread at a time). With more CPUs, more helpers
    share the servers: one per 250 servers, at most one per CPU beyond the first and 4. The helpers are stopped at the
    time limit, so the run never waits longer; they never write to Ansible's output and end with Ansible's process.
    Elsewhere, or when Ansible's process runs other threads (a C(meta: refresh_inventory) in a play), the threads run
    in Ansible's process."
  - Host variables are prefixed C(sigma_) so they cannot clash with Ansible's own names.
  - "Groups: C(sigma_gpu_<model>) for every GPU model of a server (C(sigma_gpu_nvidia_a10); a server with two models joins
    both), C(sigma_gpu_none) for a server without GPU, C(sigma_gpu_unknown) for a server with a card whose model it does
    not name, C(sigma_license_<status>) (C(sigma_license_valid),
    C(sigma_license_expired), ..., C(sigma_license_unknown) when the server reports no status),
    C(sigma_version_<major>_<minor>) (C(sigma_version_3_0) for version C(3.0.12); C(sigma_version_unknown) when absent),
    and C(sigma_unreachable)."
  - "A server that does not answer, answers something that is not JSON (an HTML page from a proxy) or answers with
    C(ec) other than 0 (or that cannot be named, see C(Host names)) neither breaks nor silently shrinks the inventory:
    it is added to the group C(sigma_unreachable) with the host variable C(sigma_error) saying why, and a warning names
    it. O(fail_on_unreachable=true) fails instead."
  - With O(cache=true) the C(dump) answers (licence key masked) are cached under one key per configuration file,
    together with the failures, and the groups and O(compose)d variables are rebuilt from them on every run;
    a run with a warm cache sends no request. C(--flush-cache) fetches everything again.
  - Reads answers in the original key spelling and in the damaged spelling of the English translation of the API
    reference (C(System), C(Encoder), C(soft) for C(mem), ...).
  - Uses a YAML configuration file whose name ends with C(sigma.yml) or C(sigma.yaml).
  - "B(Host names). A name never goes to another server than the one it belongs to, whichever servers answer, and never
    depends on the order of the answers: servers are named one after another in the order of O(servers), from the
    configuration and from what each server (or the cache, for one that is down) and the servers before it report.
    (1) A server entry's C(name) is its name, always. (2) Every server's URL name is
    reserved for it (C(_2), C(_3) tell equal ones apart, in the order of O(servers)). (3) Otherwise the first source
    of O(hostnames) that gives a name wins; a name from the C(dump) is given only if it is not another server's
    configured or URL name and no server listed before reports it (as its C(name) or C(hostname)): the first server
    that reports a name gets it, the next ones go on to their next source. (4) A server that is down keeps the name
    it had when it last answered if the inventory cache remembers it (O(cache)), else its URL name. (5) A server that
    is down and not in the cache could report any name: the servers listed after it cannot be given a name from their
    C(dump) this run (it might be that server's), so they are named from their URL and put in C(sigma_unreachable)
    with C(sigma_error) saying so, and nothing acts on them under a name that may be another's."
  - "Example: O(servers) lists C(http://10.0.1.11) and C(http://10.0.1.12), two clones that both report C(name: edge-1)
    and C(hostname: sigma-01), then C({url: http://10.0.1.13, name: edge-3}), then C(http://10.0.1.14:8443), which
    reports C(edge-4). All up: C(edge-1) (10.0.1.11, the first to report it), C(10.0.1.12) (both of its names are
    taken by the server before it), C(edge-3), C(edge-4). With 10.0.1.11 down and a warm cache: the same names, 10.0.1.11
    in C(sigma_unreachable). With 10.0.1.11 down on a fresh runner (no cache): C(10.0.1.11), C(10.0.1.12) and
    C(10.0.1.14_8443) in C(sigma_unreachable), C(edge-3) used; never C(edge-1) for the clone. Where runners start
    empty (CI, AWX), give every server a C(name) (or use O(hostnames=[url])): names then never change."
author:
  - Sigma collection maintainers (@sigma-media)
extends_documentation_fragment:
  - constructed
  - inventory_cache
  - sigma.media_server.connection.plugins
options:
  plugin:
    description: The name of this plugin; it identifies the configuration file as one for this plugin.
    type: str
    required: true
    choices:
      - sigma.media_server.sigma
  servers:
    description:
      - The servers of the fleet.
      - Each entry is either the API URL of a server (C(http://HOST:9999), C(https://HOST:PORT)), or a dictionary with
        the keys C(url) (required), C(name) (the inventory host name, which then wins over O(hostnames)) and C(vars)
        (host variables set as given, after and over the ones this plugin sets).
      - A URL without a port gets C(9999); a URL without a scheme gets C(http://).
      - A URL may be listed only once.
      - From the environment variable, a comma-separated list of URLs (names and variables need the file).
    type: list
    elements: raw
    required: true
    env:
      - name: SIGMA_INVENTORY_SERVERS
  hostnames:
    description:
      - Where the host name of a server without a configured C(name) may come from, in order of preference, under the
        rule of C(Host names) above.
      - V(name) is the C(name) the server reports in C(dump), V(hostname) is the C(hostname) it reports, V(url) is
        built from the URL (C(HOST) when the port is 9999, otherwise C(HOST_PORT); a path is appended). Sources after
        V(url) are never used; the URL name is the last resort in any case.
      - V([url]) names every server from the configuration alone.
    type: list
    elements: str
    choices:
      - name
      - hostname
      - url
    default: [name, hostname, url]
    env:
      - name: SIGMA_INVENTORY_HOSTNAMES
  max_workers:
    description:
      - How many servers are queried at the same time, at most; the pool has one thread per server to ask up to this
        number.
      - "The rule: a thread spends a request mostly waiting for the server, and the controller about 0.5 ms of CPU per
        server (1.5 ms with https: the TLS handshake). Hiding a latency of L ms takes about L threads (64 for 50 ms);
        beyond that the fetch is bound by the CPU, and more threads only cost memory and connections. The default covers servers 100 ms away; raise it for a
        fleet farther away, lower it to spare a proxy in front of the servers."
    type: int
    default: 128
    env:
      - name: SIGMA_INVENTORY_MAX_WORKERS
  include_dump:
    description:
      - Whether to add the whole C(dump) answer, as the server sent it, as the host variable C(sigma_dump).
      - The licence key in it is masked.
    type: bool
    default: false
    env:
      - name: SIGMA_INVENTORY_INCLUDE_DUMP
  fail_on_unreachable:
    description:
      - Fail the inventory run when a server cannot be reached or gives an unusable answer,
        instead of adding it to the group C(sigma_unreachable).
    type: bool
    default: false
    env:
      - name: SIGMA_INVENTORY_FAIL_ON_UNREACHABLE
notes:
  - "Host variables of a server that answered: C(ansible_host) (the host of the URL), C(sigma_api_url) (the URL, without
    a password), C(sigma_version), C(sigma_license_status) (upper case, C(UNKNOWN) when absent),
    C(sigma_gpu_models) (the GPU models, in card order), C(sigma_gpus) (one entry per card: C(index), C(model),
    C(memory_mb) (total), C(memory_used_mb), C(load) (GPU utilisation %); M(sigma.media_server.sigma_info) has the rest),
    C(sigma_encoders) (sorted C(codec@format) strings that at least one card encodes), C(sigma_job_count), and with
    O(include_dump=true) C(sigma_dump)."
  - "Host variables of a server that did not answer: C(ansible_host), C(sigma_api_url), C(sigma_error)."
  - "Values that come from the servers (and O(compose)d values, O(servers) URLs and C(sigma_error)) are never rendered
    as templates, on every supported ansible-core, and C(ansible-inventory --list --export) (what AWX imports) writes
    them as plain strings. The one exception is a string that could be a template (it holds C({) or a C(#jinja2:)
    header): it stays untrusted and is written as C({\"__ansible_unsafe\": ...}), so that whatever reads the output
    back (AWX hands it to Ansible again) keeps it inert."
  - "Every option can be set by an environment variable (AWX passes credentials and the source variables of an
    inventory source to the inventory update that way): E(SIGMA_INVENTORY_SERVERS), E(SIGMA_USERNAME),
    E(SIGMA_PASSWORD), E(SIGMA_HEADERS), E(SIGMA_VALIDATE_CERTS), E(SIGMA_CA_PATH), E(SIGMA_TIMEOUT),
    E(SIGMA_RETRIES), the C(SIGMA_INVENTORY_*) ones above, and Ansible's E(ANSIBLE_INVENTORY_CACHE*) for the cache.
    The configuration file wins over the environment. A boolean variable that is not a boolean (V(perhaps)) is refused."
  - The password, the header values and a password in a server URL never reach host variables, warnings or the cache
    (an error page that echoes one is masked).
  - O(compose), O(groups) and O(keyed_groups) also apply to unreachable servers, but never fail the run for them
    (their C(sigma_) facts are missing), whatever O(strict) says.
  - A failure is cached like an answer; use C(--flush-cache) (or O(cache_timeout)) to ask the server again.
  - A key of the configuration file that is not an option of this plugin (a misspelt option) and a value of a boolean
    option that is not a boolean (V(perhaps)) are refused, naming the key, before any request; Ansible itself would
    ignore the key or read the value as false.
'''

EXAMPLES = r'''
# fleet.sigma.yml
plugin: sigma.media_server.sigma
servers:
  - http://10.0.1.11                      # port 9999
  - https://sigma-02.example.net:8443
  - url: http://10.0.1.13:9999
    name: sigma-edge-03
    vars:
      site: hanoi
timeout: 5
cache: true
cache_plugin: ansible.builtin.jsonfile
cache_connection: ~/.cache/sigma-inventory
cache_timeout: 600

# a group of GPU servers with a valid licence, a group per site, and a flag for servers with a busy GPU
---
plugin: sigma.media_server.sigma
servers:
  - http://10.0.1.11
  - http://10.0.1.12
keyed_groups:
  - key: site | default('nowhere')
    prefix: site
groups:
  transcoders: "sigma_license_status == 'VALID' and sigma_gpu_models | length > 0"
compose:
  gpu_busy: sigma_gpus | map(attribute='load') | select('gt', 80) | list | length > 0
'''

import base64
import difflib
import json
import os
import re
import select
import signal
import sys
import threading
import time

from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

from ansible import constants as C
from ansible.errors import AnsibleError, AnsibleParserError
from ansible.module_utils.parsing.convert_bool import boolean
from ansible.plugins.inventory import BaseInventoryPlugin, Cacheable, Constructable

try:
    from ansible.template import trust_as_template  # ansible-core >= 2.19 (data tagging)
    wrap_var = None
except ImportError:  # ansible-core < 2.19: a plain string is templated, an AnsibleUnsafe one never
    from ansible.utils.unsafe_proxy import wrap_var
    trust_as_template = None

from ansible_collections.sigma.media_server.plugins.module_utils._client import (
    DEFAULT_PORT, HAS_REQUESTS, SigmaError, SigmaTransport, header_dict, normalize_url, redact_url, url_password,
)
from ansible_collections.sigma.media_server.plugins.module_utils._dump import MASK, mask_dump, normalize_dump, slug

# The cache holds, per server URL, {'dump': the masked dump as JSON text} or {'error': message,
# 'seen': {'name', 'hostname'} the server reported when it last answered} (format 2 had no 'seen').
# JSON text rather than the document: ansible-core 2.19 encodes and decodes cached data node by
# node in Python, which for a fleet's dumps costs more than the whole rest of a warm run.
CACHE_FORMAT = 3
HOSTNAME_SOURCES = ('name', 'hostname', 'url')
SERVER_KEYS = frozenset(('url', 'name', 'vars'))
GROUP_UNREACHABLE = 'sigma_unreachable'
MIN_ATTEMPT = 0.05  # seconds; below this a request is not worth sending
HELPER_MIN_SERVERS = 50  # from this many servers to ask, a helper process fetches (see _fetch)
HELPER_GRACE = 2.0  # seconds the helper may take beyond the time limit to report what it has


def _reap(pid, kill=False):
    """Wait for the helper process to end (killed now, or if it has not ended within a second); its end in words."""
    for _attempt in range(0 if kill else 20):
        ended, status = os.waitpid(pid, os.WNOHANG)
        if ended:
            break
        time.sleep(0.05)
    else:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass  # it ended meanwhile
        _ended, status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(status):
        return 'killed by signal %d' % os.WTERMSIG(status)
    return 'exit status %d' % os.WEXITSTATUS(status)


def _leave_parent_io(parent):
    """In a helper process just forked: nothing of Ansible's output, and no life beyond Ansible's process.

    The helper's standard streams go to /dev/null: a copy of Ansible's stdout or stderr held open would make
    whatever reads them (AWX, a pipeline) wait for the helper too after Ansible's process has ended (killed,
    a cancelled inventory update). And it is killed when Ansible's process ends (Linux PR_SET_PDEATHSIG), so
    no request is sent for an inventory that nobody will read.
    """
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    os.close(null)
    try:
        import ctypes  # pylint: disable=import-outside-toplevel
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # 1: PR_SET_PDEATHSIG
    except (ImportError, OSError, AttributeError):
        pass  # without it the helper still ends at the time limit
    if os.getppid() != parent:  # Ansible's process ended before the signal was asked for
        os._exit(0)


def version_group(version):
    """'3.0.12' -> 'sigma_version_3_0' (major and minor); 'sigma_version_unknown' when absent."""
    if isinstance(version, (int, float)) and not isinstance(version, bool):
        version = str(version)
    if isinstance(version, str):
        match = re.match(r'\D*(\d+)(?:\.(\d+))?', version)
        if match:
            return 'sigma_version_' + '_'.join(part for part in match.groups() if part is not None)
        if version.strip():
            return 'sigma_version_' + slug(version)
    return 'sigma_version_unknown'


def could_be_template(text):
    """Whether ansible-core could render `text` as a Jinja template.

    Every start string of Ansible's Jinja (C({{), C({%), C({#)) holds C({), and a text that starts with a
    C(#jinja2:) header chooses its own delimiters (C([[ ... ]])): ansible-core 2.17 to 2.21 render
    both. A text with neither is returned as it is by every templating path.
    """
    return '{' in text or '#jinja2:' in text


class Inert(object):
    """Makes values from a server (or derived from them) safe to keep as host variables, and plain to export.

    ansible-inventory --list (--export) writes every string ansible-core does not trust as
    C({"__ansible_unsafe": ...}), which AWX stores as a dictionary. So a string that could be a template
    is kept untrusted (never rendered, exported marked) and every other string is kept plain:
    - ansible-core >= 2.19 never renders a variable string unless it is tagged trusted; the inventory
      output writes the untagged ones marked. A string that cannot be a template is tagged trusted (rendering
      it gives it back as it is), so it is exported plain; one that could be a template is left untagged.
    - before 2.19 a plain string is rendered and an AnsibleUnsafe one is not (and is exported marked):
      only a string that could be a template is wrapped.
    Dictionary keys are never rendered by any of them and stay plain strings.
    """

    def __init__(self):
        self._trusted = {}  # text -> its trusted copy: fleets repeat the same models, codecs, versions

    def __call__(self, value):
        if isinstance(value, str):
            if could_be_template(value):
                return str.__str__(value) if wrap_var is None else wrap_var(str.__str__(value))
            if trust_as_template is None:
                return str.__str__(value)  # a plain str, whatever subclass came in
            trusted = self._trusted.get(value)
            if trusted is None:
                trusted = self._trusted[value] = trust_as_template(str.__str__(value))
            return trusted
        if isinstance(value, list):
            return [self(item) for item in value]
        if isinstance(value, dict):
            return dict((str.__str__(k) if isinstance(k, str) else k, self(v)) for k, v in value.items())
        return value  # int, float, bool, None: what JSON holds besides


def url_name(url):
    """A host name from a (normalized) URL: HOST with the default port, else HOST_PORT; a path is appended."""
    parts = urlsplit(url)
    name = parts.hostname or url
    if parts.port not in (None, DEFAULT_PORT):
        name = '%s_%d' % (name, parts.port)
    if parts.path.strip('/'):
        name = '%s_%s' % (name, slug(parts.path))
    return name


def server_facts(dump):
    """The host variables derived from one (masked) dump, before unsafe wrapping."""
    facts = normalize_dump(dump)
    server = facts['server']
    models = []
    gpus = []
    encoders = set()
    for card in facts['gpus']:
        model = card['model']
        if isinstance(model, str) and model and model not in models:
            models.append(model)
        encoders.update(card['encoders'])
        gpus.append({
            'index': card['index'],
            'model': model,
            'memory_mb': card['memory_total_mb'],
            'memory_used_mb': card['memory_used_mb'],
            'load': card['utilization'],
        })
    # a model the server supports but whose card is not listed (a partial answer) still counts
    for model, caps in facts['models'].items():
        if model not in models:
            models.append(model)
            encoders.update(caps['encoders'])
    return {
        'name': server['name'],
        'hostname': server['hostname'],
        'version': server['version'],
        'license_status': facts['license']['status'],
        'gpu_models': models,
        'gpus': gpus,
        'encoders': sorted(encoders),
        'job_count': facts['load']['jobs_total'],
    }


class _Server(object):
    """One configured server: where it is, what it is called, what the user set."""

    __slots__ = ('url', 'display_url', 'name', 'vars', 'password')

    def __init__(self, url, name, host_vars):
        self.url = url
        self.display_url = redact_url(url)
        self.name = name
        self.vars = host_vars
        self.password = url_password(url)

    def scrub(self, text, secrets=()):
        """`text` without the password of the server's URL nor any of `secrets` (a proxy may echo a token)."""
        if self.password:
            text = text.replace(self.url, self.display_url).replace(self.password, MASK)
        for secret in secrets:
            text = text.replace(secret, MASK)
        return text


def identity(dump=None, facts=None):
    """{'name': ..., 'hostname': ...}: what a (masked) dump, or the facts made of it, says the server is called."""
    if facts is None:
        facts = server_facts(dump)
    return dict((key, facts[key] if isinstance(facts[key], str) else None) for key in ('name', 'hostname'))


class _Names(object):
    """The inventory name of every configured server (the rule is in DOCUMENTATION, "Host names").

    Servers are named one after another in the order of `servers`, each from what the configuration
    says and from what it and the servers listed BEFORE it report (now, or last time in the cache):
    never from the order of the answers, and never from what a server listed after it reports.
    1. A configured C(name) is the name. Such a server claims no other name.
    2. Each server's URL name (C(HOST), C(HOST_PORT), C(HOST_PORT_PATH)) is reserved for it, in the order of
       `servers` after the configured names: C(_2), C(_3)... tell equal ones apart.
    3. The first of O(hostnames) that gives a name wins. A name from the dump is given only when it is
       no other server's configured or URL name and no server listed before reports it (in any of the
       dump sources of O(hostnames)): the first server that reports a name gets it. A server that does
       not answer and is not in the cache could report any name: the servers listed after it cannot be
       given a name from their dump, and are not used (see `blocked`).
    """

    def __init__(self, servers, hostnames):
        self.servers = servers
        self.sources = [h for h in hostnames if h != 'url']
        self.sources = self.sources[:hostnames.index('url')] if 'url' in hostnames else self.sources
        self.owner = {}  # reserved name -> index of the server it belongs to
        for index, server in enumerate(servers):
            if server.name is not None:
                self.owner[server.name] = index
        self.url_names = {}
        for index, server in enumerate(servers):
            # a configured server's URL name is reserved too: a name that reads as an address never leads elsewhere
            candidate = base = url_name(server.url)
            n = 1
            while candidate in self.owner:
                n += 1
                candidate = '%s_%d' % (base, n)
            self.owner[candidate] = index
            self.url_names[index] = candidate
        self.claimed = {}  # a name reported by a server (any dump source) -> the first server reporting it
        self.unknown = None  # the first server without a configured name that nothing is known of

    def name(self, index, ident):
        """(host name, why a name from the dump was refused or None, blocking server index or None)."""
        server = self.servers[index]
        if server.name is not None:
            return server.name, None, None
        own = self.url_names[index]
        values = []
        for source in self.sources:
            value = (ident or {}).get(source)
            if isinstance(value, str) and value.strip():
                values.append(value.strip())
        if ident is None:
            if self.unknown is None:
                self.unknown = index
            return own, None, None
        chosen, refused = own, None
        for value in values:
            if self.owner.get(value, index) != index:
                refused = refused or (value, 'the name of servers[%d]' % self.owner[value])
            elif self.claimed.get(value, index) != index:
                refused = refused or (value, 'reported by servers[%d] (%s), listed before it'
                                      % (self.claimed[value], self.servers[self.claimed[value]].display_url))
            else:
                chosen = value
                break
        for value in values:
            self.claimed.setdefault(value, index)
        if chosen != own and self.unknown is not None:
            # what the unknown server reports could be this very name: not given, and the server not used
            return own, (chosen, None), self.unknown
        return chosen, refused, None


class _Helper(object):
    """A forked helper process fetching some servers' dumps, and the parent's end of its pipe."""

    def __init__(self, pid, read_fd):
        self.pid = pid
        self.fd = read_fd
        self.buffered = bytearray()
        self.start_at = 0
        self.why = None  # once set, nothing more is read from this helper

    @classmethod
    def start(cls, plugin, servers, timeout, retries, workers, headers):
        read_fd, write_fd = os.pipe()
        parent = os.getpid()
        try:
            pid = os.fork()
        except OSError:
            os.close(read_fd)
            os.close(write_fd)
            raise
        if pid == 0:  # the helper: never returns
            code = 0
            try:
                os.close(read_fd)
                _leave_parent_io(parent)
                with os.fdopen(write_fd, 'wb') as out:
                    try:
                        for index, entry in enumerate(plugin._fetch_in_threads(servers, timeout, retries, workers,
                                                                               headers)):
                            if 'dump' in entry:
                                line = '%d\td\t%s\n' % (index, json.dumps(entry['dump'], separators=(',', ':')))
                            else:
                                line = '%d\te\t%s\n' % (index, json.dumps(entry['error']))
                            out.write(line.encode('utf-8'))
                            out.flush()  # Ansible builds this host while the next answers come
                    except Exception as err:  # pylint: disable=broad-except
                        out.write(('-1\te\t%s\n' % json.dumps('%s: %s' % (type(err).__name__, err))).encode('utf-8'))
                        code = 1
            except BaseException:  # pylint: disable=broad-except
                code = 2
            finally:
                os._exit(code)  # no atexit handler, no flush of Ansible's buffers: they are the parent's
        os.close(write_fd)
        return cls(pid, read_fd)

    def next(self, expected, limit, budget):
        """The entry of this helper's server number `expected`, or None (and `why`) if it will not come."""
        while self.why is None:
            end = self.buffered.find(b'\n', self.start_at)
            if end >= 0:
                index, kind, payload = bytes(self.buffered[self.start_at:end]).decode('utf-8').split('\t', 2)
                self.start_at = end + 1
                if self.start_at > 1 << 16:
                    del self.buffered[:self.start_at]
                    self.start_at = 0
                if int(index) != expected:
                    self.why = 'the helper process reported: %s' % (
                        json.loads(payload) if index == '-1' else 'an answer out of order')
                    break
                if kind == 'd':
                    return {'dump': json.loads(payload), 'text': payload}
                return {'error': json.loads(payload)}
            remaining = limit - time.monotonic()
            if remaining <= 0 or not select.select([self.fd], [], [], remaining)[0]:
                self.why = 'no answer within the time limit of %g s (timeout x (retries + 1))' % budget
                break
            chunk = os.read(self.fd, 1 << 16)
            if not chunk:
                status = _reap(self.pid)
                self.pid = None
                self.why = 'the helper process fetching the dumps ended early (%s)' % status
                break
            self.buffered += chunk
        return None

    def stop(self, kill):
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None
        if self.pid is not None:
            _reap(self.pid, kill=kill)
            self.pid = None


class _InProcess(object):
    """A part of the servers the helper processes could not take: the fetch in threads of this process."""

    def __init__(self, entries):
        self.entries = entries  # a generator: its threads start at the first answer asked for
        self.why = None

    def next(self, expected, limit, budget):  # pylint: disable=unused-argument
        entry = next(self.entries, None)
        if entry is None:
            self.why = 'the fetch in threads of this process ended early'
        return entry

    def stop(self, kill):  # pylint: disable=unused-argument
        self.entries.close()


class InventoryModule(BaseInventoryPlugin, Constructable, Cacheable):

    NAME = 'sigma.media_server.sigma'

    def verify_file(self, path):
        if super(InventoryModule, self).verify_file(path):
            return path.endswith(('sigma.yml', 'sigma.yaml'))
        return False

    # configuration

    def _servers(self):
        entries = self.get_option('servers')
        if not isinstance(entries, list) or not entries:
            raise AnsibleParserError('servers: a non-empty list of server URLs or {url, name, vars} entries is required')
        servers = []
        seen_urls = {}
        seen_names = {}
        for index, entry in enumerate(entries):
            where = 'servers[%d]' % index
            name = None
            host_vars = {}
            if isinstance(entry, str):
                raw_url = entry
            elif isinstance(entry, dict):
                unknown = sorted(str(k) for k in entry if k not in SERVER_KEYS)
                if unknown:
                    raise AnsibleParserError('%s: unknown key(s) %s; a server entry takes url, name and vars'
                                             % (where, ', '.join(unknown)))
                raw_url = entry.get('url')
                if raw_url is None:
                    raise AnsibleParserError('%s.url is required' % where)
                name = entry.get('name')
                if name is not None and (not isinstance(name, str) or not name.strip()):
                    raise AnsibleParserError('%s.name must be a non-empty string, got %r' % (where, name))
                host_vars = entry.get('vars') or {}
                if not isinstance(host_vars, dict):
                    raise AnsibleParserError('%s.vars must be a dictionary, got %s' % (where, type(host_vars).__name__))
            else:
                raise AnsibleParserError('%s must be a URL or a dictionary with url, name and vars, got %s'
                                         % (where, type(entry).__name__))
            try:
                url = normalize_url(raw_url)
            except ValueError as exc:
                raise AnsibleParserError('%s.url: %s' % (where, exc)) if isinstance(entry, dict) \
                    else AnsibleParserError('%s: %s' % (where, exc))
            server = _Server(url, name.strip() if name else None, host_vars)
            if server.display_url in seen_urls:
                raise AnsibleParserError('%s: the URL %s is already listed as servers[%d]'
                                         % (where, server.display_url, seen_urls[server.display_url]))
            seen_urls[server.display_url] = index
            if server.name is not None:
                if server.name in seen_names:
                    raise AnsibleParserError('%s.name: %r is already the name of servers[%d]'
                                             % (where, server.name, seen_names[server.name]))
                seen_names[server.name] = index
            servers.append(server)
        return servers

    def _option_definitions(self):
        """{option or alias: (option name, definition)} of every option this plugin documents.

        The definitions come from the documentation, fragments included (plugin, the connection,
        constructed and inventory_cache options), as Ansible registered them when it loaded the plugin.
        """
        definitions = getattr(self, 'option_definitions', None)
        if not definitions:
            definitions = C.config.get_configuration_definitions('inventory', self._load_name)
        known = {}
        for name, definition in (definitions or {}).items():
            definition = definition if isinstance(definition, Mapping) else {}
            known[name] = (name, definition)
            for alias in definition.get('aliases') or ():
                known.setdefault(alias, (name, definition))
        return known

    def _check_raw_config(self, path):
        """Refuse what Ansible's option handling lets through silently, before anything else.

        An unknown key (a misspelled option) would be ignored and a text such as C(perhaps) where a
        boolean belongs would read as false. The file is read as it is; reading or identifying it
        is left to _read_config_data, which reports those problems itself.
        """
        try:
            config = self.loader.load_from_file(path, cache='none')
        except Exception:  # pylint: disable=broad-except
            return
        valid_names = getattr(self, '_redirected_names', None) or [self.NAME]
        if not isinstance(config, Mapping) or config.get('plugin') not in valid_names:
            return
        known = self._option_definitions()
        if not known:
            # not loaded by Ansible's plugin loader: the definitions are unknown, nothing can be checked
            return
        unknown = sorted(set(str(key) for key in config if not isinstance(key, str) or key not in known))
        if unknown:
            names = sorted(set(name for name, _definition in known.values()))
            described = []
            for key in unknown:
                close = difflib.get_close_matches(key, names, n=1)
                described.append('%s (did you mean %s?)' % (key, close[0]) if close else key)
            raise AnsibleParserError('unknown option(s) %s (ansible-doc -t inventory %s lists the options)'
                                     % (', '.join(described), self.NAME))
        in_file = set()
        for key, value in config.items():
            name, definition = known[key]
            in_file.add(name)
            if definition.get('type') in ('bool', 'boolean') and value is not None:
                try:
                    boolean(value, strict=True)
                except TypeError:
                    shown = str(value) if isinstance(value, str) else value  # without a tagged type's repr
                    raise AnsibleParserError('%s must be a boolean (true or false), got %r%s'
                                             % (key, shown, '' if key == name else ' (alias of %s)' % name))
        # the same for a boolean option the file leaves to an environment variable (AWX sets them so)
        checked = set(in_file)
        for name, definition in known.values():
            if name in checked or definition.get('type') not in ('bool', 'boolean'):
                continue
            checked.add(name)
            for entry in definition.get('env') or ():
                variable = entry.get('name') if isinstance(entry, Mapping) else None
                value = os.environ.get(variable) if variable else None
                if value is None:
                    continue
                try:
                    boolean(value, strict=True)
                except TypeError:
                    raise AnsibleParserError('%s must be a boolean (true or false), got %r from the environment variable '
                                             '%s' % (name, value, variable))

    def _checked_options(self):
        timeout = self.get_option('timeout')
        retries = self.get_option('retries')
        max_workers = self.get_option('max_workers')
        if timeout is None or timeout <= 0:
            raise AnsibleParserError('timeout must be greater than 0, got %s' % timeout)
        if retries is None or retries < 0:
            raise AnsibleParserError('retries must be 0 or more, got %s' % retries)
        if max_workers is None or max_workers < 1:
            raise AnsibleParserError('max_workers must be 1 or more, got %s' % max_workers)
        hostnames = self.get_option('hostnames') or list(HOSTNAME_SOURCES)
        bad = [h for h in hostnames if h not in HOSTNAME_SOURCES]
        if bad:
            raise AnsibleParserError('hostnames: unknown source(s) %s; choose from %s'
                                     % (', '.join(map(str, bad)), ', '.join(HOSTNAME_SOURCES)))
        return float(timeout), int(retries), int(max_workers), hostnames

    def _headers(self):
        try:
            return header_dict(self.get_option('headers'))
        except ValueError as exc:
            raise AnsibleParserError(str(exc))

    # fetching

    def _transport(self, timeout, retries, max_workers, headers, one_request=True):
        """The transport of the fetch (`one_request`: each server is asked once; the EDA source, which polls them
        again and again, keeps its connections instead)."""
        username = self.get_option('username')
        password = self.get_option('password')
        # what a proxy's error page may echo: never kept in sigma_error, the cache or a warning
        secrets = [password] + list(headers.values())
        secrets += [word for value in headers.values() for word in value.split() if len(word) >= 6]  # Bearer TOKEN
        if username is not None:
            secrets.append(base64.b64encode(('%s:%s' % (username, password or '')).encode('utf-8')).decode('ascii'))
        self._secrets = sorted(set(v for v in secrets if v and len(v) >= 3), key=len, reverse=True)
        return SigmaTransport(validate_certs=self.get_option('validate_certs'), ca_path=self.get_option('ca_path'),
                              timeout=timeout, retries=retries, username=username,
                              password=password, headers=headers, pool_size=max_workers, per_server=1,
                              use_proxy=self.get_option('use_proxy'), one_request=one_request)

    def _fetch(self, servers, timeout, retries, max_workers, headers):
        """Yield {'dump': masked dump[, 'text': it as JSON]} or {'error': message} for each of `servers`, in order.

        Never raises for a server: every failure becomes an entry. The whole fetch ends within
        timeout x (retries + 1) seconds (plus a grace for the helper process to report).
        """
        if not HAS_REQUESTS:
            raise AnsibleError('the sigma.media_server.sigma inventory plugin requires the Python library requests')
        if not boolean(self.get_option('validate_certs'), strict=False) \
                and any(s.url.startswith('https://') for s in servers):
            self.display.warning('validate_certs is false: the TLS certificates of the Sigma servers are not verified')
        if self._helper_process_possible(len(servers)):
            yield from self._fetch_in_helper(servers, timeout, retries, max_workers, headers)
        else:
            yield from self._fetch_in_threads(servers, timeout, retries, max_workers, headers)

    # Whether a helper process may fetch: a class attribute so that tests can choose.
    HELPER_PROCESS = True

    def _helper_process_possible(self, count):
        # fork only a process that runs no other thread (a lock another thread holds would stay held in the
        # copy), and only on Linux (elsewhere system libraries may not survive a fork without exec)
        return (self.HELPER_PROCESS and count >= HELPER_MIN_SERVERS and sys.platform.startswith('linux')
                and hasattr(os, 'fork') and threading.active_count() == 1)

    def _fetch_in_threads(self, servers, timeout, retries, max_workers, headers):
        """The fetch itself: at most `max_workers` threads, answers yielded in the order of `servers`.

        The dumps are fetched while the caller works on the answers already there. Every request
        ends by start + timeout x (retries + 1): a worker that starts late gets a shorter timeout,
        and one that would start after that is not sent.
        """
        workers = max(1, min(max_workers, len(servers)))
        transport = self._transport(timeout, retries, workers, headers)
        secrets = self._secrets
        budget = timeout * (retries + 1)
        deadline = time.monotonic() + budget

        def fetch_one(server):
            remaining = deadline - time.monotonic()
            if remaining < MIN_ATTEMPT * (retries + 1):
                return {'error': 'Sigma server %s, function dump: not queried: the inventory reached its time limit of '
                                 '%g s (timeout x (retries + 1)) while all %d workers were busy with slower servers'
                                 % (server.display_url, budget, workers)}
            try:
                answer = transport.client(server.url).call('dump', timeout=min(timeout, remaining / (retries + 1)))
                return {'dump': mask_dump(answer)}
            except SigmaError as err:
                return {'error': server.scrub(str(err), secrets)}
            except Exception as err:  # pylint: disable=broad-except
                # a worker must never lose a server: the unexpected becomes its error
                return {'error': server.scrub('Sigma server %s, function dump: unexpected error: %s: %s'
                                              % (server.display_url, type(err).__name__, err), secrets)}

        pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix='sigma-inventory') if workers > 1 else None
        try:
            if pool is None:
                for server in servers:
                    yield fetch_one(server)
            else:
                yield from pool.map(fetch_one, servers)
        finally:
            if pool is not None:
                # on an early exit (strict failed), drop what has not started yet
                pool.shutdown(wait=True, cancel_futures=True)
            transport.close()

    # How many servers a helper process is worth (a second one from 500 servers, ...), and the most helpers.
    HELPER_SERVERS = 250
    HELPER_MAX = 4

    def _helper_count(self, count):
        """One helper per HELPER_SERVERS servers, at most HELPER_MAX and one per CPU beyond the first.

        The first CPU is Ansible's own process, which builds the hosts meanwhile: on two CPUs one helper
        fetches faster than two that take turns with it (measured with bench/bench_inventory.py).
        """
        try:
            cpus = len(os.sched_getaffinity(0))
        except (AttributeError, OSError):
            cpus = os.cpu_count() or 1
        return max(1, min(self.HELPER_MAX, cpus - 1, count // self.HELPER_SERVERS))

    def _fetch_in_helper(self, servers, timeout, retries, max_workers, headers):
        """_fetch_in_threads in forked helper processes, each answer sent back on a pipe as soon as it is there.

        Helper h of H fetches servers[h::H] with max_workers / H threads. One line per server, in its order:
        "INDEX<TAB>d<TAB>dump as JSON" or "INDEX<TAB>e<TAB>error as a JSON string" (the licence key is masked
        and the secrets scrubbed before a line is written). The JSON text of a dump goes to the cache as it
        is. The helpers are killed when the time limit (and a grace for them to report) has passed; a server
        a helper did not report gets an error that says why.
        """
        budget = timeout * (retries + 1)
        count = self._helper_count(len(servers))
        workers = max(1, max_workers // count)
        helpers = []
        for part in range(count):
            try:
                helpers.append(_Helper.start(self, servers[part::count], timeout, retries, workers, headers))
            except OSError:
                # no process for this part (out of memory, the process limit): fetched in threads here, after
                # every fork (a part already under way in a helper is not asked again)
                helpers.append(_InProcess(self._fetch_in_threads(servers[part::count], timeout, retries, workers,
                                                                 headers)))
        limit = time.monotonic() + budget + HELPER_GRACE
        stopped = True
        try:
            for index, server in enumerate(servers):
                helper = helpers[index % count]
                entry = helper.next(index // count, limit, budget)
                if entry is None:
                    why = helper.why
                    # asked or not, its answer never came back: the cause is the helper's
                    entry = {'error': 'Sigma server %s, function dump: no result: %s' % (server.display_url, why)}
                yield entry
            stopped = False
        finally:
            for helper in helpers:
                # past the time limit, or the caller stopped early (strict): a helper is not waited for
                helper.stop(kill=stopped or helper.why is not None)

    # cache

    def _cached(self, cache_key):
        """The cached {display_url: entry} or None; a failure keeps the server's last known identity ('seen')."""
        try:
            data = self._cache[cache_key]
        except KeyError:
            return None
        if not isinstance(data, dict) or data.get('format') not in (2, CACHE_FORMAT) \
                or not isinstance(data.get('servers'), dict):
            return None
        servers = {}
        for url, entry in data['servers'].items():
            if not isinstance(entry, dict):
                continue
            if isinstance(entry.get('error'), str):
                servers[url] = {'error': entry['error']}
                seen = entry.get('seen')
                if isinstance(seen, dict):
                    servers[url]['seen'] = dict((k, seen.get(k) if isinstance(seen.get(k), str) else None)
                                                for k in ('name', 'hostname'))
            elif isinstance(entry.get('dump'), str):
                try:
                    dump = json.loads(entry['dump'])
                except ValueError:
                    continue  # damaged: fetched again
                if isinstance(dump, dict):
                    servers[url] = {'dump': dump}
        return servers

    @staticmethod
    def _cache_entry(entry):
        if 'dump' in entry:
            return {'dump': entry.get('text') or json.dumps(entry['dump'], separators=(',', ':'))}
        if entry.get('seen'):
            return {'error': entry['error'], 'seen': entry['seen']}
        return {'error': entry['error']}

    @staticmethod
    def _seen(entry):
        """What `entry` (a result or a cache entry) knows of the server's identity, or None."""
        if not isinstance(entry, dict):
            return None
        if isinstance(entry.get('dump'), dict):
            return identity(entry['dump'])
        return entry.get('seen')

    # building

    def _compose_vars(self, compose, hostvars, host, strict):
        """Constructable's compose, with each result made inert like the plugin's own values.

        A composed value is usually built from server data: ansible-core >= 2.19 marks it untrusted (so the
        inventory output would write every composed string as __ansible_unsafe), and before 2.19 a string
        taken out of an unsafe value can come out plain, so templatable. Both get what Inert gives.
        """
        for varname, expression in (compose or {}).items():
            try:
                composite = self._compose(expression, hostvars)
            except Exception as err:  # pylint: disable=broad-except
                if strict:
                    raise AnsibleError('Could not set %s for host %s: %s' % (varname, host, err))
                continue
            self.inventory.set_variable(host, varname, self._inert(composite))

    def _populate(self, servers, entries, hostnames):
        """Add a host per server; `entries` yields each server's result in the order of `servers`.

        Returns [(host, error)] of the servers that cannot be used (group sigma_unreachable).
        """
        inventory = self.inventory
        include_dump = self.get_option('include_dump')
        strict = self.get_option('strict')
        compose = self.get_option('compose')
        groups = self.get_option('groups')
        keyed_groups = self.get_option('keyed_groups')
        constructed = bool(compose or groups or keyed_groups)
        inert = self._inert
        naming = _Names(servers, hostnames)
        known_groups = set()
        unreachable = []

        def join(group, host):
            if group not in known_groups:
                inventory.add_group(group)
                known_groups.add(group)
            inventory.add_child(group, host)

        for index, (server, entry) in enumerate(zip(servers, entries)):
            dump = entry.get('dump')
            answered = isinstance(dump, dict)
            facts = server_facts(dump) if answered else None
            ident = identity(facts=facts) if answered else entry.get('seen')
            host, refused, blocker = naming.name(index, ident)
            error = None if answered else str(entry.get('error') or 'unknown error')
            if refused and blocker is None:
                self.display.warning('Sigma server %s reports the name %s, which is %s; it is named %s (give it a name '
                                     'in servers to choose)' % (server.display_url, refused[0], refused[1], host))
            if blocker is not None:
                error = ('Sigma server %s reports the name %s, but servers[%d] (%s), listed before it, did not answer and '
                         'is not in the cache: it could report that name too, so this server is not used under a name '
                         'that may be another\'s; give each server a name in servers (or keep the inventory cache) to '
                         'keep names stable' % (server.display_url, refused[0], blocker, servers[blocker].display_url))
            inventory.add_host(host)
            hostvars = {
                'ansible_host': inert(urlsplit(server.url).hostname),
                'sigma_api_url': inert(server.display_url),
            }
            if answered:
                hostvars.update({
                    'sigma_version': inert(facts['version']),
                    'sigma_license_status': inert(facts['license_status']),
                    'sigma_gpu_models': inert(facts['gpu_models']),
                    'sigma_gpus': inert(facts['gpus']),
                    'sigma_encoders': inert(facts['encoders']),
                    'sigma_job_count': inert(facts['job_count']),
                })
                if include_dump:
                    hostvars['sigma_dump'] = inert(dump)
            if error is not None:
                hostvars['sigma_error'] = inert(error)
                unreachable.append((host, error))
            hostvars.update(server.vars)
            for key, value in hostvars.items():
                inventory.set_variable(host, key, value)

            if answered:
                for model in facts['gpu_models']:
                    join('sigma_gpu_' + slug(model), host)
                if any(not isinstance(g['model'], str) or not g['model'] for g in facts['gpus']):
                    join('sigma_gpu_unknown', host)  # a card whose model the server does not name
                elif not facts['gpu_models']:
                    join('sigma_gpu_none', host)
                join('sigma_license_' + slug(facts['license_status']), host)
                join(version_group(facts['version']), host)
            if error is not None:
                join(GROUP_UNREACHABLE, host)

            if constructed:
                host_strict = strict and error is None
                self._compose_vars(compose, hostvars, host, host_strict)
                self._add_host_to_composed_groups(groups, hostvars, host, strict=host_strict)
                self._add_host_to_keyed_groups(keyed_groups, hostvars, host, strict=host_strict)
        return unreachable

    def parse(self, inventory, loader, path, cache=True):
        super(InventoryModule, self).parse(inventory, loader, path, cache)
        self._inert = Inert()
        self._check_raw_config(path)
        self._read_config_data(path)
        timeout, retries, max_workers, hostnames = self._checked_options()
        headers = self._headers()
        servers = self._servers()

        use_cache = self.get_option('cache')
        fail_on_unreachable = self.get_option('fail_on_unreachable')
        cache_key = self.get_cache_key(path)
        # read even with --flush-cache (cache=False): a server that is down keeps the name it had
        stored = (self._cached(cache_key) if use_cache else None) or {}
        reusable = stored if cache else {}
        # a cached failure is reused like an answer, unless failures fail the run: then it is asked again
        missing = [s for s in servers if not isinstance(reusable.get(s.display_url), dict)
                   or (fail_on_unreachable and 'dump' not in reusable[s.display_url])]
        results = {}

        fetched = self._fetch(missing, timeout, retries, max_workers, headers) if missing else None
        refetch = set(s.display_url for s in missing)

        def entries():
            for server in servers:
                url = server.display_url
                entry = next(fetched, None) if url in refetch else reusable[url]
                if not isinstance(entry, dict):
                    entry = {'error': 'Sigma server %s, function dump: no result' % url}
                if 'dump' not in entry and 'seen' not in entry:
                    seen = self._seen(stored.get(url))
                    if seen:
                        entry = dict(entry, seen=seen)
                results[url] = entry
                yield entry

        try:
            unreachable = self._populate(servers, entries(), hostnames)
        finally:
            if fetched is not None:
                fetched.close()  # ends the pool and the transport
        if missing and use_cache:
            kept = {}
            for url, entry in results.items():
                if fail_on_unreachable and 'dump' not in entry:
                    # asked again next time; what was known of it stays
                    if url in stored:
                        kept[url] = self._cache_entry(stored[url])
                else:
                    kept[url] = self._cache_entry(entry)
            self._cache[cache_key] = {'format': CACHE_FORMAT, 'servers': kept}
        if unreachable:
            if fail_on_unreachable:
                raise AnsibleError('%d Sigma server(s) could not be used (fail_on_unreachable is true):\n%s'
                                   % (len(unreachable), '\n'.join('- %s: %s' % u for u in unreachable)))
            for host, error in unreachable:
                self.display.warning('Sigma inventory: host %s is in group %s: %s' % (host, GROUP_UNREACHABLE, error))
