"""What the benchmarks share: their own PostgreSQL databases, and a description of the machine they ran on."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import resource
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from urllib.parse import urlparse, urlunparse

ROOT = Path(__file__).resolve().parent.parent
PROTECTED = {"klubb", "test_klubb", "postgres", "template0", "template1"}


def database_name(url: str) -> str:
    """The database of ``url``, refused unless it is plainly a benchmark's own (the benchmarks drop it)."""
    name = urlparse(url).path.lstrip("/")
    if name in PROTECTED or "bench" not in name:
        raise SystemExit(f"refusing to use database {name!r}: the benchmark drops it; use a name with 'bench' in it")
    return name


def admin_execute(url: str, *statements: str) -> None:
    """Run statements on the server's ``postgres`` database (CREATE/DROP DATABASE cannot run in a transaction)."""
    import psycopg

    with psycopg.connect(urlunparse(urlparse(url)._replace(path="/postgres")), autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement)


def database_recreate(url: str, name: str, *, template: str | None = None) -> None:
    copy = f' TEMPLATE "{template}" STRATEGY FILE_COPY' if template else ""
    admin_execute(url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', f'CREATE DATABASE "{name}"{copy}')


def django(url: str, *args: str, tree: Path = ROOT) -> tuple[float, str, float]:
    """Run ``manage.py`` of ``tree``: wall seconds, its output, and the CPU seconds its process used."""
    env = {**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "config.settings.dev", "DEBUG": "0",
           "LOG_LEVEL": "WARNING", "CELERY_BROKER_URL": "memory://localhost/"}  # fmt: skip
    started, cpu = time.monotonic(), resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run([sys.executable, "manage.py", *args], cwd=tree, env=env, capture_output=True, text=True)
    if done.returncode not in (0, 1):
        raise SystemExit(f"manage.py {args[0]} failed:\n{done.stderr[-3000:]}")
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu_seconds = used.ru_utime + used.ru_stime - cpu.ru_utime - cpu.ru_stime
    return time.monotonic() - started, (done.stdout + done.stderr).strip(), cpu_seconds


def database_prepare(url: str, name: str, *, seed: str) -> None:
    """A fresh benchmark database ``name``: created again, migrated, and ``seed`` run in ``manage.py shell``."""
    database_recreate(url, name)
    print(f"Preparing {name} ...", flush=True)
    django(url, "migrate", "--noinput", "-v", "0")
    django(url, "shell", "-c", seed)


def database_exists(url: str, name: str) -> bool:
    import psycopg

    with psycopg.connect(urlunparse(urlparse(url)._replace(path="/postgres")), autocommit=True) as conn:
        return conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is not None


def git(*args: str) -> str:
    return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True).stdout.strip()


def machine(url: str) -> dict[str, str]:
    """Date, cores, memory, PostgreSQL version and settings, Python, commit: the lines every result starts with."""
    import psycopg

    with psycopg.connect(url) as conn:
        version = conn.execute("SELECT version()").fetchone()[0].split(" on ")[0]
        shared_buffers, work_mem, max_connections = conn.execute(
            "SELECT current_setting('shared_buffers'), current_setting('work_mem'), current_setting('max_connections')"
        ).fetchone()
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    dirty = " + uncommitted changes" if git("status", "--porcelain", "--untracked-files=no") else ""
    return {
        "date": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "machine": f"{os.cpu_count()} cores (nproc), {memory:.0f} GiB RAM, {platform.machine()}",
        "postgresql": f"{version} (shared_buffers {shared_buffers}, work_mem {work_mem}, "
        f"max_connections {max_connections})",
        "python": platform.python_version(),
        "commit": git("rev-parse", "--short", "HEAD") + dirty,
    }


def server_tree_option(parser: argparse.ArgumentParser, *, what: str) -> None:
    """``--server-tree``: run another checkout of Klubb (``what`` it does with it), to compare two versions."""
    parser.add_argument(
        "--server-tree", type=Path, default=ROOT,
        help=f"{what} with the Klubb checkout at this path (e.g. a git worktree of an older commit with the\n"
             "same migrations), to compare two versions on one machine; the database is prepared by this one",
    )  # fmt: skip


def other_tree(tree: Path) -> str | None:
    """The commit of ``tree`` and its path when it is not this checkout, else ``None``."""
    if tree.resolve() == ROOT.resolve():
        return None
    return f"{git('-C', str(tree), 'rev-parse', '--short', 'HEAD')} ({tree})"


class BackendCpu:
    """The CPU seconds PostgreSQL's backends serving database ``name`` used while the ``with`` block ran: on a shared
    machine the wall time says little, and the command's own CPU leaves out the server's half of the work.

    Sampled from ``/proc`` (a backend's title names its database) every ``interval`` seconds, so a backend's last
    fraction of an interval before it exits is missed: a lower bound, close for backends that live seconds. Only
    when the server runs on this machine; ``seconds`` is 0.0 where ``/proc`` has none of its backends."""

    def __init__(self, name: str, interval: float = 0.1) -> None:
        self.name, self.interval, self.seconds = name, interval, 0.0
        self._used: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> BackendCpu:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.seconds = sum(self._used.values())

    def _sample(self) -> None:
        ticks = os.sysconf("SC_CLK_TCK")
        before = self._read(ticks)  # backends already there count from now
        while not self._stop.wait(self.interval):
            for pid, seconds in self._read(ticks).items():
                self._used[pid] = seconds - before.get(pid, 0.0)

    def _read(self, ticks: int) -> dict[int, float]:
        used = {}
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as cmdline:
                    title = cmdline.read().decode(errors="replace")
                if not title.startswith("postgres: ") or f" {self.name} " not in title:
                    continue
                with open(f"/proc/{entry}/stat") as stat:
                    fields = stat.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            used[int(entry)] = (int(fields[11]) + int(fields[12])) / ticks  # utime, stime
        return used


Figures = dict[str, dict[str, float]]  # per kind of work: cpu_ms, pg_ms, queries (per request or message)


def rounds_alternate(
    trees: dict[str, Path], rounds: int, run: Callable[[str, Path, int], Figures], *, digits: int = 2
) -> dict[str, list[Figures]]:
    """``run(name, tree, round)`` for each checkout, ``rounds`` times, in alternating order (so the machine's
    drift hits both alike), printing each run's figures as it comes."""
    results: dict[str, list[Figures]] = {name: [] for name in trees}
    for round_no in range(rounds):
        for name in list(trees)[:: 1 if round_no % 2 == 0 else -1]:
            results[name].append(run(name, trees[name], round_no))
            print(f"round {round_no + 1} {name}: " + ", ".join(
                f"{kind} {f['cpu_ms']:.{digits}f} ms + pg {f['pg_ms']:.{digits}f} ms, {f['queries']:.{digits - 1}f} q"
                for kind, f in results[name][-1].items()), flush=True)  # fmt: skip
    return results


def cpu_table(
    results: dict[str, list[Figures]],
    kinds: Iterable[str],
    *,
    first: str = "kind",
    cpu: str = "server CPU ms",
    digits: int = 2,
) -> None:
    """A Markdown table of ``rounds_alternate``'s figures: mean (min-max) per checkout, side by side."""
    header = f"| {first} | " + " | ".join(
        f"{name}: {cpu} | {name}: PostgreSQL CPU ms | {name}: queries" for name in results
    )
    print(header + " |\n" + "| --- " + "| ---: " * 3 * len(results) + "|")
    for kind in kinds:
        cells = []
        for runs in results.values():
            for field in ("cpu_ms", "pg_ms", "queries"):
                values = [run[kind][field] for run in runs]
                mean = sum(values) / len(values)
                spread = f"{mean:.{digits}f} ({min(values):.{digits}f}-{max(values):.{digits}f})"
                cells.append(f"{mean:.{digits - 1}f}" if field == "queries" else spread)
        print(f"| {kind} | " + " | ".join(cells) + " |")


def worker_figures(command: list[str], *, tree: Path, env: dict[str, str]) -> Figures:
    """Run a benchmark's worker process in ``tree``: the figures it printed as JSON on its last line."""
    done = subprocess.run(command, cwd=tree, env=env, capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"the run in {tree} failed:\n{done.stdout[-2000:]}{done.stderr[-4000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def trees_describe(url: str, trees: dict[str, Path]) -> None:
    """The machine, and which checkout each name stands for."""
    print(json.dumps(machine(url), indent=1))
    for name, tree in trees.items():
        print(f"{name}: {other_tree(tree) or 'this checkout'}")
