"""`image bootstrap` pieces that need no root: target parsing, mmdebstrap command line,
host apt sources, and the error when mmdebstrap is missing."""

import pytest

from runtime.build import bootstrap as bs
from runtime.errors import InvalidInputError, RuntimeFailure


def test_parse_target():
    assert bs.parse_target("debian:bookworm-slim") == ("bookworm", True)
    assert bs.parse_target("docker.io/library/debian:trixie") == ("trixie", False)
    for bad in ("ubuntu:22.04", "debian", "debian:Bad!"):
        with pytest.raises(InvalidInputError):
            bs.parse_target(bad)


def test_command_uses_host_sources_and_slim_excludes(tmp_path):
    cmd = bs.mmdebstrap_command("bookworm", True, tmp_path / "out.tar")
    assert cmd[0] == "mmdebstrap" and cmd[-3:] == ["bookworm", str(tmp_path / "out.tar"), "-"]
    assert "--dpkgopt=path-exclude=/usr/share/man/*" in cmd
    assert "--dpkgopt=path-include=/usr/share/doc/*/copyright" in cmd
    full = bs.mmdebstrap_command("bookworm", False, tmp_path / "o", mirror="http://m/debian")
    assert full[-1] == "http://m/debian" and not any("path-exclude" in c for c in full)


def test_deb822_sources_become_one_line_entries():
    text = ("Types: deb\nURIs: http://deb.example/debian\nSuites: bookworm bookworm-updates\n"
            "Components: main contrib\nSigned-By: /usr/share/keyrings/k.gpg\n\n"
            "Types: deb-src\nURIs: http://x\nSuites: bookworm\nComponents: main\n\n"
            "Types: deb\nEnabled: no\nURIs: http://y\nSuites: bookworm\nComponents: main\n")
    assert bs._deb822_to_lines(text) == [
        "deb [signed-by=/usr/share/keyrings/k.gpg] http://deb.example/debian bookworm main "
        "contrib",
        "deb [signed-by=/usr/share/keyrings/k.gpg] http://deb.example/debian bookworm-updates "
        "main contrib"]


def test_host_codename_is_replaced_by_the_requested_suite(monkeypatch):
    monkeypatch.setattr(bs, "_host_source_lines", lambda: [
        "deb http://m/debian bookworm main", "deb http://m/debian-security bookworm-security main"])
    monkeypatch.setattr(bs, "_host_codename", lambda: "bookworm")
    assert bs._host_sources("trixie").splitlines() == [
        "deb http://m/debian trixie main", "deb http://m/debian-security trixie-security main"]


def test_missing_mmdebstrap_is_a_clear_error(monkeypatch, state_paths):
    monkeypatch.setattr(bs.shutil, "which", lambda name: None)
    with pytest.raises(RuntimeFailure, match="mmdebstrap is not installed") as info:
        bs.bootstrap(state_paths, "debian:bookworm-slim")
    assert "apt-get install mmdebstrap" in info.value.hint
