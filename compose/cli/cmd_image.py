"""``pycompose image ...`` and the top-level image commands (rmi, tag, save, load, login,
logout, search).  Rendering only: the work is done by ``runtime.images``."""

from __future__ import annotations

import json
import sys
import time

import click

from compose.cli.lazy import LazyGroup


def _store(ctx: click.Context):
    from runtime.images import ImageStore

    return ImageStore(ctx.find_root().obj.state_paths())


def _human_size(n: float) -> str:
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if n < 1000 or unit == "TB":
            return f"{n:.3g}{unit}" if unit != "B" else f"{int(n)}B"
        n /= 1000
    return f"{n}"


def _ago(ts: float | str | None) -> str:
    if not ts:
        return "N/A"
    if isinstance(ts, str):
        import datetime

        try:
            ts = datetime.datetime.fromisoformat(ts.replace("Z", "+00:00")).timestamp()
        except ValueError:
            return ts
    d = max(0.0, time.time() - ts)
    for unit, secs in (("years", 31536000), ("months", 2592000), ("weeks", 604800),
                       ("days", 86400), ("hours", 3600), ("minutes", 60)):
        if d >= secs:
            return f"{int(d // secs)} {unit} ago"
    return "Less than a second ago" if d < 1 else f"{int(d)} seconds ago"


def _table(rows: list[list[str]], header: list[str]) -> None:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    for r in [header, *rows]:
        click.echo("   ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())


@click.group("image", cls=LazyGroup)
def image() -> None:
    """Manage images."""


image.add_lazy("build", "compose.cli.cmd_build:image_build",
               "Build an image from a Dockerfile.")
image.add_lazy("bootstrap", "compose.cli.cmd_build:image_bootstrap",
               "Make a Debian base image offline (mmdebstrap).")


# -- ls ---------------------------------------------------------------------------------
@image.command("ls")
@click.option("-a", "--all", "all_", is_flag=True, help="Show all images (incl. intermediate).")
@click.option("-q", "--quiet", is_flag=True, help="Only show image IDs.")
@click.option("--digests", is_flag=True, help="Show digests.")
@click.option("--no-trunc", is_flag=True, help="Don't truncate output.")
@click.option("-f", "--filter", "filters", multiple=True,
              help="Filter output (dangling=true|false, reference=PATTERN, label=K[=V]).")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
@click.argument("repository", required=False)
@click.pass_context
def image_ls(ctx, all_, quiet, digests, no_trunc, filters, fmt, repository):
    """List images."""
    import fnmatch

    from runtime.errors import UsageError
    from runtime.images.reference import parse

    store = _store(ctx)
    rows = []
    for img in store.list(include_intermediate=all_):
        tags = [parse(t) for t in img.references] or [None]
        for ref in tags:
            rows.append((img, ref))
    for flt in filters:
        key, _, val = flt.partition("=")
        if key == "dangling":
            want = val.lower() in ("true", "1")
            rows = [(i, r) for i, r in rows if (r is None) == want]
        elif key == "reference":
            rows = [(i, r) for i, r in rows if r is not None and (
                fnmatch.fnmatch(r.familiar, val) or fnmatch.fnmatch(r.familiar_repository, val)
                or fnmatch.fnmatch(str(r), val))]
        elif key == "label":
            k, _, v = val.partition("=")
            rows = [(i, r) for i, r in rows if k in (i.config.get("Labels") or {})
                    and (not v or i.config["Labels"][k] == v)]
        else:
            raise UsageError(f"invalid filter {key!r}",
                             hint="supported: dangling=true|false, reference=PATTERN, label=K[=V]")
    if repository:
        rows = [(i, r) for i, r in rows if r is not None and (
            fnmatch.fnmatch(r.familiar_repository, repository)
            or fnmatch.fnmatch(r.familiar, repository) or fnmatch.fnmatch(str(r), repository))]
    if quiet:
        seen = []
        for i, _r in rows:
            v = i.id if no_trunc else i.short_id
            if v not in seen:
                seen.append(v)
        for v in seen:
            click.echo(v)
        return
    if fmt == "json":
        for i, r in rows:
            click.echo(json.dumps({
                "ID": i.id if no_trunc else i.short_id,
                "Repository": r.familiar_repository if r else "<none>",
                "Tag": r.tag if r else "<none>",
                "Digest": _digest_for(i, r),
                "CreatedAt": i.created or "", "CreatedSince": _ago(i.created),
                "Size": _human_size(i.size), "VirtualSize": i.size,
                "Containers": "N/A",
            }))
        return
    header = ["REPOSITORY", "TAG"] + (["DIGEST"] if digests else []) + [
        "IMAGE ID", "CREATED", "SIZE"]
    out = []
    for i, r in rows:
        out.append([r.familiar_repository if r else "<none>", r.tag if r else "<none>"]
                   + ([_digest_for(i, r)] if digests else [])
                   + [i.id if no_trunc else i.short_id, _ago(i.created), _human_size(i.size)])
    _table(out, header)


def _digest_for(img, ref) -> str:
    if ref is None:
        return img.repo_digests[0].split("@", 1)[1] if img.repo_digests else "<none>"
    for rd in img.repo_digests:
        repo, _, dig = rd.partition("@")
        if repo == ref.repository:
            return dig
    return "<none>"


# -- inspect / history --------------------------------------------------------------------
def inspect_dict(img) -> dict:
    from runtime.images.reference import parse

    cfg = img.raw_config
    return {
        "Id": img.id,
        "RepoTags": [parse(t).familiar for t in img.references],
        "RepoDigests": [_familiar_digest(rd) for rd in img.repo_digests],
        "Created": cfg.get("created"),
        "Author": cfg.get("author", ""),
        "Config": img.config,
        "Architecture": img.architecture,
        "Variant": cfg.get("variant"),
        "Os": img.os,
        "Size": img.size,
        "RootFS": {"Type": "layers", "Layers": list(img.diff_ids)},
        "Metadata": {"LastTagTime": None},
        "GraphDriver": {"Name": "overlay", "Data": {
            "LowerDir": ":".join(str(p) for p in img.layer_dirs())}},
        "Manifest": {"Digest": img.manifest_digest,
                     "MediaType": img.manifest.get("mediaType")},
    }


def _familiar_digest(rd: str) -> str:
    from runtime.images.reference import familiar_name

    repo, _, dig = rd.partition("@")
    return f"{familiar_name(repo)}@{dig}"


@image.command("inspect")
@click.option("-f", "--format", "fmt", help="Print one field, e.g. '{{.Id}}' or '.Config.Cmd'.")
@click.argument("images", nargs=-1, required=True)
@click.pass_context
def image_inspect(ctx, fmt, images):
    """Display detailed information on one or more images."""
    store = _store(ctx)
    data = [inspect_dict(store.resolve(name)) for name in images]
    if fmt:
        for d in data:
            click.echo(_format_field(d, fmt))
        return
    click.echo(json.dumps(data, indent=4))


def _format_field(d: dict, fmt: str) -> str:
    """A tiny subset of Go templates: ``{{.A.B}}`` / ``{{json .A}}`` / ``.A.B``."""
    import re

    def one(expr: str) -> str:
        expr = expr.strip()
        as_json = expr.startswith("json ")
        path = expr[5:].strip() if as_json else expr
        cur = d
        for part in [p for p in path.lstrip(".").split(".") if p]:
            cur = cur.get(part) if isinstance(cur, dict) else None
        if as_json or isinstance(cur, (dict, list)):
            return json.dumps(cur)
        return "<no value>" if cur is None else str(cur)

    if "{{" not in fmt:
        return one(fmt)
    return re.sub(r"\{\{(.*?)\}\}", lambda m: one(m.group(1)), fmt)


@image.command("history")
@click.option("-q", "--quiet", is_flag=True)
@click.option("--no-trunc", is_flag=True)
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
@click.argument("name")
@click.pass_context
def image_history(ctx, quiet, no_trunc, fmt, name):
    """Show the history of an image."""
    store = _store(ctx)
    img = store.resolve(name)
    sizes = [int(store.layer_meta(c).get("size", 0)) for c in img.chain_ids]
    rows = []
    li = 0
    hist = img.raw_config.get("history") or []
    for n, h in enumerate(hist):
        if h.get("empty_layer"):
            size = 0
        else:
            size = sizes[li] if li < len(sizes) else 0
            li += 1
        top = n == len(hist) - 1
        rows.append({"id": (img.id if no_trunc else img.short_id) if top else "<missing>",
                     "created": h.get("created"), "created_by": h.get("created_by", ""),
                     "size": size, "comment": h.get("comment", "")})
    rows.reverse()
    if quiet:
        for r in rows:
            click.echo(r["id"])
    elif fmt == "json":
        for r in rows:
            click.echo(json.dumps(r))
    else:
        _table([[r["id"], _ago(r["created"]),
                 r["created_by"] if no_trunc else r["created_by"][:45],
                 _human_size(r["size"]), r["comment"]] for r in rows],
               ["IMAGE", "CREATED", "CREATED BY", "SIZE", "COMMENT"])


# -- rm / tag / prune -----------------------------------------------------------------
@click.command("rmi")
@click.option("-f", "--force", is_flag=True, help="Force removal of the image.")
@click.argument("images", nargs=-1, required=True)
@click.pass_context
def rmi(ctx, force, images):
    """Remove one or more images."""
    from runtime.errors import PycomposeError

    store = _store(ctx)
    failed: list[PycomposeError] = []
    for name in images:
        try:
            for kind, what in store.remove(name, force=force):
                click.echo(f"{kind}: {what}")
        except PycomposeError as e:
            failed.append(e)
    if len(failed) == 1:
        raise failed[0]
    if failed:
        err = type(failed[-1])("\n".join(e.message for e in failed), hint=failed[-1].hint)
        raise err


image.add_command(rmi, "rm")


@click.command("tag")
@click.argument("source")
@click.argument("target")
@click.pass_context
def tag(ctx, source, target):
    """Create a tag TARGET that refers to SOURCE."""
    _store(ctx).tag(source, target)


image.add_command(tag, "tag")


@image.command("prune")
@click.option("-a", "--all", "all_", is_flag=True, help="Remove all unused images.")
@click.option("-f", "--force", is_flag=True, help="Do not prompt for confirmation.")
@click.pass_context
def image_prune(ctx, all_, force):
    """Remove unused images (dangling only unless -a)."""
    if not force and sys.stdin.isatty():
        what = "all images without at least one container" if all_ else "all dangling images"
        click.confirm(f"WARNING! This will remove {what}.\nAre you sure you want to continue?",
                      abort=True)
    deleted, reclaimed = _store(ctx).prune(all_images=all_)
    if deleted:
        click.echo("Deleted Images:")
        for iid in deleted:
            click.echo(f"deleted: {iid}")
        click.echo("")
    click.echo(f"Total reclaimed space: {_human_size(reclaimed)}")


# -- import ---------------------------------------------------------------------------
@image.command("import")
@click.option("-c", "--change", "changes", multiple=True,
              help="Apply a Dockerfile instruction (CMD, ENTRYPOINT, ENV, EXPOSE, LABEL,"
                   " STOPSIGNAL, USER, VOLUME, WORKDIR).")
@click.option("-m", "--message", default="", help="Commit message for the image.")
@click.option("--platform", default=None, help="OS/ARCH[/VARIANT] to record.")
@click.argument("file")
@click.argument("reference", required=False)
@click.pass_context
def image_import(ctx, changes, message, platform, file, reference):
    """Import a root filesystem tarball (FILE or '-' for stdin) as an image."""
    from runtime.errors import NotFoundError
    from runtime.images.changes import apply_changes
    from runtime.images.reference import parse

    ref = parse(reference) if reference else None
    cfg = apply_changes(list(changes))
    store = _store(ctx)
    if file == "-":
        img = store.import_rootfs(sys.stdin.buffer, ref, changes=cfg, message=message,
                                  platform=platform)
    else:
        try:
            fh = open(file, "rb")  # noqa: SIM115
        except OSError as e:
            raise NotFoundError(f"cannot open {file}: {e.strerror}") from e
        with fh:
            img = store.import_rootfs(fh, ref, changes=cfg, message=message,
                                      platform=platform)
    click.echo(img.id)


# -- pull / push --------------------------------------------------------------------
def _progress_mode(ctx: click.Context) -> str:
    return ctx.find_root().obj.progress


@image.command("pull")
@click.option("--platform", default=None, help="OS/ARCH[/VARIANT] (default: this host).")
@click.option("-q", "--quiet", is_flag=True, help="Suppress verbose output.")
@click.option("-a", "--all-tags", is_flag=True, help="Pull all tags of the repository.")
@click.argument("name")
@click.pass_context
def image_pull(ctx, platform, quiet, all_tags, name):
    """Pull an image from a registry."""
    from compose.cli.image_progress import renderer
    from runtime.images.pull import Puller
    from runtime.images.reference import parse

    store = _store(ctx)
    ref = parse(name)
    refs = [ref]
    if all_tags:
        from runtime.images.pull import Registries

        client = Registries(store).clients(ref)[0]
        refs = [ref.with_tag(t) for t in client.tags()]
    render = renderer(_progress_mode(ctx), quiet)
    try:
        puller = Puller(store, platform=platform, progress=render)
        for r in refs:
            puller.pull(r)
    finally:
        render.close()
    click.echo(str(refs[0]) if not all_tags else ref.repository)


@image.command("push")
@click.option("-q", "--quiet", is_flag=True, help="Suppress verbose output.")
@click.option("--chunk-size", type=int, default=None,
              help="Upload blobs larger than this many bytes in chunks (default 16 MiB;"
                   " 0: always one request).")
@click.argument("name")
@click.pass_context
def image_push(ctx, quiet, chunk_size, name):
    """Push an image to a registry."""
    from compose.cli.image_progress import renderer
    from runtime.images.push import CHUNK_SIZE, push

    render = renderer(_progress_mode(ctx), quiet)
    try:
        res = push(_store(ctx), name, name, progress=render,
                   chunk_size=CHUNK_SIZE if chunk_size is None else (chunk_size or None))
    finally:
        render.close()
    if quiet:
        click.echo(f"{res.reference.familiar}")


# -- save / load --------------------------------------------------------------------
@click.command("save")
@click.option("-o", "--output", help="Write to a file instead of standard output.")
@click.option("--format", "fmt", type=click.Choice(["docker", "oci"]), default="docker",
              show_default=True, help="docker-archive or OCI image layout.")
@click.argument("images", nargs=-1, required=True)
@click.pass_context
def save(ctx, output, fmt, images):
    """Save one or more images to a tar archive (streamed to STDOUT by default)."""
    import os

    from runtime.errors import UsageError
    from runtime.images.archive import save as do_save

    store = _store(ctx)
    if output:
        tmp = f"{output}.tmp-{os.getpid()}"
        try:
            with open(tmp, "wb") as f:
                do_save(store, list(images), f, fmt)
            os.replace(tmp, output)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
    else:
        if sys.stdout.isatty():
            raise UsageError("refusing to write an archive to a terminal",
                             hint="use -o FILE or redirect the output")
        do_save(store, list(images), sys.stdout.buffer, fmt)
        sys.stdout.buffer.flush()


image.add_command(save, "save")


@click.command("load")
@click.option("-i", "--input", "input_", help="Read from a tar archive file instead of STDIN.")
@click.option("-q", "--quiet", is_flag=True, help="Suppress the load output.")
@click.pass_context
def load(ctx, input_, quiet):
    """Load images from a tar archive (docker-archive or OCI layout)."""
    from runtime.errors import NotFoundError
    from runtime.images.archive import load as do_load

    store = _store(ctx)
    echo = None if quiet else click.echo
    if input_:
        try:
            fh = open(input_, "rb")  # noqa: SIM115
        except OSError as e:
            raise NotFoundError(f"cannot open {input_}: {e.strerror}") from e
        with fh:
            do_load(store, fh, on_event=echo)
    else:
        do_load(store, sys.stdin.buffer, on_event=echo)


image.add_command(load, "load")


# -- login / logout / search ------------------------------------------------------------
def _registry_domain(server: str | None) -> str:
    if not server:
        return "docker.io"
    s = server.strip()
    for prefix in ("https://", "http://"):
        if s.startswith(prefix):
            s = s[len(prefix):]
    s = s.split("/", 1)[0]
    if s in ("index.docker.io", "registry-1.docker.io", "docker.io"):
        return "docker.io"
    return s


@click.command("login")
@click.option("-u", "--username", help="Username.")
@click.option("-p", "--password", help="Password (prefer --password-stdin).")
@click.option("--password-stdin", is_flag=True, help="Take the password from stdin.")
@click.argument("server", required=False)
@click.pass_context
def login(ctx, username, password, password_stdin, server):
    """Log in to a registry (credentials are checked, then stored 0600 under the root)."""
    from runtime.errors import UsageError
    from runtime.images.pull import Registries
    from runtime.images.registry.client import RegistryClient
    from runtime.images.registry.credentials import CredentialStore

    domain = _registry_domain(server)
    if password_stdin:
        if password:
            raise UsageError("--password and --password-stdin are mutually exclusive")
        password = sys.stdin.readline().rstrip("\r\n")
    if not username:
        if not sys.stdin.isatty():
            raise UsageError("a username is required", hint="use -u USER")
        username = click.prompt("Username")
    if not password:
        if not sys.stdin.isatty():
            raise UsageError("a password is required", hint="use --password-stdin")
        password = click.prompt("Password", hide_input=True)
    store = _store(ctx)
    regs = Registries(store)
    ep = regs.config.endpoints(domain)[-1]
    client = RegistryClient(ep, "", transport=regs.transport, credentials=(username, password))
    # GET /v2/ answers 401 + challenge; the client authenticates (token or basic)
    client.request("GET", f"{ep.url}/v2/", what=f"login to {domain}",
                   scope="").close()
    CredentialStore(store.root).save(domain, username, password)
    click.echo("Login Succeeded")


@click.command("logout")
@click.argument("server", required=False)
@click.pass_context
def logout(ctx, server):
    """Log out from a registry (removes stored credentials)."""
    from runtime.images.registry.credentials import CredentialStore

    domain = _registry_domain(server)
    if CredentialStore(_store(ctx).root).remove(domain):
        click.echo(f"Removing login credentials for {domain}")
    else:
        click.echo(f"Not logged in to {domain}")


@click.command("search")
@click.option("--limit", type=int, default=25, show_default=True, help="Max results.")
@click.option("--no-trunc", is_flag=True)
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
@click.argument("term")
@click.pass_context
def search(ctx, limit, no_trunc, fmt, term):
    """Search images: Docker Hub, or HOST[:PORT]/TERM for a registry's catalog."""
    from runtime.images.search import search as do_search

    results = do_search(_store(ctx), term, limit=limit)
    if fmt == "json":
        for r in results:
            click.echo(json.dumps({"Name": r.name, "Description": r.description,
                                   "StarCount": r.stars, "IsOfficial": r.official}))
        return
    _table([[r.name, r.description if no_trunc else r.description[:45], str(r.stars),
             "[OK]" if r.official else ""] for r in results],
           ["NAME", "DESCRIPTION", "STARS", "OFFICIAL"])


image.add_command(search, "search")
