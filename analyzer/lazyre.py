"""Patterns compiled on first use: a pasted traceback pays only for the patterns its lines need.

Compiling is most of the cost of a module full of patterns (``re`` compiles in Python), and
most logs never show a git, curl or http.client line. After the first use the pattern's methods
are plain attributes of the wrapper, so a hot loop pays no more than with ``re.compile``.
"""

from __future__ import annotations

import re

_METHODS = ("search", "match", "fullmatch", "sub", "subn", "finditer", "findall", "split")


class LazyPattern:
    __slots__ = ("_flags", "_source", *_METHODS)

    def __init__(self, source: str, flags: int = 0) -> None:
        self._source, self._flags = source, flags

    def __getattr__(self, name: str) -> object:     # only reached before the first compile
        compiled = re.compile(self._source, self._flags)
        for method in _METHODS:
            setattr(self, method, getattr(compiled, method))
        return getattr(compiled, name)


def compile_lazily(source: str, flags: int = 0) -> re.Pattern[str]:
    """Like :func:`re.compile`, compiled when a method is first called."""
    return LazyPattern(source, flags)  # type: ignore[return-value]
