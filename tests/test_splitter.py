"""The event splitter on real Python output and on the prefixes and encodings logs really carry."""

from __future__ import annotations

import subprocess
import sys

import pytest

from analyzer import analyze
from analyzer.engine import Engine

ENGINE = Engine()
GATE = ("Access to model acme/gated is restricted and you are not in the authorized list. "
        "Visit https://huggingface.co/acme/gated to ask for access.")


def python_stderr(code: str) -> str:
    """What a real interpreter prints for an uncaught exception."""
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30)
    assert proc.returncode != 0
    return proc.stderr


def test_real_chain_keeps_every_exception_and_its_lines():
    err = python_stderr(
        "try:\n raise PermissionError('403 Client Error: Forbidden for url: https://huggingface.co/acme/gated/resolve/main/config.json')\n"
        f"except Exception as e:\n raise OSError({GATE!r}) from e\n"
    )
    events = ENGINE.events_of(err)
    assert [e.kind for e in events] == ["traceback"]
    ev = events[0]
    assert [x.short for x in ev.exceptions] == ["PermissionError", "OSError"]
    assert ev.fields["repo_id"] == "acme/gated" and ev.fields["status"] == 403
    first_line = err.splitlines().index(next(x for x in err.splitlines() if x.startswith("PermissionError"))) + 1
    assert ev.exceptions[0].lineno == first_line


@pytest.mark.skipif(sys.version_info < (3, 11), reason="ExceptionGroup is Python 3.11+")
def test_real_exception_group():
    err = python_stderr(f"raise ExceptionGroup('loading', [ValueError('unrelated'), OSError({GATE!r})])")
    (ev,) = ENGINE.events_of(err)
    names = [x.short for x in ev.exceptions]
    assert names[0] == "ExceptionGroup" and "ValueError" in names and "OSError" in names
    (finding,) = analyze(err)
    assert finding.cause == "gated-not-accepted"


def test_pasted_without_header_or_indentation():
    text = (
        "File \"/home/user/app.py\", line 9, in <module>\n"
        "model = AutoModel.from_pretrained(\"acme/gated\")\n"
        "huggingface_hub.errors.GatedRepoError: 403 Client Error. (Request ID: Root=1-670f1a2b-3c4d5e6f708192a3b4c5d6e7)\n"
        "\n"
        "Cannot access gated repo for url https://huggingface.co/acme/gated/resolve/main/config.json.\n"
        f"{GATE}\n"
    )
    (finding,) = analyze(text)
    assert finding.cause == "gated-not-accepted" and finding.evidence["repo_id"] == "acme/gated"


def test_interleaved_ranks_and_prefixes():
    lines = python_stderr(f"raise OSError({GATE!r})").splitlines()
    text = "".join(f"[rank{r}]: {line}\n" for line in lines for r in (0, 1))   # lines interleaved
    (finding,) = analyze(text)
    assert finding.count == 2 and finding.evidence["ranks"] == [0, 1]


def test_timestamp_and_compose_prefixes():
    lines = python_stderr(f"raise OSError({GATE!r})").splitlines()
    k8s = "".join(f"2026-11-23T08:{i:02d}:01.123456Z stderr F {line}\n" for i, line in enumerate(lines))
    compose = "".join(f"app-1  | {line}\n" for line in lines)
    for text in (k8s, compose):
        (finding,) = analyze(text)
        assert finding.cause == "gated-not-accepted"


def test_ansi_crlf_and_progress_bars():
    err = python_stderr(f"raise OSError({GATE!r})")
    coloured = "".join(f"\x1b[31m{line}\x1b[0m\r\n" for line in err.splitlines())
    bars = "".join(f"\r{p:3d}%|{'#' * (p // 10):<10}| {p}/100" for p in range(0, 100, 7))
    (finding,) = analyze(bars + coloured)
    assert finding.cause == "gated-not-accepted"
    assert all("\x1b" not in row for _, row in finding.events[0].rows)


def test_line_numbers_survive_skipped_chunks():
    noise = "".join(f"step {i} loss=0.{i % 97:02d}\n" for i in range(200_000))   # several MB, no trigger
    err = python_stderr(f"raise OSError({GATE!r})")
    (finding,) = analyze(noise + err)
    gate_line = 200_000 + err.splitlines().index(f"OSError: {GATE}") + 1
    assert gate_line in finding.evidence["lines"]


def test_chunk_boundaries_do_not_change_events():
    err = python_stderr(
        "try:\n raise PermissionError('403 Client Error: Forbidden for url: https://huggingface.co/acme/gated/resolve/main/config.json')\n"
        f"except Exception as e:\n raise OSError({GATE!r}) from e\n"
    ).encode()
    text = b"INFO start\r\n" * 50 + err + b"INFO after\n"
    whole = [(e.kind, e.rows) for e in ENGINE.events_of(text.decode())]
    from analyzer.reader import Scanner
    from analyzer.splitter import Splitter

    for size in (1, 3, 64, 1000):
        got = []
        splitter = Splitter(got.append, ENGINE.message_trigger)
        scanner = Scanner(splitter, ENGINE.trigger_bytes)
        for i in range(0, len(text), size):
            scanner.feed(text[i:i + size])
        scanner.close()
        splitter.close()
        assert [(e.kind, e.rows) for e in got] == whole, size


def test_http_lines_join_the_debug_request_line():
    text = (
        "DEBUG:huggingface_hub.utils._http:Request 0f1e2d3c-4b5a-4697-8877-665544332211: HEAD "
        "https://huggingface.co/acme/gated/resolve/main/config.json (authenticated: False)\n"
        "DEBUG:urllib3.connectionpool:https://huggingface.co:443 \"HEAD /acme/gated/resolve/main/config.json HTTP/1.1\" 401 0\n"
    )
    (ev,) = ENGINE.events_of(text)
    assert ev.kind == "http" and ev.fields["status"] == 401 and ev.fields["authenticated"] is False
    assert ev.fields["repo_id"] == "acme/gated"


def test_curl_verbose_block():
    text = (
        "* Connected to huggingface.co (18.1.2.3) port 443\n"
        "> HEAD /acme/gated/resolve/main/config.json HTTP/2\n> Host: huggingface.co\n> user-agent: curl/8.5.0\n>\n"
        "< HTTP/2 403\n< x-error-code: GatedRepo\n< x-error-message: " + GATE + "\n"
        "< x-request-id: Root=1-670f1a2b-3c4d5e6f708192a3b4c5d6e7\n<\n"
        "$ echo done\n"
    )
    (finding,) = analyze(text)
    assert finding.cause == "gated-not-accepted"
    assert finding.evidence["repo_id"] == "acme/gated" and finding.evidence["status"] == 403


def test_huge_traceback_and_long_chain_stay_bounded():
    frames = "".join(f'  File "/x/m{i}.py", line {i}, in f{i}\n    f{i + 1}()\n' for i in range(200_000))
    (ev,) = ENGINE.events_of("Traceback (most recent call last):\n" + frames + f"OSError: {GATE}\n")
    assert len(ev.rows) <= 2000 and ev.exceptions[-1].short == "OSError"
    link = "\nThe above exception was the direct cause of the following exception:\n\nTraceback (most recent call last):\n  File \"x\", line 1, in <module>\n"
    chain = "Traceback (most recent call last):\n  File \"x\", line 1, in <module>\n" + link.join(
        [*(f"ValueError: {i}" for i in range(10_000)), f"OSError: {GATE}"]) + "\n"
    (ev,) = ENGINE.events_of(chain)
    assert len(ev.exceptions) <= 100 and ev.exceptions[0].message == "0"
    assert ev.exceptions[-1].short == "OSError" and analyze(chain)[0].cause == "gated-not-accepted"


def test_http_client_debug_dump_from_a_real_exchange(token):
    """http.client's own debug output (send:/reply:/header:) of a real request to the local Hub."""
    from localhub import LocalHub

    code = (
        "import sys, urllib.request, urllib.error\n"
        "opener = urllib.request.build_opener(urllib.request.HTTPHandler(debuglevel=1))\n"
        "req = urllib.request.Request(sys.argv[1] + '/api/whoami-v2', headers={'Authorization': 'Bearer ' + sys.argv[2]})\n"
        "try:\n    opener.open(req)\nexcept urllib.error.HTTPError as e:\n    print('HTTP Error', e.code)\n"
    )
    with LocalHub() as hub:
        proc = subprocess.run([sys.executable, "-c", code, hub.url, token], capture_output=True, text=True, timeout=30)
        host = hub.url.split("//", 1)[1]
    dump = proc.stdout.replace(host, "huggingface.co")       # as if it had gone to the Hub
    assert "reply: 'HTTP/1.1 401" in dump
    (finding,) = analyze(dump)
    assert finding.cause == "token-invalid" and finding.evidence["status"] == 401
    assert token not in repr(finding.to_dict())
