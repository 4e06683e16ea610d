#!/usr/bin/env python3
"""A seeded, time-boxed protocol fuzzer for the chat server.

It starts its own chat-server (kit.Server: SQLite, bcrypt cost 4) and throws
generated inputs at it for --seconds: HTTP JSON bodies, query strings,
multipart uploads, paths, headers (raw sockets where `requests` cannot send
the bytes), and Engine.IO / Socket.IO packets on both transports (raw polling
HTTP and raw websocket frames).

Every input is either WELL-FORMED (generated from the grammar: valid HTTP, valid
Engine.IO / Socket.IO packets) or MALFORMED (made by mutation, or past a
limit). The verdict:
  - a 5xx answer, to anything, fails;
  - a "reset" fails: the server closes a connection (HTTP: no answer; Engine.IO:
    close packet, websocket close, lost connection, unknown session) in answer
    to a well-formed request or packet;
  - a "hang" fails: no answer within 10 s to a well-formed request or packet;
  - a "death" fails: the server process exits;
  - a "lost" message fails: after every batch of inputs (~1.5 s) a canary user,
    logged in once at the start and kept connected over websocket, sends a
    unique message with an ack and must see its own `new_message` broadcast
    within 10 s. A canary connection that the server drops counts as a reset.
Closes that answer malformed input are expected: they are counted apart
("expected closes") and never fail the run.

Inputs are drawn from random.Random(f"{seed}:{index}"), so `--seed N`
replays the same inputs in the same order (timing aside). Nothing is recorded
but counters; a failure prints its category, input number and input (repr,
truncated to 300 characters) when it happens. The last two lines are
`FUZZ_SUMMARY {json}` and `fuzz: ok` or `fuzz: FAILED (...)`; exit 1 on failure.

Run: .venv/bin/python tests/reliability/fuzz_protocol.py [--seed N] [--seconds 60]
"""

import argparse
import base64
import json
import random
import shutil
import socket
import struct
import sys
import time
import uuid
import zlib
from collections import Counter
from pathlib import Path
from urllib.parse import unquote_to_bytes

sys.path.insert(0, str(Path(__file__).resolve().parent))

import kit  # noqa: E402
import requests  # noqa: E402
import websocket  # noqa: E402

HANG_S = 10.0  # a well-formed input unanswered this long is a hang
MALFORMED_WAIT_S = 3.0  # how long to wait on an input nobody owes an answer to
MAX_WS_MESSAGE = 1_000_000  # PROTOCOL.md §1 maxHttpBufferSize
MAX_PRINTS_PER_KEY = 5
REPR_MAX = 300

CATEGORIES = {
    # name: weight of the draw (a socket session costs ~30 times an HTTP request)
    "http_json": 6.0,
    "query": 4.0,
    "upload": 6.0,
    "path": 5.0,
    "headers": 6.0,
    "polling": 2.0,
    "websocket": 3.0,
}


def short(x):
    r = repr(x)
    return r if len(r) <= REPR_MAX else r[: REPR_MAX - 3] + "..."


# --------------------------------------------------------------------------
# Bookkeeping


class Stats:
    def __init__(self):
        self.inputs = Counter()  # category -> inputs tried
        self.wellformed = Counter()
        self.malformed = Counter()
        self.expected_closes = Counter()  # category -> closes/timeouts after malformed input
        self.failures = Counter()  # kind -> count (5xx, reset, hang)
        self.failure_keys = Counter()  # "kind|category|label" -> count
        self.status = Counter()  # HTTP status classes seen
        self.time_s = Counter()  # category -> seconds spent
        self.deaths = 0
        self.lost = 0
        self.canary_checks = 0
        self.canary_reconnects = 0
        self.identity_relogins = 0

    def fail(self, kind, category, label, index, inp, detail):
        self.failures[kind] += 1
        key = f"{kind}|{category}|{label}"
        self.failure_keys[key] += 1
        n = self.failure_keys[key]
        if n <= MAX_PRINTS_PER_KEY:
            print(f"FAIL {kind} [{category}] input#{index} ({label}): {short(inp)} -> {detail}", flush=True)
            if n == MAX_PRINTS_PER_KEY:
                print(f"     (further '{key}' failures are counted, not printed)", flush=True)


class Input:
    """One input's identity for reports."""

    def __init__(self, category, index):
        self.category = category
        self.index = index


# --------------------------------------------------------------------------
# Random values


UNICODE_BITS = [
    "é", "ü", "ß", "中文", "日本語", "한국어", "العربية", "עברית", "😀", "👍🏽", "\u200b", "\u200d", "\u202e",
    "\ufeff", "e\u0301", "Ω", "\U0001f600", "\u2028", "\u2029", "\uffff", "𝔘𝔫𝔦",
]
ASCII_ODD = ['"', "\\", "/", "'", "<", ">", "&", "%", "{", "}", "[", "]", ",", ":", ";", "=", "?", "#", "\n", "\r", "\t", " ", "\x00", "\x01", "\x1e", "\x7f"]


def rand_text(rng, maxlen=40):
    kind = rng.random()
    n = rng.randint(0, maxlen)
    if kind < 0.35:
        return "".join(rng.choice(kit.ALNUM + "_-") for _ in range(n))
    if kind < 0.6:
        return "".join(rng.choice(UNICODE_BITS + list(kit.ALNUM)) for _ in range(n))
    if kind < 0.85:
        return "".join(rng.choice(ASCII_ODD + list(kit.ALNUM) + UNICODE_BITS) for _ in range(n))
    if kind < 0.95:
        return rng.choice(["", " ", "  \t\n ", "null", "true", "0", "-1", "[]", "{}", "__proto__", "constructor", "%s%n", "../../etc/passwd"])
    return "".join(chr(rng.randint(1, 0xD7FF)) for _ in range(n))


def rand_json(rng, depth=0):
    r = rng.random()
    if depth > 3 or r < 0.15:
        return rng.choice([None, True, False, 0, -1, 1, 2**31, 2**53 + 1, -(2**63), 2**64, 10**30, 1.5, -0.0, 1e308])
    if r < 0.5:
        return rand_text(rng)
    if r < 0.75:
        return [rand_json(rng, depth + 1) for _ in range(rng.randint(0, 4))]
    return {rand_text(rng, 12): rand_json(rng, depth + 1) for _ in range(rng.randint(0, 4))}


def json_string(rng, s):
    """A JSON string literal for s, escaped at random but always valid JSON."""
    mode = rng.random()
    if mode < 0.4:
        return json.dumps(s, ensure_ascii=False)
    if mode < 0.7:
        return json.dumps(s, ensure_ascii=True)
    out = ['"']
    for ch in s:
        c = ord(ch)
        if ch == '"':
            out.append(rng.choice(['\\"', "\\u0022"]))
        elif ch == "\\":
            out.append(rng.choice(["\\\\", "\\u005c", "\\u005C"]))
        elif c < 0x20:
            out.append(rng.choice([f"\\u{c:04x}", {8: "\\b", 9: "\\t", 10: "\\n", 12: "\\f", 13: "\\r"}.get(c, f"\\u{c:04X}")]))
        elif ch == "/" and rng.random() < 0.5:
            out.append("\\/")
        elif rng.random() < 0.2:
            if c > 0xFFFF:
                c -= 0x10000
                out.append(f"\\u{0xD800 + (c >> 10):04x}\\u{0xDC00 + (c & 0x3FF):04x}")
            else:
                out.append(f"\\u{c:04x}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def json_text(rng, value):
    """Valid JSON text for value, with random spacing and escaping."""
    if isinstance(value, str):
        return json_string(rng, value)
    if isinstance(value, list):
        sep = rng.choice([",", ", ", " ,\n "])
        return "[" + sep.join(json_text(rng, v) for v in value) + "]"
    if isinstance(value, dict):
        sep = rng.choice([",", ", "])
        colon = rng.choice([":", ": ", " : "])
        return "{" + sep.join(json_string(rng, k) + colon + json_text(rng, v) for k, v in value.items()) + "}"
    return json.dumps(value)


def mutate_bytes(rng, data):
    """A mutation of data (bytes)."""
    data = bytearray(data)
    for _ in range(rng.randint(1, 3)):
        op = rng.random()
        if not data:
            data += bytes([rng.randint(0, 255)])
            continue
        i = rng.randrange(len(data))
        if op < 0.25:
            del data[i:]  # truncate
        elif op < 0.45:
            data[i] = rng.randint(0, 255)
        elif op < 0.6:
            data[i:i] = rng.choice([b'"', b"\\", b"{", b"[", b"]", b"}", b",", b"\xff", b"\xc3", b"\x00", b"\x1e", b"\xed\xa0\x80"])
        elif op < 0.75:
            del data[i]
        elif op < 0.85:
            j = rng.randrange(len(data))
            data[i:i] = data[min(i, j):max(i, j)]
        else:
            data += rng.choice([b"]", b"}", b"garbage", b"\x00", b"\xff\xfe", b'"'])
    return bytes(data)


def header_safe(s):
    """A header value a client can send: visible ASCII and inner spaces."""
    s = "".join(c for c in s if 0x20 <= ord(c) < 0x7F).strip()
    return s or "x"


def valid_username(rng):
    n = rng.randint(2, 20)
    pool = kit.ALNUM + "_-" + "éüß中文日本한글ДЖ"
    return "fz" + "".join(rng.choice(pool) for _ in range(n - 2))


# --------------------------------------------------------------------------
# Images


def png_chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


PNG_SIG = b"\x89PNG\r\n\x1a\n"
GIF_1x1 = b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"


def rand_image(rng):
    """(bytes, is_image_by_magic)."""
    r = rng.random()
    png = kit.PNG_1x1
    if r < 0.15:
        return png, True
    if r < 0.3:  # PNG with metadata chunks, some broken
        ihdr_end = 8 + 25
        extra = b"".join(
            png_chunk(rng.choice([b"tEXt", b"iTXt", b"zTXt", b"eXIf", b"tIME", b"iCCP", b"abCd"]), rand_text(rng, 60).encode("utf-8", "surrogatepass"))
            for _ in range(rng.randint(1, 4))
        )
        data = png[:ihdr_end] + extra + png[ihdr_end:]
        if rng.random() < 0.3:
            data = mutate_bytes(rng, data[8:]) if rng.random() < 0.5 else data[: rng.randint(8, len(data))]
            data = PNG_SIG + data if not data.startswith(PNG_SIG) else data
        return data, True
    if r < 0.42:
        return GIF_1x1 + (bytes(rng.randint(0, 255) for _ in range(rng.randint(0, 40))) if rng.random() < 0.5 else b""), True
    if r < 0.56:  # JPEG-ish: SOI, APP1 Exif / COM segments, maybe nonsense
        segs = b""
        for _ in range(rng.randint(0, 4)):
            payload = rng.choice([b"Exif\x00\x00", b"http://ns.adobe.com/xap/1.0/\x00", b"JFIF\x00", b"Photoshop 3.0\x00", b""]) + bytes(
                rng.randint(0, 255) for _ in range(rng.randint(0, 80))
            )
            marker = rng.choice([b"\xff\xe1", b"\xff\xe0", b"\xff\xed", b"\xff\xfe", b"\xff\xe2"])
            length = len(payload) + 2 if rng.random() < 0.8 else rng.randint(0, 0xFFFF)
            segs += marker + struct.pack(">H", length) + payload
        tail = rng.choice([b"\xff\xd9", b"\xff\xda\x00\x08\x01\x01\x00\x00?\x00\xd2\xcf \xff\xd9", b"", b"\x00" * 10])
        return b"\xff\xd8\xff" + segs[1:] if segs else b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + tail, True
    if r < 0.66:  # WebP-ish RIFF
        chunks = b"".join(
            rng.choice([b"VP8 ", b"VP8L", b"VP8X", b"EXIF", b"XMP ", b"ICCP", b"ANIM"]) + struct.pack("<I", n) + bytes(rng.randint(0, 255) for _ in range(n))
            for n in [rng.randint(0, 30) for _ in range(rng.randint(1, 4))]
        )
        size = len(chunks) + 4 if rng.random() < 0.8 else rng.randint(0, 2**32 - 1)
        return b"RIFF" + struct.pack("<I", size) + b"WEBP" + chunks, True
    if r < 0.72:
        return rng.choice([PNG_SIG, b"\xff\xd8\xff", b"GIF89a", b"RIFF\x00\x00\x00\x00WEBP"]), True
    if r < 0.9:
        return rng.choice([b"", b"hello", b"<svg xmlns='http://www.w3.org/2000/svg'/>", b"%PDF-1.4\n", b"RIFF\x24\x00\x00\x00WAVEfmt ", b"\x89PNX"]), False
    return bytes(rng.randint(0, 255) for _ in range(rng.randint(1, 2000))), None


# --------------------------------------------------------------------------
# Raw HTTP


def build_request(method, target, headers, body=b"", version=b"HTTP/1.1"):
    if isinstance(method, str):
        method = method.encode()
    if isinstance(target, str):
        target = target.encode()
    lines = [method + b" " + target + b" " + version]
    for name, value in headers:
        name = name.encode() if isinstance(name, str) else name
        value = value.encode("utf-8") if isinstance(value, str) else value
        lines.append(name + b": " + value)
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


def raw_http(port, data, half_close=False, wait=HANG_S):
    """Sends data on a fresh connection; returns (outcome, status):
    ("answer", code) | ("closed", None) | ("reset", None) | ("timeout", None)."""
    deadline = time.monotonic() + wait
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=wait)
    except OSError as e:
        return "reset", f"connect: {e}"
    try:
        send_error = None
        try:
            s.sendall(data)
            if half_close:
                s.shutdown(socket.SHUT_WR)
        except OSError as e:  # the server may have answered and closed already
            send_error = e
        buf = b""
        while True:
            head_end = buf.find(b"\r\n\r\n")
            if head_end >= 0:
                status = parse_status(buf)
                if status == 100:  # 100 Continue: the final answer follows
                    buf = buf[head_end + 4:]
                    continue
                return ("answer", status) if status else ("closed", f"garbage answer {buf[:60]!r}")
            left = deadline - time.monotonic()
            if left <= 0:
                return "timeout", None
            s.settimeout(left)
            try:
                chunk = s.recv(65536)
            except socket.timeout:
                return "timeout", None
            except OSError as e:
                status = parse_status(buf)
                return ("answer", status) if status else ("reset", f"{e}; send error {send_error}")
            if not chunk:
                status = parse_status(buf)
                return ("answer", status) if status else ("closed", f"EOF; send error {send_error}" if send_error else "EOF")
            buf += chunk
    finally:
        s.close()


def parse_status(buf):
    try:
        line = buf.split(b"\r\n", 1)[0].decode("latin-1")
        parts = line.split(" ")
        if parts[0].startswith("HTTP/") and len(parts) >= 2:
            return int(parts[1])
    except (ValueError, IndexError):
        pass
    return None


def requests_call(method, url, **kw):
    """A request on a fresh connection; (outcome, status-or-detail)."""
    kw.setdefault("timeout", (5, HANG_S))
    kw.setdefault("allow_redirects", False)
    headers = kw.setdefault("headers", {})
    headers.setdefault("Connection", "close")
    try:
        r = requests.request(method, url, **kw)
        return "answer", r.status_code, r
    except (requests.exceptions.InvalidHeader, requests.exceptions.InvalidURL) as e:
        raise RuntimeError(f"the fuzzer built a request that requests will not send: {e}") from None
    except requests.exceptions.Timeout:
        return "timeout", None, None
    except requests.exceptions.RequestException as e:
        return "reset", f"{type(e).__name__}: {e}", None


# --------------------------------------------------------------------------
# Target-character grammar (RFC 3986) for deciding what is well-formed


PCHAR_OK = set(kit.ALNUM + "-._~!$&'()*+,;=:@/?%")


def is_wellformed_target(t):
    if not t.startswith("/") or len(t) > 8000:
        return False
    if any(c not in PCHAR_OK for c in t):
        return False
    i = 0
    while True:
        i = t.find("%", i)
        if i < 0:
            return True
        if len(t) < i + 3 or any(c not in "0123456789abcdefABCDEF" for c in t[i + 1:i + 3]):
            return False
        i += 3


def pct(s, safe=""):
    from urllib.parse import quote

    return quote(s, safe=safe)


# --------------------------------------------------------------------------
# Socket.IO packet grammar


KNOWN_EVENTS = [
    "send_message", "new_message", "user_joined", "user_left", "online_users", "error", "message", "connect",
    "disconnect", "connect_error", "disconnecting", "newListener", "delete_message", "typing", "ban_user",
    "unban_user", "ping", "pong",
]


class Unit:
    """Frames sent together and judged together.

    frames: list of ("text", str) | ("textb", bytes: text frame, raw bytes) |
    ("bin", bytes) | ("raw", bytes: a hand-built websocket frame).
    """

    def __init__(self, frames, wellformed, label, expect_close=False, joins=None, last=False):
        self.frames = frames
        self.wellformed = wellformed
        self.label = label
        self.expect_close = expect_close  # the client asked for the close (close packet / frame)
        self.joins = joins  # True: "40" (join "/"); False: "41" (leave "/")
        self.last = last  # nothing can follow it on this connection (an unfinished frame): hang up after it

    def show(self):
        return [f[1] if len(f[1]) <= 200 else (f[1][:200], f"...{len(f[1])} long") for f in self.frames]


def rand_event_name(rng):
    r = rng.random()
    if r < 0.3:
        return "send_message"
    if r < 0.5:
        return rng.choice(KNOWN_EVENTS)
    if r < 0.6:
        return rng.choice(["café", 'a"b', "nope\n", "a\\b", "caf\u00e9", "\u0000", "", " ", "send_message ", "SEND_MESSAGE", "😀", "a/b", "\u2028"])
    if r < 0.65:
        return "x" * rng.randint(100, 5000)
    return rand_text(rng, 30)


def send_message_payload(rng, upload_urls):
    r = rng.random()
    if r < 0.35:
        return {"content": rand_text(rng, 60) or "hi", "message_type": rng.choice(["text", "emoji", "text"])}
    if r < 0.45:
        return {"content": rng.choice(["  ", "", "\n\t", "a" * 2000, "é" * 2000, "a" * 2001, "😀" * 2001, "x\x00y", " trim me "])}
    if r < 0.55:
        url = rng.choice(upload_urls) if upload_urls else "/uploads/none.png"
        return {"content": rng.choice([url, url + " ", "/uploads/../chat_app.db", "/uploads/" + "a" * 300, "http://evil/x.png", "/uploads/"]), "message_type": "image"}
    if r < 0.7:
        return {"content": rand_json(rng), "message_type": rand_json(rng)}
    return rand_json(rng)


def sio_event_unit(rng, joined, upload_urls):
    """A well-formed EVENT (or BINARY_EVENT) packet, 42... / 45n-..."""
    name = rand_event_name(rng)
    if name == "send_message":
        args = [send_message_payload(rng, upload_urls)]
        if rng.random() < 0.1:
            args.append(rand_json(rng))
    else:
        args = [rand_json(rng) for _ in range(rng.choice([0, 1, 1, 2, 3]))]
    custom_ns = rng.random() < 0.15
    ns = "/" + rand_text(rng, 8).replace(",", "").replace("\x1e", "") if custom_ns else "/"
    if custom_ns and (ns == "/" or not all(0x20 < ord(c) < 0x7F or ord(c) > 0x9F for c in ns)):
        ns = "/room" + str(rng.randint(0, 99))
    ack = rng.choice([None, None, rng.randint(0, 1000), rng.randint(0, 2**53)])
    nbin = 0
    bins = []
    if rng.random() < 0.12:
        nbin = rng.randint(1, 3)
        bins = [bytes(rng.randint(0, 255) for _ in range(rng.randint(0, 300))) for _ in range(nbin)]
        placeholders = [{"_placeholder": True, "num": i} for i in range(nbin)]
        if args and isinstance(args[0], dict) and rng.random() < 0.5:
            args[0] = dict(args[0], attachment=placeholders[0])
            args.extend(placeholders[1:])
        else:
            args.extend(placeholders)
    head = ("5" + str(nbin) + "-") if nbin else "2"
    text = "4" + head + (ns + "," if ns != "/" else "") + ("" if ack is None else str(ack)) + "[" + json_string(rng, name)
    for a in args:
        text += rng.choice([",", ", "]) + json_text(rng, a)
    text += "]"
    frames = [("text", text)] + [("bin", b) for b in bins]
    escaped = "\\" in json_string_plain_part(text)
    label = "event" + ("+binary" if nbin else "") + (" name with JSON escape" if escaped else "")
    if ns == "/" and not joined:
        label = "event for '/' before CONNECT or after DISCONNECT"
    elif ns != "/":
        label = "event for a namespace never connected"
    return Unit(frames, True, label)


def json_string_plain_part(text):
    """The event-name literal of an event packet (up to its closing quote)."""
    i = text.find('["')
    if i < 0:
        return ""
    j = i + 2
    while j < len(text):
        if text[j] == "\\":
            j += 2
            continue
        if text[j] == '"':
            break
        j += 1
    return text[i:j + 1]


def sio_ack_unit(rng, joined):
    ns = "/" if rng.random() < 0.8 else "/r" + str(rng.randint(0, 9))
    ack = rng.randint(0, 2**53)
    nbin = rng.choice([0, 0, 0, 1, 2])
    args = [rand_json(rng) for _ in range(rng.randint(0, 2))]
    bins = [bytes(rng.randint(0, 255) for _ in range(rng.randint(0, 50))) for _ in range(nbin)]
    args += [{"_placeholder": True, "num": i} for i in range(nbin)]
    text = "4" + (("6" + str(nbin) + "-") if nbin else "3") + (ns + "," if ns != "/" else "") + str(ack) + json_text(rng, args)
    label = "ack for an unknown id"
    if ns == "/" and not joined:
        label = "ack for '/' before CONNECT or after DISCONNECT"
    return Unit([("text", text)] + [("bin", b) for b in bins], True, label)


def sio_control_unit(rng, joined):
    r = rng.random()
    if r < 0.3:
        ns = "/" + rng.choice(["admin", "chat", "x", "é", "a" * 200, "room/1", "%2F"])
        auth = rng.choice(["", json_text(rng, {"token": rand_text(rng)}), "{}"])
        return Unit([("text", "40" + ns + "," + auth)], True, "CONNECT to an unknown namespace")
    if r < 0.45:
        return Unit([("text", "41/" + rng.choice(["admin", "x"]) + ",")], True, "DISCONNECT from a namespace never connected")
    if r < 0.6:
        auth = rng.choice(["", "{}", json_text(rng, {"token": rand_text(rng)})])
        if joined:
            return Unit([("text", "40" + auth)], True, "CONNECT to '/' again (a duplicate)")
        return Unit([("text", "40" + auth)], True, "CONNECT to '/'", joins=True)
    if r < 0.75:
        label = "DISCONNECT from '/'" if joined else "DISCONNECT from '/' before CONNECT or after DISCONNECT"
        return Unit([("text", "41")], True, label, joins=False)
    if r < 0.9:
        return Unit([("text", rng.choice(["2", "3"]))], True, "engine ping/pong from the client")
    return Unit([("text", "1")], True, "engine close from the client", expect_close=True)


def malformed_unit(rng, joined, upload_urls):
    """A mutation of a well-formed unit, or an out-of-protocol packet."""
    r = rng.random()
    if r < 0.2:
        return Unit([("text", rng.choice(["0", "5", "6", "7", "8", "9", "x", "", "2probe", "3probe", "4", "44{}", "44", "47", "4x",
                                           "42", "42[]", "42[1]", "42{}", "42null", '42"x"', "43[]", "46-[]", "45-[\"x\"]", "4-1[\"x\"]",
                                           "42-1[\"x\"]", "4512345678901234567890-[\"x\"]", "45999999-[\"x\"]"]))], False, "invalid packet")
    if r < 0.3:
        return Unit([("bin", bytes(rng.randint(0, 255) for _ in range(rng.randint(0, 40))))], False, "binary frame without a binary packet")
    if r < 0.4:  # binary event missing attachments (the next text packet is then refused)
        return Unit([("text", '451-["x",{"_placeholder":true,"num":0}]')], False, "binary event without its attachment")
    if r < 0.5:
        return Unit([("textb", mutate_bytes(rng, b'42["send_message",{"content":"x"}]') + rng.choice([b"\xff", b"\xc3", b"\xed\xa0\x80", b""]))], False, "mutated packet (bytes)")
    base = sio_event_unit(rng, joined, upload_urls)
    text = base.frames[0][1]
    m = mutate_bytes(rng, text.encode("utf-8")).decode("utf-8", "replace")
    if m == text:
        m = text + "]"
    return Unit([("text", m)] + base.frames[1:], False, "mutated packet")


def polling_payload(frames):
    """Engine.IO v4 polling payload: packets separated by \\x1e, binary as b<base64>."""
    parts = []
    for kind, data in frames:
        if kind == "bin":
            parts.append(b"b" + base64.b64encode(data))
        elif kind == "textb":
            parts.append(data)
        else:
            parts.append(data.encode("utf-8"))
    return b"\x1e".join(parts)


# --------------------------------------------------------------------------
# Websocket frames


def ws_frame(opcode, payload, fin=1, rsv=0, mask=True, length=None):
    n = len(payload) if length is None else length
    head = bytes([(fin << 7) | (rsv << 4) | opcode])
    mbit = 0x80 if mask else 0
    if n < 126:
        head += bytes([mbit | n])
    elif n < 65536:
        head += bytes([mbit | 126]) + struct.pack(">H", n)
    else:
        head += bytes([mbit | 127]) + struct.pack(">Q", n)
    if mask:
        key = bytes(random.getrandbits(8) for _ in range(4))
        payload = bytes(b ^ key[i % 4] for i, b in enumerate(payload)) if len(payload) < 4096 else _mask_fast(payload, key)
        head += key
    return head + payload


def _mask_fast(payload, key):
    n = len(payload)
    k = int.from_bytes((key * (n // 4 + 1))[:n], "big")
    return (int.from_bytes(payload, "big") ^ k).to_bytes(n, "big")


def ws_only_unit(rng, joined, upload_urls):
    """Units that only exist on the websocket transport."""
    r = rng.random()
    if r < 0.15:  # a well-formed packet split over continuation frames
        base = sio_event_unit(rng, joined, upload_urls)
        text = base.frames[0][1].encode("utf-8")
        cuts = sorted(rng.sample(range(1, len(text)), min(rng.randint(1, 3), len(text) - 1))) if len(text) > 1 else []
        pieces = [text[a:b] for a, b in zip([0] + cuts, cuts + [len(text)])]
        frames = []
        for i, p in enumerate(pieces):
            frames.append(("raw", ws_frame(0x1 if i == 0 else 0x0, p, fin=int(i == len(pieces) - 1))))
        return Unit(frames + base.frames[1:], True, base.label + " in fragments")
    if r < 0.3:
        return Unit([("raw", ws_frame(0x9, bytes(rng.randint(0, 255) for _ in range(rng.randint(0, 125)))))], True, "websocket ping")
    if r < 0.38:
        return Unit([("raw", ws_frame(0xA, b"unsolicited"))], True, "unsolicited websocket pong")
    if r < 0.46:  # near the size limit, well-formed
        n = rng.choice([MAX_WS_MESSAGE, MAX_WS_MESSAGE - 1, rng.randint(60_000, MAX_WS_MESSAGE)])
        head = '42["send_message",{"content":"'
        size = f"event of {n} bytes" if n >= MAX_WS_MESSAGE - 1 else "event of 60 kB to 1 MB"
        label = size if joined else "event for '/' before CONNECT or after DISCONNECT"
        return Unit([("text", head + "a" * (n - len(head) - 3) + '"}]')], True, label)
    if r < 0.52:
        n = rng.choice([MAX_WS_MESSAGE + 1, MAX_WS_MESSAGE + rng.randint(2, 100_000)])
        return Unit([("text", '42["x","' + "a" * (n - 10) + '"]')], False, "oversize frame")
    if r < 0.6:
        return Unit([("raw", ws_frame(0x8, struct.pack(">H", rng.choice([1000, 1001, 1005, 4000, 999])) + b"bye"))], True, "websocket close", expect_close=True)
    # malformed framing
    choice = rng.choice(["rsv", "opcode", "unmasked", "bigping", "fragping", "badutf8", "cont", "truncated", "nofin_then_text"])
    if choice == "rsv":
        f = ws_frame(0x1, b'42["x"]', rsv=rng.choice([1, 2, 4, 7]))
    elif choice == "opcode":
        f = ws_frame(rng.choice([0x3, 0x4, 0x7, 0xB, 0xF]), b"x")
    elif choice == "unmasked":
        f = ws_frame(0x1, b'42["x"]', mask=False)
    elif choice == "bigping":
        f = ws_frame(0x9, b"p" * 200)
    elif choice == "fragping":
        f = ws_frame(0x9, b"p", fin=0)
    elif choice == "badutf8":
        f = ws_frame(0x1, b'42["\xff\xfe"]')
    elif choice == "cont":
        f = ws_frame(0x0, b"orphan")
    elif choice == "truncated":
        f = ws_frame(0x1, b'42["x"]', length=500)
    else:
        f = ws_frame(0x1, b'42["x', fin=0) + ws_frame(0x1, b'"]')
    return Unit([("raw", f)], False, "bad websocket frame: " + choice, last=choice == "truncated")


# --------------------------------------------------------------------------
# Engine.IO sessions (judge each unit with a namespace marker)


class Closed(Exception):
    pass


class SessionBase:
    """An Engine.IO session that sends units and checks, with a marker, that
    the server processed them without closing: `40/__mK,` is answered
    `44/__mK,{"message":"Invalid namespace"}` whatever the socket's state."""

    def __init__(self, fz):
        self.fz = fz
        self.k = 0
        self.joined = False
        self.connect_answer = None
        self.first_connect = None
        self.history = []  # labels of the last units (bounded)
        self.auth = "?"

    def describe(self):
        return f"handshake {self.auth}; first CONNECT answer {self.first_connect}; joined {self.joined}"

    def marker(self):
        self.k += 1
        return self.k, f"40/__m{self.k},"

    def check(self, wait):
        """'alive' | 'closed: ...' | 'timeout'."""
        k, m = self.marker()
        try:
            self.send_frames([("text", m)])
            return self.await_marker(k, wait)
        except Closed as e:
            return f"closed: {e}"

    def on_packets(self, packets, k):
        """Returns True when the marker answer is among packets; raises Closed on an engine close."""
        found = False
        for p in packets:
            if p == "1":
                raise Closed("engine close packet")
            if p == "2":
                self.pong()
            elif p.startswith("40{"):
                self.joined = True
                self.connect_answer = "40{"
                self.first_connect = self.first_connect or p[:60]
            elif p.startswith("44{"):
                self.joined = False
                self.connect_answer = "44{"
                self.first_connect = self.first_connect or p[:60]
            elif p.startswith(f"44/__m{k},"):
                found = True
        return found

    def connect_default(self, packet="40"):
        """Sends CONNECT for '/' and waits for its answer: '40{' | '44{' | 'timeout'."""
        self.connect_answer = None
        self.send_frames([("text", packet)])
        return self.wait_connect_answer()


class WsSession(SessionBase):
    def __init__(self, fz, headers, sid=None):
        super().__init__(fz)
        url = f"ws://127.0.0.1:{fz.port}/socket.io/?EIO=4&transport=websocket" + (f"&sid={sid}" if sid else "")
        self.ws = websocket.create_connection(url, header=headers, timeout=HANG_S, enable_multithread=False)
        if sid is None:
            op, data = self.ws.recv_data()
            if not data.startswith(b"0{"):
                raise Closed(f"no open packet: {data[:80]!r}")

    def pong(self):
        try:
            self.ws.send("3")
        except (OSError, websocket.WebSocketException) as e:
            raise Closed(f"pong failed: {type(e).__name__}: {e}") from None

    def send_frames(self, frames):
        try:
            for kind, data in frames:
                if kind == "text":
                    self.ws.send(data)
                elif kind == "textb":
                    self.ws.sock.sendall(ws_frame(0x1, data))
                elif kind == "bin":
                    self.ws.send_binary(data)
                else:
                    self.ws.sock.sendall(data)
        except (OSError, websocket.WebSocketException) as e:
            raise Closed(f"send failed: {type(e).__name__}: {e}") from None

    def read_until(self, pred, wait, k=-1):
        """Reads until pred(packet) is truthy (returns it) or marker k is answered ('alive')."""
        deadline = time.monotonic() + wait
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return "timeout"
            self.ws.settimeout(left)
            try:
                op, data = self.ws.recv_data(control_frame=True)
            except websocket.WebSocketTimeoutException:
                return "timeout"
            except socket.timeout:
                return "timeout"
            except (OSError, websocket.WebSocketException) as e:
                raise Closed(f"{type(e).__name__}: {e}") from None
            if op == websocket.ABNF.OPCODE_CLOSE:
                raise Closed("websocket close frame")
            if op == websocket.ABNF.OPCODE_TEXT:
                p = data.decode("utf-8", "replace")
                if self.on_packets([p], k):
                    return "alive"
                r = pred(p) if pred else None
                if r:
                    return r

    def await_marker(self, k, wait):
        return self.read_until(None, wait, k)

    def wait_connect_answer(self):
        return self.read_until(lambda p: self.connect_answer, HANG_S)

    def close(self):
        try:
            self.ws.close(timeout=1)
        except Exception:  # noqa: BLE001
            pass


class PollingSession(SessionBase):
    def __init__(self, fz, headers, base_query="EIO=4&transport=polling"):
        super().__init__(fz)
        self.headers = headers
        self.base = f"{fz.url}/socket.io/?{base_query}"
        outcome, status, r = requests_call("GET", self.base, headers=dict(headers))
        if outcome != "answer":
            raise HttpFailure(outcome, status, "handshake GET")
        if status >= 500:
            raise HttpFailure("5xx", status, "handshake GET")
        if status != 200:
            raise Refused(status)
        if not r.text.startswith("0{"):
            raise HttpFailure("reset", f"no open packet: {r.text[:80]!r}", "handshake GET")
        self.sid = json.loads(r.text[1:])["sid"]
        self.url = f"{self.base}&sid={self.sid}"

    def pong(self):
        self.post(b"3")

    def post(self, body):
        outcome, status, r = requests_call("POST", self.url, data=body, headers=dict(self.headers, **{"Content-Type": "text/plain;charset=UTF-8"}))
        if outcome != "answer":
            raise HttpFailure(outcome, status, "POST")
        if status >= 500:
            raise HttpFailure("5xx", status, "POST")
        if status == 400 and r is not None and "Session ID unknown" in r.text:
            raise Closed("POST: session ID unknown")
        return status

    def get(self, wait):
        outcome, status, r = requests_call("GET", self.url, headers=dict(self.headers), timeout=(5, wait))
        if outcome == "timeout":
            return None
        if outcome != "answer":
            raise HttpFailure(outcome, status, "GET")
        if status >= 500:
            raise HttpFailure("5xx", status, "GET")
        if status == 400:
            raise Closed(f"GET: 400 {r.text[:80]}")
        if r.text == "":
            raise Closed("GET: empty answer (session closed)")
        return r.text.split("\x1e")

    def send_frames(self, frames):
        status = self.post(polling_payload(frames))
        return status

    def await_marker(self, k, wait):
        deadline = time.monotonic() + wait
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return "timeout"
            packets = self.get(max(left, 0.5))
            if packets is None:
                return "timeout"
            if self.on_packets(packets, k):
                return "alive"

    def wait_connect_answer(self):
        deadline = time.monotonic() + HANG_S
        while self.connect_answer is None:
            left = deadline - time.monotonic()
            if left <= 0:
                return "timeout"
            packets = self.get(max(left, 0.5))
            if packets is None:
                return "timeout"
            self.on_packets(packets, -1)
        return self.connect_answer

    def close(self):
        try:
            requests_call("POST", self.url, data=b"1", timeout=(2, 2))
        except Exception:  # noqa: BLE001
            pass


class Refused(Exception):
    """An HTTP answer (4xx) that ends the session before it starts."""

    def __init__(self, status):
        super().__init__(f"HTTP {status}")
        self.status = status


class HttpFailure(Exception):
    def __init__(self, outcome, status, what):
        super().__init__(f"{what}: {outcome} {status}")
        self.outcome = outcome
        self.status = status
        self.what = what


# --------------------------------------------------------------------------
# The fuzzer


class Fuzzer:
    def __init__(self, args):
        self.args = args
        self.seed = args.seed
        self.stats = Stats()
        self.server = None
        self.upload_urls = []  # a few URLs this server issued (bounded)
        self.index = 0

    # ---- setup ----

    # The additive limits of PROTOCOL.md §6, lifted (0) so that inputs reach the
    # parsers behind them (a 429 would answer most uploads and registrations).
    # Environment variables, not flags: a binary without the limits ignores them.
    LIFTED_LIMITS = {"REGISTER_LIMIT": "0", "LOGIN_FAILURES_PER_ADDRESS": "0", "UPLOAD_LIMIT": "0", "UPLOAD_QUOTA_MB": "0", "SOCKETS_PER_USER": "0"}

    def start(self):
        flags = []
        web = kit.ROOT / "web"
        if (web / "index.html").is_file():
            flags += ["--web-dir", str(web)]  # the page from its folder, as deployed (not the built-in copy)
        self.server = kit.Server(flags=flags, env=self.LIFTED_LIMITS).start()
        self.port = self.server.port
        self.url = self.server.url
        setup_rng = random.Random(f"{self.seed}:setup")
        # The canary: registered and logged in once; its name is never fuzzed.
        self.canary = kit.Account(self.url, username="canary" + "".join(setup_rng.choice(kit.ALNUM) for _ in range(10)))
        self.canary_name = self.canary.username
        self.canary_client = self.canary.socket(transports=["websocket"])
        self.canary_seq = 0
        # Fuzz identities: their sessions carry the logged-in inputs.
        self.identities = [kit.Account(self.url, username=f"fz{i}_" + "".join(setup_rng.choice(kit.ALNUM) for _ in range(8))) for i in range(3)]
        # Wrong passwords go to this one (and to unknown names) only.
        self.decoy = kit.Account(self.url, username="fzdecoy" + "".join(setup_rng.choice(kit.ALNUM) for _ in range(6)))
        r = self.identities[0].http.post(f"{self.url}/api/upload", files={"file": ("a.png", kit.PNG_1x1, "image/png")}, timeout=10)
        if r.status_code == 200:
            self.upload_urls.append(r.json()["url"])

    SESSION_CHANGING = ("/api/logout", "/api/login", "/api/register")

    def throwaway_cookie(self, rng, cookie):
        """Logout ends a session and a successful login or register issues a new
        session id: requests that may do so get a fresh login of a fuzz
        identity instead of a shared session's cookie."""
        shared = [i.cookie() for i in self.identities]
        if not cookie or not any(c in cookie for c in shared):
            return cookie
        ident = rng.choice(self.identities)
        s = requests.Session()
        r = s.post(f"{self.url}/api/login", json={"username": ident.username, "password": ident.password}, timeout=HANG_S)
        return "; ".join(f"{c.name}={c.value}" for c in s.cookies) if r.status_code == 200 else None

    def guard(self, data):
        """Never let the canary's name into a mutated input."""
        name = self.canary_name.lower()
        if isinstance(data, bytes):
            return data.replace(self.canary_name.encode(), b"fzGuarded") if name.encode() in data.lower() else data
        return data.replace(self.canary_name, "fzGuarded") if name in data.lower() else data

    def cookie(self, rng, allow_none=True):
        r = rng.random()
        if r < 0.7 or not allow_none:
            return rng.choice(self.identities).cookie()
        if r < 0.8:
            return None
        return rng.choice([
            header_safe("session=" + rand_text(rng, 40)),
            "session=" + str(uuid.uuid4()), "session=", "session", "=", ";;;", "a=b; session=x; session=y",
            "session=" + "A" * 5000, "session=\"quoted\"", rng.choice(self.identities).cookie() + "; session=bogus",
        ])

    # ---- verdicts ----

    def judge_http(self, inp, wellformed, label, outcome, detail, show):
        st = self.stats
        cat = inp.category
        if outcome == "answer":
            st.status[f"{detail // 100}xx" if isinstance(detail, int) else "?"] += 1
            if isinstance(detail, int) and detail >= 500:
                st.fail("5xx", cat, label, inp.index, show, f"HTTP {detail}")
            return
        if not wellformed:
            st.expected_closes[cat] += 1
            return
        if outcome == "timeout":
            st.fail("hang", cat, label, inp.index, show, f"no answer within {HANG_S:.0f} s")
        else:
            st.fail("reset", cat, label, inp.index, show, f"connection closed without an answer ({detail})")

    def count(self, inp, wellformed, n=1):
        self.stats.inputs[inp.category] += n
        (self.stats.wellformed if wellformed else self.stats.malformed)[inp.category] += n

    # ---- categories ----

    def cat_http_json(self, rng, inp):
        method, path = rng.choice([
            ("POST", "/api/register"), ("POST", "/api/register"), ("POST", "/api/login"), ("POST", "/api/login"),
            ("POST", "/api/logout"), ("GET", "/api/current_user"), ("GET", "/api/messages"), ("POST", "/api/current_user"),
            ("PUT", "/api/login"), ("POST", "/api/messages"), ("DELETE", "/api/logout"),
        ])
        cookie = self.cookie(rng)
        if path in self.SESSION_CHANGING:
            cookie = self.throwaway_cookie(rng, cookie)
        r = rng.random()
        if r < 0.55:
            obj = {}
            if rng.random() < 0.9:
                obj["username"] = rng.choice([valid_username(rng), valid_username(rng), self.decoy.username, " " + valid_username(rng) + " ",
                                              rand_text(rng, 25), rand_json(rng), "a", "a" * 21, "ab", "x" * 20, "fz" + "é" * 18])
            if rng.random() < 0.9:
                obj["password"] = rng.choice([rand_text(rng, 30), "pw" + "x" * 70, "x" * 73, "é" * 36, "é" * 37, "12345", "123456", rand_json(rng), "pw-secret"])
            for _ in range(rng.randint(0, 2)):
                obj[rand_text(rng, 10)] = rand_json(rng)
            body = json_text(rng, obj).encode("utf-8", "surrogatepass")
            wellformed_json = True
        elif r < 0.7:
            body = json_text(rng, rand_json(rng)).encode("utf-8", "surrogatepass")
            wellformed_json = True
        elif r < 0.78:
            body = rng.choice([b"[" * 5000 + b"]" * 5000, b'{"a":' * 300 + b"1" + b"}" * 300, b'{"username":"' + b"a" * 70_000 + b'"}',
                               b'{"username":"a","username":"b","password":"xxxxxx"}', b"", b"\xef\xbb\xbf{}", b"{}" * 1000])
            wellformed_json = None
        else:
            body = mutate_bytes(rng, json.dumps({"username": valid_username(rng), "password": "pw-" + rand_text(rng, 10)}).encode())
            wellformed_json = False
        body = self.guard(body)
        # login with a fuzz identity's name: the right password only (lockout)
        if path == "/api/login":
            for ident in self.identities:
                if ident.username.encode() in body:
                    body = json.dumps({"username": ident.username, "password": ident.password}).encode()
        ctype = rng.choice(["application/json", "application/json", "application/json; charset=utf-8", "APPLICATION/JSON", "application/vnd.api+json",
                            "text/plain", None, "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "application/json; charset=latin1",
                            "application/json;", "json"])
        headers = {}
        if ctype is not None:
            headers["Content-Type"] = ctype
        if cookie:
            headers["Cookie"] = cookie
        show = (method, path, headers, body[:200])
        label = f"{method} {path} " + ("json object" if wellformed_json else "other body")
        outcome, detail, _ = requests_call(method, self.url + path, data=body, headers=headers)
        self.count(inp, True)
        self.judge_http(inp, True, label, outcome, detail, show)

    def cat_query(self, rng, inp):
        def value():
            return rng.choice([
                str(rng.randint(-5, 300)), "0", "-1", "1", "200", "201", str(2**31), str(2**63 - 1), str(2**63), str(-(2**63)), str(-(2**63) - 1),
                "1e3", "1.0", "+5", " 5", "5 ", "0x10", "", "abc", "１２", "٣", "null", "[]", "9" * 40, "-0", "00012", rand_text(rng, 10),
            ])
        params = []
        for _ in range(rng.randint(0, 4)):
            name = rng.choice(["limit", "before_id", "after_id", "limit", "before_id", "after_id", "x", "limit[]", "LIMIT", rand_text(rng, 6)])
            params.append((name, value()))
        wellformed = True
        if rng.random() < 0.85:
            q = "&".join(pct(k) + "=" + pct(v) for k, v in params)
        else:
            raw = "&".join(f"{k}={v}" for k, v in params) + rng.choice(["%", "%ZZ", "%00", "%FF", "&&", "=", "%C3%A9", ";", "#frag"])
            q = raw
            wellformed = None
        target = "/api/messages" + ("?" + q if q or rng.random() < 0.5 else "")
        if wellformed is None:
            wellformed = is_wellformed_target(target)
        if not wellformed:
            # bytes that are no valid request-target: hyper may answer 400 or close
            pass
        cookie = self.cookie(rng)
        headers = [("Host", f"127.0.0.1:{self.port}")] + ([("Cookie", cookie)] if cookie else []) + [("Connection", "close")]
        data = build_request("GET", target.encode("utf-8", "surrogatepass"), headers)
        outcome, detail = raw_http(self.port, data, wait=HANG_S if wellformed else MALFORMED_WAIT_S)
        self.count(inp, wellformed)
        self.judge_http(inp, wellformed, "GET /api/messages?" + ("well-formed query" if wellformed else "malformed query"), outcome, detail, target)

    def cat_upload(self, rng, inp):
        boundary = rng.choice([
            "----WebKitFormBoundary" + "".join(rng.choice(kit.ALNUM) for _ in range(16)), "x", "a" * 70, "a" * 71, "b o u n d",
            "'()+_,-./:=?", "".join(rng.choice(kit.ALNUM) for _ in range(rng.randint(1, 40))), "", "\"q\"", "é", "--",
        ])
        parts = []
        if rng.random() < 0.2:
            parts.append(('form-data; name="other"', None, rand_text(rng).encode("utf-8", "surrogatepass")))
        big = rng.random() < 0.005
        if big:
            n = rng.choice([5 * 1024 * 1024, 5 * 1024 * 1024 + 1, 5 * 1024 * 1024 + 70_000])
            content = kit.PNG_1x1 + b"\x00" * (n - len(kit.PNG_1x1))
        else:
            content, _ = rand_image(rng)
        disp = rng.choice([
            'form-data; name="file"; filename="a.png"', 'form-data; name="file"; filename="a.png"', 'form-data; name="file"',
            'form-data; name="file"; filename="../../x.png"', 'form-data; name="file"; filename="' + rand_text(rng, 20).replace('"', "") + '"',
            "form-data; name=file; filename=a.png", 'form-data; name="FILE"; filename="a.png"', 'form-data; name="file"; filename*=UTF-8\'\'%E4%B8%AD.png',
            'form-data; name="files"; filename="a.png"', "attachment", "", 'form-data; name="file"; filename="' + "a" * 5000 + '.png"',
        ])
        ctype = rng.choice(["image/png", "image/jpeg", "application/octet-stream", "text/html", None, "image/svg+xml", "garbage"])
        parts.append((disp, ctype, content))
        if rng.random() < 0.1:
            parts.append(('form-data; name="file"; filename="b.gif"', "image/gif", GIF_1x1))
        b = boundary.encode("utf-8")
        eol = b"\r\n" if rng.random() < 0.9 else b"\n"
        body = b"" if rng.random() < 0.9 else b"preamble" + eol
        for d, ct, c in parts:
            body += b"--" + b + eol + b"Content-Disposition: " + d.encode("utf-8") + eol
            if ct:
                body += b"Content-Type: " + ct.encode() + eol
            if rng.random() < 0.05:
                body += b"X-Extra: " + b"h" * rng.randint(0, 20000) + eol
            body += eol + c + eol
        body += b"--" + b + b"--" + eol
        label = "multipart"
        if rng.random() < 0.15:  # a truncated multipart body (the HTTP request is still complete)
            body = body[: rng.randint(0, len(body))]
            label = "truncated multipart"
        elif rng.random() < 0.1:
            body = mutate_bytes(rng, body)
            label = "mutated multipart"
        ct_header = rng.choice([
            f"multipart/form-data; boundary={boundary}", f'multipart/form-data; boundary="{boundary}"', f"multipart/form-data; boundary={boundary}",
            "multipart/form-data", "multipart/form-data; boundary=", "application/json", None, f"multipart/mixed; boundary={boundary}",
            f"MULTIPART/FORM-DATA; BOUNDARY={boundary}", f"multipart/form-data; charset=utf-8; boundary={boundary}",
        ])
        cookie = self.cookie(rng)
        headers = [("Host", f"127.0.0.1:{self.port}")]
        if cookie:
            headers.append(("Cookie", cookie))
        if ct_header is not None:
            headers.append(("Content-Type", ct_header))
        headers.append(("Connection", "close"))
        wellformed = True
        half_close = False
        framing = rng.random()
        if framing < 0.75:
            headers.append(("Content-Length", str(len(body))))
            payload = body
        elif framing < 0.88:
            headers.append(("Transfer-Encoding", "chunked"))
            payload = b""
            i = 0
            while i < len(body):
                n = len(body[i:i + rng.randint(1, max(1, len(body) // 3 + 1))])
                payload += f"{n:x}".encode() + (b";ext=1" if rng.random() < 0.1 else b"") + b"\r\n" + body[i:i + n] + b"\r\n"
                i += n
            payload += b"0\r\n\r\n"
            label += " chunked"
        else:  # a declared length the body never reaches: no HTTP answer is owed
            declared = rng.choice([len(body) + rng.randint(1, 1000), 10**9, 10**12, 5 * 1024 * 1024 + 1, 2**63 - 1])
            headers.append(("Content-Length", str(declared)))
            payload = body
            wellformed = False
            half_close = True
            label += " declared length > body"
        data = build_request("POST", "/api/upload", headers, payload)
        outcome, detail = raw_http(self.port, data, half_close=half_close, wait=HANG_S if wellformed else MALFORMED_WAIT_S)
        self.count(inp, wellformed)
        show = (ct_header, cookie is not None, label, body[:200], len(body))
        self.judge_http(inp, wellformed, "POST /api/upload " + label, outcome, detail, show)

    def cat_path(self, rng, inp):
        r = rng.random()
        if r < 0.4:
            n = rng.choice([1, 10, 100, 200, 250, 255, 256, 257, 300, 1000, 4000])
            name = rng.choice([
                "a" * n, "".join(rng.choice(kit.ALNUM) for _ in range(n)) + ".png", "../" * rng.randint(1, 8) + "etc/passwd", "..%2f..%2fchat_app.db",
                "%2e%2e/%2e%2e/chat_app.db", "..\\..\\chat_app.db", ".hidden", ".x.png.part", "%00", "a%00.png", "%C3%A9.png", "%FF.png", "a b.png",
                "é.png", "a/b/c.png", "", "/", "//etc/passwd", "%2F", "a?.png", "x.png?download=1", "CON", "a" * 255 + "/", "~root",
            ] + ([u.split("/")[-1] for u in self.upload_urls[:1]]))
            target = "/uploads/" + name
        elif r < 0.7:
            target = "/api/" + rng.choice(["", "unknown", "messages/deleted", "messages/1", "users", "admin", "../login", "%2e%2e/login",
                                            "login/", "LOGIN", rand_text(rng, 20), "x" * 3000, "upload/../register"])
        elif r < 0.85:
            n = rng.choice([100, 255, 256, 257, 300, 1000, 2000, 7000, 9000, 70000])
            target = rng.choice(["/", "/x/", "/index.html/", "/socket.io/", "/web/"]) + rng.choice(["a", "é", "%41"]) * n
        else:
            target = rng.choice(["/", "/index.html", "/app.js", "/style.css", "/socket.io/socket.io.js", "/socket.io/socket.io.min.js", "/healthz", "/metrics",
                                 "//", "/%2e%2e/", "/../../etc/passwd", "/" + rand_text(rng, 30), "/" + "a" * rng.choice([100, 2000, 7000, 9000, 70000]),
                                 "/socket.io/", "/socket.io", "/favicon.ico", "/.env", "/web/../Cargo.toml", "*", "http://127.0.0.1/"])
        target_bytes = target.encode("utf-8", "surrogatepass")
        wellformed = is_wellformed_target(target) or target == "*" or target.startswith("http://")
        if not wellformed and rng.random() < 0.5 and target.startswith("/"):
            # the percent-encoded spelling of the same path is well-formed
            target = pct(target, safe="/%") if "%" not in target else pct(target, safe="/")
            target_bytes = target.encode()
            wellformed = is_wellformed_target(target)
        method = rng.choice(["GET", "GET", "GET", "GET", "HEAD", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH", "TRACE", "FOO", "get"])
        if target == "*":
            method = "OPTIONS"
        cookie = self.cookie(rng)
        headers = [("Host", f"127.0.0.1:{self.port}")] + ([("Cookie", cookie)] if cookie else []) + [("Connection", "close")]
        body = b""
        if method in ("POST", "PUT", "PATCH"):
            body = b"{}"
            headers += [("Content-Type", "application/json"), ("Content-Length", "2")]
        data = build_request(method, target_bytes, headers, body)
        outcome, detail = raw_http(self.port, data, wait=HANG_S if wellformed else MALFORMED_WAIT_S)
        self.count(inp, wellformed)
        first = target.split("/")[1] if target.startswith("/") else target
        seg = max((len(unquote_to_bytes(x)) for x in target.split("?")[0].split("/")), default=0)
        where = f"/{first}/..." if target.count("/") > 1 and first else ("/<name>" if target.startswith("/") else target)
        where = where if len(where) <= 24 else "/<long name>"
        note = " (a segment over 255 bytes)" if seg > 255 else ""
        self.judge_http(inp, wellformed, f"{method} {where}" + note, outcome, detail, (method, target))

    def cat_headers(self, rng, inp):
        target, method, body, ctype = rng.choice([
            ("/api/current_user", "GET", b"", None), ("/api/messages?limit=5", "GET", b"", None), ("/", "GET", b"", None),
            ("/api/login", "POST", json.dumps({"username": "fznobody" + str(rng.randint(0, 9999)), "password": "wrong-pass"}).encode(), "application/json"),
            ("/api/register", "POST", json.dumps({"username": valid_username(rng), "password": "pw-" + rand_text(rng, 8)}).encode("utf-8", "surrogatepass"), "application/json"),
            ("/socket.io/?EIO=4&transport=polling", "GET", b"", None), ("/api/logout", "POST", b"", None), ("/healthz", "GET", b"", None),
        ])
        body = self.guard(body)
        headers = [("Host", f"127.0.0.1:{self.port}")]
        wellformed = True
        labels = []
        framing = "cl"
        version = b"HTTP/1.1"
        half_close = False
        for _ in range(rng.randint(1, 3)):
            m = rng.choice(["cookie", "cookie", "ctype", "origin", "cl", "te", "expect", "host", "many", "huge", "badname", "fold", "nocolon",
                            "spacecolon", "obstext", "ctl", "version", "absolute", "pipeline", "conn", "upgrade", "dupcl", "accept"])
            labels.append(m)
            if m == "cookie":
                c = self.cookie(rng)
                if c:
                    headers.append(("Cookie", c))
                if rng.random() < 0.3:
                    headers.append(("Cookie", self.cookie(rng, allow_none=False)))
            elif m == "ctype":
                ctype = rng.choice(["application/json", "text/plain", "application/json;;;", "application/json; charset=\"utf-8\"", "*/*", "", "a/b/c", "x" * 3000])
            elif m == "origin":
                headers.append(("Origin", rng.choice([f"http://127.0.0.1:{self.port}", "http://evil.example", "null", "", "http://127.0.0.1:1", "file://", "ht!tp://x", "http://" + "a" * 2000])))
            elif m == "cl":
                framing = rng.choice(["cl-zeros", "cl-more", "cl-less", "cl-neg", "cl-nan", "cl"])
            elif m == "te":
                framing = rng.choice(["chunked", "chunked-ext-trailer", "te+cl", "gzip-chunked", "identity", "chunked-badsize", "chunked-gzip", "Chunked", "te-1.0"])
            elif m == "expect":
                headers.append(("Expect", rng.choice(["100-continue", "200-ok", "100-Continue"])))
            elif m == "host":
                hv = rng.choice(["missing", "dup", "[::1]:80", "evil.example", "", "a" * 300])
                headers = [h for h in headers if h[0] != "Host"]
                if hv == "dup":
                    headers += [("Host", "a"), ("Host", "b")]
                    wellformed = False
                elif hv == "missing":
                    wellformed = False
                else:
                    headers.append(("Host", hv))
            elif m == "many":
                n = rng.choice([50, 99, 150, 500])
                headers += [(f"X-H{i}", "v") for i in range(n)]
                if n > 90:
                    wellformed = False  # past the server's header-count limit
            elif m == "huge":
                n = rng.choice([4000, 8000, 70_000, 500_000])
                headers.append(("X-Big", "v" * n))
                if n > 8000:
                    wellformed = False  # past the server's header-size limit
            elif m == "badname":
                headers.append((rng.choice(["X Bad", "X(Bad)", "", "X:Y", "é", "X\x00"]), "v"))
                wellformed = False
            elif m == "fold":
                headers.append(("X-Folded", "a\r\n  b"))
                wellformed = False
            elif m == "nocolon":
                headers.append(("NoColonHere", None))
                wellformed = False
            elif m == "spacecolon":
                headers.append(("X-Space ", "v"))
                wellformed = False
            elif m == "obstext":
                headers.append(("X-Obs", "caf\xe9".encode("latin-1")))
            elif m == "ctl":
                headers.append(("X-Ctl", rng.choice([b"a\x00b", b"a\x01b", b"a\rb"])))
                wellformed = False
            elif m == "version":
                v = rng.choice([b"HTTP/1.0", b"HTTP/1.0", b"HTTP/2.0", b"HTTP/0.9", b"http/1.1", b"HTTP/1.1 ", b"HTTP/9.9", b"HTTP/1"])
                version = v
                if v != b"HTTP/1.0":
                    wellformed = False
            elif m == "absolute":
                target = f"http://127.0.0.1:{self.port}{target}"
            elif m == "pipeline":
                labels[-1] = "pipeline (first answer read)"
            elif m == "conn":
                headers.append(("Connection", rng.choice(["keep-alive", "close", "Upgrade", "x, y, close", "TE"])))
            elif m == "upgrade":
                headers += [("Upgrade", rng.choice(["websocket", "h2c", "foo/1"])), ("Connection", "Upgrade")]
            elif m == "dupcl":
                framing = "dup-cl"
            elif m == "accept":
                headers.append(("Accept", rng.choice(["*/*", "text/html", "application/json;q=0", "x" * 2000])))
        if target.split("?")[0].endswith(self.SESSION_CHANGING):
            headers = [(n, self.throwaway_cookie(rng, v) if n == "Cookie" else v) for n, v in headers]
            headers = [(n, v) for n, v in headers if not (n == "Cookie" and v is None)]
        if ctype is not None:
            headers.append(("Content-Type", ctype))
        if not any(h[0] == "Connection" for h in headers):
            headers.append(("Connection", "close"))
        # body framing
        n = len(body)
        if framing == "cl":
            if body or method == "POST":
                headers.append(("Content-Length", str(n)))
            payload = body
        elif framing == "cl-zeros":
            headers.append(("Content-Length", "000" + str(n)))
            payload = body
        elif framing == "cl-more":
            headers.append(("Content-Length", str(n + rng.randint(1, 100))))
            payload, wellformed, half_close = body, False, True
        elif framing == "cl-less":
            headers.append(("Content-Length", str(max(0, n - rng.randint(1, 5)))))
            payload, wellformed = body, False  # the rest reads as a malformed next request
        elif framing == "cl-neg":
            headers.append(("Content-Length", rng.choice(["-1", "+5", " 5x", "0x10", "1e3", "99999999999999999999999"])))
            payload, wellformed = body, False
        elif framing == "cl-nan":
            headers.append(("Content-Length", rng.choice(["abc", "", "5, 6"])))
            payload, wellformed = body, False
        elif framing == "dup-cl":
            headers += [("Content-Length", str(n)), ("Content-Length", str(n + 1))]
            payload, wellformed = body, False
        elif framing in ("chunked", "Chunked", "chunked-ext-trailer"):
            headers.append(("Transfer-Encoding", framing.split("-")[0]))
            payload = (f"{n:x}".encode() + (b";name=val" if "ext" in framing else b"") + b"\r\n" + body + b"\r\n" if n else b"") + b"0\r\n"
            payload += (b"X-Trailer: t\r\n" if "trailer" in framing else b"") + b"\r\n"
        elif framing == "te+cl":
            headers += [("Transfer-Encoding", "chunked"), ("Content-Length", str(n))]
            payload = (f"{n:x}\r\n".encode() + body + b"\r\n" if n else b"") + b"0\r\n\r\n"
            wellformed = False  # request smuggling shape: a server may refuse or close
        elif framing == "gzip-chunked":
            headers.append(("Transfer-Encoding", "gzip, chunked"))
            payload = (f"{n:x}\r\n".encode() + body + b"\r\n" if n else b"") + b"0\r\n\r\n"
            wellformed = False  # a coding the server does not do
        elif framing == "identity":
            headers.append(("Transfer-Encoding", "identity"))
            payload, wellformed = body, False
        elif framing == "chunked-badsize":
            headers.append(("Transfer-Encoding", "chunked"))
            payload = rng.choice([b"zz\r\n", b"-1\r\n", b"fffffffffffffffffff\r\n", b"5\r\nab\r\n0\r\n\r\n", b"\r\n"])
            wellformed, half_close = False, True
        elif framing == "chunked-gzip":
            headers.append(("Transfer-Encoding", "chunked, gzip"))
            payload, wellformed = body, False
        else:  # te-1.0
            headers.append(("Transfer-Encoding", "chunked"))
            payload = (f"{n:x}\r\n".encode() + body + b"\r\n" if n else b"") + b"0\r\n\r\n"
            version, wellformed = b"HTTP/1.0", False
        data = build_request(method, target, [h for h in headers if h[1] is not None], payload, version)
        for h in headers:
            if h[1] is None:  # a header line with no colon
                data = data.replace(b"\r\n\r\n", b"\r\n" + h[0].encode() + b"\r\n\r\n", 1)
        if "pipeline (first answer read)" in labels:
            data = data + build_request("GET", "/healthz", [("Host", "x"), ("Connection", "close")])
        outcome, detail = raw_http(self.port, data, half_close=half_close, wait=HANG_S if wellformed else MALFORMED_WAIT_S)
        self.count(inp, wellformed)
        label = f"{method} {target.split('?')[0][:40]} headers:" + ",".join(sorted(set(labels))) + f" framing:{framing}"
        self.judge_http(inp, wellformed, label, outcome, detail, data[:400])

    # ---- Engine.IO / Socket.IO ----

    def run_session(self, rng, inp, sess, units_wanted, transport):
        """Sends units one at a time; judges each."""
        st = self.stats
        for u in range(units_wanted):
            if time.monotonic() > self.deadline:
                return
            if transport == "websocket" and rng.random() < 0.3:
                unit = ws_only_unit(rng, sess.joined, self.upload_urls)
            else:
                r = rng.random()
                if r < 0.5:
                    unit = sio_event_unit(rng, sess.joined, self.upload_urls)
                elif r < 0.62:
                    unit = sio_ack_unit(rng, sess.joined)
                elif r < 0.75:
                    unit = sio_control_unit(rng, sess.joined)
                else:
                    unit = malformed_unit(rng, sess.joined, self.upload_urls)
            if transport == "polling":
                if any(k == "raw" for k, _ in unit.frames):
                    continue
                if rng.random() < 0.1 and unit.wellformed and not unit.expect_close:
                    # two packets in one payload
                    extra = sio_event_unit(rng, sess.joined, self.upload_urls)
                    if extra.wellformed and extra.label.startswith("event") and unit.joins is None:
                        unit = Unit(unit.frames + extra.frames, True, unit.label + " + " + extra.label)
            frames = [(k, self.guard(d)) if k in ("text", "textb") else (k, d) for k, d in unit.frames]
            unit.frames = frames
            self.count(inp, unit.wellformed)
            show = (transport, f"unit {u}", unit.show(), f"after {sess.history[-3:]}", sess.describe())
            t_unit = time.monotonic()
            try:
                try:
                    sess.connect_answer = None
                    status = sess.send_frames(unit.frames)
                    if transport == "polling" and status >= 400 and unit.wellformed:
                        st.fail("reset", inp.category, unit.label, inp.index, show, f"POST answered {status}")
                        return
                    if unit.last:
                        st.expected_closes[inp.category] += 1
                        return
                    verdict = "alive"
                    if unit.joins is True and sess.wait_connect_answer() == "timeout":
                        verdict = "timeout"
                    if verdict == "alive":
                        verdict = sess.check(HANG_S if unit.wellformed else MALFORMED_WAIT_S)
                except Closed as e:
                    verdict = f"closed: {e}"
            except HttpFailure as e:
                if e.outcome == "5xx":
                    st.fail("5xx", inp.category, unit.label, inp.index, show, f"polling {e.what} answered {e.status}")
                elif unit.wellformed and not unit.expect_close:
                    st.fail("hang" if e.outcome == "timeout" else "reset", inp.category, unit.label, inp.index, show, f"polling {e.what}: {e.outcome} {e.status}")
                else:
                    st.expected_closes[inp.category] += 1
                return
            if self.args.verbose and time.monotonic() - t_unit > 0.3:
                print(f"slow unit {time.monotonic() - t_unit:.2f} s [{transport}] {unit.label}: {verdict}", flush=True)
            sess.history.append(unit.label)
            del sess.history[:-3]
            if unit.joins is False and verdict == "alive":
                sess.joined = False
            if verdict == "alive":
                continue
            # closed or timed out
            if unit.expect_close or not unit.wellformed:
                st.expected_closes[inp.category] += 1
            elif verdict == "timeout":
                st.fail("hang", inp.category, unit.label, inp.index, show, f"no answer to the marker within {HANG_S:.0f} s")
            else:
                st.fail("reset", inp.category, unit.label, inp.index, show, verdict)
            return

    def session_headers(self, rng, inp):
        """Handshake headers: a fuzz identity's cookie mostly; sometimes odd ones."""
        cookie = self.cookie(rng)
        headers = {}
        if cookie:
            headers["Cookie"] = cookie
        self.last_auth = "no cookie" if not cookie else ("a fuzz identity's cookie" if cookie in [i.cookie() for i in self.identities] else f"cookie {cookie[:40]!r}")
        if rng.random() < 0.15:
            headers["Origin"] = rng.choice([f"http://127.0.0.1:{self.port}", "http://evil.example", "null"])
        if rng.random() < 0.1:
            headers["User-Agent"] = header_safe(rand_text(rng, 50))
        return headers

    def cat_polling(self, rng, inp):
        st = self.stats
        headers = self.session_headers(rng, inp)
        if rng.random() < 0.12:  # handshake/query variants: each must get an HTTP answer
            q = rng.choice([
                "EIO=3&transport=polling", "EIO=5&transport=polling", "EIO=abc&transport=polling", "EIO=4&transport=foo", "EIO=4",
                "transport=polling", "EIO=4&transport=polling&sid=" + rand_text(rng, 20), "EIO=4&transport=polling&sid=",
                "EIO=4&transport=polling&b64=1", "EIO=4&transport=polling&j=0", "EIO=4&transport=websocket", "", "EIO=4&transport=polling&t=" + "x" * 3000,
                "EIO=4&EIO=3&transport=polling", "EIO=4&transport=polling&sid=AAAAAAAAAAAAAAAAAAAA",
            ])
            method = rng.choice(["GET", "POST", "PUT", "DELETE", "OPTIONS"])
            target = "/socket.io/" + ("?" + pct(q, safe="=&") if q else "")
            hl = [("Host", f"127.0.0.1:{self.port}")] + [(k, v) for k, v in headers.items()] + [("Connection", "close")]
            body = b"40" if method in ("POST", "PUT") else b""
            if body:
                hl.append(("Content-Length", "2"))
            outcome, detail = raw_http(self.port, build_request(method, target, hl, body))
            self.count(inp, True)
            self.judge_http(inp, True, f"{method} /socket.io/ query variant", outcome, detail, (method, target, headers))
            return
        try:
            sess = PollingSession(self, headers)
            sess.auth = self.last_auth
        except Refused as e:
            self.count(inp, True)
            st.status[f"{e.status // 100}xx"] += 1
            return
        except HttpFailure as e:
            self.count(inp, True)
            kind = "5xx" if e.outcome == "5xx" else ("hang" if e.outcome == "timeout" else "reset")
            st.fail(kind, inp.category, "polling handshake", inp.index, headers, str(e))
            return
        except (ValueError, KeyError) as e:
            self.count(inp, True)
            st.fail("reset", inp.category, "polling handshake", inp.index, headers, f"bad open packet: {e}")
            return
        try:
            self.count(inp, True)
            try:
                joined = sess.connect_default()
            except Closed as e:
                st.fail("reset", inp.category, "polling CONNECT", inp.index, headers, str(e))
                return
            if joined == "timeout":
                st.fail("hang", inp.category, "polling CONNECT", inp.index, headers, "no CONNECT answer")
                return
            self.run_session(rng, inp, sess, rng.randint(2, 10), "polling")
        except HttpFailure as e:
            if e.outcome == "5xx":
                st.fail("5xx", inp.category, "polling", inp.index, headers, str(e))
            else:
                st.fail("hang" if e.outcome == "timeout" else "reset", inp.category, "polling", inp.index, headers, str(e))
        finally:
            sess.close()

    def cat_websocket(self, rng, inp):
        st = self.stats
        headers = self.session_headers(rng, inp)
        upgrade = rng.random() < 0.2
        hl = [f"{k}: {v}" for k, v in headers.items()]
        if rng.random() < 0.1:
            hl.append(rng.choice(["Sec-WebSocket-Protocol: chat", "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits", "X-Forwarded-For: 10.0.0.1"]))
        self.count(inp, True)
        label = "websocket handshake" + (" (upgrade from polling)" if upgrade else "")
        try:
            if upgrade:
                p = PollingSession(self, headers)
                if p.connect_default() == "timeout":
                    st.fail("hang", inp.category, label, inp.index, headers, "no CONNECT answer on polling")
                    return
                sess = WsSession(self, hl, sid=p.sid)
                sess.auth = self.last_auth
                sess.send_frames([("text", "2probe")])
                got = sess.read_until(lambda x: x if x == "3probe" else None, HANG_S)
                if got != "3probe":
                    st.fail("hang", inp.category, label, inp.index, headers, "no 3probe")
                    sess.close()
                    return
                sess.send_frames([("text", "5")])
                sess.joined, sess.first_connect = p.joined, p.first_connect
            else:
                sess = WsSession(self, hl)
                sess.auth = self.last_auth
        except websocket.WebSocketBadStatusException as e:
            code = e.status_code
            st.status[f"{code // 100}xx"] += 1
            if code >= 500:
                st.fail("5xx", inp.category, label, inp.index, headers, f"HTTP {code}")
            return
        except Refused as e:
            st.status[f"{e.status // 100}xx"] += 1
            return
        except Closed as e:
            st.fail("reset", inp.category, label, inp.index, headers, str(e))
            return
        except HttpFailure as e:
            st.fail("5xx" if e.outcome == "5xx" else ("hang" if e.outcome == "timeout" else "reset"), inp.category, label, inp.index, headers, str(e))
            return
        except (OSError, websocket.WebSocketException) as e:
            kind = "hang" if isinstance(e, (socket.timeout, websocket.WebSocketTimeoutException)) else "reset"
            st.fail(kind, inp.category, label, inp.index, headers, f"{type(e).__name__}: {e}")
            return
        try:
            if not upgrade:
                try:
                    res = sess.connect_default()
                except Closed as e:
                    st.fail("reset", inp.category, "websocket CONNECT", inp.index, headers, str(e))
                    return
                if res == "timeout":
                    st.fail("hang", inp.category, "websocket CONNECT", inp.index, headers, "no CONNECT answer")
                    return
            self.run_session(rng, inp, sess, rng.randint(2, 12), "websocket")
        finally:
            sess.close()

    def check_identities(self):
        """The shared sessions must stay logged in, or the socket inputs lose
        their logged-in half; a lost one is a fuzzer bug: logged in again."""
        for ident in self.identities:
            try:
                ok = ident.http.get(f"{self.url}/api/current_user", timeout=HANG_S).status_code == 200
            except requests.RequestException:
                continue  # the server's trouble is judged elsewhere
            if not ok:
                self.stats.identity_relogins += 1
                print(f"fuzz: note: the session of {ident.username} was lost (a fuzzer bug); logging in again", flush=True)
                ident.http.cookies.clear()
                ident.login()

    # ---- canary ----

    def canary_check(self):
        st = self.stats
        st.canary_checks += 1
        c = self.canary_client
        if not c.sio.connected:
            st.canary_reconnects += 1
            st.fail("reset", "canary", "canary socket dropped", -1, self.canary_name, "the canary's websocket was closed by the server")
            c.close()
            try:
                self.canary_client = c = self.canary.socket(transports=["websocket"])
            except Exception as e:  # noqa: BLE001
                st.lost += 1
                print(f"FAIL lost [canary]: cannot reconnect the canary: {e}", flush=True)
                return
        self.canary_seq += 1
        content = f"canary {self.seed} #{self.canary_seq} {uuid.uuid4().hex[:12]}"
        t0 = time.monotonic()
        ok = False
        detail = ""
        try:
            ack = c.call("send_message", {"content": content}, timeout=HANG_S)
            if not (isinstance(ack, dict) and ack.get("success")):
                detail = f"ack {short(ack)}"
            left = max(0.1, HANG_S - (time.monotonic() - t0))
            got = c.wait_for("new_message", lambda d: isinstance(d, dict) and d.get("content") == content, timeout=left)
            ok = got is not None
            if not ok:
                detail += " no new_message broadcast within 10 s"
        except Exception as e:  # noqa: BLE001
            detail = f"{type(e).__name__}: {e}"
        with c.cond:  # keep memory bounded
            c.events.clear()
        if not ok:
            st.lost += 1
            print(f"FAIL lost [canary] message #{self.canary_seq}: {detail}", flush=True)

    # ---- main loop ----

    def run(self):
        st = self.stats
        deadline = self.deadline = time.monotonic() + self.args.seconds
        names = [c for c in CATEGORIES if not self.args.only or c in self.args.only]
        weights = [CATEGORIES[c] for c in names]
        last_report = time.monotonic()
        todo = list(self.args.inputs or [])
        while time.monotonic() < deadline:
            batch_end = min(deadline, time.monotonic() + self.args.batch_seconds)
            while time.monotonic() < batch_end:
                if self.args.inputs:
                    if not todo:
                        deadline = 0
                        break
                    self.index = todo.pop(0)
                rng = random.Random(f"{self.seed}:{self.index}")
                cat = rng.choices(names, weights)[0]
                inp = Input(cat, self.index)
                self.index += 1
                t_in = time.monotonic()
                try:
                    getattr(self, "cat_" + cat)(rng, inp)
                except Exception as e:  # noqa: BLE001 - a fuzzer bug must not pass for a server bug
                    print(f"fuzz: internal error in {cat} input#{inp.index}: {type(e).__name__}: {e}", flush=True)
                    st.failures["internal"] += 1
                    import traceback

                    traceback.print_exc()
                st.time_s[cat] += time.monotonic() - t_in
                if self.args.verbose and time.monotonic() - t_in > 1:
                    print(f"slow input#{inp.index} [{cat}] {time.monotonic() - t_in:.1f} s", flush=True)
                if not self.server.alive():
                    break
            if not self.server.alive():
                st.deaths += 1
                print(f"FAIL death: the server exited with {self.server.proc.returncode} after input#{self.index - 1}", flush=True)
                print(self.server.log_tail(30), flush=True)
                break
            self.canary_check()
            if not self.server.alive():
                continue
            self.check_identities()
            if time.monotonic() - last_report > 15:
                last_report = time.monotonic()
                print(f"fuzz: {sum(st.inputs.values())} inputs so far, failures {dict(st.failures)}, lost {st.lost}", flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seed", type=int, default=None, help="replay a run (default: random)")
    ap.add_argument("--seconds", type=float, default=60.0, help="time box of the fuzzing (default 60)")
    ap.add_argument("--batch-seconds", type=float, default=1.5, help="inputs between two canary checks (default 1.5 s)")
    ap.add_argument("--only", type=lambda s: s.split(","), default=None, help="comma-separated categories: " + ",".join(CATEGORIES))
    ap.add_argument("--verbose", action="store_true", help="also print slow inputs")
    ap.add_argument("--inputs", type=lambda s: [int(x) for x in s.split(",")], default=None,
                    help="replay only these input numbers of the seed (comma-separated), then stop")
    ap.add_argument("--keep", action="store_true", help="keep the server's data folder even when the run passes")
    args = ap.parse_args()
    if args.seed is None:
        args.seed = random.SystemRandom().randrange(2**31)
    if args.only:
        unknown = [c for c in args.only if c not in CATEGORIES]
        if unknown:
            ap.error(f"unknown categories {unknown}")
    print(f"fuzz: seed {args.seed} (replay with --seed {args.seed}), {args.seconds:g} s, server {kit.SERVER_BIN}", flush=True)
    fz = Fuzzer(args)
    t0 = time.monotonic()
    try:
        fz.start()
        print(f"fuzz: server {fz.url} pid {fz.server.pid}, data {fz.server.data}, canary {fz.canary_name}", flush=True)
        fz.run()
    finally:
        rc = None
        if fz.server is not None:
            try:
                fz.canary_client.close()
            except Exception:  # noqa: BLE001
                pass
            rc = fz.server.stop()
    st = fz.stats
    elapsed = time.monotonic() - t0
    print(f"fuzz: {sum(st.inputs.values())} inputs in {elapsed:.0f} s; server exit code {rc}")
    for cat in CATEGORIES:
        if st.inputs[cat]:
            print(f"  {cat:10s} inputs {st.inputs[cat]:6d}  well-formed {st.wellformed[cat]:6d}  malformed {st.malformed[cat]:6d}"
                  f"  expected closes {st.expected_closes[cat]:5d}  time {st.time_s[cat]:5.1f} s")
    print(f"  HTTP answers by class: {dict(sorted(st.status.items()))}")
    if st.failure_keys:
        print("  failures by kind|category|input class:")
        for key, n in sorted(st.failure_keys.items()):
            print(f"    {n:5d}  {key}")
    summary = {
        "seed": args.seed,
        "seconds": args.seconds,
        "elapsed_s": round(elapsed, 1),
        "inputs": sum(st.inputs.values()),
        "inputs_by_category": dict(st.inputs),
        "wellformed": sum(st.wellformed.values()),
        "malformed": sum(st.malformed.values()),
        "expected_closes": sum(st.expected_closes.values()),
        "expected_closes_by_category": dict(st.expected_closes),
        "5xx": st.failures["5xx"],
        "resets": st.failures["reset"],
        "hangs": st.failures["hang"],
        "deaths": st.deaths,
        "lost": st.lost,
        "internal_errors": st.failures["internal"],
        "canary_checks": st.canary_checks,
        "canary_reconnects": st.canary_reconnects,
        "identity_relogins": st.identity_relogins,
        "failures_by_class": dict(st.failure_keys),
    }
    print("FUZZ_SUMMARY " + json.dumps(summary, ensure_ascii=False, sort_keys=True))
    bad = {k: summary[k] for k in ("5xx", "resets", "hangs", "deaths", "lost", "internal_errors") if summary[k]}
    if st.canary_checks == 0:
        bad["canary_checks"] = 0
    if bad:
        print("fuzz: FAILED (" + ", ".join(f"{k}={v}" for k, v in bad.items()) + f"; replay with --seed {args.seed}; server log {fz.server.log_path if fz.server else '-'})")
        return 1
    if fz.server is not None and not args.keep:
        shutil.rmtree(fz.server.data, ignore_errors=True)
    print("fuzz: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
