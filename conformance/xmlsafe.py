"""Hardened XML parsing and exact source locations.

Untrusted XML is parsed with no network access, no DTD loading, no entity expansion and the
default (non-huge) libxml2 limits; documents carrying a DOCTYPE are refused before parsing (CDA
and HL7 V3 never use one, and it is the vehicle of entity-expansion and external-entity attacks).
"""

from __future__ import annotations

import bisect
import codecs
import re
from dataclasses import dataclass
from functools import lru_cache

from lxml import etree

MAX_BYTES_DEFAULT = 50 * 1024 * 1024
MAX_DEPTH_DEFAULT = 256
# Above this size, work that is cheap per call but proportional to the document (or to the
# siblings of an element) on every call gives way to forms that stay linear: the layers select
# by predicate (//*[@a]) instead of through the attribute axis (//@a/.., ~2x faster on usual
# documents, but libxml2 sorts the parents of N attributes in O(N^2): 8 MB, 5.5 s), and the
# Locator indexes sibling positions once instead of counting them per finding.
# benchmarks/bench_validate_scaling.py checks the time per element stays flat as documents grow.
LARGE_DOCUMENT = 128 * 1024
# A source line longer than this (a minified document, written as one line by code that builds
# XML by concatenation) is not searched per finding: the Locator scans the text once and places
# every element by its rank among the start tags.
LONG_LINE = 4096

_DECL_RE = re.compile(rb"^\s*<\?xml[^>]*?encoding\s*=\s*[\"']([A-Za-z0-9._\-]+)[\"']", re.S)
# Markup scanner used to find the exact offset of each start tag in document order.
_MARKUP_RE = re.compile(
    r"<!--.*?-->|<!\[CDATA\[.*?\]\]>|<\?.*?\?>|<![^>]*>|</|<([^\s/>!?][^\s/>]*)", re.S
)


class ParseProblem(Exception):
    """A document could not be parsed; carries a rule id and a 1-based location."""

    def __init__(self, rule: str, detail: str, line: int | None = None,
                 column: int | None = None, actual: str | None = None) -> None:
        super().__init__(detail)
        self.rule = rule
        self.detail = detail
        self.line = line
        self.column = column
        self.actual = actual


def _parser(remove_blank_text: bool = False) -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_blank_text=remove_blank_text,
        collect_ids=False,
    )


_PARSER = _parser()
# For trees that are only inspected, never serialized (the validator): whitespace between
# elements is dropped while parsing, so the tree has about half the nodes and every later pass
# (schema, XPath, iteration) walks fewer. Element text, attribute values and source lines are
# unchanged; findings locate themselves in the original bytes.
_PARSER_NO_BLANKS = _parser(remove_blank_text=True)


def declared_encoding(data: bytes) -> str | None:
    m = _DECL_RE.match(data[:512])
    return m.group(1).decode("ascii").lower() if m else None


_TEXT_DECL_RE = re.compile(r"""^\ufeff?<\?xml\b[^>]*?(\sencoding\s*=\s*(["'])([^"']*)\2)""")


def text_as_utf8(text: str) -> bytes:
    """XML that is already text (a message carried as a string in a SOAP envelope: the SOAP
    layer decoded it) as the UTF-8 bytes parse_bytes takes. An encoding its own declaration
    names (encoding="GBK") no longer describes these bytes, so that pseudo-attribute is blanked
    with spaces of the same length: the text keeps every character at its offset, which is how
    findings in it are placed back in the envelope."""
    m = _TEXT_DECL_RE.match(text)
    if m and m.group(3).strip().lower().replace("_", "-") not in ("utf-8", "utf8"):
        text = text[:m.start(1)] + " " * len(m.group(1)) + text[m.end(1):]
    return text.encode("utf-8")


def declared_in_tolerated(data: bytes, tolerated: frozenset[str] | set[str]) -> str | None:
    """The encoding a document declares, as written, when it is one of ``tolerated`` (Python
    codec names) and the whole document decodes in it without error; else None. A document so
    declared is read by libxml2 as declared, and the Locator transcodes it the same way."""
    enc = declared_encoding(data)
    if enc is None or data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return None
    try:
        name = codecs.lookup(enc).name
        if name not in tolerated:
            return None
        data.decode(name)
    except (LookupError, UnicodeDecodeError):
        return None
    m = _DECL_RE.match(data[:512])
    return m.group(1).decode("ascii") if m else enc


def _utf8_error_location(data: bytes, exc: UnicodeDecodeError) -> tuple[int, int]:
    prefix = data[: exc.start]
    line = prefix.count(b"\n") + 1
    last_nl = prefix.rfind(b"\n")
    column = len(prefix[last_nl + 1 :].decode("utf-8", errors="replace")) + 1
    return line, column


def check_declared_encoding(data: bytes) -> ParseProblem | None:
    """The cheap half of the encoding check: the XML declaration and the byte order mark.
    Whether the bytes really are UTF-8 libxml2 checks while parsing (it refuses any invalid
    sequence), so the full decode in check_encoding is only needed to locate a failure."""
    enc = declared_encoding(data)
    if enc is not None:
        try:
            name = codecs.lookup(enc).name
        except LookupError:
            name = enc
        if name not in ("utf-8",):
            return ParseProblem("PARSE.ENCODING_NOT_UTF8", f"declared encoding {enc}", 1, 1,
                                actual=enc)
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return ParseProblem("PARSE.ENCODING_NOT_UTF8", "UTF-16 byte order mark", 1, 1,
                            actual="utf-16")
    # no byte order mark: XML 1.0 appendix F tells UTF-16/UTF-32 by the zero bytes around the
    # first '<' (libxml2 reads such documents; they are still not UTF-8)
    if b"\x00" in data[:4]:
        return ParseProblem("PARSE.ENCODING_NOT_UTF8", "UTF-16/UTF-32 without a byte order mark",
                            1, 1, actual="utf-16" if data[:4].count(b"\x00") < 3 else "utf-32")
    return None


def as_utf8(data: bytes, root: etree._Element) -> bytes:
    """The document's bytes as the UTF-8 text libxml2 read, for locating findings: lines and
    columns are counted in characters, so a document in another encoding (UTF-16, GBK: reported,
    but validated all the same) is transcoded first. UTF-8 documents come back unchanged."""
    enc = root.getroottree().docinfo.encoding
    if not enc:
        return data
    try:
        name = codecs.lookup(enc).name
    except LookupError:
        return data
    if name == "utf-8":
        return data
    if name == "utf-16" and not data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        name = "utf-16-be" if data[:1] == b"\x00" else "utf-16-le"  # no mark: as libxml2 read it
    try:
        text = data.decode(name)
    except (UnicodeDecodeError, LookupError):
        return data
    return text.lstrip("\ufeff").encode("utf-8")


def check_encoding(data: bytes) -> ParseProblem | None:
    """Documents must be UTF-8 (WS/T 500 samples and the platform specification use UTF-8)."""
    problem = check_declared_encoding(data)
    if problem is not None:
        return problem
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line, column = _utf8_error_location(data, exc)
        return ParseProblem("PARSE.ENCODING_NOT_UTF8",
                            f"byte 0x{data[exc.start]:02x} is not valid UTF-8", line, column,
                            actual=f"0x{data[exc.start]:02x}")
    return None


def doctype_offset(data: bytes) -> int | None:
    """Offset of a <!DOCTYPE (or stray <!ENTITY) declaration. XML allows one only in the prolog,
    before the root element, so only the prolog is scanned: comments and processing
    instructions are skipped, and the first start tag ends the search (a DOCTYPE after it is not
    well-formed and the parser refuses it)."""
    i = data.find(b"<")
    while i != -1:
        nxt = data[i + 1:i + 2]
        if nxt == b"?":
            j = data.find(b"?>", i + 2)
            if j == -1:
                return None
            i = data.find(b"<", j + 2)
        elif nxt == b"!":
            if data.startswith(b"<!--", i):
                j = data.find(b"-->", i + 4)
                if j == -1:
                    return None
                i = data.find(b"<", j + 3)
            elif data.startswith((b"<!DOCTYPE", b"<!ENTITY"), i):
                return i
            else:
                return None
        else:
            return None
    return None


def parse_bytes(data: bytes, *, max_bytes: int = MAX_BYTES_DEFAULT,
                max_depth: int = MAX_DEPTH_DEFAULT, keep_blank_text: bool = True) -> etree._Element:
    """Parse untrusted XML. Raises ParseProblem with a rule id and location on any failure.
    keep_blank_text=False drops whitespace-only text between elements (inspection only: the
    tree then no longer serializes to the original layout)."""
    if len(data) == 0 or data.isspace():  # isspace() stops at the first byte of markup
        raise ParseProblem("PARSE.EMPTY", "empty file", 1, 1)
    if len(data) > max_bytes:
        raise ParseProblem("PARSE.TOO_LARGE", f"{len(data)} bytes > {max_bytes}", 1, 1,
                           actual=str(len(data)))
    at = doctype_offset(data)
    if at is not None:
        prefix = data[:at]
        line = prefix.count(b"\n") + 1
        column = at - (prefix.rfind(b"\n") + 1) + 1
        raise ParseProblem("PARSE.DOCTYPE_FORBIDDEN", "DOCTYPE/ENTITY declaration", line, column,
                           actual="<!DOCTYPE" if data.startswith(b"<!D", at) else "<!ENTITY")
    try:
        root = etree.fromstring(data, _PARSER if keep_blank_text else _PARSER_NO_BLANKS)
    except etree.XMLSyntaxError as exc:
        line, column = exc.position if exc.position else (None, None)
        msg = str(exc.msg or exc)
        rule = "PARSE.TOO_DEEP" if "depth" in msg.lower() else "PARSE.NOT_WELL_FORMED"
        raise ParseProblem(rule, msg, line or 1, (column or 0) + 1 if column is not None else 1,
                           actual=None) from None
    except (ValueError, MemoryError) as exc:  # lxml raises ValueError for some inputs
        raise ParseProblem("PARSE.NOT_WELL_FORMED", str(exc), 1, 1) from None
    if root is None:
        raise ParseProblem("PARSE.EMPTY", "no root element", 1, 1)
    if root.getroottree().docinfo.doctype:  # one the prolog scan cannot see (e.g. UTF-16)
        raise ParseProblem("PARSE.DOCTYPE_FORBIDDEN", "DOCTYPE declaration", 1, 1,
                           actual="<!DOCTYPE")
    depth = _max_depth(root, max_depth)
    if depth > max_depth:
        raise ParseProblem("PARSE.TOO_DEEP", f"nesting depth > {max_depth}", root.sourceline, 1)
    return root


def _max_depth(root: etree._Element, limit: int) -> int:
    # libxml2 already refuses > 256 levels without huge_tree; this guards a lower custom limit.
    if limit >= 256:
        return 0
    best = 0
    stack = [(root, 1)]
    while stack:
        el, d = stack.pop()
        if d > best:
            best = d
            if best > limit:
                return best
        stack.extend((c, d + 1) for c in el if isinstance(c.tag, str))
    return best


@dataclass(slots=True)
class Location:
    xpath: str
    line: int | None
    column: int | None


@lru_cache(maxsize=1024)
def _tag_re(local: str) -> re.Pattern[str]:
    return re.compile(r"<(?:[\w.\-]+:)?" + re.escape(local) + r"(?=[\s/>]|$)")


@lru_cache(maxsize=256)
def _attr_re(attr: str) -> re.Pattern[str]:
    return re.compile(r"\s" + re.escape(attr) + r"\s*=")


class Locator:
    """Exact XPath, line and column for elements and attributes of one parsed document.

    Built lazily, only for documents that have findings. libxml2 records the line on which an
    element's start tag ends; the start tag is searched for on that line (and the lines before
    it when the tag spans lines). When a line holds several start tags of the same name
    (minified documents), the whole text is scanned once and the k-th element is matched to
    the k-th start tag, which is exact because lxml iterates in document order.
    """

    def __init__(self, data: bytes, root: etree._Element) -> None:
        self._data = as_utf8(data, root)
        self._root = root
        self._lines: list[bytes] | None = None
        self._decoded: dict[int, str] = {}
        self._text: str | None = None
        self._starts: list[int] | None = None
        self._line_starts: list[int] | None = None
        self._index: dict[etree._Element, int] | None = None
        self._paths: ElementPaths | None = None  # for large or mixed-namespace documents
        self._fast_paths: bool | None = None

    # ------------------------------------------------------------------ line access
    def line_text(self, n: int) -> str:
        if self._lines is None:
            self._lines = self._data.split(b"\n")
        s = self._decoded.get(n)
        if s is None:
            raw = self._lines[n - 1] if 0 < n <= len(self._lines) else b""
            s = self._decoded[n] = raw.decode("utf-8", errors="replace").rstrip("\r")
        return s

    # ------------------------------------------------------------------ full scan fallback
    def _prepare(self) -> None:
        if self._text is not None:
            return
        self._text = self._data.decode("utf-8", errors="replace")
        text = self._text
        self._line_starts = [0] + [m.end() for m in re.finditer("\n", text)]
        self._starts = [m.start() for m in _MARKUP_RE.finditer(text) if m.group(1)]
        self._index = {el: i for i, el in enumerate(self._root.iter(etree.Element))}

    def _line_col(self, offset: int) -> tuple[int, int]:
        assert self._line_starts is not None
        i = bisect.bisect_right(self._line_starts, offset) - 1
        return i + 1, offset - self._line_starts[i] + 1

    # the decoded text, for callers that place things by character offset
    def text(self) -> str:
        self._prepare()
        assert self._text is not None
        return self._text

    def line_starts(self) -> list[int]:
        self._prepare()
        assert self._line_starts is not None
        return self._line_starts

    def line_col(self, offset: int) -> tuple[int, int]:
        """1-based line and column of a character offset in text()."""
        self._prepare()
        return self._line_col(offset)

    def _scan_position(self, el: etree._Element, attr: str | None) -> tuple[int, int] | None:
        self._prepare()
        assert self._index is not None and self._starts is not None and self._text is not None
        i = self._index.get(el)
        if i is None or i >= len(self._starts):
            return None
        offset = self._starts[i]
        if attr:
            end = self._text.find(">", offset)
            m = re.compile(r"\s" + re.escape(attr) + r"\s*=").search(
                self._text, offset, end if end > 0 else len(self._text))
            if m:
                offset = m.start() + 1
        return self._line_col(offset)

    # ------------------------------------------------------------------ fast path
    def _line_position(self, el: etree._Element, attr: str | None) -> tuple[int, int] | None:
        end_line = el.sourceline
        if not end_line:
            return None
        tag_re = _tag_re(local_name(el))
        for line_no in range(end_line, max(0, end_line - 50), -1):
            text = self.line_text(line_no)
            if len(text) > LONG_LINE:
                return None  # a minified document: one scan of the text answers every finding
            hits = [m.start() for m in tag_re.finditer(text)]
            if not hits:
                continue
            if len(hits) > 1 and line_no == end_line:
                return None  # ambiguous on this line: let the full scan decide
            col = hits[-1]
            if not attr:
                return line_no, col + 1
            attr_re = _attr_re(attr)
            for ln in range(line_no, end_line + 1):
                t = self.line_text(ln)
                m = attr_re.search(t, col if ln == line_no else 0)
                if m:
                    return ln, m.start() + 2
            return line_no, col + 1
        return None

    def locate(self, el: etree._Element, attr: str | None = None) -> Location:
        present = attr is not None and _attr_value(el, attr) is not None
        if self._fast_paths is None:
            # libxml2's getelementpath counts siblings on every call: fine in a usual document
            # of one namespace; a large one (thousands of entries in a section) or one mixing
            # namespaces gets the per-document step index
            self._fast_paths = len(self._data) <= LARGE_DOCUMENT and in_one_namespace(
                self._root, self._data)
            if not self._fast_paths:
                self._paths = ElementPaths()
        xpath = self._paths.xpath(el) if self._paths is not None else element_xpath(el, True)
        if present:
            xpath += f"/@{attr}"
        try:
            pos = self._line_position(el, attr if present else None)
            if pos is None:
                pos = self._scan_position(el, attr if present else None)
        except Exception:  # location is best effort; never let it break validation
            pos = None
        if pos is None:
            return Location(xpath, el.sourceline, None)
        return Location(xpath, pos[0], pos[1])

    def snippet(self, line: int | None, limit: int = 300, column: int | None = None) -> str | None:
        """The source line of a finding (what the user sees in their editor), trimmed; of a
        longer line (a minified document is one line), a window of `limit` characters that
        starts a little before the column."""
        if not line:
            return None
        raw = self.line_text(line)
        s = raw.strip()
        if len(s) <= limit:
            return s
        if column is None:
            return s[:limit] + "…"
        at = column - 1 - (len(raw) - len(raw.lstrip()))  # the column in the trimmed line
        start = max(0, min(at - limit // 5, len(s) - limit))
        return ("…" if start else "") + s[start:start + limit] + (
            "…" if start + limit < len(s) else "")


def _attr_value(el: etree._Element, attr: str) -> str | None:
    if ":" in attr:  # prefixed (xsi:type): match by local name in any namespace
        local = attr.split(":", 1)[1]
        for k, v in el.attrib.items():
            if k.rsplit("}", 1)[-1] == local:
                return v
        return None
    return el.get(attr)


def local_name(el: etree._Element) -> str:
    tag = el.tag
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


_NS_STEP_RE = re.compile(r"\{[^}]*\}")
_HL7_STEP = "{urn:hl7-org:v3}"


def element_xpath(el: etree._Element, single_namespace: bool | None = None) -> str:
    """XPath with positional indexes; steps name elements by local name (the CDA namespace is
    the default namespace of every document, so the path reads as the document does).

    Every step below the root carries [n] (1-based among the siblings of that local name), so
    the path selects exactly one element. Where an element has a sibling of the same local name
    in another namespace (a vendor extension element, a SOAP envelope around a message), its
    step names the namespace too: *[local-name()='x' and namespace-uri()='…'][n], n counted
    among the siblings of that name and namespace. ``single_namespace`` (every element of the
    document in one namespace: the usual CDA document) skips that check; the Locator works it
    out once per document."""
    tree = el.getroottree()
    root = tree.getroot()
    if el is root:
        return "/" + local_name(el)
    if single_namespace is None:
        single_namespace = in_one_namespace(root)
    if not single_namespace:
        return ElementPaths().xpath(el)
    rel = tree.getelementpath(el)  # computed by libxml2, then normalized
    if "{" in rel:
        rel = rel.replace(_HL7_STEP, "")  # the usual case: every step in the CDA namespace
        if "{" in rel:
            rel = _NS_STEP_RE.sub("", rel)
    steps = [s if s.endswith("]") else s + "[1]" for s in rel.split("/")]
    return "/" + local_name(root) + "/" + "/".join(steps)


_NS_DECL_RE = re.compile(rb"""xmlns(?::([^\s=/>]+))?\s*=\s*(?:"([^"]*)"|'([^']*)')""")


def in_one_namespace(root: etree._Element, data: bytes | None = None) -> bool:
    """Whether every element of the document is in the root's namespace.

    With the document's (UTF-8) bytes, from its namespace declarations (a few byte scans:
    ~40 µs on a 24 KiB document, against ~100 µs for a walk or an XPath over the tree): when the
    root's start tag holds every declaration, any other namespace there has a prefix, and no
    start tag uses such a prefix (national samples declare xsi and mif, and use them for
    attributes or not at all), no element can be in another namespace. Anything else (a
    declaration further down, a default namespace other than the root's, xmlns="", a prefix
    that is used) is answered by walking the tree."""
    ns = etree.QName(root).namespace
    if data is not None and ns:
        start = _root_start_tag_end(data)
        if start > 0:
            other_prefixes = []
            for m in _NS_DECL_RE.finditer(data, 0, start):
                uri = (m.group(2) if m.group(2) is not None else m.group(3)).decode(
                    "utf-8", "replace")
                if uri == ns:
                    continue
                if not m.group(1):  # a default namespace other than the root's
                    break
                other_prefixes.append(m.group(1))
            else:  # the rest holds no declaration and no start tag with such a prefix
                if data.find(b"xmlns", start) == -1 and not any(
                        data.find(b"<" + p + b":", start) != -1 for p in other_prefixes):
                    return True
    prefix = f"{{{ns}}}" if ns else ""
    for el in root.iter(etree.Element):
        if not el.tag.startswith(prefix) or (not ns and el.tag.startswith("{")):
            return False
    return True


def _root_start_tag_end(data: bytes) -> int:
    """Offset just past the root element's start tag (after the prolog's declaration, comments
    and processing instructions), or -1."""
    i = data.find(b"<")
    while i != -1:
        nxt = data[i + 1:i + 2]
        if nxt == b"?":
            j = data.find(b"?>", i + 2)
            i = data.find(b"<", j + 2) if j != -1 else -1
        elif nxt == b"!":
            j = data.find(b"-->", i + 4)
            i = data.find(b"<", j + 3) if j != -1 else -1
        else:
            # attribute values may hold '>': skip quoted runs
            k = i + 1
            while True:
                gt = data.find(b">", k)
                if gt == -1:
                    return -1
                dq, sq = data.count(b'"', i, gt), data.count(b"'", i, gt)
                if dq % 2 == 0 and sq % 2 == 0:
                    return gt + 1
                k = gt + 1
    return -1


class ElementPaths:
    """XPaths with positional indexes for the elements of one document.

    Steps name elements by local name (the CDA namespace is the default namespace of every
    document, so the path reads as the document does); every step below the root carries [n],
    1-based among the siblings of that name, so the path selects exactly one element. Where a
    sibling in another namespace shares the local name (a vendor extension element, a SOAP
    envelope around a message), the step names its namespace too:
    *[local-name()='x' and namespace-uri()='…'][n], n counted among that name and namespace.

    The steps of a parent's children are worked out together, once: a finding's path costs one
    dictionary lookup per level, whatever the number of siblings (libxml2's getelementpath
    counts them on every call: quadratic in a section of thousands of entries)."""

    def __init__(self) -> None:
        self._step: dict[etree._Element, str] = {}  # holds the proxies: identity stays valid

    def xpath(self, el: etree._Element) -> str:
        while not isinstance(el.tag, str):  # a comment or processing instruction: its element
            parent = el.getparent()
            el = parent if parent is not None else el.getroottree().getroot()
        root = el.getroottree().getroot()
        if el is root:
            return "/" + local_name(el)
        steps = []
        node = el
        while node is not root:
            step = self._step.get(node)
            parent = node.getparent()
            if step is None:
                self._index(parent)
                step = self._step[node]
            steps.append(step)
            node = parent
        return "/" + local_name(root) + "/" + "/".join(reversed(steps))

    def _index(self, parent: etree._Element) -> None:
        kids = [c for c in parent if isinstance(c.tag, str)]
        tags_of: dict[str, set[str]] = {}
        for c in kids:
            tags_of.setdefault(c.tag.rpartition("}")[2], set()).add(c.tag)
        counts: dict[str, int] = {}
        for c in kids:
            tag = c.tag
            n = counts[tag] = counts.get(tag, 0) + 1
            local = tag.rpartition("}")[2]
            if len(tags_of[local]) == 1:
                self._step[c] = f"{local}[{n}]"
            else:
                ns = tag[1:].partition("}")[0] if tag.startswith("{") else ""
                self._step[c] = f"*[local-name()='{local}' and namespace-uri()='{ns}'][{n}]"


_NODE_STEP_RE = re.compile(r"^(?:([\w.\-]+):)?([\w.\-]+|\*)(?:\[(\d+)\])?$")


class NodePaths:
    """The nodes that libxml2 names by path (xmlGetNodePath, as lxml's error log entries carry
    them: ``/*/*[10]/*/*[2]``, ``/x:y[2]``, ``…/@attr``), resolved in one document.

    libxml2 writes an element of a default namespace as ``*``, counted among all its element
    siblings; a prefixed or unqualified one by its name, counted among the siblings of that
    name; the index is left out for an only child. A parent's children are listed once, so a
    document with thousands of errors costs a lookup per level and error, not a count of the
    siblings."""

    def __init__(self, root: etree._Element) -> None:
        self._root = root
        self._kids: dict[etree._Element, list[etree._Element]] = {}

    def _children(self, parent: etree._Element) -> list[etree._Element]:
        kids = self._kids.get(parent)
        if kids is None:
            kids = self._kids[parent] = [c for c in parent if isinstance(c.tag, str)]
        return kids

    def resolve(self, path: str | None) -> tuple[etree._Element | None, str | None]:
        """The element a path names and, when the path ends at one of its attributes, that
        attribute's name as the document writes it (``xsi:type``); (None, None) when the path
        does not resolve in this tree."""
        if not path or not path.startswith("/"):
            return None, None
        steps = path[1:].split("/")
        attr = None
        if steps and steps[-1].startswith("@"):
            attr = steps.pop()[1:]
        while steps and ("(" in steps[-1]):  # text(), comment(), processing-instruction()
            steps.pop()
        if not steps:
            return None, None
        el: etree._Element | None = None
        for i, step in enumerate(steps):
            m = _NODE_STEP_RE.match(step)
            if m is None:
                return None, None
            prefix, name, n = m.groups()
            index = int(n) if n else 1
            if i == 0:
                el = self._root
                if not _step_matches(el, prefix, name) or index != 1:
                    return None, None
                continue
            assert el is not None
            kids = self._children(el)
            if name != "*" or prefix:
                kids = [c for c in kids if _step_matches(c, prefix, name)]
            if not 0 < index <= len(kids):
                return None, None
            el = kids[index - 1]
        if attr is not None and el is not None and ":" in attr:
            prefix, _, local = attr.partition(":")
            ns = el.nsmap.get(prefix)
            attr = f"{prefix}:{local}" if ns is not None else local
        return el, attr


def _step_matches(el: etree._Element, prefix: str | None, name: str) -> bool:
    tag = el.tag
    if name == "*":
        return tag.startswith("{") and not el.prefix if prefix is None else el.prefix == prefix
    if prefix is None:
        return tag == name
    return el.prefix == prefix and tag.rpartition("}")[2] == name
