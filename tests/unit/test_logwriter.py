from __future__ import annotations

import json

from runtime.shim.logwriter import MAX_LINE, LogWriter


def _entries(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_lines_and_partial_lines(tmp_path):
    log = tmp_path / "c-json.log"
    w = LogWriter(str(log))
    w.write("stdout", b"hello\nwor")
    w.write("stderr", b"oops\n")
    w.write("stdout", b"ld\n")
    w.write("stdout", b"tail")
    w.close()
    e = _entries(log)
    assert [(x["stream"], x["log"]) for x in e] == [
        ("stdout", "hello\n"), ("stderr", "oops\n"), ("stdout", "world\n"), ("stdout", "tail")]
    assert e[0]["time"].endswith("Z") and len(e[0]["time"].split(".")[1]) == 10


def test_long_lines_are_split(tmp_path):
    log = tmp_path / "c-json.log"
    w = LogWriter(str(log))
    w.write("stdout", b"x" * (MAX_LINE * 2 + 5) + b"\n")
    w.close()
    assert [len(x["log"]) for x in _entries(log)] == [MAX_LINE, MAX_LINE, 6]


def test_rotation_keeps_max_file(tmp_path):
    log = tmp_path / "c-json.log"
    w = LogWriter(str(log), max_size=300, max_file=3)
    for i in range(60):
        w.write("stdout", f"line {i}\n".encode())
    w.close()
    files = sorted(p.name for p in tmp_path.iterdir())
    assert files == ["c-json.log", "c-json.log.1", "c-json.log.2"]
    for p in tmp_path.iterdir():
        assert p.stat().st_size <= 300
    last = _entries(log)[-1]["log"]
    assert last == "line 59\n"
    # oldest kept entries come from .2, continuous with .1 and the live file
    seq = [int(x["log"].split()[1]) for f in ("c-json.log.2", "c-json.log.1", "c-json.log")
           for x in _entries(tmp_path / f)]
    assert seq == list(range(seq[0], 60))


def test_long_line_followed_by_short_ones(tmp_path):
    log = tmp_path / "c-json.log"
    w = LogWriter(str(log))
    w.write("stdout", b"y" * (MAX_LINE + 10) + b"\nabc\ndef\n")
    assert [x["log"] for x in _entries(log)][-2:] == ["abc\n", "def\n"]
    w.close()
