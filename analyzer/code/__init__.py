"""Handler code reader: what a handler does with AWS (DESIGN.md §2, §4, §6).

``scan_file(path)`` reads one handler (Python through ``ast``, JavaScript/TypeScript through
tree-sitter; never executed or imported) and returns ``CodeFacts``: the AWS SDK calls it makes
with the IAM actions they need and the names of the resources they touch, the functions it
invokes, and whether some AWS call could not be resolved (``dynamic``). ``scan_many`` does the
same for many files with a content-hash cache and an optional process pool.
"""
from .cache import default_cache_dir, scan_many
from .facts import (READER_VERSION, CodeFacts, DynamicSite, Invocation, NameRef, SdkCall)
from .scan import MAX_BYTES, kind_for, scan_file, scan_source

__all__ = [
    "CodeFacts", "DynamicSite", "Invocation", "MAX_BYTES", "NameRef", "READER_VERSION", "SdkCall",
    "default_cache_dir", "kind_for", "scan_file", "scan_many", "scan_source",
]
