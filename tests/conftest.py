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


def gated_traceback(repo: str = "google/gemma-7b", token: str = "") -> bytes:
    """The traceback huggingface_hub 0.x prints when the account has not accepted a gated repo's
    conditions (the shape of fixtures/generated/hfh-0.36.2/gated-not-accepted.log), for ``repo``,
    with ``token`` where the user's code passed one."""
    return f"""\
Traceback (most recent call last):
  File "/srv/app/train.py", line 12, in <module>
    cfg = hf_hub_download("{repo}", "config.json", token="{token}")
  File "/srv/app/.venv/lib/python3.11/site-packages/huggingface_hub/utils/_http.py", line 426, in hf_raise_for_status
    raise _format(GatedRepoError, message, response) from e
huggingface_hub.errors.GatedRepoError: 403 Client Error. (Request ID: Root=1-670f1a2b-3c4d5e6f708192a3b4c5d6e7;11111111-2222-4333-8444-555555555555)

Cannot access gated repo for url https://huggingface.co/{repo}/resolve/main/config.json.
Access to model {repo} is restricted and you are not in the authorized list. Visit https://huggingface.co/{repo} to ask for access.
""".encode()


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
