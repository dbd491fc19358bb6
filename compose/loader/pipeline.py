"""The load pipeline behind :func:`compose.loader.load_config`.

Per file, per YAML document, in the reference order: read (positions, Compose's
scalar rules) -> interpolate -> ``include`` -> ``extends`` -> merge into what the
earlier documents/files gave; then redefinitions in unique lists are removed.  All
problems are collected and raised together as one :class:`~compose.errors.ConfigError`.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from compose.errors import ConfigError, ConfigIssue, Pos
from compose.loader import discovery
from compose.loader.dotenv import DotenvError, read_dotenv
from compose.loader.extends import ExtendsResolver
from compose.loader.include import apply_includes
from compose.loader.interpolate import Interpolator
from compose.loader.merge import merge, strip
from compose.loader.paths import rebase_tree
from compose.loader.tree import CMap, to_plain
from compose.loader.unique import enforce_unique
from compose.loader.yamlread import read_yaml

if TYPE_CHECKING:
    from compose.loader import LoadedConfig, LoadOptions


class _Session:
    def __init__(self, options: LoadOptions) -> None:
        self.o = options
        self.issues: list[ConfigIssue] = []
        self.warnings: list[str] = []
        self.cwd = Path(options.working_dir or os.getcwd()).absolute()
        # (path, id(env)) -> (env, services); holding env keeps its id from being reused
        self._other_cache: dict[tuple[str, int], tuple[Mapping[str, str], CMap | None]] = {}
        self._unset: set[str] = set()

    # --- helpers ------------------------------------------------------------------
    def fail(self, message: str, pos: Pos | None = None, hint: str | None = None) -> None:
        self.issues.append(ConfigIssue(pos, "", message, hint))

    def check(self) -> None:
        if self.issues:
            raise ConfigError(self.issues)

    def display(self, path: str) -> str:
        if path == "-":
            return "-"
        try:
            rel = os.path.relpath(path, self.cwd)
        except ValueError:  # pragma: no cover - other drive (not on Linux)
            return path
        return path if rel.startswith("..") else rel

    def abspath(self, p: str, base: Path | str | None = None) -> str:
        p = os.path.expanduser(p)
        return os.path.normpath(os.path.join(base or self.cwd, p))

    def read_env_files(self, files: list[str], lookup_env: Mapping[str, str],
                       pos: Pos | None = None, where: tuple = ()) -> dict[str, str] | None:
        values: dict[str, str] = {}
        ok = True
        for f in files:
            def lookup(k: str, _v=values) -> str | None:
                v = lookup_env.get(k)
                return v if v is not None else _v.get(k)

            try:
                values.update(read_dotenv(f, lookup))
            except FileNotFoundError:
                self.fail(f"env file {f} not found", pos,
                          "create it, or fix the path given to --env-file / env_file")
                ok = False
            except IsADirectoryError:
                self.fail(f"env file {f} is a directory", pos)
                ok = False
            except OSError as err:
                self.fail(f"cannot read env file {f}: {err.strerror}", pos)
                ok = False
            except DotenvError as err:
                self.fail(f"invalid env file: {err.reason}", Pos(self.display(f), err.line, 1))
                ok = False
        return values if ok else None

    # --- the run --------------------------------------------------------------------
    def run(self) -> LoadedConfig:
        from compose.loader import LoadedConfig

        o = self.o
        environ = dict(os.environ if o.environ is None else o.environ)
        proj_dir_opt = self.abspath(o.project_directory) if o.project_directory else None
        files = [f if f == "-" else self.abspath(f) for f in o.files]

        # interpolation environment
        if o.env_files:
            env_files = [self.abspath(f) for f in o.env_files]
        elif environ.get("COMPOSE_ENV_FILES"):
            env_files = [self.abspath(f) for f in environ["COMPOSE_ENV_FILES"].split(",") if f]
        elif discovery.env_flag(environ, "COMPOSE_DISABLE_ENV_FILE"):
            env_files = []
        else:
            if proj_dir_opt:
                base = proj_dir_opt
            elif files and files[0] != "-":
                base = os.path.dirname(files[0])
            else:
                base = str(self.cwd)
            dotenv = os.path.join(base, ".env")
            env_files = [dotenv] if os.path.isfile(dotenv) else []
        dotenv_values = self.read_env_files(env_files, environ) or {}
        self.check()
        environment: dict[str, str] = {**dotenv_values, **environ}

        # files
        if not files:
            compose_file = environment.get("COMPOSE_FILE")
            if compose_file:
                files = [self.abspath(f) for f in
                         discovery.split_compose_file(compose_file, environment)]
            else:
                start = Path(proj_dir_opt) if proj_dir_opt else self.cwd
                found, warns = discovery.find_default_files(start)
                self.warnings.extend(warns)
                if not found:
                    raise ConfigError([ConfigIssue(
                        None, "", f"no compose file found in {start} or any parent directory",
                        "create compose.yaml, or name the file with -f FILE")])
                files = [str(f) for f in found]
        project_dir = Path(proj_dir_opt) if proj_dir_opt else (
            Path(os.path.dirname(files[0])) if files[0] != "-" else self.cwd)

        merged: CMap | None = None
        for f in files:
            for doc in self.load_main_file(f, environment, str(project_dir)):
                merged = strip(doc) if merged is None else merge(merged, doc)
        self.check()
        assert merged is not None
        enforce_unique(merged)

        name = self.project_name(merged, environment, project_dir)
        self.check()
        if o.profiles:
            profiles = tuple(o.profiles)
        else:
            profiles = tuple(p.strip() for p in environment.get("COMPOSE_PROFILES", "").split(",")
                             if p.strip())
        for var in sorted(self._unset):
            self.warnings.append(f'The "{var}" variable is not set. Defaulting to a blank '
                                 "string.")
        data, positions = to_plain(merged, Pos(self.display(files[0])))
        return LoadedConfig(data=data, positions=positions, files=tuple(files),
                            project_name=name, project_dir=project_dir,
                            environment=environment, profiles=profiles,
                            warnings=tuple(self.warnings))

    def project_name(self, merged: CMap, env: Mapping[str, str], project_dir: Path) -> str:
        o = self.o
        explicit: list[tuple[str, str, Pos | None]] = []
        if o.project_name:
            explicit.append((o.project_name, "-p/--project-name", None))
        elif env.get("COMPOSE_PROJECT_NAME"):
            explicit.append((env["COMPOSE_PROJECT_NAME"], "COMPOSE_PROJECT_NAME", None))
        elif isinstance(merged.get("name"), str) and merged["name"]:
            explicit.append((merged["name"], "name", merged.vpos.get("name")))
        elif merged.get("name") is not None and not isinstance(merged.get("name"), str):
            self.issues.append(ConfigIssue(merged.vpos.get("name"), "name",
                                           "name must be a string"))
            return ""
        if explicit:
            value, source, pos = explicit[0]
            if not discovery.is_valid_project_name(value):
                norm = discovery.normalize_project_name(value)
                self.issues.append(ConfigIssue(
                    pos, "name" if source == "name" else "",
                    f"{value!r} (from {source}) is not a valid project name: it must "
                    "contain only lowercase letters, digits, dashes and underscores, and "
                    "start with a letter or digit",
                    f"use {norm!r}" if norm else None))
                return ""
            return value
        name = discovery.normalize_project_name(project_dir.name)
        if not name:
            self.fail(f"cannot derive a project name from directory {project_dir}",
                      hint="give one with -p NAME or a top-level `name:`")
        return name

    # --- files ----------------------------------------------------------------------
    def read_text(self, path: str) -> str | None:
        if path == "-":
            stream = self.o.stdin if self.o.stdin is not None else sys.stdin
            return stream.read()
        try:
            with open(path, encoding="utf-8") as fh:
                return fh.read()
        except FileNotFoundError:
            self.fail(f"compose file {path} not found",
                      hint="check the path given with -f or COMPOSE_FILE")
        except IsADirectoryError:
            self.fail(f"compose file {path} is a directory")
        except UnicodeDecodeError as err:
            self.fail(f"compose file {path} is not valid UTF-8 ({err.reason} at byte "
                      f"{err.start})")
        except OSError as err:
            self.fail(f"cannot read compose file {path}: {err.strerror}")
        return None

    def load_main_file(self, path: str, env: Mapping[str, str], project_dir: str
                       ) -> list[CMap]:
        """A ``-f`` file: like compose-go, its ``include`` and ``extends.file`` paths are
        relative to the project directory (the first file's directory by default)."""
        return self.load_file(path, env, project_dir, [] if path == "-" else [path], None)

    def load_file(self, path: str, env: Mapping[str, str], workdir: str, stack: list[str],
                  rebase_dir: str | None, *, extends: bool = True) -> list[CMap]:
        """The documents of one file, each interpolated, included and extended, still
        carrying their ``!reset``/``!override`` tags for the merge that follows."""
        text = self.read_text(path)
        if text is None:
            return []
        shown = self.display(path)
        try:
            docs = read_yaml(text, shown)
        except ConfigError as err:
            self.issues.extend(err.issues)
            return []
        out: list[CMap] = []
        interp = Interpolator(env, self.issues) if self.o.interpolate else None
        for doc in docs:
            if doc is None:
                continue
            if not isinstance(doc, CMap):
                self.issues.append(ConfigIssue(Pos(shown, 1, 1), "",
                                               "the top level of a compose file must be a "
                                               f"mapping, not {_kind(doc)}"))
                continue
            if interp is not None:
                interp.tree(doc)
            if rebase_dir is not None:
                rebase_tree(doc, rebase_dir)
            doc = apply_includes(doc, workdir, env, stack, self.issues, self.load_project,
                                 self.read_env_files, self.warnings)
            if extends:
                resolver = ExtendsResolver(self.issues,
                                           lambda p, _e=env: self.load_other(p, _e))
                resolver.resolve_all(doc, path, workdir)
            out.append(doc)
        if interp is not None:
            self._unset.update(interp.unset)
        if not out and not any(i.pos and i.pos.file == shown for i in self.issues):
            self.issues.append(ConfigIssue(Pos(shown), "", "empty compose file",
                                           "a compose file needs at least a `services:` "
                                           "section"))
        return out

    def load_project(self, files: list[str], project_dir: str, env: Mapping[str, str],
                     stack: list[str]) -> CMap | None:
        acc: CMap | None = None
        for f in files:
            for doc in self.load_file(f, env, project_dir, stack, project_dir):
                acc = strip(doc) if acc is None else merge(acc, doc)
        return acc

    def load_other(self, path: str, env: Mapping[str, str]) -> CMap | None:
        key = (path, id(env))
        if key in self._other_cache:
            return self._other_cache[key][1]
        tree: CMap | None = None
        # extends inside that file are resolved lazily by the resolver that asked for
        # it, so a cycle through several files is seen as one chain
        for doc in self.load_file(path, env, os.path.dirname(path), [path],
                                  os.path.dirname(path), extends=False):
            tree = strip(doc) if tree is None else merge(tree, doc)
        services = tree.get("services") if tree is not None else None
        if tree is not None and not isinstance(services, CMap):
            services = CMap(tree.pos)
        self._other_cache[key] = (env, services)
        return services


def _kind(v: Any) -> str:
    if isinstance(v, list):
        return "a list"
    if isinstance(v, str):
        return "a string"
    return type(v).__name__
