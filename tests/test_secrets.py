"""conformance.secrets: a known secret is found in every encoding it takes, credential shapes are
masked without knowing the value, and nothing else is touched."""

from __future__ import annotations

import base64
import html
import json
import re
import time
from urllib.parse import quote, quote_plus
from xml.sax.saxutils import escape

import msgspec
import pytest

from conformance.secrets import (
    MARK,
    Redactor,
    host_label,
    mask_header,
    mask_text,
    mask_url,
    url_secrets,
)

PW = "p&<w0rd>\"'x"


def forms(secret: str) -> list[str]:
    """Encodings a secret takes in practice (each must be redacted)."""
    xml_once = escape(secret, {'"': "&quot;", "'": "&apos;"})
    return [
        secret,
        escape(secret),                                     # saxutils (the WS-Security header)
        xml_once,
        xml_once.replace("&", "&amp;"),                      # a message carried as text, escaped
        html.escape(secret),                                  # Jinja / HTML: &#x27;
        "".join(f"&#{ord(c)};" if not c.isalnum() else c for c in secret),
        "".join(f"&#x{ord(c):X};" if not c.isalnum() else c for c in secret),
        "".join(f"&#x{ord(c):04x};" if not c.isalnum() else c for c in secret),
        "".join(f"&#0{ord(c)};" if not c.isalnum() else c for c in secret),
        quote(secret, safe=""), re.sub("%[0-9A-F]{2}", lambda m: m.group().lower(),
                                       quote(secret, safe="")), quote_plus(secret),
        quote(quote(secret, safe=""), safe=""),
        json.dumps(secret)[1:-1], json.dumps(secret, ensure_ascii=True)[1:-1],
        json.dumps(xml_once)[1:-1],
        # mixed: one character by entity, the next by reference
        secret.replace("&", "&amp;").replace("<", "&#60;").replace(">", "&#x3e;"),
    ]


@pytest.mark.parametrize("secret", [PW, "tok+en/Ab12=Cd", "中文密码 with space", "plainsecret"])
def test_every_encoding_of_a_known_secret_is_redacted(secret: str) -> None:
    r = Redactor([secret])
    for form in forms(secret):
        text = f"<a>before {form} after</a>"
        out = r.redact_text(text)
        assert out == f"<a>before {MARK} after</a>", (form, out)
        assert r.redact_bytes(text.encode()) == out.encode()


def test_base64_forms() -> None:
    r = Redactor(["s3cr3t-password"], basic=[("u1", "s3cr3t-password")])
    token = base64.b64encode(b"u1:s3cr3t-password").decode()
    assert r.redact_headers({"X-Echo": f"Basic {token}"}) == {"X-Echo": f"Basic {MARK}"}
    for prefix in (b"", b"a", b"ab"):  # every alignment inside a longer base64 text
        blob = base64.b64encode(b"some document text " + prefix + b"s3cr3t-password and more")
        out = r.redact_bytes(blob)
        assert MARK.encode() in out and blob != out
    unrelated = base64.b64encode(bytes(range(256)) * 40)
    assert r.redact_bytes(unrelated) == unrelated


def test_short_values_are_only_redacted_in_their_place() -> None:
    r = Redactor(["ab1"])
    assert r.redact_text("ab1 and ab1") == "ab1 and ab1"
    assert r.redact_headers({"X-Tenant": "ab1"}) == {"X-Tenant": MARK}   # a value on its own
    assert r.redact_obj({"name": "ab1", "n": ["ab1 x"]}) == {"name": MARK, "n": ["ab1 x"]}
    assert r.redact_url("http://u:ab1@h/?token=ab1") == f"http://u:{MARK}@h/?token={MARK}"
    assert r.redact_headers({"X-Api-Key": "ab1"}) == {"X-Api-Key": MARK}


def test_headers() -> None:
    r = Redactor(["tenant-secret-1"])
    out = r.redact_headers([("Authorization", "Basic dTE6cHc="), ("Cookie", "a=b"),
                            ("X-Hip-Token", "x"), ("X-Tenant", "tenant-secret-1"),
                            ("Content-Type", "text/xml"), ("Set-Cookie", "s=1"),
                            ("Set-Cookie", "t=2")])
    assert out == {"Authorization": f"Basic {MARK}", "Cookie": MARK, "X-Hip-Token": MARK,
                   "X-Tenant": MARK, "Content-Type": "text/xml",
                   "Set-Cookie": f"{MARK}, {MARK}"}
    assert mask_header("Authorization", "***") == "***"
    assert mask_header("Author", "Lu Xun") == "Lu Xun"


def test_urls() -> None:
    assert mask_url("http://user:pw@host:8080/p?access_token=abc&x=1&api_key=k#f") == \
        f"http://user:{MARK}@host:8080/p?access_token={MARK}&x=1&api_key={MARK}#f"
    assert mask_url("https://tok@host/") == f"https://{MARK}@host/"
    assert mask_url("http://host/svc?wsdl") == "http://host/svc?wsdl"
    assert mask_url("http://host/a?b=%2Fc&d") == "http://host/a?b=%2Fc&d"   # the rest as written
    r = Redactor(["hostsecret"])
    assert r.redact_url("http://hostsecret.example/x") == f"http://{MARK}.example/x"
    values, pairs = url_secrets("http://us%40er:p%40ss@h/?access_token=a%2Bb&n=1")
    assert {"p%40ss", "p@ss", "a%2Bb", "a+b"} <= set(values) and pairs == [("us@er", "p@ss")]
    assert host_label("http://user:pw@h.example:81/x?token=1") == "h.example:81"
    assert host_label("https://[::1]/") == "[::1]"


def test_shapes_in_free_text() -> None:
    text = ('GET http://u:pw@h/x?access_token=abc&n=1 failed; '
            '<wsse:Password Type="t">raw pw</wsse:Password> '
            '&lt;wsse:Password&gt;esc pw&lt;/wsse:Password&gt; '
            '&amp;lt;Password&amp;gt;twice&amp;lt;/Password&amp;gt; '
            '<Password><![CDATA[c<d]]></Password>')
    out = mask_text(text)
    for secret in ("pw@", "abc", "raw pw", "esc pw", "twice", "c<d"):
        assert secret not in out, (secret, out)
    assert "n=1" in out and "<wsse:Password Type=\"t\">***</wsse:Password>" in out


def test_nothing_else_is_touched() -> None:
    r = Redactor([PW, "plainsecret"])
    body = ('<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>'
            '<message>&lt;id root="1" extension="a&amp;b"/&gt; author=x&amp;code=1</message>'
            "</soap:Body></soap:Envelope>")
    assert r.redact_text(body) == body
    assert r.redact_bytes(body.encode()) == body.encode()
    assert r.redact_url("http://h/?wsdl") == "http://h/?wsdl"


def test_obj_and_record() -> None:
    class Rec(msgspec.Struct, kw_only=True):
        url: str
        notes: list[str] = []
        headers: dict[str, str] = {}

    r = Redactor(["plainsecret"])
    clean = Rec(url="http://h/")
    assert r.redact_record(clean) is clean
    dirty = Rec(url="http://h/?t=plainsecret", notes=["x plainsecret"], headers={"a": "b"})
    assert r.redact_record(dirty) == Rec(url=f"http://h/?t={MARK}", notes=[f"x {MARK}"],
                                         headers={"a": "b"})
    assert r.redact_obj({"auth": {"password": "x", "type": "basic"}, "n": ["plainsecret", 1]}) \
        == {"auth": {"password": MARK, "type": "basic"}, "n": [MARK, 1]}


def test_learn() -> None:
    r = Redactor()
    assert not r and r.redact_text("learned-value") == "learned-value"
    r.learn(b"learned-value")
    assert r.redact_text("a learned-value") == f"a {MARK}"


def test_redaction_is_cheap_on_large_bodies() -> None:
    r = Redactor([PW, "tok+en/Ab12=Cd", "hdrTok-93ZkQ7vB", "urlPw-Qq11Rr22"],
                 basic=[("u", "urlPw-Qq11Rr22")])
    chunk = ('&lt;entry&gt;&lt;code code=&quot;1&quot; codeSystem=&quot;2.16.156&quot;/&gt;'
             '&lt;value xsi:type=&quot;ST&quot;&gt;文本 &amp;amp; more&lt;/value&gt;&lt;/entry&gt;\n')
    body = ("<x>" + chunk * (2_000_000 // len(chunk)) + "</x>").encode()
    t0 = time.perf_counter()
    assert r.redact_bytes(body) == body
    assert time.perf_counter() - t0 < 2.0
