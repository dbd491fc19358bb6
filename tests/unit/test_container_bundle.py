"""The CLI-side plan (bundle.json): policy decided before the shim runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from runtime.container import bundle
from runtime.errors import InvalidInputError
from runtime.kernel import consts as C
from runtime.spec import ContainerSpec, Mount, Process, RootFS, Security


def _spec(tmp_path: Path, **kw) -> ContainerSpec:
    layer = tmp_path / "layer"
    layer.mkdir(exist_ok=True)
    return ContainerSpec(image="img", image_id="", rootfs=RootFS((layer,)),
                         process=Process(args=("true",)), **kw)


def _build(tmp_path, spec, netns="new"):
    cdir = tmp_path / "c"
    cdir.mkdir(exist_ok=True)
    return bundle.build(spec, "a" * 64, cdir, tmp_path / "run", tmp_path / "name", netns,
                        seccomp_cache=tmp_path / "cache")


def test_default_caps_are_dockers():
    assert bundle.capabilities(False, (), ()) == [
        "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL",
        "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_NET_RAW",
        "CAP_SYS_CHROOT", "CAP_MKNOD", "CAP_AUDIT_WRITE", "CAP_SETFCAP"]
    caps = bundle.capabilities(False, ("NET_ADMIN",), ("ALL",))
    assert caps == ["CAP_NET_ADMIN"]


def test_privileged_has_no_masks_and_no_seccomp(tmp_path):
    b = _build(tmp_path, _spec(tmp_path, security=Security(privileged=True)))
    assert b["masked_paths"] == [] and b["readonly_paths"] == []
    assert b["seccomp"] is None and b["privileged"] is True


def test_default_plan(tmp_path):
    b = _build(tmp_path, _spec(tmp_path))
    assert "/proc/kcore" in b["masked_paths"] and "/proc/sysrq-trigger" in b["readonly_paths"]
    assert b["seccomp"].endswith(".bpf") and Path(b["seccomp"]).stat().st_size % 8 == 0
    assert b["hostname"] == "a" * 12
    assert b["rootfs"]["lowerdir"] == str(tmp_path / "layer")
    assert b["namespaces"] == {"net": "new", "uts": True}


def test_seccomp_program_is_cached(tmp_path):
    first = _build(tmp_path, _spec(tmp_path))["seccomp"]
    mtime = Path(first).stat().st_mtime_ns
    assert _build(tmp_path, _spec(tmp_path))["seccomp"] == first
    assert Path(first).stat().st_mtime_ns == mtime
    other = _build(tmp_path, _spec(tmp_path, security=Security(cap_add=("SYS_ADMIN",))))
    assert other["seccomp"] != first      # capability-gated rules differ


def test_long_lowerdir_uses_short_relative_links(tmp_path):
    layers = []
    for i in range(60):
        d = tmp_path / ("x" * 60) / f"layer-{i:03d}-{'y' * 40}"
        d.mkdir(parents=True)
        layers.append(d)
    cdir = tmp_path / "c"
    cdir.mkdir()
    value = bundle.lowerdir(cdir, tuple(layers))
    assert value.split(":")[:2] == ["l/0", "l/1"] and len(value) < 600
    assert (cdir / "l" / "3b").resolve() == layers[59]


def test_mounts(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    ro = bundle.mount_entry(Mount(type="bind", source=str(src), target="/data",
                                  read_only=True, options=("nosuid",)))
    assert ro["read_only"] and ro["flags"] == C.MS_NOSUID
    assert ro["propagation"] == C.MS_PRIVATE | C.MS_REC
    t = bundle.mount_entry(Mount(type="tmpfs", target="/t", tmpfs_size=1 << 20,
                                 tmpfs_mode=0o700, options=("noexec",)))
    assert t["data"] == "size=1048576,mode=700"
    assert t["flags"] == C.MS_NOSUID | C.MS_NODEV | C.MS_NOEXEC
    with pytest.raises(InvalidInputError, match="does not exist"):
        bundle.mount_entry(Mount(type="bind", source=str(tmp_path / "nope"), target="/x"))
    with pytest.raises(InvalidInputError, match="absolute"):
        bundle.mount_entry(Mount(type="tmpfs", target="rel"))


def test_resolv_conf_drops_loopback_resolvers(tmp_path, monkeypatch):
    monkeypatch.setattr(bundle, "_read", lambda p: "nameserver 127.0.0.53\nsearch lan\n")
    spec = _spec(tmp_path)
    assert bundle.resolv_conf(spec, host_net=False) == (
        "nameserver 8.8.8.8\nnameserver 8.8.4.4\nsearch lan\n")
    spec = _spec(tmp_path, dns=("10.0.0.2",), dns_options=("ndots:2",))
    assert bundle.resolv_conf(spec, host_net=False) == (
        "nameserver 10.0.0.2\nsearch lan\noptions ndots:2\n")
    assert bundle.resolv_conf(_spec(tmp_path), host_net=True).startswith(
        "nameserver 127.0.0.53")
