"""Drive the webhook with wrk (C, one thread) and a Lua script that posts pre-signed bodies, each once."""

from __future__ import annotations

import json
import resource
import shutil
import subprocess
from pathlib import Path

from bench.loadgen import LoadResult, SignedRequest

SCRIPT = Path(__file__).with_name("wrk_follow.lua")
PERCENTILES = (50, 95, 99)


def available() -> bool:
    """Tell whether wrk is installed."""
    return shutil.which("wrk") is not None


def write_requests(requests: list[SignedRequest], path: Path) -> Path:
    """Write "signature<TAB>body" lines for the Lua script (bodies are compact ASCII JSON)."""
    path.write_text("".join(f"{r.headers['X-Line-Signature']}\t{r.body.decode()}\n" for r in requests))
    return path


def drive_wrk(
    port: int, requests: list[SignedRequest], concurrency: int, *, seconds: float, folder: Path
) -> LoadResult:
    """Run wrk for `seconds` from `concurrency` keep-alive connections; bodies cycle if they run out."""
    path = write_requests(requests, folder / f"wrk-requests-{port}-{concurrency}.txt")
    command = [
        "wrk",
        "-t1",
        f"-c{concurrency}",
        f"-d{max(1, round(seconds))}s",
        "--timeout",
        "30s",
        "-s",
        str(SCRIPT),
        f"http://127.0.0.1:{port}",
        "--",
        str(path),
        "1",
    ]
    cpu_before = _children_cpu()
    output = subprocess.run(command, capture_output=True, text=True, check=True, timeout=seconds + 60).stdout
    summary = json.loads(output.strip().splitlines()[-1])
    failed = summary["non2xx"] + summary["errors"]
    statuses = {200: summary["requests"] - summary["non2xx"]}
    if failed:
        statuses["failed"] = failed
    return LoadResult(
        concurrency,
        seconds=summary["seconds"],
        client_cpu_seconds=_children_cpu() - cpu_before,
        statuses=statuses,
        reported_percentiles={p: summary[f"p{p}"] for p in PERCENTILES},
    )


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime
