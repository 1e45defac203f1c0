"""One codec per artifact: dump / load with a ``schema_version``, precise errors, a JSON Schema.

Loading is strict about types (a list is a list, a result word is a known word) and tolerant
about what it does not know: fields a newer writer added are ignored, fields an older writer
left out take their defaults. A file from a newer major ``schema_version`` is refused with a
message saying so. Every problem names the file, the place (line and column for JSON syntax,
the JSON path such as ``$.cases[3].result`` for a wrong value) and what to do."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

import msgspec

from ...errors import ConformanceError
from ...i18n import Phrase, local, t
from ...output import open_output

T = TypeVar("T")
MAX_BYTES = 512 * 1024 * 1024


class ArtifactError(ConformanceError):
    """An artifact that cannot be used (unreadable, not JSON, wrong shape, too new): the file,
    the problem and what to do, each a phrase (``artifact.*``) the command renders in the user's
    language (``render(lang)``; ``str()`` is English)."""

    def __init__(self, path: str | Path, problem: Phrase, hint: Phrase | None = None) -> None:
        self.path, self.problem, self.hint = str(path), problem, hint
        self.key = "artifact.error_hint" if hint is not None else "artifact.error"
        self.values = {"path": self.path, "problem": problem, "hint": hint or ""}
        super().__init__(t(self.key, "en", **self.values))

    @property
    def reason(self) -> str:
        """The problem in English (what the codec or the file system said)."""
        return str(local(self.problem, "en"))

    def __reduce__(self) -> Any:
        return (ArtifactError, (self.path, self.problem, self.hint))


def _line_col(data: bytes, offset: int) -> tuple[int, int]:
    head = data[:offset]
    line = head.count(b"\n") + 1
    col = len(head[head.rfind(b"\n") + 1:].decode("utf-8", "replace")) + 1
    return line, col


def _enc_hook(obj: Any) -> Any:
    if isinstance(obj, set | frozenset):
        return sorted(obj)
    if isinstance(obj, Path):
        return str(obj)
    raise NotImplementedError(f"cannot serialise {type(obj).__name__}")


ENCODER = msgspec.json.Encoder(enc_hook=_enc_hook)


@dataclass(frozen=True)
class Codec(Generic[T]):
    """How one artifact is written and read."""

    name: str                      # validate | results | perf | datasets | score | manifest
    filename: str
    type: type[T]
    schema_version: int
    title: str
    description: str
    producer: str                  # the command that writes it (said when it is absent)
    indent: int = 1
    post_schema: Callable[[dict[str, Any]], None] | None = None

    # ------------------------------------------------------------------ writing
    def dumps(self, obj: T) -> bytes:
        raw = ENCODER.encode(obj)
        return msgspec.json.format(raw, indent=self.indent) + b"\n" if self.indent else raw

    def dump(self, obj: T, path: str | Path) -> Path:
        """Write atomically (the file is complete or not there)."""
        target = Path(path)
        if target.is_dir():
            target = target / self.filename
        with open_output(str(target), binary=True) as fh:
            fh.write(self.dumps(obj))
        return target

    # ------------------------------------------------------------------ reading
    def loads(self, data: bytes, where: str | Path = "<data>") -> T:
        try:
            obj = msgspec.json.decode(data, type=self.type)
        except msgspec.ValidationError as exc:
            self._check_version(data, where)
            raise ArtifactError(where, Phrase("artifact.invalid", file=self.filename, error=str(exc)),
                                Phrase("artifact.regenerate", cmd=self.producer)) from None
        except msgspec.DecodeError as exc:
            raise self._syntax_error(data, where, exc) from None
        version = getattr(obj, "schema_version", 1)
        if version > self.schema_version:
            self._too_new(where, version)
        return obj

    def load(self, path: str | Path) -> T:
        p = Path(path)
        if p.is_dir():
            p = p / self.filename
        try:
            size = p.stat().st_size
            if size > MAX_BYTES:
                raise ArtifactError(p, Phrase("artifact.too_large", size=size, max=MAX_BYTES))
            data = p.read_bytes()
        except FileNotFoundError:
            raise ArtifactError(p, Phrase("artifact.not_found"),
                                Phrase("artifact.produce", cmd=self.producer)) from None
        except OSError as exc:
            raise ArtifactError(p, Phrase("artifact.cannot_read",
                                          msg=str(exc.strerror or exc))) from None
        if not data.strip():
            raise ArtifactError(p, Phrase("artifact.empty"),
                                Phrase("artifact.regenerate", cmd=self.producer))
        return self.loads(data, p)

    # ------------------------------------------------------------------ helpers
    def _syntax_error(self, data: bytes, where: str | Path, exc: Exception) -> ArtifactError:
        try:
            json.loads(data.decode("utf-8"))
        except UnicodeDecodeError as u:
            return ArtifactError(where, Phrase("artifact.not_utf8", byte=u.start),
                                 Phrase("artifact.utf8_hint"))
        except json.JSONDecodeError as j:
            return ArtifactError(where, Phrase("artifact.bad_json", line=j.lineno, column=j.colno,
                                               msg=j.msg),
                                 Phrase("artifact.edited", cmd=self.producer))
        return ArtifactError(where, Phrase("artifact.not_json", error=str(exc)))

    def _check_version(self, data: bytes, where: str | Path) -> None:
        try:
            head = msgspec.json.decode(data, type=dict[str, Any])
        except (msgspec.DecodeError, msgspec.ValidationError):
            return
        version = head.get("schema_version")
        if isinstance(version, int) and version > self.schema_version:
            self._too_new(where, version)

    def _too_new(self, where: str | Path, version: int) -> None:
        raise ArtifactError(where, Phrase("artifact.too_new", version=version, file=self.filename,
                                          max=self.schema_version),
                            Phrase("artifact.upgrade"))

    def json_schema(self) -> dict[str, Any]:
        """The JSON Schema of the file (draft 2020-12), as shipped in the package."""
        (body,), components = msgspec.json.schema_components([self.type],
                                                             ref_template="#/$defs/{name}")
        schema: dict[str, Any] = {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "$id": f"https://conformance.invalid/schemas/{self.name}.schema.json",
            "title": self.title, "description": self.description,
            **{k: v for k, v in body.items() if k != "$ref"}}
        name = body["$ref"].rsplit("/", 1)[-1] if "$ref" in body else None
        defs = dict(components)
        if name:
            top = defs.pop(name)
            schema.update({k: v for k, v in top.items() if k not in ("title",)})
            schema["description"] = self.description
        if defs:
            schema["$defs"] = defs
        if self.post_schema:
            self.post_schema(schema)
        return schema
