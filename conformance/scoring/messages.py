"""User-interface strings of the scoring package: zh-CN by default, English with --lang en.

Kept beside the package (not in conformance/i18n.py) so that other features can edit the shared
module without conflicts; the lookup works the same way (`m(key, lang, **values)`)."""

from __future__ import annotations

from typing import Any

from ..i18n import lookup

STRINGS: dict[str, dict[str, str]] = {
    "provisional": {"zh": "暂定", "en": "provisional"},
    "none_level": {"zh": "未达到任何等级", "en": "no level reached"},
    "yes": {"zh": "是", "en": "yes"},
    "no": {"zh": "否", "en": "no"},
    "def.invalid": {"zh": "测评定义文件有误（{n} 处）：",
                    "en": "The assessment definition has {n} problem(s):"},
    "def.schema": {"zh": "文件格式应为 {want}，实际为 {got!r}",
                   "en": "the file format must be {want}, found {got!r}"},
    "def.type": {"zh": "{path} 应为{want}，实际为 {got!r}", "en": "{path} must be {want}, found {got!r}"},
    "def.required": {"zh": "{path} 缺少必填字段 “{key}”", "en": "{path} lacks the required field '{key}'"},
    "def.unknown_key": {"zh": "{path} 中有未知字段 “{key}”{hint}",
                        "en": "{path} has an unknown field '{key}'{hint}"},
    "def.did_you_mean": {"zh": "（是否为 “{alt}”？）", "en": " (did you mean '{alt}'?)"},
    "def.enum": {"zh": "{path} 的取值 {got!r} 无效，应为：{allowed}",
                 "en": "{path}: {got!r} is not allowed; use one of: {allowed}"},
    "def.min": {"zh": "{path} 不能小于 {limit}，实际为 {got}",
                "en": "{path} must be >= {limit}, found {got}"},
    "def.max": {"zh": "{path} 不能大于 {limit}，实际为 {got}",
                "en": "{path} must be <= {limit}, found {got}"},
    "def.empty": {"zh": "{path} 不能为空", "en": "{path} must not be empty"},
    "def.pattern": {"zh": "{path} 的取值 {got!r} 格式不对（应匹配 {pattern}）",
                    "en": "{path}: {got!r} does not have the expected form ({pattern})"},
    "def.dup": {"zh": "{what} “{key}” 重复（首次出现在第 {first} 行）",
                "en": "duplicate {what} '{key}' (first on line {first})"},
    "def.ref": {"zh": "{path} 引用了不存在的{what} “{key}”；已有：{known}",
                "en": "{path} refers to an unknown {what} '{key}'; known: {known}"},
    "def.sum": {"zh": "{what} “{key}” 的条目分值合计为 {got}，与声明的 {want} 不符（若原始资料如此，请用 "
                      "leaf_sum 注明）",
                "en": "the items of {what} '{key}' add up to {got}, not the stated {want} (if the source "
                      "really says so, declare it with leaf_sum)"},
    "def.dimsum": {"zh": "维度 “{key}” 的子指标满分合计 {got} + 缺失分 {missing} ≠ 声明的 {want}",
                   "en": "dimension '{key}': sub-index maxima {got} + missing points {missing} != the "
                         "stated {want}"},
    "def.rule_field": {"zh": "{path}：规则 {rule} 需要字段 “{key}”",
                       "en": "{path}: rule {rule} needs the field '{key}'"},
    "def.rule_extra": {"zh": "{path}：字段 “{key}” 不适用于规则 {rule}",
                       "en": "{path}: the field '{key}' does not apply to rule {rule}"},
    "def.level_rule": {"zh": "{path}：{msg}", "en": "{path}: {msg}"},
    "def.not_found": {"zh": "找不到测评定义 “{ident}”；可用：{known}",
                      "en": "no assessment definition '{ident}'; available: {known}"},
    "q.invalid": {"zh": "自评问卷有误（{n} 处），未评分：",
                  "en": "The questionnaire has {n} problem(s); nothing was scored:"},
    "q.format": {"zh": "不是自评问卷（缺少 “questionnaire: {want}”）。请用 `conformance init` 生成问卷",
                 "en": "not a questionnaire (no 'questionnaire: {want}'); create one with `conformance "
                       "init`"},
    "q.assessment_mismatch": {"zh": "问卷属于测评 “{got}”，但评分使用的是 “{want}”；请用 "
                                    "--assessment/--index-system 选择正确的定义，或重新 init",
                              "en": "the questionnaire belongs to '{got}' but scoring uses '{want}'; "
                                    "pick the right definition with --assessment/--index-system or "
                                    "re-run init"},
    "q.unknown_item": {"zh": "未知的指标编号 “{code}”{hint}", "en": "unknown item code '{code}'{hint}"},
    "q.did_you_mean": {"zh": "（是否为 {alt}？）", "en": " (did you mean {alt}?)"},
    "q.bad_value": {"zh": "指标 {code}：{field} 的取值 {got!r} 无效，可选：{allowed}",
                    "en": "item {code}: {field} = {got!r} is not valid; allowed: {allowed}"},
    "q.bad_number": {"zh": "指标 {code}：{field} 应为{want}，实际为 {got!r}",
                     "en": "item {code}: {field} must be {want}, found {got!r}"},
    "q.unknown_field": {"zh": "指标 {code}：未知字段 “{field}”；可用字段：{allowed}",
                        "en": "item {code}: unknown field '{field}'; fields: {allowed}"},
    "q.unknown_option": {"zh": "指标 {code}：“{got}” 不在可选清单中{hint}",
                         "en": "item {code}: '{got}' is not in the list of options{hint}"},
    "q.dup_option": {"zh": "指标 {code}：“{got}” 重复勾选", "en": "item {code}: '{got}' is ticked twice"},
    "q.exclusive": {"zh": "指标 {code}：“{got}” 与其他勾选项互相矛盾（该项只能单独选择）",
                    "en": "item {code}: '{got}' contradicts the other ticks (it can only be ticked alone)"},
    "q.no_business": {"zh": "指标 {code}：“无此业务”只适用于选测项目，本项不是选测",
                      "en": "item {code}: 'no_business' only applies to optional (选测) items"},
    "q.count_mismatch": {"zh": "指标 {code}：count = {count} 与勾选的 {n} 项不一致",
                         "en": "item {code}: count = {count} disagrees with the {n} ticked options"},
    "q.option_value_unticked": {"zh": "指标 {code}：为未勾选的 “{opt}” 填了数值",
                                "en": "item {code}: a value is given for '{opt}', which is not ticked"},
    "q.definition_changed": {"zh": "测评定义 {id} 在问卷生成后有变化（SHA-256 不同）；可重新 init 对照新"
                                   "模板",
                             "en": "the definition {id} changed since this questionnaire was made "
                                   "(SHA-256 differs); re-run init to compare with the new template"},
    "q.conflict": {"zh": "{msg}", "en": "{msg}"},
    "q.automated": {"zh": "指标 {code} 由自动测试结果计分（{source}），问卷中的回答被忽略",
                    "en": "item {code} is scored from automated results ({source}); the questionnaire "
                          "answer is ignored"},
    "q.contradicts_auto": {"zh": "指标 {code}：问卷回答 “{answer}” 与自动测试结果 “{auto}” 矛盾，以测试结"
                                 "果为准",
                           "en": "item {code}: the questionnaire says '{answer}' but the automated "
                                 "result is '{auto}'; the automated result is used"},
    "q.evidence_missing": {"zh": "指标 {code}：证明材料文件不存在：{path}",
                           "en": "item {code}: evidence file not found: {path}"},
    "q.evidence_type": {"zh": "指标 {code}：evidence 应为文件路径列表",
                        "en": "item {code}: evidence must be a list of file paths"},
    "q.evidence_required": {"zh": "指标 {code}：原始资料要求提供证明材料（{hint}），问卷未附",
                            "en": "item {code}: the source asks for evidence ({hint}); none is attached"},
    "q.answers_type": {"zh": "answers 应为“指标编号: 回答”的映射",
                       "en": "answers must map item codes to answers"},
    "r.not_dir": {"zh": "结果目录不存在：{path}", "en": "results folder not found: {path}"},
    "r.empty": {"zh": "{path} 中没有可评分的结果文件（validate.json、results.json、perf.json、"
                      "datasets.json）",
                "en": "{path} holds no result file to score (validate.json, results.json, perf.json, "
                      "datasets.json)"},
    "r.not_ours": {"zh": "{path}：缺少 tool 信息（应由本工具生成，含 tool.name/version/ruleset）",
                   "en": "{path}: no 'tool' stamp (expected a file written by this tool, with "
                         "tool.name/version/ruleset)"},
    "r.artifact": {"zh": "{path}：无法评分：{msg}", "en": "{path}: cannot be scored: {msg}"},
    "r.incomplete": {"zh": "{path} 来自中断的运行（complete: false），部分用例未运行或未完成，相关指标按"
                           "无结果或不满足计；可用 `conformance run --resume` 补全",
                     "en": "{path} is from an interrupted run (complete: false): cases not run or not "
                           "finished leave their items without a result or not met; complete it with "
                           "`conformance run --resume`"},
    "r.shape": {"zh": "{path}：结构不符合约定：{msg}", "en": "{path}: does not follow the contract: {msg}"},
    "r.mixed_version": {"zh": "拒绝混合版本的输入：{a} 由 {va} 生成，{b} 由 {vb} 生成。请用同一版本重新运"
                              "行",
                        "en": "refusing mixed-version inputs: {a} was written by {va}, {b} by {vb}; "
                              "re-run them with one version"},
    "r.mixed_ruleset": {"zh": "拒绝混合规则集的输入：{a} 使用 {ra}，{b} 使用 {rb}",
                        "en": "refusing inputs with different rulesets: {a} used {ra}, {b} used {rb}"},
    "r.tampered": {"zh": "{path} 与 manifest.json 记录的校验和不符（文件在运行后被修改？）。拒绝评分；如"
                         "修改是有意的，请重新运行生成结果",
                   "en": "{path} does not match the checksum in manifest.json (modified after the run?). "
                         "Refusing to score; re-run to produce fresh results if the change was intended"},
    "r.manifest_missing_file": {"zh": "manifest.json 列出的 {path} 不存在",
                                "en": "{path} is listed in manifest.json but missing"},
    "r.unlisted": {"zh": "{path} 未列入 manifest.json（运行结束后添加的？）。如确属本次运行，请执行 "
                         "`conformance manifest {folder}` 重新封存",
                   "en": "{path} is not listed in manifest.json (added after the run was sealed?). If it "
                         "belongs to the run, re-seal it with `conformance manifest {folder}`"},
    "r.manifest_bad": {"zh": "{path}：manifest.json 无效：{msg}",
                       "en": "{path}: invalid manifest.json: {msg}"},
    "r.manifest_version": {"zh": "{path} 由 {vf} 生成，但 manifest.json 记录的是 {vm}",
                           "en": "{path} was written by {vf} but manifest.json records {vm}"},
    "r.no_manifest": {"zh": "{folder} 没有 manifest.json，无法校验完整性（可用 `conformance manifest "
                            "{folder}` 封存）",
                      "en": "{folder} has no manifest.json, integrity cannot be verified (seal it with "
                            "`conformance manifest {folder}`)"},
    "r.other_version": {"zh": "结果由 {got} 生成，当前工具为 {now}",
                        "en": "results were written by {got}; this tool is {now}"},
    "r.other_ruleset": {"zh": "{path} 使用规则集 {got}，当前为 {now}",
                        "en": "{path} used ruleset {got}; the current one is {now}"},
    "why.conformant": {"zh": "完全符合", "en": "fully conformant"},
    "why.no_business": {"zh": "无此业务（选测，视为满足）",
                        "en": "no such business (optional item, counts as met)"},
    "why.partial": {"zh": "部分符合", "en": "partly conformant"},
    "why.absent": {"zh": "无", "en": "absent"},
    "why.unanswered": {"zh": "问卷未作答", "en": "not answered in the questionnaire"},
    "why.not_assessed": {"zh": "没有测试结果（{what}）", "en": "no test result ({what})"},
    "why.doc_samples": {"zh": "{n} 份样例，{ok} 份通过，{bad} 份不通过",
                        "en": "{n} samples, {ok} pass, {bad} fail"},
    "why.doc_none": {"zh": "未提交 {doc} 的样例文档（运行 conformance validate）",
                     "en": "no sample document of {doc} was validated (run conformance validate)"},
    "why.svc": {"zh": "正向用例 {pp}/{pn} 通过，反向用例 {np}/{nn} 通过",
                "en": "positive cases {pp}/{pn} pass, negative cases {np}/{nn} pass"},
    "why.svc_none": {"zh": "没有服务 {svc} 的测试用例结果（运行 conformance run）",
                     "en": "no test case result for service {svc} (run conformance run)"},
    "why.svc_missing_kind": {"zh": "缺少{kind}用例", "en": "no {kind} case"},
    "why.dataset": {"zh": "数据集测试结论：{verdict}", "en": "data-set test verdict: {verdict}"},
    "why.band": {"zh": "中位响应时间 {ms} ms → {band}", "en": "median {ms} ms → {band}"},
    "why.perf_none": {"zh": "没有性能测量结果（运行 conformance perf --bands）",
                      "en": "not measured (run conformance perf --bands)"},
    "why.choice": {"zh": "选择：{label}", "en": "answer: {label}"},
    "why.count": {"zh": "{n} 项", "en": "{n} ticked"},
    "why.need_count": {"zh": "{level} 需 ≥{need} 项，现有 {n} 项",
                       "en": "{level} needs >= {need}, has {n}"},
    "why.need_options": {"zh": "{level} 必须包含：{opts}", "en": "{level} must include: {opts}"},
    "why.need_field": {"zh": "{level} 需 {field} ≥ {min}（现为 {got}）",
                       "en": "{level} needs {field} >= {min} (now {got})"},
    "why.need_tier": {"zh": "{level} 需达到：{label}", "en": "{level} needs: {label}"},
    "why.need_measure": {"zh": "{level} 需 {cond}", "en": "{level} needs {cond}"},
    "why.option_req": {"zh": "“{opt}” 未满足应用要求（{label}）不计数",
                       "en": "'{opt}' does not meet its use requirement ({label}) and is not counted"},
    "why.record": {"zh": "仅记录，不计分", "en": "recorded only, no points"},
    "why.levelscore": {"zh": "功能 {level} 级 × 应用 {app} × 数据质量 {dq} = {score}",
                       "en": "function level {level} × application {app} × data quality {dq} = {score}"},
    "why.yes": {"zh": "是/满足", "en": "yes / met"},
    "why.no": {"zh": "否/不满足", "en": "no / not met"},
    "gap.item": {"zh": "{code} {text}", "en": "{code} {text}"},
    "gap.total": {"zh": "总分需 ≥ {need}，现为 {got}（差 {short}）",
                  "en": "total must be >= {need}, is {got} (short by {short})"},
    "gap.basic": {"zh": "基本项目 {code} {text} 需达到 {level} 级且有效应用 ≥ {app}、数据质量 ≥ {dq}",
                  "en": "basic item {code} {text} must reach level {level} with application >= {app} and "
                        "data quality >= {dq}"},
    "gap.basic_count": {"zh": "需 {need} 个基本项目达到 {level} 级（应用 ≥ {app}、数据质量 ≥ {dq}），现有"
                              " {got} 个（项目分类未知，按数量判断，暂定）",
                        "en": "{need} basic items must reach level {level} (application >= {app}, data "
                              "quality >= {dq}); {got} do (item classification unknown: judged by count, "
                              "provisional)"},
    "gap.selectable": {"zh": "选择项目需至少 {need} 个达到 {level} 级（应用 ≥ {app}、数据质量 ≥ {dq}），"
                             "现有 {got} 个；最接近的：{cands}",
                       "en": "at least {need} selectable items must reach level {level} (application >= "
                             "{app}, data quality >= {dq}); {got} do; closest: {cands}"},
    "c.title": {"zh": "测评：{name}", "en": "Assessment: {name}"},
    "c.level": {"zh": "达到等级：{level}", "en": "Level reached: {level}"},
    "c.total": {"zh": "总分：{total} / {max}", "en": "Total: {total} / {max}"},
    "c.dims": {"zh": "维度得分：", "en": "Dimensions:"},
    "c.items": {"zh": "指标：{met} 项满足，{unmet} 项不满足，{unanswered} 项未作答，{na} 项无测试结果，"
                      "{rec} 项仅记录",
                "en": "Items: {met} met, {unmet} not met, {unanswered} unanswered, {na} without test "
                      "result, {rec} recorded only"},
    "c.gap": {"zh": "距 {level} 还差 {n} 项{prov}：", "en": "Missing for {level}: {n}{prov}:"},
    "c.gap_more": {"zh": "  …… 另有 {n} 项，见 score.json", "en": "  ... {n} more, see score.json"},
    "c.top": {"zh": "已达到本指标体系的最高等级。",
              "en": "The highest level of this index system is reached."},
    "c.written": {"zh": "已写入 {path}", "en": "Written: {path}"},
    "c.no_out": {"zh": "（未写入 score.json：请用 --out DIR 指定输出目录）",
                 "en": "(score.json not written: give --out DIR)"},
    "c.prov_note": {"zh": "标注“暂定”的数字依赖未经官方文本核实的规则或数值（{reasons}）",
                    "en": "figures marked provisional depend on rules or values not verified against the "
                          "official text ({reasons})"},
    "c.min_level_fail": {"zh": "等级 {got} 低于要求的 {want}",
                         "en": "level {got} is below the required {want}"},
    "c.min_level_ok": {"zh": "等级 {got} 满足要求的 {want}", "en": "level {got} meets the required {want}"},
    "c.bad_min_level": {"zh": "--min-level {got!r} 不是 {name} 的等级；可选：{allowed}",
                        "en": "--min-level {got!r} is not a level of {name}; levels: {allowed}"},
    "c.warnings": {"zh": "提示：", "en": "Notes:"},
    "c.not_determinable": {"zh": "无法评定等级：{why}", "en": "level cannot be rated: {why}"},
    "c.init_written": {"zh": "已生成自评问卷 {path}（{n} 个需填写的指标，{auto} 个由测试结果自动计分）",
                       "en": "Questionnaire written to {path} ({n} items to answer, {auto} scored "
                             "automatically from test results)"},
    "c.exists": {"zh": "{path} 已存在；使用 --force 覆盖", "en": "{path} exists; use --force to overwrite"},
    "c.cannot_write": {"zh": "无法写入 {path}：{msg}", "en": "cannot write {path}: {msg}"},
    "c.sealed": {"zh": "已封存 {folder}：{n} 个文件写入 manifest.json",
                 "en": "Sealed {folder}: {n} files in manifest.json"},
    "c.verified": {"zh": "{folder}：{n} 个文件校验通过", "en": "{folder}: {n} files verified"},
    "c.no_items": {"zh": "该指标体系没有已知的计分指标",
                   "en": "no scored items are known for this index system"},
}


def m(msg_key: str, lang: str = "zh", /, **kw: Any) -> str:
    return lookup(STRINGS, msg_key, lang, **kw)


def pick(text: dict[str, str] | str | None, lang: str) -> str:
    """A zh/en text from data: a plain string, or a mapping {zh, en}."""
    if text is None:
        return ""
    if isinstance(text, str):
        return text
    return text.get(lang) or text.get("zh") or next(iter(text.values()), "")
