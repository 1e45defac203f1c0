"""What the forwarding process hands to the recorder process: one frame per exchange (the bytes
as they passed, before redaction; never written anywhere by the forwarder) and control frames.
Frames are a 4-byte big-endian length and a msgpack body."""

from __future__ import annotations

import struct

import msgspec


class Captured(msgspec.Struct, tag="x", array_like=True):
    seq: int
    started: str                       # ISO 8601 UTC, milliseconds
    duration_ms: float                 # arrival of the request → last byte of the answer sent
    method: str
    path: str                          # path and query as received
    url: str                           # where it was forwarded
    client: str
    request_headers: list[tuple[str, str]]
    request_body: bytes                # at most max_body bytes
    request_size: int                  # bytes the request body really had
    status: int | None = None
    reason: str | None = None
    response_headers: list[tuple[str, str]] = []
    response_body: bytes = b""         # at most max_body bytes (what was forwarded)
    response_size: int = 0
    error: str | None = None           # refused, reset, dns, tls, timeout-connect, timeout-read,
    error_detail: str | None = None    # bad-response, incomplete, client-gone, interrupted
    answered_by_proxy: bool = False    # 502 / 504 written by the proxy


class Started(msgspec.Struct, tag="s", array_like=True):
    listen: str                        # the URL systems send to
    upstream: str


class Stop(msgspec.Struct, tag="q", array_like=True):
    interrupted: bool = False          # Ctrl-C / SIGTERM: drain the backlog within a deadline
    lost: int = 0                      # exchanges the forwarder could not hand over
    in_flight: int = 0                 # exchanges still running when the capture ended
    command: list[str] | None = None
    command_exit: int | None = None


Frame = Captured | Started | Stop
ENCODER = msgspec.msgpack.Encoder()
DECODER = msgspec.msgpack.Decoder(Frame)
_LEN = struct.Struct("!I")


def frame(obj: Frame) -> bytes:
    body = ENCODER.encode(obj)
    return _LEN.pack(len(body)) + body


class Reader:
    """Splits a byte stream into frames."""

    def __init__(self) -> None:
        self.buf = bytearray()

    def feed(self, data: bytes) -> list[Frame]:
        self.buf += data
        out: list[Frame] = []
        pos = 0
        while len(self.buf) - pos >= 4:
            (n,) = _LEN.unpack_from(self.buf, pos)
            if len(self.buf) - pos - 4 < n:
                break
            out.append(DECODER.decode(bytes(self.buf[pos + 4:pos + 4 + n])))
            pos += 4 + n
        if pos:
            del self.buf[:pos]
        return out
