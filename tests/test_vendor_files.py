"""Defects that real vendor files exposed (issue 13 §5), each reproduced on a document or message
written here: minified documents, registrations carrying a document, data-element code systems,
internals in messages, the platform's acknowledgement texts."""

from __future__ import annotations

import re
from pathlib import Path

from lxml import etree

from conformance.validate import Validator

EXAMPLES = Path(__file__).resolve().parents[1] / "test_cases" / "documents"
H = "{urn:hl7-org:v3}"
XSI = "{http://www.w3.org/2001/XMLSchema-instance}"


# ---------------------------------------------------------------- 4. no internals in messages
_CJK = re.compile(r"[\u4e00-\u9fff]")


def test_layer_statuses_speak_the_output_language(validator: Validator,
                                                  validator_en: Validator) -> None:
    from conformance.validate import schema
    from conformance.validate.context import DocContext
    from conformance.validate.status import LAYER_TEXTS

    inputs = {"not-cda.xml": b"<report><x/></report>", "broken.xml": b"<ClinicalDocument><",
              "unknown-type.xml": b'<ClinicalDocument xmlns="urn:hl7-org:v3"/>'}
    for name, data in inputs.items():
        zh = validator.validate_bytes(data, name).layers
        en = validator_en.validate_bytes(data, name).layers
        for layer, state in zh.items():
            assert state == "ran" or state.startswith(("ran (", "skipped: ")), state
            if state != "ran":
                assert _CJK.search(state), (name, layer, state)
                assert not _CJK.search(en[layer]), (name, layer, en[layer])
    assert validator.validate_bytes(inputs["not-cda.xml"], "x").layers["schema"] == \
        "skipped: 根元素 report 不是 CDA 文档的 ClinicalDocument"
    ctx = DocContext(validator.catalog, "zh", b"<a/>", etree.fromstring(b"<a/>"),
                     validator.validate_bytes(b"<a/>", "x"))
    assert schema.run(ctx, None, "-") == "skipped: 无法使用 CDA 模式：-"
    for key, texts in LAYER_TEXTS.items():
        assert set(texts) == {"zh", "en"} and _CJK.search(texts["zh"]), key
