"""Report UI strings (zh-CN default, English with --lang en). Standards names (levels, items,
services, document types) are never here: they come from the run's artifacts."""

from __future__ import annotations

from ..i18n import lookup

STRINGS: dict[str, dict[str, str]] = {
    "title": {"zh": "互联互通标准化成熟度测评报告", "en": "Interoperability maturity assessment report"},
    "title.short": {"zh": "测评报告", "en": "Assessment report"},
    "toc": {"zh": "目录", "en": "Contents"},
    "sec.summary": {"zh": "概要", "en": "Summary"},
    "sec.comparison": {"zh": "与基线比较", "en": "Comparison with the baseline"},
    "sec.dimensions": {"zh": "四个维度得分", "en": "Scores of the four dimensions"},
    "sec.indicators": {"zh": "评价指标明细", "en": "Indicators"},
    "sec.gaps": {"zh": "升级差距分析", "en": "Gap to the higher levels"},
    "sec.services": {"zh": "交互服务测试结果", "en": "Interaction services"},
    "sec.cases": {"zh": "测试用例与交互证据", "en": "Test cases and recorded exchanges"},
    "sec.documents": {"zh": "共享文档校验结果", "en": "Shared documents"},
    "sec.findings": {"zh": "问题明细", "en": "Findings"},
    "sec.datasets": {"zh": "数据集标准化测试结果", "en": "Data sets"},
    "sec.performance": {"zh": "平台运行性能", "en": "Platform performance"},
    "sec.about": {"zh": "说明", "en": "About this report"},
    "target": {"zh": "被测平台", "en": "Target"},
    "profile": {"zh": "测评类型", "en": "Profile"},
    "date": {"zh": "测评日期", "en": "Assessment date"},
    "generated": {"zh": "报告生成时间", "en": "Report generated"},
    "run_dir": {"zh": "运行目录", "en": "Run folder"},
    "tool_version": {"zh": "工具版本", "en": "Tool version"},
    "ruleset": {"zh": "规则集版本", "en": "Ruleset"},
    "assessment": {"zh": "测评方案", "en": "Assessment definition"},
    "scenarios": {"zh": "测试场景版本", "en": "Scenario version"},
    "level": {"zh": "达到等级", "en": "Level achieved"},
    "level.none": {"zh": "未达到任何等级", "en": "no level reached"},
    "level.not_determinable": {"zh": "无法判定等级", "en": "level cannot be determined"},
    "level.rule": {"zh": "等级评定规则", "en": "Level-rating rule"},
    "score.warnings": {"zh": "评分提示", "en": "Scoring notes"},
    "score.prov_reasons": {"zh": "暂定的原因", "en": "Why provisional"},
    "ind.achieved": {"zh": "达到", "en": "reached"},
    "gap.needed": {"zh": "需要", "en": "needed"},
    "level.unknown": {"zh": "未评分（缺少 score.json）", "en": "not scored (no score.json)"},
    "total": {"zh": "总分", "en": "Total points"},
    "next_level": {"zh": "距下一等级", "en": "To reach the next level"},
    "next_level.text": {
        "zh": "距 {level} 还差 {count} 项（{points} 分）",
        "en": "{count} items ({points} points) missing for {level}",
    },
    "next_level.none": {
        "zh": "已达到方案中的最高等级。",
        "en": "The highest level of the scheme is reached.",
    },
    "min_level": {"zh": "要求的最低等级", "en": "Required minimum level"},
    "min_level.met": {"zh": "已满足", "en": "met"},
    "min_level.not_met": {"zh": "未满足", "en": "not met"},
    "tile.documents": {"zh": "共享文档", "en": "Documents"},
    "tile.documents.text": {"zh": "{valid}/{documents} 份通过", "en": "{valid} of {documents} valid"},
    "tile.cases": {"zh": "交互测试用例", "en": "Test cases"},
    "tile.perf": {"zh": "性能阈值", "en": "Performance thresholds"},
    "tile.perf.text": {"zh": "{passed}/{total} 项达标", "en": "{passed} of {total} met"},
    "tile.perf.none": {"zh": "未设阈值（仅记录）", "en": "no thresholds (recorded only)"},
    "tile.datasets": {"zh": "数据集", "en": "Data sets"},
    "tile.datasets.text": {"zh": "{full}/{touched} 个完全覆盖且符合",
                           "en": "{full} of {touched} fully conformant"},
    "tile.findings": {"zh": "问题", "en": "Findings"},
    "absent.title": {"zh": "本次运行未包含的内容", "en": "Not part of this run"},
    "absent.validate": {
        "zh": "没有 validate.json：未做共享文档校验。",
        "en": "No validate.json: documents were not validated.",
    },
    "absent.results": {
        "zh": "没有 results.json：未做交互服务测试。",
        "en": "No results.json: interaction services were not tested.",
    },
    "absent.perf": {
        "zh": "没有 perf.json：未做性能测试。",
        "en": "No perf.json: performance was not measured.",
    },
    "absent.score": {
        "zh": "没有 score.json：未评分，报告不给出等级。",
        "en": "No score.json: not scored, the report gives no level.",
    },
    "absent.datasets": {
        "zh": "没有 datasets.json：未做数据集测试（2.1 数据集指标按问卷作答评分）。",
        "en": "No datasets.json: data sets were not tested (the 2.1 data-set items are scored "
              "from the questionnaire).",
    },
    "absent.how": {"zh": "生成方法", "en": "To produce it"},
    "run.incomplete": {
        "zh": ("交互测试未完成（运行被中断）：结果只包含已完成的用例。"
               "用 conformance run --resume {path} 完成后重新生成报告。"),
        "en": "The interaction run is incomplete (interrupted): only finished cases are included. "
              "Complete it with conformance run --resume {path} and render the report again.",
    },
    "mismatch": {
        "zh": "注意：各结果文件由不同版本的工具生成，数据可能不一致：",
        "en": "Note: the result files come from different tool versions and may not agree:",
    },
    "status.met": {"zh": "符合", "en": "met"},
    "status.unmet": {"zh": "不符合", "en": "not met"},
    "status.na": {"zh": "无此业务", "en": "no such business"},
    "status.unknown": {"zh": "未评估", "en": "not assessed"},
    "status.unanswered": {"zh": "未作答", "en": "unanswered"},
    "status.scored": {"zh": "已计分", "en": "scored"},
    "status.record": {"zh": "仅记录", "en": "recorded"},
    "result.pass": {"zh": "通过", "en": "pass"},
    "result.fail": {"zh": "不通过", "en": "fail"},
    "result.error": {"zh": "无法判定", "en": "error"},
    "result.skip": {"zh": "跳过", "en": "skip"},
    "result.interrupted": {"zh": "中断", "en": "interrupted"},
    "ds.fig.covered": {"zh": "数据元覆盖", "en": "element coverage"},
    "ds.fig.format": {"zh": "格式符合", "en": "format conformance"},
    "ds.fig.not_measured": {"zh": "未测（文档）", "en": "not measured (documents)"},
    "ds.fig.defects": {"zh": "问题", "en": "defects"},
    "result.none": {"zh": "—", "en": "—"},
    "provisional": {"zh": "暂定", "en": "provisional"},
    "provisional.title": {
        "zh": "依赖未经核实的测评数值（暂定），不代表官方结论",
        "en": "depends on unverified assessment values (provisional); not an official figure",
    },
    "provisional.explain": {
        "zh": (
            "标注“暂定”的数字依赖于尚未从官方文本核实的测评规则或数值（例如等级评定规则、区域指标表、性"
            "能指标）。它们按项目的默认配置计算，仅供自评参考，不是官方结论。"),
        "en": (
            "Figures marked “provisional” depend on assessment rules or values not yet verified against "
            "the official text (e.g. the level-rating rule, the regional index table, performance number"
            "s). They follow the project's default configuration, are for self-assessment only, and are "
            "not an official result."),
    },
    "cmp.baseline": {"zh": "基线", "en": "Baseline"},
    "cmp.new_failures": {"zh": "新增失败", "en": "New failures"},
    "cmp.improvements": {"zh": "已修复", "en": "Fixed"},
    "cmp.gone": {"zh": "不再检查", "en": "No longer checked"},
    "cmp.still": {"zh": "仍未解决的已知失败", "en": "Known failures still present"},
    "cmp.level": {"zh": "等级变化", "en": "Level change"},
    "cmp.total": {"zh": "总分变化", "en": "Total change"},
    "cmp.area": {"zh": "范围", "en": "Area"},
    "cmp.item": {"zh": "项目", "en": "Item"},
    "cmp.before": {"zh": "基线", "en": "before"},
    "cmp.after": {"zh": "本次", "en": "now"},
    "cmp.delta": {"zh": "变化", "en": "change"},
    "cmp.kind.new": {"zh": "新增", "en": "new"},
    "cmp.kind.regressed": {"zh": "退步", "en": "regressed"},
    "cmp.kind.fixed": {"zh": "已修复", "en": "fixed"},
    "cmp.kind.gone": {"zh": "已移除", "en": "removed"},
    "cmp.dir.up": {"zh": "提升", "en": "up"},
    "cmp.dir.down": {"zh": "下降", "en": "down"},
    "cmp.dir.same": {"zh": "不变", "en": "unchanged"},
    "cmp.dir.changed": {"zh": "变化", "en": "changed"},
    "cmp.not_compared": {
        "zh": "只在一次运行中存在、未比较的部分：",
        "en": "Present in only one of the runs, not compared:",
    },
    "cmp.none": {"zh": "没有新增失败。", "en": "No new failures."},
    "cmp.perf": {"zh": "性能变化", "en": "Performance change"},
    "area.validate": {"zh": "文档校验", "en": "documents"},
    "area.results": {"zh": "交互测试", "en": "interaction tests"},
    "area.perf": {"zh": "性能", "en": "performance"},
    "area.score": {"zh": "评分", "en": "score"},
    "dim.chart": {"zh": "四个维度得分（得分/满分）", "en": "Dimension scores (points / maximum)"},
    "dim.name": {"zh": "维度", "en": "Dimension"},
    "score": {"zh": "得分", "en": "Points"},
    "max": {"zh": "满分", "en": "Maximum"},
    "ratio": {"zh": "得分率", "en": "Ratio"},
    "ind.code": {"zh": "编号", "en": "Code"},
    "ind.text": {"zh": "评审指标", "en": "Indicator"},
    "ind.level": {"zh": "等级要求", "en": "Required from"},
    "ind.status": {"zh": "结果", "en": "Result"},
    "ind.evidence": {"zh": "依据", "en": "Evidence"},
    "gap.level": {"zh": "目标等级", "en": "Level"},
    "gap.count": {"zh": "缺项数", "en": "Missing items"},
    "gap.points": {"zh": "缺项分值", "en": "Points missing"},
    "gap.reason": {"zh": "原因", "en": "Why"},
    "gap.none": {"zh": "没有缺项。", "en": "Nothing missing."},
    "svc.service": {"zh": "服务", "en": "Service"},
    "svc.name": {"zh": "名称", "en": "Name"},
    "svc.positive": {"zh": "正向用例", "en": "Positive"},
    "svc.negative": {"zh": "反向用例", "en": "Negative"},
    "svc.workflow": {"zh": "流程用例", "en": "Workflow"},
    "svc.result": {"zh": "服务结论", "en": "Service result"},
    "svc.cites": {"zh": "依据标准：", "en": "Standards cited:"},
    "case.checks": {"zh": "检查项", "en": "Checks"},
    "case.check": {"zh": "检查", "en": "Check"},
    "case.message": {"zh": "说明", "en": "Message"},
    "case.exchanges": {"zh": "交互记录", "en": "Exchanges"},
    "case.summary": {
        "zh": "通过 {pass}，不通过 {fail}，无法判定 {error}，跳过 {skip}",
        "en": "{pass} pass, {fail} fail, {error} error, {skip} skip",
    },
    "kind.positive": {"zh": "正向", "en": "positive"},
    "kind.negative": {"zh": "反向", "en": "negative"},
    "kind.workflow": {"zh": "流程", "en": "workflow"},
    "ex.request": {"zh": "请求", "en": "Request"},
    "ex.response": {"zh": "响应", "en": "Response"},
    "ex.status": {"zh": "HTTP 状态", "en": "HTTP status"},
    "ex.duration": {"zh": "耗时", "en": "Duration"},
    "ex.started": {"zh": "开始时间", "en": "Started"},
    "ex.action": {"zh": "动作", "en": "Action"},
    "ex.soap": {"zh": "SOAP 版本", "en": "SOAP version"},
    "ex.error": {"zh": "传输错误", "en": "Transport error"},
    "ex.bytes": {"zh": "{n} 字节", "en": "{n} bytes"},
    "ex.pretty": {"zh": "已格式化显示", "en": "pretty-printed"},
    "ex.open_file": {"zh": "打开原始文件", "en": "open the raw file"},
    "ex.truncated": {
        "zh": "响应过大，记录器只保存了开头部分（有界记录）。",
        "en": "The reply was too large: the recorder kept only its beginning (bounded recording).",
    },
    "ex.none": {"zh": "无交互记录。", "en": "No recorded exchange."},
    "body.too_big": {
        "zh": "报文较大，仅显示开头；完整内容见运行目录中的文件：",
        "en": "Large body: only the beginning is shown; the full body is in the run folder:",
    },
    "body.budget": {
        "zh": "报告内嵌内容已达上限，仅显示开头；完整内容见运行目录中的文件：",
        "en": (
            "The report's inline budget is spent: only the beginning is shown; the full body is in the r"
            "un folder:"),
    },
    "body.missing_file": {"zh": "证据文件不存在：", "en": "Evidence file missing:"},
    "body.outside": {
        "zh": "证据文件不在运行目录内，未读取：",
        "en": "Evidence file outside the run folder, not read:",
    },
    "body.binary": {"zh": "二进制内容，未显示：", "en": "Binary body, not shown:"},
    "body.empty": {"zh": "（空）", "en": "(empty)"},
    "ds.summary": {
        "zh": "共 {datasets} 个数据集，其中 {touched} 个有数据：完全覆盖且符合 {full} 个，部分符合 "
              "{partial} 个；其余 {none} 个无此数据。",
        "en": "{datasets} data sets, {touched} with data: {full} fully covered and conformant, "
              "{partial} partially conformant; {none} without data.",
    },
    "ds.none_touched": {"zh": "输入中没有数据集数据", "en": "no data-set data in the inputs"},
    "ds.id": {"zh": "数据集", "en": "Data set"},
    "ds.name": {"zh": "名称", "en": "Name"},
    "ds.verdict": {"zh": "判定", "en": "Verdict"},
    "ds.elements": {"zh": "数据元覆盖", "en": "Elements covered"},
    "ds.elements.text": {
        "zh": "{covered}/{total} 个数据元有非空值（{present} 个有对应列或元素）",
        "en": "{covered} of {total} data elements have values ({present} have a column or "
              "element)",
    },
    "ds.element_coverage": {"zh": "数据元覆盖率", "en": "Element coverage"},
    "ds.format_conformance": {"zh": "格式符合率", "en": "Format conformance"},
    "ds.defects": {"zh": "问题", "en": "Defects"},
    "ds.defect_kind": {"zh": "问题类型", "en": "Kind of defect"},
    "ds.kind.coverage": {"zh": "覆盖（缺少或全空的数据元）", "en": "coverage (missing or empty elements)"},
    "ds.kind.format": {"zh": "表示格式", "en": "representation format"},
    "ds.kind.datatype": {"zh": "数据类型", "en": "data type"},
    "ds.kind.vocabulary": {"zh": "允许值（值域）", "en": "allowed values (value sets)"},
    "ds.kind.parse": {"zh": "读取", "en": "reading"},
    "ds.records": {"zh": "记录数", "en": "Records"},
    "ds.documents": {"zh": "文档数", "en": "Documents"},
    "ds.inputs": {"zh": "输入文件数", "en": "Input files"},
    "ds.findings": {"zh": "问题数", "en": "Findings"},
    "ds.item": {"zh": "测评指标", "en": "Indicator"},
    "ds.missing": {"zh": "缺少的数据元", "en": "Missing data elements"},
    "ds.unlocated": {
        "zh": "其中 {n} 个在 CDA 文档中的位置未知（本工具无法在文档中检查它们）。",
        "en": "{n} of them have no known place in a CDA document (the tool cannot look for "
              "them in documents).",
    },
    "ds.untouched": {
        "zh": "无此数据（{n} 个，由问卷作答）：",
        "en": "No such data ({n}; the questionnaire answers for them):",
    },
    "ds.inputs_title": {"zh": "检查的表格与文档", "en": "Tables and documents checked"},
    "ds.inputs_note": {
        "zh": "每个问题的行、列与说明见 datasets.json（或 --format sarif 输出）。",
        "en": "Each finding with its row, column and message is in datasets.json (or the "
              "SARIF output).",
    },
    "ds.legend": {
        "zh": "判定依据：数据元全部覆盖（有非空值）且无格式、数据类型、允许值问题为“完全覆盖且符合”；"
              "数据集定义为暂定时，判定也是暂定的。",
        "en": "Verdict: every data element covered (a non-empty value) and no format, data-type "
              "or allowed-value defect = fully covered and conformant; a verdict on a "
              "provisional definition is provisional.",
    },
    "cases.pdf_cap": {
        "zh": (
            "PDF 只列出未通过的用例（最多 {cases} 个）及前 {exchanges} 条交互记录；全部用例和交互见 HTML"
            " 报告。"),
        "en": (
            "The PDF lists the failing cases (at most {cases}) and the first {exchanges} exchanges; the "
            "HTML report has them all."),
    },
    "doc.type": {"zh": "文档类型", "en": "Document type"},
    "doc.name": {"zh": "名称", "en": "Name"},
    "doc.count": {"zh": "文档数", "en": "Documents"},
    "doc.valid": {"zh": "通过", "en": "Valid"},
    "doc.invalid": {"zh": "不通过", "en": "Invalid"},
    "doc.errors": {"zh": "错误", "en": "Errors"},
    "doc.warnings": {"zh": "警告", "en": "Warnings"},
    "doc.top_rules": {"zh": "主要错误规则", "en": "Main error rules"},
    "doc.unknown_type": {"zh": "未识别类型", "en": "unknown type"},
    "doc.path": {"zh": "文件", "en": "File"},
    "doc.summary": {
        "zh": (
            "共 {documents} 份文档：{valid} 份通过，{invalid} 份不通过；{errors} 个错误，{warnings} 个警"
            "告，{infos} 个提示。"),
        "en": (
            "{documents} documents: {valid} valid, {invalid} invalid; {errors} errors, {warnings} warnin"
            "gs, {infos} infos."),
    },
    "doc.by_rule": {"zh": "按规则汇总", "en": "By rule"},
    "doc.by_document": {"zh": "按文档列出", "en": "By document"},
    "doc.failing": {"zh": "不通过的文档", "en": "Documents that fail"},
    "doc.pdf_cap": {
        "zh": (
            "PDF 每条规则最多列出 {n} 个实例（其余 {omitted} 个只计数），不通过的文档最多列出 {docs} 份"
            "；完整明细见 HTML 报告。"),
        "en": (
            "The PDF shows at most {n} occurrences per rule (the other {omitted} are counted only) and a"
            "t most {docs} failing documents; the HTML report has every finding."),
    },
    "f.rule": {"zh": "规则", "en": "Rule"},
    "f.severity": {"zh": "级别", "en": "Severity"},
    "f.layer": {"zh": "校验层", "en": "Layer"},
    "f.count": {"zh": "次数", "en": "Count"},
    "f.documents": {"zh": "涉及文档", "en": "Documents"},
    "f.where": {"zh": "位置", "en": "Location"},
    "f.message": {"zh": "说明", "en": "Message"},
    "f.snippet": {"zh": "原文", "en": "Source"},
    "f.expected": {"zh": "期望", "en": "expected"},
    "f.actual": {"zh": "实际", "en": "actual"},
    "f.source": {"zh": "依据", "en": "Basis"},
    "f.more": {"zh": "另有 {n} 处同类问题", "en": "{n} more of this rule"},
    "f.none": {"zh": "没有发现问题。", "en": "No findings."},
    "severity.error": {"zh": "错误", "en": "error"},
    "severity.warning": {"zh": "警告", "en": "warning"},
    "severity.info": {"zh": "提示", "en": "info"},
    "perf.bands": {
        "zh": "平台运行性能（响应时间分档，测评表 3.3）",
        "en": "Response-time bands (evaluation table 3.3)",
    },
    "perf.item": {"zh": "编号", "en": "Item"},
    "perf.service": {"zh": "测量项", "en": "Measurement"},
    "perf.median": {"zh": "中位数", "en": "Median"},
    "perf.spread": {"zh": "离散度", "en": "Spread"},
    "perf.samples": {"zh": "样本数", "en": "Samples"},
    "perf.band": {"zh": "分档", "en": "Band"},
    "perf.steps": {"zh": "并发测试", "en": "Load steps"},
    "perf.users": {"zh": "并发用户数", "en": "Users"},
    "perf.errors": {"zh": "错误", "en": "Errors"},
    "perf.error_rate": {"zh": "错误率", "en": "Error rate"},
    "perf.latency_chart": {
        "zh": "响应时间百分位（毫秒）与并发用户数",
        "en": "Latency percentiles (ms) by users",
    },
    "perf.tps_chart": {"zh": "吞吐量（TPS）与并发用户数", "en": "Throughput (TPS) by users"},
    "perf.series_chart": {"zh": "吞吐量随时间变化（每秒）", "en": "Throughput over time (per second)"},
    "perf.seconds": {"zh": "秒", "en": "seconds"},
    "perf.ms": {"zh": "毫秒", "en": "ms"},
    "perf.saturated": {
        "zh": (
            "在 {users} 个并发用户时，压测机自身已成为瓶颈：这些数字低估了平台能力，请用更多压测机（Locu"
            "st 分布式模式）重测。"),
        "en": (
            "At {users} users the load generator itself was the bottleneck: these figures understate the"
            " platform; re-measure with more generators (Locust distributed mode)."),
    },
    "perf.saturated_mark": {"zh": "压测机饱和", "en": "generator saturated"},
    "perf.thresholds": {"zh": "性能阈值", "en": "Thresholds"},
    "perf.threshold": {"zh": "阈值", "en": "Threshold"},
    "perf.metric": {"zh": "指标", "en": "Metric"},
    "perf.limit": {"zh": "限值", "en": "Limit"},
    "perf.actual": {"zh": "实测", "en": "Measured"},
    "perf.per_service": {"zh": "按服务", "en": "Per service"},
    "perf.bands_note": {
        "zh": "2020 版测评表只按分档记录这些时间，不计分、无等级要求。",
        "en": "The 2020 evaluation table records these times as bands only: no points, no level requirement.",
    },
    "about.inputs": {"zh": "输入文件", "en": "Inputs"},
    "about.file": {"zh": "文件", "en": "File"},
    "about.size": {"zh": "大小", "en": "Size"},
    "about.tool": {"zh": "生成工具", "en": "Produced by"},
    "about.evidence": {
        "zh": "证据目录 evidence/ 中有 {n} 个文件。",
        "en": "The evidence/ folder holds {n} files.",
    },
    "about.omitted": {
        "zh": (
            "本 PDF 为节选：省略了 {findings} 个问题实例、{documents} 份文档、{cases} 个用例和 {exchange"
            "s} 条交互记录（HTML 报告包含全部内容）。"),
        "en": (
            "This PDF is an extract: {findings} finding occurrences, {documents} documents, {cases} case"
            "s and {exchanges} exchanges are left out (the HTML report has everything)."),
    },
    "about.linked": {
        "zh": "{n} 个较大的报文未内嵌，以链接指向运行目录中的文件。",
        "en": "{n} large bodies are not inlined but linked to their files in the run folder.",
    },
    "about.offline": {
        "zh": "本报告为单个离线文件，不引用任何外部资源。",
        "en": "This report is one self-contained file and references no external resource.",
    },
    "fonts.missing": {
        "zh": (
            "未找到中文字体：PDF 中的中文可能显示为方框。请安装 Noto CJK 字体（Debian: apt-get install f"
            "onts-noto-cjk，或运行 scripts/bootstrap.sh）后重新生成。"),
        "en": (
            "No Chinese (CJK) font found: Chinese text in this PDF may show as empty boxes. Install a CJ"
            "K font (Debian: apt-get install fonts-noto-cjk, or run scripts/bootstrap.sh) and render aga"
            "in."),
    },
    "fonts.unchecked": {
        "zh": "无法检查中文字体（未找到 fc-list）；如果中文显示为方框，请安装 fonts-noto-cjk。",
        "en": (
            "Could not check for a CJK font (fc-list not found); if Chinese shows as boxes, install font"
            "s-noto-cjk."),
    },
    "yes": {"zh": "是", "en": "yes"},
    "no": {"zh": "否", "en": "no"},
    "cli.written": {"zh": "已写入 {path}", "en": "wrote {path}"},
    "cli.failures": {"zh": "本次运行有 {n} 项失败。", "en": "{n} failures in this run."},
    "cli.new_failures": {
        "zh": "与基线相比：新增失败 {new} 项，已修复 {fixed} 项。",
        "en": "Against the baseline: {new} new failures, {fixed} fixed.",
    },
    "cli.err": {"zh": "无法生成报告：{msg}", "en": "Cannot render the report: {msg}"},
    "cli.err_output": {"zh": "无法写入 {path}：{msg}", "en": "Cannot write {path}: {msg}"},
    "cli.need_baseline": {
        "zh": "--fail-on regression 需要同时给出 --baseline 上一次的运行目录。",
        "en": "--fail-on regression needs --baseline PREVIOUS_RUN.",
    },
    "cli.one_output": {
        "zh": "--output 只能与一种 --format 一起使用。",
        "en": "--output works with one --format only.",
    },
    "cli.pdf_unavailable": {
        "zh": "无法生成 PDF：{msg}。请运行 scripts/bootstrap.sh 安装 WeasyPrint 和 Pango。",
        "en": "Cannot render PDF: {msg}. Run scripts/bootstrap.sh to install WeasyPrint and Pango.",
    },
    "cli.pdf_stdout": {
        "zh": "PDF 不能写到终端；请用 -o FILE。",
        "en": "PDF cannot go to a terminal; use -o FILE.",
    },
}

def tr(key: str, lang: str = "zh", **kw: object) -> str:
    return lookup(STRINGS, key, lang, **kw)
