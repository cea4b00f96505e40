"""Run the real framework (`osls package`) on a scratch copy, offline, with a timeout.

One job: turn a service folder into the CloudFormation template the framework would deploy.
It finds Node.js and npm, installs a pinned osls (and the npm plugins services list) into the
user's cache folder, copies the repository to a scratch folder (never touching the user's files
or their `.serverless/`), relaxes the copy's config just enough for osls to accept it, and runs
`osls package` with fake credentials and every AWS call sent to the loopback stub.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
from dataclasses import dataclass
from pathlib import Path

OSLS_VERSION = "4.3.1"
# npm plugins with a version pinned here so the same repository synthesizes the same template;
# they win over a package.json range; others install at the version the service's package.json
# asks for, else the newest.
PINNED_PLUGINS = {"serverless-iam-roles-per-function": "3.2.0"}
SKIP_DIRS = frozenset({"node_modules", ".serverless", ".git", ".sls-audit-cache", "__pycache__", ".venv",
                       ".tox", ".mypy_cache", ".pytest_cache", ".terraform"})
TEMPLATE = "cloudformation-template-update-stack.json"
INSTALL_TIMEOUT = 600
PACKAGE_TIMEOUT = 300


class SynthUnavailable(Exception):
    """Node.js, npm or osls cannot be had: nothing can be synthesized."""


class PackageFailed(Exception):
    """`osls package` failed for one service; the message ends with the framework's last lines."""


@dataclass(frozen=True)
class Framework:
    node: str
    script: str        # osls's entry point, run with node
    prefix: Path       # where osls and the plugins are installed


def osls_cache(cache_dir: Path) -> Path:
    return Path(cache_dir) / "osls" / OSLS_VERSION


def find_node() -> tuple[str, str]:
    node, npm = shutil.which("node"), shutil.which("npm")
    if not node:
        raise SynthUnavailable("node not found on PATH: --synth runs the framework (osls) with Node.js; "
                               "install Node.js 18 or later, or analyze without --synth")
    if not npm:
        raise SynthUnavailable("npm not found on PATH: --synth installs the framework (osls) with npm; "
                               "install npm, or analyze without --synth")
    return node, npm


def package_name(plugin: str) -> str | None:
    """`@scope/name/sub` -> `@scope/name`; local plugins (`./x`) -> None."""
    if plugin.startswith((".", "/")):
        return None
    parts = plugin.split("/")
    return "/".join(parts[:2]) if plugin.startswith("@") else parts[0]


def ensure_framework(cache_dir: Path, plugins: dict[str, str | None] | None = None,
                     timeout: int = INSTALL_TIMEOUT) -> Framework:
    """osls (pinned) and the wanted npm plugins, installed once into the cache folder.

    `plugins` maps package names to a version spec (None: pinned or newest). osls finds plugins
    in the node_modules it is installed in, so the scratch copies need no node_modules of their own.
    """
    node, npm = find_node()
    prefix = osls_cache(cache_dir)
    wanted = []
    if _installed_version(prefix, "osls") != OSLS_VERSION:
        wanted.append(f"osls@{OSLS_VERSION}")
    for name, spec in sorted((plugins or {}).items()):
        if _installed_version(prefix, name) is None:
            spec = PINNED_PLUGINS.get(name) or spec
            wanted.append(f"{name}@{spec}" if spec else name)
    if wanted:
        prefix.mkdir(parents=True, exist_ok=True)
        cmd = [npm, "install", "--prefix", str(prefix), "--no-audit", "--no-fund", "--ignore-scripts",
               "--loglevel", "error", *wanted]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                                  stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            raise SynthUnavailable(f"npm install {' '.join(wanted)} took over {timeout} s") from None
        except OSError as e:
            raise SynthUnavailable(f"cannot run npm: {e}") from None
        if proc.returncode != 0:
            raise SynthUnavailable(f"npm install {' '.join(wanted)} failed (exit {proc.returncode}):\n"
                                   + last_lines(proc.stderr or proc.stdout))
    script = prefix / "node_modules" / "osls" / "bin" / "serverless.js"
    if not script.is_file():
        raise SynthUnavailable(f"osls is not where npm installed it ({script})")
    return Framework(node, str(script), prefix)


def _installed_version(prefix: Path, name: str) -> str | None:
    try:
        return json.loads((prefix / "node_modules" / name / "package.json").read_text("utf-8")).get("version")
    except (OSError, ValueError, AttributeError):
        return None


def scratch_copy(root: Path, dest: Path) -> Path:
    """Copy the repository (so `${file(../x)}` and local plugins still resolve), without
    node_modules, .serverless and .git, and without symbolic links that leave it."""
    root = Path(root).resolve()

    def ignore(folder: str, names: list[str]) -> list[str]:
        out = []
        for n in names:
            p = Path(folder, n)
            if n in SKIP_DIRS:
                out.append(n)
            elif p.is_symlink():
                try:
                    p.resolve().relative_to(root)
                except (ValueError, OSError):
                    out.append(n)
        return out

    shutil.copytree(root, dest, symlinks=False, ignore=ignore, ignore_dangling_symlinks=True)
    return dest


_KEY = r'^(?:"{key}"|\'{key}\'|{key})[ \t]*:'


def patch_config(path: Path) -> list[str]:
    """Relax the copy's config the least: `configValidationMode: warn` (osls rejects the
    `calling`, `subscribable` and `function` extensions otherwise) and no `frameworkVersion`
    (osls is 4.x; services pin "3"). Line numbers stay as in the original. Returns what changed."""
    text = path.read_text("utf-8")
    changes = []
    if path.suffix == ".json":
        doc = json.loads(text)
        if isinstance(doc, dict):
            if doc.pop("frameworkVersion", None) is not None:
                changes.append("frameworkVersion removed")
            if doc.get("configValidationMode") != "warn":
                doc["configValidationMode"] = "warn"
                changes.append("configValidationMode: warn")
            path.write_text(json.dumps(doc, indent=2), "utf-8")
        return changes
    fv = re.compile(_KEY.format(key="frameworkVersion") + r".*$", re.M)
    if fv.search(text):
        text = fv.sub(lambda m: "# " + m.group(0) + "  # relaxed by sls-audit --synth", text, count=1)
        changes.append("frameworkVersion removed")
    cvm = re.compile(_KEY.format(key="configValidationMode") + r"[ \t]*([^#\n]*)", re.M)
    m = cvm.search(text)
    if m:
        if m.group(1).strip().strip("'\"") != "warn":
            text = text[:m.start()] + "configValidationMode: warn" + text[m.end():]
            changes.append("configValidationMode: warn")
    else:
        text = text.rstrip("\n") + "\nconfigValidationMode: warn  # added by sls-audit --synth\n"
        changes.append("configValidationMode: warn")
    path.write_text(text, "utf-8")
    return changes


def run_package(fw: Framework, service_dir: Path, *, stage: str, region: str, endpoint: str,
                home: Path, params: dict[str, str] | None = None, env: dict[str, str] | None = None,
                config: str | None = None, timeout: int = PACKAGE_TIMEOUT) -> Path:
    """`osls package` in a scratch service folder; the template's path, or PackageFailed."""
    home.mkdir(parents=True, exist_ok=True)
    (home / "tmp").mkdir(exist_ok=True)
    cmd = [fw.node, fw.script, "package", "--stage", stage, "--region", region]
    if config:
        cmd += ["--config", config]
    for k, v in sorted((params or {}).items()):
        cmd += ["--param", f"{k}={v}"]
    environ = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home), "TMPDIR": str(home / "tmp"), "LANG": "C.UTF-8",
        # every AWS call goes to the loopback stub, signed with keys that open nothing
        "AWS_ENDPOINT_URL": endpoint, "AWS_ACCESS_KEY_ID": "AKIASLSAUDITSYNTH000",
        "AWS_SECRET_ACCESS_KEY": "sls-audit-synth-not-a-secret", "AWS_REGION": region,
        "AWS_CONFIG_FILE": str(home / ".aws" / "config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(home / ".aws" / "credentials"),
        "AWS_EC2_METADATA_DISABLED": "true", "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost",
        "SLS_TELEMETRY_DISABLED": "1", "SLS_TRACKING_DISABLED": "1", "SLS_NOTIFICATIONS_MODE": "off",
        "SLS_INTERACTIVE_SETUP_DISABLE": "1", "CI": "1", "NO_COLOR": "1", "FORCE_COLOR": "0",
    }
    environ.update(env or {})
    out = service_dir / ".serverless"
    try:
        proc = subprocess.Popen(cmd, cwd=service_dir, env=environ, stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                errors="replace", start_new_session=True)
    except OSError as e:
        raise PackageFailed(f"cannot run osls: {e}") from None
    try:
        output, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill(proc)
        output, _ = proc.communicate()
        raise PackageFailed(f"osls package took over {timeout} s and was stopped:\n"
                            + last_lines(output)) from None
    template = out / TEMPLATE
    if proc.returncode != 0 or not template.is_file():
        raise PackageFailed(f"osls package failed (exit {proc.returncode}):\n" + last_lines(output))
    return template


def _kill(proc: subprocess.Popen) -> None:
    """Stop osls and whatever it started (its own process group, nothing else)."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        proc.kill()


_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def last_lines(text: str | None, n: int = 12) -> str:
    lines = [ln.rstrip() for ln in _ANSI.sub("", text or "").splitlines() if ln.strip()]
    return "\n".join("  " + ln for ln in lines[-n:]) or "  (no output)"


_VERSION_ID = re.compile(r"^(?P<fn>.+LambdaVersion)[A-Za-z0-9]{30,}$")
_LAYER_ID = re.compile(r"^(?P<layer>.+LambdaLayer)[A-Za-z0-9]{30,}$")


def normalize_template(doc: dict) -> dict:
    """Drop what changes from one packaging to the next (artifact keys with timestamps, code
    hashes, the hash suffix of version logical ids), so the same input gives the same template."""
    rename = {}
    for lid in list((doc.get("Resources") or {})):
        m = _VERSION_ID.match(lid) or _LAYER_ID.match(lid)
        if m:
            rename[lid] = m.group(1)

    def walk(v):
        if isinstance(v, dict):
            out = {}
            for k, x in v.items():
                if k == "S3Key" and isinstance(x, str) and x.startswith("serverless/"):
                    parts = x.split("/")
                    x = "/".join(parts[:3] + ["<artifact>"] + parts[4:]) if len(parts) > 4 else x
                elif k == "CodeSha256" and isinstance(x, str):
                    x = "<sha256>"
                elif k in ("Ref", "DependsOn") and isinstance(x, str):
                    x = rename.get(x, x)
                elif k == "Fn::GetAtt" and isinstance(x, list) and x and isinstance(x[0], str):
                    x = [rename.get(x[0], x[0])] + x[1:]
                out[rename.get(k, k)] = walk(x)
            return out
        if isinstance(v, list):
            return [walk(x) for x in v]
        if isinstance(v, str):
            return rename.get(v, v) if v in rename else v
        return v

    out = walk(doc)
    # versions are added as their code hashes finish: their order varies from run to run
    for section, suffix in (("Resources", "LambdaVersion"), ("Outputs", "LambdaFunctionQualifiedArn")):
        if isinstance(out.get(section), dict):
            out[section] = _sorted_slots(out[section], lambda k, s=suffix: k.endswith(s))
    return out


def _sorted_slots(mapping: dict, pick) -> dict:
    """The picked keys sorted among the slots they occupy; every other key stays in place."""
    keys = list(mapping)
    picked = iter(sorted(k for k in keys if pick(k)))
    return {k2: mapping[k2] for k2 in (next(picked) if pick(k) else k for k in keys)}
