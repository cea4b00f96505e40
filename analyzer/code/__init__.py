"""Handler code reader: what a handler does with AWS (DESIGN.md §2, §4, §6).

``scan_file(path)`` reads one handler (Python through ``ast``, JavaScript/TypeScript through
tree-sitter; never executed or imported) and returns ``CodeFacts``: the AWS SDK calls it makes
with the IAM actions they need and the names of the resources they touch, the functions it
invokes, and whether some AWS call could not be resolved (``dynamic``). ``scan_many`` does the
same for many files with a content-hash cache and an optional process pool.

Positions are 1-based lines and character columns; a method call is located at the method name
(``s3.put_object`` -> ``put_object``), so a call in a chain spread over lines keeps its line.

Not followed (calls through them are not seen, and do not set ``dynamic``): clients or tables
imported from other modules of the project, objects handed in by a framework, and libraries that
wrap the SDK (AWS Lambda Powertools parameters, middy, dynamoose, ...). The boto3 resource API is
modelled for dynamodb, s3, sqs and sns (other services' resources are dynamic).
"""
from .cache import default_cache_dir, scan_many
from .facts import (READER_VERSION, CodeFacts, DynamicSite, Invocation, NameRef, SdkCall)
from .scan import MAX_BYTES, kind_for, scan_file, scan_source

__all__ = [
    "CodeFacts", "DynamicSite", "Invocation", "MAX_BYTES", "NameRef", "READER_VERSION", "SdkCall",
    "default_cache_dir", "kind_for", "scan_file", "scan_many", "scan_source",
]
