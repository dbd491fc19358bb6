"""What exists: the project's containers, found from their labels alone."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from compose import labels


@dataclass(frozen=True, slots=True)
class Observed:
    id: str
    name: str
    service: str
    number: int
    oneoff: bool
    config_hash: str
    status: str                  # runtime status: created, running, exited, ...
    record: Any                  # runtime.container.store.Record

    @property
    def image_id(self) -> str:
        return self.record.spec.image_id if self.record is not None else ""

    @property
    def running(self) -> bool:
        return self.status in ("running", "restarting", "paused")


def _observed(rec: Any, lab: dict[str, str]) -> Observed:
    try:
        number = int(lab.get(labels.CONTAINER_NUMBER, "0") or 0)
    except ValueError:
        number = 0
    return Observed(rec.id, rec.name, lab.get(labels.SERVICE, ""), number,
                    lab.get(labels.ONE_OFF) == "True", lab.get(labels.CONFIG_HASH, ""),
                    rec.status.value, rec)


def project_containers(containers: Any, project: str, *, oneoff: bool | None = False
                       ) -> list[Observed]:
    """Every container labelled with ``project`` (one-offs excluded unless asked)."""
    out = []
    for rec in containers.store.records():
        lab = dict(rec.spec.labels)
        if lab.get(labels.PROJECT) != project:
            continue
        obs = _observed(rec, lab)
        if oneoff is None or obs.oneoff == oneoff:
            out.append(obs)
    out.sort(key=lambda o: (o.service, o.number, o.name))
    return out


def all_projects(containers: Any) -> dict[str, list[Observed]]:
    """Every project on the host (for ``ls``), keyed by name."""
    found: dict[str, list[Observed]] = {}
    for rec in containers.store.records():
        lab = dict(rec.spec.labels)
        name = lab.get(labels.PROJECT)
        if not name:
            continue
        found.setdefault(name, []).append(_observed(rec, lab))
    return found


def replicas(observed: list[Observed], service: str) -> list[Observed]:
    """The service's own containers (one-off ``run`` containers excluded)."""
    return [o for o in observed if o.service == service and not o.oneoff]


def warn_orphans(bus: Any, orphans: list[Observed]) -> None:
    """Compose's warning for containers of services no longer in the file."""
    from compose.events import Kind, Status

    if orphans:
        bus.status(Kind.PROJECT, "", Status.WARNING,
                   f"Found orphan containers ({', '.join(o.name for o in orphans)}) for "
                   "this project. If you removed or renamed this service in your compose "
                   "file, you can run this command with the --remove-orphans flag to "
                   "clean it up.")
