"""Offline base images: ``pycompose image bootstrap debian:bookworm-slim``.

Runs Debian's ``mmdebstrap`` with the host's configured apt sources (so the
configured mirror is used, no registry involved), writes a root filesystem tarball
and imports it as an image with a Docker-like config (``PATH`` env, ``CMD bash``).
``-slim`` variants drop documentation, man pages and locales like the official slim
images (dpkg path excludes).  When mmdebstrap is missing the error says how to get it.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from runtime.errors import InvalidInputError, PermissionRequired, RuntimeFailure
from runtime.images.store import Image, ImageStore
from runtime.paths import StatePaths

SUITES = {"bookworm", "bullseye", "trixie", "sid", "buster", "stable", "testing", "unstable"}
DEBIAN_PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
SLIM_EXCLUDES = ("/usr/share/doc/*", "/usr/share/man/*", "/usr/share/info/*",
                 "/usr/share/locale/*", "/usr/share/lintian/*", "/usr/share/linda/*")
SLIM_INCLUDES = ("/usr/share/doc/*/copyright", "/usr/share/locale/locale.alias")


def parse_target(reference: str) -> tuple[str, bool]:
    """``debian:bookworm-slim`` -> ("bookworm", True)."""
    name, _, tag = reference.partition(":")
    if name.split("/")[-1] != "debian" or not tag:
        raise InvalidInputError(f"cannot bootstrap {reference!r}: only debian:<suite>[-slim] "
                                "images can be made offline",
                                hint="e.g. pycompose image bootstrap debian:bookworm-slim")
    slim = tag.endswith("-slim")
    suite = tag.removesuffix("-slim")
    if suite not in SUITES and not re.fullmatch(r"[a-z]+", suite):
        raise InvalidInputError(f"unknown Debian suite {suite!r}")
    return suite, slim


def mmdebstrap_command(suite: str, slim: bool, output: Path, *,
                       mirror: str | None = None, variant: str = "minbase",
                       include: tuple[str, ...] = ()) -> list[str]:
    cmd = ["mmdebstrap", f"--variant={variant}", "--mode=root", "--format=tar",
           "--quiet"]
    if slim:
        cmd += [f"--dpkgopt=path-exclude={p}" for p in SLIM_EXCLUDES]
        cmd += [f"--dpkgopt=path-include={p}" for p in SLIM_INCLUDES]
    # leave apt lists out of the image, as the official images do
    cmd.append("--customize-hook=rm -rf \"$1\"/var/lib/apt/lists/*")
    if include:
        cmd.append("--include=" + ",".join(include))
    cmd += [suite, str(output)]
    if mirror:
        cmd.append(mirror)
    else:
        cmd.append("-")  # "-": take the host's apt sources (the configured mirror)
    return cmd


def bootstrap(paths: StatePaths, reference: str, *, mirror: str | None = None,
              include: tuple[str, ...] = (), keep_tarball: Path | None = None) -> Image:
    suite, slim = parse_target(reference)
    if shutil.which("mmdebstrap") is None:
        raise RuntimeFailure("mmdebstrap is not installed: it is needed to make a Debian "
                             "base image without a registry",
                             hint="apt-get install mmdebstrap (it is in "
                                  "scripts/system-packages.txt)")
    if os.geteuid() != 0:
        raise PermissionRequired("image bootstrap needs root (mmdebstrap --mode=root)")
    tmp = paths.builds / "tmp"
    tmp.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=tmp) as d:
        out = Path(d) / "rootfs.tar"
        cmd = mmdebstrap_command(suite, slim, out, mirror=mirror, include=include)
        sources = _host_sources(suite) if mirror is None else ""
        proc = subprocess.run(cmd, input=sources, text=True, capture_output=True)
        if proc.returncode != 0:
            raise RuntimeFailure(f"mmdebstrap failed (exit {proc.returncode}):\n"
                                 f"{proc.stderr.strip()[-4000:]}",
                                 hint="check the host's apt sources and mirror access")
        if keep_tarball is not None:
            shutil.copyfile(out, keep_tarball)
        return import_rootfs_tarball(paths, out, reference)


def import_rootfs_tarball(paths: StatePaths, tarball: Path, reference: str) -> Image:
    """Import a bootstrapped Debian root filesystem with a Docker-like image config."""
    from runtime.images.reference import parse

    suite, _ = parse_target(reference)
    with open(tarball, "rb") as f:
        return ImageStore(paths).import_rootfs(
            f, parse(reference), changes={"Env": [DEBIAN_PATH], "Cmd": ["bash"]},
            message=f"pycompose image bootstrap {reference} (mmdebstrap {suite})")


def _host_codename() -> str:
    try:
        for line in Path("/etc/os-release").read_text().splitlines():
            if line.startswith("VERSION_CODENAME="):
                return line.partition("=")[2].strip().strip('"')
    except OSError:
        pass
    return ""


def _host_sources(suite: str) -> str:
    """The host's apt sources as one-line ``deb`` entries for mmdebstrap's stdin, with
    the host's codename (``bookworm``, ``bookworm-updates``...) replaced by ``suite``."""
    lines = _host_source_lines()
    host = _host_codename()
    if host and host != suite:
        out = []
        for line in lines:
            words = line.split()
            words = [suite + w[len(host):] if w == host or w.startswith(host + "-") else w
                     for w in words]
            out.append(" ".join(words))
        lines = out
    return "\n".join(lines) + "\n"


def _host_source_lines() -> list[str]:
    lines: list[str] = []
    main = Path("/etc/apt/sources.list")
    if main.is_file():
        lines += [ln for ln in main.read_text().splitlines()
                  if ln.strip().startswith(("deb ", "deb["))]
    d = Path("/etc/apt/sources.list.d")
    if d.is_dir():
        for f in sorted(d.iterdir()):
            if f.suffix == ".list":
                lines += [ln for ln in f.read_text().splitlines()
                          if ln.strip().startswith(("deb ", "deb["))]
            elif f.suffix == ".sources":
                lines += _deb822_to_lines(f.read_text())
    return lines


def _deb822_to_lines(text: str) -> list[str]:
    out = []
    for block in re.split(r"\n\s*\n", text):
        fields: dict[str, str] = {}
        for line in block.splitlines():
            if ":" in line and not line.startswith((" ", "#")):
                k, _, v = line.partition(":")
                fields[k.strip().lower()] = v.strip()
        if "deb" not in fields.get("types", "").split() or fields.get("enabled") == "no":
            continue
        opts = f"[signed-by={fields['signed-by']}] " if fields.get("signed-by", "").startswith(
            "/") else ""
        for uri in fields.get("uris", "").split():
            for suite in fields.get("suites", "").split():
                out.append(f"deb {opts}{uri} {suite} {fields.get('components', 'main')}")
    return out
