"""The PDF report: A4, Chinese text with a real CJK font, headings and level in the text, a
table of contents, page numbers, a rendered page that is not blank, the caps stated, and the
warning when no CJK font is found. Rendering takes a few seconds, so it happens once."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from conformance.report import pdf as pdf_mod
from conformance.report.html import build_context, render_html_string
from conformance.report.model import open_run
from conformance.report.render import render_reports

pytestmark = pytest.mark.slow  # real servers, whole suites or PDFs: the full run, not the unit loop

RUNS = Path(__file__).resolve().parent / "fixtures" / "runs"

pypdf = pytest.importorskip("pypdf", reason="pypdf is in the test extra: pip install -e '.[test]'")


def _weasyprint_or_skip() -> None:
    try:
        pdf_mod.check_available()
    except pdf_mod.PdfUnavailable as exc:
        pytest.skip(f"WeasyPrint/Pango not available ({exc}); run scripts/bootstrap.sh")


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> tuple[Path, object, str]:
    _weasyprint_or_skip()
    run = tmp_path_factory.mktemp("pdf") / "current"
    shutil.copytree(RUNS / "current", run)
    outcome = render_reports(run, ["pdf"], "zh")
    path = run / "report.pdf"
    reader = pypdf.PdfReader(str(path))
    text = "\n".join(page.extract_text() or "" for page in reader.pages)
    assert outcome.pdf_pages == len(reader.pages)
    return path, reader, text


def test_a4_pages(rendered) -> None:
    _, reader, _ = rendered
    box = reader.pages[0].mediabox
    assert (round(float(box.width) / 72 * 25.4), round(float(box.height) / 72 * 25.4)) == (210, 297)
    assert len(reader.pages) > 5


def test_chinese_headings_level_and_markers_in_text(rendered) -> None:
    _, _, text = rendered
    flat = "".join(text.split())
    for heading in ("互联互通标准化成熟度测评报告", "目录", "概要", "四个维度得分", "评价指标明细",
                    "升级差距分析", "交互服务测试结果", "共享文档校验结果", "问题明细",
                    "数据集标准化测试结果", "平台运行性能"):
        assert heading in flat, heading
    assert "四级乙等" in flat and "暂定" in flat
    assert "距四级甲等还差6项" in flat


def test_page_numbers_headers_and_toc(rendered) -> None:
    _, reader, text = rendered
    n = len(reader.pages)
    third = "".join((reader.pages[2].extract_text() or "").split())
    assert f"3/{n}" in third                         # footer "page / pages"
    assert "测评报告·示例医院集成平台" in third         # running header
    first = reader.pages[0].extract_text() or ""
    assert "....." in first and "概要" in first      # TOC with leaders and page numbers


def test_pdf_states_its_caps(rendered) -> None:
    _, _, text = rendered
    flat = "".join(text.split())
    assert "PDF每条规则最多列出5个实例" in flat and "本PDF为节选" in flat


def test_cjk_font_is_embedded(rendered) -> None:
    if not pdf_mod.cjk_fonts():
        pytest.skip("no CJK font installed (fc-list :lang=zh is empty); run scripts/bootstrap.sh")
    _, reader, _ = rendered
    fonts = set()
    for page in reader.pages[:3]:
        res = page["/Resources"].get_object()
        for f in (res.get("/Font") or {}).values():
            fonts.add(str(f.get_object().get("/BaseFont")))
    assert any("CJK" in f or "SourceHan" in f or "WenQuanYi" in f for f in fonts), fonts


def test_rendered_page_is_not_blank(rendered, tmp_path: Path) -> None:
    exe = shutil.which("pdftoppm")
    if exe is None:
        pytest.skip("pdftoppm not installed (poppler-utils; scripts/bootstrap.sh installs it)")
    Image = pytest.importorskip("PIL.Image", reason="Pillow (installed with WeasyPrint)")
    path, _, _ = rendered
    subprocess.run([exe, "-r", "40", "-png", "-f", "2", "-l", "2", str(path),
                    str(tmp_path / "page")], check=True, capture_output=True)
    png = next(tmp_path.glob("page*.png"))
    img = Image.open(png).convert("L")
    dark = sum(img.histogram()[:200])  # pixels darker than light grey
    assert dark > img.width * img.height * 0.01, "page 2 rendered (almost) blank"


def test_missing_cjk_font_is_reported(monkeypatch) -> None:
    pdf_mod.cjk_fonts.cache_clear()
    monkeypatch.setattr(pdf_mod, "cjk_fonts", lambda: ())
    assert pdf_mod.font_warning() == "fonts.missing"
    run = open_run(RUNS / "validate-only")
    page = render_html_string(build_context(run, "zh", "pdf", font_warning=pdf_mod.font_warning()))
    assert 'id="font-warning"' in page and "未找到中文字体" in page
    monkeypatch.setattr(pdf_mod, "cjk_fonts", lambda: None)
    assert pdf_mod.font_warning() == "fonts.unchecked"
    monkeypatch.setattr(pdf_mod, "cjk_fonts", lambda: ("Noto Sans CJK SC",))
    assert pdf_mod.font_warning() is None


def test_missing_font_warning_reaches_the_console(tmp_path: Path, monkeypatch) -> None:
    _weasyprint_or_skip()
    from click.testing import CliRunner

    from conformance.cli import main

    monkeypatch.setattr(pdf_mod, "cjk_fonts", lambda: ())
    run = tmp_path / "run"
    run.mkdir()
    (run / "perf.json").write_text('{"tool": {"name": "conformance", "version": "0.1.0"}, '
                                   '"bands": [{"item": "3.3.1.1", "service": "个人信息注册", '
                                   '"median_ms": 40, "band": "1秒以内"}]}', encoding="utf-8")
    r = CliRunner().invoke(main, ["report", str(run), "--format", "pdf", "--lang", "en"])
    assert r.exit_code == 0, r.output
    assert "No Chinese (CJK) font found" in r.output
    text = "".join(p.extract_text() or "" for p in pypdf.PdfReader(str(run / "report.pdf")).pages)
    assert "No Chinese (CJK) font found" in " ".join(text.split())


def test_pdf_unavailable_is_a_clear_error(tmp_path: Path, monkeypatch) -> None:
    from click.testing import CliRunner

    from conformance.cli import main

    def broken() -> None:
        raise pdf_mod.PdfUnavailable("cannot load library 'libpango-1.0-0'")

    monkeypatch.setattr(pdf_mod, "check_available", broken)
    run = tmp_path / "run"
    shutil.copytree(RUNS / "validate-only", run)
    r = CliRunner().invoke(main, ["report", str(run), "--format", "html,pdf"])
    assert r.exit_code == 2
    assert "无法生成 PDF" in r.output and "scripts/bootstrap.sh" in r.output
    assert not (run / "report.html").exists()  # nothing half-done
