"""Compose's merge rules for several -f files (and extends), with positions."""

from __future__ import annotations

from pathlib import Path

import pytest

from compose.loader import LoadOptions, load_config
from compose.loader.merge import merge, strip
from compose.loader.tree import to_plain
from compose.loader.yamlread import read_yaml
from tests.conftest import CORPUS


def merged(base: str, override: str):
    b = strip(read_yaml(base, "base.yaml")[0])
    o = read_yaml(override, "override.yaml")[0]
    return to_plain(merge(b, o))


def svc(base: str, override: str) -> dict:
    data, _ = merged("services:\n  s:\n" + _indent(base), "services:\n  s:\n" + _indent(override))
    return data["services"]["s"]


def _indent(text: str) -> str:
    return "".join("    " + line + "\n" for line in text.strip("\n").split("\n"))


def test_scalars_override_and_mappings_merge():
    assert svc("image: a\nuser: u\nhealthcheck: {interval: 1s, retries: 3}",
               "image: b\nhealthcheck: {retries: 5}") == {
        "image": "b", "user": "u", "healthcheck": {"interval": "1s", "retries": 5}}


@pytest.mark.parametrize("key", ["command", "entrypoint"])
def test_command_and_entrypoint_replace(key):
    assert svc(f"{key}: [a, b]", f"{key}: [c]")[key] == ["c"]


def test_healthcheck_test_replaces():
    assert svc("healthcheck: {test: [CMD, a, b]}", "healthcheck: {test: [CMD, c]}") == {
        "healthcheck": {"test": ["CMD", "c"]}}


@pytest.mark.parametrize("key", ["environment", "labels", "annotations", "sysctls"])
def test_list_and_map_forms_merge_by_key(key):
    assert svc(f"{key}: [A=1, B=2, C]", f"{key}: {{B: 3, D: 4}}")[key] == {
        "A": "1", "B": 3, "C": None, "D": 4}
    assert svc(f"{key}: {{A: 1}}", f"{key}: [A=2, E=]")[key] == {"A": "2", "E": ""}


def test_build_args_and_string_build():
    assert svc("build: ./dir", "build: {args: [X=1]}")["build"] == {
        "context": "./dir", "args": ["X=1"]}  # one side only: its form is kept
    assert svc("build: {context: ., args: {X: 1, Y: 2}}", "build: {args: [X=3]}")["build"] == {
        "context": ".", "args": {"X": "3", "Y": 2}}


def test_ports_unique_by_mapping():
    ports = svc('ports: ["80:80", "127.0.0.1:443:443", "53:53/udp", 9000]',
                'ports: [{target: 80, published: "80"}, "8080:80", "53:53/udp", "53:53", 9000,'
                ' {target: 80, published: "80", host_ip: 0.0.0.0}]')["ports"]
    assert ports == ["80:80", "127.0.0.1:443:443", "53:53/udp", 9000,
                     {"target": 80, "published": "80", "host_ip": "0.0.0.0"}, "8080:80",
                     "53:53"]


def test_volumes_and_devices_unique_by_target():
    s = svc("volumes: [./a:/data, /anon, named:/n:ro]\ndevices: [/dev/a:/dev/x]",
            "volumes: [{type: bind, source: ./b, target: /data}, other:/n]\n"
            "devices: [/dev/b:/dev/x]")
    assert s["volumes"] == [{"type": "bind", "source": "./b", "target": "/data"}, "/anon",
                            "other:/n"]
    assert s["devices"] == ["/dev/b:/dev/x"]


def test_secrets_and_configs_unique_by_target():
    s = svc("secrets: [a, {source: b, target: /run/secrets/x}]\nconfigs: [c]",
            "secrets: [{source: a, mode: 0400}, {source: c, target: x}]\n"
            "configs: [{source: c, target: /c}]")
    assert s["secrets"] == [{"source": "a", "mode": 0o400}, {"source": "c", "target": "x"}]
    assert s["configs"] == [{"source": "c", "target": "/c"}]


@pytest.mark.parametrize("key", ["cap_add", "dns", "expose", "profiles", "extra_hosts",
                                 "links"])
def test_unique_value_lists(key):
    assert svc(f"{key}: [a, b]", f"{key}: [b, c]")[key] == ["a", "b", "c"]


def test_string_dns_becomes_a_list():
    assert svc("dns: 1.1.1.1", "dns: [8.8.8.8]")["dns"] == ["1.1.1.1", "8.8.8.8"]


def test_other_lists_append():
    assert svc("security_opt: [a]", "security_opt: [a, b]")["security_opt"] == ["a", "a", "b"]


def test_env_file_unique_by_path():
    assert svc("env_file: a.env", "env_file: [b.env, {path: a.env, required: false}]")[
        "env_file"] == [{"path": "a.env", "required": False}, "b.env"]


def test_depends_on_list_becomes_map():
    assert svc("depends_on: [db, cache]", "depends_on: {db: {condition: service_healthy}}")[
        "depends_on"] == {"db": {"condition": "service_healthy", "required": True},
                          "cache": {"condition": "service_started", "required": True}}


def test_service_networks_list_becomes_map():
    assert svc("networks: [front]", "networks: {front: {aliases: [x]}, back: null}")[
        "networks"] == {"front": {"aliases": ["x"]}, "back": None}


def test_logging_driver_change_replaces():
    assert svc("logging: {driver: json-file, options: {max-size: 1m}}",
               "logging: {options: {max-file: '3'}}")["logging"] == {
        "driver": "json-file", "options": {"max-size": "1m", "max-file": "3"}}
    assert svc("logging: {driver: json-file, options: {max-size: 1m}}",
               "logging: {driver: syslog}")["logging"] == {"driver": "syslog"}


def test_ulimits_entry_replaced():
    assert svc("ulimits: {nofile: {soft: 1, hard: 2}, nproc: 5}",
               "ulimits: {nofile: {soft: 3}}")["ulimits"] == {"nofile": {"soft": 3}, "nproc": 5}


def test_ipam_config_merged_by_subnet():
    data, _ = merged("networks:\n  n:\n    ipam:\n      config:\n"
                     "        - {subnet: 10.0.0.0/24, gateway: 10.0.0.1}\n",
                     "networks:\n  n:\n    ipam:\n      config:\n"
                     "        - {subnet: 10.0.0.0/24, ip_range: 10.0.0.0/25}\n"
                     "        - {subnet: 10.1.0.0/24}\n")
    assert data["networks"]["n"]["ipam"]["config"] == [
        {"subnet": "10.0.0.0/24", "gateway": "10.0.0.1", "ip_range": "10.0.0.0/25"},
        {"subnet": "10.1.0.0/24"}]


def test_reset_and_override_tags():
    s = svc("image: a\nports: ['80:80']\nbuild: {context: ., dockerfile: X}\n"
            "environment: {FOO: BAR, KEEP: 1}\nlabels: {a: b}",
            "ports: !reset []\nbuild: !reset\nenvironment:\n  FOO: !reset\n"
            "labels: !override {c: d}")
    assert s == {"image": "a", "environment": {"KEEP": 1}, "labels": {"c": "d"}}


def test_reset_in_first_file_drops_the_key():
    data, _ = to_plain(strip(read_yaml("services: {s: {image: a, ports: !reset [x]}}\n",
                                       "f")[0]))
    assert data == {"services": {"s": {"image": "a"}}}


def test_positions_follow_the_value_that_won():
    _, pm = merged("services:\n  s:\n    image: a\n    environment: [A=1, B=2]\n",
                      "services:\n  s:\n    environment:\n      B: 3\n")
    assert pm.get(("services", "s", "image")).file == "base.yaml"
    assert pm.get(("services", "s", "environment", "A")) .file == "base.yaml"
    b = pm.get(("services", "s", "environment", "B"))
    assert (b.file, b.line, b.col) == ("override.yaml", 4, 10)


def test_inputs_are_not_modified():
    base = strip(read_yaml("services: {s: {image: a, ports: ['1:1']}}\n", "b")[0])
    before = to_plain(base)[0]
    merge(base, read_yaml("services: {s: {image: b, ports: ['2:2']}}\n", "o")[0])
    assert to_plain(base)[0] == before


# --- the compose-go override and reset cases, through load_config -------------------

INLINE = CORPUS / "compose-go" / "inline"


def load_pair(tmp_path: Path, *names: str, **kw):
    files = []
    for i, name in enumerate(names):
        p = tmp_path / f"{i}.yaml"
        p.write_text((INLINE / name).read_text())
        files.append(str(p))
    return load_config(LoadOptions(files=tuple(files), environ={}, working_dir=str(tmp_path),
                                   **kw)).data


needs_corpus = pytest.mark.skipif(not INLINE.is_dir(), reason="shared corpus not available")


@needs_corpus
def test_corpus_override_networks(tmp_path):
    data = load_pair(tmp_path, "override/TestOverrideNetworks/01-yaml.yaml",
                     "override/TestOverrideNetworks/02-override.yaml")
    assert data["services"]["test"]["networks"] == {"test_network": {"aliases": ["alias1",
                                                                                 "alias2"]}}


@needs_corpus
def test_corpus_override_volume_not_duplicated(tmp_path):
    data = load_pair(tmp_path, "override/TestOverrideVolume/01-yaml.yaml",
                     "override/TestOverrideVolume/02-override.yaml")
    assert data["services"]["test"]["volumes"] == ["./src:/src"]


@needs_corpus
def test_corpus_reset_remove_and_override_replace(tmp_path):
    data = load_pair(tmp_path, "reset/TestResetRemove/01.yaml", "reset/TestResetRemove/02.yaml")
    assert "test" not in (data.get("networks") or {})
    data = load_pair(tmp_path, "reset/TestOverrideReplace/01.yaml",
                     "reset/TestOverrideReplace/02.yaml")
    assert data["networks"]["test"] == {}


@needs_corpus
@pytest.mark.parametrize("case", ["TestResetTagWithSharedAlias", "TestDirectAliasWithReset"])
def test_corpus_reset_through_shared_alias(tmp_path, case):
    data = load_pair(tmp_path, f"reset/{case}/01.yaml", f"reset/{case}/02.yaml")
    assert "ports" not in data["services"]["svc1"]
    assert "ports" not in data["services"]["svc2"]


@needs_corpus
def test_corpus_nested_alias_reset(tmp_path):
    data = load_pair(tmp_path, "reset/TestNestedAliasReset/01.yaml",
                     "reset/TestNestedAliasReset/02.yaml")
    assert "ports" not in data["services"]["svc"]


@needs_corpus
def test_corpus_override_tag_with_shared_alias(tmp_path):
    data = load_pair(tmp_path, "reset/TestOverrideTagWithSharedAlias/01.yaml",
                     "reset/TestOverrideTagWithSharedAlias/02.yaml")
    assert data["networks"] == {"net1": {}, "net2": {}}


@needs_corpus
def test_corpus_load_with_reset(tmp_path):
    data = load_pair(tmp_path, "merge_reset/Test_LoadWithReset/01-Content.yaml",
                     "merge_reset/Test_LoadWithReset/02-Content.yaml")
    assert data["services"]["foo"] == {"image": "foo", "environment": {}}


@needs_corpus
def test_corpus_override_self_extends(tmp_path):
    data = load_pair(tmp_path, "override/TestOverrideSelfExtends/01-yaml.yaml")
    services = data["services"]
    assert services["main"]["depends_on"] == {
        "depend_two": {"condition": "service_started", "required": True},
        "depend_base": {"condition": "service_started", "required": True}}
    assert services["depend_two"]["ports"] == ["8091:80"]
    assert "extends" not in services["main"]


def test_null_override_keeps_the_base():
    data, _ = merged("services:\n  s: {image: a, ports: ['1:1']}\n",
                     "services:\n  s:\n    ports:\n")
    assert data == {"services": {"s": {"image": "a", "ports": ["1:1"]}}}
    data, _ = merged("services:\n  s: {image: a}\n", "services:\n")
    assert data == {"services": {"s": {"image": "a"}}}


def test_extra_hosts_mapping_becomes_entries():
    assert svc("extra_hosts: ['b=1.1.1.1']", "extra_hosts: {a: 2.2.2.2, b: 1.1.1.1, "
               "c: [3.3.3.3, '::1']}")["extra_hosts"] == [
        "b=1.1.1.1", "a=2.2.2.2", "c=3.3.3.3", "c=::1"]
