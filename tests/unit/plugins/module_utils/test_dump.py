# -*- coding: utf-8 -*-
# Copyright: Contributors to the sigma.media_server collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""dump normalisation (_dump.py) and case-insensitive reading (_ci.py), on both seeds.

fixtures/seed_begin_vi.txt is the reference's "Begin" page (the original,
canonical spelling); fixtures/seed_begin_en.txt is its English translation,
whose sample has damaged key spelling and is cut off inside `APPS`. The
English document is completed with the Vietnamese tail, re-spelt with the
translation's rules (sigma-api.md, "Key spelling"), and must normalise to
exactly the same facts.
"""

from __future__ import annotations

import copy
import json
import os
import re

import pytest

from ansible_collections.sigma.media_server.plugins.module_utils._ci import MASK, get_ci, lower_keys, mask_keys
from ansible_collections.sigma.media_server.plugins.module_utils._dump import (
    LICENSE_UNKNOWN, license_key, mask_dump, normalize_dump, slug, supported_models,
)

FIXTURES = os.path.join(os.path.dirname(__file__), 'fixtures')
SEED_KEY = 'Y7KI4-HHQX5-0N9QN-X8TLN-VOPE7'

# The translation's spelling of keys met after the cut (apps, nats, envelope).
ENGLISH_TAIL_RULES = [('"life":', '"Life":'), ('"cpu":', '"CPU":'), ('"child":', '"Child":'),
                      ('"id":', '"ID":'), ('"dt":', '"Tel":')]


def _json_block(name):
    with open(os.path.join(FIXTURES, name), encoding='utf-8') as handle:
        text = handle.read()
    match = re.search(r'```json\n(.*?)(?:```|\Z)', text, re.S)
    assert match, 'no JSON sample in %s' % name
    return match.group(1)


def seed_vi():
    return json.loads(_json_block('seed_begin_vi.txt'))


def english_prefix_text():
    """The English sample as far as it goes, up to and including `"APPS": [`."""
    text = _json_block('seed_begin_en.txt')
    cut = text.index('"APPS": [')
    return text[:cut + len('"APPS": [')]


def seed_en():
    """The English sample completed with the Vietnamese tail in English spelling."""
    vi_text = _json_block('seed_begin_vi.txt')
    tail = vi_text[vi_text.index('"apps": [') + len('"apps": ['):]
    for canonical, english in ENGLISH_TAIL_RULES:
        tail = tail.replace(canonical, english)
    return json.loads(english_prefix_text() + tail)


def seed_en_prefix():
    """Only what the English page really shows: the document with `APPS` emptied."""
    return json.loads(english_prefix_text() + ']}')


def _respell_soft(doc):
    """lower_keys(doc) with the translation's `soft` turned back into `mem`."""
    doc = lower_keys(doc)
    for card in doc.get('system', {}).get('gpu', []):
        if 'soft' in card:
            card['mem'] = card.pop('soft')
    return doc


# ----- the seeds themselves -----------------------------------------------------------------

def test_english_seed_really_uses_the_damaged_spelling():
    en = seed_en_prefix()
    assert 'System' in en and 'system' not in en
    assert 'Encoder' in en['supported'][0] and 'encoder' not in en['supported'][0]
    assert 'Storage' in en['System'] and 'soft' in en['System']['gpu'][0]
    assert 'mem' not in en['System']['gpu'][0]
    assert set(en['System']['process']) == {'pid', 'CPU', 'ram', 'Child'}
    assert en['APPS'] == []


def test_english_prefix_is_the_vietnamese_document_up_to_spelling():
    vi = _respell_soft(seed_vi())
    en = _respell_soft(seed_en_prefix())
    for key in set(vi) - {'apps', 'nats', 'licensestatus', 'ec', 'result', 'dt', 'now'}:
        assert en[key] == vi[key], key


def test_reconstructed_english_seed_has_english_tail():
    en = seed_en()
    assert 'APPS' in en and 'apps' not in en
    assert 'Life' in en['APPS'][0] and 'CPU' in en['APPS'][0]['process']
    assert 'Child' in en['APPS'][1]['process']
    assert 'ID' in en['nats'] and 'Tel' in en and 'dt' not in en


# ----- normalize_dump ---------------------------------------------------------------------------

def test_both_seeds_normalise_to_the_same_facts():
    assert normalize_dump(seed_en()) == normalize_dump(seed_vi())


def test_english_prefix_normalises_like_the_original_for_the_parts_present():
    vi, en = normalize_dump(seed_vi()), normalize_dump(seed_en_prefix())
    for key in ('server', 'gpus', 'models', 'load', 'network', 'storage'):
        assert en[key] == vi[key], key
    assert en['apps'] == []
    assert en['license'] == {'status': LICENSE_UNKNOWN, 'valid': False, 'connected': None, 'node_id': None}


@pytest.mark.parametrize('loader', [seed_vi, seed_en], ids=['vi', 'en'])
def test_seed_facts(loader):
    facts = normalize_dump(loader())
    assert facts['server'] == {
        'name': 'sigma-server-01', 'hostname': 'sigma-media-server-01', 'version': '3.0.12',
        'branch': 'Commercial', 'build': '2024-02-29T06:30:09.650Z', 'started': '2024-03-01T07:22:30.669Z',
        'local_time': '2024-03-02T16:53:51.624Z', 'timezone': 'Asia/Ho_Chi_Minh', 'port': 9999,
        'os': 'Ubuntu 22.04.4 LTS',
    }
    encoders = sorted(['h264@yuv420p', 'h264@yuv444p', 'hevc@yuv420p', 'hevc@yuv444p', 'hevc@yuv420p10le',
                       'hevc@yuv444p10le', 'h264@bframe', 'hevc@bframe'])
    decoders = ['h264@yuv420p', 'hevc@yuv420p', 'hevc@yuv420p10le']
    assert facts['models'] == {'NVIDIA A10': {'encoders': encoders, 'decoders': decoders}}
    assert facts['gpus'] == [{
        'index': 0, 'model': 'NVIDIA A10', 'memory_total_mb': 22731, 'memory_used_mb': 705, 'utilization': 2,
        'memory_utilization': 3, 'encoder_load': 8, 'decoder_load': 2, 'temperature': 42, 'speed': 1,
        'percent': 25, 'jobs': 3, 'encoders': encoders, 'decoders': decoders,
    }]
    load = facts['load']
    assert (load['cpu_percent'], load['cores'], load['threads']) == (0, 64, 39)
    assert (load['ram_total_mb'], load['ram_used_mb'], load['swap_total_mb'], load['swap_used_mb']) == (128347, 13564, 16383, 0)
    assert (load['queue'], load['jobs_total'], load['jobs_by_state']) == (0, 6, {'started': 6})
    assert load['process'] == {'pid': 1466498, 'cpu': '59.3%', 'ram': '3302MB', 'children': 14}
    assert [a['name'] for a in facts['apps']] == ['portal-local', 'nginx', 'prometheus-nginxlog-exporter', 'origin',
                                                  'plugin-manager', 'victoria-metrics']
    assert facts['apps'][1] == {'name': 'nginx', 'state': 'running', 'uptime': '7h00m50s', 'pid': 1945814,
                                'cpu': '0.0%', 'ram': '346MB'}
    assert facts['license']['status'] == 'VALID' and facts['license']['valid'] is True
    assert facts['license']['connected'] == 1
    assert facts['license']['node_id'].startswith('e3971ec5-')
    assert facts['network'][0] == {'name': 'bond1.901', 'ip': '172.16.10.15', 'netmask': '172.16.10.0/24'}
    assert facts['storage'][0]['folder'] == ['/data/mediahub']


@pytest.mark.parametrize('loader', [seed_vi, seed_en], ids=['vi', 'en'])
def test_normalised_facts_never_hold_the_licence_key(loader):
    assert SEED_KEY not in json.dumps(normalize_dump(loader()))


def test_mem_wins_over_soft_and_soft_alone_is_read():
    doc = seed_vi()
    card = doc['system']['gpu'][0]
    card['soft'] = 99
    assert normalize_dump(doc)['gpus'][0]['memory_utilization'] == 3
    del card['mem']
    assert normalize_dump(doc)['gpus'][0]['memory_utilization'] == 99


def test_cpu_only_server():
    doc = seed_vi()
    doc['supported'] = []
    doc['system']['gpu'] = []
    facts = normalize_dump(doc)
    assert facts['gpus'] == [] and facts['models'] == {}


def test_gpu_of_a_model_missing_from_supported_has_no_codecs():
    doc = seed_vi()
    doc['system']['gpu'].append({'index': 1, 'name': 'Tesla T4', 'total': 15360})
    gpus = normalize_dump(doc)['gpus']
    assert gpus[1]['model'] == 'Tesla T4' and gpus[1]['encoders'] == [] and gpus[1]['decoders'] == []
    assert gpus[1]['temperature'] is None


def test_gpu_without_index_takes_its_position():
    doc = seed_vi()
    del doc['system']['gpu'][0]['index']
    assert normalize_dump(doc)['gpus'][0]['index'] == 0


@pytest.mark.parametrize('status, expected, valid', [
    ('VALID', 'VALID', True), ('valid', 'VALID', True), ('EXPIRED', 'EXPIRED', False),
    ('', LICENSE_UNKNOWN, False), (None, LICENSE_UNKNOWN, False), (3, LICENSE_UNKNOWN, False),
])
def test_license_status(status, expected, valid):
    doc = seed_vi()
    doc['licenseStatus'] = status
    assert normalize_dump(doc)['license']['status'] == expected
    assert normalize_dump(doc)['license']['valid'] is valid


def test_license_status_key_spelling():
    doc = seed_vi()
    doc['LICENSESTATUS'] = doc.pop('licenseStatus')
    assert normalize_dump(doc)['license']['status'] == 'VALID'


@pytest.mark.parametrize('raw', [
    {}, None, [], 'text', {'system': [], 'supported': 'x', 'apps': {}, 'nats': 'x', 'task': []},
    {'system': {'gpu': ['card', None, 3, {'name': ['list']}], 'process': 'x'}, 'apps': ['x', None],
     'supported': [None, 'x', {'name': None}, {'name': 'M', 'encoder': 'h264', 'decoder': [1, 'h264@yuv420p']}]},
])
def test_damaged_documents_never_raise(raw):
    facts = normalize_dump(raw)
    assert set(facts) == {'server', 'gpus', 'models', 'load', 'apps', 'license', 'network', 'storage'}
    assert facts['license']['status'] == LICENSE_UNKNOWN


def test_damaged_supported_entries_are_skipped_or_cleaned():
    raw = {'supported': [None, {'name': 'M', 'encoder': 'h264', 'decoder': [1, 'h264@yuv420p']}],
           'system': {'gpu': [{'index': 0, 'name': 'M'}, {'index': 1, 'name': ['x']}]}}
    facts = normalize_dump(raw)
    assert facts['models'] == {'M': {'encoders': [], 'decoders': ['h264@yuv420p']}}
    assert facts['gpus'][0]['decoders'] == ['h264@yuv420p']
    assert facts['gpus'][1]['encoders'] == []


def test_supported_models_reads_a_lower_cased_document():
    models = supported_models(lower_keys(seed_en()))
    assert models['NVIDIA A10']['decoders'] == ['h264@yuv420p', 'hevc@yuv420p', 'hevc@yuv420p10le']


def test_normalize_dump_does_not_change_its_input():
    raw = seed_en()
    before = copy.deepcopy(raw)
    normalize_dump(raw)
    assert raw == before


# ----- licence key and masking ------------------------------------------------------------------

@pytest.mark.parametrize('loader', [seed_vi, seed_en], ids=['vi', 'en'])
def test_license_key(loader):
    assert license_key(loader()) == SEED_KEY


@pytest.mark.parametrize('raw', [{}, None, {'nats': {}}, {'nats': {'license': ''}}, {'nats': 'x'}, {'NATS': {'license': 5}}])
def test_license_key_absent(raw):
    assert license_key(raw) is None


def test_license_key_any_spelling():
    assert license_key({'NATS': {'License': 'K-1'}}) == 'K-1'


@pytest.mark.parametrize('loader', [seed_vi, seed_en], ids=['vi', 'en'])
def test_mask_dump_keeps_the_document_and_hides_the_key(loader):
    raw = loader()
    before = copy.deepcopy(raw)
    found = set()
    masked = mask_dump(raw, found)
    assert found == {SEED_KEY}
    assert masked['nats']['license'] == MASK
    assert SEED_KEY not in json.dumps(masked)
    assert raw == before, 'the input must not be changed'
    # everything else is the document as the server sent it, spelling included
    rest = dict(masked)
    rest['nats'] = dict(rest['nats'], license=SEED_KEY)
    assert rest == raw


def test_mask_dump_any_spelling_of_nats_and_license():
    found = set()
    masked = mask_dump({'NATS': {'LICENSE': 'K-2', 'ID': 'n'}, 'name': 's'}, found)
    assert masked == {'NATS': {'LICENSE': MASK, 'ID': 'n'}, 'name': 's'}
    assert found == {'K-2'}


def test_mask_dump_without_key():
    found = set()
    assert mask_dump({'nats': {'license': ''}}, found) == {'nats': {'license': ''}}
    assert found == set()
    assert mask_dump(None) == {}


# ----- _ci helpers ------------------------------------------------------------------------------

def test_lower_keys_is_recursive_and_first_spelling_wins():
    doc = {'A': {'B': [{'C': 1}]}, 'a': 2, 'Key': 3, 'KEY': 4, 5: 'int'}
    assert lower_keys(doc) == {'a': {'b': [{'c': 1}]}, 'key': 3, 5: 'int'}
    assert lower_keys(doc)['a'] is not doc['A']


def test_lower_keys_leaves_values_alone():
    assert lower_keys({'X': 'VALUE', 'L': ['UP']}) == {'x': 'VALUE', 'l': ['UP']}
    assert lower_keys('TEXT') == 'TEXT' and lower_keys(None) is None


def test_get_ci():
    doc = {'System': 1, 'system': 2, 'APPS': 3}
    assert get_ci(doc, 'system') == 2
    assert get_ci(doc, 'SYSTEM') == 1
    assert get_ci(doc, 'apps') == 3
    assert get_ci(doc, 'missing', 'd') == 'd'
    assert get_ci(['not', 'a', 'dict'], 'x', 0) == 0


def test_mask_keys_deep_and_case_insensitive():
    found = set()
    obj = {'drm': [{'Key': 'k1-secret', 'keyId': 'id'}], 'KEY': 7, 'key': '', 'other': {'key': None},
           'nested': {'key': {'inner': 'deep-secret', 'flag': 'on', 'n': 12345}}}
    out = mask_keys(obj, frozenset(('key',)), found=found)
    assert out == {'drm': [{'Key': MASK, 'keyId': 'id'}], 'KEY': MASK, 'key': '', 'other': {'key': None},
                   'nested': {'key': MASK}}
    # numbers and one- or two-character strings would blank unrelated output as no_log_values
    assert found == {'k1-secret', 'deep-secret'}
    assert obj['drm'][0]['Key'] == 'k1-secret'


@pytest.mark.parametrize('text, expected', [
    ('NVIDIA A10', 'nvidia_a10'), ('Tesla T4', 'tesla_t4'), ('NVIDIA GeForce GTX 1080', 'nvidia_geforce_gtx_1080'),
    ('--', 'unknown'), (None, 'none'),
])
def test_slug(text, expected):
    assert slug(text) == expected
