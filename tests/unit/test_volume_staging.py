"""runtime.volumes.staging: every state an interrupted fill can leave is recovered to
the complete old or the complete new content."""

from __future__ import annotations

import os
from pathlib import Path

from runtime.volumes import staging


def _content(d: Path) -> dict[str, str]:
    return {n: (d / n).read_text() for n in sorted(os.listdir(d))}


def _setup(tmp_path: Path) -> Path:
    dest = tmp_path / "data"
    dest.mkdir()
    for n in ("a", "b", "c"):
        (dest / n).write_text(f"old-{n}")
    return dest


def _stage(dest: Path, prefix: str, names=("a", "x")) -> Path:
    d = dest / f"{prefix}1234"
    d.mkdir()
    for n in names:
        (d / n).write_text(f"new-{n}")
    return d


OLD = {"a": "old-a", "b": "old-b", "c": "old-c"}
NEW = {"a": "new-a", "x": "new-x"}


def test_commit_replace(tmp_path):
    dest = _setup(tmp_path)
    stage = staging.new_stage(dest)
    for n in ("a", "x"):
        (stage / n).write_text(f"new-{n}")
    os.chmod(stage, 0o750)
    staging.commit(stage, dest, replace=True)
    assert _content(dest) == NEW
    assert oct(os.stat(dest).st_mode & 0o777) == oct(0o750)


def test_killed_while_staging(tmp_path):
    dest = _setup(tmp_path)
    _stage(dest, staging.STAGE)
    assert staging.recover(dest) == "back"
    assert _content(dest) == OLD


def test_killed_while_moving_old_aside(tmp_path):
    dest = _setup(tmp_path)
    _stage(dest, staging.STAGE)
    old = dest / f"{staging.OLD}1234"
    old.mkdir()
    os.rename(dest / "a", old / "a")                  # half of the old entries moved
    assert staging.recover(dest) == "back"
    assert _content(dest) == OLD


def test_killed_after_commit_point(tmp_path):
    dest = _setup(tmp_path)
    old = dest / f"{staging.OLD}1234"
    old.mkdir()
    for n in ("a", "b", "c"):
        os.rename(dest / n, old / n)
    ready = _stage(dest, staging.READY)
    os.rename(ready / "a", dest / "a")                # half of the new entries moved
    assert staging.recover(dest) == "forward"
    assert _content(dest) == NEW


def test_killed_during_non_replace_move(tmp_path):
    dest = tmp_path / "data"
    dest.mkdir()
    ready = _stage(dest, staging.READY)
    os.rename(ready / "x", dest / "x")
    assert staging.recover(dest) == "forward"
    assert _content(dest) == NEW


def test_nothing_to_recover(tmp_path):
    dest = _setup(tmp_path)
    assert staging.recover(dest) is None
    assert _content(dest) == OLD


def test_killed_while_deleting_replaced_content(tmp_path):
    # committed and moved; the old content was being deleted: it must stay deleted
    dest = tmp_path / "data"
    dest.mkdir()
    for n in ("a", "x"):
        (dest / n).write_text(f"new-{n}")
    trash = dest / f"{staging.TRASH}1234"
    trash.mkdir()
    (trash / "a").write_text("old-a")                # half deleted old content
    assert staging.recover(dest) == "back"
    assert _content(dest) == NEW


def test_killed_after_moving_before_trash(tmp_path):
    dest = tmp_path / "data"
    dest.mkdir()
    for n in ("a", "x"):
        (dest / n).write_text(f"new-{n}")
    old = dest / f"{staging.OLD}1234"
    old.mkdir()
    (old / "b").write_text("old-b")
    (dest / f"{staging.READY}1234").mkdir()          # ready still there (empty)
    assert staging.recover(dest) == "forward"
    assert _content(dest) == NEW
