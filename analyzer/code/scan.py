"""One handler file -> CodeFacts, by file extension (or the function's runtime as a hint)."""
from __future__ import annotations

import os
from pathlib import Path

from .facts import CodeFacts

MAX_BYTES = 2 * 1024 * 1024  # larger files are refused: handlers are small, bundles are not read

KIND_BY_SUFFIX = {
    ".py": "python",
    ".js": "js", ".mjs": "js", ".cjs": "js", ".jsx": "js",
    ".ts": "ts", ".mts": "ts", ".cts": "ts",
    ".tsx": "tsx",
}

# Parses done in this process (tests prove cache hits with it; benchmarks report it).
STATS = {"parsed": 0}


def kind_for(path: Path, runtime: str | None = None) -> str | None:
    """"python" | "js" | "ts" | "tsx", or None when the file is not a handler we can read."""
    kind = KIND_BY_SUFFIX.get(os.path.splitext(path)[1].lower())
    if kind is None and runtime:
        rt = runtime.lower()
        if rt.startswith("python"):
            kind = "python"
        elif rt.startswith("nodejs"):
            kind = "js"
    return kind


def scan_source(data: bytes, kind: str, runtime: str | None = None) -> CodeFacts:
    """Read handler source of a known kind. Never raises: problems become ``error``.
    ``runtime`` (``python3.13``) only words the error of code newer than this Python."""
    STATS["parsed"] += 1
    if len(data) > MAX_BYTES:
        return CodeFacts(error=too_large(len(data)))
    try:
        if kind == "python":
            from .python import scan_python

            return scan_python(data, runtime)
        if kind in ("js", "ts", "tsx"):
            from .javascript import scan_javascript

            return scan_javascript(data, kind)
        return CodeFacts(error=f"line 1: unsupported handler language '{kind}'")
    except Exception as exc:  # a reader bug must not stop the run; report it on the file
        return CodeFacts(error=f"line 1: internal error in the code reader: "
                               f"{type(exc).__name__}: {exc}")


def too_large(size: int) -> str:
    return f"line 1: file too large to read ({size} bytes; the limit is {MAX_BYTES} bytes)"


def read_handler(path: Path, runtime: str | None = None
                 ) -> tuple[str | None, bytes | None, CodeFacts | None]:
    """(kind, content, None) or (kind, None, facts-with-error)."""
    path = Path(path)
    kind = kind_for(path, runtime)
    if kind is None:
        return None, None, CodeFacts(error=f"line 1: unsupported handler file type '{path.suffix}'")
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            return kind, None, CodeFacts(error=too_large(size))
        with open(path, "rb") as fh:
            data = fh.read(MAX_BYTES + 1)
    except OSError as exc:
        return kind, None, CodeFacts(error=f"line 1: cannot read file ({exc.strerror or exc})")
    if len(data) > MAX_BYTES:
        return kind, None, CodeFacts(error=too_large(len(data)))
    return kind, data, None


def scan_file(path: Path, runtime: str | None = None) -> CodeFacts:
    """Read one handler file: .py through ``ast``; .js/.mjs/.cjs through tree-sitter-javascript;
    .ts/.mts through tree-sitter-typescript. Never executes or imports it; never raises."""
    kind, data, failed = read_handler(path, runtime)
    if failed is not None:
        return failed
    return scan_source(data, kind, runtime)
