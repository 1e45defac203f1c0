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

The keys of an answer are its rule type's (``scoring.rules``); evidence, note and details are
common to all. Item codes are quoted (an unquoted 01.01 would be read as the number 1.01). Empty
answers are "not answered" (scored as not met, listed in the gaps); wrong or contradictory
answers are refused with file:line."""

from __future__ import annotations

import difflib
import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ConformanceError
from ..i18n import LANGS, t
from ..model.folder import sha256_file
from ..yamlio import LineDict, YamlError, load_file
from .model import Definition, Item
from .problems import Phrase, Problem, each_lang, where
from .rules.yes_no import YES

FORMAT = "conformance-self-assessment/1"
_COMMON_KEYS = {"evidence", "note", "details"}


class QuestionnaireError(ConformanceError):
    """Problems that make a questionnaire unusable: (file, line, {zh, en})."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__(self.render("en"))

    def render(self, lang: str = "zh") -> str:
        head = t("score.q.invalid", lang, n=len(self.problems))
        rows = ["  " + where(f, line) + (msg.get(lang) or msg["zh"]) for f, line, msg in self.problems]
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
    value: Any = None                  # conformance / yes_no / choice / record
    selected: list[str] = field(default_factory=list)
    other: list[str] = field(default_factory=list)
    values: dict[str, Any] = field(default_factory=dict)   # measured values, counts …
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

class AnswerReader:
    """Reads the answers of one questionnaire; a rule type's ``read`` uses its helpers and
    reports through ``err`` (every problem at its line, all at once)."""

    def __init__(self, path: Path, definition: Definition) -> None:
        self.path = path
        self.file = str(path)
        self.d = definition
        self.problems: list[Problem] = []
        self.warnings: list[tuple[str, dict[str, Any]]] = []

    def err(self, line: int, key: str, **kw: Any) -> None:
        self.problems.append((self.file, line, each_lang(key, **kw)))

    # value helpers ----------------------------------------------------------------------------
    def number(self, code: str, fieldname: str, value: Any, line: int, kind: str = "number") -> float | None:
        if value is None or value == "":
            return None
        if isinstance(value, bool) or not isinstance(value, int | float):
            try:
                text = str(value).strip()
                value = float(text.rstrip("%")) / (100 if text.endswith("%") else 1)
            except ValueError:
                want = kind if kind in ("ratio", "integer") else "number"
                self.err(line, "score.q.bad_number", code=code, field=fieldname,
                         want=Phrase(f"score.q.want.{want}"), got=value)
                return None
        value = float(value)
        bad = (kind == "ratio" and not 0.0 <= value <= 1.0) or value < 0 \
            or (kind == "integer" and value != int(value))
        if bad:
            want = {"ratio": "ratio", "integer": "nonneg_integer"}.get(kind, "nonneg_number")
            self.err(line, "score.q.bad_number", code=code, field=fieldname,
                     want=Phrase(f"score.q.want.{want}"), got=value)
            return None
        return value

    def strings(self, code: str, fieldname: str, value: Any, line: int) -> list[str]:
        if value is None:
            return []
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list):
            self.err(line, "score.q.bad_value", code=code, field=fieldname, got=value, allowed="[...]")
            return []
        return [str(v).strip() for v in value if v is not None and str(v).strip()]

    def values(self, item: Item, raw: LineDict, ans: Answer) -> bool:
        """The ``values`` of the item's fields into ``ans.values``; False when none are given."""
        vals = raw.get("values")
        fids = {f.id: f for f in item.fields}
        if vals is None:
            return False
        if not isinstance(vals, dict):
            self.err(raw.line_of("values"), "score.q.bad_value", code=item.code, field="values", got=vals,
                     allowed="{" + ", ".join(fids) + "}")
            return False
        for k, v in vals.items():
            vline = vals.line_of(k) if isinstance(vals, LineDict) else raw.line_of("values")
            if k not in fids:
                self.err(vline, "score.q.unknown_field", code=item.code, field=f"values.{k}",
                         allowed=", ".join(fids) or "-")
                continue
            num = self.number(item.code, f"values.{k}", v, vline, fids[k].type)
            if num is not None:
                ans.values[k] = num
        return True

    # per item -------------------------------------------------------------------------------
    def item(self, item: Item, raw: Any, line: int) -> Answer:
        code = item.code
        kind = item.rule_type
        ans = Answer(code, line, answered=False)
        if raw is None:
            return ans
        if not isinstance(raw, LineDict):
            # shorthand: `"3.1.3.1": yes`
            raw_dict = LineDict({kind.shorthand: raw})
            raw_dict.line = line
            raw_dict.key_lines = {k: line for k in raw_dict}
            raw = raw_dict
        allowed = kind.answer_keys | _COMMON_KEYS
        for key in raw:
            if key not in allowed:
                self.err(raw.line_of(key), "score.q.unknown_field", code=code, field=key,
                         allowed=", ".join(sorted(allowed)))
        ans.note = str(raw.get("note") or "")
        details = raw.get("details")
        if isinstance(details, dict):
            known = {f.id for f in item.details}
            for k, v in details.items():
                if known and k not in known:
                    self.err(details.line_of(k) if isinstance(details, LineDict)
                             else raw.line_of("details"), "score.q.unknown_field", code=code,
                             field=f"details.{k}", allowed=", ".join(sorted(known)))
                elif v not in (None, ""):
                    ans.details[k] = v
        ans.evidence = self.evidence(code, raw.get("evidence"), raw.line_of("evidence"))
        kind.read(self, item, raw, ans)
        return ans

    def evidence(self, code: str, value: Any, line: int) -> list[EvidenceFile]:
        if value in (None, "", []):
            return []
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.err(line, "score.q.evidence_type", code=code)
            return []
        out = []
        folder = self.path.parent.resolve()
        for rel in value:
            p = Path(rel)
            if p.is_absolute():
                # given absolute on purpose: accepted, and said (a relative path stays inside)
                resolved = p
                self.warnings.append(("score.q.evidence_absolute", {"code": code, "path": rel}))
            else:
                resolved = (folder / p).resolve()
                if not resolved.is_relative_to(folder):
                    # ../../etc/passwd or a link leading out: not hashed into score.json
                    self.err(line, "score.q.evidence_outside", code=code, path=rel, folder=str(folder))
                    continue
            if not resolved.is_file():
                self.err(line, "score.q.evidence_missing", code=code, path=rel)
                continue
            out.append(EvidenceFile(code, rel, str(resolved.resolve()), sha256_file(resolved),
                                    resolved.stat().st_size))
        return out


def _unknown_code_hint(code: str, definition: Definition) -> Phrase | str:
    codes = [i.code for i in definition.items]
    # an unquoted 01.01 arrives as the number 1.01
    try:
        as_num = float(code)
        for c in codes:
            try:
                if float(c) == as_num:
                    return Phrase("score.q.did_you_mean", alt=f'"{c}"')
            except ValueError:
                continue
    except ValueError:
        pass
    parent = code.rsplit(".", 1)[0] if "." in code else None
    siblings = [c for c in codes if parent and c.rsplit(".", 1)[0] == parent]
    if siblings:
        return Phrase("score.q.did_you_mean", alt=" / ".join(siblings[:4]))
    near = difflib.get_close_matches(code, codes, n=1, cutoff=0.6)
    return Phrase("score.q.did_you_mean", alt=near[0]) if near else ""


def load_questionnaire(path: str | Path, definition: Definition) -> Questionnaire:
    """Read and check a questionnaire against a definition; raises QuestionnaireError."""
    p = Path(path)
    try:
        data, raw = load_file(p)
    except YamlError as exc:
        raise QuestionnaireError([("", 0, exc.texts())]) from None
    r = AnswerReader(p, definition)
    if not isinstance(data, LineDict) or data.get("questionnaire") != FORMAT:
        r.err(getattr(data, "line", 1) or 1, "score.q.format", want=FORMAT)
        raise QuestionnaireError(r.problems)
    answers_raw = data.get("answers")
    if answers_raw is None:
        answers_raw = LineDict()
    if not isinstance(answers_raw, LineDict):
        r.err(data.line_of("answers"), "score.q.answers_type")
        raise QuestionnaireError(r.problems)
    unknown = [c for c in answers_raw if definition.item(c) is None]
    if data.get("assessment") not in (None, definition.id):
        if unknown:
            r.err(data.line_of("assessment"), "score.q.assessment_mismatch", got=data.get("assessment"),
                  want=definition.id)
            raise QuestionnaireError(r.problems)
        r.warnings.append(("score.q.assessment_mismatch",
                           {"got": data.get("assessment"), "want": definition.id}))
    for code in unknown:
        r.err(answers_raw.line_of(code), "score.q.unknown_item", code=code,
              hint=_unknown_code_hint(str(code), definition))
    answers: dict[str, Answer] = {}
    for item in definition.items:
        if item.code not in answers_raw:
            answers[item.code] = Answer(item.code, 0, answered=False)
            continue
        line = answers_raw.line_of(item.code)
        ans = r.item(item, answers_raw[item.code], line)
        answers[item.code] = ans
        if item.automated and ans.answered and not (item.optional_business and ans.value == "no_business"):
            r.warnings.append(("score.q.automated", {"code": item.code, "source": item.binding.source}))
        if ans.answered and item.evidence_required and not ans.evidence \
                and item.rule_type.claims_met(item, ans):
            r.warnings.append(("score.q.evidence_required", {"code": item.code, "hint": item.evidence_hint}))
    _consistency(r, definition, answers)
    if r.problems:
        r.problems.sort(key=lambda x: x[1])
        raise QuestionnaireError(r.problems)
    meta = {k: data.get(k) for k in ("assessment", "assessment_sha256", "organization", "assessor", "date")
            if data.get(k) not in (None, "")}
    if meta.get("assessment_sha256") and meta["assessment_sha256"] != definition.sha256 \
            and meta.get("assessment") == definition.id:
        r.warnings.append(("score.q.definition_changed", {"id": definition.id}))
    return Questionnaire(str(p), hashlib.sha256(raw).hexdigest(), meta, answers, r.warnings)


def _consistency(r: AnswerReader, d: Definition, answers: dict[str, Answer]) -> None:
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
            r.problems.append((r.file, line, {lang: rule.message.get(lang) or rule.message.get("zh", "")
                                              for lang in LANGS}))


# --------------------------------------------------------------------------------------------
# writing (conformance init)
# --------------------------------------------------------------------------------------------

def _q(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _lowest_level(item: Item, d: Definition) -> str | None:
    tiers = item.rule_type.tiers(item, d)
    if item.level is not None:
        tiers = [*tiers, d.level_index(item.level)]
    return d.levels[min(tiers)].id if tiers else None


def write_template(d: Definition, lang: str = "zh") -> tuple[str, int, int]:
    """The questionnaire YAML for a definition; returns (text, items to answer, automated items)."""
    lab = {lv.id: lv.label(lang) for lv in d.levels}
    out: list[str] = []
    w = out.append
    w(f"# {t('score.init.title', lang)} — {d.name}")
    if d.name_en and lang == "en":
        w(f"#   {d.name_en}")
    w(f"# {t('score.init.definition', lang)}: {d.id} ({d.path}, SHA-256 {d.sha256[:16]}…)")
    w("#")
    out.extend(f"# {line}" for line in t("score.init.howto", lang).splitlines())
    if d.level_rule.provisional:
        desc = d.level_rule.description.get(lang) or d.level_rule.description.get("zh")
        w(f"# * {t('score.init.level_rule_provisional', lang)}: {desc}")
    for gap in d.known_gaps:
        w(f"# * {t('score.init.known_gap', lang)}: {gap}")
    w(f"questionnaire: {FORMAT}")
    w(f"assessment: {d.id}")
    w(f"assessment_sha256: {d.sha256}")
    w('organization: ""   # ' + t("score.init.organization", lang))
    w('assessor: ""       # ' + t("score.init.assessor", lang))
    w('date: ""           # YYYY-MM-DD')
    w("answers:")
    asked = auto = 0
    group = None
    for item in d.items:
        if not item.asked:
            auto += 1
            if not item.optional_business and item.automated:
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
        pts = item.rule_type.points_label(item, d, lang)
        w(f"  # ── {item.code}  {item.text}  [{pts}{lvl}]")
        if item.note:
            w(f"  #    {t('score.init.note', lang)}: {item.note}")
        if item.automated:
            w("  #    " + t("score.init.automated", lang))
        if item.binding is not None and item.binding.fallback:
            w("  #    " + t("score.init.dataset_overrides", lang))
        if item.evidence_hint:
            w(f"  #    {t('score.init.evidence', lang)}: {item.evidence_hint}")
        w(f"  {_q(item.code)}:")
        out.extend(item.rule_type.question(item, d, lang))
        if item.details:
            w("    details:")
            for f in item.details:
                w(f"      {f.id}:          # {f.label}")
        w("    evidence: []")
    return "\n".join(out) + "\n", asked, auto


__all__ = ["Answer", "AnswerReader", "EvidenceFile", "Questionnaire", "QuestionnaireError",
           "load_questionnaire", "write_template"]
