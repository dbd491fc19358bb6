from compose.cli.image_progress import PlainRenderer
from runtime.images.pull import PullEvent


def test_plain_renderer_lines(capsys):
    r = PlainRenderer()
    r(PullEvent("bb:1", None, "Resolving"))
    r(PullEvent("bb:1", "abc", "Waiting", 0, 100))
    for cur in (0, 10, 20, 30, 60, 100):
        r(PullEvent("bb:1", "abc", "Downloading", cur, 100))
    r(PullEvent("bb:1", "abc", "Retrying", detail="connection reset"))
    r(PullEvent("bb:1", "abc", "Pull complete", 100, 100))
    r(PullEvent("bb:1", None, "Digest", detail="sha256:x"))
    out = capsys.readouterr().out.splitlines()
    assert out == ["bb:1: Pulling from bb", "abc: Waiting", "abc: Downloading 0%",
                   "abc: Downloading 30%", "abc: Downloading 60%", "abc: Downloading 100%",
                   "abc: Retrying (connection reset)", "abc: Pull complete",
                   "Digest: sha256:x"]


def test_quiet_renderer(capsys):
    r = PlainRenderer(quiet=True)
    r(PullEvent("bb:1", "abc", "Waiting"))
    assert capsys.readouterr().out == ""


def test_rich_renderer_smoke(capsys):
    from compose.cli.image_progress import RichRenderer

    r = RichRenderer()
    r(PullEvent("bb:1", "abc", "Waiting", 0, 100))
    r(PullEvent("bb:1", "abc", "Downloading", 50, 100))
    r(PullEvent("bb:1", "abc", "Pull complete", 100, 100))
    r(PullEvent("bb:1", None, "Digest", detail="sha256:x"))
    r.close()
    out = capsys.readouterr().out
    assert "Pull complete" in out and "Digest: sha256:x" in out
