"""The HTML report: structure (snapshot), self-containment, content of every section, caps,
provisional markers, secrets, escaping, languages, absent sections.

Snapshots live in tests/fixtures/runs/snapshots/; after an intended change of the report's
structure regenerate them with ``UPDATE_SNAPSHOTS=1 python -m pytest tests/test_report_html.py``
and review the diff.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path
from urllib.parse import quote, unquote

import pytest
from lxml import html as lxml_html

from conformance.report.evidence import INLINE_CAP
from conformance.report.render import render_reports

RUNS = Path(__file__).resolve().parent / "fixtures" / "runs"
SNAPSHOTS = RUNS / "snapshots"


def copy_run(name: str, tmp_path: Path) -> Path:
    dst = tmp_path / name
    shutil.copytree(RUNS / name, dst)
    return dst


@pytest.fixture(scope="module")
def current(tmp_path_factory) -> tuple[Path, str]:
    run = copy_run("current", tmp_path_factory.mktemp("html"))
    render_reports(run, ["html"], "zh")
    return run, (run / "report.html").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def doc(current):
    return lxml_html.fromstring(current[1])


# ------------------------------------------------------------------------------ snapshot
_VOLATILE = [
    (re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2})?( ?[+-]\d{2}:?\d{2}|Z)?"), "<DATE>"),
    (re.compile(r"conformance \d+\.\d+\.\d+\S*"), "conformance <VERSION>"),
]


def outline(page: str) -> str:
    """The report's structure: sections, headings, tables (header cells and row counts),
    collapsible blocks, charts and provisional markers — what a reader navigates by, without
    the volatile values (generation time, tool version)."""
    root = lxml_html.fromstring(page)
    lines: list[str] = [f"html lang={root.get('lang')}"]
    for el in root.iter("section", "h1", "h2", "h3", "h4", "table", "svg", "details", "nav"):
        if el.tag == "section":
            provs = len(el.find_class("prov"))
            folds = len(el.findall(".//details"))
            lines.append(f"section #{el.get('id')} prov={provs} details={folds}")
        elif el.tag in ("h1", "h2", "h3", "h4"):
            lines.append(f"  {el.tag} {' '.join(el.text_content().split())}")
        elif el.tag == "table" and "data" in (el.get("class") or "").split():
            heads = [" ".join(th.text_content().split()) for th in el.findall("./thead/tr/th")]
            rows = len(el.findall("./tbody/tr"))
            lines.append(f"  table.{(el.get('class') or '').replace(' ', '.')} {heads} rows={rows}")
        elif el.tag == "svg":
            title = el.find("title")
            lines.append(f"  svg {title.text if title is not None else ''}")
        elif el.tag == "nav":
            lines.append(f"nav toc {[a.text_content() for a in el.iter('a')]}")
    collapsed: list[str] = []  # consecutive identical lines (one table per document) once
    for line in lines:
        if collapsed and collapsed[-1].split(" ×")[0] == line:
            head, _, n = collapsed[-1].partition(" ×")
            collapsed[-1] = f"{head} ×{int(n or 1) + 1}"
        else:
            collapsed.append(line)
    text = "\n".join(collapsed) + "\n"
    for rx, repl in _VOLATILE:
        text = rx.sub(repl, text)
    return text


@pytest.mark.parametrize("name,lang", [("current", "zh"), ("validate-only", "en")])
def test_structure_snapshot(name: str, lang: str, tmp_path: Path) -> None:
    run = copy_run(name, tmp_path)
    render_reports(run, ["html"], lang)
    got = outline((run / "report.html").read_text(encoding="utf-8"))
    snap = SNAPSHOTS / f"{name}.{lang}.outline.txt"
    if os.environ.get("UPDATE_SNAPSHOTS") or not snap.exists():
        snap.parent.mkdir(parents=True, exist_ok=True)
        snap.write_text(got, encoding="utf-8")
        if not os.environ.get("UPDATE_SNAPSHOTS"):
            pytest.fail(f"snapshot {snap.name} was missing and has been written; run again")
    assert got == snap.read_text(encoding="utf-8"), (
        f"report structure changed; if intended, regenerate with UPDATE_SNAPSHOTS=1 ({snap})")


def test_outline_ignores_volatile_values(current) -> None:
    run, page = current
    later = page.replace("conformance 0.1.0", "conformance 9.9.9")
    later = re.sub(r"2026-11-\d\d \d\d:\d\d:\d\d", "2031-01-01 00:00:00", later)
    assert outline(later) == outline(page)


# ------------------------------------------------------------------------------ self-contained
def test_no_external_references(current, doc) -> None:
    run, page = current
    assert doc.findall(".//script") == [] and doc.findall(".//link") == []
    assert doc.findall(".//img") == [] and doc.findall(".//iframe") == []
    assert "@import" not in page and "url(http" not in page and "url(//" not in page
    for el in doc.iter():
        for attr in ("src", "href", "xlink:href", "{http://www.w3.org/1999/xlink}href", "action"):
            value = el.get(attr)
            if value is None:
                continue
            if value.startswith("#"):
                assert doc.get_element_by_id(value[1:], None) is not None, f"dangling {value}"
                continue
            assert "://" not in value and not value.startswith("//"), value
            target = (run / unquote(value)).resolve()
            assert target.is_file() and target.is_relative_to(run.resolve()), value


def test_ids_are_unique(doc) -> None:
    ids = [el.get("id") for el in doc.iter() if el.get("id")]
    assert len(ids) == len(set(ids))


# ------------------------------------------------------------------------------ summary
def test_summary_shows_target_versions_level_and_gap(doc) -> None:
    summary = doc.get_element_by_id("summary").text_content()
    for text in ("示例医院集成平台", "hospital", "2026-11-20 10:30:00", "conformance 0.1.0",
                 "wst-cda-2026.11", "国家医疗健康信息医院信息互联互通标准化成熟度测评方案 2020",
                 "hospital-services 2026.11", "四级乙等", "69.5", "98"):
        assert text in summary, text
    level = doc.get_element_by_id("achieved-level")
    assert "四级乙等" in level.text_content() and level.find_class("prov"), "level not provisional"
    assert "距 四级甲等 还差 6 项（10.2 分）" in " ".join(summary.split())
    assert "90/132 份通过" in summary and "1/2 项达标" in summary


def test_dimension_chart_marks_provisional_dimensions(doc) -> None:
    section = doc.get_element_by_id("dimensions")
    svg = section.find(".//svg")
    assert svg is not None and svg.get("role") == "img"
    labels = [t.text_content() for t in svg.iter("text")]
    for name in ("数据资源标准化建设", "互联互通标准化建设", "基础设施建设", "互联互通应用效果"):
        assert any(name in x for x in labels)
    score = json.loads((RUNS / "current" / "score.json").read_text(encoding="utf-8"))
    n_prov = sum(d["provisional"] for d in score["dimensions"])
    assert len(svg.find_class("provisional-mark")) == n_prov == 2
    assert "24.6 / 30 (82%)" in labels


def test_every_provisional_indicator_is_marked(doc) -> None:
    score = json.loads((RUNS / "current" / "score.json").read_text(encoding="utf-8"))
    rows = {tr.get("id"): tr for tr in doc.get_element_by_id("indicators").iter("tr")
            if tr.get("id")}
    assert len(rows) == len(score["indicators"])
    for ind in score["indicators"]:
        row = next(r for r in rows.values() if r.find(".//code").text == ind["code"])
        assert bool(row.find_class("prov")) == ind["provisional"], ind["code"]


def test_indicator_evidence_links_to_cases(doc) -> None:
    row = next(tr for tr in doc.get_element_by_id("indicators").iter("tr")
               if tr.find(".//code") is not None and tr.find(".//code").text == "3.2.1.1")
    text = row.text_content()
    assert "正向用例未通过" in text and "response_valid" in text
    links = [a.get("href") for a in row.iter("a")]
    assert links and all(doc.get_element_by_id(h[1:], None) is not None for h in links)


def test_gaps_per_level(doc) -> None:
    gaps = doc.get_element_by_id("gaps")
    heads = [" ".join(h.text_content().split()) for h in gaps.iter("h3")]
    assert [h.split(" ·")[0] for h in heads] == ["四级甲等", "五级乙等", "五级甲等"]
    assert "需要: 正向与反向用例均通过" in " ".join(gaps.text_content().split())


# ------------------------------------------------------------------------------ services, evidence
def test_per_service_results(doc) -> None:
    table = doc.get_element_by_id("services").find_class("services")[0]
    rows = {tr.find(".//code").text: tr for tr in table.iter("tr") if tr.find(".//code") is not None}
    assert set(rows) == {"PatientInfoRegister", "PatientInfoUpdate", "PatientInfoQuery",
                         "DocumentRegiste", "DocumentAccess", "DocumentRetrieve",
                         "OutPatientInfoAdd"}
    assert "不通过" in rows["PatientInfoUpdate"].text_content()
    assert "无法判定" in rows["DocumentRetrieve"].text_content()
    assert "个人信息注册服务" in rows["PatientInfoRegister"].text_content()


def test_exchanges_pretty_printed_and_collapsible(doc) -> None:
    case = doc.get_element_by_id(next(el.get("id") for el in doc.find_class("case")
                                      if "个人信息更新服务-F01" in el.text_content()))
    assert case.find(".//details") is not None
    pres = [p.text_content() for p in case.iter("pre")]
    assert any('\n      <acknowledgement typeCode="AA">' in p for p in pres), pres[:1]
    assert "反向用例应被拒绝" in case.text_content() and "AE|AR" in case.text_content()


def test_small_bodies_inlined_and_transport_error(doc) -> None:
    text = doc.get_element_by_id("services").text_content()
    case = next(el for el in doc.find_class("case") if "个人信息更新服务-T01" in el.text_content())
    assert "MSG002T01" in case.text_content()  # the request body, read from evidence/
    assert "read timeout after 10.0 s" in text


def test_big_body_is_linked_not_inlined(current) -> None:
    run, page = current
    big = next((run / "evidence").rglob("*pos-2.response.xml"))
    assert big.stat().st_size > INLINE_CAP
    assert "检验结果 399" in big.read_text(encoding="utf-8")
    assert "检验结果 399" not in page  # only a preview of the beginning is shown
    rel = big.relative_to(run).as_posix()
    assert f'href="{quote(rel, safe="/")}"' in page


def test_secrets_are_masked(current) -> None:
    run, page = current
    raw = "".join(p.read_text(encoding="utf-8") for p in (run / "evidence").rglob("*.xml"))
    assert "s3cret-Pa55" in raw  # the fixture carries the secret on purpose
    assert "s3cret-Pa55" not in page
    assert "aGlzOnMzY3JldA==" not in page and "Basic ***" in page


# ------------------------------------------------------------------------------ documents
def test_per_document_type_results(doc) -> None:
    table = doc.get_element_by_id("documents").find_class("doctypes")[0]
    rows = {tr.find(".//code").text: tr for tr in table.iter("tr") if tr.find(".//code") is not None}
    assert len(rows) >= 73
    cells = [td.text_content().strip() for td in rows["C0004"].findall("td")]
    assert cells[1].startswith("西药处方") and cells[2] == "42"


def test_findings_show_rule_xpath_line_and_snippet(doc) -> None:
    data = json.loads((RUNS / "current" / "validate.json").read_text(encoding="utf-8"))
    d = next(d for d in data["documents"] if d["path"].endswith("C0004-realm-us.xml"))
    f = next(f for f in d["findings"] if f["rule"] == "WST500.HEADER.REALM_CODE")
    block = next(el for el in doc.find_class("doc") if "C0004-realm-us.xml" in el.text_content())
    row = next(tr for tr in block.iter("tr") if "WST500.HEADER.REALM_CODE" in tr.text_content())
    text = row.text_content()
    assert f"{f['line']}:{f['column']}" in text and f["xpath"] in text
    assert f["snippet"] in text and f["message"] in text
    assert row.find(".//pre") is not None  # the offending line, as in the source


def test_perf_charts_and_saturation(doc) -> None:
    perf = doc.get_element_by_id("performance")
    titles = [svg.find("title").text for svg in perf.iter("svg")]
    assert titles == ["响应时间百分位（毫秒）与并发用户数", "吞吐量（TPS）与并发用户数",
                      "吞吐量随时间变化（每秒）"]
    latency = next(perf.iter("svg"))
    assert {t.text for t in latency.iter("text")} >= {"1", "50", "200", "p50", "p99"}
    # the provisional p95 threshold is drawn with its marker
    assert latency.find_class("provisional-mark")
    assert "压测机自身已成为瓶颈" in perf.text_content()
    assert "1-3秒" in perf.text_content()


# ------------------------------------------------------------------------------ variants
def test_absent_sections_are_explained_in_english(tmp_path: Path) -> None:
    run = copy_run("validate-only", tmp_path)
    render_reports(run, ["html"], "en")
    page = (run / "report.html").read_text(encoding="utf-8")
    doc = lxml_html.fromstring(page)
    assert doc.get("lang") == "en"
    assert "Interoperability maturity assessment report" in page
    assert "not scored (no score.json)" in doc.get_element_by_id("achieved-level").text_content()
    for what in ("No results.json", "No perf.json", "No score.json"):
        assert what in doc.get_element_by_id("summary").text_content()
    assert "conformance run --out RUN_DIR" in doc.get_element_by_id("services").text_content()
    assert "暂定" not in page.split("<body", 1)[1].split("id=\"findings\"")[0]


def test_hostile_content_is_escaped(tmp_path: Path) -> None:
    run = tmp_path / "run"
    run.mkdir()
    payload = '<script>alert(1)</script><img src="http://evil.example/x">'
    (run / "validate.json").write_text(json.dumps({
        "tool": {"name": "conformance", "version": "0.1.0"},
        "documents": [{"path": "a.xml", "document_type": "C0004", "document_name": payload,
                       "valid": False,
                       "findings": [{"rule": "X", "severity": "error", "layer": "parse",
                                     "message": payload, "snippet": payload, "xpath": payload,
                                     "line": 1, "column": 1, "source": payload}]}]}),
        encoding="utf-8")
    render_reports(run, ["html"], "zh")
    doc = lxml_html.fromstring((run / "report.html").read_text(encoding="utf-8"))
    assert doc.findall(".//script") == [] and doc.findall(".//img") == []
    assert payload in doc.text_content()


TOOL = {"name": "conformance", "version": "0.1.0"}


def test_odd_but_valid_shapes_render(tmp_path: Path) -> None:
    """Minimal valid artifacts (every optional part left out), evidence paths that escape the
    run folder or are missing, a JSON body, an interrupted run with a case that recorded no
    check, a threshold nothing was measured for, an undeterminable level, a dimension without a
    maximum: all render, nothing outside the run folder is read."""
    run = tmp_path / "run"
    (run / "evidence").mkdir(parents=True)
    outside = tmp_path / "secret.xml"
    outside.write_text("<top-secret/>", encoding="utf-8")
    (run / "evidence" / "c1.request.json").write_text('{"a": [1, 2]}', encoding="utf-8")
    (run / "results.json").write_text(json.dumps({
        "tool": TOOL, "complete": False,
        "cases": [{"id": "c1", "result": "fail",
                   "exchanges": [{"url": "http://h/x", "action": "A", "status": 500,
                                  "request_file": "evidence/c1.request.json",
                                  "response_file": "../secret.xml"},
                                 {"url": "http://h/x", "response_file": "evidence/gone.xml"}]},
                  {"id": "c2", "result": "interrupted",
                   "checks": [{"id": "s1/k", "result": "interrupted"}]},
                  {"id": "c3"}]}), encoding="utf-8")
    (run / "perf.json").write_text(json.dumps({
        "tool": TOOL, "steps": [{"rate": 50.0, "model": "open", "requests": 10, "tps": 9.5}],
        "thresholds": [{"id": "p95@50/s", "metric": "p95_ms", "op": "<=", "limit": 500,
                        "rate": 50.0, "actual": None, "passed": None,
                        "result": "not_measured"}]}), encoding="utf-8")
    (run / "score.json").write_text(json.dumps({
        "tool": TOOL, "assessment": {"id": "x"}, "level": None, "determinable": False,
        "why_not_determinable": "问卷缺失", "indicators": [{"code": "9.9"}],
        # an index system without stated maxima (regional) writes null
        "dimensions": [{"id": "1", "name": "维度一", "score": 0.0, "max": None}]}),
        encoding="utf-8")
    (run / "datasets.json").write_text(json.dumps({"tool": TOOL, "datasets": [
        {"id": "DS.X", "verdict": "无此数据"}]}), encoding="utf-8")
    outcome = render_reports(run, ["html", "json", "junit", "sarif"], "zh")
    page = (run / "report.html").read_text(encoding="utf-8")
    assert "top-secret" not in page and "证据文件不在运行目录内" in page
    assert "证据文件不存在" in page
    assert "无法判定等级" in page and "问卷缺失" in page
    assert 'id="incomplete"' in page and "conformance run --resume" in page
    assert '"a": [\n    1,' in lxml_html.fromstring(page).text_content()  # JSON pretty-printed
    assert "无此数据（1 个" in page
    assert {i.key for i in outcome.failures} == {"results:case:c1", "results:c2:s1/k",
                                                 "perf:p95@50/s"}
    thresholds = lxml_html.fromstring(page).find_class("thresholds")[0].text_content()
    assert "无法判定" in thresholds and "不通过" not in thresholds  # not measured ≠ failed
    assert "@ 50/s" in thresholds
    junit = (run / "report-junit.xml").read_text(encoding="utf-8")
    assert '<skipped message=""/>' in junit and "<error" in junit


def test_unusable_artifact_is_refused_with_its_json_path(tmp_path: Path) -> None:
    """A result word no producer writes is not guessed at (it was read as "error" before)."""
    from conformance.report.model import RunError

    run = tmp_path / "run"
    run.mkdir()
    (run / "results.json").write_text(json.dumps({
        "tool": TOOL, "cases": [{"id": "c2", "checks": [{"id": "k", "result": "weird"}]}]}),
        encoding="utf-8")
    with pytest.raises(RunError, match=r"\$\.cases\[0\]\.checks\[0\]\.result"):
        render_reports(run, ["html"], "zh")
    assert not (run / "report.html").exists()


# ------------------------------------------------------------------------------ data sets
def test_dataset_section(doc) -> None:
    data = json.loads((RUNS / "current" / "datasets.json").read_text(encoding="utf-8"))
    section = doc.get_element_by_id("datasets")
    text = " ".join(section.text_content().split())
    touched = [v for v in data["datasets"] if v["records"] or v["documents"]]
    rows = section.find_class("datasets")[0].findall("./tbody/tr")
    assert len(rows) == len(touched) == 6

    def block(ds_id: str):
        head = doc.get_element_by_id(f"ds-{ds_id}")
        return head, " ".join(head.getnext().text_content().split())  # h3, then its facts

    lab, facts = block("WS445.4.2")
    assert "部分符合" in lab.text_content() and not lab.find_class("prov")
    assert "39/41 个数据元有非空值" in facts and "39/41 (95%)" in facts and "387/390" in facts
    assert "标本类别" in text and "检验定量结果计量单位" in text      # the missing elements
    defects = section.find_class("ds-defects")[0].text_content()
    assert "覆盖" in defects and "允许值" in defects
    patient, facts = block("WS445.1.1")
    assert patient.find_class("prov") and "540/540" in facts      # a provisional verdict
    summary, facts = block("WS445.1.2")                           # covered by a CDA document
    assert "格式符合率未测（文档）" in facts
    assert "CDA 文档中的位置未知" in text
    assert f"其余 {len(data['datasets']) - 6} 个无此数据" in text
    assert "exports/WS445.4.2-检验记录-缺列.csv" in text


def test_dataset_indicator_links_both_ways(doc) -> None:
    """2.1.1.1 was scored from the data-set test: its evidence links to the data set, and the
    data set names (and links) the indicator."""
    ind = doc.get_element_by_id("ind-2.1.1.1")
    links = [a.get("href") for a in ind.iter("a")]
    assert "#ds-WS445.1.1" in links
    ds = doc.get_element_by_id("ds-WS445.1.1").getnext()
    assert "#ind-2.1.1.1" in [a.get("href") for a in ds.iter("a")]


def test_dataset_section_in_english(tmp_path: Path) -> None:
    run = copy_run("current", tmp_path)
    render_reports(run, ["html", "json"], "en")
    doc = lxml_html.fromstring((run / "report.html").read_text(encoding="utf-8"))
    text = doc.get_element_by_id("datasets").text_content()
    assert "partially conformant" in text and "Missing data elements" in text
    report = json.loads((run / "report.json").read_text(encoding="utf-8"))
    lab = next(x for x in report["datasets"]["by_dataset"] if x["id"] == "WS445.4.2")
    assert lab["verdict"] == "partially conformant" and lab["elements"]["covered"] == 39
    assert len(lab["elements"]["missing"]) == 2 and lab["element_coverage"]["denominator"] == 41
    assert report["datasets"]["summary"]["partial"] == 4


# ------------------------------------------------------------------------------ phrases
def test_every_ui_phrase_exists_in_both_languages() -> None:
    """The report's phrases are report.<key> in the i18n bundles: the templates' _('key'), the
    code's t("report.key") and the keys carried as data (body notes, font warnings)."""
    from conformance.i18n import LANGS, bundle
    from conformance.resources import templates_dir

    used: set[str] = set()
    for path in (templates_dir() / "report").glob("*.j2"):
        used |= set(re.findall(r"_\('([a-z_.0-9]+)'", path.read_text(encoding="utf-8")))
    src = Path(__file__).resolve().parents[1] / "conformance" / "report"
    for path in src.glob("*.py"):
        text = path.read_text(encoding="utf-8")
        used |= set(re.findall(r"\bt\([\"']report\.([a-z_.0-9]+)[\"']", text))
        used |= set(re.findall(r"\"((?:body|fonts)\.[a-z_]+)\"", text))
    dynamic = {f"{p}.{v}" for p, vs in {
        "result": ("pass", "fail", "error", "skip", "interrupted", "none"),
        "status": ("met", "unmet", "na", "unanswered", "unknown", "record", "scored"),
        "severity": ("error", "warning", "info"), "kind": ("positive", "negative", "workflow"),
        "cmp.kind": ("new", "regressed", "fixed", "gone"),
        "cmp.dir": ("up", "down", "same", "changed"),
        "area": ("validate", "results", "perf", "score"),
        "absent": ("validate", "datasets", "results", "perf", "score"),
        "ds.kind": ("coverage", "format", "datatype", "vocabulary", "parse")}.items() for v in vs}
    prefixes = {k for k in used if k.endswith(".")}  # _('result.' ~ value): listed above
    assert prefixes <= {k.rsplit(".", 1)[0] + "." for k in dynamic}, prefixes
    assert len(used) > 200
    for lang in LANGS:
        phrases = bundle(lang)
        missing = sorted(k for k in (used - prefixes) | dynamic if f"report.{k}" not in phrases)
        assert not missing, (lang, missing)
        assert all(phrases[f"report.{k}"] for k in (used - prefixes) | dynamic)


@pytest.mark.parametrize(("lang", "said"), [("zh", "等级评定规则；3 个指标；自定义原因"),
                                           ("en", "level-rating rule; 3 items; 自定义原因")])
def test_why_provisional_is_said_in_the_report_language(tmp_path: Path, lang: str,
                                                        said: str) -> None:
    run = copy_run("current", tmp_path)
    score = json.loads((run / "score.json").read_text(encoding="utf-8"))
    score["provisional_reasons"] = ["level_rule", "3 items", "自定义原因"]
    (run / "score.json").write_text(json.dumps(score, ensure_ascii=False), encoding="utf-8")
    render_reports(run, ["html"], lang)
    assert said in (run / "report.html").read_text(encoding="utf-8")


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("mode", ["html", "pdf"])
def test_every_mode_and_language_renders_with_a_baseline(lang: str, mode: str) -> None:
    from conformance.report.baseline import compare
    from conformance.report.html import build_context, render_html_string
    from conformance.report.model import open_run

    run = open_run(RUNS / "current")
    ctx = build_context(run, lang, mode, comparison=compare(open_run(RUNS / "baseline"), run),
                        font_warning="fonts.missing")
    page = render_html_string(ctx)
    assert 'id="comparison"' in page and 'id="font-warning"' in page
    assert ("暂定" if lang == "zh" else "provisional") in page


def test_chart_geometry_stays_inside_the_canvas(doc) -> None:
    """Every plotted point and bar lies inside its SVG's viewBox (a chart drawn off-canvas
    renders as an empty frame)."""
    svgs = list(doc.iter("svg"))
    assert len(svgs) == 4
    for svg in svgs:
        box = svg.get("viewBox") or svg.get("viewbox")  # the HTML parser lowercases names
        _, _, width, height = (float(x) for x in box.split())
        points = [(float(c.get("cx")), float(c.get("cy"))) for c in svg.iter("circle")]
        for line in svg.iter("polyline"):
            points += [tuple(float(v) for v in p.split(",")) for p in line.get("points").split()]
        for rect in svg.iter("rect"):
            if rect.get("x") is not None:
                x, y = float(rect.get("x")), float(rect.get("y"))
                points += [(x, y), (x + float(rect.get("width")), y + float(rect.get("height")))]
        assert points, svg.find("title").text
        assert all(0 <= x <= width and 0 <= y <= height for x, y in points), \
            (svg.find("title").text, [p for p in points if not (0 <= p[1] <= height)][:3])
    tps = next(s for s in svgs if s.find("title").text == "吞吐量（TPS）与并发用户数")
    ys = [float(c.get("cy")) for c in tps.iter("circle")]
    assert ys == sorted(ys, reverse=True)  # more users, more TPS: higher on the chart
