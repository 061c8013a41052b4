"""The CLI contracts of design §5-6, exercised on the installed console script."""

from __future__ import annotations

import json
import os
import selectors
import subprocess
import time

from conftest import gated_traceback, hfx_command, run_hfx, run_json


def test_file_json_contract(tmp_path, token):
    log = tmp_path / "error.log"
    log.write_bytes(gated_traceback(token=token))
    code, doc = run_json(str(log))
    assert code == 1
    assert doc["hfexplain"] == "1" and doc["inputs"] == [str(log)]
    f = doc["findings"][0]
    assert f["cause"] == "gated-not-accepted" and f["rule"] == "gated-403-not-in-authorized-list"
    ev = f["evidence"]
    assert ev["repo_id"] == "google/gemma-7b" and ev["status"] == 403
    assert ev["exception"] == "huggingface_hub.errors.GatedRepoError"
    assert 6 in ev["lines"] and 9 in ev["lines"]
    assert ev["request_date"] == "2024-10-16T01:43:07Z"
    assert "https://huggingface.co/google/gemma-7b" in f["fix"]["links"]
    assert f["probe"]["status"] == "not-run"


def test_input_forms_agree(tmp_path, token):
    log = tmp_path / "a.log"
    log.write_bytes(gated_traceback(token=token))
    forms = [
        run_hfx("--format", "json", stdin=gated_traceback(token=token)),
        run_hfx("--format", "json", "-", stdin=gated_traceback(token=token)),
        run_hfx("explain", "--format", "json", "-", stdin=gated_traceback(token=token)),
        run_hfx("explain", "--format", "json", str(log)),
        run_hfx("--format=json", str(log)),
    ]
    for proc in forms:
        assert proc.returncode == 1, proc.stderr
        assert json.loads(proc.stdout)["findings"][0]["cause"] == "gated-not-accepted"


def test_several_files(tmp_path, token):
    a, b = tmp_path / "a.log", tmp_path / "b.log"
    a.write_bytes(gated_traceback(token=token))
    b.write_text("epoch 1 loss=0.401\n")
    code, doc = run_json(str(a), str(b))
    assert code == 1 and doc["inputs"] == [str(a), str(b)] and len(doc["findings"]) == 1


def test_per_rank_log_files_are_one_incident(tmp_path):
    """`hfexplain logs/*.log` over a job's per-rank logs: one finding naming every file and rank
    (large files through the parallel scanner too); another repo's failure stays its own."""
    logs = tmp_path / "logs"
    logs.mkdir()
    noise = b"".join(b"2026-11-23 08:00:00,000 - INFO - step %d\n" % i for i in range(4000))
    for r in range(4):
        (logs / f"rank{r}.log").write_bytes(noise * (r == 3) + gated_traceback(token="x") + b"epoch 1\n")
    (logs / "eval.log").write_bytes(gated_traceback(token="x").replace(b"google/gemma-7b", b"acme/other"))
    files = sorted(str(p) for p in logs.iterdir())
    code, doc = run_json(*files, env={"HFEXPLAIN_PARALLEL_MIN_BYTES": "100000"})
    assert code == 1 and doc["inputs"] == files
    by_repo = {f["evidence"]["repo_id"]: f for f in doc["findings"]}
    assert set(by_repo) == {"google/gemma-7b", "acme/other"}
    shared = by_repo["google/gemma-7b"]
    assert shared["count"] == 4 and shared["evidence"]["ranks"] == [0, 1, 2, 3]
    assert sorted(shared["evidence"]["inputs"]) == [str(logs / f"rank{r}.log") for r in range(4)]
    text = run_hfx(*files).stdout.decode()
    assert "seen 4 times · ranks 0-3" in text and text.count("error: gated-not-accepted") == 2


def test_exit_codes(tmp_path):
    healthy = tmp_path / "ok.log"
    healthy.write_text("epoch 3 loss=1.23\nRuntimeError: shape mismatch\n")
    assert run_hfx(str(healthy)).returncode == 0
    missing = run_hfx(str(tmp_path / "missing.log"))
    assert missing.returncode == 2 and b"cannot read" in missing.stderr
    assert run_hfx(str(tmp_path)).returncode == 2
    assert run_hfx("--format", "yaml", str(healthy)).returncode == 2
    assert run_hfx("--no-such-flag", str(healthy)).returncode == 2
    for proc in (missing, run_hfx(str(tmp_path))):
        assert b"Traceback" not in proc.stderr


def test_empty_and_binary_input(tmp_path):
    assert run_hfx(stdin=b"").returncode == 0
    blob = tmp_path / "random.bin"
    blob.write_bytes(os.urandom(300_000))
    proc = run_hfx(str(blob))
    assert proc.returncode in (0, 1) and b"Traceback" not in proc.stderr
    assert b"binary" in proc.stderr


def test_text_names_cause_and_respects_no_color(tmp_path, token):
    log = tmp_path / "e.log"
    log.write_bytes(gated_traceback(token=token))
    out = run_hfx(str(log), env={"NO_COLOR": "1"}).stdout.decode()
    assert "error: gated-not-accepted" in out and "\x1b[" not in out
    assert "hint:" in out and "$ hf auth whoami" in out
    forced = run_hfx("--color", str(log), env={"NO_COLOR": ""}).stdout.decode()
    assert "\x1b[" in forced


def test_markdown_and_jsonl(tmp_path, token):
    log = tmp_path / "e.log"
    log.write_bytes(gated_traceback(token=token))
    md = run_hfx("--format", "markdown", str(log)).stdout.decode()
    assert "### `gated-not-accepted`" in md and "google/gemma-7b" in md and "```" in md
    lines = run_hfx("--format", "jsonl", str(log)).stdout.decode().splitlines()
    assert len(lines) == 1 and json.loads(lines[0])["cause"] == "gated-not-accepted"


def test_token_never_printed(tmp_path, token):
    log = tmp_path / "e.log"
    log.write_bytes(b"export HF_TOKEN=" + token.encode() + b"\n" + gated_traceback(token=token))
    for fmt in ("text", "json", "jsonl", "markdown"):
        proc = run_hfx("--format", fmt, str(log))
        assert token.encode() not in proc.stdout + proc.stderr, fmt
        assert token[3:20].encode() not in proc.stdout + proc.stderr, fmt


def test_non_hub_401_is_not_ours():
    log = (b"requests.exceptions.HTTPError: 401 Client Error: Unauthorized for url: "
           b"https://api.openai.com/v1/chat/completions\n")
    code, doc = run_json(stdin=log)
    assert code == 0 and doc["findings"] == []


def test_pipe_reports_before_eof(token):
    """A finding reaches stdout while the producing job is still running (stdin still open)."""
    proc = subprocess.Popen([*hfx_command()], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env={**os.environ, "NO_COLOR": "1"})
    assert proc.stdin and proc.stdout
    try:
        proc.stdin.write(gated_traceback(token=token) + b"INFO:root:retrying in 5 s\n")
        proc.stdin.flush()
        sel = selectors.DefaultSelector()
        sel.register(proc.stdout, selectors.EVENT_READ)
        got, deadline = b"", time.monotonic() + 20
        while b"gated-not-accepted" not in got and time.monotonic() < deadline:
            if sel.select(timeout=0.5):
                chunk = os.read(proc.stdout.fileno(), 65536)
                if not chunk:
                    break
                got += chunk
        assert b"error: gated-not-accepted" in got, got
        assert proc.poll() is None, "the finding must arrive before the input ends"
    finally:
        proc.stdin.close()
        proc.wait(timeout=20)
    assert proc.returncode == 1


def test_many_ranks_are_one_finding():
    block = gated_traceback(token="x").decode()
    text = "".join(
        "".join(f"[rank{r}]: {line}\n" for line in block.splitlines()) for r in range(8)
    ).encode()
    code, doc = run_json(stdin=text)
    assert code == 1 and len(doc["findings"]) == 1
    f = doc["findings"][0]
    assert f["count"] == 8 and f["evidence"]["ranks"] == list(range(8))


def test_help_and_rules_commands():
    assert run_hfx("--help").returncode == 0
    listing = run_hfx("rules", "list")
    assert listing.returncode == 0 and b"gated-403-not-in-authorized-list" in listing.stdout
    shown = run_hfx("rules", "show", "gated-403-not-in-authorized-list")
    assert shown.returncode == 0 and b"gated-not-accepted" in shown.stdout
    assert run_hfx("rules", "show", "no-such-rule").returncode == 2
    assert run_hfx("rules", "test").returncode == 0


def _stderr_on_a_terminal(args: list[str], env: dict[str, str]) -> tuple[int, bytes, bytes]:
    """Run hfexplain with stderr on a pseudo-terminal (stdout a pipe); (exit code, stdout, stderr)."""
    import pty

    master, slave = pty.openpty()
    proc = subprocess.Popen([*hfx_command(), *args], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=slave,
                            env={**os.environ, "TERM": "xterm-256color", "COLUMNS": "120", **env})
    os.close(slave)
    err = bytearray()
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:              # EIO: the last holder of the terminal's other end has gone
            break
        if not chunk:
            break
        err += chunk
    out = proc.stdout.read()  # type: ignore[union-attr]
    os.close(master)
    return proc.wait(timeout=60), out, bytes(err)


def test_progress_bar_on_a_terminal_for_the_text_report_only(tmp_path):
    big = tmp_path / "big.log"
    noise = b"".join(b"2026-11-23 08:00:00,000 - INFO - step %d loss=0.5\n" % i for i in range(60_000))
    big.write_bytes(noise + gated_traceback() + noise)
    now = {"HFEXPLAIN_PROGRESS_AFTER": "0"}                   # the bar from the first chunk, not after a second
    # One process counts findings; forked workers count the failures they have seen (merged at the end).
    for extra, counted in (({}, b"findings"), ({"HFEXPLAIN_PARALLEL_MIN_BYTES": "1"}, b"failures")):
        code, out, err = _stderr_on_a_terminal([str(big)], {**now, **extra})
        assert code == 1 and b"gated-not-accepted" in out
        assert b"big.log" in err and counted in err and b"MB" in err, err      # name, count, bytes and rate
        assert b"Traceback" not in err
    code, out, err = _stderr_on_a_terminal(["--format", "json", str(big)], now)
    assert code == 1 and b"findings" not in err and json.loads(out)["findings"]
    proc = run_hfx(str(big), env=now)                          # stderr a pipe
    assert proc.returncode == 1 and proc.stderr == b""
    code, _, err = _stderr_on_a_terminal([str(big)], {})       # a quick scan: no bar at all
    assert code == 1 and b"findings" not in err
