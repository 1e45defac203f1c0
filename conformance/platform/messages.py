# ruff: noqa: E501  (a table of zh/en texts: long lines read better than split strings)
"""Texts of the reference platform (acknowledgementDetail/text, SOAP faults, log): zh-CN / en."""

from __future__ import annotations

from typing import Any

from ..i18n import lookup
from .safe import MAX_TEXT_CHARS, clip

MESSAGES: dict[str, dict[str, str]] = {
    "not_xml": {"zh": "消息不是格式正确的 XML（第 {line} 行第 {column} 列）：{detail}", "en": "The message is not well-formed XML (line {line}, column {column}): {detail}"},
    "not_hl7": {"zh": "消息根元素 {root} 不在 HL7 V3 命名空间 urn:hl7-org:v3 中（其命名空间：{ns}）。",
                "en": "The message root {root} is not in the HL7 V3 namespace urn:hl7-org:v3 (its namespace: {ns})."},
    "no_namespace": {"zh": "无", "en": "none"},
    "unknown_action": {"zh": "未知的服务代码（action）“{action}”。可用英文服务代码或 S 代码，见 "
                             "`conformance standards services`。",
                       "en": "Unknown action '{action}'. Use an English action code or S-code; "
                             "see `conformance standards services`."},
    "wrong_interaction": {"zh": "交互 {actual} 与服务 {action} 不符（应为 {expected}）。",
                          "en": "Interaction {actual} does not fit service {action} (expected {expected})."},
    "unknown_interaction": {"zh": "本平台不提供交互 {root} 的服务。", "en": "No service of this platform takes interaction {root}."},
    "message_id.absent": {"zh": "缺少消息流水号：消息没有 id 元素（应为 <id root=\"{root}\" extension=\"…\"/>）。",
                          "en": "No message id: the message has no id element (expected <id root=\"{root}\" extension=\"…\"/>)."},
    "message_id.no_extension": {"zh": "消息流水号 id（root={root}）缺少 extension 属性。",
                                "en": "The message id (id with root {root}) has no extension attribute."},
    "message_id.empty_extension": {"zh": "消息流水号 id（root={root}）的 extension 为空（{found}）。",
                                   "en": "The message id (id with root {root}) has an empty extension ({found})."},
    "message_id.root_spaces": {"zh": "消息流水号 id 的 root 为 {found}，含多余的空格；应为“{root}”。",
                               "en": "The message id's root is {found}, with stray spaces; expected \"{root}\"."},
    "message_id.other_root": {"zh": "没有 root 为 {root} 的消息流水号 id；消息中 id 的 root 为 {found}。",
                              "en": "No message id with root {root}; the message's id has root {found}."},
    "absent.element": {"zh": "{label}：{where} 下没有 {name} 元素", "en": "{label}: no {name} element under {where}"},
    "absent.predicate": {"zh": "{label}：{where} 下没有 @{attr}=“{expected}”的 {name}（找到的 @{attr}：{found}）",
                         "en": "{label}: no {name} with @{attr}=\"{expected}\" under {where} (@{attr} found: {found})"},
    "absent.predicate_spaces": {"zh": "{label}：{where}/{name} 的 @{attr} 为 {found}，含多余的空格（应为“{expected}”）",
                                "en": "{label}: @{attr} of {where}/{name} is {found}, with stray spaces (expected \"{expected}\")"},
    "absent.predicate_missing": {"zh": "{label}：{where}/{name} 没有 @{attr}（应为“{expected}”）",
                                 "en": "{label}: {where}/{name} has no @{attr} (expected \"{expected}\")"},
    "absent.attribute": {"zh": "{label}：{where} 没有 @{attr} 属性", "en": "{label}: {where} has no @{attr} attribute"},
    "absent.empty": {"zh": "{label}：{where}/@{attr} 为空（{found}）", "en": "{label}: {where}/@{attr} is empty ({found})"},
    "absent.text": {"zh": "{label}：{where} 没有内容", "en": "{label}: {where} has no content"},
    "missing": {"zh": "必填项缺失或无法使用：{what}", "en": "Required items are missing or unusable: {what}"},
    "missing_query": {"zh": "没有可用的查询参数（应有其一）：{what}", "en": "No usable query parameter (one of these is needed): {what}"},
    "unknown_ref": {"zh": "{what} {value} 未注册。", "en": "{what} {value} is not registered."},
    "duplicate": {"zh": "{what} {value} 已存在，请使用更新服务。", "en": "{what} {value} already exists; use the update service."},
    "not_found_update": {"zh": "{what} {value} 不存在，无法更新。", "en": "{what} {value} does not exist and cannot be updated."},
    "added": {"zh": "处理成功：{what} {value} 已登记。", "en": "Accepted: {what} {value} registered."},
    "updated": {"zh": "处理成功：{what} {value} 已更新（版本 {version}）。",
                "en": "Accepted: {what} {value} updated (version {version})."},
    "merged": {"zh": "处理成功：{merged} 已合并到 {survivor}。", "en": "Accepted: {merged} merged into {survivor}."},
    "merge_same": {"zh": "合并的两个标识指向同一记录（{value}）。", "en": "Both identifiers of the merge denote the same record ({value})."},
    "bad_base64": {"zh": "所载文档 {path} 不是有效的 Base64 编码（取值以 {found} 开头）。",
                   "en": "The carried document {path} is not valid base64 (the value begins {found})."},
    "doc_invalid": {"zh": "所载文档不符合共享文档规范（{n} 个错误）：{summary}",
                    "en": "The carried document does not conform ({n} errors): {summary}"},
    "doc_error": {"zh": "{rule}（{where}）：{message}", "en": "{rule} ({where}): {message}"},
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
    "patient_no_records": {"zh": "{what} {value} 已登记，但没有可返回的记录（{service}）。",
                           "en": "{what} {value} is registered, but there are no records of it to return ({service})."},
    "none_found": {"zh": "没有可返回的记录（{service}）。", "en": "There are no records to return ({service})."},
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
    # a value from the request (an action, an id, an element name) is bounded and escaped
    return lookup(MESSAGES, key, lang,
                  **{k: clip(v, MAX_TEXT_CHARS) if isinstance(v, str) else v for k, v in kw.items()})
