"""Check kinds as a registry. Each kind is one class that holds everything about it:

- ``name``     how a scenario step names it (``checks: [{xpath_equals: {...}}]``), or, for the
               standard checks every step runs, the id its results carry;
- ``schema``   the JSON Schema fragment of what a step may write about it under ``checks:``
               (``None``: a standard check, not written in scenarios);
- ``expect``   the keys of a step's ``expect:`` it reads, with their schema fragments;
- ``compile``  the check from what the scenario says (problems raise ``CheckSpecError``, which
               the scenario loader reports with the file and line);
- ``evaluate`` the verdict on one exchange: a ``model.CheckResult``.

Kinds are found by name (``REGISTRY``), so adding one touches one class: its schema fragment is
part of the scenario schema, and the runner evaluates it with the others.

Results use the one vocabulary of ``model.Status`` (pass / fail / error / skip) and the one
roll-up, ``model.roll_up``: a step is ``fail`` if any check failed, else ``error`` if any errored,
else ``pass`` if any passed, else ``skip``; a case rolls up its steps the same way.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from jinja2 import Environment, StrictUndefined
from lxml import etree

from ..hl7v3.soap import SoapReply
from ..i18n import t as phrase
from ..model import CheckResult, Status
from .transport import Exchange

V3 = "urn:hl7-org:v3"
NS = {"hl7": V3, "xsi": "http://www.w3.org/2001/XMLSchema-instance"}
ACK_CODES = ("AA", "AE", "AR", "CA", "CE", "CR")
_ENV = Environment(undefined=StrictUndefined, autoescape=False)


class CheckSpecError(ValueError):
    """What a scenario says about a check cannot be used (the loader adds file and line)."""


@dataclass
class StepContext:
    """What checks look at: the exchange, the unwrapped reply, the request and expectations."""

    exchange: Exchange
    reply: SoapReply | None
    request: etree._Element
    kind: str                                   # positive | negative
    expect: dict[str, Any]
    variables: dict[str, Any]
    validate_message: Callable[[bytes, str], list[tuple[str, str]]]
    validate_document: Callable[[bytes, str], list[tuple[str, str]]]
    lang: str = "zh"
    response_roots: list[str] = field(default_factory=list)
    notes: dict[str, Any] = field(default_factory=dict)

    @property
    def message(self) -> etree._Element | None:
        return self.reply.message if self.reply else None

    def request_id(self) -> str | None:
        """The request's message id, written <id root extension/> or <id><item …/></id>."""
        el = self.request.find(f"{{{V3}}}id")
        if el is None:
            return None
        item = el.find(f"{{{V3}}}item") if el.get("extension") is None else None
        return (item if item is not None else el).get("extension")


def _say(ctx: StepContext, key: str, /, **values: Any) -> str:
    """A check's message: the phrase ``run.check.<key>`` in the run's language."""
    return phrase(f"run.check.{key}", ctx.lang, **values)


def result(cid: str, status: Status, message: str, *, expected: str | None = None,
           actual: str | None = None) -> CheckResult:
    """A check's verdict (values from lxml, str subclasses, become plain text)."""
    return CheckResult(id=cid, result=status, message=str(message),
                       expected=None if expected is None else str(expected),
                       actual=None if actual is None else str(actual))


# ---------------------------------------------------------------------------------- registry
class Check:
    """One kind of check (see the module docstring). Instances are compiled checks."""

    name: ClassVar[str] = ""
    standard: ClassVar[bool] = False            # run on every step
    schema: ClassVar[dict[str, Any] | None] = None
    expect: ClassVar[dict[str, dict[str, Any]]] = {}

    @property
    def id(self) -> str:
        """The id of its results (``<step>/<id>`` in a case)."""
        return self.name.replace("_", "-")

    @classmethod
    def compile(cls, args: Any) -> Check:
        """The check from its ``checks:`` entry (arguments already valid against ``schema``)."""
        raise CheckSpecError(f"{cls.name} cannot be written in a scenario")

    @classmethod
    def for_step(cls, kind: str, expect: dict[str, Any]) -> Check | None:
        """A standard check for a step of this kind (positive | negative), or None when it
        does not apply."""
        return cls()

    def evaluate(self, ctx: StepContext) -> CheckResult:  # pragma: no cover - interface
        raise NotImplementedError


REGISTRY: dict[str, type[Check]] = {}


def register(cls: type[Check]) -> type[Check]:
    if not cls.name or cls.name in REGISTRY:
        raise ValueError(f"check kind {cls.name!r} needs a unique name")
    REGISTRY[cls.name] = cls
    return cls


def kind(name: str) -> type[Check] | None:
    return REGISTRY.get(name)


def scenario_kinds() -> list[type[Check]]:
    """The kinds a scenario step may write under ``checks:``."""
    return [k for k in REGISTRY.values() if k.schema is not None]


def checks_schema() -> dict[str, Any]:
    """The JSON Schema of a step's ``checks:``: a list of one-key mappings, each checked against
    its kind's fragment."""
    names = [k.name for k in scenario_kinds()]
    return {"type": "array", "items": {
        "type": "object", "minProperties": 1, "maxProperties": 1,
        "propertyNames": {"enum": names},
        "allOf": [{"if": {"required": [k.name]}, "then": {"properties": {k.name: k.schema}}}
                  for k in scenario_kinds()]}}


def expect_schema() -> dict[str, Any]:
    """The JSON Schema of a step's ``expect:`` (the keys the kinds read)."""
    props: dict[str, Any] = {}
    for k in REGISTRY.values():
        props.update(k.expect)
    return {"type": "object", "additionalProperties": False, "properties": props}


def compile_spec(spec: dict[str, Any]) -> Check:
    """A compiled check from one ``checks:`` entry (``{name: arguments}``)."""
    if len(spec) != 1:
        raise CheckSpecError("a check names exactly one kind")
    (name, args), = spec.items()
    cls = REGISTRY.get(name)
    if cls is None or cls.schema is None:
        raise CheckSpecError(f"unknown check kind {name!r}; one of "
                             f"{', '.join(k.name for k in scenario_kinds())}")
    return cls.compile(args)


def step_checks(kind: str, expect: dict[str, Any], specs: list[dict[str, Any]],
                compiled: list[Check] | None = None) -> list[Check]:
    """Every check of one step, in order: the standard ones, then the step's own."""
    out = [c for k in REGISTRY.values() if k.standard
           if (c := k.for_step(kind, expect)) is not None]
    out.extend(compiled if compiled is not None else [compile_spec(s) for s in specs])
    return out


def _no_message(ctx: StepContext, cid: str) -> CheckResult | None:
    if ctx.message is None:
        return result(cid, Status.SKIP, _say(ctx, "no_v3"))
    return None


# ---------------------------------------------------------------------------------- standard
@register
class TransportCheck(Check):
    """An answer came back that can be judged: HTTP 200 (or a SOAP Fault), readable."""

    name = "transport"
    standard = True

    def evaluate(self, ctx: StepContext) -> CheckResult:
        ex = ctx.exchange
        if ex.error:
            return result(self.id, Status.ERROR, _say(
                ctx, "no_answer", error=ex.error, detail=ex.error_detail), actual=ex.error)
        if ctx.reply and ctx.reply.fault:
            return result(self.id, Status.PASS, _say(ctx, "http_fault", status=ex.status))
        if ex.status != 200:
            return result(self.id, Status.FAIL, _say(ctx, "http_status", status=ex.status),
                expected="200", actual=str(ex.status))
        if ctx.reply and ctx.reply.problem:
            return result(self.id, Status.ERROR, _say(ctx, "unreadable", problem=ctx.reply.problem))
        return result(self.id, Status.PASS, f"HTTP {ex.status}")


@register
class NoFault(Check):
    """A positive step is answered with an HL7 V3 acknowledgement, not a SOAP Fault."""

    name = "soap-fault"
    standard = True

    @classmethod
    def for_step(cls, kind: str, expect: dict[str, Any]) -> Check | None:
        return cls() if kind == "positive" else None

    def evaluate(self, ctx: StepContext) -> CheckResult:
        if ctx.reply is None or ctx.reply.problem:
            return result(self.id, Status.SKIP, _say(ctx, "none"))
        if ctx.reply.fault:
            return result(self.id, Status.FAIL, _say(ctx, "fault", fault=ctx.reply.fault),
                          actual=ctx.reply.fault)
        return result(self.id, Status.PASS, _say(ctx, "no_fault"))


@register
class ResponseRoot(Check):
    """The answer's root element is the service's response interaction."""

    name = "response-root"
    standard = True

    def evaluate(self, ctx: StepContext) -> CheckResult:
        if (r := _no_message(ctx, self.id)) is not None:
            return r
        expected = ctx.response_roots
        root = etree.QName(ctx.message).localname
        if root in expected:
            return result(self.id, Status.PASS, root)
        return result(self.id, Status.FAIL, _say(
            ctx, "root", root=root, expected=phrase("run.check.or", ctx.lang).join(expected)),
            expected=" | ".join(expected), actual=root)


@register
class InteractionId(Check):
    """interactionId/@extension names the root element."""

    name = "interaction-id"
    standard = True

    def evaluate(self, ctx: StepContext) -> CheckResult:
        if (r := _no_message(ctx, self.id)) is not None:
            return r
        root = etree.QName(ctx.message).localname
        el = ctx.message.find(f"{{{V3}}}interactionId")
        ext = el.get("extension") if el is not None else None
        if ext == root:
            return result(self.id, Status.PASS, ext)
        return result(self.id, Status.FAIL, _say(
            ctx, "interaction", ext=repr(ext), root=root),
            expected=root, actual=ext)


def ack_code(message: etree._Element) -> str | None:
    codes = message.xpath(".//hl7:acknowledgement/@typeCode", namespaces=NS)
    return str(codes[0]).strip() if codes else None


_ACK = {"type": "string", "enum": list(ACK_CODES)}


@register
class AckCode(Check):
    """The acknowledgement type: ``expect: {ack: …}`` (default AA, negative steps AE or AR)."""

    name = "ack-code"
    standard = True
    expect = {"ack": {"anyOf": [_ACK, {"type": "array", "minItems": 1, "items": _ACK}]}}

    def __init__(self, expected: list[str]) -> None:
        self.expected = expected

    @classmethod
    def for_step(cls, kind: str, expect: dict[str, Any]) -> Check | None:
        ack = expect.get("ack") or (["AE", "AR"] if kind == "negative" else ["AA"])
        return cls([ack] if isinstance(ack, str) else list(ack))

    def evaluate(self, ctx: StepContext) -> CheckResult:
        if (r := _no_message(ctx, self.id)) is not None:
            if ctx.reply is not None and ctx.reply.fault and ctx.kind == "negative":
                return result(self.id, Status.FAIL, _say(
                    ctx, "ack_fault", expected="/".join(self.expected)),
                    expected="/".join(self.expected), actual="SOAP Fault")
            return r
        code = ack_code(ctx.message)
        detail = " ".join(t.strip() for t in ctx.message.xpath(
            ".//hl7:acknowledgementDetail//hl7:text//text()", namespaces=NS) if t.strip())
        if code in self.expected:
            return result(self.id, Status.PASS, f"{code} {detail}".strip(), actual=code)
        return result(self.id, Status.FAIL, _say(
            ctx, "ack", code=code, expected="/".join(self.expected))
            + (phrase("paren", ctx.lang, text=detail) if detail else ""),
            expected="/".join(self.expected), actual=str(code))


@register
class TargetMessageId(Check):
    """acknowledgement/targetMessage/id echoes the request's message id."""

    name = "target-message-id"
    standard = True

    def evaluate(self, ctx: StepContext) -> CheckResult:
        if (r := _no_message(ctx, self.id)) is not None:
            return r
        want = ctx.request_id()
        got = ctx.message.xpath(".//hl7:acknowledgement/hl7:targetMessage/hl7:id/@extension"
                                " | .//hl7:acknowledgement/hl7:targetMessage/hl7:id/hl7:item/@extension",
                                namespaces=NS)
        got_s = str(got[0]) if got else None
        if got_s == want:
            return result(self.id, Status.PASS, str(got_s))
        return result(self.id, Status.FAIL, _say(
            ctx, "target", got=repr(got_s), want=repr(want)),
            expected=want, actual=got_s)


@register
class ResponseValid(Check):
    """The answer passes the HL7 V3 message validator."""

    name = "response-valid"
    standard = True

    def evaluate(self, ctx: StepContext) -> CheckResult:
        if (r := _no_message(ctx, self.id)) is not None:
            return r
        errors = ctx.validate_message(ctx.reply.message_bytes or b"", "response")
        if not errors:
            return result(self.id, Status.PASS, _say(ctx, "response_valid"))
        first = "; ".join(f"{rule}: {m}" for rule, m in errors[:3])
        return result(self.id, Status.FAIL, _say(
            ctx, "response_invalid", n=len(errors), first=first), actual=str(len(errors)))


# ---------------------------------------------------------------------------------- content
def _render(value: Any, variables: dict[str, Any]) -> Any:
    if isinstance(value, str) and "{{" in value:
        return _ENV.from_string(value).render(**variables)
    return value


def _compile_xpath(path: str) -> None:
    if "{{" in path:
        return  # rendered per exchange
    try:
        etree.XPath(path, namespaces=NS)
    except etree.XPathSyntaxError as exc:
        raise CheckSpecError(f"invalid XPath {path!r}: {exc}") from None


_XPATH_ARGS = {"type": "object", "required": ["path", "value"], "additionalProperties": False,
               "properties": {"path": {"type": "string", "minLength": 1},
                              "value": {"type": ["string", "number", "boolean"]}}}


class _XPathCheck(Check):
    """Content assertions on the response message: ``{path, value}`` (the value may use the
    case's variables, ``{{ name }}``)."""

    verb: ClassVar[str] = ""
    schema = _XPATH_ARGS

    def __init__(self, path: str, value: Any) -> None:
        self.path, self.value = path, value

    @property
    def id(self) -> str:
        return f"xpath-{self.verb}"

    @classmethod
    def compile(cls, args: Any) -> Check:
        _compile_xpath(str(args["path"]))
        return cls(str(args["path"]), args["value"])

    def matches(self, found: Any, want: Any) -> tuple[bool, str]:
        values = ([str(found)] if isinstance(found, str | float | bool)
                  else [x if isinstance(x, str) else "".join(x.itertext()) for x in found])
        actual = values[0] if len(values) == 1 else ", ".join(values[:5])
        return self.match_values(values, str(want)), actual

    def match_values(self, values: list[str], want: str) -> bool:  # pragma: no cover - interface
        raise NotImplementedError

    def evaluate(self, ctx: StepContext) -> CheckResult:
        if (r := _no_message(ctx, self.id)) is not None:
            return r
        try:
            found = ctx.message.xpath(self.path, namespaces=NS)
        except etree.XPathError as exc:
            return result(self.id, Status.ERROR, f"invalid XPath {self.path}: {exc}")
        want = _render(self.value, ctx.variables)
        ok, actual = self.matches(found, want)
        if ok:
            return result(self.id, Status.PASS, f"{self.path} → {actual}", expected=str(want),
                          actual=actual)
        return result(self.id, Status.FAIL, _say(
            ctx, "value", path=self.path, verb=self.verb, want=repr(want), actual=repr(actual)),
            expected=str(want), actual=actual)


@register
class XPathEquals(_XPathCheck):
    """One of the values the XPath selects equals ``value``."""

    name = "xpath_equals"
    verb = "equals"

    def match_values(self, values: list[str], want: str) -> bool:
        return want in values


@register
class XPathContains(_XPathCheck):
    """One of the values the XPath selects contains ``value``."""

    name = "xpath_contains"
    verb = "contains"

    def match_values(self, values: list[str], want: str) -> bool:
        return any(want in v for v in values)


@register
class XPathCount(_XPathCheck):
    """The XPath selects ``value`` nodes (or a ``count(…)`` expression yields it)."""

    name = "xpath_count"
    verb = "count"
    schema = {**_XPATH_ARGS, "properties": {
        "path": {"type": "string", "minLength": 1},
        "value": {"anyOf": [{"type": "integer", "minimum": 0},
                            {"type": "string", "pattern": r"^\s*(\d+|.*\{\{.*\}\}.*)\s*$"}]}}}

    def matches(self, found: Any, want: Any) -> tuple[bool, str]:
        n = int(found) if isinstance(found, float) else len(found)
        return n == int(want), str(n)


def decode_document(message: etree._Element, path: str) -> bytes | None:
    found = message.xpath(path, namespaces=NS)
    if not found:
        return None
    if isinstance(found, str):
        text = found
    else:
        text = found[0] if isinstance(found[0], str) else "".join(found[0].itertext())
    try:
        return base64.b64decode("".join(str(text).split()), validate=True)
    except (binascii.Error, ValueError):
        return None


@register
class DocumentCheck(Check):
    """The CDA document a response carries (base64 at ``path``): passes the validator and, with
    ``identical_to``, is byte-identical to the registered one (the variable of that name)."""

    name = "document"
    schema = {"type": "object", "required": ["path"], "additionalProperties": False,
              "properties": {"path": {"type": "string", "minLength": 1},
                             "identical_to": {"type": "string", "minLength": 1}}}

    def __init__(self, path: str, identical_to: str | None = None) -> None:
        self.path, self.identical_to = path, identical_to

    @property
    def id(self) -> str:
        return "cda"

    @classmethod
    def compile(cls, args: Any) -> Check:
        _compile_xpath(str(args["path"]))
        return cls(str(args["path"]), args.get("identical_to"))

    def evaluate(self, ctx: StepContext) -> CheckResult:
        if (r := _no_message(ctx, self.id)) is not None:
            return r
        doc = decode_document(ctx.message, self.path)
        if doc is None:
            return result(self.id, Status.FAIL, _say(
                ctx, "no_document", path=self.path))
        ctx.notes["document"] = doc
        if self.identical_to:
            original = ctx.variables.get(self.identical_to)
            if isinstance(original, str):  # a base64 value taken from the request sent
                try:
                    original = base64.b64decode("".join(original.split()), validate=True)
                except (binascii.Error, ValueError):
                    original = original.encode("utf-8")
            if doc != original:
                return result(self.id, Status.FAIL, _say(
                    ctx, "document_differs", got=len(doc), want=len(original or b"")))
        errors = ctx.validate_document(doc, "document")
        if errors:
            first = "; ".join(f"{rule}: {m}" for rule, m in errors[:3])
            return result(self.id, Status.FAIL, _say(
                ctx, "document_invalid", n=len(errors), first=first))
        return result(self.id, Status.PASS, _say(
            ctx, "document_valid_same" if self.identical_to else "document_valid", n=len(doc)))
