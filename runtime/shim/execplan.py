"""The ``exec`` plan: what :mod:`runtime.shim.execproc` needs, from ``bundle.json``.

Import-free on purpose: the CLI builds it before spawning the helper, the monitor's
probe fork builds it too, and neither should pay for the exec machinery's imports.
"""

from __future__ import annotations


def plan(b: dict, state: dict, args: list[str], *, user: str | None = None,
         workdir: str | None = None, env: tuple[str, ...] | list[str] = (),
         tty: bool = False, privileged: bool = False,
         console_size: tuple[int, int] | list[int] | None = None) -> dict:
    """The exec plan for container bundle ``b`` whose PID 1 is ``state["pid"]``.

    Docker's rules: the container's env then the exec's ``-e`` (last wins), the
    container's user and working dir unless ``-u``/``-w`` are given, HOME from the
    user's passwd entry, TERM=xterm with a tty.  ``privileged`` keeps every capability
    (seccomp and no_new_privs still apply, as with ``docker exec --privileged``).
    """
    p = b["process"]
    sec = b.get("seccomp_bpf")
    return {
        "pid": int(state["pid"]), "pid_start": state.get("pid_start"),
        "args": list(args),
        "env": list(p.get("env", ())) + list(env),
        "user": p.get("user", "") if user is None else user,
        "group_add": list(p.get("group_add", ())) if user is None else [],
        "cwd": workdir or p.get("cwd") or "/",
        "tty": tty, "console_size": list(console_size) if console_size else None,
        "hostname": b.get("hostname") if b["namespaces"].get("uts", True) else None,
        "cgroup": list((b.get("cgroup") or {}).get("paths", ())),
        "host_net": b["namespaces"].get("net") == "host",
        "caps": b["caps"], "privileged": bool(b.get("privileged") or privileged),
        "no_new_privileges": b.get("no_new_privileges", False),
        "seccomp": b.get("seccomp"), "seccomp_bpf": sec.hex() if sec else None,
        "rlimits": b.get("rlimits", []),
    }
