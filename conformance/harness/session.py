"""One run: picks the cases, brings up the target (the embedded platform when none is given),
wires transport, message factory and validators to the runner, and writes the run folder."""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .. import __version__
from ..output import open_output
from ..resources import test_cases_dir
from . import results as R
from .model import Case, load_suites
from .runner import Runner, Validators
from .target import Target
from .transport import Transport


class SessionError(Exception):
    pass


def _errors_only(result: Any) -> list[tuple[str, str]]:
    return [(f.rule, f.message) for f in result.findings if f.severity == "error"]


def level_order(profile: str) -> list[str]:
    """The assessment levels in order, from the profile's assessment definition (standards/)."""
    import yaml

    from ..resources import standards_dir

    p = standards_dir() / "assessment" / f"{profile}-2020.yaml"
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8")) or {}
    except OSError:
        return []
    return [str(x["id"] if isinstance(x, dict) else x) for x in data.get("levels") or []]


class CatalogFactory:
    """The runner's message factory over the service catalog and its message builder."""

    def __init__(self, builder: Any) -> None:
        self.builder = builder
        self.services = builder.services

    def build(self, template: str, variables: dict[str, Any]) -> bytes:
        v = dict(variables)
        v.pop("message_id", None)
        if "msg_id" in v:
            v["message_id"] = v["msg_id"]
        return self.builder.build_request(template, v)

    def response_roots(self, action: str) -> list[str]:
        svc = self.services.get(action)
        return [svc.response_root] if svc else []

    def s_code(self, action: str) -> str | None:
        svc = self.services.get(action)
        return svc.s_code if svc else None

    def request_key(self, action: str, request: Any) -> str | None:
        svc = self.services.get(action)
        return svc.key.value(request) if svc is not None and svc.key is not None else None


class RunSession:
    def __init__(self, target: Target, run_dir: Path, *, options: dict[str, Any], lang: str = "zh",
                 jobs: int = 1, level: str | None = None, services: list[str] | None = None,
                 config_sha256: str | None = None, scenarios: Path | None = None) -> None:
        from ..hl7v3.services import load_services  # the service catalog (standards/services)

        self.target, self.run_dir, self.lang, self.jobs = target, run_dir, lang, jobs
        self.options = options
        self.config_sha256 = config_sha256
        self.catalog = load_services(target.profile)
        self.suites = load_suites(scenarios or test_cases_dir(), target.profile)
        if not self.suites:
            raise SessionError(f"no scenario suite for profile {target.profile} under "
                               f"{scenarios or test_cases_dir()}")
        wanted = None
        if services:
            wanted = set()
            for s in services:
                svc = self.catalog.get(s.strip())
                if svc is None:
                    raise SessionError(f"--services: unknown service {s!r}; see "
                                       "`conformance standards services`")
                wanted.add(svc.action)
        levels = level_order(target.profile)
        allowed_levels = None
        if level:
            if level not in levels:
                raise SessionError(f"--level: unknown level {level!r}; one of {', '.join(levels)}")
            allowed_levels = set(levels[: levels.index(level) + 1])
        self.cases: list[tuple[int, Case]] = []
        index = 0
        for suite in self.suites:
            for case in suite.cases:
                index += 1
                svc = self.catalog.get(case.service)
                case.level = svc.level if svc else None
                if wanted is not None and (svc is None or svc.action not in wanted):
                    continue
                if allowed_levels is not None and (svc is None or svc.level not in allowed_levels):
                    continue
                self.cases.append((index, case))
        self._runner: Runner | None = None
        self._stopped = False

    def stop(self) -> None:
        self._stopped = True
        if self._runner is not None:
            self._runner.stop()

    @contextlib.contextmanager
    def _endpoint(self) -> Iterator[None]:
        if not self.target.embedded:
            yield
            return
        from ..platform.server import EmbeddedPlatform

        db = self.run_dir / "embedded-platform.sqlite"
        with EmbeddedPlatform(profile=self.target.profile, db=str(db)) as url:
            self.target.endpoint = url
            yield

    def header(self, started: str, complete: bool) -> dict[str, Any]:
        from ..catalog import load_catalog

        return {
            "tool": {"name": "conformance", "version": __version__,
                     "ruleset": load_catalog().ruleset},
            "kind": "run", "target": self.target.public(), "profile": self.target.profile,
            "started": started, "finished": datetime.now(UTC).isoformat(timespec="seconds"),
            "complete": complete, "lang": self.lang,
            "inputs": {"suites": [{"id": s.id, "version": s.version, "path": s.path,
                                   "sha256": hashlib.sha256(Path(s.path).read_bytes()).hexdigest()}
                                  for s in self.suites],
                       "service_catalog": str(self.catalog.path),
                       "level": self.options.get("level"), "services": self.options.get("services"),
                       "jobs": self.jobs, "target_config_sha256": self.config_sha256},
        }

    def execute(self, on_case: Callable[[dict[str, Any]], None] | None = None) -> dict[str, Any]:
        from ..hl7v3.builder import MessageBuilder
        from ..validate import Validator, ValidatorOptions

        self.run_dir.mkdir(parents=True, exist_ok=True)
        started = datetime.now(UTC).isoformat(timespec="seconds")
        run_json = self.run_dir / "run.json"
        if run_json.exists():
            started = json.loads(run_json.read_text(encoding="utf-8")).get("started", started)
        with open_output(str(run_json)) as fh:
            json.dump({"started": started, "options": self.options, "tool_version": __version__},
                      fh, ensure_ascii=False, indent=1)
        done = R.load_cases(self.run_dir)
        todo = [(i, c) for i, c in self.cases if c.id not in done]
        validator = Validator(ValidatorOptions(lang=self.lang))
        validators = Validators(
            message=lambda data, name: _errors_only(validator.validate_bytes(data, name)),
            document=lambda data, name: _errors_only(validator.validate_bytes(data, name)))

        def listener(event: str, payload: dict[str, Any]) -> None:
            if event == "case_finished" and on_case:
                on_case(payload)

        for rec in done.values():
            if on_case:
                on_case(rec)
        with self._endpoint():
            transport = Transport(self.target, namespace=self._namespace())
            factory = CatalogFactory(MessageBuilder(self.target.profile))
            # ids derived from the run start, so re-running against a persistent platform
            # does not collide with the records of an earlier run
            base = (int(datetime.now(UTC).timestamp()) % 1_000_000) * 10
            self._runner = Runner(transport, factory, validators, self.run_dir, lang=self.lang,
                                  jobs=self.jobs, listener=listener,
                                  base_vars={"index_base": base})
            if self._stopped:
                self._runner.stop()
            finished = self._runner.run(todo)
        by_id = dict(done)
        by_id.update({r["id"]: r for r in finished})
        ordered = [by_id[c.id] for _, c in self.cases if c.id in by_id]
        complete = len(ordered) == len(self.cases)
        return R.write_results(self.run_dir, self.header(started, complete), ordered)

    def _namespace(self) -> str | None:
        from .transport import discover_namespace

        default = self.catalog.soap.get("namespace")
        if self.target.namespace:
            return self.target.namespace
        if self.target.embedded:
            return default
        return discover_namespace(self.target.url_for(""), verify=self.target.tls.get(
            "ca_bundle") or bool(self.target.tls.get("verify", True))) or default
