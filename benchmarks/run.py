#!/usr/bin/env python3
"""Benchmark sls-audit against the speed and memory targets of DESIGN.md section 6.

    python benchmarks/run.py [--sizes 10,100,1000] [--repeat 3] [--keep DIR] [--json FILE]

For each size it generates a monorepo (gen_monorepo.py), then times, each in a fresh process
pinned to one core, the libyaml floor (composing every serverless*.yml) and the sls-audit
commands, and prints a Markdown table and a PASS/FAIL line per target. Why subprocesses: the
targets are about what a user waits for (interpreter start, imports, GC) and about peak RSS,
which only a process of its own can report (os.wait4's ru_maxrss).

Exit status: 0 when every command ran (exit 0 or 1), 1 when one failed (or, with --strict, when a
target failed), 2 when sls-audit cannot be found.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import gen_monorepo  # noqa: E402  (sits next to this script)

# Targets from DESIGN.md section 6.
TARGET_SIZE = 1000
CHECK_SECONDS = 3.0
COLD_CHECK_SECONDS = 10.0
PEAK_MB = 500.0
COMPOSE_RATIO = 4.0
GROWTH_RATIO = 12.0
ONE_SERVICE_SECONDS = 0.3

BASELINE = "yaml.compose (baseline)"
CHECK = "check"
CHECK_COLD = "check, cold cache (2 cores)"
CHECK_NO_CODE = "check --no-code"
GRAPH = "graph"

# The floor: what composing the YAML with line marks costs, nothing else. Files are read first
# and the cyclic GC is off while the node trees are held (DESIGN section 6: left on, it multiplies
# load time several-fold), so the floor is what a careful loader can reach.
BASELINE_CHILD = r"""
import gc, json, os, sys, time
import yaml
texts = []
for d, dirs, files in os.walk(sys.argv[1]):
    dirs[:] = sorted(x for x in dirs if x not in ("node_modules", ".serverless", ".git"))
    for f in sorted(files):
        if f.startswith("serverless") and f.endswith((".yml", ".yaml")):
            with open(os.path.join(d, f), encoding="utf-8") as fh:
                texts.append(fh.read())
gc.disable()
start = time.perf_counter()
nodes = [yaml.compose(t, Loader=yaml.CSafeLoader) for t in texts]
elapsed = time.perf_counter() - start
print(json.dumps({"seconds": elapsed, "files": len(nodes)}))
"""


@dataclass
class Run:
    seconds: float
    peak_kb: int
    returncode: int
    stdout: str
    stderr: str


@dataclass
class Result:
    size: int
    command: str
    argv: list[str]
    self_timed: bool = False  # the child prints {"seconds": ...}: report that, not wall time
    runs: list[float] = field(default_factory=list)
    seconds: float | None = None
    peak_mb: float | None = None
    ratio: float | None = None
    error: str | None = None


@dataclass
class SizeInfo:
    services: int
    functions: int
    yaml_bytes: int
    handler_files: int
    generate_seconds: float


# Measures one command from a small process of its own. Why not from this one: on Linux a child
# starts with the peak RSS of the process that forked it (exec keeps the high-water mark), so
# spawned from run.py, which holds the generated plans, every child would report run.py's size.
# The helper is a bare interpreter (-I -S, about 9 MB): a floor no Python child goes below.
SPAWN_HELPER = r"""
import json, os, signal, sys, time
result_file, timeout, argv = sys.argv[1], float(sys.argv[2]), sys.argv[3:]
start = time.perf_counter()
try:
    pid = os.posix_spawnp(argv[0], argv, os.environ)
except OSError as exc:
    sys.stderr.write(f"cannot run {argv[0]}: {exc}\n")
    sys.exit(127)
signal.signal(signal.SIGALRM, lambda *_: os.kill(pid, signal.SIGKILL))
signal.setitimer(signal.ITIMER_REAL, timeout)
_, status, usage = os.wait4(pid, 0)
seconds = time.perf_counter() - start
signal.setitimer(signal.ITIMER_REAL, 0)
with open(result_file, "w") as fh:
    json.dump({"seconds": seconds, "peak_kb": usage.ru_maxrss,
               "returncode": os.waitstatus_to_exitcode(status)}, fh)
"""


def run_once(argv: list[str], env: dict[str, str], pin: bool, timeout: float) -> Run:
    """Run argv in a fresh process: wall time and its own peak RSS (os.wait4, KB on Linux).

    Output goes to temporary files, not pipes, so a chatty child can never block.
    """
    cmd = (["taskset", "-c", "0"] if pin else []) + argv
    with (
        tempfile.TemporaryFile() as out,
        tempfile.TemporaryFile() as err,
        tempfile.NamedTemporaryFile(suffix=".json") as res,
    ):
        try:
            helper = subprocess.run(
                [sys.executable, "-I", "-S", "-c", SPAWN_HELPER, res.name, str(timeout), *cmd],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                env=env,
                timeout=timeout + 60,
            )
        except subprocess.TimeoutExpired:
            return Run(timeout, 0, 124, "", f"the measuring helper hung past {timeout:g} s")
        out.seek(0)
        err.seek(0)
        stdout = out.read().decode(errors="replace")
        stderr = err.read().decode(errors="replace")
        try:
            measured = json.loads(Path(res.name).read_text())
        except ValueError:
            return Run(0.0, 0, helper.returncode or 127, stdout, stderr)
    rc = measured["returncode"]
    if rc == -signal.SIGKILL and measured["seconds"] >= timeout:
        stderr += f"\n(killed after the {timeout:g} s timeout)"
    return Run(measured["seconds"], measured["peak_kb"], rc, stdout, stderr)


def measure_once(
    result: Result, env: dict[str, str], pin: bool, timeout: float, output: Path | None
) -> None:
    """One more run of the result's command: keep the best time and highest peak, or the failure."""
    if result.error:
        return
    if output is not None:
        output.unlink(missing_ok=True)
    run = run_once(result.argv, env, pin, timeout)
    if run.returncode not in (0, 1):
        result.error = f"exit {run.returncode}: {tail(run.stderr)}"
        return
    if result.self_timed:
        try:
            run.seconds = float(json.loads(run.stdout.strip().splitlines()[-1])["seconds"])
        except (ValueError, KeyError, IndexError, TypeError) as exc:
            result.error = f"unexpected output {run.stdout!r} ({exc}): {tail(run.stderr)}"
            return
    if output is not None and (not output.exists() or output.stat().st_size == 0):
        result.error = f"exit {run.returncode} but wrote no {output.name}: {tail(run.stderr)}"
        return
    result.runs.append(run.seconds)
    result.seconds = min(result.runs)
    result.peak_mb = max(result.peak_mb or 0.0, run.peak_kb / 1024)  # ru_maxrss: KB on Linux


def tail(text: str, lines: int = 15) -> str:
    text = text.strip()
    return "\n".join(text.splitlines()[-lines:]) if text else "(no stderr)"


def find_sls_audit() -> str | None:
    """Prefer the executable of this interpreter's environment, so a venv measures itself."""
    local = Path(sys.executable).parent / "sls-audit"
    if local.is_file() and os.access(local, os.X_OK):
        return str(local)
    return shutil.which("sls-audit")


def check_help(exe: str, env: dict[str, str]) -> str | None:
    """`check --help`, to include only the command variants this build offers."""
    try:
        proc = subprocess.run(
            [exe, "check", "--help"],
            capture_output=True,
            text=True,
            env=env,
            stdin=subprocess.DEVNULL,
            timeout=120,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        print(f"error: cannot run `{exe} check --help`: {exc}", file=sys.stderr)
        return None
    if proc.returncode != 0:
        print(
            f"error: `{exe} check --help` exited {proc.returncode}:\n{tail(proc.stderr)}",
            file=sys.stderr,
        )
        return None
    return proc.stdout + proc.stderr


def child_env(work: Path | None, cache_dir: Path | None = None) -> dict[str, str]:
    """The environment a user's shell would give: colour off, bytecode caching on.

    PYTHONDONTWRITEBYTECODE (set in some sandboxes) would make every run of an editable install
    recompile the analyzer, which a user never pays; the bytecode goes to a folder of this run
    (PYTHONPYCACHEPREFIX), never into the source tree. XDG_CACHE_HOME points at a fresh folder
    per size, so the first check run is really cold and the later ones warm.
    """
    env = dict(os.environ)
    env["NO_COLOR"] = "1"
    if work is not None:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(work / "pycache")
    if cache_dir is not None:
        env["XDG_CACHE_HOME"] = str(cache_dir)
    return env


def bench_size(
    size: int,
    root: Path,
    work: Path,
    args: argparse.Namespace,
    exe: str | None,
    help_text: str,
    pin: bool,
) -> tuple[SizeInfo, list[Result]]:
    start = time.perf_counter()
    stats = gen_monorepo.generate(size, root, seed=args.seed)
    info = SizeInfo(
        stats.services,
        stats.functions,
        stats.yaml_bytes,
        stats.handler_files,
        time.perf_counter() - start,
    )
    log(
        f"size {size}: generated {stats.functions} functions, "
        f"{stats.yaml_bytes / 1e6:.2f} MB of YAML in {info.generate_seconds:.2f} s"
    )

    base = Result(
        size, BASELINE, [sys.executable, "-c", BASELINE_CHILD, str(root)], self_timed=True
    )
    jobs: list[tuple[Result, dict[str, str], Path | None]] = [(base, child_env(work), None)]
    results = [base]
    out = work / f"out-{size}.json"
    if exe is not None:
        cache = work / f"cache-{size}"
        cache.mkdir()
        env = child_env(work, cache)
        check = [exe, "check", str(root), "--format", "json", "--output", str(out), "--exit-zero"]
        # First, while the cache is empty; unpinned, because a cold run may use both cores.
        cold = Result(size, CHECK_COLD, check)
        measure_once(cold, env, False, args.timeout, out)
        results.append(cold)
        variants = [Result(size, CHECK, check)]
        if "--no-code" in help_text:
            variants.append(Result(size, CHECK_NO_CODE, check + ["--no-code"]))
        graph = [exe, "graph", str(root), "--format", "json", "--output", str(out)]
        variants.append(Result(size, GRAPH, graph))
        jobs += [(r, env, out) for r in variants]
        results += variants
    # Rounds, each command once per round: a load that comes and goes on the machine then hits
    # every command alike, and the ratios to the baseline stay fair.
    for _ in range(args.repeat):
        for result, env, output in jobs:
            measure_once(result, env, pin, args.timeout, output)
    out.unlink(missing_ok=True)
    for result in results:
        log_result(result)
    return info, results


def warm_up(exe: str, work: Path, timeout: float) -> None:
    """One unmeasured check, so compiling the analyzer's bytecode is in no measurement."""
    root = work / "warm-up"
    root.mkdir()
    gen_monorepo.generate(1, root)
    env = child_env(work, work / "cache-warm-up")
    cmd = [exe, "check", str(root), "--format", "json", "--output", str(work / "warm-up.json")]
    run = run_once(cmd + ["--exit-zero"], env, False, timeout)
    if run.returncode not in (0, 1):
        log(f"warning: the warm-up check exited {run.returncode}: {tail(run.stderr)}")
    shutil.rmtree(root)


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def log_result(r: Result) -> None:
    if r.error:
        log(f"  FAILED {r.command}: {r.error}")
    else:
        log(f"  {r.command}: {r.seconds:.3f} s, {r.peak_mb:.0f} MB")


def find(results: list[Result], size: int, command: str) -> Result | None:
    return next((r for r in results if r.size == size and r.command == command), None)


def evaluate(
    results: list[Result], sizes: list[int], measured_cli: bool, no_code: bool
) -> tuple[dict, list[dict]]:
    """Growth ratios for each command, and one verdict per DESIGN section 6 target."""
    growth: dict = {}
    pair = next(((a, a * 10) for a in sorted(sizes, reverse=True) if a * 10 in sizes), None)
    if pair:
        for r in results:
            if r.size != pair[1]:
                continue
            low = find(results, pair[0], r.command)
            if r.seconds is not None and low and low.seconds:
                growth[r.command] = r.seconds / low.seconds
    targets: list[dict] = []

    def target(name: str, value: float | None, limit: float, unit: str, why_missing: str) -> None:
        status = (
            "SKIP" if why_missing else ("PASS" if value is not None and value <= limit else "FAIL")
        )
        targets.append(
            {
                "target": name,
                "value": value,
                "limit": limit,
                "unit": unit,
                "status": status,
                "note": why_missing,
            }
        )

    def value_of(size: int, command: str, attr: str) -> tuple[float | None, str]:
        if not measured_cli and command != BASELINE:
            return None, "sls-audit not measured"
        if size not in sizes:
            return None, f"size {size} not measured"
        r = find(results, size, command)
        if r is None or r.error:
            return None, ""  # a failed command fails its targets
        return getattr(r, attr), ""

    variants = [CHECK] + ([CHECK_NO_CODE] if no_code else [])
    for command in variants:
        v, why = value_of(TARGET_SIZE, command, "seconds")
        target(f"{command} at {TARGET_SIZE} services (warm)", v, CHECK_SECONDS, "s", why)
        v, why = value_of(TARGET_SIZE, command, "peak_mb")
        target(f"{command} peak memory at {TARGET_SIZE} services", v, PEAK_MB, "MB", why)
        v, why = value_of(TARGET_SIZE, command, "ratio")
        target(f"{command} vs yaml.compose at {TARGET_SIZE} services", v, COMPOSE_RATIO, "x", why)
    v, why = value_of(TARGET_SIZE, CHECK_COLD, "seconds")
    target(f"{CHECK_COLD} at {TARGET_SIZE} services", v, COLD_CHECK_SECONDS, "s", why)
    for command in variants:
        if pair != (TARGET_SIZE // 10, TARGET_SIZE):
            why = f"sizes {TARGET_SIZE // 10} and {TARGET_SIZE} not both measured"
        else:
            why = "" if measured_cli else "sls-audit not measured"
        target(
            f"{command} growth {TARGET_SIZE // 10} -> {TARGET_SIZE} services",
            growth.get(command),
            GROWTH_RATIO,
            "x",
            why,
        )
    v, why = value_of(1, CHECK, "seconds")
    target("check of a one-service repository", v, ONE_SERVICE_SECONDS, "s", why)
    return {"pair": pair, "ratios": growth}, targets


def markdown(
    infos: dict[int, SizeInfo], results: list[Result], growth: dict, targets: list[dict]
) -> str:
    lines = ["| size | command | seconds | peak MB | × compose |", "|---|---|---:|---:|---:|"]
    for r in results:
        i = infos[r.size]
        size = f"{i.services} svc / {i.functions} fn / {i.yaml_bytes / 1e6:.2f} MB"
        if r.error:
            lines.append(f"| {size} | {r.command} | FAILED | | |")
            continue
        ratio = f"{r.ratio:.2f}" if r.ratio is not None else ""
        lines.append(f"| {size} | {r.command} | {r.seconds:.3f} | {r.peak_mb:.0f} | {ratio} |")
    lines.append("")
    if growth["pair"]:
        low, high = growth["pair"]
        lines.append(f"Linear growth (time at {high} / time at {low}, target ≤ {GROWTH_RATIO:g}):")
        for command, ratio in growth["ratios"].items():
            lines.append(f"- {command}: {ratio:.2f}")
        lines.append("")
    lines.append("Targets (DESIGN.md §6):")
    for t in targets:
        if t["status"] == "SKIP":
            lines.append(f"- SKIP {t['target']} ({t['note']})")
        elif t["value"] is None:
            lines.append(f"- FAIL {t['target']}: command failed")
        else:
            lines.append(
                f"- {t['status']} {t['target']}: {t['value']:.2f} {t['unit']} "
                f"(limit {t['limit']:g} {t['unit']})"
            )
    return "\n".join(lines)


def parse_sizes(text: str) -> list[int]:
    try:
        sizes = sorted({int(s) for s in text.split(",") if s.strip()})
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"not a comma-separated list of integers: {text!r}"
        ) from None
    if not sizes or sizes[0] < 1:
        raise argparse.ArgumentTypeError("sizes must be positive integers")
    return sizes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--sizes",
        type=parse_sizes,
        default=[10, 100, 1000],
        help="comma-separated numbers of services (default 10,100,1000); "
        "a one-service repository is always added",
    )
    parser.add_argument("--repeat", type=int, default=3, help="runs per command, best kept")
    parser.add_argument(
        "--keep",
        type=Path,
        metavar="DIR",
        help="generate into DIR/n<size> and keep it (DIR must not hold them yet)",
    )
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write the numbers as JSON")
    parser.add_argument("--seed", type=int, default=0, help="generator seed (default 0)")
    parser.add_argument("--timeout", type=float, default=600, help="seconds per run (default 600)")
    parser.add_argument(
        "--baseline-only",
        action="store_true",
        help="measure only the yaml.compose floor (no sls-audit needed)",
    )
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target fails too")
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")

    exe = None
    help_text = ""
    if not args.baseline_only:
        exe = find_sls_audit()
        if exe is None:
            print(
                "error: the sls-audit executable was not found next to "
                f"{sys.executable} nor on PATH; install the project first "
                "(pip install -e .), or pass --baseline-only",
                file=sys.stderr,
            )
            return 2
        if "/shims/" in exe:
            log(f"warning: {exe} is a version-manager shim; its start-up cost is in every time")
        help_text = check_help(exe, child_env(None))
        if help_text is None:
            return 2
    pin = shutil.which("taskset") is not None
    if not pin:
        log("warning: taskset not found; runs are not pinned to one core")
    sizes = sorted(set(args.sizes) | {1})
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
        taken = [s for s in sizes if (args.keep / f"n{s}").exists()]
        if taken:
            parser.error(f"{args.keep} already holds n{taken[0]}; choose another --keep DIR")

    infos: dict[int, SizeInfo] = {}
    results: list[Result] = []
    with tempfile.TemporaryDirectory(prefix="sls-audit-bench-") as tmp:
        work = Path(tmp)
        if exe is not None:
            warm_up(exe, work, args.timeout)
        for size in sizes:
            root = (args.keep if args.keep else work) / f"n{size}"
            root.mkdir(parents=True)
            info, size_results = bench_size(size, root, work, args, exe, help_text, pin)
            infos[size] = info
            base = size_results[0]
            for r in size_results:
                if r.seconds is not None and base.seconds:
                    r.ratio = r.seconds / base.seconds
            results.extend(size_results)
            if not args.keep:
                shutil.rmtree(root)

    no_code = "--no-code" in help_text
    growth, targets = evaluate(results, sizes, exe is not None, no_code)
    print(markdown(infos, results, growth, targets))

    failures = [r for r in results if r.error]
    for r in failures:
        print(f"\nFAILED {r.command} at {r.size} services: {r.error}", file=sys.stderr)
    if args.json:
        report = {
            "machine": {
                "python": sys.version.split()[0],
                "platform": platform.platform(),
                "cpus": os.cpu_count(),
                "pinned_to_one_core": pin,
            },
            "sls_audit": exe,
            "seed": args.seed,
            "repeat": args.repeat,
            "sizes": {str(s): asdict(i) for s, i in infos.items()},
            "results": [asdict(r) for r in results],
            "growth": {"sizes": growth["pair"], "ratios": growth["ratios"]},
            "targets": targets,
        }
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    if failures:
        return 1
    if args.strict and any(t["status"] == "FAIL" for t in targets):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
