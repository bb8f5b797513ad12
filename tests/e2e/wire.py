"""wire.py - the e2e suite's clients for the web port and the TLS port, and its certificates.

WsClient speaks the line protocol in WebSocket frames (RFC 6455), written here with the
standard library so that every byte a test sends is the test's choice: masks, opcodes,
fragments, lengths, and the handshake's headers. It is a conftest.LineClient, so a test
reads and writes lines through it as through a TCP client. http_request() sends one raw
request and reads the whole answer. make_certs() makes an authority and certificates with
the openssl command, as an operator would. Loopback only; every read has a deadline.
"""

import base64
import hashlib
import os
import socket
import ssl
import struct
import subprocess
import time
from types import SimpleNamespace

from conftest import TIMEOUT, Closed, LineClient

WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0, 1, 2, 8, 9, 10

# The headers every answer of the web port carries (docs/SECURITY.md).
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; manifest-src 'self'; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'"
)


def ws_accept(key):
    return base64.b64encode(hashlib.sha1((key + WS_GUID).encode()).digest()).decode()


def frame(opcode, payload=b"", fin=True, mask=True, rsv=0, length=None):
    """One frame's bytes, masked as a client's must be unless mask=False. length= lies
    about the payload's length in the header."""
    n = len(payload) if length is None else length
    head = bytes([(0x80 if fin else 0) | (rsv << 4) | opcode])
    bit = 0x80 if mask else 0
    if n < 126:
        head += bytes([bit | n])
    elif n <= 0xFFFF:
        head += bytes([bit | 126]) + struct.pack(">H", n)
    else:
        head += bytes([bit | 127]) + struct.pack(">Q", n)
    if not mask:
        return head + payload
    key = os.urandom(4)
    return head + key + bytes(b ^ key[i % 4] for i, b in enumerate(payload))


def read_head(sock, deadline):
    """Reads an HTTP answer's head; returns (status, headers with lower-case names, the
    bytes read past the head)."""
    data = b""
    while b"\r\n\r\n" not in data:
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        chunk = sock.recv(65536)
        if not chunk:
            raise Closed(f"connection closed before an answer's head; got {data!r}")
        data += chunk
        assert len(data) < 65536, "an answer's head past 64 KiB"
    head, rest = data.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers = {}
    for line in lines[1:]:
        name, value = line.split(":", 1)
        headers[name.strip().lower()] = value.strip()
    return status, headers, rest


def upgrade_request(host, path="/ws", key=None, origin=None, extra=()):
    """A WebSocket upgrade request's bytes; origin=None sends no Origin."""
    lines = [
        f"GET {path} HTTP/1.1",
        f"Host: {host}",
        "Upgrade: websocket",
        "Connection: Upgrade",
        f"Sec-WebSocket-Key: {key or base64.b64encode(os.urandom(16)).decode()}",
        "Sec-WebSocket-Version: 13",
    ]
    if origin is not None:
        lines.append(f"Origin: {origin}")
    lines += list(extra)
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


class WsClient(LineClient):
    """The line protocol over a WebSocket of the web port: each line a text frame. Opens
    the connection and upgrades it (origin: the page's own, as a browser on it sends;
    None sends none), failing unless the answer is a 101 with the right accept key. Reads
    record what is not text: self.close_code (the server's close frame), self.pongs."""

    def __init__(self, port, host="127.0.0.1", name=None, tls=None, origin="own", rcvbuf=None,
                 source=None):
        super().__init__(port, host=host, name=name, rcvbuf=rcvbuf, source=source, tls=tls)
        self._raw = bytearray()
        self._message = None  # a fragmented text message, under way
        self.close_code = None
        self.pongs = []
        scheme = "https" if tls else "http"
        authority = f"{host}:{port}"
        key = base64.b64encode(os.urandom(16)).decode()
        own = f"{scheme}://{authority}"
        self.sock.sendall(upgrade_request(authority, key=key,
                                          origin=own if origin == "own" else origin))
        status, headers, rest = read_head(self.sock, time.monotonic() + TIMEOUT)
        assert status == 101, f"{self.name}: upgrade answered {status} {headers}"
        assert headers.get("sec-websocket-accept") == ws_accept(key), headers
        self.headers = headers
        if rest:
            self._take(rest)

    def _send(self, data, end):
        self.sock.sendall(frame(OP_TEXT, data))  # a message is a line: no end

    def send_frame(self, opcode, payload=b"", **options):
        self.sock.sendall(frame(opcode, payload, **options))

    def _take(self, chunk):
        self._raw += chunk
        while True:
            parsed = self._parse_one()
            if parsed is None:
                return
            fin, opcode, payload = parsed
            self._on_frame(fin, opcode, payload)

    def _parse_one(self):
        raw = self._raw
        if len(raw) < 2:
            return None
        assert raw[1] & 0x80 == 0, f"{self.name}: the server masked a frame"
        assert raw[0] & 0x70 == 0, f"{self.name}: reserved bits set by the server"
        n, at = raw[1] & 0x7F, 2
        if n == 126:
            if len(raw) < 4:
                return None
            n, at = struct.unpack(">H", raw[2:4])[0], 4
        elif n == 127:
            if len(raw) < 10:
                return None
            n, at = struct.unpack(">Q", raw[2:10])[0], 10
        if len(raw) < at + n:
            return None
        fin, opcode, payload = bool(raw[0] & 0x80), raw[0] & 0x0F, bytes(raw[at:at + n])
        del raw[:at + n]
        return fin, opcode, payload

    def _on_frame(self, fin, opcode, payload):
        if opcode == OP_CLOSE:
            self.close_code = struct.unpack(">H", payload[:2])[0] if len(payload) >= 2 else 1005
        elif opcode == OP_PONG:
            self.pongs.append(payload)
        elif opcode in (OP_TEXT, OP_CONT):
            self._message = (self._message or b"") + payload
            if fin:
                assert b"\n" not in self._message, f"{self.name}: a newline in a frame"
                self._lines.append(self._message)
                self._message = None
        else:
            raise AssertionError(f"{self.name}: unexpected opcode {opcode} from the server")

    def expect_close(self, code, timeout=TIMEOUT):
        """Waits for the server's close frame and the end of the connection; asserts the
        frame's code; returns the lines that came before."""
        rest = self.expect_closed(timeout)
        assert self.close_code == code, f"{self.name}: close code {self.close_code}, not {code}"
        return rest

    def close(self, code=None):
        """With code, says goodbye with a close frame first, as a browser does."""
        if code is not None:
            try:
                self.sock.sendall(frame(OP_CLOSE, struct.pack(">H", code)))
            except OSError:
                pass
        super().close()


def http_request(port, data, host="127.0.0.1", tls=None, timeout=TIMEOUT):
    """Sends data (a whole request, or anything) on a new connection and reads until the
    server closes it. Returns SimpleNamespace(status, headers, body); status is None if the
    server closed without a word."""
    deadline = time.monotonic() + timeout
    sock = socket.create_connection((host, port), timeout=timeout)
    if tls is not None:
        sock = tls.wrap_socket(sock, server_hostname=host)
    try:
        sock.sendall(data)
        try:
            status, headers, body = read_head(sock, deadline)
        except Closed:
            return SimpleNamespace(status=None, headers={}, body=b"")
        while True:
            sock.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                chunk = sock.recv(65536)
            except (ConnectionResetError, ssl.SSLEOFError):
                chunk = b""
            if not chunk:
                break
            body += chunk
        return SimpleNamespace(status=status, headers=headers, body=body)
    finally:
        sock.close()


def get(port, path, host="127.0.0.1", method="GET", extra=(), tls=None):
    """An HTTP/1.1 request for path, as a browser sends it, and its whole answer."""
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}:{port}", *extra]
    return http_request(port, ("\r\n".join(lines) + "\r\n\r\n").encode(), host=host, tls=tls)


# ---------------------------------------------------------------- certificates


def openssl(cwd, *args):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True,
                   timeout=4 * TIMEOUT)


EC_KEY = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes")

# What `openssl ca` needs to sign with explicit dates: the expired certificate.
CA_CONFIG = """\
[ca]
default_ca = test_ca
[test_ca]
database = index.txt
new_certs_dir = .
serial = serial
certificate = ca.pem
private_key = ca.key
default_md = sha256
policy = any
unique_subject = no
[any]
commonName = supplied
"""


def make_certs(d):
    """In directory d: an authority (ca.pem) and server certificates with their keys, a
    (cert, key) pair each: good (localhost and 127.0.0.1, signed by the authority, and
    its chain: good_chain.pem, the certificate then the authority's), wrong_name
    (autre.exemple), expired (in 2020), self_signed (known to no store)."""
    openssl(d, "req", "-x509", *EC_KEY, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
            "-subj", "/CN=causerie test CA",
            "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign")

    def request(name, san):
        (d / f"{name}.ext").write_text(f"subjectAltName={san}\n")
        openssl(d, "req", "-new", *EC_KEY, "-keyout", f"{name}.key", "-out", f"{name}.csr",
                "-subj", f"/CN={name}")

    def signed(name, san):
        request(name, san)
        openssl(d, "x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
                "-CAcreateserial", "-days", "2", "-extfile", f"{name}.ext", "-out", f"{name}.pem")

    signed("good", "DNS:localhost,IP:127.0.0.1")
    (d / "good_chain.pem").write_bytes((d / "good.pem").read_bytes() + (d / "ca.pem").read_bytes())
    signed("wrong_name", "DNS:autre.exemple")
    request("expired", "DNS:localhost,IP:127.0.0.1")
    (d / "ca.cnf").write_text(CA_CONFIG)
    (d / "index.txt").write_text("")
    (d / "serial").write_text("1000\n")
    openssl(d, "ca", "-batch", "-config", "ca.cnf", "-notext", "-in", "expired.csr",
            "-out", "expired.pem", "-startdate", "20200101000000Z",
            "-enddate", "20200102120000Z", "-extfile", "expired.ext")
    openssl(d, "req", "-x509", *EC_KEY, "-keyout", "self_signed.key", "-out",
            "self_signed.pem", "-days", "2", "-subj", "/CN=localhost",
            "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1")
    pairs = {n: (d / f"{n}.pem", d / f"{n}.key")
             for n in ("good", "wrong_name", "expired", "self_signed")}
    return SimpleNamespace(dir=d, ca=d / "ca.pem", good_chain=d / "good_chain.pem", **pairs)


def client_context(ca):
    """A TLS client context that trusts ca, as a careful client is."""
    ctx = ssl.create_default_context(cafile=str(ca))
    return ctx


def tls_args(certs, pair="good"):
    """The server options that open its TLS port with one of certs' pairs."""
    cert, key = getattr(certs, pair)
    return ("--tls-cert", str(cert), "--tls-key", str(key))
