"""The plain path stays light: no framework, HTTP stack or YAML parser on a cached run."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

HEAVY = ("huggingface_hub", "httpx", "httpx2", "httpcore", "requests", "pydantic", "rich", "typer", "click",
         "watchdog", "yaml", "regex")

PROBE = """
import json, sys
from analyzer.cli import main
code = main(["--format", "json", sys.argv[1]])
sys.stdout.flush()
heavy = sorted({m.split(".")[0] for m in sys.modules} & set(json.loads(sys.argv[2])))
sys.stderr.write("HEAVY=" + json.dumps(heavy) + "\\n")
sys.exit(code)
"""


def test_fast_path_imports(tmp_path):
    log = tmp_path / "small.log"
    log.write_text(
        "huggingface_hub.errors.GatedRepoError: 403 Client Error. (Request ID: Root=1-670f1a2b-3c4d5e6f708192a3b4c5d6e7)\n\n"
        "Cannot access gated repo for url https://huggingface.co/acme/gated/resolve/main/config.json.\n"
        "Access to model acme/gated is restricted and you are not in the authorized list. Visit https://huggingface.co/acme/gated to ask for access.\n"
    )
    env = {"XDG_CACHE_HOME": str(tmp_path / "cache"), "PATH": "/usr/bin:/bin", "NO_COLOR": "1"}
    runs = []
    for _ in range(2):       # the first run builds the rule cache, the second must use it
        proc = subprocess.run([sys.executable, "-c", PROBE, str(log), json.dumps(HEAVY)], capture_output=True,
                              text=True, env=env, timeout=60)
        assert proc.returncode == 1, proc.stderr
        runs.append(json.loads(proc.stderr.split("HEAVY=")[1]))
    assert runs[1] == [], f"the cached plain path imported {runs[1]}"
    assert set(runs[0]) <= {"yaml"}, runs[0]


def test_input_without_trigger_never_loads_the_engine(tmp_path):
    log = tmp_path / "quiet.log"
    log.write_text("".join(f"2026-11-23 08:00:{i:02d},000 - INFO - step {i} loss=0.{i:03d}\n" for i in range(40)))
    env = {"XDG_CACHE_HOME": str(tmp_path / "cache"), "PATH": "/usr/bin:/bin", "NO_COLOR": "1"}
    probe = PROBE.replace('heavy = sorted(', 'heavy = sorted({m for m in sys.modules if m == "analyzer.engine"} | ')
    for _ in range(2):
        proc = subprocess.run([sys.executable, "-c", probe, str(log), json.dumps(HEAVY)], capture_output=True,
                              text=True, env=env, timeout=60)
        assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stderr.split("HEAVY=")[1]) == []


def _imported(tmp_path, *args: str) -> set[str]:
    """Modules the `hfexplain` launcher imports for one run (from the interpreter's own -X importtime)."""
    env = {"XDG_CACHE_HOME": str(tmp_path / "cache"), "PATH": "/usr/bin:/bin", "NO_COLOR": "1",
           "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-X", "importtime", str(ROOT / "bin" / "hfexplain"), *args]
    for _ in range(2):                 # the second run is served from the cache the first one filled
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=60)
    assert proc.returncode in (0, 1), proc.stderr
    return {line.rsplit("|", 1)[1].strip() for line in proc.stderr.splitlines() if line.startswith("import time:")}


def test_a_healthy_paste_is_answered_without_re_or_json(tmp_path):
    """`re` alone costs half of Python's start-up; the answer to a log without a Hub error needs neither."""
    log = tmp_path / "quiet.log"
    log.write_text("".join(f"2026-11-23 08:00:{i:02d},000 - INFO - step {i} loss=0.{i:03d}\n" for i in range(40)))
    modules = _imported(tmp_path, "--format", "json", str(log))
    assert "analyzer.cli" in modules
    assert not modules & {"re", "json", "typing", "analyzer.engine", "yaml", "rich"}, sorted(modules)


def test_the_installed_command_is_the_lean_launcher():
    installed = shutil.which("hfexplain")
    if installed is None or not Path(installed).read_bytes().startswith(b"#!"):
        pytest.skip("no hfexplain script on PATH")
    body = Path(installed).read_text().splitlines()[1:]
    assert body == (ROOT / "bin" / "hfexplain").read_text().splitlines()[1:]


def test_python_dash_m_analyzer_is_the_same_command(tmp_path):
    """Where pip's scripts folder is not on PATH (or on Windows, where the launcher is not an .exe)."""
    log = tmp_path / "gated.log"
    log.write_text("huggingface_hub.errors.GatedRepoError: 403 Client Error. (Request ID: Root=1-670f1a2b-3c4d5e6f708192a3b4c5d6e7)\n\n"
                   "Cannot access gated repo for url https://huggingface.co/acme/gated/resolve/main/config.json.\n"
                   "Access to model acme/gated is restricted and you are not in the authorized list. "
                   "Visit https://huggingface.co/acme/gated to ask for access.\n")
    proc = subprocess.run([sys.executable, "-m", "analyzer", "--format", "json", str(log)], capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 1, proc.stderr
    assert json.loads(proc.stdout)["findings"][0]["cause"] == "gated-not-accepted"
    helped = subprocess.run([sys.executable, "-m", "analyzer", "--help"], capture_output=True, text=True, timeout=60)
    assert helped.returncode == 0 and "Usage" in helped.stdout


def test_lazy_patterns_behave_like_compiled_ones_and_compile_on_first_use():
    from analyzer.lazyre import LazyPattern, compile_lazily

    p = compile_lazily(r"a(?P<x>b)", re.IGNORECASE)
    with pytest.raises(AttributeError):
        LazyPattern.__dict__["search"].__get__(p)            # nothing compiled yet
    assert p.search("xAB").group("x") == "B"
    assert p.sub("-", "abab") == "--" and [m.start() for m in p.finditer("ab ab")] == [0, 3]
    assert p.pattern == r"a(?P<x>b)" and p.groupindex == {"x": 1}
    assert LazyPattern.__dict__["search"].__get__(p) == re.compile(r"a(?P<x>b)", re.IGNORECASE).search


def test_a_pasted_traceback_compiles_no_git_or_curl_pattern():
    code = (
        "import io, sys\n"
        "from analyzer.cli import main\n"
        "from analyzer import splitter\n"
        "from analyzer.lazyre import LazyPattern\n"
        "sys.stdout = io.StringIO()\n"
        "main(['--format', 'json', sys.argv[1]])\n"
        "def compiled(p):\n"
        "    try:\n"
        "        LazyPattern.__dict__['search'].__get__(p)\n"
        "        return True\n"
        "    except AttributeError:\n"
        "        return False\n"
        "names = [n for n in ('_GIT', '_GIT_CMD', '_CURL_REQ', '_PYCLIENT_SEND', '_HTTPCORE') if compiled(getattr(splitter, n))]\n"
        "sys.stderr.write('COMPILED=' + ','.join(names))\n"
    )
    log = ROOT / "fixtures" / "seeds" / "guide-gated-llama3-not-accepted-403.log"
    proc = subprocess.run([sys.executable, "-c", code, str(log)], capture_output=True, text=True, timeout=60)
    assert "COMPILED=" in proc.stderr, proc.stderr
    assert proc.stderr.split("COMPILED=")[1] == ""
