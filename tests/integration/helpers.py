"""Small helpers for container tests."""

from __future__ import annotations

from pathlib import Path

from runtime.spec import ContainerSpec, Process, RootFS


def spec(image: Path, *args: str, **kw) -> ContainerSpec:
    proc = {k: kw.pop(k) for k in ("env", "cwd", "user", "group_add", "tty", "stdin_open")
            if k in kw}
    return ContainerSpec(image=str(image), image_id="", rootfs=RootFS((image,)),
                         process=Process(args=args, **proc), **kw)


def output(rt, cid: str, stream: str | None = "stdout") -> str:
    return "".join(e.data.decode() for e in rt.containers.logs(cid)
                   if stream is None or e.stream == stream)


def run(rt, image: Path, *args: str, **kw) -> tuple[int, str, str]:
    """Run to completion; (exit code, stdout, stderr)."""
    cid = rt.containers.create(spec(image, *args, **kw))
    rt.containers.start(cid)
    code = rt.containers.wait(cid, timeout=60)
    return code, output(rt, cid), output(rt, cid, "stderr")


def wait_for_output(rt, cid: str, text: str, timeout: float = 30) -> None:
    """Until ``text`` shows up in the container's log (the program is ready)."""
    import time

    deadline = time.monotonic() + timeout
    while text not in output(rt, cid, None):
        if time.monotonic() > deadline:
            raise AssertionError(f"{text!r} not in the output of {cid[:12]} after {timeout}s")
        time.sleep(0.01)
