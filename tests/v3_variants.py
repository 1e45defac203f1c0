"""Variants of the project's own HL7 V3 messages, written the way real systems write them
where sources disagree (issue 13 §4): shared by test_hl7v3_tolerance and test_platform_tolerance.
Every message starts from the project's message builder; nothing here is a third-party file."""

from __future__ import annotations

import re

from lxml import etree

from conformance.hl7v3.builder import MessageBuilder

B = MessageBuilder("hospital")
H = "{urn:hl7-org:v3}"
ORDER = 'root="2.16.156.10011.2.5.1.31"'
ORDER_ALT = 'root="2.16.156.10011.1.28"'
MSG_ID = re.compile(r'<id root="2\.16\.156\.10011\.2\.5\.1\.1" extension="([^"]*)"/>')
SOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"
GBK_DECL = '<?xml version="1.0" encoding="GBK"?>\n'


def req(action: str, **variables) -> str:
    return B.build_request(action, variables).decode()


def captured(message: str, action: str, declaration: str = "") -> bytes:
    """A captured HIPMessageServer request: the message as the escaped text of message (its
    own XML declaration replaced by ``declaration``)."""
    env = etree.Element(f"{{{SOAP11}}}Envelope", nsmap={"soap": SOAP11})
    call = etree.SubElement(etree.SubElement(env, f"{{{SOAP11}}}Body"), "{urn:x}HIPMessageServer")
    etree.SubElement(call, "{urn:x}action").text = action
    text = message.split("?>", 1)[1].lstrip() if message.startswith("<?xml") else message
    etree.SubElement(call, "{urn:x}message").text = declaration + text
    return etree.tostring(env, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def dset_message_id(message: str) -> str:
    """The message id written <id><item …/></id> (the samples write <id root extension/>)."""
    return MSG_ID.sub(r'<id><item root="2.16.156.10011.2.5.1.1" extension="\1"/></id>', message, 1)


def ii_sender(message: str) -> str:
    """The sender device id written <id root extension/> (the samples write <id><item …/></id>)."""
    return message.replace(
        '<id><item root="2.16.156.10011.2.5.1.3" extension="conformance-client"/></id>',
        '<id root="2.16.156.10011.2.5.1.3" extension="conformance-client"/>')
