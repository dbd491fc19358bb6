"""Reading json-file logs: rotation order, --tail, --since/--until, time parsing."""

from __future__ import annotations

import json

import pytest

from runtime.container.logs import parse_time, read_logs
from runtime.container.store import ContainerStore
from runtime.errors import InvalidInputError

CID = "c" * 64


def _write(path, entries):
    path.write_text("".join(json.dumps({"log": text, "stream": stream, "time": t}) + "\n"
                            for stream, text, t in entries))


@pytest.fixture
def store(state_paths):
    s = ContainerStore(state_paths)
    d = s.dir(CID)
    d.mkdir(parents=True)
    _write(d / f"{CID}-json.log.2", [("stdout", "a\n", "2024-01-01T00:00:01.000000000Z")])
    _write(d / f"{CID}-json.log.1", [("stderr", "b\n", "2024-01-01T00:00:02.000000000Z")])
    _write(d / f"{CID}-json.log", [("stdout", "c\n", "2024-01-01T00:00:03.000000000Z"),
                                   ("stdout", "d\n", "2024-01-01T00:00:04.500000000Z")])
    (d / f"{CID}-json.log").open("a").write("garbage line\n")
    return s


def _texts(entries):
    return [e.data.decode() for e in entries]


def test_rotated_files_oldest_first(store):
    assert _texts(read_logs(store, CID)) == ["a\n", "b\n", "c\n", "d\n"]
    assert [e.stream for e in read_logs(store, CID)] == ["stdout", "stderr", "stdout",
                                                         "stdout"]


def test_tail_since_until(store):
    assert _texts(read_logs(store, CID, tail=2)) == ["c\n", "d\n"]
    assert _texts(read_logs(store, CID, tail=0)) == []
    assert _texts(read_logs(store, CID, since="2024-01-01T00:00:02Z")) == ["b\n", "c\n", "d\n"]
    assert _texts(read_logs(store, CID, until="2024-01-01T00:00:03Z")) == ["a\n", "b\n", "c\n"]
    assert _texts(read_logs(store, CID, since="1704067203", until="1704067204.6")) == [
        "c\n", "d\n"]


def test_parse_time_forms():
    assert parse_time("2024-01-01T00:00:00Z") == "2024-01-01T00:00:00.000000000Z"
    assert parse_time("2024-01-01T01:00:00+01:00") == "2024-01-01T00:00:00.000000000Z"
    assert parse_time("10m") < parse_time("1s")
    with pytest.raises(InvalidInputError):
        parse_time("yesterday-ish")
