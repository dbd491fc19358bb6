"""A small, strict tar header reader for layer extraction (ustar, pax, GNU long names).

:mod:`tarfile`'s header parsing dominated extraction time (it is written for every
corner of every tar dialect); layers use few: POSIX ustar/pax (Go's archive/tar,
BuildKit, skopeo) and GNU (``tar`` defaults).  Members expose the attribute names of
``tarfile.TarInfo`` that the extractor uses.  Anything unusual (sparse files, multi-
volume, bad checksums, truncated headers) is refused with :class:`CorruptLayer` /
:class:`UnsafeLayer` rather than guessed.
"""

from __future__ import annotations

import struct

from runtime.images.errors import CorruptLayer, UnsafeLayer

BLOCK = 512
_HDR = struct.Struct("100s8s8s8s12s12s8s1s100s6s2s32s32s8s8s155s12x")
_SIGNED = struct.Struct("148b8x356b")
_ZERO = bytes(BLOCK)
MAX_META = 1 << 20           # pax / GNU long-name payload limit

REGTYPES = (b"0", b"\0", b"7")
DIRTYPE, SYMTYPE, LNKTYPE, CHRTYPE, BLKTYPE, FIFOTYPE = b"5", b"2", b"1", b"3", b"4", b"6"


class Member:
    __slots__ = ("devmajor", "devminor", "gid", "linkname", "mode", "mtime", "name",
                 "pax_headers", "size", "sparse", "type", "uid")

    def isreg(self) -> bool:
        return self.type in REGTYPES

    def isdir(self) -> bool:
        return self.type == DIRTYPE

    def issym(self) -> bool:
        return self.type == SYMTYPE

    def islnk(self) -> bool:
        return self.type == LNKTYPE

    def ischr(self) -> bool:
        return self.type == CHRTYPE

    def isblk(self) -> bool:
        return self.type == BLKTYPE

    def isfifo(self) -> bool:
        return self.type == FIFOTYPE


def _num(field: bytes, what: str) -> int:
    if field and field[0] & 0x80:           # GNU base-256
        if field[0] == 0xFF:
            raise CorruptLayer(f"negative {what} in tar header")
        return int.from_bytes(bytes([field[0] & 0x7F]) + field[1:], "big")
    s = field.split(b"\0", 1)[0].strip()
    if not s:
        return 0
    try:
        return int(s, 8)
    except ValueError:
        raise CorruptLayer(f"invalid {what} {s!r} in tar header",
                           hint="the layer is not a valid tar archive") from None


def _str(field: bytes) -> str:
    return field.split(b"\0", 1)[0].decode("utf-8", "surrogateescape")


def _pax(data: bytes) -> dict[str, str]:
    out: dict[str, str] = {}
    pos = 0
    n = len(data)
    while pos < n:
        sp = data.find(b" ", pos)
        if sp < 0:
            break
        try:
            length = int(data[pos:sp])
        except ValueError:
            raise CorruptLayer("invalid pax header record") from None
        if length <= 0 or pos + length > n:
            raise CorruptLayer("invalid pax header record length")
        rec = data[sp + 1:pos + length - 1]      # without trailing newline
        key, eq, val = rec.partition(b"=")
        if not eq:
            raise CorruptLayer("invalid pax header record (no '=')")
        out[key.decode("utf-8", "surrogateescape")] = val.decode("utf-8", "surrogateescape")
        pos += length
    return out


class TarReader:
    """Iterate members of a tar stream; the caller reads each member's data (exactly
    ``size`` bytes or less); :meth:`next` skips what is left plus padding."""

    def __init__(self, stream) -> None:
        self.s = stream
        self._data_end = 0          # stream offset where the current member's data ends
        self._global: dict[str, str] = {}

    def _read_block(self) -> bytes | None:
        buf = self.s.read(BLOCK)
        if not buf:
            return None
        if len(buf) < BLOCK:
            raise CorruptLayer("tar archive truncated inside a header",
                               hint="the layer is incomplete")
        return buf

    def _skip_to(self, pos: int) -> None:
        cur = self.s.tell()
        if pos > cur:
            left = pos - cur
            while left:
                got = len(self.s.read(min(left, 1 << 20)))
                if not got:
                    raise CorruptLayer("tar archive truncated inside member data",
                                       hint="the layer is incomplete")
                left -= got

    def _payload(self, size: int) -> bytes:
        if size > MAX_META:
            raise UnsafeLayer(f"tar metadata record of {size} bytes is too large")
        data = self.s.read(size)
        if len(data) < size:
            raise CorruptLayer("tar archive truncated inside a header record")
        self._skip_to(self.s.tell() + (-size % BLOCK))
        return data

    def next(self) -> Member | None:
        self._skip_to(self._data_end)
        pax: dict[str, str] = {}
        longname = longlink = None
        while True:
            buf = self._read_block()
            if buf is None or buf == _ZERO:
                return None
            f = _HDR.unpack(buf)
            chk = _num(f[6], "checksum")
            unsigned = sum(buf) - sum(buf[148:156]) + 256
            if chk != unsigned and chk != sum(_SIGNED.unpack(buf)) + 256:
                raise CorruptLayer("tar header checksum mismatch",
                                   hint="the layer is corrupt (or not a tar archive)")
            typ = f[7]
            size = _num(f[4], "size")
            if typ == b"x":
                pax.update(_pax(self._payload(size)))
                continue
            if typ == b"g":
                self._global.update(_pax(self._payload(size)))
                continue
            if typ == b"L":
                longname = self._payload(size).split(b"\0", 1)[0].decode(
                    "utf-8", "surrogateescape")
                continue
            if typ == b"K":
                longlink = self._payload(size).split(b"\0", 1)[0].decode(
                    "utf-8", "surrogateescape")
                continue
            break
        m = Member()
        magic = f[9]
        name = _str(f[0])
        if magic == b"ustar\0" and f[15][:1] != b"\0":
            name = _str(f[15]) + "/" + name
        if self._global:
            pax = {**self._global, **pax}
        m.name = pax.get("path") or longname or name
        m.linkname = pax.get("linkpath") or longlink or _str(f[8])
        m.mode = _num(f[1], "mode")
        m.uid = int(pax["uid"]) if "uid" in pax else _num(f[2], "uid")
        m.gid = int(pax["gid"]) if "gid" in pax else _num(f[3], "gid")
        if "size" in pax:
            try:
                size = int(pax["size"])
            except ValueError:
                raise CorruptLayer("invalid pax size") from None
        m.size = size
        try:
            m.mtime = float(pax["mtime"]) if "mtime" in pax else _num(f[5], "mtime")
        except ValueError:
            m.mtime = 0
        if typ in (b"S", b"M", b"V") or any(k.startswith("GNU.sparse") for k in pax):
            m.type = b"S"
            m.sparse = True
        else:
            m.sparse = None
            m.type = typ
            if typ in REGTYPES and m.name.endswith("/"):
                m.type = DIRTYPE             # old tars mark directories by a slash
            elif typ == b"D":
                m.type = DIRTYPE             # GNU dumpdir
        m.devmajor = _num(f[13], "devmajor") if m.type in (CHRTYPE, BLKTYPE) else 0
        m.devminor = _num(f[14], "devminor") if m.type in (CHRTYPE, BLKTYPE) else 0
        m.pax_headers = pax
        # as tarfile: data follows regular files and types it does not know (GNU
        # dumpdir, sparse...), never links, directories, devices or fifos
        data_size = 0 if typ in (SYMTYPE, LNKTYPE, DIRTYPE, CHRTYPE, BLKTYPE, FIFOTYPE) \
            or (typ in REGTYPES and m.type == DIRTYPE) else size
        start = self.s.tell()
        self._data_end = start + data_size + (-data_size % BLOCK)
        if m.size < 0:
            raise CorruptLayer("negative member size")
        return m
