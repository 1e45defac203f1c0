"""Mutation fuzzing of the validator: "zero crashes on any input" (issue 2), checked at scale.

    python scripts/fuzz_validate.py [--per-seed 200] [--seed 0] [--lang zh]

Takes every valid document the project has (the 73 example documents and the HL7 V3 messages
of the test run fixtures), applies seeded mutations to each (tests/mutations.py: tree-level
defects that keep the XML well-formed, and byte-level damage), validates every result in one
process and checks, for each:

- validation returns (an exception is a crash: it is printed with the seed that replays it);
- no INTERNAL.ERROR finding (the engine's catch-all for a bug inside a layer);
- every finding names a rule of the catalog, a known severity and layer, and a place: an
  XPath, or a line (1-based) and a column (1-based) within the document;
- every finding's XPath selects exactly one element of the document, and its line and column
  point at that element's start tag (or, for an attribute, at the attribute's name in it);
- every layer is recorded as ran or skipped with a reason.

Exits 1 on any failure. A failure replays with `--only FILE:SEED` (and the same --steps).
"""

from __future__ import annotations

import argparse
import base64
import bisect
import re
import sys
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from lxml import etree  # noqa: E402

from conformance.model.findings import LAYERS  # noqa: E402
from conformance.validate import Validator, ValidatorOptions  # noqa: E402
from conformance.xmlsafe import as_utf8, text_as_utf8  # noqa: E402
from tests.mutations import mutate  # noqa: E402

SEVERITIES = {"error", "warning", "info"}
_STEP = re.compile(r"(\*\[local-name\(\)='[^']*' and namespace-uri\(\)='[^']*'\]\[\d+\])"
                   r"|([^/\[\]@*]+)(?:\[(\d+)\])?")


def select(root: etree._Element, xpath: str) -> list[etree._Element] | None:
    """The elements a finding's XPath selects, read as the report documents it: a plain step
    is a local name, a step in another namespace says so in its predicate. None when the path
    is not of that form."""
    path = xpath.split("/@", 1)[0]
    if not path.startswith("/"):
        return None
    parts = []
    pos = 1
    while pos < len(path):
        m = _STEP.match(path, pos)
        if m is None:
            return None
        qualified, name, n = m.groups()
        parts.append(qualified or (f"*[local-name()='{name}']" + (f"[{n}]" if n else "")))
        pos = m.end() + 1  # the '/' between steps
    return root.getroottree().xpath("/" + "/".join(parts))


def soap_text(message: bytes, cdata: bool = False) -> bytes:
    """A SOAP 1.1 request carrying `message` as the text of HIPMessageServer/message."""
    env = etree.Element("{http://schemas.xmlsoap.org/soap/envelope/}Envelope")
    body = etree.SubElement(env, "{http://schemas.xmlsoap.org/soap/envelope/}Body")
    call = etree.SubElement(body, "{urn:x}HIPMessageServer")
    text = message.decode("utf-8", "replace")
    text = "".join(ch for ch in text if ch in "\t\n\r" or ord(ch) >= 0x20)  # XML 1.0 chars
    if cdata and "]]>" not in text:
        etree.SubElement(call, "{urn:x}message").text = etree.CDATA(text)
    else:
        etree.SubElement(call, "{urn:x}message").text = text
    return etree.tostring(env, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def minify(data: bytes) -> bytes:
    """The document written on one line, as code that builds XML by string concatenation
    writes it (blank text between elements dropped; text and attributes as they were)."""
    parser = etree.XMLParser(remove_blank_text=True, resolve_entities=False, no_network=True)
    root = etree.fromstring(data, parser)
    for el in root.iter():
        if el.tail is not None and not el.tail.strip():
            el.tail = None
    return etree.tostring(root, encoding="UTF-8")


def pretty(data: bytes) -> bytes | None:
    """The same document indented, one element a line (None: it is not well-formed)."""
    parser = etree.XMLParser(remove_blank_text=True, resolve_entities=False, no_network=True)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError:
        return None
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def twin_problems(validator: Validator, data: bytes, path: str) -> list[str]:
    """A minified document must get the findings of the same document indented, on the same
    elements: the same rule, XPath and message, as often (in the indented one each element
    has a line of its own, so a finding placed by its line cannot be on another element)."""
    other = pretty(data)
    if other is None:
        return []
    try:
        a = validator.validate_bytes(data, path)
        b = validator.validate_bytes(other, path)
    except Exception:
        return []  # problems() reports the crash
    key = lambda f: (f.rule, f.xpath or "", f.message)  # noqa: E731
    got, want = sorted(map(key, a.findings)), sorted(map(key, b.findings))
    if got == want:
        return []
    extra = [k for k in got if k not in want][:3]
    missing = [k for k in want if k not in got][:3]
    dup = [k for k in set(got) if got.count(k) > want.count(k)][:3]
    return [f"minified and indented differ: only minified {extra}, only indented {missing}, "
            f"repeated {dup}"]


def registration(document: bytes, seed: int) -> bytes:
    """A 电子病历文档注册 request carrying `document` (the project's own message template)."""
    from conformance.hl7v3.builder import MessageBuilder

    return MessageBuilder("hospital").build_request(
        "DocumentRegiste", {"index": seed % 50 + 1, "document": document})


def bare_message(data: bytes) -> bytes:
    """The HL7 V3 message inside a recorded SOAP envelope (the document itself otherwise)."""
    root = etree.fromstring(data)
    if etree.QName(root).localname != "Envelope":
        return data
    msg = next((el for el in root.iter() if isinstance(el.tag, str)
                and etree.QName(el).namespace == "urn:hl7-org:v3"), None)
    return data if msg is None else etree.tostring(msg, encoding="UTF-8")


def seeds_corpus(folder: str | None = None) -> list[Path]:
    if folder:
        return sorted(Path(folder).rglob("*.xml"))
    docs = sorted((ROOT / "test_cases" / "documents").rglob("*.xml"))
    msgs = sorted((ROOT / "tests" / "fixtures" / "runs").rglob("*.xml"))
    return docs + msgs


_MARKUP = re.compile(r"<!--.*?-->|<!\[CDATA\[.*?\]\]>|<\?.*?\?>|<![^>]*>|</|<[^\s/>!?]", re.S)


def start_tags(text_lines: list[str]) -> list[tuple[int, int]]:
    """(line, column) of every start tag of a document, in document order (the k-th is the
    k-th element's): found here independently of the validator's Locator."""
    text = "\n".join(text_lines)
    line_starts = [0] + [m.end() for m in re.finditer("\n", text)]
    out = []
    for m in _MARKUP.finditer(text):
        if m.group().startswith("<") and len(m.group()) == 2 and m.group() not in ("</",):
            off = m.start()
            i = bisect.bisect_right(line_starts, off) - 1
            out.append((i + 1, off - line_starts[i] + 1))
    return out


def _misplaced(el: etree._Element, xpath: str, line: int, column: int | None,
               text_lines: list[str], end_line: int | None = -1,
               starts: dict[etree._Element, tuple[int, int]] | None = None) -> str | None:
    """Why (line, column) is not the element's start tag, or the attribute in it (None: it is).
    libxml2's sourceline is the line where the start tag ends, so the tag starts on or above it
    (end_line=None: the element is in a message carried as text, its own lines do not apply;
    its start tag may be escaped). With `starts` (every element's start tag, in the file) the
    place must be that element's own start tag, not another element's of the same name on the
    same line (a minified document)."""
    if end_line is not None and not line <= el.sourceline:
        return f"line {line} is after the start tag of {xpath} (which ends on {el.sourceline})"
    if column is None:
        return None
    text = text_lines[line - 1][column - 1:] if line <= len(text_lines) else ""
    if "/@" in xpath:
        attr = xpath.rpartition("/@")[2].rpartition(":")[2]
        ok = re.match(r"([\w.-]+:)?" + re.escape(attr) + r"\s*=", text)
    else:
        local = etree.QName(el).localname
        ok = re.match(r"(<|&lt;)([\w.-]+:)?" + re.escape(local) + r"[\s/>&]", text + " ")
    if not ok:
        return f"line {line} column {column} reads {text[:40]!r}, not {xpath}"
    own = None if starts is None else starts.get(el)
    if own is not None:
        if "/@" not in xpath and (line, column) != own:
            return (f"line {line} column {column} is not the start tag of {xpath}, which is at "
                    f"line {own[0]} column {own[1]}")
        if "/@" in xpath:  # in its own start tag: after its '<', before the next start tag
            later = [p for p in starts.values() if p > own]
            if not own < (line, column) or (later and (line, column) > min(later)):
                return (f"line {line} column {column} is not in the start tag of {xpath} "
                        f"(line {own[0]} column {own[1]})")
    return None


def problems(validator: Validator, data: bytes, path: str) -> list[str]:
    """What is wrong with the validator's answer on one input (empty: nothing)."""
    try:
        result = validator.validate_bytes(data, path)
    except Exception:
        return ["crash: " + traceback.format_exc(limit=8)]
    out: list[str] = []
    rules = validator.catalog.rules
    for layer in LAYERS:
        state = result.layers.get(layer)
        if not state or not (state.startswith("ran") or state.startswith("skipped")):
            out.append(f"layer {layer} recorded as {state!r}")
    lines = data.count(b"\n") + 1
    try:
        root = etree.fromstring(data, etree.XMLParser(resolve_entities=False, no_network=True))
    except etree.XMLSyntaxError:
        root = None
    text_lines = as_utf8(data, root).decode("utf-8", "replace").split("\n") if root is not None \
        else []
    starts: dict[etree._Element, tuple[int, int]] | None = None
    if root is not None and result.findings:
        tags = start_tags(text_lines)
        elements = list(root.iter(etree.Element))
        if len(tags) == len(elements):
            starts = dict(zip(elements, tags, strict=True))
    for f in result.findings:
        if f.rule == "INTERNAL.ERROR":
            out.append(f"internal error: {f.message}")
            continue
        if f.rule not in rules:
            out.append(f"finding with a rule not in the catalog: {f.rule}")
        if f.severity not in SEVERITIES or f.layer not in LAYERS:
            out.append(f"{f.rule}: severity {f.severity!r} / layer {f.layer!r}")
        if not f.message:
            out.append(f"{f.rule}: no message")
        if f.xpath is None and f.line is None:
            out.append(f"{f.rule}: no place (neither XPath nor line)")
        if f.line is not None and not (1 <= f.line <= lines):
            out.append(f"{f.rule}: line {f.line} outside 1..{lines}")
        if f.column is not None and f.column < 1:
            out.append(f"{f.rule}: column {f.column}")
        if root is not None and f.xpath and f.xpath.startswith("/"):
            wrong = _check_place(root, f.xpath, f.line, f.column, text_lines, starts)
            if wrong:
                out.append(f"{f.rule}: {wrong}")
    return out


def _check_place(root: etree._Element, xpath: str, line: int | None, column: int | None,
                 text_lines: list[str],
                 starts: dict[etree._Element, tuple[int, int]] | None = None,
                 in_text: bool = False) -> str | None:
    """What is wrong with a finding's place (None: nothing). A message carried as text in a
    SOAP envelope has the XPath '<carrier>/text() → <path in the message>': the carrier must be
    one element of the file, and the path one element of the message its text holds. A CDA
    document carried base64-encoded in an attribute has '<carrier>/@value → <path in the
    document>': the path must be one element of the decoded document, and the place that of
    the carrying attribute. in_text: the root is a message carried as text (its places are
    in the escaped text of the file)."""
    outer, arrow, inner = xpath.partition(" → ")
    if arrow and outer.endswith("/text()"):
        carriers = select(root, outer.removesuffix("/text()"))
        if carriers is None or len(carriers) != 1:
            return f"carrier of {xpath} selects {carriers and len(carriers)} elements"
        # parsed as the validator parses it: as text (an encoding its declaration names no
        # longer applies to text the SOAP layer decoded)
        message = etree.fromstring(text_as_utf8("".join(carriers[0].itertext())),
                                   etree.XMLParser(resolve_entities=False, no_network=True))
        # its place in the file: after the carrier's start tag
        if not in_text and line is not None and line < carriers[0].sourceline:
            return f"line {line} is before the carrier of {xpath}"
        return _check_place(message, inner, line, column, text_lines, in_text=True)
    if arrow:  # a document carried in an attribute
        carriers = select(root, outer)
        if carriers is None or len(carriers) != 1 or "/@" not in outer:
            return f"carrier of {xpath} selects {carriers and len(carriers)} elements"
        attr = outer.rpartition("/@")[2].rpartition(":")[2]
        value = next((v for k, v in carriers[0].attrib.items()
                      if k.rpartition("}")[2] == attr), "")
        document = etree.fromstring(base64.b64decode("".join(value.split())),
                                    etree.XMLParser(resolve_entities=False, no_network=True))
        found = select(document, inner)
        if found is None or len(found) != 1:
            return f"{xpath} selects {found and len(found)} elements in the carried document"
        xpath = outer  # placed at the carrying attribute
    found = select(root, xpath)
    if found is None or len(found) != 1:
        return f"XPath {xpath} selects {found and len(found)} elements"
    if line is not None:
        if in_text:
            return _misplaced(found[0], xpath, line, column, text_lines, end_line=None)
        return _misplaced(found[0], xpath, line, column, text_lines, starts=starts)
    return None


def _byte_damaged(done: list[str]) -> bool:
    """Whether a byte-level mutation was applied (the text is then not a tree's any more)."""
    return any(d.startswith(("truncate", "flip", "insert", "re-encode")) for d in done)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--per-seed", type=int, default=200,
                    help="mutations per corpus document (default 200)")
    ap.add_argument("--seed", type=int, default=0, help="first seed")
    ap.add_argument("--lang", default="zh", choices=["zh", "en"])
    ap.add_argument("--steps", type=int, default=None,
                    help="tree mutations per input (default: 1-3 at random)")
    ap.add_argument("--corpus", help="a folder of well-formed documents to mutate instead (e.g. "
                                     "../shared/reference-samples); each is also checked as is")
    ap.add_argument("--soap-text", action="store_true",
                    help="send each mutated document as the text of HIPMessageServer/message "
                         "in a SOAP envelope (escaped, or in CDATA for odd seeds), as captured "
                         "platform traffic carries messages")
    ap.add_argument("--minify", action="store_true",
                    help="write each document on one line before mutating it (as code that "
                         "builds XML by concatenation does), and check that its findings are "
                         "those of the same document indented, on the same elements")
    ap.add_argument("--carried", action="store_true",
                    help="carry each mutated CDA document base64-encoded in a 电子病历文档注册 "
                         "message (RCMR_IN000002UV02), as the platform receives it: its findings "
                         "are placed at the carrying attribute (messages of the corpus are left "
                         "out); with --soap-text that message travels as SOAP text")
    ap.add_argument("--only", help="replay one case: FILE:SEED")
    args = ap.parse_args()

    validator = Validator(ValidatorOptions(lang=args.lang))
    if args.only:
        name, _, seed = args.only.rpartition(":")
        original = Path(name).read_bytes()
        if args.minify:
            original = minify(original)
        data, done = mutate(original, int(seed), steps=args.steps)
        if args.carried:
            data = registration(data, int(seed))
        if args.soap_text:
            data = soap_text(data if args.carried else bare_message(data), cdata=bool(int(seed) % 2))
        print("mutations:", "; ".join(done))
        found = problems(validator, data, name)
        if args.minify and not _byte_damaged(done):
            found += twin_problems(validator, data, name)
        for p in found:
            print(p)
        return 0
    corpus = seeds_corpus(args.corpus)
    if args.carried:
        corpus = [p for p in corpus
                  if etree.QName(etree.parse(str(p)).getroot()).localname == "ClinicalDocument"]
    failures = 0
    cases = 0

    def check(data: bytes, path: Path, label: str, twin: bool = False) -> None:
        nonlocal cases, failures
        cases += 1
        found = problems(validator, data, str(path))
        if twin:
            found += twin_problems(validator, data, str(path))
        if found:
            failures += 1
            print(f"FAIL {path}{label}")
            for p in found:
                print("    " + p.replace("\n", "\n    "))

    t0 = time.perf_counter()
    for path in corpus:
        original = path.read_bytes()
        if args.corpus:
            check(original, path, " (as is)")
            try:
                mutate(original, 0)
            except etree.XMLSyntaxError:
                continue  # not well-formed as it is: nothing to mutate
        if args.soap_text and not args.carried:
            original = bare_message(original)
        if args.minify:
            original = minify(original)
            check(original, path, " (minified)", twin=True)
        for seed in range(args.seed, args.seed + args.per_seed):
            data, done = mutate(original, seed, steps=args.steps)
            if args.carried:
                data = registration(data, seed)
            if args.soap_text:
                data = soap_text(data, cdata=bool(seed % 2))
            check(data, path, f":{seed}  ({'; '.join(done)})",
                  twin=args.minify and not (args.soap_text or args.carried)
                  and not _byte_damaged(done))
    dt = time.perf_counter() - t0
    print(f"{cases} mutated inputs from {len(corpus)} documents and messages, "
          f"{failures} failing, {cases / dt:.0f} inputs/s")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
