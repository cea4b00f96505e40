"""`--synth`: the templates the real framework would deploy, produced offline.

`synthesize(project, ...)` runs `osls package` for every AWS service of a loaded project on a
scratch copy of the repository, with cloud lookups answered by a loopback stub, and returns the
templates' paths (inside the scratch folder), the placeholder values that were baked into them,
and a message for every service that could not be packaged. It never writes into the user's tree.
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from ..loaders import symbols as S
from .runner import (
    OSLS_VERSION, PACKAGE_TIMEOUT, PackageFailed, SynthUnavailable, ensure_framework, normalize_template,
    package_name, patch_config, run_package, scratch_copy,
)
from .stub import Stub, placeholder
from .values import compose_output, refs_for, repository_values


@dataclass(frozen=True)
class Placeholder:
    """A value the framework looked up and got from the stub instead of the cloud.

    `refs` are (file, line, column, text) of the `${...}` it stands for: findings on the value
    in the template belong there."""

    service: str          # the service's directory, repository-relative ("." for the root)
    source: str           # aws, cf, ssm, env, param
    name: str             # accountId, users-dev.TopicArn, /path, VAR, key
    value: str
    known: bool = False   # the repository's own value (an output it defines), not a placeholder
    refs: tuple = ()

    def as_dict(self) -> dict:
        return {"service": self.service, "source": self.source, "name": self.name, "value": self.value,
                "refs": [{"file": f, "line": ln, "column": c, "text": t} for f, ln, c, t in self.refs]}


@dataclass
class SynthResult:
    templates: dict = field(default_factory=dict)     # service dir -> template path (in workdir)
    placeholders: list = field(default_factory=list)  # [Placeholder], known=False
    known: list = field(default_factory=list)         # [Placeholder], known=True: the repository's own
    problems: list = field(default_factory=list)      # one message per service that failed
    workdir: Path | None = None
    owned: bool = False                               # the workdir was made here: cleanup() removes it

    def cleanup(self) -> None:
        if self.owned and self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)
            self.workdir = None


def default_jobs() -> int:
    return max(1, min(os.cpu_count() or 1, 4))


def service_dir(svc) -> str:
    return Path(svc.file).parent.as_posix() or "."


def synthesize(project, stage: str | None = None, region: str | None = None, *,
               cache_dir: Path | None = None, workdir: Path | None = None, params: dict | None = None,
               timeout: int = PACKAGE_TIMEOUT, services: list | None = None,
               jobs: int | None = None) -> SynthResult:
    """Package every AWS service of `project` with osls; see the module docstring.

    `stage`/`region` override each service's own (already resolved by the loader); `params` are
    `--param` values; `services` limits the run to these service directories; `jobs` is how many
    `osls package` run at once (default: the CPU count, at most 4)."""
    root = Path(project.root)
    wanted = [s for s in project.services if s.provider == "aws"
              and (services is None or service_dir(s) in services)]
    owned = workdir is None
    result = SynthResult()
    if not wanted:
        result.problems.append("no AWS service to synthesize")
        return result
    if cache_dir is None:
        from ..code.cache import default_cache_dir
        cache_dir = default_cache_dir()
    plugins = {}
    for s in wanted:
        for p in s.plugins:
            name = package_name(p)
            if name:
                plugins.setdefault(name, _declared_version(root, root / service_dir(s), name))
    try:
        fw = ensure_framework(Path(cache_dir), plugins)
    except SynthUnavailable as e:
        result.problems.append(str(e))
        return result
    work = Path(workdir) if workdir else Path(tempfile.mkdtemp(prefix="sls-audit-synth-"))
    result.workdir, result.owned = work, owned
    try:
        copy = scratch_copy(root, work / "repo")
    except (OSError, shutil.Error) as e:
        result.problems.append(f"cannot copy the repository to a scratch folder: {e}")
        return result
    served_extra: list[Placeholder] = []
    tasks = []
    for i, svc in enumerate(sorted(wanted, key=lambda s: s.file)):
        sdir = service_dir(svc)
        cfg = copy / svc.file
        try:
            patch_config(cfg)
        except (OSError, ValueError) as e:
            result.problems.append(f"{svc.file}: cannot prepare the scratch copy: {e}")
            continue
        env, extra = _env_placeholders(svc, sdir)
        osls_params, more = _params(project, svc, sdir, params or {})
        served_extra += extra + more
        # a key of its own tells the stub which service asked, while services run side by side
        env["AWS_ACCESS_KEY_ID"] = f"AKIASLSAUDITSYNTH{i:03d}"
        tasks.append((svc, sdir, cfg, env, osls_params))
    with Stub(repository_values(project)) as stub:
        stub.requesters = {t[3]["AWS_ACCESS_KEY_ID"]: t[1] for t in tasks}

        def package(task) -> tuple[Path | None, str | None]:
            svc, sdir, cfg, env, osls_params = task
            try:
                template = run_package(fw, cfg.parent, stage=str(stage or svc.stage),
                                       region=str(region or svc.region), endpoint=stub.url,
                                       home=work / "home", params=osls_params, env=env,
                                       config=cfg.name, timeout=timeout)
                doc = normalize_template(json.loads(template.read_text("utf-8")))
                template.write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n", "utf-8")
                return template, None
            except PackageFailed as e:
                return None, f"{svc.file}: {e}"
            except (OSError, ValueError) as e:
                return None, f"{svc.file}: osls wrote no readable template: {e}"

        # the first run alone fills the framework's caches in the shared HOME; then side by side
        outcomes = [package(t) for t in tasks[:1]]
        if len(tasks) > 1:
            with ThreadPoolExecutor(max_workers=max(1, jobs or default_jobs())) as pool:
                outcomes += list(pool.map(package, tasks[1:]))
        for (svc, sdir, *_), (template, problem) in zip(tasks, outcomes):
            if template is not None:
                result.templates[sdir] = template
            else:
                result.problems.append(problem)
        for who, what in sorted(stub.refused):
            result.problems.append(f"{who or '?'}: the framework asked for {what}, which is not available offline")
    by_dir = {service_dir(s): s for s in wanted}
    items = {}
    for item in stub.served:
        svc = by_dir.get(item.requester)
        refs = refs_for(svc, item.source, item.name) if svc else ()
        if item.source == "cf" and not refs and svc and _names_stack(svc, item.name.rsplit(".", 1)[0]):
            continue  # DescribeStacks returns every output; this service used others
        items[(item.requester, item.source, item.name)] = Placeholder(
            item.requester, item.source, item.name, item.value, item.known, refs)
    for p in served_extra:
        items.setdefault((p.service, p.source, p.name), p)
    ordered = [items[k] for k in sorted(items)]
    result.placeholders = [p for p in ordered if not p.known]
    result.known = [p for p in ordered if p.known]
    return result


def _names_stack(svc, stack: str) -> bool:
    return any(isinstance(s, S.CfOutput) and s.stack == stack for s in svc.symbols)


def _declared_version(root: Path, folder: Path, name: str) -> str | None:
    """The version a package.json between the service and the repository root asks for."""
    folder = folder.resolve()
    root = root.resolve()
    while True:
        try:
            pkg = json.loads((folder / "package.json").read_text("utf-8"))
        except (OSError, ValueError):
            pkg = None
        if isinstance(pkg, dict):
            for key in ("devDependencies", "dependencies"):
                spec = (pkg.get(key) or {}).get(name) if isinstance(pkg.get(key), dict) else None
                if isinstance(spec, str) and spec:
                    return spec
        if folder == root or root not in folder.parents:
            return None
        folder = folder.parent


def _env_placeholders(svc, sdir: str) -> tuple[dict, list]:
    """`${env:X}` without a default: the process environment is never passed on, so each
    gets a placeholder (osls would fail on it otherwise)."""
    env, out = {}, []
    for sym in svc.symbols:
        if isinstance(sym, S.EnvRef) and sym.name and sym.name not in env:
            env[sym.name] = placeholder("env", sym.name)
            out.append(Placeholder(sdir, "env", sym.name, env[sym.name], False, refs_for(svc, "env", sym.name)))
    return env, out


def _params(project, svc, sdir: str, cli: dict) -> tuple[dict, list]:
    """`--param` values for osls: Compose params (another service's output, known or a
    placeholder), then the command line's; `${param:x}` nothing feeds gets a placeholder."""
    out, served = {}, []
    cs = None
    for comp in project.compose:
        for c in comp.services:
            if c.name == svc.compose_name:
                cs = c
    for key, value in sorted((cs.params if cs else {}).items()):
        if isinstance(value, S.ComposeOutput):
            v, known = compose_output(project, value.service, value.output)
            out[key] = v
            served.append(Placeholder(sdir, "param", key, v, known,
                                      ((value.file, value.line, value.column, "${" + value.ref + "}"),)
                                      if value.file else ()))
        elif isinstance(value, str):
            out[key] = value.replace("${sls:stage}", str(svc.stage))
        elif isinstance(value, (int, float, bool)):
            out[key] = json.dumps(value)
    out.update({str(k): str(v) for k, v in cli.items()})
    for sym in svc.symbols:
        if isinstance(sym, S.ParamRef) and sym.name and sym.name not in out:
            out[sym.name] = placeholder("param", sym.name)
            served.append(Placeholder(sdir, "param", sym.name, out[sym.name], False,
                                      refs_for(svc, "param", sym.name)))
    return out, served


__all__ = ["synthesize", "SynthResult", "Placeholder", "SynthUnavailable", "OSLS_VERSION"]
