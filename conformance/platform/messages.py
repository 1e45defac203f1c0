# ruff: noqa: E501  (a table of zh/en texts: long lines read better than split strings)
"""Texts of the reference platform (acknowledgementDetail/text, SOAP faults, log): zh-CN / en."""

from __future__ import annotations

from typing import Any

from ..i18n import lookup

MESSAGES: dict[str, dict[str, str]] = {
    "not_xml": {"zh": "消息不是格式正确的 XML：{detail}", "en": "The message is not well-formed XML: {detail}"},
    "not_hl7": {"zh": "消息根元素 {root} 不在 HL7 V3 命名空间 urn:hl7-org:v3 中。",
                "en": "The message root {root} is not in the HL7 V3 namespace urn:hl7-org:v3."},
    "unknown_action": {"zh": "未知的服务代码（action）“{action}”。可用英文服务代码或 S 代码，见 "
                             "`conformance standards services`。",
                       "en": "Unknown action '{action}'. Use an English action code or S-code; "
                             "see `conformance standards services`."},
    "wrong_interaction": {"zh": "交互 {actual} 与服务 {action} 不符（应为 {expected}）。",
                          "en": "Interaction {actual} does not fit service {action} (expected {expected})."},
    "unknown_interaction": {"zh": "本平台不提供交互 {root} 的服务。", "en": "No service of this platform takes interaction {root}."},
    "no_message_id": {"zh": "缺少消息流水号（id/@root={root} 的 extension）。",
                      "en": "The message id is missing (extension of id with root {root})."},
    "missing": {"zh": "缺少必填项：{what}", "en": "Required items are missing: {what}"},
    "missing_query": {"zh": "缺少查询参数：{what}", "en": "No query parameter given: {what}"},
    "unknown_ref": {"zh": "{what} {value} 未注册。", "en": "{what} {value} is not registered."},
    "duplicate": {"zh": "{what} {value} 已存在，请使用更新服务。", "en": "{what} {value} already exists; use the update service."},
    "not_found_update": {"zh": "{what} {value} 不存在，无法更新。", "en": "{what} {value} does not exist and cannot be updated."},
    "added": {"zh": "处理成功：{what} {value} 已登记。", "en": "Accepted: {what} {value} registered."},
    "updated": {"zh": "处理成功：{what} {value} 已更新（版本 {version}）。",
                "en": "Accepted: {what} {value} updated (version {version})."},
    "merged": {"zh": "处理成功：{merged} 已合并到 {survivor}。", "en": "Accepted: {merged} merged into {survivor}."},
    "merge_same": {"zh": "合并的两个标识指向同一记录（{value}）。", "en": "Both identifiers of the merge denote the same record ({value})."},
    "bad_base64": {"zh": "storageCode/originalText/@value 不是有效的 Base64 编码文档。",
                   "en": "storageCode/originalText/@value is not a valid base64-encoded document."},
    "doc_invalid": {"zh": "文档不符合共享文档规范（{n} 个错误）：{summary}",
                    "en": "The document does not conform ({n} errors): {summary}"},
    "more": {"zh": "；另有 {n} 个错误", "en": "; {n} more errors"},
    "found": {"zh": "查询成功：{n} 条记录。", "en": "Query succeeded: {n} record(s)."},
    "not_found": {"zh": "未找到 {what} 为 {value} 的记录。", "en": "No record found for {what} {value}."},
    "replayed": {"zh": "重复发送的相同消息（消息流水号 {id}，内容相同）：返回首次处理的应答（{ack}），未再次处理。",
                 "en": "The same message was sent again (message id {id}, same content): the first answer ({ack}) is returned; it was not processed again."},
    "warn.id_form": {"zh": "警告：{name}写作 {actual}；交互规范的示例均写作 {expected}。已识别该标识。",
                     "en": "Warning: the {name} is written {actual}; the specification's examples write {expected}. The id was recognised."},
    "warn.id_root": {"zh": "警告：{name}的根为 {actual}（消息结构期望 {expected}）；来源对此不一致，已按{name}接受。",
                     "en": "Warning: the {name} has root {actual} (the message shape expects {expected}); sources disagree, so it was accepted as the {name}."},
    "warn.disputed": {"zh": "警告：服务 {action} 收到交互 {actual}（服务目录中本服务为 {expected}）：{summary}。已按 {action} 处理，以 {response} 应答。",
                      "en": "Warning: service {action} received interaction {actual} (the catalog gives {expected} for it): {summary}. Handled as {action}, answered with {response}."},
    "id.message": {"zh": "消息流水号", "en": "message id"},
    "id.sender": {"zh": "发送方设备标识", "en": "sender device id"},
    "id.receiver": {"zh": "接收方设备标识", "en": "receiver device id"},
    "fault.content_type": {"zh": "不支持的 Content-Type“{ct}”：SOAP 1.1 用 text/xml，SOAP 1.2 用 application/soap+xml。",
                           "en": "Unsupported Content-Type '{ct}': use text/xml (SOAP 1.1) or application/soap+xml (SOAP 1.2)."},
    "fault.too_large": {"zh": "请求体过大（{size} 字节，上限 {limit} 字节）。",
                        "en": "The request body is too large ({size} bytes; limit {limit})."},
    "fault.not_xml": {"zh": "请求不是格式正确的 XML：{detail}", "en": "The request is not well-formed XML: {detail}"},
    "fault.not_envelope": {"zh": "请求不是 SOAP 信封（根元素 {root}）。", "en": "The request is not a SOAP envelope (root {root})."},
    "fault.version": {"zh": "不支持的 SOAP 版本（信封命名空间 {ns}）。", "en": "Unsupported SOAP version (envelope namespace {ns})."},
    "fault.no_body": {"zh": "SOAP Body 为空。", "en": "The SOAP Body is empty."},
    "fault.body": {"zh": "SOAP Body 中的 {el} 既不是 {op}(action, message) 也不是 HL7 V3 消息。",
                   "en": "The SOAP Body element {el} is neither {op}(action, message) nor an HL7 V3 message."},
    "fault.no_message": {"zh": "{op} 的 message 参数为空。", "en": "The message parameter of {op} is empty."},
    "fault.internal": {"zh": "平台内部错误，请查看服务器日志。", "en": "Internal platform error; see the server log."},
    "fault.injected": {"zh": "模拟故障（--faults http500）。", "en": "Injected fault (--faults http500)."},
    "fault.method": {"zh": "不支持的 HTTP 方法 {method}：SOAP 请求用 POST，WSDL 用 GET ?wsdl。",
                     "en": "HTTP method {method} not supported: POST SOAP requests, GET ?wsdl for the WSDL."},
    "fault.incomplete": {"zh": "请求体不完整（声明 {declared} 字节，收到 {got} 字节）。",
                         "en": "Incomplete request body (declared {declared} bytes, received {got})."},
}


def msg(key: str, lang: str = "zh", **kw: Any) -> str:
    return lookup(MESSAGES, key, lang, **kw)
