"""Generate ``schemas/compose-spec.json``: pycompose's own JSON Schema of the Compose file.

Written from the Compose Specification text (``compose-features.md`` summarises it), not
copied from compose-spec or compose-go.  Kept as Python so the shared shapes (string or
list, list or dict, "integer or interpolated string") are written once.

Leniency, on purpose: the schema validates the tree *after* interpolation, and every
interpolated value is a string, so wherever Compose expects an integer, a number or a
boolean we also accept a string; the model (``compose/model``) converts it and reports
a located error when the string is not a valid number/boolean.

Run ``/work/venv/bin/python scripts/gen_schema.py`` after editing; a unit test checks the
JSON file is in sync with this script.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

OUT = Path(__file__).resolve().parent.parent / "schemas" / "compose-spec.json"

X = {"^x-": {}}
STR = {"type": "string"}
INT = {"type": ["integer", "string"]}
NUM = {"type": ["number", "string"]}
BOOL = {"type": ["boolean", "string"]}
STR_OR_NUM = {"type": ["string", "number"]}
REF = lambda name: {"$ref": f"#/definitions/{name}"}  # noqa: E731


def obj(props: dict[str, Any], *, required: tuple[str, ...] = (), ext: bool = True,
        nullable: bool = False) -> dict[str, Any]:
    """A closed mapping (unknown keys rejected, ``x-*`` allowed when ``ext``)."""
    out: dict[str, Any] = {"type": ["object", "null"] if nullable else "object",
                           "properties": props, "additionalProperties": False}
    if ext:
        out["patternProperties"] = X
    if required:
        out["required"] = list(required)
    return out


def list_of(item: dict[str, Any], *, unique: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {"type": "array", "items": item}
    if unique:
        out["uniqueItems"] = True
    return out


def any_of(*schemas: dict[str, Any]) -> dict[str, Any]:
    return {"oneOf": list(schemas)}


SERVICE_HOOK = obj({
    "command": REF("command"),
    "user": STR,
    "privileged": BOOL,
    "working_dir": STR,
    "environment": REF("list_or_dict"),
})

PRE_START_HOOK = obj({
    **SERVICE_HOOK["properties"],
    "image": STR,
    "per_replica": BOOL,
})

BLKIO_LIMIT = obj({"path": STR, "rate": STR_OR_NUM}, ext=False)
BLKIO_WEIGHT = obj({"path": STR, "weight": INT}, ext=False)

DEVICE_REQUEST = obj({
    "capabilities": list_of(STR),
    "count": STR_OR_NUM,
    "device_ids": list_of(STR),
    "driver": STR,
    "options": REF("list_or_dict"),
})

SERVICE_PORT_LONG = obj({
    "name": STR,
    "mode": STR,
    "host_ip": STR,
    "target": INT,
    "published": STR_OR_NUM,
    "protocol": STR,
    "app_protocol": STR,
})

SERVICE_VOLUME_LONG = obj({
    "type": {"type": "string", "enum": ["bind", "volume", "tmpfs", "image", "npipe",
                                        "cluster"]},
    "source": STR,
    "target": STR,
    "read_only": BOOL,
    "consistency": STR,
    "bind": obj({
        "propagation": STR,
        "create_host_path": BOOL,
        "recursive": {"type": "string",
                      "enum": ["enabled", "disabled", "writable", "readonly"]},
        "selinux": {"type": "string", "enum": ["z", "Z"]},
    }),
    "volume": obj({"nocopy": BOOL, "subpath": STR, "labels": REF("list_or_dict")}),
    "tmpfs": obj({
        "size": {"oneOf": [{"type": "integer", "minimum": 0}, STR]},
        "mode": STR_OR_NUM,
    }),
    "image": obj({"subpath": STR}),
}, required=("type",))

SERVICE_NETWORK = obj({
    "aliases": REF("list_of_strings"),
    "interface_name": STR,
    "ipv4_address": STR,
    "ipv6_address": STR,
    "link_local_ips": REF("list_of_strings"),
    "mac_address": STR,
    "driver_opts": {"type": "object", "additionalProperties": STR_OR_NUM},
    "priority": NUM,
    "gw_priority": NUM,
}, nullable=True)

FILE_REF = obj({"source": STR, "target": STR, "uid": STR, "gid": STR,
                "mode": STR_OR_NUM})

BUILD = obj({
    "context": STR,
    "dockerfile": STR,
    "dockerfile_inline": STR,
    "entitlements": list_of(STR),
    "args": REF("list_or_dict"),
    "ssh": REF("list_or_dict"),
    "labels": REF("list_or_dict"),
    "cache_from": list_of(STR),
    "cache_to": list_of(STR),
    "no_cache": BOOL,
    "no_cache_filter": REF("string_or_list"),
    "additional_contexts": REF("list_or_dict"),
    "network": STR,
    "provenance": {"type": ["string", "boolean"]},
    "sbom": {"type": ["string", "boolean"]},
    "pull": BOOL,
    "target": STR,
    "shm_size": STR_OR_NUM,
    "extra_hosts": REF("extra_hosts"),
    "isolation": STR,
    "privileged": BOOL,
    "secrets": REF("file_refs"),
    "tags": list_of(STR),
    "ulimits": REF("ulimits"),
    "platforms": list_of(STR),
})

DEPLOY = obj({
    "mode": STR,
    "endpoint_mode": STR,
    "replicas": INT,
    "labels": REF("list_or_dict"),
    "rollback_config": REF("update_config"),
    "update_config": REF("update_config"),
    "resources": obj({
        "limits": obj({"cpus": STR_OR_NUM, "memory": STR_OR_NUM, "pids": INT}),
        "reservations": obj({
            "cpus": STR_OR_NUM,
            "memory": STR_OR_NUM,
            "generic_resources": list_of(obj({
                "discrete_resource_spec": obj({"kind": STR, "value": NUM}),
            })),
            "devices": list_of({**DEVICE_REQUEST, "required": ["capabilities"]}),
        }),
    }),
    "restart_policy": obj({
        "condition": STR, "delay": STR, "max_attempts": INT, "window": STR,
    }),
    "placement": obj({
        "constraints": list_of(STR),
        "preferences": list_of(obj({"spread": STR})),
        "max_replicas_per_node": INT,
    }),
}, nullable=True)

DEVELOP = obj({
    "watch": list_of(obj({
        "path": STR,
        "action": {"type": "string",
                   "enum": ["rebuild", "sync", "restart", "sync+restart", "sync+exec"]},
        "ignore": REF("string_or_list"),
        "include": REF("string_or_list"),
        "target": STR,
        "exec": SERVICE_HOOK,
        "initial_sync": BOOL,
    }, required=("path", "action"))),
}, nullable=True)

HEALTHCHECK = obj({
    "disable": BOOL,
    "interval": STR,
    "retries": NUM,
    "test": {"type": ["string", "array"], "items": STR},
    "timeout": STR,
    "start_period": STR,
    "start_interval": STR,
})

SERVICE = obj({
    "annotations": REF("list_or_dict"),
    "attach": BOOL,
    "build": any_of(STR, BUILD),
    "blkio_config": obj({
        "device_read_bps": list_of(BLKIO_LIMIT),
        "device_read_iops": list_of(BLKIO_LIMIT),
        "device_write_bps": list_of(BLKIO_LIMIT),
        "device_write_iops": list_of(BLKIO_LIMIT),
        "weight": INT,
        "weight_device": list_of(BLKIO_WEIGHT),
    }, ext=False),
    "cap_add": list_of(STR),
    "cap_drop": list_of(STR),
    # compose-go also normalizes `cgroup: service:x` into a dependency
    "cgroup": {"type": "string", "pattern": "^(host|private|service:.+)$"},
    "cgroup_parent": STR,
    "command": REF("command"),
    "configs": REF("file_refs"),
    "container_name": STR,
    "cpu_count": INT,
    "cpu_percent": INT,
    "cpu_shares": STR_OR_NUM,
    "cpu_quota": STR_OR_NUM,
    "cpu_period": STR_OR_NUM,
    "cpu_rt_period": STR_OR_NUM,
    "cpu_rt_runtime": STR_OR_NUM,
    "cpus": STR_OR_NUM,
    "cpuset": STR,
    "credential_spec": obj({"config": STR, "file": STR, "registry": STR}),
    "depends_on": any_of(
        REF("list_of_strings"),
        {"type": "object", "additionalProperties": False,
         "patternProperties": {"^[a-zA-Z0-9._-]+$": obj({
             "condition": {"type": "string",
                           "enum": ["service_started", "service_healthy",
                                    "service_completed_successfully"]},
             "restart": BOOL,
             "required": BOOL,
         })}},
    ),
    "deploy": DEPLOY,
    "develop": DEVELOP,
    "device_cgroup_rules": REF("list_of_strings"),
    "devices": list_of(any_of(STR, obj({"source": STR, "target": STR,
                                        "permissions": STR}, required=("source",)))),
    "dns": REF("string_or_list"),
    "dns_opt": list_of(STR),
    "dns_search": REF("string_or_list"),
    "domainname": STR,
    "entrypoint": REF("command"),
    "env_file": REF("env_file"),
    "label_file": REF("string_or_list"),
    "environment": REF("list_or_dict"),
    "expose": list_of(STR_OR_NUM),
    "extends": any_of(STR, obj({"service": STR, "file": STR}, required=("service",),
                               ext=False)),
    "external_links": list_of(STR),
    "extra_hosts": REF("extra_hosts"),
    "gpus": any_of({"type": "string", "enum": ["all"]}, list_of(DEVICE_REQUEST)),
    "group_add": list_of(STR_OR_NUM),
    "healthcheck": HEALTHCHECK,
    "hostname": STR,
    "image": STR,
    "init": BOOL,
    "ipc": STR,
    "isolation": STR,
    "labels": REF("list_or_dict"),
    "links": list_of(STR),
    "logging": obj({
        "driver": STR,
        "options": {"type": "object", "additionalProperties": {
            "type": ["string", "number", "null"]}},
    }),
    "mac_address": STR,
    "mem_limit": STR_OR_NUM,
    "mem_reservation": STR_OR_NUM,
    "mem_swappiness": INT,
    "memswap_limit": STR_OR_NUM,
    "network_mode": STR,
    "models": any_of(
        REF("list_of_strings"),
        {"type": "object", "additionalProperties": False,
         "patternProperties": {"^[a-zA-Z0-9._-]+$": obj(
             {"endpoint_var": STR, "model_var": STR}, nullable=True)}},
    ),
    "networks": any_of(
        REF("list_of_strings"),
        {"type": "object", "additionalProperties": False,
         "patternProperties": {"^[a-zA-Z0-9._-]+$": SERVICE_NETWORK}},
    ),
    "oom_kill_disable": BOOL,
    "oom_score_adj": {"oneOf": [{"type": "integer", "minimum": -1000, "maximum": 1000},
                                STR]},
    "pid": {"type": ["string", "null"]},
    "pids_limit": STR_OR_NUM,
    "platform": STR,
    "ports": list_of(any_of(STR_OR_NUM, SERVICE_PORT_LONG)),
    "post_start": list_of(SERVICE_HOOK),
    "pre_start": list_of(PRE_START_HOOK),
    "pre_stop": list_of(SERVICE_HOOK),
    "privileged": BOOL,
    "profiles": REF("list_of_strings"),
    "provider": obj({"type": STR, "options": {"type": "object", "additionalProperties": {
        "type": ["string", "number", "boolean", "array", "null"]}}}, required=("type",)),
    "pull_policy": STR,
    "pull_refresh_after": STR,
    "read_only": BOOL,
    "restart": STR,
    "runtime": STR,
    "scale": INT,
    "security_opt": list_of(STR),
    "shm_size": STR_OR_NUM,
    "secrets": REF("file_refs"),
    "sysctls": REF("list_or_dict"),
    "stdin_open": BOOL,
    "stop_grace_period": STR,
    "stop_signal": STR,
    "storage_opt": {"type": "object"},
    "tmpfs": REF("string_or_list"),
    "tty": BOOL,
    "ulimits": REF("ulimits"),
    "use_api_socket": BOOL,
    "user": STR,
    "uts": STR,
    "userns_mode": STR,
    "volumes": list_of(any_of(STR, SERVICE_VOLUME_LONG)),
    "volumes_from": list_of(STR),
    "working_dir": STR,
})

EXTERNAL = {"type": ["boolean", "string", "object"],
            "properties": {"name": STR}, "additionalProperties": False}

NETWORK = obj({
    "name": STR,
    "driver": STR,
    "driver_opts": {"type": "object", "additionalProperties": STR_OR_NUM},
    "ipam": obj({
        "driver": STR,
        "config": list_of(obj({
            "subnet": STR,
            "ip_range": STR,
            "gateway": STR,
            "aux_addresses": {"type": "object", "additionalProperties": STR},
        })),
        "options": {"type": "object", "additionalProperties": STR},
    }),
    "external": EXTERNAL,
    "internal": BOOL,
    "enable_ipv4": BOOL,
    "enable_ipv6": BOOL,
    "attachable": BOOL,
    "labels": REF("list_or_dict"),
}, nullable=True)

VOLUME = obj({
    "name": STR,
    "driver": STR,
    "driver_opts": {"type": "object", "additionalProperties": STR_OR_NUM},
    "external": EXTERNAL,
    "labels": REF("list_or_dict"),
}, nullable=True)

SECRET = obj({
    "name": STR,
    "environment": STR,
    "file": STR,
    "external": EXTERNAL,
    "labels": REF("list_or_dict"),
    "driver": STR,
    "driver_opts": {"type": "object", "additionalProperties": STR_OR_NUM},
    "template_driver": STR,
}, nullable=True)

CONFIG = obj({
    "name": STR,
    "content": STR,
    "environment": STR,
    "file": STR,
    "external": EXTERNAL,
    "labels": REF("list_or_dict"),
    "template_driver": STR,
}, nullable=True)

MODEL = obj({
    "name": STR,
    "model": STR,
    "context_size": INT,
    "runtime_flags": list_of(STR),
}, required=("model",))

INCLUDE = any_of(STR, obj({
    "path": REF("string_or_list"),
    "env_file": REF("string_or_list"),
    "project_directory": STR,
}, required=("path",)))

NAME_KEYS = "^[a-zA-Z0-9._-]+$"


def named_map(item: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "patternProperties": {NAME_KEYS: item},
            "additionalProperties": False}


SCHEMA: dict[str, Any] = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "$id": "https://pycompose.invalid/schemas/compose-spec.json",
    "title": "pycompose: Compose Specification",
    "type": "object",
    "properties": {
        "version": STR,
        "name": STR,
        "include": list_of(INCLUDE),
        "services": named_map({**SERVICE, "type": ["object", "null"]}),
        "networks": named_map(NETWORK),
        "volumes": named_map(VOLUME),
        "secrets": named_map(SECRET),
        "configs": named_map(CONFIG),
        "models": named_map(MODEL),
    },
    "patternProperties": X,
    "additionalProperties": False,
    "definitions": {
        "list_of_strings": list_of(STR, unique=True),
        "string_or_list": any_of(STR, list_of(STR)),
        "command": {"type": ["null", "string", "array"], "items": STR},
        "list_or_dict": any_of(
            {"type": "object", "patternProperties": {".+": {
                "type": ["string", "number", "boolean", "null"]}},
             "additionalProperties": False},
            list_of(STR, unique=True),
        ),
        "extra_hosts": any_of(
            {"type": "object", "patternProperties": {".+": any_of(STR, list_of(STR))},
             "additionalProperties": False},
            list_of(STR, unique=True),
        ),
        "env_file": any_of(STR, list_of(any_of(STR, obj({
            "path": STR,
            "required": BOOL,
            "format": STR,
        }, required=("path",))))),
        "file_refs": list_of(any_of(STR, FILE_REF)),
        "ulimits": {"type": "object", "patternProperties": {"^[a-z]+$": any_of(
            INT, obj({"hard": INT, "soft": INT}, required=("soft", "hard")))},
            "additionalProperties": False},
        "update_config": obj({
            "parallelism": INT,
            "delay": STR,
            "failure_action": STR,
            "monitor": STR,
            "max_failure_ratio": NUM,
            "order": {"type": "string", "enum": ["start-first", "stop-first"]},
        }),
    },
}


def render() -> str:
    return json.dumps(SCHEMA, indent=1, sort_keys=False) + "\n"


if __name__ == "__main__":
    text = render()
    if "--check" in sys.argv:
        sys.exit(0 if OUT.read_text() == text else 1)
    OUT.parent.mkdir(exist_ok=True)
    OUT.write_text(text)
    print(f"wrote {OUT} ({len(text)} bytes)")
