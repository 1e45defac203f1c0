"""Data-quality scorecard: per institution and per data set, the four data-quality coefficients
of the EMR application-level rating and the six data-governance dimensions, each with its
definition; and a problem list (问题清单) per institution."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import IO, Any

from ..i18n import local, t
from .definitions import DataSet, Definitions
from .engine import DELAY_EDGES, GroupAgg, Partial
from .results import FindingMaker


def _ratio(num: float, den: float) -> float | None:
    return None if not den else round(num / den, 4)


@dataclass
class Cell:
    """One institution × data set: the merged aggregates and findings."""

    institution: str
    dataset: DataSet
    agg: GroupAgg
    present: set[int] = field(default_factory=set)
    findings: dict[tuple[str, str], list[Any]] = field(default_factory=dict)
    inputs: set[str] = field(default_factory=set)
    link_possible: bool = False
    upload_known: bool = False


class Scorecard:
    def __init__(self, defs: Definitions, lang: str, examples: int) -> None:
        self.defs, self.lang, self.examples = defs, lang, examples
        self.cells: dict[tuple[str, str], Cell] = {}
        self.fm = FindingMaker(defs, lang)
        self.registry_size = 0
        self.inputs: list[dict[str, Any]] = []

    def add(self, display: str, ds: DataSet, partial: Partial, present: set[int],
            link_possible: bool, upload_known: bool) -> None:
        for g, agg in partial.groups.items():
            key = (g, ds.id)
            cell = self.cells.get(key)
            if cell is None:
                cell = self.cells[key] = Cell(g, ds, GroupAgg.sized(len(ds.elements)))
            cell.agg.merge(agg)
            cell.present |= present
            cell.inputs.add(display)
            cell.link_possible |= link_possible
            cell.upload_known |= upload_known
        for (g, rule, eid), (count, examples) in partial.findings.items():
            key = (g, ds.id)
            cell = self.cells.get(key)
            if cell is None:
                cell = self.cells[key] = Cell(g, ds, GroupAgg.sized(len(ds.elements)))
            f = cell.findings.get((rule, eid))
            if f is None:
                f = cell.findings[(rule, eid)] = [0, []]
            f[0] += count
            room = self.examples - len(f[1])
            if room > 0:
                f[1].extend((display,) + tuple(ex) for ex in examples[:room])

    # ---------------------------------------------------------------- figures
    def figures(self, cell: Cell) -> dict[str, Any]:
        a, ds, q = cell.agg, cell.dataset, self.defs.quality
        n = a.records
        app_des = list(q.get("application_elements") or [])
        app = [e for e in ds.elements if e.de in app_des]
        # one figure per data element code: the first element carrying it
        seen_de: set[str] = set()
        app = [e for e in app if not (e.de in seen_de or seen_de.add(e.de))]  # type: ignore
        nonempty_total = sum(a.nonempty)
        passed_total = sum(a.passed)
        usefulness = None
        if app and n:
            usefulness = round(sum(min(1.0, a.nonempty[e.index] / n) for e in app) / len(app), 4)
        coeff = {
            "consistency": (a.consistent, n),
            "completeness": (a.complete, n),
            "integration": (a.link_matched, a.link_records) if cell.link_possible else (0, 0),
            "timeliness": (a.time_ok, a.time_items),
        }
        gov = {
            "conformity": (passed_total, nonempty_total),
            "completeness": (a.required_filled, a.required_cells),
            "accuracy": (a.plaus_ok, a.plaus_total),
            "timeliness": (a.timely_ok, a.timely_n),
            "linkage": (a.link_agree, a.link_records) if cell.link_possible else (0, 0),
            "usefulness": None,
        }
        out_c = {}
        for spec in q.get("emr_coefficients") or []:
            num, den = coeff[spec["id"]]
            out_c[spec["name"]] = self._figure(spec, num, den, cell)
        out_g = {}
        for spec in q.get("governance_dimensions") or []:
            if spec["id"] == "usefulness":
                fig = self._figure(spec, 0, 0, cell)
                fig["value"] = usefulness
                fig["numerator"] = None
                fig["denominator"] = len(app)
                fig["elements"] = [{"id": e.id, "name": e.name,
                                    "fill": _ratio(a.nonempty[e.index], n)} for e in app]
                if usefulness is None:
                    fig["why_null"] = self._why("no_app" if not app else "no_records")
            else:
                num, den = gov[spec["id"]]
                fig = self._figure(spec, num, den, cell)
                n_delay = sum(a.delay_buckets)
                if spec["id"] == "timeliness" and (n_delay or a.upload_before_event):
                    fig["delay_hours"] = {"mean": round(a.delay_sum / n_delay, 2) if n_delay
                                          else None,
                                          "median_le": _quantile(a.delay_buckets, 0.5),
                                          "p90_le": _quantile(a.delay_buckets, 0.9),
                                          "upload_before_event": a.upload_before_event}
            out_g[spec["name"]] = fig
        return {"records": n, "emr_coefficients": out_c, "governance_dimensions": out_g}

    def _figure(self, spec: dict[str, Any], num: int, den: int, cell: Cell) -> dict[str, Any]:
        lang = self.lang
        fig: dict[str, Any] = {
            "id": spec["id"], "name": spec["name"], "value": _ratio(num, den),
            "numerator": num, "denominator": den,
            "formula": spec["formula"].get(lang) or spec["formula"]["zh"],
            "definition": spec["definition"].get(lang) or spec["definition"]["zh"],
            "provisional": spec.get("status") == "provisional",
            "source": self.defs.source_text(spec.get("source") or []),
        }
        if not den:
            fig["value"] = None
            fig["why_null"] = self._why(self._null_reason(spec["id"], cell))
        return fig

    def _null_reason(self, fid: str, cell: Cell) -> str:
        if not cell.agg.records:
            return "no_records"
        if fid in ("integration", "linkage"):
            return "no_registry" if not cell.link_possible else "no_link_items"
        if fid == "timeliness" and not cell.upload_known:
            return "no_upload"
        return "not_applicable"

    def _why(self, key: str) -> str:
        reg = " / ".join(str(x) for x in self.defs.quality.get("registry_datasets") or [])
        return t(f"datasets.quality.why.{key}", self.lang, reg=reg)

    # ---------------------------------------------------------------- problem list
    def issues(self, institution: str) -> list[dict[str, Any]]:
        top = int((self.defs.quality.get("issue_list") or {}).get("top", 10))
        items = []
        for (g, ds_id), cell in self.cells.items():
            if g != institution:
                continue
            by_id = {e.id: e for e in cell.dataset.elements}
            for (rule, eid), (count, examples) in cell.findings.items():
                if rule in ("DS.COLUMN_UNMAPPED", "DS.TRUNCATED"):
                    continue
                el = by_id.get(eid)
                exs = []
                for ex in examples[: self.examples]:
                    display, line, colno, label, actual, expected, detail, status = ex
                    f = self.fm.make(rule, status, name=el.label if el else "", column=label,
                                     expected=expected, actual=actual, detail=detail or "",
                                     line=line, col=colno)
                    exs.append({"file": display, "row": line, "column": colno,
                                "column_name": label, "value": actual, "message": f.message})
                rule_obj = self.defs.rules[rule]
                items.append({"rule": rule, "dataset": ds_id, "dataset_name": cell.dataset.name,
                              "element": eid or None, "element_name": el.name if el else None,
                              "layer": rule_obj.layer,
                              "severity": rule_obj.severity_for(examples[0][-1] if examples
                                                                else "seen"),
                              "count": count, "examples": exs})
        items.sort(key=lambda x: (-x["count"], x["rule"], x["dataset"], x["element"] or ""))
        return items[:top]

    # ---------------------------------------------------------------- output
    def to_dict(self, meta: dict[str, Any]) -> dict[str, Any]:
        lang = self.lang
        q = self.defs.quality
        insts = sorted({g for g, _ in self.cells})
        out_insts = []
        for g in insts:
            cells = [c for (gg, _), c in sorted(self.cells.items(), key=lambda kv: kv[0][1])
                     if gg == g]
            datasets = []
            for c in sorted(cells, key=lambda c: self.defs.ordered().index(c.dataset)):
                fig = self.figures(c)
                datasets.append({"dataset": c.dataset.id, "name": c.dataset.name,
                                 "profile": c.dataset.profile,
                                 "provisional_definition": c.dataset.provisional,
                                 "inputs": sorted(c.inputs), **fig})
            overall = self.figures(_combine(cells)) if cells else None
            if overall is not None:
                useful = [d["governance_dimensions"][n]["value"] for d in datasets
                          for n in d["governance_dimensions"]
                          if d["governance_dimensions"][n]["id"] == "usefulness"
                          and d["governance_dimensions"][n]["value"] is not None]
                for fig in overall["governance_dimensions"].values():
                    if fig["id"] == "usefulness":
                        fig["value"] = round(sum(useful) / len(useful), 4) if useful else None
                        fig.pop("elements", None)
                        fig["numerator"] = None
                        fig["denominator"] = len(useful)
                        if useful:
                            fig.pop("why_null", None)
            out_insts.append({"institution": g or t("datasets.quality.no_group", lang),
                              "institution_value": g,
                              "records": sum(c.agg.records for c in cells),
                              "overall": overall, "datasets": datasets,
                              "issues": self.issues(g)})
        defs_out = {"emr_coefficients": [self._def(s) for s in q.get("emr_coefficients") or []],
                    "governance_dimensions": [self._def(s)
                                              for s in q.get("governance_dimensions") or []]}
        return {**meta, "kind": "quality", "definitions": defs_out,
                "registry": {"patients": self.registry_size},
                "institutions": out_insts}

    def _def(self, s: dict[str, Any]) -> dict[str, Any]:
        lang = self.lang
        return {"id": s["id"], "name": s["name"],
                "formula": s["formula"].get(lang) or s["formula"]["zh"],
                "definition": s["definition"].get(lang) or s["definition"]["zh"],
                "provisional": s.get("status") == "provisional",
                "source": self.defs.source_text(s.get("source") or [])}


def run_quality(srcs: list[Any], reg_srcs: list[Any], opts: Any, defs: Definitions,
                executor: Any, meta: dict[str, Any]) -> tuple[dict[str, Any], list[str], int]:
    """The scorecard of the inputs: (card, input problems, number of unreadable inputs).
    Pass 1 builds the patient registry (registration data sets among the inputs and
    `reg_srcs`), pass 2 checks every table with it."""
    from dataclasses import replace

    from .runner import build_registry, merge, prepare_all, run_pipeline

    examples = int((defs.quality.get("issue_list") or {}).get("examples", 3))
    card = Scorecard(defs, opts.lang, examples)
    reg_names = set(defs.quality.get("registry_datasets") or [])
    works = prepare_all(srcs, opts, defs)
    reg_works = [w for w in works if w.dataset is not None and w.dataset.id in reg_names]
    reg_opts = replace(opts, dataset=None)
    reg_works += [w for w in prepare_all(reg_srcs, reg_opts, defs) if w.dataset is not None]
    registry = build_registry(reg_works, executor, defs)
    card.registry_size = len(registry)
    io_errors = 0
    problems: list[str] = []
    for w, results in run_pipeline(srcs, opts, executor, registry, works=works):
        if w.error is not None:
            io_errors += 1 if w.io_error else 0
            problems.append(f"{w.display}: {w.error.rule} {local(w.error.detail, opts.lang)}")
            continue
        if w.cda or w.dataset is None or w.binding is None:
            if not w.cda:
                problems.append(f"{w.display}: DS.DATASET_UNKNOWN {w.note}")
            continue
        partial = merge(results, examples)
        if partial is None:
            continue
        if partial.stopped is not None:
            problems.append(f"{w.display}: {partial.stopped[0]} "
                            f"{local(partial.stopped[1], opts.lang)}")
        by_id = {e.id: e for e in w.dataset.elements}
        present = {by_id[eid].index for _, eid, _ in w.binding.bindings}
        q = w.jobs[0].quality if w.jobs else None
        link_possible = len(registry) > 0 and any(
            (by_id[eid].de or "") in registry.link_des for _, eid, _ in w.binding.bindings)
        card.add(w.display, w.dataset, partial, present, link_possible,
                 bool(q and q.upload_column is not None))
        if w.by_missing:
            problems.append(f"{w.display}: DS.MAPPING_COLUMN_ABSENT {w.by_missing}")
    return card.to_dict({**meta, "input_problems": problems}), problems, io_errors


def _combine(cells: list[Cell]) -> Cell:
    """All data sets of one institution together (the institution's overall figures): counts
    summed; usefulness and element fill are per data set, so the combined cell keeps none."""
    first = cells[0]
    agg = GroupAgg.sized(0)
    total = Cell(first.institution, first.dataset, agg)
    for c in cells:
        a = c.agg
        for name in ("records", "consistent", "complete", "required_cells", "required_filled",
                     "link_records", "link_matched", "link_agree", "link_empty", "time_items",
                     "time_ok", "plaus_total", "plaus_ok", "timely_n", "timely_ok",
                     "delay_sum", "upload_before_event"):
            setattr(agg, name, getattr(agg, name) + getattr(a, name))
        for i, v in enumerate(a.delay_buckets):
            agg.delay_buckets[i] += v
        total.link_possible |= c.link_possible
        total.upload_known |= c.upload_known
    # conformity over all data sets
    agg.nonempty = [sum(sum(c.agg.nonempty) for c in cells)]
    agg.passed = [sum(sum(c.agg.passed) for c in cells)]
    total.dataset = _Overall(cells)  # type: ignore[assignment]
    return total


class _Overall:
    """Stands in for a data set in an institution's overall figures."""

    def __init__(self, cells: list[Cell]) -> None:
        self.elements: list[Any] = []
        self.id = "*"
        self.name = "*"


def _quantile(buckets: list[int], q: float) -> float | None:
    total = sum(buckets)
    if not total:
        return None
    need = q * total
    run = 0
    for i, n in enumerate(buckets):
        run += n
        if run >= need:
            return float(DELAY_EDGES[i]) if i < len(DELAY_EDGES) else None
    return None


# ==================================================================== console table
def _w(s: str) -> int:
    import unicodedata

    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in s)


def _pad(s: str, width: int, right: bool = False) -> str:
    fill = " " * max(0, width - _w(s))
    return fill + s if right else s + fill


def _cut(s: str, width: int) -> str:
    out = ""
    for ch in s:
        if _w(out + ch) > width:
            break
        out += ch
    return out


def _pct(v: float | None) -> str:
    return "—" if v is None else f"{v * 100:.1f}%"


def write_text(card: dict[str, Any], out: IO[str], lang: str) -> None:
    defs = card["definitions"]
    emr = [d["name"] for d in defs["emr_coefficients"]]
    gov = [d["name"] for d in defs["governance_dimensions"]]
    tool = card.get("tool", {})
    out.write(f"{tool.get('name')} {tool.get('version')} · "
              f"{t('datasets.quality.title', lang)}\n\n")
    head = [t(f"datasets.quality.col.{c}", lang) for c in ("institution", "dataset", "records")]
    emr_h = [f"{n}" for n in emr]
    gov_h = [f"{n}" for n in gov]
    title_emr = t("datasets.quality.emr", lang)
    title_gov = t("datasets.quality.governance", lang)
    cw = 9
    left = 16 + 12 + 8
    out.write(_pad("", left) + "| " + _pad(title_emr, cw * len(emr_h)) + "| " + title_gov + "\n")
    line = _pad(head[0], 16) + _pad(head[1], 12) + _pad(head[2], 7, right=True) + " | " + \
        "".join(_pad(h, cw) for h in emr_h) + "| " + "".join(_pad(h, cw) for h in gov_h)
    out.write(line + "\n" + "-" * _w(line) + "\n")
    if not card["institutions"]:
        out.write("  " + t("datasets.quality.no_data", lang) + "\n")
    for inst in card["institutions"]:
        rows = [("*", inst["overall"])] + [(d["dataset"], d) for d in inst["datasets"]]
        for i, (dsid, fig) in enumerate(rows):
            if fig is None:
                continue
            name = _cut(inst["institution"], 15) if i == 0 else ""
            label = t("datasets.quality.all", lang) if dsid == "*" else dsid
            vals = [fig["emr_coefficients"][n]["value"] for n in emr]
            gvals = [fig["governance_dimensions"][n]["value"] for n in gov]
            out.write(_pad(name, 16) + _pad(label, 12) + _pad(str(fig["records"]), 7, True)
                      + " | " + "".join(_pad(_pct(v), cw) for v in vals) + "| "
                      + "".join(_pad(_pct(v), cw) for v in gvals) + "\n")
    out.write("\n" + t("datasets.quality.definitions", lang) + "\n")
    for group, title in (("emr_coefficients", title_emr), ("governance_dimensions", title_gov)):
        out.write(f"  {title}\n")
        for d in defs[group]:
            prov = f" [{t('provisional', lang)}]" if d["provisional"] else ""
            out.write(f"    {d['name']} ({d['id']}) = {d['formula']}{prov}\n")
            out.write(f"        {d['definition']}\n")
    for inst in card["institutions"]:
        title = t("datasets.quality.issues", lang)
        out.write(f"\n{title} · {inst['institution']}\n")
        if not inst["issues"]:
            out.write("    " + t("datasets.quality.none", lang) + "\n")
        for k, it in enumerate(inst["issues"], 1):
            el = f" · {it['element_name']}" if it["element_name"] else ""
            out.write(f"  {k:>2}. [{it['count']}] {it['rule']} · {it['dataset']} "
                      f"{it['dataset_name']}{el}\n")
            for ex in it["examples"]:
                where = f"{ex['file']}:{ex['row']}" + (f":{ex['column']}" if ex["column"] else "")
                out.write(f"        {where}  {ex['message']}\n")
