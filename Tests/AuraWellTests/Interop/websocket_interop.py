#!/usr/bin/env python3
"""Independent-client interoperability checks for the AuraWell WebSocket server (RFC 6455).

Usage: python3 websocket_interop.py ws://127.0.0.1:PORT

The server must already be running as
    aurawell serve --port 0 --enable-echo --max-message-bytes 16777216
Every check runs with its own timeout and prints `PASS name` or `FAIL name: reason`; the last
line is the summary `N passed, M failed`. The exit status is 0 only if every check passed.

Well-behaved-peer checks use the `websockets` asyncio client (an independent implementation);
checks that need frames a conforming client would never send build the bytes by hand on a raw
asyncio TCP connection and parse the server's (unmasked) frames themselves.
"""

import asyncio
import base64
import hashlib
import json
import os
import re
import sys
import urllib.parse
from dataclasses import dataclass

from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

CHECK_TIMEOUT = 10.0
MESSAGE_LIMIT = 16 * 1024 * 1024
WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

CONTINUATION, TEXT, BINARY = 0x0, 0x1, 0x2
CLOSE, PING, PONG = 0x8, 0x9, 0xA

# "κόσμε" followed by ED A0 80 (a UTF-16 surrogate, invalid in UTF-8) and "edited".
INVALID_UTF8 = bytes.fromhex("cebae1bdb9cebcceb5eda080656469746564")
VALID_PREFIX_LENGTH = 9  # INVALID_UTF8[:9] is "κόσμε", valid on its own.

TIMESTAMP_PATTERN = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


class CheckFailure(Exception):
    """A check's expectation was not met; the message says what happened instead."""


def require(condition, message):
    if not condition:
        raise CheckFailure(message)


def preview(data, limit=60):
    """A short, printable description of a payload for failure messages."""
    text = repr(data[:limit])
    return text + (f"... ({len(data)} bytes)" if len(data) > limit else "")


# MARK: - websockets client


def ws_connect(url, path, **options):
    """The `websockets` client with no compression, no keepalive pings and no proxy."""
    settings = dict(
        max_size=None, compression=None, ping_interval=None, close_timeout=2, open_timeout=5, proxy=None
    )
    settings.update(options)
    return connect(url.rstrip("/") + path, **settings)


async def expect_http_status(url, path, status):
    """Opens `path` with the websockets client and expects the upgrade to be refused with `status`."""
    try:
        async with ws_connect(url, path):
            raise CheckFailure(f"upgrade to {path} succeeded, expected HTTP {status}")
    except InvalidStatus as error:
        got = error.response.status_code
        require(got == status, f"{path}: expected HTTP {status}, got {got}")


async def expect_echo(ws, message):
    """Sends `message` (str or bytes, or an iterable of fragments) and expects it back intact."""
    await ws.send(message)
    if isinstance(message, (str, bytes)):
        expected = message
    else:
        fragments = list(message)
        expected = "".join(fragments) if isinstance(fragments[0], str) else b"".join(fragments)
    reply = await ws.recv()
    require(
        type(reply) is type(expected),
        f"sent a {type(expected).__name__} message, got a {type(reply).__name__} one back",
    )
    require(
        reply == expected,
        f"echo differs: sent {preview(expected)} (length {len(expected)}), got {preview(reply)} (length {len(reply)})",
    )


# MARK: - Raw connections


def accept_value(key):
    return base64.b64encode(hashlib.sha1((key + WS_GUID).encode()).digest()).decode()


def upgrade_request(url, path, key, version="13"):
    netloc = urllib.parse.urlsplit(url).netloc
    lines = [
        f"GET {path} HTTP/1.1",
        f"Host: {netloc}",
        "Upgrade: websocket",
        "Connection: Upgrade",
        f"Sec-WebSocket-Key: {key}",
        f"Sec-WebSocket-Version: {version}",
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


async def read_http_head(reader):
    """Reads a response head; returns (status, {lowercased name: [values]})."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as error:
        raise CheckFailure(f"connection closed before a full HTTP response head: {preview(error.partial)}")
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    require(len(parts) >= 2 and parts[0] == "HTTP/1.1" and parts[1].isdigit(), f"bad status line {lines[0]!r}")
    headers = {}
    for line in lines[1:]:
        if line:
            name, _, value = line.partition(":")
            headers.setdefault(name.strip().lower(), []).append(value.strip())
    return int(parts[1]), headers


async def raw_handshake(url, path="/ws/echo", *, key=None, version="13", trailing=b""):
    """Sends an upgrade request (and `trailing` bytes in the same write) on a new TCP connection.

    Returns (reader, writer, status, headers, key); the caller closes the writer.
    """
    parts = urllib.parse.urlsplit(url)
    reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
    key = key or base64.b64encode(os.urandom(16)).decode()
    writer.write(upgrade_request(url, path, key, version) + trailing)
    await writer.drain()
    try:
        status, headers = await read_http_head(reader)
    except BaseException:
        writer.close()
        raise
    return reader, writer, status, headers, key


def verify_upgrade_response(status, headers, key):
    require(status == 101, f"expected 101 Switching Protocols, got {status}")
    upgrade = headers.get("upgrade", [])
    require([v.lower() for v in upgrade] == ["websocket"], f"Upgrade header is {upgrade}")
    connection = ",".join(headers.get("connection", [])).lower()
    require("upgrade" in [t.strip() for t in connection.split(",")], f"Connection header is {connection!r}")
    accept = headers.get("sec-websocket-accept", [])
    require(accept == [accept_value(key)], f"Sec-WebSocket-Accept is {accept}, expected {accept_value(key)}")
    require("sec-websocket-extensions" not in headers, "server negotiated an extension nobody offered")
    require("sec-websocket-protocol" not in headers, "server selected a subprotocol nobody offered")


async def raw_connect(url, path="/ws/echo", *, trailing=b""):
    """A raw WebSocket connection after a verified 101; returns (reader, writer)."""
    reader, writer, status, headers, key = await raw_handshake(url, path, trailing=trailing)
    try:
        verify_upgrade_response(status, headers, key)
    except BaseException:
        writer.close()
        raise
    return reader, writer


def apply_mask(data, key):
    """XORs `data` with the repeated 4-byte `key` (masking and unmasking are the same)."""
    if not data:
        return b""
    keystream = (key * (len(data) // 4 + 1))[: len(data)]
    return (int.from_bytes(data, "big") ^ int.from_bytes(keystream, "big")).to_bytes(len(data), "big")


def masked_frame(opcode, payload=b"", fin=True, rsv=0, mask=True, length=None):
    """One client frame. `rsv` is the 3-bit RSV1..RSV3 field; `length` overrides the announced
    payload length (to announce more than is sent)."""
    length = len(payload) if length is None else length
    first = (0x80 if fin else 0) | (rsv << 4) | opcode
    mask_bit = 0x80 if mask else 0
    if length < 126:
        header = bytes([first, mask_bit | length])
    elif length < 65536:
        header = bytes([first, mask_bit | 126]) + length.to_bytes(2, "big")
    else:
        header = bytes([first, mask_bit | 127]) + length.to_bytes(8, "big")
    if not mask:
        return header + payload
    key = os.urandom(4)
    return header + key + apply_mask(payload, key)


def close_payload(code, reason=b""):
    return code.to_bytes(2, "big") + reason


@dataclass
class Frame:
    fin: bool
    opcode: int
    payload: bytes

    def describe(self):
        names = {CONTINUATION: "continuation", TEXT: "text", BINARY: "binary", CLOSE: "close", PING: "ping", PONG: "pong"}
        name = names.get(self.opcode, f"opcode {self.opcode}")
        if self.opcode == CLOSE and len(self.payload) >= 2:
            return f"close frame with code {int.from_bytes(self.payload[:2], 'big')} reason {self.payload[2:]!r}"
        return f"{name} frame (fin={int(self.fin)}) {preview(self.payload)}"


async def read_frame(reader):
    """Reads one server frame, checking what RFC 6455 requires of a server's frames."""
    try:
        first, second = await reader.readexactly(2)
        length = second & 0x7F
        if length == 126:
            length = int.from_bytes(await reader.readexactly(2), "big")
        elif length == 127:
            length = int.from_bytes(await reader.readexactly(8), "big")
        require(not second & 0x80, "server sent a masked frame (RFC 6455 5.1 forbids it)")
        payload = await reader.readexactly(length)
    except asyncio.IncompleteReadError as error:
        raise CheckFailure(f"connection closed in the middle of or before a frame (got {preview(error.partial)})")
    frame = Frame(bool(first & 0x80), first & 0x0F, payload)
    require(not first & 0x70, f"server set RSV bits {(first >> 4) & 7:#05b} on {frame.describe()}")
    if frame.opcode >= CLOSE:
        require(frame.fin and length <= 125, f"invalid control frame from the server: {frame.describe()}")
    return frame


async def read_message(reader):
    """Reads frames until one whole data message; returns (opcode, payload). Fails on a control
    frame, so it can only be used where none is expected."""
    frame = await read_frame(reader)
    require(frame.opcode in (TEXT, BINARY), f"expected a data message, got {frame.describe()}")
    opcode, parts = frame.opcode, [frame.payload]
    while not frame.fin:
        frame = await read_frame(reader)
        require(frame.opcode == CONTINUATION, f"expected a continuation frame, got {frame.describe()}")
        parts.append(frame.payload)
    return opcode, b"".join(parts)


async def expect_message(reader, opcode, payload):
    got_opcode, got = await read_message(reader)
    require(got_opcode == opcode, f"expected opcode {opcode}, got {got_opcode} with {preview(got)}")
    require(got == payload, f"expected {preview(payload)}, got {preview(got)}")


async def expect_eof(reader):
    """The server closes TCP after its close frame; nothing may follow the close frame."""
    while True:
        try:
            data = await reader.read(65536)
        except ConnectionResetError:
            return
        if not data:
            return
        raise CheckFailure(f"data after the close frame: {preview(data)}")


async def expect_close(reader, code):
    """The next server frame is a close frame with `code` (None: an empty close payload or 1000),
    then the server closes the TCP connection."""
    frame = await read_frame(reader)
    require(frame.opcode == CLOSE, f"expected a close frame with code {code}, got {frame.describe()}")
    payload = frame.payload
    require(len(payload) != 1, "server sent a close frame with a 1-byte payload")
    got = int.from_bytes(payload[:2], "big") if payload else None
    if code is None:
        require(got in (None, 1000), f"expected an empty close payload or 1000, got {frame.describe()}")
    else:
        require(got == code, f"expected close code {code}, got {frame.describe() if got else 'an empty close payload'}")
    try:
        payload[2:].decode("utf-8")
    except UnicodeDecodeError:
        raise CheckFailure(f"close reason is not valid UTF-8: {payload[2:]!r}")
    await expect_eof(reader)


async def raw_exchange(url, frames, code, *, expect_before_close=()):
    """Connects, sends `frames` in one write, expects the messages `expect_before_close`
    ((opcode, payload) pairs; PONG for a pong) and then a close frame with `code` and EOF."""
    reader, writer = await raw_connect(url)
    try:
        writer.write(b"".join(frames))
        await writer.drain()
        for opcode, payload in expect_before_close:
            if opcode == PONG:
                await expect_pong(reader, payload)
            else:
                await expect_message(reader, opcode, payload)
        await expect_close(reader, code)
    finally:
        writer.close()


async def expect_pong(reader, payload):
    frame = await read_frame(reader)
    require(frame.opcode == PONG, f"expected a pong with {preview(payload)}, got {frame.describe()}")
    require(frame.payload == payload, f"pong payload {preview(frame.payload)}, expected {preview(payload)}")


# MARK: - Checks: handshake


async def check_handshake_websockets(url):
    async with ws_connect(url, "/ws/echo") as ws:
        response = ws.response
        require(response.status_code == 101, f"status {response.status_code}")
        require(response.headers.get("Upgrade", "").lower() == "websocket", f"Upgrade: {response.headers.get('Upgrade')}")
        require("upgrade" in response.headers.get("Connection", "").lower(), f"Connection: {response.headers.get('Connection')}")
        key = ws.request.headers["Sec-WebSocket-Key"]
        accept = response.headers.get("Sec-WebSocket-Accept")
        require(accept == accept_value(key), f"Sec-WebSocket-Accept {accept!r}, expected {accept_value(key)!r}")
        require(ws.response.headers.get("Sec-WebSocket-Extensions") is None, "unexpected Sec-WebSocket-Extensions")
        await expect_echo(ws, "handshake")


async def check_handshake_rfc_example_key(url):
    # RFC 6455 section 1.3: this key must be answered with s3pPLMBiTxaQ9kYGzzhZRbK+xOo=.
    key = "dGhlIHNhbXBsZSBub25jZQ=="
    reader, writer, status, headers, _ = await raw_handshake(url, key=key)
    try:
        verify_upgrade_response(status, headers, key)
        require(headers["sec-websocket-accept"] == ["s3pPLMBiTxaQ9kYGzzhZRbK+xOo="], "wrong accept for the RFC key")
        writer.write(masked_frame(TEXT, b"rfc key"))
        await expect_message(reader, TEXT, b"rfc key")
    finally:
        writer.close()


async def check_pipelined_frame(url):
    # The upgrade request and a masked text frame in ONE write.
    reader, writer = await raw_connect(url, trailing=masked_frame(TEXT, b"pipelined"))
    try:
        await expect_message(reader, TEXT, b"pipelined")
    finally:
        writer.close()


# MARK: - Checks: echo


def text_echo_check(message):
    async def check(url):
        async with ws_connect(url, "/ws/echo") as ws:
            await expect_echo(ws, message)
    return check


def binary_echo_check(size):
    async def check(url):
        async with ws_connect(url, "/ws/echo") as ws:
            await expect_echo(ws, os.urandom(size))
    return check


async def check_fragmented_text_websockets(url):
    async with ws_connect(url, "/ws/echo") as ws:
        await expect_echo(ws, ["frag1", "frag2", "frag3"])
        await expect_echo(ws, ["你好，", "世界 ", "🙂"])


async def check_fragmented_binary_websockets(url):
    async with ws_connect(url, "/ws/echo") as ws:
        await expect_echo(ws, [os.urandom(10), os.urandom(70000), b"", os.urandom(3)])


async def check_fragmented_text_split_code_point(url):
    # A valid message whose 2-byte and 3-byte code points straddle fragment boundaries.
    text = "κόσμε".encode()
    reader, writer = await raw_connect(url)
    try:
        writer.write(
            masked_frame(TEXT, text[:1], fin=False)
            + masked_frame(CONTINUATION, text[1:3], fin=False)
            + masked_frame(CONTINUATION, text[3:], fin=True)
        )
        await expect_message(reader, TEXT, text)
    finally:
        writer.close()


async def check_fragments_with_empty_frames(url):
    reader, writer = await raw_connect(url)
    try:
        writer.write(
            masked_frame(BINARY, b"", fin=False)
            + masked_frame(CONTINUATION, b"\x00\x01", fin=False)
            + masked_frame(CONTINUATION, b"", fin=True)
        )
        await expect_message(reader, BINARY, b"\x00\x01")
    finally:
        writer.close()


async def check_fragments_with_interleaved_ping(url):
    reader, writer = await raw_connect(url)
    try:
        writer.write(
            masked_frame(TEXT, b"frag1-", fin=False)
            + masked_frame(PING, b"between")
            + masked_frame(CONTINUATION, b"frag2", fin=True)
        )
        await expect_pong(reader, b"between")
        await expect_message(reader, TEXT, b"frag1-frag2")
    finally:
        writer.close()


# MARK: - Checks: ping and pong


async def check_ping_websockets(url):
    async with ws_connect(url, "/ws/echo") as ws:
        pong_waiter = await ws.ping(b"abc")
        await pong_waiter
        await expect_echo(ws, "after ping")


async def check_ping_before_message(url):
    reader, writer = await raw_connect(url)
    try:
        writer.write(masked_frame(PING, b"ping payload") + masked_frame(TEXT, b"after ping"))
        await expect_pong(reader, b"ping payload")
        await expect_message(reader, TEXT, b"after ping")
    finally:
        writer.close()


async def check_empty_and_max_ping(url):
    reader, writer = await raw_connect(url)
    try:
        big = os.urandom(125)
        writer.write(masked_frame(PING, b"") + masked_frame(PING, big))
        await expect_pong(reader, b"")
        await expect_pong(reader, big)
    finally:
        writer.close()


async def check_unsolicited_pong_ignored(url):
    reader, writer = await raw_connect(url)
    try:
        writer.write(masked_frame(PONG, b"unsolicited") + masked_frame(TEXT, b"still open"))
        await expect_message(reader, TEXT, b"still open")
    finally:
        writer.close()


# MARK: - Checks: close handshake


async def check_close_websockets(url):
    async with ws_connect(url, "/ws/echo") as ws:
        await expect_echo(ws, "before close")
        await ws.close(1000)
        received = ws.protocol.close_rcvd
        require(received is not None, "no close frame received from the server")
        require(received.code == 1000, f"server's close frame has code {received.code}")
        require(ws.close_code == 1000, f"close_code is {ws.close_code}")


def valid_close_check(code):
    async def check(url):
        await raw_exchange(url, [masked_frame(CLOSE, close_payload(code, b"bye"))], code)
    return check


async def check_close_empty_payload(url):
    await raw_exchange(url, [masked_frame(CLOSE, b"")], None)


def protocol_error_check(*frames, code=1002):
    async def check(url):
        await raw_exchange(url, list(frames), code)
    return check


# MARK: - Checks: chat endpoint


async def check_chat_welcome(url):
    async with ws_connect(url, "/ws/chat/user_1") as ws:
        first = await asyncio.wait_for(ws.recv(), 5)
        require(isinstance(first, str), f"first message is {type(first).__name__}, expected text")
        try:
            welcome = json.loads(first)
        except ValueError as error:
            raise CheckFailure(f"welcome is not JSON ({error}): {first!r}")
        require(isinstance(welcome, dict), f"welcome is not a JSON object: {first!r}")
        for field in ("type", "message", "user_id", "connection_id", "active_member_id", "provider", "timestamp"):
            require(field in welcome, f"welcome lacks {field!r}: {first}")
            require(isinstance(welcome[field], str), f"welcome field {field!r} is not a string: {first}")
        require(welcome["type"] == "welcome", f"type is {welcome['type']!r}")
        require(welcome["user_id"] == "user_1", f"user_id is {welcome['user_id']!r}")
        require(welcome["connection_id"], "connection_id is empty")
        require(TIMESTAMP_PATTERN.match(welcome["timestamp"]), f"timestamp {welcome['timestamp']!r}")


async def check_chat_longest_user_id(url):
    user_id = "a" * 64
    async with ws_connect(url, f"/ws/chat/{user_id}") as ws:
        welcome = json.loads(await asyncio.wait_for(ws.recv(), 5))
        require(welcome.get("user_id") == user_id, f"user_id is {welcome.get('user_id')!r}")


async def check_version_8(url):
    reader, writer, status, headers, _ = await raw_handshake(url, version="8")
    writer.close()
    require(status == 426, f"expected 426 Upgrade Required, got {status}")
    versions = [v.strip() for value in headers.get("sec-websocket-version", []) for v in value.split(",")]
    require("13" in versions, f"Sec-WebSocket-Version header is {headers.get('sec-websocket-version')}")


# MARK: - Checks: many clients


async def check_many_clients(url, clients=200, messages=10):
    async def client(number):
        async with ws_connect(url, "/ws/echo", open_timeout=CHECK_TIMEOUT) as ws:
            sent = [f"client {number} message {i} " + "x" * (number % 50) for i in range(messages)]
            for message in sent:
                await ws.send(message)
            received = [await ws.recv() for _ in sent]
            require(received == sent, f"client {number} got {received[:3]}... instead of its own messages")

    results = await asyncio.gather(*(client(n) for n in range(clients)), return_exceptions=True)
    failures = [r for r in results if isinstance(r, BaseException)]
    if failures:
        raise CheckFailure(f"{len(failures)} of {clients} clients failed, first: {failures[0]!r}")


# MARK: - Running


def all_checks():
    """(name, async function taking the server URL) for every check, in order."""
    checks = [
        ("handshake: websockets client, Upgrade and Sec-WebSocket-Accept", check_handshake_websockets),
        ("handshake: raw client, RFC 6455 example key", check_handshake_rfc_example_key),
        ("handshake: request and first frame in one write", check_pipelined_frame),
        ("text echo: ASCII", text_echo_check("Hello, AuraWell!")),
        ("text echo: Chinese", text_echo_check("你好，世界！欢迎使用健康助手")),
        ("text echo: emoji", text_echo_check("😀🎉👍🏽 and 🇨🇳")),
        ("text echo: empty string", text_echo_check("")),
    ]
    for size in (0, 1, 125, 126, 65535, 65536, 1024 * 1024, MESSAGE_LIMIT):
        checks.append((f"binary echo: {size} bytes", binary_echo_check(size)))
    checks += [
        ("fragmentation: text fragments via websockets", check_fragmented_text_websockets),
        ("fragmentation: binary fragments via websockets", check_fragmented_binary_websockets),
        ("fragmentation: code points split across fragments", check_fragmented_text_split_code_point),
        ("fragmentation: empty first and last fragments", check_fragments_with_empty_frames),
        ("fragmentation: ping between fragments -> pong, then joined echo", check_fragments_with_interleaved_ping),
        ("ping: websockets ping is answered", check_ping_websockets),
        ("ping: pong with the same payload before a later echo", check_ping_before_message),
        ("ping: empty and 125-byte pings", check_empty_and_max_ping),
        ("pong: unsolicited pong is ignored", check_unsolicited_pong_ignored),
        ("close: websockets client close(1000)", check_close_websockets),
    ]
    for code in (1000, 1001, 3000, 4999):
        checks.append((f"close: code {code} is echoed", valid_close_check(code)))
    checks.append(("close: empty close payload is answered", check_close_empty_payload))
    checks.append(("close: 1-byte close payload -> 1002", protocol_error_check(masked_frame(CLOSE, b"\x03"))))
    for code in (999, 1004, 1005, 1006, 1015, 5000):
        checks.append((f"close: invalid code {code} -> 1002", protocol_error_check(masked_frame(CLOSE, close_payload(code)))))
    checks.append((
        "close: invalid UTF-8 close reason -> 1007",
        protocol_error_check(masked_frame(CLOSE, close_payload(1000, INVALID_UTF8)), code=1007),
    ))
    checks += [
        ("violation: unmasked client frame -> 1002", protocol_error_check(masked_frame(TEXT, b"hello", mask=False))),
        ("violation: RSV1 set -> 1002", protocol_error_check(masked_frame(TEXT, b"rsv1", rsv=0b100))),
        ("violation: RSV2 set -> 1002", protocol_error_check(masked_frame(TEXT, b"rsv2", rsv=0b010))),
        ("violation: RSV3 set -> 1002", protocol_error_check(masked_frame(BINARY, b"rsv3", rsv=0b001))),
        ("violation: reserved data opcode 3 -> 1002", protocol_error_check(masked_frame(3, b"x"))),
        ("violation: reserved control opcode 11 -> 1002", protocol_error_check(masked_frame(11, b"x"))),
        ("violation: 126-byte ping -> 1002", protocol_error_check(masked_frame(PING, b"p" * 126))),
        ("violation: fragmented ping -> 1002", protocol_error_check(masked_frame(PING, b"half", fin=False))),
        ("violation: continuation with no message -> 1002", protocol_error_check(masked_frame(CONTINUATION, b"orphan"))),
        (
            "violation: new text frame inside a fragmented message -> 1002",
            protocol_error_check(masked_frame(TEXT, b"first", fin=False), masked_frame(TEXT, b"second")),
        ),
        ("utf-8: invalid text message -> 1007", protocol_error_check(masked_frame(TEXT, INVALID_UTF8), code=1007)),
        (
            "utf-8: invalid byte in the 2nd fragment -> 1007",
            protocol_error_check(
                masked_frame(TEXT, INVALID_UTF8[:VALID_PREFIX_LENGTH], fin=False),
                masked_frame(CONTINUATION, INVALID_UTF8[VALID_PREFIX_LENGTH:], fin=True),
                code=1007,
            ),
        ),
        (
            "utf-8: invalid byte in a non-final fragment fails fast -> 1007",
            protocol_error_check(
                masked_frame(TEXT, INVALID_UTF8[:VALID_PREFIX_LENGTH], fin=False),
                masked_frame(CONTINUATION, INVALID_UTF8[VALID_PREFIX_LENGTH:], fin=False),
                code=1007,
            ),
        ),
        (
            "limit: frame announcing 16 MiB + 1 bytes -> 1009",
            protocol_error_check(masked_frame(BINARY, b"abcd", length=MESSAGE_LIMIT + 1), code=1009),
        ),
        ("chat: welcome message for user_1", check_chat_welcome),
        ("chat: 64-character user id is accepted", check_chat_longest_user_id),
        ("chat: user id with a space -> HTTP 400", lambda url: expect_http_status(url, "/ws/chat/bad%20id", 400)),
        ("chat: 65-character user id -> HTTP 400", lambda url: expect_http_status(url, "/ws/chat/" + "a" * 65, 400)),
        ("http: unknown path -> HTTP 404", lambda url: expect_http_status(url, "/ws/no-such-endpoint", 404)),
        ("http: Sec-WebSocket-Version 8 -> 426 with Sec-WebSocket-Version: 13", check_version_8),
        ("concurrency: 200 clients x 10 messages each", check_many_clients),
    ]
    return checks


async def run_check(name, check, url):
    """Runs one check under its timeout; returns True if it passed. Prints its result line."""
    try:
        await asyncio.wait_for(check(url), CHECK_TIMEOUT)
    except asyncio.TimeoutError:
        reason = f"timed out after {CHECK_TIMEOUT:g} s"
    except CheckFailure as failure:
        reason = str(failure)
    except Exception as error:  # Anything unexpected is a failure of this check only.
        reason = f"{type(error).__name__}: {error}"
    else:
        print(f"PASS {name}", flush=True)
        return True
    print(f"FAIL {name}: {' '.join(reason.split())}", flush=True)
    return False


async def main(url):
    results = [await run_check(name, check, url) for name, check in all_checks()]
    passed = sum(results)
    print(f"{passed} passed, {len(results) - passed} failed", flush=True)
    return 0 if passed == len(results) else 1


if __name__ == "__main__":
    if len(sys.argv) != 2 or not sys.argv[1].startswith("ws://"):
        print("usage: websocket_interop.py ws://HOST:PORT", file=sys.stderr)
        sys.exit(2)
    sys.exit(asyncio.run(main(sys.argv[1])))
