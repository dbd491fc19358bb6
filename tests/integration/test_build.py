"""Dockerfile builds on the real kernel: RUN in real containers, layers in the real store.

The base image is the busybox test rootfs (tests/rootfs.py) imported with the images
API.  Built images are checked by running them with the runtime.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import tarfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from runtime.build.engine import Builder, BuildRequest
from runtime.build.events import BuildEvent
from runtime.errors import PycomposeError
from tests.conftest import needs_root

pytestmark = [pytest.mark.integration, needs_root]


def _tar_dir(root: Path) -> io.BytesIO:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        tf.add(root, arcname=".")
    buf.seek(0)
    return buf


@pytest.fixture
def base(state_paths, busybox):
    """``busybox:test`` in the test's store."""
    from runtime.images.reference import parse
    from runtime.images.store import ImageStore

    ImageStore(state_paths).import_rootfs(_tar_dir(busybox), parse("busybox:test"))
    yield "busybox:test"
    remove_build_network(state_paths)


def remove_build_network(state_paths) -> None:
    """The default RUN network (a host bridge) outlives builds, like docker0: tests
    remove it with their temporary root."""
    from runtime.build.runstep import BUILD_NETWORK
    from runtime.network.api import Networks

    nets = Networks(state_paths)
    try:
        if nets.exists(BUILD_NETWORK):
            nets.remove(BUILD_NETWORK, force=True)
    finally:
        nets.close()


class Recorder:
    def __init__(self) -> None:
        self.events: list[BuildEvent] = []

    def __call__(self, ev: BuildEvent) -> None:
        self.events.append(ev)

    def titles(self, kind: str) -> list[str]:
        return [e.title for e in self.events if e.kind == kind]

    def output(self) -> str:
        return "".join(e.text for e in self.events if e.kind == "output")


def build(state_paths, ctx: Path, dockerfile: str | None = None, **kw):
    if dockerfile is not None:
        (ctx / "Dockerfile").write_text(dockerfile)
    rec = Recorder()
    result = Builder(state_paths, rec).build(BuildRequest(ctx, **kw))
    return result, rec


def run_image(rt, image, *args: str, user: str = "") -> tuple[int, str]:
    """Run ``args`` (or the image's entrypoint+cmd) in a container of ``image``."""
    from runtime.spec import ContainerSpec, Process, RootFS

    cfg = image.config
    argv = tuple(args) or tuple((cfg.get("Entrypoint") or []) + (cfg.get("Cmd") or []))
    spec = ContainerSpec(image="test", image_id=image.id,
                         rootfs=RootFS(tuple(image.layer_dirs())),
                         process=Process(args=argv, env=tuple(cfg.get("Env") or ()),
                                         cwd=cfg.get("WorkingDir") or "/",
                                         user=user or cfg.get("User", "")))
    cid = rt.containers.create(spec)
    try:
        rt.containers.start(cid)
        code = rt.containers.wait(cid, timeout=60)
        out = "".join(e.data.decode() for e in rt.containers.logs(cid))
    finally:
        rt.containers.remove(cid, force=True)
    return code, out


def _no_leftovers(state_paths):
    from runtime.api import Runtime

    assert list(Runtime(state_paths).containers.store.records()) == []
    with open("/proc/self/mountinfo") as f:
        mounts = f.read()
    assert str(state_paths.root) not in mounts
    tmp = state_paths.builds / "tmp"
    assert not tmp.exists() or list(tmp.iterdir()) == []


# -- instructions -------------------------------------------------------------------------

def test_every_instruction(state_paths, base, rt, tmp_path):
    ctx = tmp_path / "ctx"
    (ctx / "dir" / "sub").mkdir(parents=True)
    (ctx / "dir" / "sub" / "x.txt").write_text("x\n")
    (ctx / "hello.txt").write_text("hello\n")
    arch = io.BytesIO()
    with tarfile.open(fileobj=arch, mode="w") as tf:
        data = b"from the archive\n"
        ti = tarfile.TarInfo("pkg/inside.txt")
        ti.size = len(data)
        tf.addfile(ti, io.BytesIO(data))
    (ctx / "bundle.tar.gz").write_bytes(gzip.compress(arch.getvalue()))
    df = """# syntax=docker/dockerfile:1
ARG BASE=busybox:test
FROM $BASE AS build
ARG GREETING=hi
ENV APP_HOME=/srv/app \\
    MODE="prod mode"
LABEL org.example.name="demo app" version=1.0
WORKDIR $APP_HOME
COPY hello.txt ./
COPY --chown=app:staff --chmod=640 dir/ /data/
ADD bundle.tar.gz /opt/
RUN echo "$GREETING from $MODE" > greeting.txt && rm /bin/vi
RUN <<EOF
echo heredoc-ran > /heredoc.txt
EOF
COPY <<EOF /etc/motd
motd for $APP_HOME
EOF
SHELL ["/bin/sh", "-e", "-c"]
RUN echo shell-ok > /shell.txt
USER app
EXPOSE 8080 53/udp
VOLUME ["/var/data"]
STOPSIGNAL SIGINT
HEALTHCHECK --interval=5s --timeout=2s --retries=4 CMD wget -q -O- http://localhost:8080/
ONBUILD RUN echo child
MAINTAINER someone
ENTRYPOINT ["/bin/sh", "-c"]
CMD ["cat greeting.txt"]
"""
    res, _rec = build(state_paths, ctx, df, tags=("demo:1",))
    img = res.image
    cfg = img.config
    assert "docker.io/library/demo:1" in img.references
    assert "APP_HOME=/srv/app" in cfg["Env"] and "MODE=prod mode" in cfg["Env"]
    assert not any(e.startswith("GREETING=") for e in cfg["Env"])  # ARGs are not persisted
    assert cfg["Labels"] == {"org.example.name": "demo app", "version": "1.0"}
    assert cfg["WorkingDir"] == "/srv/app" and cfg["User"] == "app"
    assert cfg["ExposedPorts"] == {"8080/tcp": {}, "53/udp": {}}
    assert cfg["Volumes"] == {"/var/data": {}} and cfg["StopSignal"] == "SIGINT"
    assert cfg["Healthcheck"] == {"Test": ["CMD-SHELL", "wget -q -O- http://localhost:8080/"],
                                  "Interval": 5_000_000_000, "Timeout": 2_000_000_000,
                                  "Retries": 4}
    assert cfg["OnBuild"] == ["RUN echo child"] and cfg["Shell"] == ["/bin/sh", "-e", "-c"]
    assert cfg["Entrypoint"] == ["/bin/sh", "-c"] and cfg["Cmd"] == ["cat greeting.txt"]
    assert img.raw_config["author"] == "someone"
    history = img.raw_config["history"]
    assert sum(1 for h in history if not h.get("empty_layer")) == len(img.diff_ids)
    assert any(h["created_by"].startswith("RUN |1 GREETING=hi /bin/sh -c echo \"$GREETING")
               for h in history)

    code, out = run_image(rt, img)
    assert (code, out) == (0, "hi from prod mode\n")
    code, out = run_image(rt, img, "/bin/sh", "-c",
                          "cat /srv/app/hello.txt /opt/pkg/inside.txt /heredoc.txt "
                          "/etc/motd /shell.txt; stat -c '%U:%G %a' /data/sub/x.txt; "
                          "ls /bin/vi 2>&1 || echo vi-gone", user="root")
    assert out.splitlines() == ["hello", "from the archive", "heredoc-ran",
                                "motd for /srv/app", "shell-ok", "app:staff 640",
                                "ls: /bin/vi: No such file or directory", "vi-gone"]
    _no_leftovers(state_paths)


def test_onbuild_triggers_run_in_child(state_paths, base, rt, tmp_path):
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    build(state_paths, ctx, "FROM busybox:test\nONBUILD RUN echo triggered > /t\n",
          tags=("parent:1",))
    res, _ = build(state_paths, ctx, "FROM parent:1\nRUN cat /t\n")
    assert "OnBuild" not in res.image.config
    assert run_image(rt, res.image, "cat", "/t") == (0, "triggered\n")


def test_shell_and_exec_forms(state_paths, base, rt, tmp_path):
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    res, rec = build(state_paths, ctx,
                     "FROM busybox:test\nENV WHO=world\n"
                     'RUN ["/bin/sh", "-c", "echo exec-$WHO > /exec.txt"]\n'
                     'RUN ["/bin/echo", "$WHO"]\n'
                     "RUN echo shell-$WHO > /shell.txt\n"
                     "CMD echo $WHO\n")
    assert "$WHO" in rec.output()  # exec form: no shell, no substitution
    assert res.image.config["Cmd"] == ["/bin/sh", "-c", "echo $WHO"]
    assert run_image(rt, res.image) == (0, "world\n")
    assert run_image(rt, res.image, "cat", "/exec.txt", "/shell.txt") == \
        (0, "exec-world\nshell-world\n")


def test_build_args_and_env_precedence(state_paths, base, rt, tmp_path):
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    df = ("ARG TAG=test\nARG ONLY_GLOBAL=g\nFROM busybox:$TAG\n"
          "ARG A=default-a\nARG B=default-b\nARG C\nARG ONLY_GLOBAL\n"
          "ENV B=from-env\n"
          "RUN echo \"A=$A B=$B C=$C G=$ONLY_GLOBAL U=$UNDECLARED\" > /args\n")
    res, _ = build(state_paths, ctx, df,
                   build_args={"A": "cli-a", "B": "cli-b", "UNDECLARED": "x"})
    assert run_image(rt, res.image, "cat", "/args") == \
        (0, "A=cli-a B=from-env C= G=g U=\n")
    res2, _ = build(state_paths, ctx, df, build_args={"C": "cli-c", "ONLY_GLOBAL": "og"})
    assert run_image(rt, res2.image, "cat", "/args") == \
        (0, "A=default-a B=from-env C=cli-c G=og U=\n")
    # BuildKit's automatic platform ARGs
    from runtime.images.platform import host_platform

    res3, _ = build(state_paths, ctx, "FROM busybox:test\nARG TARGETARCH\nARG TARGETOS\n"
                                      "RUN echo $TARGETOS/$TARGETARCH > /plat\n")
    p = host_platform()
    assert run_image(rt, res3.image, "cat", "/plat") == (0, f"{p.os}/{p.architecture}\n")


def test_dockerignore(state_paths, base, rt, tmp_path):
    ctx = tmp_path / "ctx"
    (ctx / "src").mkdir(parents=True)
    (ctx / "src" / "app.py").write_text("app\n")
    (ctx / "src" / "debug.log").write_text("noise\n")
    (ctx / "secret.env").write_text("TOKEN=1\n")
    (ctx / "keep.log").write_text("kept\n")
    (ctx / ".dockerignore").write_text("**/*.log\nsecret.env\n!keep.log\n")
    res, _ = build(state_paths, ctx, "FROM busybox:test\nCOPY . /ctx/\n")
    _code, out = run_image(rt, res.image, "find", "/ctx", "-type", "f")
    assert sorted(out.split()) == ["/ctx/.dockerignore", "/ctx/Dockerfile", "/ctx/keep.log",
                                   "/ctx/src/app.py"]
    with pytest.raises(PycomposeError, match=r"Dockerfile:2: COPY secret.env /s: .*not found"):
        build(state_paths, ctx, "FROM busybox:test\nCOPY secret.env /s\n")
    # Dockerfile-specific ignore file wins
    (ctx / "app.Dockerfile").write_text("FROM busybox:test\nCOPY . /ctx/\n")
    (ctx / "app.Dockerfile.dockerignore").write_text("src\n")
    res = Builder(state_paths).build(BuildRequest(ctx, dockerfile=ctx / "app.Dockerfile"))
    _code, out = run_image(rt, res.image, "find", "/ctx", "-type", "f")
    assert "/ctx/src/app.py" not in out and "/ctx/secret.env" in out


def test_user_and_workdir_carried_into_run(state_paths, base, rt, tmp_path):
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    res, rec = build(state_paths, ctx,
                     "FROM busybox:test\nWORKDIR /home/app\nUSER app:staff\n"
                     "WORKDIR project\nRUN id -u; id -g; pwd; touch made-by-app\n")
    assert rec.output().split() == ["1000", "50", "/home/app/project"]
    _code, out = run_image(rt, res.image, "stat", "-c", "%u:%g %n",
                          "/home/app/project", "/home/app/project/made-by-app")
    assert out.splitlines() == ["1000:50 /home/app/project",
                                "1000:50 /home/app/project/made-by-app"]


def test_multi_stage_copy_from_and_target(state_paths, base, rt, tmp_path):
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    df = ("FROM busybox:test AS builder\nRUN mkdir /out && echo built > /out/artifact\n"
          "FROM busybox:test AS broken\nRUN exit 3\n"
          "FROM busybox:test AS tester\nCOPY --from=builder /out/artifact /checked\n"
          "RUN echo tested > /tested\n"
          "FROM scratch\nCOPY --from=builder /out/ /\nCOPY --from=busybox:test /bin/busybox /bb\n")
    res, rec = build(state_paths, ctx, df)
    assert res.image.diff_ids and len(res.image.diff_ids) == 2
    started = " ".join(rec.titles("start"))
    assert "exit 3" not in started and "tested" not in started  # unneeded stages skipped
    layer_files = sorted(str(p.relative_to(d)) for d in res.image.layer_dirs()
                         for p in d.rglob("*"))
    assert layer_files == ["artifact", "bb"]
    res_t, _rec_t = build(state_paths, ctx, df, target="tester")
    assert run_image(rt, res_t.image, "cat", "/checked", "/tested") == (0, "built\ntested\n")
    with pytest.raises(PycomposeError, match="target stage 'nope' could not be found"):
        build(state_paths, ctx, df, target="nope")
    with pytest.raises(PycomposeError, match=r"Dockerfile:4: RUN exit 3: .*exit code: 3"):
        build(state_paths, ctx, df, target="broken")
    _no_leftovers(state_paths)


TEN_STEPS = """FROM busybox:test
ENV APP=/app
WORKDIR /app
COPY a.txt .
RUN cat a.txt > a.copy
COPY b.txt .
RUN cat b.txt > b.copy
LABEL step=8
COPY c.txt .
RUN cat a.txt b.txt c.txt > all.txt
"""


def _layer_count(state_paths) -> int:
    return len(list((state_paths.images / "layers").iterdir()))


def test_cache_hit_and_precise_invalidation(state_paths, base, rt, tmp_path):
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    for n in "abc":
        (ctx / f"{n}.txt").write_text(f"{n}1\n")
    first, _ = build(state_paths, ctx, TEN_STEPS, tags=("ten:1",))
    assert first.cached == 0 and first.steps == 7
    layers = _layer_count(state_paths)

    again, rec = build(state_paths, ctx, tags=("ten:1",))
    assert again.image.id == first.image.id
    assert again.cached == again.steps == 7 and again.layers_created == 0
    assert _layer_count(state_paths) == layers
    assert rec.titles("start") == [rec.titles("start")[0]]  # only FROM "runs"

    (ctx / "b.txt").write_text("b2\n")  # only steps from COPY b.txt on must rerun
    os.utime(ctx / "a.txt", (1, 1))      # mtime alone changes nothing
    third, rec = build(state_paths, ctx)
    cached = rec.titles("cached")
    rerun = rec.titles("start")[1:]
    assert [t.split("] ", 1)[1] for t in cached] == ["WORKDIR /app", "COPY a.txt .",
                                                     "RUN cat a.txt > a.copy"]
    assert [t.split("] ", 1)[1] for t in rerun] == ["COPY b.txt .", "RUN cat b.txt > b.copy",
                                                    "COPY c.txt .",
                                                    "RUN cat a.txt b.txt c.txt > all.txt"]
    assert run_image(rt, third.image, "cat", "all.txt") == (0, "a1\nb2\nc1\n")

    nocache, rec = build(state_paths, ctx, no_cache=True)
    assert nocache.cached == 0 and rec.titles("cached") == []


def test_build_arg_change_invalidates_from_first_use(state_paths, base, tmp_path):
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "f").write_text("f\n")
    df = "FROM busybox:test\nARG V=1\nCOPY f /f\nRUN echo $V > /v\nRUN echo later\n"
    build(state_paths, ctx, df)
    _, rec = build(state_paths, ctx, build_args={"V": "2"})
    assert [t.split("] ", 1)[1] for t in rec.titles("cached")] == ["COPY f /f"]
    assert len(rec.titles("start")) == 3  # FROM + both RUNs


def test_run_failure_names_step_and_cleans_up(state_paths, base, tmp_path, run_cli):
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text("FROM busybox:test\nRUN echo ok\n"
                                    "RUN echo visible-output; echo to-stderr >&2; exit 7\n")
    with pytest.raises(PycomposeError) as info:
        build(state_paths, ctx)
    msg = info.value.message
    assert msg.startswith("Dockerfile:3: RUN echo visible-output")
    assert "exit code: 7" in msg and "visible-output" in msg and "to-stderr" in msg
    _no_leftovers(state_paths)
    res = run_cli("image", "build", "-t", "fails", str(ctx))
    assert res.returncode != 0
    assert "Dockerfile:3" in res.stderr and "visible-output" in res.stderr
    assert "Traceback" not in res.stderr
    _no_leftovers(state_paths)


def test_parse_error_reports_line(state_paths, base, tmp_path, run_cli):
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text("FROM busybox:test\nCOPY onlyone\n")
    res = run_cli("image", "build", str(ctx))
    assert res.returncode == 3
    assert "Dockerfile:2: COPY requires at least two arguments" in res.stderr


def test_cli_build_quiet_and_progress(state_paths, base, tmp_path, run_cli):
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text("FROM busybox:test\nRUN echo built-here\n")
    res = run_cli("image", "build", "-t", "cli:1", str(ctx))
    assert res.returncode == 0, res
    assert "RUN echo built-here" in res.stderr and "DONE" in res.stderr
    image_id = res.stdout.strip()
    res = run_cli("image", "build", "-q", "-t", "cli:1", str(ctx))
    assert res.returncode == 0 and res.stdout.strip() == image_id and res.stderr == ""
    res = run_cli("image", "build", "-t", "cli:1", str(ctx))
    assert "CACHED" in res.stderr
    hist = run_cli("image", "history", "cli:1")
    assert "RUN /bin/sh -c echo built-here" in hist.stdout
    res = run_cli("image", "build", "-q", "-f", "-", str(ctx),
                  input="FROM busybox:test\nLABEL from=stdin\n")
    assert res.returncode == 0, res
    inspect = json.loads(run_cli("image", "inspect", res.stdout.strip()).stdout)
    assert inspect[0]["Config"]["Labels"] == {"from": "stdin"}


def test_platform_and_missing_base_errors(state_paths, base, tmp_path):
    from runtime.images.platform import host_platform

    ctx = tmp_path / "ctx"
    ctx.mkdir()
    other = "linux/arm64" if host_platform().architecture != "arm64" else "linux/amd64"
    with pytest.raises(PycomposeError, match=f"--platform={other}: this machine builds only"):
        build(state_paths, ctx, f"FROM --platform={other} busybox:test\n")
    mine = f"{host_platform().os}/{host_platform().architecture}"
    res, _ = build(state_paths, ctx, f"FROM --platform={mine} busybox:test\n")
    assert res.image.diff_ids


def test_add_url_from_loopback_server(state_paths, base, rt, tmp_path):
    body = b"downloaded content\n"

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *a):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    t = threading.Thread(target=server.serve_forever, daemon=True)
    t.start()
    try:
        ctx = tmp_path / "ctx"
        ctx.mkdir()
        url = f"http://127.0.0.1:{server.server_address[1]}/files/data.txt"
        import hashlib

        good = hashlib.sha256(body).hexdigest()
        res, _ = build(state_paths, ctx,
                       f"FROM busybox:test\nADD --checksum=sha256:{good} {url} /dl/\n")
        assert run_image(rt, res.image, "stat", "-c", "%a %s", "/dl/data.txt") == \
            (0, f"600 {len(body)}\n")
        # fetched again on rebuild: same content -> cached; new content -> step reruns
        again, _ = build(state_paths, ctx)
        assert again.cached == again.steps == 1
        plain = f"FROM busybox:test\nADD {url} /dl/\n"
        first, _ = build(state_paths, ctx, plain)
        same, _ = build(state_paths, ctx, plain)
        assert same.cached == 1 and same.image.id == first.image.id
        body = b"third\n"
        changed, _ = build(state_paths, ctx, plain)
        assert changed.cached == 0
        assert run_image(rt, changed.image, "cat", "/dl/data.txt") == (0, "third\n")
        with pytest.raises(PycomposeError, match=r"Dockerfile:2: ADD .*checksum mismatch"):
            build(state_paths, ctx, f"FROM busybox:test\nADD --checksum=sha256:{'0' * 64} "
                                    f"{url} /dl/\n")
    finally:
        server.shutdown()
        server.server_close()


def test_commit_captures_added_changed_deleted(state_paths, base, rt, tmp_path, run_cli):
    from runtime.build.commit import commit_container
    from runtime.images.store import ImageStore
    from runtime.spec import ContainerSpec, Process, RootFS

    img = ImageStore(state_paths).resolve(base)
    spec = ContainerSpec(image=base, image_id=img.id, rootfs=RootFS(img.layer_dirs()),
                         process=Process(args=("/bin/sh", "-c",
                                               "echo new > /added && echo changed > "
                                               "/etc/group && rm /bin/vi && rm -r /home")),
                         name="tocommit")
    cid = rt.containers.create(spec)
    rt.containers.start(cid)
    assert rt.containers.wait(cid, timeout=60) == 0
    new = commit_container(state_paths, "tocommit", "committed:1", message="my change",
                           author="Tester <t@example.com>", changes=["CMD cat /added"])
    rt.containers.remove(cid, force=True)
    assert new.config["Cmd"] == ["/bin/sh", "-c", "cat /added"]
    last = new.raw_config["history"][-1]
    assert last["comment"] == "my change" and last["author"] == "Tester <t@example.com>"
    assert len(new.diff_ids) == len(img.diff_ids) + 1
    assert run_image(rt, new) == (0, "new\n")
    _code, out = run_image(rt, new, "/bin/sh", "-c",
                          "cat /etc/group; ls /bin/vi /home 2>&1; true")
    assert out.splitlines()[0] == "changed"
    assert "/bin/vi: No such file" in out and "/home: No such file" in out
    # the layer tar carries OCI whiteouts for the deletions
    layer = ImageStore(state_paths).layer_meta(new.chain_ids[-1])
    blob = ImageStore(state_paths).blob_path(layer["blob"])
    with tarfile.open(blob) as tf:
        names = set(tf.getnames())
    assert {"bin/.wh.vi", ".wh.home", "added", "etc/group"} <= names
    # CLI: pycompose commit / container commit
    cid = rt.containers.create(spec)
    rt.containers.start(cid)
    rt.containers.wait(cid, timeout=60)
    res = run_cli("commit", "-m", "cli", "-c", "ENV X=1", cid, "committed:2")
    assert res.returncode == 0, res
    res2 = run_cli("container", "commit", cid, "committed:3")
    assert res2.returncode == 0, res2
    rt.containers.remove(cid, force=True)
    inspect = json.loads(run_cli("image", "inspect", "committed:2").stdout)
    assert "X=1" in inspect[0]["Config"]["Env"]
    assert inspect[0]["Config"]["Cmd"] == list(spec.process.args)  # the container's command


def test_independent_stages_run_concurrently(state_paths, base, tmp_path):
    """Stages `a` and `b` hand-shake through a shared cache mount: each waits for the
    other's file, so built one after the other they deadlock (and time out)."""
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    wait = "for i in $(seq 600); do [ -f /sync/{f} ] && {then} && exit 0; sleep 0.2; done; exit 1"
    df = ("FROM busybox:test AS a\n"
          "RUN --mount=type=cache,id=sync,target=/sync echo a > /sync/a; "
          + wait.format(f="b", then="echo a-saw-b > /a-done") + "\n"
          "FROM busybox:test AS b\n"
          "RUN --mount=type=cache,id=sync,target=/sync "
          + wait.format(f="a", then="echo b > /sync/b && echo b-saw-a > /b-done") + "\n"
          "FROM scratch\nCOPY --from=a /a-done /\nCOPY --from=b /b-done /\n")
    res, _ = build(state_paths, ctx, df, network="none")
    files = sorted(p.name for d in res.image.layer_dirs() for p in d.iterdir())
    assert files == ["a-done", "b-done"]


def test_run_mounts_cache_secret_bind_tmpfs(state_paths, base, rt, tmp_path):
    ctx = tmp_path / "ctx"
    (ctx / "src").mkdir(parents=True)
    (ctx / "src" / "input.txt").write_text("from-context\n")
    secret = tmp_path / "token.txt"
    secret.write_text("s3cr3t\n")
    df = ("FROM busybox:test AS tools\nRUN echo from-stage > /tool.txt\n"
          "FROM busybox:test\n"
          "RUN --mount=type=cache,target=/cache echo run >> /cache/runs && "
          "wc -l < /cache/runs > /cache-count\n"
          "RUN --mount=type=secret,id=token cat /run/secrets/token > /dev/null && "
          "test \"$(cat /run/secrets/token)\" = s3cr3t && echo secret-ok > /secret-ok\n"
          "RUN --mount=type=bind,source=src,target=/mnt/src "
          "--mount=type=bind,from=tools,source=/tool.txt,target=/mnt/tool "
          "--mount=type=tmpfs,target=/scratch "
          "cat /mnt/src/input.txt /mnt/tool > /mounted && touch /scratch/x\n")
    res, _ = build(state_paths, ctx, df, secrets={"token": secret})
    _code, out = run_image(rt, res.image, "/bin/sh", "-c",
                          "cat /cache-count /secret-ok /mounted; ls -A /scratch /cache "
                          "/run/secrets 2>&1; true")
    lines = out.splitlines()
    assert lines[:4] == ["1", "secret-ok", "from-context", "from-stage"]
    assert "/cache: No such file or directory" in out
    assert "/run/secrets: No such file or directory" in out
    # nothing of the secret or of the mount points reached a layer
    for d in res.image.layer_dirs()[:-1]:
        assert not (d / "run" / "secrets").exists() and not (d / "cache").exists()
    # the cache mount persists across builds (and --no-cache reruns the step)
    res2, _ = build(state_paths, ctx, df, secrets={"token": secret}, no_cache=True)
    assert run_image(rt, res2.image, "cat", "/cache-count") == (0, "2\n")
    with pytest.raises(PycomposeError, match="secret 'token' is required"):
        build(state_paths, ctx, "FROM busybox:test\n"
                                "RUN --mount=type=secret,id=token,required=true true\n")
    with pytest.raises(PycomposeError, match=r"Dockerfile:2: .*type=ssh is not supported"):
        build(state_paths, ctx, "FROM busybox:test\nRUN --mount=type=ssh true\n")
    _no_leftovers(state_paths)


def test_run_heredoc_forms(state_paths, base, rt, tmp_path):
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    df = ("FROM busybox:test\n"
          "RUN <<EOF\n#!/bin/sh -e\necho \"script as $0\" > /shebang\nEOF\n"
          "RUN cat <<A > /a && cat <<-B > /b\nalpha $HOME\nA\n\tbeta\n\tB\n"
          "RUN <<'EOF'\necho plain > /plain\nEOF\n")
    res, _ = build(state_paths, ctx, df)
    code, out = run_image(rt, res.image, "cat", "/shebang", "/a", "/b", "/plain")
    lines = out.splitlines()
    assert code == 0 and lines[0].startswith("script as /dev/.pycompose-heredoc-")
    assert lines[1:] == ["alpha /root", "beta", "plain"]
    for d in res.image.layer_dirs()[:-1]:
        assert not list(d.glob("dev/.pycompose-heredoc-*"))


def test_from_registry_pull_and_pull_flag(state_paths, tmp_path, rt):
    """FROM an image that is only in a (loopback) registry is pulled; --pull re-pulls."""
    from runtime.images.push import push
    from runtime.images.store import ImageStore
    from runtime.paths import StatePaths
    from tests.imagetools import build_image, busybox_layers
    from tests.registryfix import Registry, registry_available

    if not registry_available():
        pytest.skip("docker-registry not installed")
    reg = Registry(tmp_path / "registry")
    try:
        src = ImageStore(StatePaths.resolve(tmp_path / "src" / "root", tmp_path / "src" / "run"))
        v1 = build_image(src, "bb:1", busybox_layers(b"-v1"))
        ref = f"{reg.addr}/library/bb:1"
        push(src, "bb:1", ref)
        ctx = tmp_path / "ctx"
        ctx.mkdir()
        df = f"FROM {ref}\nRUN echo built > /seen\n"
        res, _ = build(state_paths, ctx, df)
        assert res.image.diff_ids[:2] == v1.diff_ids
        assert run_image(rt, res.image, "cat", "/seen") == (0, "built\n")
        v2 = build_image(src, "bb:1", busybox_layers(b"-v2"))
        push(src, "bb:1", ref)
        res, _ = build(state_paths, ctx, df)  # no --pull: the local copy is used
        assert res.image.diff_ids[:2] == v1.diff_ids
        res, _ = build(state_paths, ctx, df, pull=True)
        assert res.image.diff_ids[:2] == v2.diff_ids != v1.diff_ids
    finally:
        reg.stop()
        remove_build_network(state_paths)


def test_builder_prune_drops_the_cache(state_paths, base, tmp_path, run_cli):
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text("FROM busybox:test\n"
                                    "RUN --mount=type=cache,target=/c echo x > /c/f\n")
    assert run_cli("image", "build", "--build-arg", "NOT_USED=1", str(ctx)).returncode == 0
    res = run_cli("image", "build", str(ctx))
    assert "CACHED" in res.stderr
    pruned = run_cli("builder", "prune", "-f")
    assert pruned.returncode == 0 and "Deleted build cache objects: 2" in pruned.stdout
    res = run_cli("image", "build", str(ctx))
    assert "CACHED" not in res.stderr and "DONE" in res.stderr


def test_unused_build_arg_warning(state_paths, base, tmp_path):
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    res, rec = build(state_paths, ctx, "FROM busybox:test\nARG USED\n"
                                       "RUN test \"$HTTP_PROXY\" = http://p\n",
                     build_args={"USED": "1", "UNUSED": "2", "HTTP_PROXY": "http://p"})
    infos = [e.text for e in rec.events if e.kind == "info"]
    assert infos == ["[Warning] One or more build-args [UNUSED] were not consumed"]
    # the predefined proxy ARG reached RUN without an ARG line, but not the history
    last = res.image.raw_config["history"][-1]["created_by"]
    assert last == 'RUN |1 USED=1 /bin/sh -c test "$HTTP_PROXY" = http://p # buildkit'


def test_leftovers_of_a_killed_build_are_cleaned(state_paths, base, rt, tmp_path):
    """A build killed half-way leaves a mounted step workspace and a RUN container; the
    next build finds them from state (dead owner pid) and removes them."""
    import runtime.build.runstep as runstep
    from runtime.build.overlay import mount_overlay
    from runtime.build.stale import OWNER_LABEL
    from runtime.images.store import ImageStore
    from runtime.spec import ContainerSpec, Process, RootFS

    dead = "1:1"  # pid 1 did not start at tick 1: never alive
    img = ImageStore(state_paths).resolve(base)
    step = state_paths.builds / "tmp" / "step-killed"
    for sub in ("upper", "work", "merged"):
        (step / sub).mkdir(parents=True)
    (step / "owner").write_text(dead)
    mount_overlay(step / "merged", list(img.layer_dirs()), step / "upper", step / "work")
    cid = rt.containers.create(ContainerSpec(
        image=base, image_id=img.id, rootfs=RootFS(img.layer_dirs()),
        process=Process(args=("sleep", "60")), labels=((OWNER_LABEL, dead),)))
    rt.containers.start(cid)
    runstep._swept = False
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    build(state_paths, ctx, "FROM busybox:test\nRUN true\n")
    assert not step.exists()
    _no_leftovers(state_paths)


def test_copy_exclude_expose_ranges_and_unsupported_flags(state_paths, base, rt, tmp_path):
    ctx = tmp_path / "ctx"
    (ctx / "app").mkdir(parents=True)
    (ctx / "app" / "main.py").write_text("code\n")
    (ctx / "app" / "notes.md").write_text("notes\n")
    res, _ = build(state_paths, ctx, "FROM busybox:test\nCOPY --exclude=**/*.md app /app\n"
                                     "EXPOSE 8000-8002/udp 80\n")
    assert run_image(rt, res.image, "ls", "/app") == (0, "main.py\n")
    assert res.image.config["ExposedPorts"] == {"8000/udp": {}, "8001/udp": {},
                                                "8002/udp": {}, "80/tcp": {}}
    # an excluded file's content is not part of the cache key
    (ctx / "app" / "notes.md").write_text("changed notes\n")
    again, _ = build(state_paths, ctx)
    assert again.cached == again.steps
    with pytest.raises(PycomposeError, match="COPY --parents is not supported"):
        build(state_paths, ctx, "FROM busybox:test\nCOPY --parents app /x/\n")
    with pytest.raises(PycomposeError, match="invalid EXPOSE port 'http'"):
        build(state_paths, ctx, "FROM busybox:test\nEXPOSE http\n")


def test_ctrl_c_stops_a_running_step_and_cleans_up(state_paths, base, tmp_path):
    import signal
    import subprocess
    import sys
    import time

    from tests.conftest import cli_env

    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text("FROM busybox:test\nRUN echo started; sleep 60\n")
    env = cli_env({"PYCOMPOSE_ROOT": str(state_paths.root),
                   "PYCOMPOSE_RUN_DIR": str(state_paths.run_dir)})
    proc = subprocess.Popen([sys.executable, "-m", "compose", "image", "build", str(ctx)],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # wait until the RUN container exists
            cdir = state_paths.containers
            if cdir.is_dir() and any(p.is_dir() for p in cdir.iterdir()):
                break
            time.sleep(0.1)
        time.sleep(1.0)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)  # long before `sleep 60` would end
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    _no_leftovers(state_paths)
