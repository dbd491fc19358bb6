"""The schema-validation cache and the ``config -q`` result cache never hide a change."""

import pytest

from compose.validate import cache
from tests.unit._compose_helpers import project_of


def test_schema_cache_remembers_only_valid_trees(tmp_path, monkeypatch):
    monkeypatch.setenv("PYCOMPOSE_CACHE_DIR", str(tmp_path / "c"))
    monkeypatch.delenv("PYCOMPOSE_NO_CACHE", raising=False)
    # the cache is used when the jsonschema-rs pre-check is not installed
    monkeypatch.setattr("compose.validate.schema._fast_validator", lambda: None)
    from compose.project_loader import schema_issues

    good = {"services": {"a": {"image": "x"}}}
    bad = {"services": {"a": {"image": 1}}}
    assert not cache.is_known_valid(cache.tree_key(good))
    assert schema_issues(good) == []
    assert cache.is_known_valid(cache.tree_key(good))
    assert schema_issues(bad) and schema_issues(bad)
    assert not cache.is_known_valid(cache.tree_key(bad))
    assert cache.tree_key(good) != cache.tree_key({"services": {"a": {"image": "y"}}})
    monkeypatch.setenv("PYCOMPOSE_NO_CACHE", "1")
    assert cache.cache_dir() is None


def test_unwritable_cache_dir_is_skipped(tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setenv("PYCOMPOSE_CACHE_DIR", str(blocker))
    monkeypatch.delenv("PYCOMPOSE_NO_CACHE", raising=False)
    assert project_of(tmp_path, "services:\n  a: {image: x}\n").services


@pytest.fixture
def cli(run_cli, tmp_path):
    cache_dir = tmp_path / "cache"
    return lambda *a, env=None, **kw: run_cli(
        *a, env={"PYCOMPOSE_CACHE_DIR": str(cache_dir), **(env or {})}, **kw)


def test_config_quiet_cache_sees_every_change(cli, tmp_path):
    d = tmp_path / "p"
    d.mkdir()
    (d / "compose.yaml").write_text("version: '3'\nservices:\n  a:\n    image: x\n"
                                    "    env_file: [{path: opt.env, required: false}]\n"
                                    "    ports: ['${PORT:-80}:80']\n")
    first = cli("config", "-q", cwd=d)
    assert first.returncode == 0 and "obsolete" in first.stderr
    assert list((tmp_path / "cache" / "config-q").iterdir())
    again = cli("config", "-q", cwd=d)
    assert again.returncode == 0 and "obsolete" in again.stderr  # warnings replayed
    # the environment is an input
    assert cli("config", "-q", cwd=d, env={"PORT": "99999"}).returncode == 3
    # an optional env file appearing is an input
    (d / "opt.env").write_text("bad line without equals sign or quote '\n")
    r = cli("config", "-q", cwd=d)
    assert r.returncode == 3 and "opt.env" in r.stderr
    (d / "opt.env").unlink()
    assert cli("config", "-q", cwd=d).returncode == 0
    # a new .env is an input
    (d / ".env").write_text("PORT=70000\n")
    assert cli("config", "-q", cwd=d).returncode == 3
    (d / ".env").unlink()
    # a discovered override file appearing is an input
    (d / "compose.override.yaml").write_text("services:\n  a:\n    bogus: 1\n")
    r = cli("config", "-q", cwd=d)
    assert r.returncode == 3 and "bogus" in r.stderr
    (d / "compose.override.yaml").unlink()
    # the file itself
    (d / "compose.yaml").write_text("services:\n  a:\n    imag: x\n")
    assert cli("config", "-q", cwd=d).returncode == 3
