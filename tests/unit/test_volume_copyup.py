"""runtime.volumes.copyup: path resolution in the image, overlay merge, copy semantics
that need no privileges (ownership is covered by the integration tests)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from runtime.volumes import staging
from runtime.volumes.copyup import DirTree, LayerTree, copy_up, resolve_in_tree


def _tree(root: Path, files: dict[str, str | None]) -> Path:
    """files: path -> content (None = directory, '->x' = symlink to x)."""
    for rel, content in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        if content is None:
            p.mkdir(exist_ok=True)
        elif content.startswith("->"):
            p.symlink_to(content[2:])
        else:
            p.write_text(content)
    return root


def _listing(root: Path) -> dict[str, str]:
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for n in dirnames + filenames:
            p = Path(dirpath) / n
            rel = str(p.relative_to(root))
            if p.is_symlink():
                out[rel] = "->" + os.readlink(p)
            elif p.is_dir():
                out[rel] = "dir"
            elif not p.is_file():
                out[rel] = "special"
            else:
                out[rel] = p.read_text()
    return out


def test_resolve_follows_symlinks_inside_root(tmp_path):
    root = _tree(tmp_path / "r", {"run/app/x": "1", "var/run": "->/run",
                                   "var/up": "->../../../../run", "loop": "->loop"})
    t = DirTree(root)
    assert resolve_in_tree(t, "/var/run/app") == ("run", "app")
    assert resolve_in_tree(t, "/var/up/app") == ("run", "app")   # '..' stops at the root
    assert resolve_in_tree(t, "/../../run") == ("run",)
    assert resolve_in_tree(t, "/missing") is None
    assert resolve_in_tree(t, "/loop") is None


def test_copy_up_plain_dir(tmp_path):
    root = _tree(tmp_path / "r", {"data/a.txt": "A", "data/sub/b.txt": "B",
                                   "data/link": "->a.txt", "data/empty": None})
    os.chmod(root / "data" / "sub", 0o750)
    os.chmod(root / "data" / "a.txt", 0o604)
    os.link(root / "data" / "a.txt", root / "data" / "sub" / "hard")
    os.mkfifo(root / "data" / "fifo")
    os.utime(root / "data" / "sub" / "b.txt", ns=(10**18, 123456789012345678))
    dest = tmp_path / "vol"
    dest.mkdir()
    assert copy_up(root, "/data", dest) is True
    assert _listing(dest) == {"a.txt": "A", "sub": "dir", "sub/b.txt": "B", "link": "->a.txt",
                              "empty": "dir", "sub/hard": "A", "fifo": "special"}
    assert stat.S_IMODE(os.stat(dest / "sub").st_mode) == 0o750
    assert stat.S_IMODE(os.stat(dest / "a.txt").st_mode) == 0o604
    assert os.stat(dest / "a.txt").st_ino == os.stat(dest / "sub" / "hard").st_ino
    assert stat.S_ISFIFO(os.lstat(dest / "fifo").st_mode)
    assert os.stat(dest / "sub" / "b.txt").st_mtime_ns == 123456789012345678
    assert not [n for n in os.listdir(dest) if n.startswith(".pycompose")]


def test_copy_up_root_takes_image_dir_mode(tmp_path):
    root = _tree(tmp_path / "r", {"data/x": "1"})
    os.chmod(root / "data", 0o700)
    dest = tmp_path / "vol"
    dest.mkdir(mode=0o755)
    copy_up(root, "/data", dest)
    assert stat.S_IMODE(os.stat(dest).st_mode) == 0o700


def test_copy_up_only_into_empty(tmp_path):
    root = _tree(tmp_path / "r", {"data/x": "1"})
    dest = tmp_path / "vol"
    dest.mkdir()
    (dest / "mine").write_text("keep")
    assert copy_up(root, "/data", dest) is False
    assert _listing(dest) == {"mine": "keep"}


def test_copy_up_missing_or_file_path(tmp_path):
    root = _tree(tmp_path / "r", {"file": "x"})
    dest = tmp_path / "vol"
    dest.mkdir()
    assert copy_up(root, "/nope", dest) is False
    assert copy_up(root, "/file", dest) is False
    assert os.listdir(dest) == []


def test_copy_up_resumes_after_interrupted_stage(tmp_path):
    root = _tree(tmp_path / "r", {"data/x": "1"})
    dest = tmp_path / "vol"
    (dest / f"{staging.STAGE}dead" / "partial").mkdir(parents=True)
    assert copy_up(root, "/data", dest) is True
    assert _listing(dest) == {"x": "1"}


def test_copy_up_through_symlinked_path_stays_in_root(tmp_path):
    outside = _tree(tmp_path / "outside", {"secret": "host"})
    root = _tree(tmp_path / "r", {"real/x": "1", "data": f"->{outside}"})
    dest = tmp_path / "vol"
    dest.mkdir()
    # the absolute link target is resolved inside the root, where it does not exist
    assert copy_up(root, "/data", dest) is False
    assert os.listdir(dest) == []


def test_layer_tree_merge_with_aufs_whiteouts(tmp_path):
    lower = _tree(tmp_path / "l1", {"data/a": "old-a", "data/b": "b", "data/gone": "x",
                                    "data/dir/in-lower": "1", "data/opq/lower-only": "1"})
    upper = _tree(tmp_path / "l2", {"data/a": "new-a", "data/.wh.gone": "",
                                    "data/dir/in-upper": "2", "data/opq/upper-only": "2",
                                    "data/opq/.wh..wh..opq": ""})
    t = LayerTree([upper, lower])
    assert t.listdir(("data",)) == ["a", "b", "dir", "opq"]
    assert t.lookup(("data", "gone")) is None
    assert t.listdir(("data", "dir")) == ["in-lower", "in-upper"]
    assert t.listdir(("data", "opq")) == ["upper-only"]
    assert t.lookup(("data", "opq", "lower-only")) is None
    dest = tmp_path / "vol"
    dest.mkdir()
    assert copy_up((upper, lower), "/data", dest) is True
    assert _listing(dest) == {"a": "new-a", "b": "b", "dir": "dir", "dir/in-lower": "1",
                              "dir/in-upper": "2", "opq": "dir", "opq/upper-only": "2"}


def test_layer_tree_file_hides_lower_dir_and_symlink_across_layers(tmp_path):
    lower = _tree(tmp_path / "l1", {"x/inside": "1", "real/data/f": "lower"})
    upper = _tree(tmp_path / "l2", {"x": "now-a-file", "data": "->/real/data"})
    t = LayerTree([upper, lower])
    assert t.lookup(("x", "inside")) is None
    assert resolve_in_tree(t, "/data") == ("real", "data")
    dest = tmp_path / "vol"
    dest.mkdir()
    assert copy_up([upper, lower], "/data", dest) is True
    assert _listing(dest) == {"f": "lower"}


@pytest.mark.parametrize("n", [0, 1])
def test_layer_tree_empty_and_single(tmp_path, n):
    layers = [_tree(tmp_path / f"l{i}", {"d/f": str(i)}) for i in range(n)]
    t = LayerTree(layers)
    assert (t.lookup(("d", "f")) is not None) == bool(n)


def _copy_in_child(root, dest, q) -> None:
    q.put(copy_up(root, "/data", dest))


def test_concurrent_copy_up_copies_once(tmp_path):
    import multiprocessing

    root = _tree(tmp_path / "r", {f"data/d{i}/f{j}": f"{i}-{j}" for i in range(10)
                                   for j in range(20)})
    dest = tmp_path / "vol"
    dest.mkdir()
    ctx = multiprocessing.get_context("fork")
    q = ctx.Queue()
    procs = [ctx.Process(target=_copy_in_child, args=(root, dest, q)) for _ in range(4)]
    for p in procs:
        p.start()
    results = [q.get(timeout=30) for _ in procs]
    for p in procs:
        p.join(30)
    assert sorted(results) == [False, False, False, True]
    assert _listing(dest) == _listing(root / "data")
