"""Shared test helpers: the installed CLI as a real subprocess, tokens built at run time."""

from __future__ import annotations

import json
import os
import random
import shutil
import string
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"


def hfx_command() -> list[str]:
    """The `hfexplain` console script on PATH (what a user runs), else the module."""
    exe = shutil.which("hfexplain")
    return [exe] if exe else [sys.executable, "-m", "analyzer"]


def run_hfx(*args: str, stdin: bytes | None = None, env: dict[str, str] | None = None,
            cwd: Path | None = None, timeout: float = 60) -> subprocess.CompletedProcess[bytes]:
    full_env = {**os.environ, "NO_COLOR": "1", **(env or {})}
    return subprocess.run([*hfx_command(), *args], input=stdin if stdin is not None else b"",
                          capture_output=True, env=full_env, cwd=cwd, timeout=timeout)


def run_json(*args: str, **kw: object) -> tuple[int, dict]:
    proc = run_hfx("--format", "json", *args, **kw)  # type: ignore[arg-type]
    assert b"Traceback (most recent call last)" not in proc.stderr, proc.stderr.decode()
    return proc.returncode, json.loads(proc.stdout)


def make_token(prefix: str = "hf_", n: int = 34) -> str:
    """A token-shaped string built at run time (none is ever committed)."""
    rnd = random.Random()
    return prefix + "".join(rnd.choice(string.ascii_letters) for _ in range(n))


@pytest.fixture(scope="session", autouse=True)
def _private_cache(tmp_path_factory: pytest.TempPathFactory) -> None:
    """The suite neither reads nor fills the user's own cache folder (child processes inherit this)."""
    os.environ["XDG_CACHE_HOME"] = str(tmp_path_factory.mktemp("xdg-cache"))


@pytest.fixture
def token() -> str:
    return make_token()
