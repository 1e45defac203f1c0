"""The self-assessment questionnaire: written by `conformance init` from a definition, read back
by `conformance score`.

Format (YAML, every key documented in the file `init` writes):

    questionnaire: conformance-self-assessment/1
    assessment: hospital-2020            # the definition's id
    assessment_sha256: <hex>             # the definition the template was made from
    organization: ...; assessor: ...; date: ...
    answers:
      "3.1.1.1": {answer: app_level, evidence: [docs/集成架构.pdf], note: ...}
      "4.4.1.1": {selected: [门急诊挂号系统, ...], other: [...]}
      "4.1.2.3": {values: {rto_hours: 2, rpo_hours: 4}}
      "01.01":   {level: 5, application: 0.93, data_quality: 0.88}

Item codes are quoted (an unquoted 01.01 would be read as the number 1.01). Empty answers are
"not answered" (scored as not met, listed in the gaps); wrong or contradictory answers are refused
with file:line."""

from __future__ import annotations

import difflib
import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .definition import DefinitionError, _where
from .manifest import sha256_file
from .messages import m
from .model import Definition, Item
from .yamlutil import LineDict, LineList, YamlProblem, load_file

FORMAT = "conformance-self-assessment/1"

CONFORMANCE = {
    "conformant": "conformant", "有且完全符合国家标准": "conformant", "完全符合": "conformant",
    "partial": "partial", "有，部分符合国家标准": "partial", "有,部分符合国家标准": "partial",
    "部分符合": "partial",
    "absent": "absent", "无此数据": "absent", "无此文档": "absent", "无此服务": "absent", "无": "absent",
    "no_business": "no_business", "无此业务": "no_business",
}
CONFORMANCE_LABEL = {"conformant": "有且完全符合国家标准", "partial": "有，部分符合国家标准",
                     "no_business": "无此业务（选测）"}
ABSENT_LABEL = {"data": "无此数据", "document": "无此文档", "service": "无此服务"}
YES = {True, "yes", "y", "true", "是", "有", "满足", "有此文档", "1"}
NO = {False, "no", "n", "false", "否", "无", "不满足", "无此文档", "0"}

_COMMON_KEYS = {"evidence", "note", "details"}
_RULE_KEYS = {
    "conformance": {"answer"},
    "yes_no": {"answer"},
    "choice": {"answer"},
    "checklist": {"selected", "other", "count", "values", "option_values"},
    "measures": {"values"},
    "record": {"value"},
    "level_score": {"level", "application", "data_quality", "by_level"},
}


class QuestionnaireError(Exception):
    """Problems that make a questionnaire unusable: (file, line, {zh, en})."""

    def __init__(self, problems: list[tuple[str, int, dict[str, str]]]) -> None:
        self.problems = problems
        super().__init__(self.render("en"))

    def render(self, lang: str = "zh") -> str:
        head = m("q.invalid", lang, n=len(self.problems))
        rows = ["  " + _where(f, line) + (msg.get(lang) or msg["zh"]) for f, line, msg in self.problems]
        return "\n".join([head, *rows])


@dataclass
class EvidenceFile:
    item: str
    path: str
    resolved: str
    sha256: str
    bytes: int


@dataclass
class Answer:
    code: str
    line: int
    answered: bool
    value: Any = None                  # conformance/yes_no/choice/record
    selected: list[str] = field(default_factory=list)
    other: list[str] = field(default_factory=list)
    values: dict[str, Any] = field(default_factory=dict)
    option_values: dict[str, Any] = field(default_factory=dict)
    level: int | None = None
    application: float | None = None
    data_quality: float | None = None
    by_level: dict[str, dict[str, float]] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)
    note: str = ""
    evidence: list[EvidenceFile] = field(default_factory=list)


@dataclass
class Questionnaire:
    path: str
    sha256: str
    meta: dict[str, Any]
    answers: dict[str, Answer]
    warnings: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    @property
    def evidence(self) -> list[EvidenceFile]:
        return [e for a in self.answers.values() for e in a.evidence]


# --------------------------------------------------------------------------------------------
# reading
# --------------------------------------------------------------------------------------------

class _Reader:
    def __init__(self, path: Path, definition: Definition) -> None:
        self.path = path
        self.file = str(path)
        self.d = definition
        self.problems: list[tuple[str, int, dict[str, str]]] = []
        self.warnings: list[tuple[str, dict[str, Any]]] = []

    def err(self, line: int, key: str, **kw: Any) -> None:
        self.problems.append((self.file, line, {lang: m(key, lang, **kw) for lang in ("zh", "en")}))

    # value helpers ----------------------------------------------------------------------------
    def number(self, code: str, fieldname: str, value: Any, line: int, kind: str = "number") -> float | None:
        if value is None or value == "":
            return None
        if isinstance(value, bool) or not isinstance(value, int | float):
            try:
                text = str(value).strip()
                value = float(text.rstrip("%")) / (100 if text.endswith("%") else 1)
            except ValueError:
                want = {"zh": {"ratio": "0–1 之间的比例", "integer": "整数"}.get(kind, "数字"),
                        "en": {"ratio": "a ratio between 0 and 1",
                               "integer": "an integer"}.get(kind, "a number")}
                self.problems.append((self.file, line, {
                    lang: m("q.bad_number", lang, code=code, field=fieldname, want=want[lang], got=value)
                    for lang in ("zh", "en")}))
                return None
        value = float(value)
        bad = (kind == "ratio" and not 0.0 <= value <= 1.0) or value < 0 \
            or (kind == "integer" and value != int(value))
        if bad:
            want = {"zh": {"ratio": "0–1 之间的比例", "integer": "非负整数"}.get(kind, "非负数"),
                    "en": {"ratio": "a ratio between 0 and 1", "integer": "a non-negative integer"}.get(
                        kind, "a non-negative number")}
            self.problems.append((self.file, line, {
                lang: m("q.bad_number", lang, code=code, field=fieldname, want=want[lang], got=value)
                for lang in ("zh", "en")}))
            return None
        return value

    def strings(self, code: str, fieldname: str, value: Any, line: int) -> list[str]:
        if value is None:
            return []
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list):
            self.err(line, "q.bad_value", code=code, field=fieldname, got=value, allowed="[...]")
            return []
        return [str(v).strip() for v in value if v is not None and str(v).strip()]

    # per item -------------------------------------------------------------------------------
    def item(self, item: Item, raw: Any, line: int) -> Answer:
        code = item.code
        ans = Answer(code, line, answered=False)
        if raw is None:
            return ans
        if not isinstance(raw, LineDict):
            # shorthand: `"3.1.3.1": yes`
            raw_dict = LineDict({"answer" if item.rule in ("conformance", "yes_no", "choice") else
                                 "value": raw})
            raw_dict.line = line
            raw_dict.key_lines = {k: line for k in raw_dict}
            raw = raw_dict
        allowed = _RULE_KEYS[item.rule] | _COMMON_KEYS
        for key in raw:
            if key not in allowed:
                self.err(raw.line_of(key), "q.unknown_field", code=code, field=key,
                         allowed=", ".join(sorted(allowed)))
        kl = raw.line_of
        ans.note = str(raw.get("note") or "")
        details = raw.get("details")
        if isinstance(details, dict):
            known = {f.id for f in item.details}
            for k, v in details.items():
                if known and k not in known:
                    self.err(details.line_of(k) if isinstance(details, LineDict) else kl("details"),
                             "q.unknown_field", code=code, field=f"details.{k}",
                             allowed=", ".join(sorted(known)))
                elif v not in (None, ""):
                    ans.details[k] = v
        ans.evidence = self.evidence(code, raw.get("evidence"), kl("evidence"))
        rule = item.rule
        if rule == "conformance":
            v = raw.get("answer")
            if v not in (None, ""):
                norm = CONFORMANCE.get("".join(str(v).split()).casefold()) \
                    or CONFORMANCE.get(str(v).strip())
                allowed_vals = ["conformant", "partial", "absent"] + (
                    ["no_business"] if item.optional_business else [])
                if norm is None:
                    self.err(kl("answer"), "q.bad_value", code=code, field="answer", got=v,
                             allowed=", ".join(allowed_vals))
                elif norm == "no_business" and not item.optional_business:
                    self.err(kl("answer"), "q.no_business", code=code)
                else:
                    ans.value, ans.answered = norm, True
        elif rule == "yes_no":
            v = raw.get("answer")
            if v not in (None, ""):
                key = v if isinstance(v, bool | int) else str(v).strip().casefold()
                if key in YES:
                    ans.value, ans.answered = True, True
                elif key in NO:
                    ans.value, ans.answered = False, True
                else:
                    self.err(kl("answer"), "q.bad_value", code=code, field="answer", got=v,
                             allowed="yes, no")
        elif rule == "choice":
            v = raw.get("answer")
            if isinstance(v, list):
                if len(v) > 1:
                    self.err(kl("answer"), "q.exclusive", code=code, got=", ".join(map(str, v)))
                    v = None
                else:
                    v = v[0] if v else None
            if v not in (None, ""):
                ids = [o.id for o in item.options]
                hit = next((o.id for o in item.options if str(v).strip() in (o.id, o.label)), None)
                if hit is None:
                    self.err(kl("answer"), "q.bad_value", code=code, field="answer", got=v,
                             allowed=", ".join(ids))
                else:
                    ans.value, ans.answered = hit, True
        elif rule == "checklist":
            self.checklist(item, raw, ans)
        elif rule == "measures":
            vals = raw.get("values")
            if isinstance(vals, dict):
                fids = {f.id: f for f in item.fields}
                for k, v in vals.items():
                    vline = vals.line_of(k) if isinstance(vals, LineDict) else kl("values")
                    if k not in fids:
                        self.err(vline, "q.unknown_field", code=code, field=f"values.{k}",
                                 allowed=", ".join(fids))
                        continue
                    num = self.number(code, f"values.{k}", v, vline, fids[k].type)
                    if num is not None:
                        ans.values[k] = num
                ans.answered = len(ans.values) == len(fids)
            elif vals is not None:
                self.err(kl("values"), "q.bad_value", code=code, field="values", got=vals,
                         allowed="{" + ", ".join(f.id for f in item.fields) + "}")
        elif rule == "record":
            v = raw.get("value")
            if v not in (None, ""):
                if item.record == "number":
                    num = self.number(code, "value", v, kl("value"))
                    if num is not None:
                        ans.value, ans.answered = num, True
                else:
                    ans.value, ans.answered = str(v), True
        elif rule == "level_score":
            self.level_score(item, raw, ans)
        return ans

    def checklist(self, item: Item, raw: LineDict, ans: Answer) -> None:
        code = item.code
        kl = raw.line_of
        labels = {o.id: o for o in item.options}
        selected_raw = self.strings(code, "selected", raw.get("selected"), kl("selected"))
        seen: set[str] = set()
        for k, s in enumerate(selected_raw):
            listed = raw.get("selected")
            sline = listed.line_of(k) if isinstance(listed, LineList) else kl("selected")
            hit = s if s in labels else next(
                (o.id for o in item.options if "".join(o.label.split()) == "".join(s.split())), None)
            if hit is None:
                near = difflib.get_close_matches(s, list(labels), n=1, cutoff=0.5)
                self.err(sline, "q.unknown_option", code=code, got=s,
                         hint=m("q.did_you_mean", "zh", alt=near[0]) if near else "")
                self.problems[-1][2]["en"] = m("q.unknown_option", "en", code=code, got=s, hint=m(
                    "q.did_you_mean", "en", alt=near[0]) if near else "")
                continue
            if hit in seen:
                self.err(sline, "q.dup_option", code=code, got=hit)
                continue
            seen.add(hit)
            ans.selected.append(hit)
        if item.exclusive and len(ans.selected) > 1:
            for ex in item.exclusive:
                if ex in ans.selected:
                    self.err(kl("selected"), "q.exclusive", code=code, got=ex)
        ans.other = self.strings(code, "other", raw.get("other"), kl("other"))
        if ans.other and not item.other:
            self.err(kl("other"), "q.unknown_field", code=code, field="other",
                     allowed=", ".join(sorted(_RULE_KEYS["checklist"] - {"other"})))
        count = raw.get("count")
        if count not in (None, ""):
            n = self.number(code, "count", count, kl("count"), "integer")
            ticked = len(ans.selected) + len(ans.other)
            if n is not None and int(n) != ticked and (ans.selected or ans.other):
                self.err(kl("count"), "q.count_mismatch", code=code, count=int(n), n=ticked)
        vals = raw.get("values")
        if isinstance(vals, dict):
            fids = {f.id: f for f in item.fields}
            for k, v in vals.items():
                vline = vals.line_of(k) if isinstance(vals, LineDict) else kl("values")
                if k not in fids:
                    self.err(vline, "q.unknown_field", code=code, field=f"values.{k}",
                             allowed=", ".join(fids) or "-")
                    continue
                num = self.number(code, f"values.{k}", v, vline, fids[k].type)
                if num is not None:
                    ans.values[k] = num
        ov = raw.get("option_values")
        if isinstance(ov, dict):
            for k, v in ov.items():
                vline = ov.line_of(k) if isinstance(ov, LineDict) else kl("option_values")
                req = item.option_requirements.get(k)
                if req is None:
                    self.err(vline, "q.unknown_field", code=code, field=f"option_values.{k}",
                             allowed=", ".join(item.option_requirements) or "-")
                    continue
                if k not in ans.selected:
                    self.err(vline, "q.option_value_unticked", code=code, opt=k)
                    continue
                if req.get("confirm"):
                    key = v if isinstance(v, bool | int) else str(v).strip().casefold()
                    ans.option_values[k] = key in YES
                else:
                    num = self.number(code, f"option_values.{k}", v, vline, "ratio")
                    if num is not None:
                        ans.option_values[k] = num
        ans.answered = bool(ans.selected or ans.other) or ("selected" in raw and raw.get("selected") == [])

    def level_score(self, item: Item, raw: LineDict, ans: Answer) -> None:
        code = item.code
        kl = raw.line_of
        top = self.d.top_level_number
        lv = raw.get("level")
        if lv not in (None, ""):
            n = self.number(code, "level", lv, kl("level"), "integer")
            if n is not None:
                if n > top:
                    self.err(kl("level"), "q.bad_number", code=code, field="level",
                             got=lv, want=f"0–{top}")
                else:
                    ans.level = int(n)
        app = raw.get("application")
        if item.application == "applied" and isinstance(app, bool | str) and app not in ("",):
            key = app if isinstance(app, bool) else str(app).strip().casefold()
            if key in YES or key in NO:
                ans.application = 1.0 if key in YES else 0.0
            else:
                ans.application = self.number(code, "application", app, kl("application"), "ratio")
        else:
            ans.application = self.number(code, "application", app, kl("application"), "ratio")
        if item.data_quality == "none":
            if raw.get("data_quality") not in (None, ""):
                self.err(kl("data_quality"), "q.unknown_field", code=code, field="data_quality",
                         allowed="level, application, by_level")
            ans.data_quality = 1.0
        else:
            ans.data_quality = self.number(code, "data_quality", raw.get("data_quality"),
                                           kl("data_quality"), "ratio")
        by = raw.get("by_level")
        if isinstance(by, dict):
            for lk, row in by.items():
                bline = by.line_of(lk) if isinstance(by, LineDict) else kl("by_level")
                if self.d.level(str(lk)) is None:
                    self.err(bline, "q.bad_value", code=code, field="by_level", got=lk,
                             allowed=", ".join(lv.id for lv in self.d.levels))
                    continue
                if not isinstance(row, dict):
                    self.err(bline, "q.bad_value", code=code, field=f"by_level.{lk}", got=row,
                             allowed="{application, data_quality}")
                    continue
                ent = {}
                for k in ("application", "data_quality"):
                    if row.get(k) not in (None, ""):
                        num = self.number(code, f"by_level.{lk}.{k}", row[k], bline, "ratio")
                        if num is not None:
                            ent[k] = num
                ans.by_level[str(lk)] = ent
        ans.answered = ans.level is not None
        if ans.answered:
            for name in ("application", "data_quality"):
                if getattr(ans, name) is None and raw.get(name) in (None, ""):
                    self.problems.append((self.file, kl("level"), {
                        lang: m("q.bad_number", lang, code=code, field=name, got=None,
                                want="0–1" if lang == "en" else "0–1 之间的比例") for lang in ("zh", "en")}))

    def evidence(self, code: str, value: Any, line: int) -> list[EvidenceFile]:
        if value in (None, "", []):
            return []
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.err(line, "q.evidence_type", code=code)
            return []
        out = []
        for rel in value:
            p = Path(rel)
            resolved = p if p.is_absolute() else (self.path.parent / p)
            if not resolved.is_file():
                self.err(line, "q.evidence_missing", code=code, path=rel)
                continue
            out.append(EvidenceFile(code, rel, str(resolved.resolve()), sha256_file(resolved),
                                    resolved.stat().st_size))
        return out


def _unknown_code_hint(code: str, definition: Definition, lang: str) -> str:
    codes = [i.code for i in definition.items]
    # an unquoted 01.01 arrives as the number 1.01
    try:
        as_num = float(code)
        for c in codes:
            try:
                if float(c) == as_num:
                    return m("q.did_you_mean", lang, alt=f'"{c}"')
            except ValueError:
                continue
    except ValueError:
        pass
    parent = code.rsplit(".", 1)[0] if "." in code else None
    siblings = [c for c in codes if parent and c.rsplit(".", 1)[0] == parent]
    if siblings:
        return m("q.did_you_mean", lang, alt=" / ".join(siblings[:4]))
    near = difflib.get_close_matches(code, codes, n=1, cutoff=0.6)
    return m("q.did_you_mean", lang, alt=near[0]) if near else ""


def load_questionnaire(path: str | Path, definition: Definition) -> Questionnaire:
    """Read and check a questionnaire against a definition; raises QuestionnaireError."""
    p = Path(path)
    try:
        data, raw = load_file(p)
    except YamlProblem as exc:
        raise QuestionnaireError([("", 0, {"zh": str(exc), "en": str(exc)})]) from None
    r = _Reader(p, definition)
    if not isinstance(data, LineDict) or data.get("questionnaire") != FORMAT:
        r.err(getattr(data, "line", 1) or 1, "q.format", want=FORMAT)
        raise QuestionnaireError(r.problems)
    answers_raw = data.get("answers")
    if answers_raw is None:
        answers_raw = LineDict()
    if not isinstance(answers_raw, LineDict):
        r.err(data.line_of("answers"), "q.answers_type")
        raise QuestionnaireError(r.problems)
    unknown = [c for c in answers_raw if definition.item(c) is None]
    if data.get("assessment") not in (None, definition.id):
        if unknown:
            r.err(data.line_of("assessment"), "q.assessment_mismatch", got=data.get("assessment"),
                  want=definition.id)
            raise QuestionnaireError(r.problems)
        r.warnings.append(("q.assessment_mismatch", {"got": data.get("assessment"), "want": definition.id}))
    for code in unknown:
        r.problems.append((r.file, answers_raw.line_of(code), {
            lang: m("q.unknown_item", lang, code=code, hint=_unknown_code_hint(code, definition, lang))
            for lang in ("zh", "en")}))
    answers: dict[str, Answer] = {}
    for item in definition.items:
        if item.code not in answers_raw:
            answers[item.code] = Answer(item.code, 0, answered=False)
            continue
        line = answers_raw.line_of(item.code)
        ans = r.item(item, answers_raw[item.code], line)
        answers[item.code] = ans
        if item.automated and ans.answered and not (item.optional_business and ans.value == "no_business"):
            r.warnings.append(("q.automated", {"code": item.code, "source": item.binding.source}))
        if ans.answered and item.evidence_required and not ans.evidence and _claims_met(item, ans):
            r.warnings.append(("q.evidence_required", {"code": item.code, "hint": item.evidence_hint}))
    _consistency(r, definition, answers)
    if r.problems:
        r.problems.sort(key=lambda x: x[1])
        raise QuestionnaireError(r.problems)
    meta = {k: data.get(k) for k in ("assessment", "assessment_sha256", "organization", "assessor", "date")
            if data.get(k) not in (None, "")}
    if meta.get("assessment_sha256") and meta["assessment_sha256"] != definition.sha256 \
            and meta.get("assessment") == definition.id:
        r.warnings.append(("q.definition_changed", {"id": definition.id}))
    return Questionnaire(str(p), hashlib.sha256(raw).hexdigest(), meta, answers, r.warnings)


def _claims_met(item: Item, ans: Answer) -> bool:
    if item.rule == "choice":
        opt = item.option(ans.value) if isinstance(ans.value, str) else None
        return bool(opt and opt.level)
    return ans.value is True or ans.value == "conformant" or bool(ans.selected)


def _consistency(r: _Reader, d: Definition, answers: dict[str, Answer]) -> None:
    def matches(spec: dict[str, Any]) -> bool:
        ans = answers.get(spec.get("item", ""))
        if ans is None or not ans.answered:
            return False
        if "answer" in spec:
            want = spec["answer"]
            if isinstance(ans.value, bool):
                return ans.value == (str(want).casefold() in {str(y).casefold() for y in YES})
            return ans.value == want
        if "selected" in spec:
            return spec["selected"] in ans.selected
        return False

    def count(code: str) -> int:
        ans = answers.get(code)
        if ans is None:
            return 0
        item = d.item(code)
        n = len([s for s in ans.selected if not item or s not in item.exclusive])
        return n + (1 if ans.other else 0)

    for rule in d.consistency:
        hit = False
        if rule.type == "excludes":
            hit = matches(rule.params["when"]) and matches(rule.params["then_not"])
            code = rule.params["then_not"]["item"]
        else:
            a, b = rule.params["item"], rule.params["than"]
            code = a
            hit = answers[a].answered and answers[b].answered and count(a) > count(b)
        if hit:
            line = answers[code].line
            r.problems.append((r.file, line, {lang: m("q.conflict", lang, msg=rule.message.get(lang)
                                                      or rule.message.get("zh", ""))
                                              for lang in ("zh", "en")}))


# --------------------------------------------------------------------------------------------
# writing (conformance init)
# --------------------------------------------------------------------------------------------

def _q(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _pts(x: float | None) -> str:
    if x is None:
        return "-"
    return f"{x:.2f}".rstrip("0").rstrip(".")


def _levels_line(item: Item, d: Definition, lang: str) -> str:
    lab = {lv.id: lv.label(lang) for lv in d.levels}
    if item.rule == "checklist":
        tiers = sorted(set(item.thresholds) | set(item.level_requires), key=d.level_index)
        parts = []
        for t in tiers:
            bits = []
            if t in item.thresholds:
                bits.append(f">={item.thresholds[t]}")
            req = item.level_requires.get(t, {})
            if req.get("options"):
                bits.append(("含 " if lang == "zh" else "incl. ") + "、".join(req["options"]))
            for fid, cond in req.get("fields", {}).items():
                bits.append(f"{fid} >= {cond.get('min')}")
            if t in item.level_points:
                unit = "分" if lang == "zh" else "pt"
                bits.append(f"{_pts(item.level_points[t])} {unit}")
            parts.append(f"{lab[t]} " + ", ".join(bits))
        extra = ""
        if item.points_per_option is not None:
            extra = (f"；每项 {_pts(item.points_per_option)} 分，最高 {_pts(item.points)} 分" if lang == "zh"
                     else f"; {_pts(item.points_per_option)} pt per option, at most {_pts(item.points)}")
        return "；".join(parts) + extra
    if item.rule == "measures":
        parts = []
        for t in item.tiers:
            conds = [f"{k} <= {v}" for k, v in t["max"].items()]
            conds += [f"{k} >= {v}" for k, v in t["min"].items()]
            parts.append(f"{lab[t['level']]} {' & '.join(conds)} → {_pts(t['points'])}")
        return "；".join(parts)
    return ""


def _lowest_level(item: Item, d: Definition) -> str | None:
    levels = set(filter(None, [item.level, *(o.level for o in item.options)]))
    levels |= set(item.thresholds) | set(item.level_requires) | {t["level"] for t in item.tiers}
    return min(levels, key=d.level_index) if levels else None


def write_template(d: Definition, lang: str = "zh") -> tuple[str, int, int]:
    """The questionnaire YAML for a definition; returns (text, items to answer, automated items)."""
    zh = lang != "en"
    lab = {lv.id: lv.label(lang) for lv in d.levels}
    out: list[str] = []
    w = out.append
    w(f"# {'自评问卷' if zh else 'Self-assessment questionnaire'} — {d.name}")
    if d.name_en and not zh:
        w(f"#   {d.name_en}")
    w(f"# {'定义' if zh else 'Definition'}: {d.id} ({d.path}, SHA-256 {d.sha256[:16]}…)")
    w("#")
    if zh:
        w("# 填写说明：")
        w("# * 每个指标下填写 answer / selected / values 等字段；留空表示“未作答”，")
        w("#   评分时按不满足计并列入差距清单。")
        w("# * 多选清单：把要勾选的行前的 # 去掉（保持缩进），或在 selected: [] 中写入选项名称；")
        w("#   “其它”写入 other。")
        w("# * evidence：证明材料文件路径（相对本文件）；评分时检查文件存在并把 SHA-256 记入 score.json。")
        w("# * 由测试结果自动计分的指标（共享文档、交互服务、性能）不在本问卷中；")
        w("#   数据集指标在提供数据集测试结果时以结果为准。")
        w("# * 指标编号须加引号（\"01.01\"），否则 YAML 会把它读成数字。")
    else:
        w("# How to fill in:")
        w("# * Fill answer / selected / values under each item; an empty item is 'not answered'")
        w("#   and scores as not met (listed in the gaps).")
        w("# * Checklists: remove the # in front of each ticked line (keep the indentation), or list option")
        w("#   names in selected: []; free-text extras go to other.")
        w("# * evidence: files (relative to this file); scoring checks they exist and records their SHA-256.")
        w("# * Items scored from test results (shared documents, services, performance) are not asked here;")
        w("#   data-set items are overridden by a data-set test result when one is given.")
        w("# * Keep item codes quoted (\"01.01\"), or YAML reads them as numbers.")
    if d.level_rule.provisional:
        desc = d.level_rule.description.get(lang) or d.level_rule.description.get("zh")
        w(f"# * {'等级评定规则为暂定' if zh else 'The level rule is provisional'}: {desc}")
    for gap in d.known_gaps:
        w(f"# * {'已知缺口' if zh else 'Known gap'}: {gap}")
    w(f"questionnaire: {FORMAT}")
    w(f"assessment: {d.id}")
    w(f"assessment_sha256: {d.sha256}")
    w('organization: ""   # ' + ("机构名称" if zh else "organization"))
    w('assessor: ""       # ' + ("填写人" if zh else "who filled this in"))
    w('date: ""           # YYYY-MM-DD')
    w("answers:")
    asked = auto = 0
    group = None
    for item in d.items:
        if item.automated:
            auto += 1
            if not item.optional_business:
                continue
        else:
            asked += 1
        head_group = item.group or (d.dimension(item.dimension).name if item.dimension else "")
        if head_group != group:
            group = head_group
            w("")
            w(f"  # ════ {group}")
        low = _lowest_level(item, d)
        lvl = f" · {lab[low]}" if low else ""
        pts = f"{_pts(item.points)} {'分' if zh else 'pt'}" if item.points is not None else (
            f"0–{d.top_level_number}" if item.rule == "level_score" else ("仅记录" if zh else "record only"))
        w(f"  # ── {item.code}  {item.text}  [{pts}{lvl}]")
        if item.note:
            w(f"  #    {'说明' if zh else 'note'}: {item.note}")
        if item.automated:
            w("  #    " + ("由测试结果自动计分；仅当本院无此业务（选测）时填写 answer: no_business" if zh else
                          "scored from test results; answer no_business only when the hospital has no such "
                          "business (optional item)"))
        if item.binding is not None and item.binding.fallback:
            w("  #    " + ("提供数据集测试结果（datasets.json / --datasets）时以测试结果为准" if zh else
                          "a data-set test result (datasets.json / --datasets), when given, overrides "
                          "this answer"))
        if item.evidence_hint:
            w(f"  #    {'需提供证明材料' if zh else 'evidence expected'}: {item.evidence_hint}")
        w(f"  {_q(item.code)}:")
        rule = item.rule
        if rule == "conformance" and item.automated:
            w("    answer:            # no_business（无此业务） | " + ("留空" if zh else "leave empty"))
        elif rule == "conformance":
            absent = ABSENT_LABEL.get(item.subject, "无")
            vals = [f"conformant（{CONFORMANCE_LABEL['conformant']}）",
                    f"partial（{CONFORMANCE_LABEL['partial']}）", f"absent（{absent}）"]
            if item.optional_business:
                vals.append(f"no_business（{CONFORMANCE_LABEL['no_business']}）")
            w("    answer:            # " + " | ".join(vals))
        elif rule == "yes_no":
            hint = f"（{item.label}）" if item.label else ""
            w(f"    answer:            # yes | no{hint}")
        elif rule == "choice":
            w("    answer:            # " + ("填写以下选项之一" if zh else "one of"))
            for o in item.options:
                unit = "分" if zh else "pt"
                none = "不得分" if zh else "0 pt"
                tier = f"{lab[o.level]}, {_pts(o.points)} {unit}" if o.level else none
                w(f"    #   {o.id}: {o.label}  [{tier}]")
        elif rule == "checklist":
            w(f"    #    {'等级门槛' if zh else 'thresholds'}: {_levels_line(item, d, lang)}")
            for opt, req in item.option_requirements.items():
                w(f"    #    “{opt}” {'计数条件' if zh else 'counts only if'}: {req['label']}"
                  f" → option_values: {{{opt}: {'true' if req.get('confirm') else '0.00'}}}")
            if item.exclusive:
                w(f"    #    {'只能单独勾选' if zh else 'ticked alone only'}: {'、'.join(item.exclusive)}")
            w("    selected:")
            for o in item.options:
                w(f"    #- {o.label}")
            if item.other:
                w("    other: []          # "
                  + ("其它（可填写多个，只算 1 项）" if zh else "other (any number, counts once)"))
            if item.fields:
                w("    values: {" + ", ".join(f"{f.id}: " for f in item.fields) + "}   # "
                  + "；".join(f"{f.id} = {f.label}" for f in item.fields))
            if item.option_requirements:
                w("    option_values: {}")
        elif rule == "measures":
            w(f"    #    {'等级门槛' if zh else 'thresholds'}: {_levels_line(item, d, lang)}")
            w("    values:")
            for f in item.fields:
                w(f"      {f.id}:          # {f.label}{'（' + f.unit + '）' if f.unit else ''}")
        elif rule == "record":
            w(f"    value:             # {item.label or ('仅记录' if zh else 'recorded only')}")
        elif rule == "level_score":
            top = d.top_level_number
            if item.application_basis:
                w(f"    #    {'有效应用' if zh else 'application'}: {item.application_basis}")
            if item.data_quality_basis:
                w(f"    #    {'数据质量' if zh else 'data quality'}: {item.data_quality_basis}")
            w(f"    level:             # 0–{top} " + ("达到的功能等级" if zh else "function level reached"))
            if item.application == "applied":
                w("    application:       # yes | no " + ("（实际应用）" if zh else "(in use)"))
            else:
                w("    application:       # 0–1 " + ("有效应用比例" if zh else "application ratio"))
            if item.data_quality != "none":
                w("    data_quality:      # 0–1 " + ("数据质量指数" if zh else "data-quality index"))
            dq_hint = ", data_quality: 0.8" if item.data_quality != "none" else ""
            w("    # by_level: {\"3\": {application: 0.95" + dq_hint
              + "}}   # " + ("可选：各级别的实际值" if zh else "optional: values per level"))
        if item.details:
            w("    details:")
            for f in item.details:
                w(f"      {f.id}:          # {f.label}")
        w("    evidence: []")
    return "\n".join(out) + "\n", asked, auto


__all__ = ["Answer", "DefinitionError", "EvidenceFile", "Questionnaire", "QuestionnaireError",
           "load_questionnaire", "write_template"]
