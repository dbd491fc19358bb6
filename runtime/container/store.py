"""On-disk container store: IDs, names, directories, and reading a container back.

Layout (see docs/architecture.md)::

    <root>/containers/<64-hex id>/   config.json (the ContainerSpec + id, name, created)
                                     state.json  (status, pids, exit code, times)
                                     bundle.json (the low-level plan the shim executes)
                                     lock, upper/, work/, merged/, hosts, hostname,
                                     resolv.conf, <id>-json.log[.N], shim.log
    <root>/container-names/<name>    the owning id (created O_EXCL: names are unique)
    <run>/containers/<id>/           attach.sock (volatile)

Reading a record reconciles it with reality: if the state says "running" but neither
supervising process is alive, the container is re-adopted: still-running PID 1 is
reported as running (unsupervised), a dead one as exited (code 255).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from runtime.container import statefile
from runtime.container.codec import spec_from_dict
from runtime.container.status import Status
from runtime.errors import ConflictError, InvalidInputError, NotFoundError
from runtime.paths import StatePaths
from runtime.shim import minijson
from runtime.spec import ContainerSpec

ID_RE = re.compile(r"^[0-9a-f]{64}$")
NAME_RE = re.compile(r"^/?[a-zA-Z0-9][a-zA-Z0-9_.-]+$")

_ADJ = ("admiring", "brave", "calm", "dazzling", "eager", "festive", "gifted", "happy",
        "jolly", "keen", "lucid", "modest", "nifty", "optimistic", "quirky", "relaxed",
        "serene", "tender", "upbeat", "vibrant", "wizardly", "zealous")
_NOUN = ("archimedes", "babbage", "curie", "darwin", "euclid", "faraday", "galileo",
         "hopper", "kepler", "lovelace", "noether", "pascal", "ritchie", "shannon",
         "thompson", "turing", "wozniak", "yalow")


@dataclass(frozen=True, slots=True)
class Record:
    """One container as read from disk."""

    id: str
    name: str
    created: str
    spec: ContainerSpec
    state: dict[str, Any]
    dir: Path

    @property
    def status(self) -> Status:
        return Status(self.state.get("status", "created"))


def pid_alive(pid: int, start: int | None = None) -> bool:
    if not pid:
        return False
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read()
    except (FileNotFoundError, ProcessLookupError):
        return False
    fields = data[data.rindex(b")") + 2:].split()
    if fields[0] == b"Z":
        return False
    return start is None or int(fields[19]) == start


class ContainerStore:
    def __init__(self, paths: StatePaths) -> None:
        self.paths = paths
        self.base = paths.containers
        self.names = paths.root / "container-names"

    # ---- ids and names ---------------------------------------------------------------
    def dir(self, cid: str) -> Path:
        return self.base / cid

    def run_dir(self, cid: str) -> Path:
        return self.paths.run_dir / "containers" / cid

    def ids(self) -> list[str]:
        if not self.base.is_dir():
            return []
        return [p.name for p in self.base.iterdir() if ID_RE.match(p.name)
                and (p / "config.json").is_file()]

    def new_id(self) -> str:
        return os.urandom(32).hex()

    def random_name(self) -> str:
        """Docker-style ``adjective_scientist`` (``secrets``/``random`` cost imports)."""
        for attempt in range(100):
            r = int.from_bytes(os.urandom(4), "big")
            name = f"{_ADJ[r % len(_ADJ)]}_{_NOUN[(r >> 8) % len(_NOUN)]}"
            if attempt > 50:
                name += str(r % 1000)
            if not (self.names / name).exists():
                return name
        return f"container_{os.urandom(6).hex()}"

    def reserve_name(self, name: str, cid: str) -> int:
        """Claim ``name`` for ``cid`` (names are unique).  Returns an fd holding an
        ``flock`` on the name file: the caller closes it once the container's config is
        written.  A name whose owner never got a config.json and whose lock is free was
        left by a ``create`` killed half-way: it is taken over instead of blocking the
        name forever."""
        import fcntl

        if not NAME_RE.match(name):
            raise InvalidInputError(f"invalid container name {name!r}",
                                    hint="names match [a-zA-Z0-9][a-zA-Z0-9_.-]+")
        self.names.mkdir(parents=True, exist_ok=True)
        path = self.names / name.lstrip("/")
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644)
            fcntl.flock(fd, fcntl.LOCK_EX)
        except FileExistsError:
            owner = path.read_text().strip()
            fd = self._take_over_stale(path, owner)
            if fd is None:
                raise ConflictError(
                    f'the container name "/{name.lstrip("/")}" is already in use by '
                    f'container "{owner}"',
                    hint="remove (or rename) that container, or pick another name") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, cid.encode(), 0)
        return fd

    def _take_over_stale(self, path: Path, owner: str) -> int | None:
        import fcntl

        if (self.base / owner / "config.json").is_file():
            return None  # a real container
        try:
            fd = os.open(path, os.O_RDWR | os.O_CLOEXEC)
        except FileNotFoundError:
            return None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return None  # being created right now
        if os.pread(fd, 128, 0).decode().strip() != owner or \
                (self.base / owner / "config.json").is_file():
            os.close(fd)
            return None
        import shutil

        shutil.rmtree(self.base / owner, ignore_errors=True)  # its half-made directory
        return fd

    def name_file(self, name: str) -> Path:
        return self.names / name.lstrip("/")

    def resolve(self, ref: str) -> str:
        """Full id from an id, a unique id prefix or a name."""
        ref = ref.lstrip("/") if not ID_RE.match(ref) else ref
        if ID_RE.match(ref) and (self.dir(ref) / "config.json").is_file():
            return ref
        nf = self.names / ref
        if ref and NAME_RE.match(ref) and nf.is_file():
            cid = nf.read_text().strip()
            if (self.dir(cid) / "config.json").is_file():
                return cid
        if re.fullmatch(r"[0-9a-f]{1,63}", ref):
            hits = [c for c in self.ids() if c.startswith(ref)]
            if len(hits) == 1:
                return hits[0]
            if len(hits) > 1:
                raise ConflictError(f"multiple containers match the prefix {ref!r}",
                                    hint="use more characters of the id, or the name")
        raise NotFoundError(f"no such container: {ref}",
                            hint="`pycompose container ls -a` lists containers")

    # ---- records ---------------------------------------------------------------------
    def save_config(self, cid: str, name: str, created: str, spec: ContainerSpec) -> None:
        from runtime.container.codec import to_dict

        path = self.dir(cid) / "config.json"
        tmp = path.with_name(".config.json.tmp")
        tmp.write_bytes(minijson.dumps({"id": cid, "name": name, "created": created,
                                        "spec": to_dict(spec)}).encode())
        os.replace(tmp, path)   # atomic; written once, at create

    def load(self, cid: str) -> Record:
        d = self.dir(cid)
        try:
            cfg = minijson.loads((d / "config.json").read_bytes())
        except FileNotFoundError:
            raise NotFoundError(f"no such container: {cid}") from None
        state = self._reconcile(str(d), statefile.read(str(d)))
        return Record(cid, cfg["name"], cfg["created"], spec_from_dict(cfg["spec"]), state, d)

    def records(self) -> list[Record]:
        out = []
        for cid in self.ids():
            try:
                out.append(self.load(cid))
            except NotFoundError:
                continue  # removed meanwhile
        return out

    @staticmethod
    def _reconcile(cdir: str, state: dict[str, Any]) -> dict[str, Any]:
        if state.get("status") not in ("running", "paused", "restarting"):
            return state
        if pid_alive(state.get("monitor_pid", 0)) or pid_alive(state.get("keeper_pid", 0)):
            return state
        with statefile.locked(cdir):
            state = statefile.read(cdir)
            if state.get("status") not in ("running", "paused", "restarting"):
                return state
            if pid_alive(state.get("monitor_pid", 0)) or pid_alive(state.get("keeper_pid", 0)):
                return state
            if pid_alive(state.get("pid", 0), state.get("pid_start")):
                state["supervised"] = False
                return state
            state.update(status="exited", exit_code=255, pid=0, monitor_pid=0, keeper_pid=0,
                         error="the container's supervisor was lost; exit status unknown",
                         finished_at=statefile.now_rfc3339())
            statefile.write(cdir, state)
            return state
