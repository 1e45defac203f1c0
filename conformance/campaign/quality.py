"""The data-quality scorecard of one institution's data-set exports, kept in its run folder as
quality.json (and added to its manifest): the six governance dimensions and the four
EMR-rating coefficients, through the public functions of ``conformance.datasets``."""

from __future__ import annotations

from pathlib import Path

from .. import __version__
from ..errors import ConformanceError
from ..i18n import t
from ..model.common import ToolStamp
from ..model.folder import RunFolder, now_utc
from ..model.quality import QualityResults


def quality_of(exports: Path, lang: str = "zh") -> QualityResults:
    from ..catalog import CatalogError
    from ..datasets.definitions import load_definitions
    from ..datasets.quality import run_quality
    from ..datasets.readers import expand_sources
    from ..datasets.runner import RunOptions, make_executor
    from ..inputs import InputError

    try:
        defs = load_definitions()
        srcs = expand_sources([str(exports)])
    except (CatalogError, InputError) as exc:
        raise ConformanceError.like(exc) from None
    tool = ToolStamp(name="conformance", version=__version__, ruleset=defs.ruleset)
    if not srcs:
        return QualityResults(tool=tool, lang=lang, created=now_utc(), inputs=[str(exports)],
                              input_problems=[t("campaign.quality.no_files", lang,
                                                               path=exports)])
    examples = int((defs.quality.get("issue_list") or {}).get("examples", 3))
    opts = RunOptions(lang=lang, max_examples=examples, quality=True)
    executor = make_executor(opts)
    try:
        card, _problems, _io = run_quality(srcs, [], opts, defs, executor,
                                           {"lang": lang, "now": opts.now})
    finally:
        executor.close()
    return QualityResults.from_card(card, tool, [str(exports)], now_utc())


def quality_into(folder: RunFolder, exports: Path, lang: str = "zh") -> Path:
    """Write quality.json into ``folder`` and add it to the manifest."""
    result = quality_of(exports, lang)
    path = folder.write("quality", result)
    folder.reseal([path], result.tool)
    return path
