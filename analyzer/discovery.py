"""Which files belong to the project.

Directory symlinks are never followed (no loops, nothing outside the root);
file symlinks are read only when they stay inside the root. Only regular files
are read (a FIFO would block the run forever), and files over the size limit
are refused here, before anything reads them into memory.
"""
from __future__ import annotations

import fnmatch
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

from .loaders.yamlmarks import MAX_FILE_BYTES

CONFIG_NAMES = ("serverless.yml", "serverless.yaml", "serverless.json")
COMPOSE_NAMES = ("serverless-compose.yml", "serverless-compose.yaml")
DYNAMIC_NAMES = ("serverless.ts", "serverless.js", "serverless.cjs", "serverless.mjs")
SKIP_DIRS = {"node_modules", ".serverless", ".git", ".venv", "__pycache__"}


@dataclass
class Discovered:
    root: Path
    configs: list = field(default_factory=list)   # repository-relative posix paths
    composes: list = field(default_factory=list)
    dynamic: list = field(default_factory=list)
    problems: list = field(default_factory=list)  # (rel, message)
    serverless_dirs: set | None = None  # folders holding a `.serverless/` (None: not walked)


def discover(path: Path, exclude: list[str] | None = None, root: Path | None = None,
             exclude_base: Path | None = None) -> Discovered:
    """Find configs below `path` (a directory, or one config file).

    `exclude` globs are relative to `exclude_base` (the folder of the configuration
    file that wrote them), whatever folder is analyzed.
    """
    exclude = exclude or []
    if path.is_file():
        base = (root or path.parent).resolve()
        out = Discovered(base)
        rel = _rel(path.resolve(), base)
        name = path.name
        problem = None if name in DYNAMIC_NAMES else _unreadable(path)
        if problem:
            out.problems.append((rel, problem))
        elif name in COMPOSE_NAMES:
            out.composes.append(rel)
        elif name in DYNAMIC_NAMES:
            out.dynamic.append(rel)
        else:
            out.configs.append(rel)
        return out
    base = (root or path).resolve()
    out = Discovered(base)
    start = path.resolve()
    prefix = relative_prefix(base, exclude_base)
    out.serverless_dirs = set()
    # os.walk's order (folders and files sorted, depth first) on os.scandir entries and plain
    # strings: their cached file types spare a system call per file and a Path per folder
    stack = [(str(start), _rel(start, base))]
    while stack:
        dirpath, reld = stack.pop()
        try:
            with os.scandir(dirpath) as it:
                entries = list(it)
        except OSError:
            continue  # an unreadable folder is skipped, as os.walk skips it
        dirs, files = [], []
        for e in entries:
            try:
                is_dir = e.is_dir()
            except OSError:
                is_dir = False
            if is_dir:
                dirs.append(e)
            elif e.name in _NAMES:
                files.append(e)
        if any(e.name == ".serverless" for e in dirs):  # where `sls package` left a template
            out.serverless_dirs.add(reld)
        for e in sorted(files, key=_name):
            name = e.name
            rel = _join(reld, name)
            if _excluded(_join(prefix, rel), exclude):
                continue
            if e.is_symlink():
                try:
                    real = Path(e.path).resolve(strict=True)
                except (OSError, RuntimeError):
                    out.problems.append((rel, "symbolic link that cannot be resolved (a loop?)"))
                    continue
                if not _inside(real, base):
                    out.problems.append((rel, "symbolic link pointing outside the repository root"))
                    continue
            if name not in DYNAMIC_NAMES:  # dynamic configs are only reported, never read
                problem = _unreadable(e)
                if problem:
                    out.problems.append((rel, problem))
                    continue
            if name in COMPOSE_NAMES:
                out.composes.append(rel)
            elif name in DYNAMIC_NAMES:
                out.dynamic.append(rel)
            else:
                out.configs.append(rel)
        children = []
        for e in sorted(dirs, key=_name):
            sub = _join(reld, e.name)
            if e.name in SKIP_DIRS or _excluded(_join(prefix, sub), exclude) or e.is_symlink():
                continue  # folder symlinks are never followed
            children.append((e.path, sub))
        stack.extend(reversed(children))
    return out


_NAMES = frozenset(CONFIG_NAMES + COMPOSE_NAMES + DYNAMIC_NAMES)


def _name(entry) -> str:
    return entry.name


def _unreadable(path) -> str | None:
    """Why a config file must not be read, or None: not a regular file, or too large.
    `path`: a Path or an os.DirEntry (whose stat follows symlinks too)."""
    try:
        st = path.stat()
    except OSError as e:
        return f"cannot read file: {e.strerror or e}"
    if not stat.S_ISREG(st.st_mode):
        return "cannot read file: not a regular file (a FIFO, socket or device)"
    if st.st_size > MAX_FILE_BYTES:
        return (f"file is too large ({st.st_size / 1048576:.1f} MiB; the limit is "
                f"{MAX_FILE_BYTES // 1048576} MiB)")
    return None


def relative_prefix(root: Path, config_dir: Path | None) -> str:
    """Where the analyzed root lies as seen from the configuration's folder ('' when the same)."""
    if config_dir is None:
        return ""
    rel = os.path.relpath(root, config_dir.resolve()).replace(os.sep, "/")
    return "" if rel == "." else rel


def _excluded(rel: str, patterns: list[str]) -> bool:
    for p in patterns:
        p = p.rstrip("/")
        if fnmatch.fnmatch(rel, p) or fnmatch.fnmatch(rel, p + "/*") or rel == p:
            return True
    return False


def _rel(p: Path, base: Path) -> str:
    try:
        r = p.relative_to(base).as_posix()
    except ValueError:
        r = p.as_posix()
    return "" if r == "." else r


def _join(a: str, b: str) -> str:
    return f"{a}/{b}" if a else b


def _inside(path: Path, root: Path) -> bool:
    try:
        path.relative_to(root)
        return True
    except ValueError:
        return False
