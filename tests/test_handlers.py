"""Handler facts per function: a file shared by several functions gives each only its own calls."""
from __future__ import annotations

from pathlib import Path

from analyzer.api import load
from analyzer.code.exports import export_ranges

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def test_export_ranges_of_javascript_and_python(tmp_path):
    assert export_ranges(FIXTURES / "post" / "services" / "subscriber" / "handler.js") == {
        "createUser": (7, 11), "sendWelcomeEmail": (13, 28)}
    (tmp_path / "h.py").write_text("import boto3\n\ndef a(e, c):\n    return 1\n\n\nasync def b(e, c):\n    pass\n")
    assert export_ranges(tmp_path / "h.py") == {"a": (3, 4), "b": (7, 8)}
    (tmp_path / "h.ts").write_text(
        "export const one = async () => {\n  return 1;\n};\nfunction two() {}\nexport { two };\n"
        "export async function three() {\n}\n")
    assert export_ranges(tmp_path / "h.ts") == {"one": (1, 3), "two": (4, 4), "three": (6, 7)}


def test_each_function_gets_the_calls_of_its_own_export():
    project, g, _ = load(FIXTURES / "post", cache=False)
    create = g.nodes["fn:subscriberService.createUser"]["code"]
    welcome = g.nodes["fn:subscriberService.sendWelcomeEmail"]["code"]
    assert create["status"] == welcome["status"] == "scanned"
    assert create["calls"] == []
    assert [(c["service"], c["operation"], c["line"]) for c in welcome["calls"]] == [("sesv2", "SendEmail", 18)] \
        or [(c["operation"], c["line"]) for c in welcome["calls"]] == [("SendEmail", 18)]


def _many_handlers(root: Path, services: int = 6, per_service: int = 10) -> None:
    """A repository whose handlers outnumber POOL_MIN_FILES: enough to start workers."""
    for s in range(services):
        svc = root / f"svc{s}"
        (svc / "src").mkdir(parents=True)
        lines = [f"service: svc{s}", "provider:", "  name: aws", "  runtime: python3.11", "functions:"]
        for f in range(per_service):
            lines += [f"  fn{f}:", f"    handler: src/h{f}.main"]
            (svc / "src" / f"h{f}.py").write_text(
                "import boto3\n\nsqs = boto3.client('sqs')\n\n\ndef main(event, context):\n"
                f"    sqs.send_message(QueueUrl='https://q/{s}-{f}', MessageBody='x')\n")
        (svc / "serverless.yml").write_text("\n".join(lines) + "\n")


def _codes(graph) -> dict:
    return {n: d["code"] for n, d in graph.nodes(data=True) if d.get("kind") == "function"}


def test_a_cold_run_parses_handlers_while_loading_and_a_warm_run_starts_no_worker(tmp_path, monkeypatch):
    """Handler files start being parsed as each config names them (the loader's idle core),
    with the same facts as reading them one by one; a warm cache sends nothing to workers."""
    from analyzer.code import cache as code_cache

    _many_handlers(tmp_path / "repo")
    _, serial, _ = load(tmp_path / "repo", cache=False, code=True)
    assert all(c["status"] == "scanned" and c["calls"] for c in _codes(serial).values())
    assert len(_codes(serial)) == 60

    pools, submitted = [], []

    class CountingWorkers(code_cache._Workers):
        def __init__(self, n, *a, **k):
            pools.append(n)
            super().__init__(n, *a, **k)

        def put(self, batch):
            submitted.append(len(batch))
            return super().put(batch)

    monkeypatch.setattr(code_cache, "_Workers", CountingWorkers)
    monkeypatch.setattr("analyzer.loaders.handlers.workers", lambda: 2)
    ahead = []
    real = code_cache.Prefetch.submit

    def spy(self, paths):
        ahead.append(len(list(paths)) if not isinstance(paths, list) else len(paths))
        return real(self, paths)

    monkeypatch.setattr(code_cache.Prefetch, "submit", spy)
    monkeypatch.setattr(code_cache, "RACY_NS", 0)  # files just written count as settled
    cache = tmp_path / "cache"
    _, cold, _ = load(tmp_path / "repo", cache_dir=cache, code=True)
    assert ahead == [10] * 6            # told each config's handlers as it was read
    assert pools == [2] and sum(submitted) == 60
    assert _codes(cold) == _codes(serial)

    pools.clear(), submitted.clear(), ahead.clear()
    _, warm, _ = load(tmp_path / "repo", cache_dir=cache, code=True)
    assert ahead == [10] * 6 and pools == [] and submitted == []
    assert _codes(warm) == _codes(serial)


def test_a_handler_edited_after_the_cache_was_written_is_read_again(tmp_path, monkeypatch):
    import os
    import time

    monkeypatch.setattr("analyzer.loaders.handlers.workers", lambda: 2)
    _many_handlers(tmp_path / "repo")
    cache = tmp_path / "cache"
    load(tmp_path / "repo", cache_dir=cache, code=True)
    h = tmp_path / "repo" / "svc3" / "src" / "h4.py"
    h.write_text("import boto3\n\ns3 = boto3.client('s3')\n\n\ndef main(event, context):\n"
                 "    s3.get_object(Bucket='b', Key='k')\n")
    later = time.time() + 5
    os.utime(h, (later, later))
    _, g, _ = load(tmp_path / "repo", cache_dir=cache, code=True)
    code = g.nodes["fn:svc3.fn4"]["code"]
    assert [(c["service"], c["operation"]) for c in code["calls"]] == [("s3", "GetObject")]


def test_handler_files_are_looked_up_once_per_folder_handler_and_runtime(tmp_path, monkeypatch):
    """The prefetch feed and the model share one lookup per (folder, handler, runtime): the same
    handler names a different file for another runtime, and both passes agree."""
    from analyzer.api import make_options
    from analyzer.config import load_config
    from analyzer.discovery import discover
    from analyzer.loaders import project as P

    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "h.py").write_text("def main(e, c):\n    return 1\n")
    (tmp_path / "src" / "h.js").write_text("exports.main = async () => 1;\n")
    (tmp_path / "serverless.yml").write_text(
        "service: s\nprovider:\n  name: aws\n  runtime: python3.11\nfunctions:\n"
        "  a:\n    handler: src/h.main\n  b:\n    handler: src/h.main\n    runtime: nodejs20.x\n"
        "  c:\n    handler: src/h.main\n  d:\n    handler: src/gone.main\n")
    listed = []
    real = P._handler_file
    monkeypatch.setattr(P, "_handler_file", lambda *a: listed.append(a[2:4]) or real(*a))
    named = []
    cfg = load_config(start=tmp_path)
    found = discover(tmp_path, cfg.exclude, exclude_base=cfg.base_dir)
    project = P.load_project(found, make_options(cfg), cfg.framework, handlers_named=named.append)
    files = {f.name: f.handler_file for s in project.services for f in s.functions}
    assert files == {"a": "src/h.py", "b": "src/h.js", "c": "src/h.py", "d": None}
    assert named == [[str(tmp_path.resolve() / "src" / n) for n in ("h.py", "h.js", "h.py")]]
    assert sorted(listed) == [("src/gone.main", "python3.11"), ("src/h.main", "nodejs20.x"),
                              ("src/h.main", "python3.11")]


def test_a_worker_that_dies_costs_only_speed(tmp_path, monkeypatch):
    """A worker process killed mid-run (out of memory, a crash in a parser): the files it held
    are read in the main process, with the same facts."""
    import os

    from analyzer.code import cache as code_cache

    _many_handlers(tmp_path / "repo")
    _, serial, _ = load(tmp_path / "repo", cache=False, code=True)
    monkeypatch.setattr("analyzer.loaders.handlers.workers", lambda: 2)
    monkeypatch.setattr(code_cache, "_jobs", lambda batch: os._exit(3))  # in the forked workers
    _, g, _ = load(tmp_path / "repo", cache_dir=tmp_path / "cache", code=True)
    assert _codes(g) == _codes(serial)


def test_workers_that_cannot_be_started_cost_only_speed(tmp_path, monkeypatch):
    """fork() refused (a process limit): every handler is read in the main process instead."""
    from analyzer.code import cache as code_cache

    _many_handlers(tmp_path / "repo")
    _, serial, _ = load(tmp_path / "repo", cache=False, code=True)
    monkeypatch.setattr("analyzer.loaders.handlers.workers", lambda: 2)

    def refuse(*a, **k):
        raise OSError(11, "Resource temporarily unavailable")

    monkeypatch.setattr(code_cache, "_workers", refuse)
    _, g, _ = load(tmp_path / "repo", cache_dir=tmp_path / "cache", code=True)
    assert _codes(g) == _codes(serial)


def test_without_fork_handlers_are_read_in_this_process(tmp_path, monkeypatch):
    """The workers are forked: where fork() does not exist (Windows) no worker is started and
    the facts are the same."""
    import multiprocessing

    from analyzer.code import cache as code_cache
    from analyzer.loaders import handlers

    _many_handlers(tmp_path / "repo")
    _, serial, _ = load(tmp_path / "repo", cache=False, code=True)
    monkeypatch.setattr(multiprocessing, "get_all_start_methods", lambda: ["spawn"])
    started = []
    monkeypatch.setattr(code_cache, "_workers", lambda *a: started.append(a))
    assert handlers.workers() == 1
    _, g, _ = load(tmp_path / "repo", cache_dir=tmp_path / "cache", code=True)
    assert started == [] and _codes(g) == _codes(serial)
