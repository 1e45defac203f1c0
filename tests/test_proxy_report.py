"""The report's traffic section (conformance/report/traffic.py + templates/report/traffic.html.j2):
built from a typed proxy results.json, rendered by the partial; nothing for other runs."""

from __future__ import annotations

from pathlib import Path

from jinja2 import Environment, FileSystemLoader

from conformance.model import RunResults, ToolStamp
from conformance.model.folder import RunFolder
from conformance.model.perf import BandDefinition
from conformance.model.traffic import Coverage, Latency, RuleCount, ServiceTraffic, Traffic
from conformance.report.traffic import context, traffic_view

TEMPLATES = Path(__file__).resolve().parents[1] / "templates" / "report"


def _results(kind: str = "proxy") -> RunResults:
    bands = [BandDefinition(id="lt1s", label="1秒以内", label_en="within 1 s", max_ms=1000),
             BandDefinition(id="1to3s", label="1-3秒", label_en="1–3 s", max_ms=3000)]
    svc = ServiceTraffic(service="PatientInfoRegister", name="个人信息注册服务",
                         name_en="Patient information register", exchanges=12,
                         acks={"AA": 11, "AE": 1}, findings={"error": 2, "warning": 1},
                         failing=2, latency=Latency(count=12, p50_ms=8.5, p95_ms=30.0,
                                                    p99_ms=41.0), bands={"lt1s": 11, "1to3s": 1})
    tr = Traffic(listen="http://127.0.0.1:8088/", upstream="http://platform/", exchanges=13,
                 soap=12, validated=10, unvalidated=2, acks={"AA": 11, "AE": 1},
                 findings={"error": 2, "warning": 1}, band_definitions=bands,
                 bands={"lt1s": 11, "1to3s": 1}, bands_source="hospital-2020",
                 services=[svc],
                 rules=[RuleCount(rule="PROXY.TARGET_MESSAGE", severity="error", count=2,
                                  exchanges=2, message="targetMessage does not echo"),
                        RuleCount(rule="V3.X", severity="info", count=9)],
                 coverage=Coverage(catalog="services/hospital.yaml", total=81, seen=1,
                                   seen_services=["PatientInfoRegister"],
                                   unseen_services=[f"S{i}" for i in range(80)]))
    return RunResults(tool=ToolStamp(name="conformance", version="0"), kind=kind,
                      **({"traffic": tr} if kind == "proxy" else {}))


def _render(view) -> str:
    env = Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=True)
    return env.get_template("traffic.html.j2").render(traffic=view)


def test_the_partial_renders_the_traffic_of_a_proxy_run() -> None:
    view = traffic_view(_results(), "en")
    assert view is not None and [r.rule for r in view.rules] == ["PROXY.TARGET_MESSAGE"]
    html = _render(view)
    assert 'id="traffic"' in html and "Interface traffic" in html
    assert "PatientInfoRegister" in html and "Patient information register" in html
    assert "within 1 s: 11" in html and "91.7 %" in html
    assert "PROXY.TARGET_MESSAGE" in html and "V3.X" not in html
    assert "1 / 81" in html and "(+40)" in html
    zh = _render(traffic_view(_results(), "zh"))
    assert "接口流量" in zh and "1秒以内: 11" in zh


def test_nothing_for_other_runs(tmp_path: Path) -> None:
    assert traffic_view(_results("run"), "zh") is None
    assert _render(None).strip() == ""
    assert context(RunFolder(tmp_path)) == {"traffic": None}
    folder = RunFolder(tmp_path / "p")
    folder.write("results", _results())
    assert context(folder.path, "en")["traffic"].traffic.exchanges == 13
