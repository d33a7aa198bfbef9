# -*- coding: utf-8 -*-
# Copyright: Contributors to the sigma.media_server collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment(object):

    # The connection options every module takes (plugins/module_utils/_module.py).
    DOCUMENTATION = r'''
options:
  api_url:
    description:
      - URL of the Sigma Media Server API, C(http://HOST:9999) or C(https://HOST:PORT) behind a TLS proxy.
      - When the URL has no port, C(9999) is used.
      - If not set, the host variable C(sigma_api_url) of the task's host is used,
        else the E(SIGMA_API_URL) environment variable.
      - A password in the URL's user info is treated as a secret and hidden from output.
    type: str
    default: http://localhost:9999
  validate_certs:
    description:
      - Whether to verify the server's TLS certificate for C(https://) URLs.
      - If not set, the host variable C(sigma_validate_certs) of the task's host is used,
        else the E(SIGMA_VALIDATE_CERTS) environment variable.
    type: bool
    default: true
  ca_path:
    description:
      - A PEM file of CA certificates used to verify the server certificate instead of the system store.
      - If not set, the host variable C(sigma_ca_path) of the task's host is used,
        else the E(SIGMA_CA_PATH) environment variable.
    type: path
  timeout:
    description:
      - Seconds to wait for the connection and for each answer, greater than 0.
      - A call that keeps failing gives up after O(timeout) x (O(retries) + 1) seconds plus short pauses.
      - If not set, the host variable C(sigma_timeout) of the task's host is used,
        else the E(SIGMA_TIMEOUT) environment variable.
    type: float
    default: 10
  retries:
    description:
      - How many times a call that is safe to repeat (C(dump), C(progress), C(info), C(stop)) is sent again
        after a connection failure, a timeout or an HTTP 5xx answer, with a growing pause; 0 or more.
      - Calls that change a job (C(start), C(update)) are sent again only when the request never reached the server.
      - If not set, the host variable C(sigma_retries) of the task's host is used,
        else the E(SIGMA_RETRIES) environment variable.
    type: int
    default: 2
  username:
    description:
      - User name for HTTP basic authentication, for a reverse proxy in front of the server.
      - If not set, the host variable C(sigma_username) of the task's host is used,
        else the E(SIGMA_USERNAME) environment variable.
    type: str
  password:
    description:
      - Password for HTTP basic authentication.
      - If not set, the host variable C(sigma_password) of the task's host is used,
        else the E(SIGMA_PASSWORD) environment variable.
    type: str
  headers:
    description:
      - Extra HTTP headers sent with every request, for example a token a reverse proxy expects.
      - "A dictionary of header names and values; as a string (from the environment variable), a JSON object
        (V({\"X-Token\": \"...\"})) or V(NAME=VALUE) pairs separated by commas. An empty string sets no header."
      - The values are treated as secrets.
      - If not set, the host variable C(sigma_headers) of the task's host is used,
        else the E(SIGMA_HEADERS) environment variable.
    type: raw
  use_proxy:
    description:
      - Whether to connect through the proxy named by the E(HTTP_PROXY), E(HTTPS_PROXY) or E(ALL_PROXY) environment
        variables (upper or lower case) of the host the module runs on, except for the hosts listed in E(NO_PROXY),
        as M(ansible.builtin.uri) does.
      - If V(false), the module connects directly to the server, even if a proxy is set in the environment.
      - Nothing else is read from the environment (no C(.netrc) credentials, no E(REQUESTS_CA_BUNDLE)).
      - If not set, the host variable C(sigma_use_proxy) of the task's host is used,
        else the E(SIGMA_USE_PROXY) environment variable.
    type: bool
    default: true
requirements:
  - requests
'''

    # The same options for the inventory plugin, with its configuration sources.
    PLUGINS = r'''
options:
  validate_certs:
    description: Whether to verify the servers' TLS certificates for C(https://) URLs.
    type: bool
    default: true
    env:
      - name: SIGMA_VALIDATE_CERTS
  ca_path:
    description:
      - A PEM file of CA certificates used to verify server certificates instead of the system store.
      - An empty value (as AWX injects for a blank credential field) means the system store.
    type: str
    env:
      - name: SIGMA_CA_PATH
  timeout:
    description: Seconds to wait for the connection and for each answer.
    type: float
    default: 10
    env:
      - name: SIGMA_TIMEOUT
  retries:
    description:
      - How many times a C(dump) that failed to connect, timed out or got an HTTP 5xx answer is sent again.
    type: int
    default: 1
    env:
      - name: SIGMA_RETRIES
  username:
    description: User name for HTTP basic authentication, for a reverse proxy in front of the servers.
    type: str
    env:
      - name: SIGMA_USERNAME
  password:
    description: Password for HTTP basic authentication.
    type: str
    env:
      - name: SIGMA_PASSWORD
  headers:
    description:
      - Extra HTTP headers sent with every request, for example a token a reverse proxy expects.
      - "A dictionary; from the environment variable, a JSON object (V({\"X-Token\": \"...\"})) or V(NAME=VALUE) pairs
        separated by commas."
      - The values are treated as secrets.
    type: raw
    env:
      - name: SIGMA_HEADERS
  use_proxy:
    description:
      - Whether to connect through the proxy named by the E(HTTP_PROXY), E(HTTPS_PROXY) or E(ALL_PROXY) environment
        variables (upper or lower case), except for the servers listed in E(NO_PROXY).
      - If V(false), the servers are reached directly, even if a proxy is set in the environment.
      - Nothing else is read from the environment (no C(.netrc) credentials, no E(REQUESTS_CA_BUNDLE)).
    type: bool
    default: true
    env:
      - name: SIGMA_USE_PROXY
requirements:
  - requests
'''
