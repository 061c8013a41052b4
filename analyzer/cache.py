"""The cache folder: data derived from the rules — never from a log — rebuilt when missing or corrupt.

Entries are named ``{kind}-{key}.{ext}``, the key derived from the content they were built
from, so a stale entry is never read, only left behind; each carries a checksum of itself, so a
damaged one (truncated, a flipped bit, another program's file) reads as missing and is rebuilt.
Writing an entry prunes the older entries of its kind beyond the newest :data:`KEEP`: editing
rules, installing packs or upgrading never makes the folder grow without bound.
``XDG_CACHE_HOME`` is honoured; ``HFEXPLAIN_NO_CACHE=1`` disables it.
"""

from __future__ import annotations

import os

TYPE_CHECKING = False  # `typing` is not imported at run time: it costs more than scanning a paste
if TYPE_CHECKING:
    from typing import Any, Callable

KEEP = 4          # entries kept per kind: a few rule sets or Python environments used side by side
MAGIC = b"hfx1"


def folder() -> str | None:
    if os.environ.get("HFEXPLAIN_NO_CACHE"):
        return None
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "hfexplain")


def read(name: str) -> bytes | None:
    where = folder()
    if where is None:
        return None
    try:
        with open(os.path.join(where, name), "rb") as fh:
            blob = fh.read()
    except OSError:
        return None
    import zlib

    head, body = blob[:8], blob[8:]
    if head[:4] != MAGIC or int.from_bytes(head[4:], "big") != zlib.crc32(body):
        return None
    return body


def write(name: str, data: bytes) -> None:
    """Atomically (a reader sees the old entry or the new one, never half), then prune; best effort."""
    where = folder()
    if where is None:
        return
    import zlib

    path = os.path.join(where, name)
    try:
        os.makedirs(where, exist_ok=True)
        tmp = f"{path}.{os.getpid()}.tmp"
        with open(tmp, "wb") as fh:
            fh.write(MAGIC + zlib.crc32(data).to_bytes(4, "big") + data)
        os.replace(tmp, path)
    except OSError:
        return
    prune(name.split("-", 1)[0], keep_name=name)


def prune(kind: str, keep_name: str = "") -> None:
    """Delete the entries of one kind but the newest :data:`KEEP` (and ``keep_name``)."""
    where = folder()
    if where is None:
        return
    try:
        names = [n for n in os.listdir(where) if n.startswith(kind + "-") and n != keep_name]
        aged = sorted(names, key=lambda n: os.stat(os.path.join(where, n)).st_mtime_ns, reverse=True)
    except OSError:       # a racing prune removed one first: the next write prunes again
        return
    for stale in aged[KEEP - 1 if keep_name else KEEP:]:
        try:  # noqa: SIM105 - contextlib costs an import on the path that answers a paste
            os.remove(os.path.join(where, stale))
        except OSError:     # another process pruned it first
            pass


def marshalled(name: str, build: Callable[[], Any], valid: Callable[[Any], bool]) -> Any:
    """The value cached under ``name`` if it loads and passes ``valid``; else ``build()``, stored."""
    import marshal

    blob = read(name)
    if blob is not None:
        try:
            value = marshal.loads(blob)
        except (EOFError, ValueError, TypeError):
            value = None
        if value is not None and valid(value):
            return value
    value = build()
    write(name, marshal.dumps(value))
    return value
