#!/usr/bin/env python3
"""Throughput, memory and start-up of the installed `hfexplain`, against grep, measured in one run.

    python benchmarks/throughput.py [--sizes 10,100,1000] [--dir /tmp/hfx-bench] [--runs 3]

Generates deterministic synthetic training logs (tqdm `\\r` bars, INFO noise, urllib3 DEBUG lines
of successful Hub requests, ~50 embedded Hub failures of different causes and library versions,
a few 1 MB lines, some invalid UTF-8), then times:
  - `LC_ALL=C grep -c -E` with the union of the rules' trigger literals (the reference),
  - `hfexplain --format json` with the default prefilter (hyperscan) and with Python's `re`,
warm and cold page cache (cold: the file's pages are dropped with posix_fadvise), with peak
RSS from /usr/bin/time, and checks that every embedded incident is reported. Then a thousand
small files, and start-up:
`python -c pass` vs a 2 KB traceback, a 2 KB log without Hub errors, and the coloured report.
Prints Markdown tables. Not a test: ratios matter, and both sides are measured in the same run.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

INCIDENTS = 50
TEMPLATES = [
    ("gated-not-accepted",
     "Traceback (most recent call last):\n"
     "  File \"/home/user/train.py\", line 31, in <module>\n"
     "    model = AutoModelForCausalLM.from_pretrained(\"{repo}\")\n"
     "huggingface_hub.errors.GatedRepoError: 403 Client Error. (Request ID: Root=1-670f1a2b-3c4d5e6f708192a3b4c5d6e7)\n"
     "\n"
     "Cannot access gated repo for url https://huggingface.co/{repo}/resolve/main/config.json.\n"
     "Access to model {repo} is restricted and you are not in the authorized list. "
     "Visit https://huggingface.co/{repo} to ask for access.\n"),
    ("token-missing",
     "[rank0]: Traceback (most recent call last):\n"
     "[rank0]:   File \"/home/user/train.py\", line 12, in <module>\n"
     "[rank0]:     hf_hub_download(\"{repo}\", \"config.json\")\n"
     "[rank0]: huggingface_hub.errors.GatedRepoError: 401 Client Error. (Request ID: Root=1-66f4b037-1bf3d7d219afbc904ee05694)\n"
     "[rank0]: \n"
     "[rank0]: Cannot access gated repo for url https://huggingface.co/{repo}/resolve/main/config.json.\n"
     "[rank0]: Access to model {repo} is restricted. You must have access to it and be authenticated to access it. "
     "Please log in.\n"),
    ("token-invalid",
     "Traceback (most recent call last):\n"
     "  File \"/home/user/eval.py\", line 8, in <module>\n"
     "    tok = AutoTokenizer.from_pretrained(\"{repo}\")\n"
     "huggingface_hub.errors.HfHubHTTPError: Client error '401 Unauthorized' for url "
     "'https://huggingface.co/{repo}/resolve/main/tokenizer_config.json' (Request ID: Root=1-68f0a1b2-0c1d2e3f4a5b6c7d8e9f0a1b)\n"
     "For more information check: https://developer.mozilla.org/en-US/docs/Web/HTTP/Status/401\n"
     "\n"
     "Invalid credentials in Authorization header\n"),
    ("token-scope",
     "huggingface_hub.errors.HfHubHTTPError: (Request ID: Root=1-6720c1d2-5e6f708192a3b4c5d6e7f809)\n"
     "\n"
     "403 Forbidden: Please enable access to public gated repositories in your fine-grained token settings "
     "to view this repository..\n"
     "Cannot access content at: https://huggingface.co/{repo}/resolve/main/config.json.\n"
     "Make sure your token has the correct permissions.\n"),
    ("repo-not-found",
     "huggingface_hub.utils._errors.RepositoryNotFoundError: 404 Client Error. (Request ID: Root=1-65a0c1d2-5e6f708192a3b4c5d6e7f809)\n"
     "\n"
     "Repository Not Found for url: https://huggingface.co/api/models/{repo}.\n"
     "Please make sure you specified the correct `repo_id` and `repo_type`.\n"),
]


def trigger_literals() -> list[str]:
    from analyzer.rules import load_rules
    from analyzer.triggers import all_literals

    return all_literals(load_rules())


def generate(path: Path, size_mb: int, seed: int = 7) -> list[tuple[str, str]]:
    """Write a deterministic log of about size_mb MiB; return the (cause, repo) of each incident."""
    rnd = random.Random(seed)
    target = size_mb << 20
    every = max(1, target // INCIDENTS)
    incidents: list[tuple[str, str]] = []
    written, next_incident, step = 0, every // 2, 0
    big_lines = {target // 3, 2 * target // 3} if size_mb >= 100 else set()
    with open(path, "wb") as out:
        while written < target:
            block = []
            for _ in range(200):
                step += 1
                r = rnd.random()
                if r < 0.35:
                    bar = "".join(f"\r{p:3d}%|{'#' * (p // 10):<10}| {p}/100 [00:{p % 60:02d}<00:10, {rnd.random() * 50:.1f}it/s]"
                                  for p in range(0, 101, 10))
                    block.append(bar + "\n")
                elif r < 0.75:
                    block.append(f"2026-11-23 08:{step % 60:02d}:{step % 59:02d},{step % 997:03d} - INFO - step {step} "
                                 f"loss={rnd.random():.4f} lr=3e-05 grad_norm={rnd.random() * 3:.3f}\n")
                elif r < 0.9:
                    code = rnd.choice((200, 200, 200, 302, 304, 307))
                    block.append(f"DEBUG:urllib3.connectionpool:https://huggingface.co:443 \"HEAD /org/model-{step % 97}/"
                                 f"resolve/main/config.json HTTP/1.1\" {code} 0\n")
                elif r < 0.97:
                    block.append(f"WARNING:accelerate.utils:step {step}: gradient overflow, skipping update\n")
                else:
                    block.append(f"INFO:root:eval {step}: accuracy={rnd.random():.3f} f1={rnd.random():.3f}\n")
            data = "".join(block).encode()
            if step % 4000 == 0:
                data += b"INFO: bad bytes \xff\xfe\xc3\x28 in a tokenizer warning\n"
            out.write(data)
            written += len(data)
            for mark in list(big_lines):
                if written >= mark:
                    out.write(b'{"blob": "' + b"x" * (1 << 20) + b'"}\n')
                    written += (1 << 20) + 12
                    big_lines.discard(mark)
            if written >= next_incident and len(incidents) < INCIDENTS:
                cause, template = TEMPLATES[len(incidents) % len(TEMPLATES)]
                repo = f"bench-org/model-{len(incidents):02d}"
                text = template.replace("{repo}", repo).encode()
                out.write(b"INFO: loading\n" + text + b"INFO: next step\n")
                written += len(text) + 29
                incidents.append((cause, repo))
                next_incident += every
    return incidents


def timed(cmd: list[str], env: dict[str, str] | None = None, stdin: int | None = None) -> tuple[float, int, bytes]:
    """(wall seconds, peak RSS KiB, stdout) of one run, via GNU time."""
    full = ["/usr/bin/time", "-f", "%M", *cmd]
    t = time.perf_counter()
    proc = subprocess.run(full, capture_output=True, env={**os.environ, **(env or {})})
    wall = time.perf_counter() - t
    rss = int(proc.stderr.decode().strip().splitlines()[-1])
    return wall, rss, proc.stdout


def drop_cache(path: Path) -> bool:
    try:
        fd = os.open(path, os.O_RDONLY)
        try:
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)
        return True
    except (OSError, AttributeError):
        return False


def median_run(cmd: list[str], runs: int, env: dict[str, str] | None = None, cold: Path | None = None
               ) -> tuple[float, int, bytes]:
    results = []
    for _ in range(runs):
        if cold is not None:
            drop_cache(cold)
        results.append(timed(cmd, env))
    walls = sorted(r[0] for r in results)
    return statistics.median(walls), max(r[1] for r in results), results[-1][2]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="10,100,1000", help="MiB, comma-separated")
    ap.add_argument("--dir", default="/tmp/hfx-bench")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--no-fallback", action="store_true", help="skip the pure-Python engine")
    args = ap.parse_args()
    hfx = shutil.which("hfexplain")
    if not hfx:
        print("install hfexplain first (pip install .)", file=sys.stderr)
        return 2
    work = Path(args.dir)
    work.mkdir(parents=True, exist_ok=True)
    patterns = work / "patterns.txt"
    patterns.write_text("\n".join(re.escape(x) for x in trigger_literals()) + "\n")
    print("| size | cache | grep -c -E | hfexplain (hyperscan) | ratio | peak RSS | hfexplain (re) | ratio | peak RSS | incidents |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for size in (int(s) for s in args.sizes.split(",")):
        log = work / f"train-{size}M.log"
        manifest = work / f"train-{size}M.json"
        if not log.exists() or not manifest.exists():
            manifest.write_text(json.dumps(generate(log, size)))
        expected = {repo for _, repo in json.loads(manifest.read_text())}
        for cache in ("warm", "cold"):
            cold = log if cache == "cold" else None
            if cold is None:
                subprocess.run(["cat", str(log)], stdout=subprocess.DEVNULL)
            g, _, _ = median_run(["env", "LC_ALL=C", "grep", "-c", "-E", "-f", str(patterns), str(log)], args.runs,
                                 cold=cold)
            h, h_rss, out = median_run([hfx, "--format", "json", str(log)], args.runs, cold=cold)
            found = {f["evidence"].get("repo_id") for f in json.loads(out)["findings"]}
            ok = f"{len(expected & found)}/{len(expected)}"
            if args.no_fallback:
                r, r_rss = float("nan"), 0
            else:
                r, r_rss, _ = median_run([hfx, "--format", "json", str(log)], 1, env={"HFEXPLAIN_PREFILTER": "re"},
                                         cold=cold)
            mb = log.stat().st_size / (1 << 20)
            print(f"| {size} MiB | {cache} | {g:.2f} s ({mb / g:.0f} MiB/s) | {h:.2f} s ({mb / h:.0f} MiB/s) | "
                  f"{g / h:.2f}× | {h_rss / 1024:.0f} MiB | {r:.2f} s | {g / r:.2f}× | {r_rss / 1024:.0f} MiB | {ok} |")
    one_process(work, patterns, max(int(x) for x in args.sizes.split(",")), args.runs, args.no_fallback)
    long_lines(work, args.runs)
    many_files(work, patterns, args.runs)
    startup(work, args.runs)
    return 0


def one_process(work: Path, patterns: Path, size: int, runs: int, no_fallback: bool) -> None:
    """The largest log again, on one core (HFEXPLAIN_NO_PARALLEL=1), warm cache."""
    log = work / f"train-{size}M.log"
    hfx = shutil.which("hfexplain") or "hfexplain"
    subprocess.run(["cat", str(log)], stdout=subprocess.DEVNULL)
    g, _, _ = median_run(["env", "LC_ALL=C", "grep", "-c", "-E", "-f", str(patterns), str(log)], runs)
    print(f"\n| {size} MiB, warm, one process | grep -c -E | hfexplain | vs grep | peak RSS |\n|---|---|---|---|---|")
    engines = ["hyperscan"] if no_fallback else ["hyperscan", "re"]
    for engine in engines:
        h, rss, _ = median_run([hfx, "--format", "json", str(log)], runs if engine == "hyperscan" else 1,
                               env={"HFEXPLAIN_NO_PARALLEL": "1", "HFEXPLAIN_PREFILTER": engine})
        print(f"| prefilter {engine} | {g:.2f} s | {h:.2f} s | {g / h:.2f}× | {rss / 1024:.0f} MiB |")


def startup(work: Path, runs: int) -> None:
    """Start-up of 2 KB inputs against `python -c pass`, the runs of all cases interleaved."""
    noise = "".join(f"2026-11-23 08:00:{i % 60:02d},000 - INFO - step {i} loss=0.{i:03d} lr=3e-05\n" for i in range(40))
    small = work / "small-traceback.log"
    small.write_text(noise[:1400] + "\n" + TEMPLATES[0][1].replace("{repo}", "google/gemma-7b"))
    quiet = work / "small-healthy.log"
    quiet.write_text(noise[:2048])
    hfx = shutil.which("hfexplain") or "hfexplain"
    cases = [
        ("python -c pass", [sys.executable, "-c", "pass"]),
        (f"hfexplain --format json small-traceback.log ({small.stat().st_size} B, a finding)",
         [hfx, "--format", "json", str(small)]),
        (f"hfexplain --format json small-healthy.log ({quiet.stat().st_size} B, nothing)",
         [hfx, "--format", "json", str(quiet)]),
        ("hfexplain --color small-traceback.log (rich report)", [hfx, "--color", str(small)]),
    ]
    for _, cmd in cases:      # warm up (and write the caches)
        subprocess.run(cmd, capture_output=True)
    walls: dict[str, list[float]] = {label: [] for label, _ in cases}
    for _ in range(max(30, runs * 10)):
        for label, cmd in cases:
            t = time.perf_counter()
            subprocess.run(cmd, capture_output=True)
            walls[label].append(time.perf_counter() - t)
    base = statistics.median(walls[cases[0][0]])
    print("\n| start-up | median | × python -c pass |\n|---|---|---|")
    for label, _ in cases:
        med = statistics.median(walls[label])
        print(f"| {label} | {med * 1000:.1f} ms | {med / base:.2f}× |")


def long_lines(work: Path, runs: int) -> None:
    """One 1 MiB line of near-misses: nothing in it may cost more than linear time."""
    literals = trigger_literals()
    near = [lit[:-1] + ("#" if lit[-1] != "#" else "$") for lit in literals]
    near = [n for n in near if not any(lit in n for lit in literals)]   # not those that hold a shorter one
    units = {
        "near-misses of every trigger literal (last character changed)": " ".join(near) + " ",
        "`huggingface.co/… 401`-like text (quadratic for `huggingface\\.co[^ ]* .* 40[13]`)":
            "https://huggingface.co/org/model/resolve/main/config.json 4013 ",
    }
    hfx = shutil.which("hfexplain") or "hfexplain"
    print("\n| one 1 MiB line | prefilter | wall (whole run) | findings |\n|---|---|---|---|")
    for label, unit in units.items():
        text = (unit * ((1 << 20) // len(unit) + 1))[: 1 << 20]
        assert not any(lit in text for lit in literals), "a near-miss line must hold no trigger"
        path = work / "near-miss.log"
        path.write_text(text)
        for engine in ("hyperscan", "re"):
            h, _, out = median_run([hfx, "--format", "json", str(path)], runs, env={"HFEXPLAIN_PREFILTER": engine})
            print(f"| {label} | {engine} | {h:.3f} s | {len(json.loads(out)['findings'])} |")


def many_files(work: Path, patterns: Path, runs: int, count: int = 1000) -> None:
    """`hfexplain logs/*.log` over a thousand 2 KB files, one of them with a Hub failure."""
    folder = work / "many"
    folder.mkdir(exist_ok=True)
    rnd = random.Random(3)
    for i in range(count):
        lines = [f"2026-11-23 08:{i % 60:02d}:{j % 60:02d},000 - INFO - rank {i} step {j} loss={rnd.random():.4f}\n"
                 for j in range(30)]
        if i == count // 2:
            lines.append(TEMPLATES[0][1].replace("{repo}", "bench-org/gated"))
        (folder / f"rank{i:04d}.log").write_text("".join(lines))
    files = sorted(str(p) for p in folder.glob("*.log"))
    hfx = shutil.which("hfexplain") or "hfexplain"
    g, _, _ = median_run(["env", "LC_ALL=C", "grep", "-c", "-E", "-f", str(patterns), *files], runs)
    h, rss, out = median_run([hfx, "--format", "json", *files], runs)
    doc = json.loads(out)
    found = [f["cause"] for f in doc["findings"]]
    print(f"\n| {count} files of ~2 KB | grep -c -E | hfexplain | per file | peak RSS | findings |\n|---|---|---|---|---|---|")
    print(f"| `hfexplain --format json many/*.log` | {g:.3f} s | {h:.3f} s | {h / count * 1000:.2f} ms | "
          f"{rss / 1024:.0f} MiB | {len(doc['inputs'])} inputs, {found} |")


if __name__ == "__main__":
    sys.exit(main())
