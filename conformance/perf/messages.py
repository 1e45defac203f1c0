"""User-interface strings of `conformance perf` / `conformance seed` (zh-CN default, English)."""

from __future__ import annotations

from typing import Any

from ..i18n import lookup

STRINGS: dict[str, dict[str, str]] = {
    "refuse": {
        "zh": "这是负载测试：它会向 {target} 持续发送大量请求。确认目标平台允许压测后加 --yes 再运行"
              "（只在自己的平台或测试环境上运行）。",
        "en": "This is a load test: it sends sustained traffic to {target}. Add --yes once you are sure "
              "the target may be load-tested (run it only against your own platform or a test "
              "environment)."},
    "embedded_only": {"zh": "{opt} 只用于内置参考平台（不要与 --target/--config 一起使用）。",
                      "en": "{opt} applies to the embedded reference platform only (not with "
                            "--target/--config)."},
    "external_only": {"zh": "{opt} 只用于外部平台（--target/--config）。",
                      "en": "{opt} applies to an external platform only (--target/--config)."},
    "starting_platform": {"zh": "启动内置参考平台（{profile}）…",
                          "en": "Starting the embedded platform ({profile})…"},
    "seeding": {"zh": "写入 {n} 名合成患者…", "en": "Seeding {n} synthetic patients…"},
    "seeded": {"zh": "已写入合成患者：新增 {inserted}，已有 {existing"
                     "}，库中共 {total} 条，用时 {seconds:.1f} 秒。",
               "en": "Synthetic patients: {inserted} new, {existing} already there, {total} in the store, "
                     "{seconds:.1f} s."},
    "platform_ready": {"zh": "内置平台：{url}", "en": "Embedded platform: {url}"},
    "platform_failed": {"zh": "内置参考平台启动失败：{msg}",
                        "en": "The embedded platform did not start: {msg}"},
    "preparing": {"zh": "准备 {n} 份虚拟用户数据（注册患者、文档等，不计入测量）…",
                  "en": "Preparing data for {n} virtual users (patients, documents …; not measured)…"},
    "prepare_failed": {
        "zh": "虚拟用户数据准备失败（{done}/{n} 完成）：{msg}",
        "en": "Preparing the virtual users' data failed ({done}/{n} done): {msg}"},
    "step_closed": {"zh": "▶ {users} 个并发用户：爬坡 {ramp} 秒 + 测量 {duration} 秒",
                    "en": "▶ {users} concurrent users: ramp {ramp} s + measure {duration} s"},
    "step_open": {"zh": "▶ 到达率 {rate}/秒（开放模型）：爬坡 {ramp} 秒 + 测量 {duration} 秒",
                  "en": "▶ arrival rate {rate}/s (open model): ramp {ramp} s + measure {duration} s"},
    "saturated": {
        "zh": "⚠ 压测机自身已成为瓶颈（{reasons}）：该档的结果反映的是压测机的上限，而不是平台的上限。"
              "减少用户数、加思考时间，或用 --engine locust --workers N 分布到多台机器。",
        "en": "⚠ The load generator itself is the bottleneck ({reasons}): this step measures the "
              "generator's limit, not the platform's. Use fewer users or more think time, or spread "
              "the load with --engine locust --workers N."},
    "machine_saturated": {
        "zh": "⚠ 本机 CPU 已满载（{pct:.0f}%）：内置平台与压测机共用这台机器，结果偏低。",
        "en": "⚠ This machine's CPUs are saturated ({pct:.0f}%): the embedded platform and the "
              "generator share it, so the figures are pessimistic."},
    "unreachable": {"zh": "无法连接目标平台（{kinds}）：没有一个请求得到应答。检查 --target / --config。",
                    "en": "The target could not be reached ({kinds}): no request was answered. Check "
                          "--target / --config."},
    "table_head": {"zh": "用户数", "en": "users"},
    "rate_head": {"zh": "到达率/秒", "en": "rate/s"},
    "errors_head": {"zh": "错误率", "en": "errors"},
    "gen_head": {"zh": "压测机", "en": "generator"},
    "gen_ok": {"zh": "正常", "en": "ok"},
    "gen_sat": {"zh": "饱和", "en": "SATURATED"},
    "per_service": {"zh": "  按服务（{users}）：", "en": "  per service ({users}):"},
    "err_kinds": {"zh": "  错误类型：{kinds}", "en": "  errors by kind: {kinds}"},
    "unfinished": {"zh": "  截止时仍未完成的请求：{n} 个（最长已等待 {ms} ms）",
                   "en": "  requests still running at the deadline: {n} (oldest {ms} ms)"},
    "thresholds": {"zh": "阈值判定：", "en": "Thresholds:"},
    "th_pass": {"zh": "通过", "en": "pass"},
    "th_fail": {"zh": "不通过", "en": "FAIL"},
    "th_na": {"zh": "未测（没有该档）", "en": "not measured (no such step)"},
    "th_src_cli": {"zh": "命令行", "en": "command line"},
    "bands_head": {"zh": "平台运行性能（3.3，单服务、顺序执行，按中位数归入时间段）：",
                   "en": "Platform performance (3.3; single service, sequential, band of the median):"},
    "bands_cols": {"zh": "编号      项目                        "
                         "          中位数    四分位距  次数  失败  时间段",
                   "en": "item      measurement                           median         IQR  "
                         "runs  fail  band"},
    "band_base": {"zh": "  查询基数：{n} 条{note}", "en": "  query base: {n} records{note}"},
    "band_base_low": {"zh": "（少于 3.3.1.2 要求的 {need} 条）",
                      "en": " (below the {need} 3.3.1.2 asks for)"},
    "band_base_declared": {"zh": "（用户声明，工具未核实）", "en": " (declared by the user, not verified)"},
    "band_base_unknown": {"zh": "未知（用 --base-records 声明）",
                          "en": "unknown (declare it with --base-records)"},
    "band_flow": {"zh": "  门诊流程步骤：{steps}", "en": "  outpatient flow steps: {steps}"},
    "bands_none": {"zh": "测评定义 {id} 没有平台性能时间段（bands），无法按时间段记录。",
                   "en": "The assessment definition {id} has no performance bands."},
    "written": {"zh": "结果：{path}", "en": "Results: {path}"},
    "no_mode": {"zh": "请给出 --users（闭合模型）、--rate（开放模型）或 --bands。",
                "en": "Give --users (closed model), --rate (open model) or --bands."},
    "rate_locust": {"zh": "开放模型（--rate）只由内置引擎提供；Locust 是闭合模型。",
                    "en": "The open model (--rate) is offered by the built-in engine only; Locust is "
                          "a closed-model engine."},
    "locust_missing": {"zh": "没有安装 Locust（pip install locust）。",
                       "en": "Locust is not installed (pip install locust)."},
    "locust_failed": {"zh": "Locust 运行失败：{msg}", "en": "Locust failed: {msg}"},
    "interrupted": {"zh": "已中断：已完成的档位已写入 {path}。",
                    "en": "Interrupted: finished steps are in {path}."},
    "watchdog": {"zh": "超过硬截止时间，强制结束（已完成的档位已保存）。",
                 "en": "Hard deadline exceeded: stopping now (finished steps are saved)."},
    "rate_limit_ignored": {"zh": "注意：目标配置中的 rate_limit 在压测中不生效（用 --rate 控制到达率）。",
                           "en": "Note: the target config's rate_limit does not apply to perf (use --rate)."},
    "seed_done": {"zh": "{db}：{entity} 新增 {inserted} 条，已有 {exis"
                        "ting} 条，共 {total} 条；用时 {seconds:.1f} 秒。",
                  "en": "{db}: {entity}: {inserted} new, {existing} already there, {total} in all; "
                        "{seconds:.1f} s."},
}


def m(key: str, lang: str = "zh", **kw: Any) -> str:
    return lookup(STRINGS, key, lang, **kw)
