"""Checks as small objects. Each judges one aspect of one step and returns a CheckResult:

- ``pass``  the platform did what the standard asks;
- ``fail``  the platform is wrong;
- ``error`` the answer could not be judged (timeout, refused, not XML …);
- ``skip``  not applicable here, with the reason.

Roll-up (documented in README): a step is ``fail`` if any check failed, else ``error`` if any
errored, else ``pass`` if any passed, else ``skip``; a case rolls up its steps the same way.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from lxml import etree

from .transport import Exchange, SoapReply

V3 = "urn:hl7-org:v3"
NS = {"hl7": V3, "xsi": "http://www.w3.org/2001/XMLSchema-instance"}
ORDER = {"fail": 3, "error": 2, "pass": 1, "skip": 0}


@dataclass
class CheckResult:
    id: str
    result: str
    message: str
    expected: str | None = None
    actual: str | None = None

    def to_dict(self) -> dict[str, Any]:
        d = {"id": self.id, "result": self.result, "message": self.message}
        if self.expected is not None:
            d["expected"] = self.expected
        if self.actual is not None:
            d["actual"] = self.actual
        return d


def roll_up(results: list[str]) -> str:
    if not results:
        return "skip"
    return max(results, key=lambda r: ORDER[r])


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


def _msg(ctx: StepContext, zh: str, en: str) -> str:
    return zh if ctx.lang == "zh" else en


class Check:
    id = "check"

    def run(self, ctx: StepContext) -> CheckResult:  # pragma: no cover - interface
        raise NotImplementedError


class Transport(Check):
    id = "transport"

    def run(self, ctx: StepContext) -> CheckResult:
        ex = ctx.exchange
        if ex.error:
            return CheckResult(self.id, "error", _msg(
                ctx, f"未得到可判定的应答：{ex.error}（{ex.error_detail}）",
                f"no judgeable answer: {ex.error} ({ex.error_detail})"), actual=ex.error)
        if ctx.reply and ctx.reply.fault:
            return CheckResult(self.id, "pass", _msg(ctx, f"HTTP {ex.status}，SOAP Fault",
                                                     f"HTTP {ex.status}, SOAP Fault"))
        if ex.status != 200:
            return CheckResult(self.id, "fail", _msg(
                ctx, f"HTTP 状态 {ex.status}，应为 200", f"HTTP status {ex.status}, expected 200"),
                expected="200", actual=str(ex.status))
        if ctx.reply and ctx.reply.problem:
            return CheckResult(self.id, "error", _msg(
                ctx, f"应答无法解析：{ctx.reply.problem}", f"answer cannot be read: {ctx.reply.problem}"))
        return CheckResult(self.id, "pass", f"HTTP {ex.status}")


class NoFault(Check):
    id = "soap-fault"

    def run(self, ctx: StepContext) -> CheckResult:
        if ctx.reply is None or ctx.reply.problem:
            return CheckResult(self.id, "skip", _msg(ctx, "无应答", "no answer"))
        if ctx.reply.fault:
            return CheckResult(self.id, "fail", _msg(
                ctx, f"平台返回 SOAP Fault：{ctx.reply.fault}；应返回 HL7 V3 确认消息",
                f"platform answered with a SOAP Fault: {ctx.reply.fault}; an HL7 V3 "
                "acknowledgement is expected"), actual=ctx.reply.fault)
        return CheckResult(self.id, "pass", _msg(ctx, "无 SOAP Fault", "no SOAP Fault"))


def _no_message(ctx: StepContext, cid: str) -> CheckResult | None:
    if ctx.message is None:
        return CheckResult(cid, "skip", _msg(ctx, "没有可检查的 HL7 V3 应答", "no HL7 V3 answer to check"))
    return None


class ResponseRoot(Check):
    id = "response-root"

    def __init__(self, expected: list[str]) -> None:
        self.expected = expected

    def run(self, ctx: StepContext) -> CheckResult:
        if (r := _no_message(ctx, self.id)) is not None:
            return r
        root = etree.QName(ctx.message).localname
        if root in self.expected:
            return CheckResult(self.id, "pass", root)
        return CheckResult(self.id, "fail", _msg(
            ctx, f"应答根元素为 {root}，应为 {' 或 '.join(self.expected)}",
            f"response root is {root}, expected {' or '.join(self.expected)}"),
            expected=" | ".join(self.expected), actual=root)


class InteractionId(Check):
    id = "interaction-id"

    def run(self, ctx: StepContext) -> CheckResult:
        if (r := _no_message(ctx, self.id)) is not None:
            return r
        root = etree.QName(ctx.message).localname
        el = ctx.message.find(f"{{{V3}}}interactionId")
        ext = el.get("extension") if el is not None else None
        if ext == root:
            return CheckResult(self.id, "pass", ext)
        return CheckResult(self.id, "fail", _msg(
            ctx, f"interactionId/@extension 为 {ext!r}，应等于根元素名 {root}",
            f"interactionId/@extension is {ext!r}, must equal the root element name {root}"),
            expected=root, actual=ext)


def ack_code(message: etree._Element) -> str | None:
    codes = message.xpath(".//hl7:acknowledgement/@typeCode", namespaces=NS)
    return str(codes[0]).strip() if codes else None


class AckCode(Check):
    id = "ack-code"

    def __init__(self, expected: list[str]) -> None:
        self.expected = expected

    def run(self, ctx: StepContext) -> CheckResult:
        if (r := _no_message(ctx, self.id)) is not None:
            if ctx.reply is not None and ctx.reply.fault and ctx.kind == "negative":
                return CheckResult(self.id, "fail", _msg(
                    ctx, f"期望 {'/'.join(self.expected)} 确认，实际为 SOAP Fault",
                    f"expected a {'/'.join(self.expected)} acknowledgement, got a SOAP Fault"),
                    expected="/".join(self.expected), actual="SOAP Fault")
            return r
        code = ack_code(ctx.message)
        detail = " ".join(t.strip() for t in ctx.message.xpath(
            ".//hl7:acknowledgementDetail//hl7:text//text()", namespaces=NS) if t.strip())
        if code in self.expected:
            return CheckResult(self.id, "pass", f"{code} {detail}".strip(), actual=code)
        return CheckResult(self.id, "fail", _msg(
            ctx, f"确认类型为 {code}，应为 {'/'.join(self.expected)}" + (f"（{detail}）" if detail else ""),
            f"acknowledgement is {code}, expected {'/'.join(self.expected)}"
            + (f" ({detail})" if detail else "")),
            expected="/".join(self.expected), actual=str(code))


class TargetMessageId(Check):
    id = "target-message-id"

    def run(self, ctx: StepContext) -> CheckResult:
        if (r := _no_message(ctx, self.id)) is not None:
            return r
        want = ctx.request_id()
        got = ctx.message.xpath(".//hl7:acknowledgement/hl7:targetMessage/hl7:id/@extension"
                                " | .//hl7:acknowledgement/hl7:targetMessage/hl7:id/hl7:item/@extension",
                                namespaces=NS)
        got_s = str(got[0]) if got else None
        if got_s == want:
            return CheckResult(self.id, "pass", str(got_s))
        return CheckResult(self.id, "fail", _msg(
            ctx, f"targetMessage/id 为 {got_s!r}，应回显请求消息标识 {want!r}",
            f"targetMessage/id is {got_s!r}, must echo the request id {want!r}"),
            expected=want, actual=got_s)


class ResponseValid(Check):
    id = "response-valid"

    def run(self, ctx: StepContext) -> CheckResult:
        if (r := _no_message(ctx, self.id)) is not None:
            return r
        errors = ctx.validate_message(ctx.reply.message_bytes or b"", "response")
        if not errors:
            return CheckResult(self.id, "pass", _msg(ctx, "应答通过消息校验", "response passes validation"))
        first = "; ".join(f"{rule}: {m}" for rule, m in errors[:3])
        return CheckResult(self.id, "fail", _msg(
            ctx, f"应答消息有 {len(errors)} 个错误：{first}",
            f"response message has {len(errors)} error(s): {first}"), actual=str(len(errors)))


class XPathCheck(Check):
    """Content assertions: equals, contains, count (on the response message)."""

    def __init__(self, kind: str, path: str, value: Any, cid: str | None = None) -> None:
        self.kind, self.path, self.value = kind, path, value
        self.id = cid or f"xpath-{kind}"

    def run(self, ctx: StepContext) -> CheckResult:
        if (r := _no_message(ctx, self.id)) is not None:
            return r
        try:
            found = ctx.message.xpath(self.path, namespaces=NS)
        except etree.XPathError as exc:
            return CheckResult(self.id, "error", f"invalid XPath {self.path}: {exc}")
        want = _render_value(self.value, ctx.variables)
        if self.kind == "count":
            n = int(found) if isinstance(found, float) else len(found)
            ok, actual = n == int(want), str(n)
        else:
            values = ([str(found)] if isinstance(found, (str, float, bool))
                      else [x if isinstance(x, str) else "".join(x.itertext()) for x in found])
            actual = values[0] if len(values) == 1 else ", ".join(values[:5])
            ok = (str(want) in values) if self.kind == "equals" else any(
                str(want) in v for v in values)
        if ok:
            return CheckResult(self.id, "pass", f"{self.path} → {actual}", expected=str(want),
                               actual=actual)
        return CheckResult(self.id, "fail", _msg(
            ctx, f"{self.path} 期望 {self.kind} {want!r}，实际为 {actual!r}",
            f"{self.path}: expected {self.kind} {want!r}, found {actual!r}"),
            expected=str(want), actual=actual)


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


class DocumentCheck(Check):
    """The CDA document a response carries: passes the validator and/or is byte-identical to
    the registered one (variable named by ``identical_to``)."""

    def __init__(self, path: str, identical_to: str | None = None, cid: str = "cda") -> None:
        self.path, self.identical_to, self.id = path, identical_to, cid

    def run(self, ctx: StepContext) -> CheckResult:
        if (r := _no_message(ctx, self.id)) is not None:
            return r
        doc = decode_document(ctx.message, self.path)
        if doc is None:
            return CheckResult(self.id, "fail", _msg(
                ctx, f"应答未携带可解码的 CDA 文档（{self.path}）",
                f"the response carries no decodable CDA document ({self.path})"))
        ctx.notes["document"] = doc
        if self.identical_to:
            original = ctx.variables.get(self.identical_to)
            if isinstance(original, str):  # a base64 value taken from the request sent
                try:
                    original = base64.b64decode("".join(original.split()), validate=True)
                except (binascii.Error, ValueError):
                    original = original.encode("utf-8")
            if doc != original:
                return CheckResult(self.id, "fail", _msg(
                    ctx, f"返回的文档与注册的文档不一致（{len(doc)} 字节 vs {len(original or b'')} 字节）",
                    f"returned document differs from the registered one ({len(doc)} vs "
                    f"{len(original or b'')} bytes)"))
        errors = ctx.validate_document(doc, "document")
        if errors:
            first = "; ".join(f"{rule}: {m}" for rule, m in errors[:3])
            return CheckResult(self.id, "fail", _msg(
                ctx, f"返回的 CDA 文档有 {len(errors)} 个错误：{first}",
                f"returned CDA document has {len(errors)} error(s): {first}"))
        return CheckResult(self.id, "pass", _msg(
            ctx, f"文档 {len(doc)} 字节，校验通过" + ("，与注册时一致" if self.identical_to else ""),
            f"document of {len(doc)} bytes passes validation"
            + (", identical to the registered one" if self.identical_to else "")))


def _render_value(value: Any, variables: dict[str, Any]) -> Any:
    if isinstance(value, str) and "{{" in value:
        from jinja2 import Environment, StrictUndefined

        return Environment(undefined=StrictUndefined, autoescape=False).from_string(value).render(
            **variables)
    return value
