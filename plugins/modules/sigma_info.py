#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the sigma.media_server collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: sigma_info
short_description: Read the identity, GPUs, load, apps, licence and jobs of a Sigma Media Server
version_added: 0.1.0
description:
  - Reads one Sigma Media Server through its JSON API and returns what it reports, in snake_case.
  - One C(dump) request serves the subsets V(server), V(gpus), V(load), V(apps) and V(license);
    the V(jobs) subset adds one C(progress) request for every job (C(name=*)).
    O(probe_inputs) adds one C(info) request per URL. No other request is sent, and nothing changes on the server.
  - Answers are read with case-insensitive keys and missing fields are tolerated, so servers whose answers use
    other key spellings (V(System), V(Encoder), V(APPS), V(soft) for a GPU's memory load) give the same result.
  - The licence key is a secret. It is masked in every result unless O(show_license_key=true).
author:
  - Sigma collection maintainers (@sigma-media)
extends_documentation_fragment:
  - sigma.media_server.connection
  - sigma.media_server.attributes
attributes:
  check_mode:
    support: full
    details: The module never changes anything, so check mode runs it normally.
  diff_mode:
    support: none
  idempotent:
    support: full
options:
  gather_subset:
    description:
      - Which parts of the server's state to return.
      - V(server), V(gpus), V(load), V(apps) and V(license) all come from one C(dump) request;
        V(jobs) sends one C(progress) request.
      - V(all) selects every subset, V(jobs) included.
      - An entry prefixed with V(!) removes a subset, for example V([all, '!apps']).
        A list that holds only removals starts from the default (every subset but V(jobs));
        V(!all) removes everything, which with O(probe_inputs) sends only the probes.
      - Later entries win over earlier ones.
    type: list
    elements: str
    default: [server, gpus, load, apps, license]
  show_license_key:
    description:
      - Return the licence key in RV(license.key) instead of a mask.
      - When V(false), the key is masked and also added to the values Ansible hides from all output.
      - The key stays masked in RV(dump) either way.
    type: bool
    default: false
  probe_inputs:
    description:
      - Input URLs to probe with the server's C(info) function, one request each, in order.
      - The streams found are returned in RV(inputs).
      - An input the server cannot open makes the module fail, naming the input.
    type: list
    elements: str
    default: []
  probe_timeout:
    description:
      - Seconds the server may spend probing each input of O(probe_inputs) (sent as C(timeout)), greater than 0.
      - The module waits up to this plus two seconds for each probe's answer, or O(timeout) if that is longer.
    type: int
    default: 20
  detect_keyframes:
    description:
      - Ask the server to detect keyframes while probing O(probe_inputs); video streams in RV(inputs) then
        list their keyframe times in C(keyframes).
    type: bool
    default: false
notes:
  - Failures (server unreachable, timeout, HTTP error, an HTML page from a proxy, an answer with C(ec) not 0)
    make the module fail with a message naming the server URL, the function and the cause; a call gives up after
    O(timeout) x (O(retries) + 1) seconds plus short pauses.
  - Use C(delegate_to=localhost) to query servers from the control node, see the examples.
seealso:
  - module: sigma.media_server.sigma_job
  - module: sigma.media_server.sigma_jobs
'''

EXAMPLES = r'''
- name: Read identity, GPUs, load, apps and licence status of one server
  sigma.media_server.sigma_info:
    api_url: http://sigma-01.example.com:9999
  register: sigma

- name: Show the server version and the GPU models
  ansible.builtin.debug:
    msg: "{{ sigma.server.version }} {{ sigma.gpus | map(attribute='model') | list }}"

- name: Everything, jobs included, but the apps
  sigma.media_server.sigma_info:
    api_url: http://sigma-01.example.com:9999
    gather_subset:
      - all
      - '!apps'
  register: sigma

- name: Jobs in the error state
  ansible.builtin.debug:
    msg: "{{ sigma.jobs | dict2items | selectattr('value.state', 'eq', 'error') | map(attribute='key') | list }}"

- name: Only the jobs (one progress request, no dump)
  sigma.media_server.sigma_info:
    api_url: http://sigma-01.example.com:9999
    gather_subset: jobs

- name: Probe an input before starting a job on it, with keyframe detection
  sigma.media_server.sigma_info:
    api_url: http://sigma-01.example.com:9999
    gather_subset: '!all'
    probe_inputs:
      - udp://239.1.1.1:1234
    probe_timeout: 10
    detect_keyframes: true
  register: probe

- name: Connection settings for every module of the collection, through module_defaults
  module_defaults:
    group/sigma.media_server.sigma:
      api_url: https://sigma-01.example.com:8443
      ca_path: /etc/pki/sigma-ca.pem
      username: ops
      password: "{{ vault_sigma_password }}"
      timeout: 5
      retries: 1
  block:
    - name: Licence status through the TLS proxy
      sigma.media_server.sigma_info:
        gather_subset: license
      register: sigma

    - name: Fail when the licence is not valid
      ansible.builtin.assert:
        that: sigma.license.valid
        fail_msg: "licence is {{ sigma.license.status }}"

# In a play over the servers of the inventory plugin sigma.media_server.sigma, with no connection option in the task:
# the API URL is the host variable sigma_api_url, the other options the host's sigma_<option> variables (group_vars,
# host_vars, a vault), else the SIGMA_* environment variables (an AWX credential).
- name: Licence status of this host's server, read from the control node
  sigma.media_server.sigma_info:
    gather_subset: license
  delegate_to: localhost
  register: sigma

- name: Query every server of an inventory group from the control node
  sigma.media_server.sigma_info:
    api_url: "http://{{ hostvars[item].ansible_host | default(item) }}:9999"
    gather_subset: [server, gpus]
  loop: "{{ groups['sigma_servers'] }}"
  delegate_to: localhost
  run_once: true
  register: fleet

- name: Show the GPU models per server
  ansible.builtin.debug:
    msg: "{{ item.item }}: {{ item.gpus | map(attribute='model') | list }}"
  loop: "{{ fleet.results }}"
  loop_control:
    label: "{{ item.item }}"
  run_once: true
'''

RETURN = r'''
gather_subset:
  description: The subsets that were read, after resolving V(all) and removals.
  returned: always
  type: list
  elements: str
  sample: [apps, gpus, license, load, server]
server:
  description: The server's identity.
  returned: when the V(server) subset is selected
  type: dict
  contains:
    name:
      description: Server name.
      type: str
      returned: always
      sample: sigma-server-01
    hostname:
      description: Host name of the machine.
      type: str
      returned: always
      sample: sigma-media-server-01
    version:
      description: Server software version.
      type: str
      returned: always
      sample: 3.0.12
    branch:
      description: Software branch.
      type: str
      returned: always
      sample: Commercial
    build:
      description: Build time (ISO-8601).
      type: str
      returned: always
      sample: '2024-02-29T06:30:09.650Z'
    started:
      description: When the server process started (ISO-8601).
      type: str
      returned: always
      sample: '2024-03-01T07:22:30.669Z'
    local_time:
      description: The server's clock when it answered (ISO-8601).
      type: str
      returned: always
      sample: '2024-03-02T16:53:51.624Z'
    timezone:
      description: The server's time zone.
      type: str
      returned: always
      sample: Asia/Ho_Chi_Minh
    port:
      description: The API port the server reports.
      type: int
      returned: always
      sample: 9999
    os:
      description: Operating system.
      type: str
      returned: always
      sample: Ubuntu 22.04.4 LTS
gpus:
  description:
    - One entry per GPU card, in the server's order. Empty on a CPU-only server.
    - A value the server did not report is V(null).
  returned: when the V(gpus) subset is selected
  type: list
  elements: dict
  contains:
    index:
      description: Card index, the value a job's C(gpu) refers to.
      type: int
      returned: always
      sample: 0
    model:
      description: GPU model.
      type: str
      returned: always
      sample: NVIDIA A10
    memory_total_mb:
      description: Card memory in MB.
      type: int
      returned: always
      sample: 22731
    memory_used_mb:
      description: Used card memory in MB.
      type: int
      returned: always
      sample: 705
    utilization:
      description: GPU utilisation in percent.
      type: int
      returned: always
      sample: 2
    memory_utilization:
      description: Memory utilisation in percent.
      type: int
      returned: always
      sample: 3
    encoder_load:
      description: Encoder load in percent.
      type: int
      returned: always
      sample: 8
    decoder_load:
      description: Decoder load in percent.
      type: int
      returned: always
      sample: 2
    temperature:
      description: Temperature in degrees Celsius.
      type: int
      returned: always
      sample: 42
    speed:
      description: Speed the server reports for the card.
      type: raw
      returned: always
      sample: 1
    percent:
      description: Share of the card's session capacity in use, in percent.
      type: int
      returned: always
      sample: 25
    jobs:
      description: Number of jobs on the card.
      type: int
      returned: always
      sample: 3
    encoders:
      description: Encoders the card's model supports, as C(codec@pixelformat) or C(codec@feature), sorted.
      type: list
      elements: str
      returned: always
      sample: [h264@bframe, h264@yuv420p, hevc@yuv420p10le]
    decoders:
      description: Decoders the card's model supports, sorted.
      type: list
      elements: str
      returned: always
      sample: [h264@yuv420p, hevc@yuv420p]
models:
  description: Per GPU model, the supported encoders and decoders (sorted). Empty on a CPU-only server.
  returned: when the V(gpus) subset is selected
  type: dict
  sample:
    NVIDIA A10:
      encoders: [h264@bframe, h264@yuv420p, hevc@yuv420p]
      decoders: [h264@yuv420p, hevc@yuv420p, hevc@yuv420p10le]
load:
  description: CPU, memory and job load.
  returned: when the V(load) subset is selected
  type: dict
  contains:
    cpu_percent:
      description: CPU usage in percent.
      type: raw
      returned: always
      sample: 12
    cores:
      description: CPU cores.
      type: int
      returned: always
      sample: 64
    threads:
      description: Threads of the server process.
      type: int
      returned: always
      sample: 39
    ram_total_mb:
      description: RAM in MB.
      type: int
      returned: always
      sample: 128347
    ram_used_mb:
      description: Used RAM in MB.
      type: int
      returned: always
      sample: 13564
    swap_total_mb:
      description: Swap in MB.
      type: int
      returned: always
      sample: 16383
    swap_used_mb:
      description: Used swap in MB.
      type: int
      returned: always
      sample: 0
    speed:
      description: Overall speed the server reports.
      type: raw
      returned: always
      sample: 1
    queue:
      description: Jobs waiting.
      type: int
      returned: always
      sample: 0
    jobs_total:
      description: Number of jobs.
      type: int
      returned: always
      sample: 6
    jobs_by_state:
      description: Number of jobs per state.
      type: dict
      returned: always
      sample: {started: 6}
    process:
      description: The server process (C(pid), C(cpu), C(ram) as the server writes them, C(children)).
      type: dict
      returned: always
      sample: {pid: 1466498, cpu: 59.3%, ram: 3302MB, children: 14}
    updated:
      description: When the server last measured these values (ISO-8601).
      type: str
      returned: always
      sample: '2024-03-02T16:53:51.000Z'
apps:
  description: The integrated apps the server runs.
  returned: when the V(apps) subset is selected
  type: list
  elements: dict
  contains:
    name:
      description: App name.
      type: str
      returned: always
      sample: nginx
    state:
      description: App state.
      type: str
      returned: always
      sample: running
    uptime:
      description: How long the app has run, as the server writes it.
      type: str
      returned: always
      sample: 7h00m50s
    pid:
      description: Process id.
      type: int
      returned: always
      sample: 1945814
    cpu:
      description: CPU usage as the server writes it.
      type: str
      returned: always
      sample: 0.0%
    ram:
      description: Memory usage as the server writes it.
      type: str
      returned: always
      sample: 346MB
license:
  description: The licence.
  returned: when the V(license) subset is selected
  type: dict
  contains:
    status:
      description: Licence status, upper case; V(UNKNOWN) when the server does not report one.
      type: str
      returned: always
      sample: VALID
    valid:
      description: Whether the status is V(VALID). A server without a valid licence may refuse jobs.
      type: bool
      returned: always
      sample: true
    key:
      description:
        - The licence key when O(show_license_key=true), else a mask.
        - V(null) when the server reports no key.
      type: str
      returned: always
      sample: '********'
    connected:
      description: The server's C(nats.connected) value.
      type: raw
      returned: always
      sample: 1
    node_id:
      description: The server's C(nats.id) value.
      type: str
      returned: always
      sample: e3971ec5-460d-4fb7-b957-7120a37421bc.sigma-server-gpu-15
jobs:
  description:
    - Job name to the job's state and statistics, from C(progress).
    - Only what the server reports; most of a job's configuration is not reported.
  returned: when the V(jobs) subset is selected
  type: dict
  sample:
    vtv3:
      name: vtv3
      state: started
      mode: null
      speed: 1
      uptime: 1h41m18s
      pts: 1h41m18s
      created: '2024-03-02 15:12:33'
      started: '2024-03-02 15:12:33'
      errors: []
      error_codes: []
      error_details: []
      health: ok
      health_reasons: []
      inputs: [{url: 'udp://239.1.1.1:1234', streams: [h264 1920x1080 25fps, aac 48000Hz 2ch], bitrate: 5128}]
      profiles: [{id: '0x100', bitrate: 2000}]
      targets: [{format: hls, url: /data/mediahub/vtv3, select: ['0x100'], bitrate: 2000}]
      weight: 1
      id: null
  contains:
    name:
      description: Job name.
      type: str
      returned: always
    state:
      description: Job state, for example V(started), V(finished) or V(error).
      type: str
      returned: always
    mode:
      description: V(live) or V(vod) when the server reports it; C(progress) usually does not, so often V(null).
      type: str
      returned: always
    speed:
      description: Processing speed.
      type: raw
      returned: always
    uptime:
      description: How long the job has run (C(life)).
      type: str
      returned: always
    pts:
      description: Media time processed.
      type: str
      returned: always
    created:
      description: When the job was created, server local time.
      type: str
      returned: always
    started:
      description: When the job last started, server local time.
      type: str
      returned: always
    errors:
      description: The job's error lines as the server writes them.
      type: list
      elements: str
      returned: always
    error_codes:
      description: The distinct error codes found in RV(jobs.errors), sorted.
      type: list
      elements: str
      returned: always
    error_details:
      description:
        - Each line of RV(jobs.errors), parsed. The error codes and what they concern are the vendor's (see the
          collection's API contract); an unknown code is kept as the server wrote it, with C(concerns) V([unknown]) and
          C(needs_restart) V(null).
      type: list
      elements: dict
      returned: always
      sample:
        - line: '[03-02 15:19:58] Connection timed out: udp://239.1.1.1:1234 (code: INPUT_TIMEOUT)'
          time: '2024-03-02T15:19:58Z'
          message: 'Connection timed out: udp://239.1.1.1:1234'
          code: INPUT_TIMEOUT
          known: true
          concerns: [input]
          needs_restart: false
          meaning: a problem with the job's input; the server retries the job by itself until it goes away
          remedy: check the input; no restart is needed
      contains:
        line:
          description: The line as the server wrote it.
          type: str
        time:
          description:
            - When, in ISO-8601 UTC. The server writes no year; it is the latest year that does not put the line in
              the future. V(null) when the line has no readable time.
          type: str
        message:
          description: The text of the line without its time and code.
          type: str
        code:
          description: The error code, V(null) when the line has none.
          type: str
        known:
          description: Whether the vendor documents the code.
          type: bool
        concerns:
          description: What the code concerns, some of V(input), V(output), V(processing), V(configuration), or V(unknown).
          type: list
          elements: str
        needs_restart:
          description:
            - V(true) for a code that occurs only when a job is created (the job stays failed until it is started again),
              V(false) for one the server retries by itself, V(null) when unknown.
          type: bool
        meaning:
          description: What the code means, in words.
          type: str
        remedy:
          description: What to do about it.
          type: str
    health:
      description:
        - V(ok), V(degraded) (running under speed 0.9, or in C(error) with only codes the server retries, or no state
          reported) or V(failed) (in C(error) with a code that needs a restart, no code or an unknown one; or stopped).
        - A running job's past error lines do not make it degraded; the server keeps them after it recovers.
      type: str
      returned: always
    health_reasons:
      description: Why the job is not V(ok); empty when it is.
      type: list
      elements: str
      returned: always
    inputs:
      description: The job's inputs with C(url), the probed C(streams) (strings) and C(bitrate).
      type: list
      elements: dict
      returned: always
    profiles:
      description: Output profiles with C(id) and measured C(bitrate).
      type: list
      elements: dict
      returned: always
    targets:
      description: Targets with C(format), C(url), C(select) and C(bitrate).
      type: list
      elements: dict
      returned: always
    weight:
      description: The load weight given at start.
      type: raw
      returned: always
    id:
      description: The record id given at start (C(_id)); V(null) when the server returns none.
      type: str
      returned: always
inputs:
  description:
    - Each probed input URL, mapped to the list of its streams in the order the server lists them.
    - A password in a URL is masked in the key.
    - Each stream has the keys listed below; a value the server did not report is V(null).
  returned: when O(probe_inputs) is not empty
  type: dict
  sample:
    udp://239.1.1.1:1234:
      - {type: video, codec: h264, bitrate: 4500, width: 1920, height: 1080, fps: 25, interlaced: false,
         pixel_format: yuv420p, profile: High, level: 40, channel: null, sample_rate: null, keyframes: [0, 2000, 4000]}
      - {type: audio, codec: aac, bitrate: 128, width: null, height: null, fps: null, interlaced: null,
         pixel_format: null, profile: LC, level: null, channel: 2, sample_rate: 48000, keyframes: null}
  contains:
    type:
      description: V(video), V(audio) or V(data).
      type: str
      returned: always
    codec:
      description: Codec.
      type: str
      returned: always
    bitrate:
      description: Bitrate in kbit/s.
      type: raw
      returned: always
    width:
      description: Video width.
      type: int
      returned: always
    height:
      description: Video height.
      type: int
      returned: always
    fps:
      description: Video frame rate.
      type: raw
      returned: always
    interlaced:
      description: Whether the video is interlaced.
      type: bool
      returned: always
    pixel_format:
      description: Video pixel format.
      type: str
      returned: always
    profile:
      description: Codec profile.
      type: str
      returned: always
    level:
      description: Codec level.
      type: raw
      returned: always
    channel:
      description: Audio channels.
      type: int
      returned: always
    sample_rate:
      description: Audio sample rate.
      type: int
      returned: always
    keyframes:
      description: Keyframe times in milliseconds, when O(detect_keyframes=true) and the server found some; else V(null).
      type: list
      elements: int
      returned: always
dump:
  description:
    - The raw C(dump) document as the server sent it (original key spelling), with the licence key masked.
  returned: when any of V(server), V(gpus), V(load), V(apps), V(license) is selected
  type: dict
  sample:
    name: sigma-server-01
    version: 3.0.12
    nats: {id: e3971ec5-460d-4fb7-b957-7120a37421bc, license: '********', connected: 1}
    licenseStatus: VALID
    ec: 0
'''

from ansible_collections.sigma.media_server.plugins.module_utils._info import argument_spec, gather
from ansible_collections.sigma.media_server.plugins.module_utils._module import SigmaModule


def main():
    module = SigmaModule(argument_spec(), supports_check_mode=True)
    module.run(lambda client, outcome: gather(module.params, client, outcome))


if __name__ == '__main__':
    main()
