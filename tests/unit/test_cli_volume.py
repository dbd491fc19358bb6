"""``pycompose volume ...`` through the real CLI (plain local volumes: no root needed)."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.conftest import cli_env


def test_create_ls_inspect_rm(run_cli):
    assert run_cli("volume", "create", "data1", "--label", "app=x").stdout.strip() == "data1"
    anon = run_cli("volume", "create").stdout.strip()
    assert len(anon) == 64
    ls = run_cli("volume", "ls")
    assert ls.returncode == 0 and "DRIVER" in ls.stdout and "data1" in ls.stdout
    assert set(run_cli("volume", "ls", "-q").stdout.split()) == {"data1", anon}
    lines = run_cli("volume", "ls", "--format", "json").stdout.splitlines()
    assert {json.loads(line)["Name"] for line in lines} == {"data1", anon}
    assert run_cli("volume", "ls", "-q", "--filter", "label=app=x").stdout.split() == ["data1"]
    assert run_cli("volume", "ls", "-q", "--filter", "name=ata").stdout.split() == ["data1"]
    assert set(run_cli("volume", "ls", "-q", "--filter", "dangling=true").stdout.split()) == \
        {"data1", anon}
    info = json.loads(run_cli("volume", "inspect", "data1").stdout)
    assert info[0]["Name"] == "data1" and info[0]["Labels"] == {"app": "x"}
    assert info[0]["Driver"] == "local" and info[0]["Mountpoint"].endswith("/data1/_data")
    rm = run_cli("volume", "rm", "data1")
    assert rm.returncode == 0 and rm.stdout.strip() == "data1"
    assert run_cli("volume", "ls", "-q").stdout.split() == [anon]


def test_errors_have_exit_codes(run_cli):
    r = run_cli("volume", "inspect", "missing")
    assert r.returncode == 4 and "no such volume" in r.stderr
    assert run_cli("volume", "rm", "missing").returncode == 4
    assert run_cli("volume", "rm", "-f", "missing").returncode == 0
    run_cli("volume", "create", "dup1")
    r = run_cli("volume", "create", "dup1")
    assert r.returncode == 6 and "already exists" in r.stderr
    r = run_cli("volume", "create", "-o", "type=nfs", "-o", "device=:/x", "nfs1")
    assert r.returncode != 0 and "not supported" in r.stderr and "Traceback" not in r.stderr
    r = run_cli("volume", "create", "bad/name")
    assert r.returncode == 3 and "invalid volume name" in r.stderr
    r = run_cli("volume", "ls", "--filter", "bogus=1")
    assert r.returncode == 2


def test_rm_in_use_refused(run_cli, state_paths):
    run_cli("volume", "create", "used1")
    cdir = state_paths.containers / "c0ffee"
    cdir.mkdir(parents=True)
    (cdir / "config.json").write_text(json.dumps(
        {"mounts": [{"type": "volume", "volume_name": "used1", "target": "/d"}]}))
    r = run_cli("volume", "rm", "used1")
    assert r.returncode == 6 and "in use" in r.stderr and "c0ffee" in r.stderr
    assert run_cli("volume", "ls", "-q", "--filter", "dangling=false").stdout.split() == ["used1"]
    assert run_cli("volume", "ls", "-q", "--filter", "dangling=true").stdout.split() == []
    assert run_cli("volume", "prune", "-af").returncode == 0
    assert run_cli("volume", "ls", "-q").stdout.split() == ["used1"]


def test_prune_default_only_anonymous(run_cli):
    run_cli("volume", "create", "named1")
    anon = run_cli("volume", "create").stdout.strip()
    r = run_cli("volume", "prune", "-f")
    assert r.returncode == 0 and anon in r.stdout and "Total reclaimed space" in r.stdout
    assert run_cli("volume", "ls", "-q").stdout.split() == ["named1"]
    r = run_cli("volume", "prune", input="n\n")
    assert r.returncode != 0
    assert run_cli("volume", "ls", "-q").stdout.split() == ["named1"]
    assert "named1" in run_cli("volume", "prune", "-a", input="y\n").stdout
    assert run_cli("volume", "ls", "-q").stdout.split() == []


def test_export_import_through_pipes(run_cli, state_paths, tmp_path):
    run_cli("volume", "create", "src1")
    data = state_paths.volumes / "src1" / "_data"
    (data / "dir").mkdir()
    (data / "dir" / "f.bin").write_bytes(bytes(range(256)) * 100)
    env = cli_env({"PYCOMPOSE_ROOT": str(state_paths.root),
                   "PYCOMPOSE_RUN_DIR": str(state_paths.run_dir)})
    exp = subprocess.run([sys.executable, "-m", "compose", "volume", "export", "src1"],
                         env=env, capture_output=True, timeout=60)
    assert exp.returncode == 0, exp.stderr
    imp = subprocess.run([sys.executable, "-m", "compose", "volume", "import", "dst1"],
                         env=env, input=exp.stdout, capture_output=True, timeout=60)
    assert imp.returncode == 0, imp.stderr
    assert (state_paths.volumes / "dst1" / "_data" / "dir" / "f.bin").read_bytes() == \
        bytes(range(256)) * 100
    again = subprocess.run([sys.executable, "-m", "compose", "volume", "export", "dst1"],
                           env=env, capture_output=True, timeout=60)
    assert again.stdout == exp.stdout
    # into a non-empty volume: refused, then --force replaces
    imp2 = subprocess.run([sys.executable, "-m", "compose", "volume", "import", "dst1"],
                          env=env, input=exp.stdout, capture_output=True, timeout=60)
    assert imp2.returncode == 6
    out = tmp_path / "vol.tar"
    assert run_cli("volume", "export", "src1", "-o", str(out)).returncode == 0
    assert out.read_bytes() == exp.stdout
    assert run_cli("volume", "import", "--force", "dst1", str(out)).returncode == 0


def test_corrupt_import_is_clear_and_changes_nothing(run_cli, tmp_path):
    bad = tmp_path / "bad.tar"
    bad.write_bytes(b"\x00garbage" * 300)
    r = run_cli("volume", "import", "newv", str(bad))
    assert r.returncode == 3 and "archive" in r.stderr and "Traceback" not in r.stderr
    assert run_cli("volume", "ls", "-q").stdout.split() == []
    r = run_cli("volume", "import", "newv", str(tmp_path / "absent.tar"))
    assert r.returncode == 4


def test_format_templates(run_cli):
    from compose.cli.cmd_volume import render_template

    info = {"Name": "v1", "Labels": {"a": "1"}, "Mountpoint": "/x/_data"}
    assert render_template("{{.Name}}: {{ .Mountpoint }}", info) == "v1: /x/_data"
    assert render_template("{{json .Labels}}", info) == '{"a": "1"}'
    assert render_template("{{.Labels}}", info) == "map[a:1]"
    run_cli("volume", "create", "tpl1", "--label", "k=v")
    r = run_cli("volume", "inspect", "-f", "{{.Mountpoint}}", "tpl1")
    assert r.returncode == 0 and r.stdout.strip().endswith("/volumes/tpl1/_data")
    assert run_cli("volume", "ls", "--format", "{{.Name}} {{.Driver}}").stdout == \
        "tpl1 local\n"
    r = run_cli("volume", "inspect", "-f", "{{.Nope}}", "tpl1")
    assert r.returncode == 2 and "no field" in r.stderr
    r = run_cli("volume", "inspect", "-f", "{{range .Labels}}x{{end}}", "tpl1")
    assert r.returncode == 2 and "unsupported" in r.stderr
