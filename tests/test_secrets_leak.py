"""Issue 17 items 1–3: no secret of the target configuration reaches a file, a log or the
terminal, in any encoding it takes on the wire.

One run against a real HTTP platform with every kind of secret a target may hold — a
WS-Security password with the XML-special characters, a ``${ENV}`` value in a header whose name
says nothing, a ``${ENV}`` access token in the endpoint's query, credentials in the endpoint URL —
then the report of that run; every byte the tool wrote (run folder, reports, console, the
platform's access log) is searched for each secret, raw and in every encoding (``leaks`` is an
oracle of its own: it decodes what it reads rather than re-using the redaction module)."""

from __future__ import annotations

import base64
import html
import json
import logging
import re
from pathlib import Path
from urllib.parse import quote, quote_plus, unquote, unquote_plus

import pytest
from click.testing import CliRunner

from conformance.cli import main
from conformance.platform.server import EmbeddedPlatform

WSSE_PW = "p&<w0rd>\"'x"         # every XML-special character
HDR_TOKEN = "hdrTok-93ZkQ7vB"     # in X-Hip-Token: not on any list of secret header names
URL_TOKEN = "tok+en/Ab12=Cd"      # the endpoint's ?access_token=
URL_PW = "urlPw-Qq11Rr22"         # http://urluser:URL_PW@host/


def encodings(secret: str) -> set[str]:
    """The forms a secret takes when written somewhere (raw, XML/HTML-escaped, URL-encoded,
    JSON-escaped, base64 — alone and as the Basic credentials it is part of)."""
    forms = {secret, html.escape(secret, quote=True), html.escape(secret, quote=False),
             quote(secret, safe=""), quote_plus(secret), json.dumps(secret)[1:-1],
             json.dumps(secret, ensure_ascii=True)[1:-1],
             secret.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;"),
             "".join(f"&#{ord(c)};" if not c.isalnum() else c for c in secret),
             "".join(f"&#x{ord(c):x};" if not c.isalnum() else c for c in secret)}
    for user in ("u1", "urluser", ""):
        forms.add(base64.b64encode(f"{user}:{secret}".encode()).decode())
    if len(secret) >= 6:
        forms.add(base64.b64encode(secret.encode()).decode().rstrip("="))
    return forms


def leaks(text: str, secret: str) -> list[str]:
    """Where ``secret`` shows in ``text``: each encoding found, also after undoing XML/HTML
    escapes (once and twice) and URL encoding."""
    views = {"as written": text, "html-unescaped": html.unescape(text),
             "html-unescaped twice": html.unescape(html.unescape(text)),
             "url-decoded": unquote(text), "url-decoded (+)": unquote_plus(text)}
    found = []
    for view, body in views.items():
        for form in encodings(secret):
            i = body.find(form)
            if i >= 0:
                found.append(f"{view}: {body[max(0, i - 60): i + len(form) + 20]!r}")
                break
    return found


SECRETS = {"wsse password": WSSE_PW, "X-Hip-Token": HDR_TOKEN, "access_token": URL_TOKEN,
           "URL password": URL_PW}


def scan(where: dict[str, str]) -> list[str]:
    return [f"{name} in {place}: {hit}" for place, text in where.items()
            for name, secret in SECRETS.items() for hit in leaks(text, secret)]


def folder_texts(folder: Path) -> dict[str, str]:
    out = {}
    for p in sorted(folder.rglob("*")):
        if p.is_file() and p.suffix not in (".sqlite", ".pdf") and "-wal" not in p.name:
            out[str(p.relative_to(folder))] = p.read_bytes().decode("utf-8", "replace")
    return out


@pytest.fixture()
def secret_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("T17_WSSE_PW", WSSE_PW)
    monkeypatch.setenv("T17_HDR", HDR_TOKEN)
    monkeypatch.setenv("T17_TOKEN", URL_TOKEN)
    monkeypatch.setenv("T17_URL_PW", URL_PW)


def write_config(path: Path, url: str) -> Path:
    host = url.split("//", 1)[1].rstrip("/")
    path.write_text(
        "name: demo\n"
        f"endpoint: 'http://urluser:${{ENV:T17_URL_PW}}@{host}/?access_token=${{ENV:T17_TOKEN}}'\n"
        "auth: {type: wsse, username: u1, password: '${ENV:T17_WSSE_PW}'}\n"
        "headers: {X-Hip-Token: '${ENV:T17_HDR}', X-Tenant: demo}\n"
        "timeouts: {connect: 5, read: 10}\n", encoding="utf-8")
    return path


@pytest.mark.slow
def test_no_secret_reaches_any_file_log_or_console(tmp_path: Path, secret_env: None,
                                                   caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="conformance.platform.access")
    out = tmp_path / "run"
    with EmbeddedPlatform(profile="hospital") as url:
        cfg = write_config(tmp_path / "target.yaml", url)
        r = CliRunner().invoke(main, ["run", "--config", str(cfg), "--services",
                                      "PatientInfoRegister", "--out", str(out), "--no-progress"],
                               catch_exceptions=False)
    assert r.exit_code in (0, 1), r.output
    run_output = r.output
    # the platform got the secrets (the run is real) …
    sent = (out / "evidence").rglob("*.request.xml")
    assert any(sent), "no exchange recorded"
    results = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert results["cases"] and results["cases"][0]["exchanges"][0]["status"] == 200
    r = CliRunner().invoke(main, ["report", str(out), "--format", "html,json",
                                  "--fail-on", "never"], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    where = folder_texts(out)
    where["console (run)"] = run_output
    where["console (report)"] = r.output
    where["platform access log"] = "\n".join(rec.getMessage() for rec in caplog.records)
    assert {"results.json", "run.json", "report.html", "report.json"} <= set(where)
    problems = scan(where)
    assert not problems, "\n".join(problems[:40])
    # … and what was recorded still says where the requests went, with the secrets masked
    ex = results["cases"][0]["exchanges"][0]
    assert ex["url"].startswith("http://urluser:***@127.0.0.1:") and "access_token=***" in ex["url"]
    assert results["target"]["headers"] == {"X-Hip-Token": "***", "X-Tenant": "demo"}
    assert ex["request_headers"]["X-Hip-Token"] == "***"


def test_the_escaped_wsse_password_is_redacted_from_the_evidence(tmp_path: Path,
                                                                  secret_env: None) -> None:
    """Item 1 on its own: the request evidence carried the password XML-escaped
    (``p&amp;&lt;w0rd&gt;…``): redaction matched the raw value only."""
    from conformance.harness.target import load_target
    from conformance.harness.transport import Transport

    cfg = tmp_path / "t.yaml"
    cfg.write_text("endpoint: http://127.0.0.1:9/\n"
                   "auth: {type: wsse, username: u1, password: '${ENV:T17_WSSE_PW}'}\n",
                   encoding="utf-8")
    target = load_target(cfg)
    target.connect_timeout = 0.5
    ex, _ = Transport(target).send("PatientInfoRegister", b"<m xmlns='urn:hl7-org:v3'/>")
    body = ex.request_body.decode()
    assert not leaks(body, WSSE_PW), body
    assert re.search(r"<wsse:Password[^>]*>\*\*\*</wsse:Password>", body), body


def test_env_values_in_any_header_are_secrets(tmp_path: Path, secret_env: None) -> None:
    """Item 2 on its own: target.headers of results.json / perf.json (Target.public())."""
    from conformance.harness.target import load_target

    cfg = tmp_path / "t.yaml"
    cfg.write_text("endpoint: http://127.0.0.1:9/\n"
                   "headers: {X-Hip-Token: '${ENV:T17_HDR}', X-Other: 'pre-${ENV:T17_HDR}',"
                   " X-Tenant: demo}\n", encoding="utf-8")
    public = load_target(cfg).public()
    assert public["headers"] == {"X-Hip-Token": "***", "X-Other": "pre-***", "X-Tenant": "demo"}
    assert not leaks(json.dumps(public), HDR_TOKEN)


def test_credentials_in_the_url_are_secrets(tmp_path: Path, secret_env: None) -> None:
    """Item 3 on its own: Target.public() (results.json, perf.json) and the target's name
    (console header, run folder name) from a --target URL."""
    from conformance.harness.target import make_target

    t = make_target(f"http://urluser:{URL_PW}@127.0.0.1:9/svc?access_token={quote(URL_TOKEN)}")
    assert t.name == "127.0.0.1:9"
    public = json.dumps(t.public())
    assert not leaks(public, URL_PW) and not leaks(public, URL_TOKEN), public
    assert "http://urluser:***@127.0.0.1:9/svc?access_token=***" in public


MIX = """mix: quick
profile: hospital
think_time: 0
pool: 2
transactions:
  - {id: register, weight: 1, scenario: EMR-PL-01-个人信息注册服务-T01}
"""


@pytest.mark.slow
def test_no_secret_reaches_perf_json_or_the_console(tmp_path: Path, secret_env: None) -> None:
    mix = tmp_path / "mix.yaml"
    mix.write_text(MIX, encoding="utf-8")
    out = tmp_path / "perf"
    with EmbeddedPlatform(profile="hospital") as url:
        cfg = write_config(tmp_path / "target.yaml", url)
        r = CliRunner().invoke(main, ["perf", "--config", str(cfg), "--yes", "--users", "1",
                                      "--duration", "1s", "--mix", str(mix), "--out", str(out)],
                               catch_exceptions=False)
    assert r.exit_code in (0, 1), r.output
    perf_json = json.loads((out / "perf.json").read_text(encoding="utf-8"))
    assert perf_json["steps"][0]["requests"] > 0
    assert perf_json["target"]["headers"] == {"X-Hip-Token": "***", "X-Tenant": "demo"}
    where = folder_texts(out)
    where["console (perf)"] = r.output
    problems = scan(where)
    assert not problems, "\n".join(problems[:40])


@pytest.mark.slow
def test_a_run_given_credentials_in_its_url_resumes_only_when_given_them_again(
        tmp_path: Path) -> None:
    out = tmp_path / "run"
    with EmbeddedPlatform(profile="hospital") as url:
        host = url.split("//", 1)[1].rstrip("/")
        target = f"http://urluser:{URL_PW}@{host}/?access_token={quote(URL_TOKEN, safe='')}"
        r = CliRunner().invoke(main, ["run", "--target", target, "--services",
                                      "PatientInfoRegister", "--out", str(out), "--no-progress",
                                      "--lang", "en"], catch_exceptions=False)
        assert r.exit_code in (0, 1), r.output
        where = folder_texts(out)
        where["console"] = r.output
        assert not scan(where), "\n".join(scan(where)[:20])
        state = json.loads((out / "run.json").read_text(encoding="utf-8"))
        assert state["options"]["target_url"] == f"http://urluser:***@{host}/?access_token=***"
        r = CliRunner().invoke(main, ["run", "--resume", str(out), "--no-progress", "--lang",
                                      "en"], catch_exceptions=False)
        assert r.exit_code == 2 and "give it again with --target" in r.output, r.output
        r = CliRunner().invoke(main, ["run", "--resume", str(out), "--target", target,
                                      "--no-progress", "--lang", "en"], catch_exceptions=False)
        assert r.exit_code in (0, 1), r.output


def test_the_locust_plan_file_holds_the_url_without_its_credentials(tmp_path: Path) -> None:
    from conformance.perf.distributed import PLAN_URL_ENV, plan_env, write_plan

    url = f"http://urluser:{URL_PW}@127.0.0.1:9/?access_token={quote(URL_TOKEN, safe='')}"
    path = write_plan(tmp_path / "locust-plan.json", {"url": url, "profile": "hospital"})
    text = path.read_text(encoding="utf-8")
    assert not leaks(text, URL_PW) and not leaks(text, URL_TOKEN), text
    assert json.loads(text)["url"] == "http://urluser:***@127.0.0.1:9/?access_token=***"
    assert plan_env({"url": url})[PLAN_URL_ENV] == url      # the processes started here get it


def test_the_proxy_redacts_a_learned_password_in_every_encoding() -> None:
    """The proxy learns passwords from the traffic and redacts them through the one module:
    also percent-encoded (a URL), by character reference and JSON-escaped (was: raw and
    entity-escaped only)."""
    from conformance.proxy.redact import Redactor as ProxyRedactor

    r = ProxyRedactor()
    r.body(f"<wsse:Password>{html.escape(WSSE_PW)}</wsse:Password>".encode())
    url = r.url(f"http://h/svc?x={quote(WSSE_PW, safe='')}&n=1")
    assert not leaks(url, WSSE_PW) and url.endswith("&n=1"), url
    for form in ("".join(f"&#{ord(c)};" if not c.isalnum() else c for c in WSSE_PW),
                 json.dumps(WSSE_PW)[1:-1]):
        out = r.body(f"<t>{form}</t>".encode()).decode()
        assert not leaks(out, WSSE_PW), out
