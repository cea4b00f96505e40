"""Which files belong to the project: order, skipped and excluded folders, folder symlinks."""
from __future__ import annotations

import os

from analyzer.discovery import discover


def test_configs_are_found_depth_first_in_name_order_and_skips_are_honoured(tmp_path):
    root = tmp_path / "repo"
    for rel in ("serverless-compose.yml", "b/serverless.yml", "a/serverless.yml", "a/z/serverless.yaml",
                "a/node_modules/dep/serverless.yml", "a/.serverless/serverless.yml",
                "legacy/old/serverless.yml", "c/serverless.ts", "c/notes.yml", "B/serverless.json"):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text("service: x\n")
    os.symlink(root / "a", root / "link-to-a")  # a folder symlink is never followed

    found = discover(root, ["legacy"], exclude_base=root)

    assert found.configs == ["B/serverless.json", "a/serverless.yml", "a/z/serverless.yaml", "b/serverless.yml"]
    assert found.composes == ["serverless-compose.yml"]
    assert found.dynamic == ["c/serverless.ts"]
    assert found.serverless_dirs == {"a"}  # `sls package` output beside the service
    assert found.problems == []


def test_a_config_that_is_a_folder_or_too_large_is_named_not_read(tmp_path):
    root = tmp_path / "repo"
    (root / "big").mkdir(parents=True)
    (root / "big" / "serverless.yml").write_bytes(b"a: 1\n" * (3 * 1024 * 1024))
    (root / "odd" / "serverless.yml").mkdir(parents=True)  # a folder with a config's name

    found = discover(root)

    assert found.configs == []
    assert [(rel, msg.split(" (")[0]) for rel, msg in found.problems] == [("big/serverless.yml", "file is too large")]
