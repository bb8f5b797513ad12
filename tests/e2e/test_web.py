"""The web port at the protocol level: HTTP answers, the WebSocket upgrade, frames both ways,
every bad input with its exact answer, and limits counted across transports (issue 14).

The clients are wire.py's: raw HTTP requests written byte by byte, and WsClient, a
WebSocket client whose frames the test chooses (masks, opcodes, fragments). A WsClient is a
LineClient, so the conversation tests read like the TCP ones. The browser's side is
test_browser.py's.
"""

import re
import socket
import ssl
import struct
import time

import pytest

from conftest import PSEUDO_PROMPT, TIMEOUT, LineClient, wait_stderr, wait_until
from test_limits import flood_until_dropped
from wire import (
    CSP,
    OP_BINARY,
    OP_CLOSE,
    OP_CONT,
    OP_PING,
    OP_TEXT,
    WsClient,
    client_context,
    frame,
    get,
    http_request,
    read_head,
    tls_args,
    upgrade_request,
    ws_accept,
)

TEXT_PLAIN = "text/plain; charset=utf-8"
BAD = "Requête HTTP invalide.\n"
NOT_FOUND = "Page introuvable.\n"
METHOD = "Méthode non permise : seules GET et HEAD le sont ici.\n"
UPGRADE = "Cette adresse attend une connexion WebSocket (version 13).\n"
ORIGIN = "Origine non autorisée : la page doit venir de ce serveur.\n"
TOO_LARGE = "En-têtes de requête trop longs : 8 Kio au plus.\n"


def assert_security_headers(answer):
    h = answer.headers
    assert h["content-security-policy"] == CSP
    assert h["x-content-type-options"] == "nosniff"
    assert h["referrer-policy"] == "no-referrer"


def assert_refusal(answer, status, body):
    assert answer.status == status, (answer.status, answer.headers, answer.body)
    assert answer.headers["content-type"] == TEXT_PLAIN
    assert answer.body.decode() == body
    assert int(answer.headers["content-length"]) == len(answer.body)
    assert answer.headers["connection"] == "close"
    assert_security_headers(answer)


def ws(srv, name, **options):
    return WsClient(srv.web_port, name=name, **options)


def joined_ws(srv, pseudo, **options):
    c = ws(srv, pseudo, **options)
    c.join(pseudo)
    return c


# ---------------------------------------------------------------- the page over HTTP


def test_start_up_log_prints_the_page_url(server):
    srv = server()
    assert srv.web_scheme == "http"
    srv.wait_log(rf"Page web : http://127\.0\.0\.1:{srv.web_port}/$")


def test_get_slash_serves_the_page_with_its_headers(server):
    srv = server()
    page = get(srv.web_port, "/")
    assert page.status == 200
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert int(page.headers["content-length"]) == len(page.body)
    assert page.headers["cache-control"] == "no-cache"
    assert_security_headers(page)
    assert b'<html lang="fr">' in page.body
    assert get(srv.web_port, "/index.html").body == page.body
    assert get(srv.web_port, "/?salon=general").body == page.body  # a query names nothing


def test_every_file_the_page_names_is_served_with_its_type(server):
    srv = server()
    page = get(srv.web_port, "/").body.decode()
    names = set(re.findall(r'(?:src|href)="/?([\w.-]+\.(?:js|css|svg|png))"', page))
    types = {"js": "text/javascript", "css": "text/css", "svg": "image/svg+xml",
             "png": "image/png"}
    for name in names:
        answer = get(srv.web_port, "/" + name)
        assert answer.status == 200, name
        assert answer.headers["content-type"].startswith(types[name.rsplit(".", 1)[1]]), name
        assert int(answer.headers["content-length"]) == len(answer.body) > 0
        assert_security_headers(answer)


def test_head_gives_the_headers_without_the_body(server):
    srv = server()
    full = get(srv.web_port, "/")
    head = get(srv.web_port, "/", method="HEAD")
    assert head.status == 200
    assert head.body == b""
    assert head.headers["content-length"] == full.headers["content-length"]


@pytest.mark.parametrize("path", ["/nope", "/ws/", "/../etc/passwd", "/index.html/x",
                                  "/" + "a" * 400, "//index.html"])
def test_any_other_path_is_404(server, path):
    srv = server()
    assert_refusal(get(srv.web_port, path), 404, NOT_FOUND)


def test_a_method_other_than_get_or_head_is_405(server):
    srv = server()
    answer = get(srv.web_port, "/", method="DELETE")
    assert_refusal(answer, 405, METHOD)
    assert answer.headers["allow"] == "GET, HEAD"
    posted = http_request(srv.web_port, b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
                                        b"\r\nhello")
    assert_refusal(posted, 405, METHOD)


@pytest.mark.parametrize("request_bytes", [
    b"HELLO\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost x\r\n\r\n",
    b"GET / HTTP/9.9\r\n\r\n",
    b"GET / HTTP/1.1\r\nContent-Length: abc\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc",
    b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",  # a TLS ClientHello on the plain port
])
def test_malformed_requests_get_400_and_are_closed(server, request_bytes):
    srv = server()
    assert_refusal(http_request(srv.web_port, request_bytes), 400, BAD)
    wait_stderr(srv, r"requête web refusée \(127\.0\.0\.1:\d+\) : ")


def test_headers_over_8_kib_get_431(server):
    srv = server()
    filler = [f"X-Filler-{i}: {'x' * 100}" for i in range(90)]  # 9 KiB
    assert_refusal(get(srv.web_port, "/", extra=filler), 431, TOO_LARGE)
    wait_stderr(srv, r"requête web refusée \(127\.0\.0\.1:\d+\) : en-têtes de plus de 8 Kio")
    # Just under the limit is fine.
    fits = [f"X-Filler-{i}: {'x' * 100}" for i in range(70)]
    assert get(srv.web_port, "/", extra=fits).status == 200


def test_a_request_cut_short_by_the_peer_leaves_the_server_serving(server):
    srv = server()
    for cut in (b"GET / HT", b"GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgr"):
        s = socket.create_connection(("127.0.0.1", srv.web_port), timeout=TIMEOUT)
        s.sendall(cut)
        s.close()
    assert get(srv.web_port, "/").status == 200


def test_no_web_opens_no_web_port(server):
    srv = server("--no-web")
    assert srv.web_port is None
    assert srv.count_log("Page web") == 0


# ---------------------------------------------------------------- the upgrade


def test_upgrade_answers_101_with_the_accept_key_and_the_prompt_follows(server):
    srv = server()
    c = ws(srv, "alice")
    assert c.headers["upgrade"].lower() == "websocket"
    assert c.headers["connection"].lower() == "upgrade"
    c.expect_exact(PSEUDO_PROMPT)
    c.send_line("alice")
    c.expect_line("+ Bienvenue, alice ! ")
    srv.wait_log(r"alice a rejoint la discussion \(127\.0\.0\.1:\d+\)")


def upgrade(srv, **options):
    """Sends an upgrade request (wire.upgrade_request's options) and returns the answer."""
    host = options.pop("host", f"127.0.0.1:{srv.web_port}")
    return http_request(srv.web_port, upgrade_request(host, **options))


def test_ws_without_upgrade_or_with_another_version_is_426(server):
    srv = server()
    plain = get(srv.web_port, "/ws")
    assert_refusal(plain, 426, UPGRADE)
    assert plain.headers["upgrade"] == "websocket"
    assert plain.headers["sec-websocket-version"] == "13"
    other = http_request(srv.web_port, upgrade_request(f"127.0.0.1:{srv.web_port}").replace(
        b"Version: 13", b"Version: 8"))
    assert_refusal(other, 426, UPGRADE)


@pytest.mark.parametrize("key", ["court", "A" * 24, "dGhlIHNhbXBsZSBub25jZQ=" + "="])
def test_a_bad_websocket_key_is_400(server, key):
    srv = server()
    if key.endswith("=="):  # not 16 bytes of base64: a well-formed shape with a bad byte
        key = "dGhl!HNhbXBsZSBub25jZQ=="
    assert_refusal(upgrade(srv, key=key), 400, BAD)


def test_upgrade_from_another_site_is_403_and_logged(server):
    srv = server()
    answer = upgrade(srv, origin="http://evil.example")
    assert_refusal(answer, 403, ORIGIN)
    wait_stderr(srv, r"requête web refusée \(127\.0\.0\.1:\d+\) : origine « http://evil\.example » "
                     r"non autorisée")
    # The same page on another port of this host is another origin.
    assert upgrade(srv, origin=f"http://127.0.0.1:{srv.web_port + 1}").status == 403
    # https:// is another origin than this plain port's http://.
    assert upgrade(srv, origin=f"https://127.0.0.1:{srv.web_port}").status == 403


def test_web_origin_allows_another_site(server):
    srv = server("--web-origin", "https://chat.example.org", "--web-origin", "http://localhost:3000")
    for origin in ("https://chat.example.org", "HTTP://LOCALHOST:3000"):
        c = WsClient(srv.web_port, origin=origin)
        c.expect_exact(PSEUDO_PROMPT)
    assert upgrade(srv, origin="https://chat.example.org.evil").status == 403


def test_upgrade_without_origin_is_accepted_as_not_from_a_browser(server):
    srv = server()
    c = WsClient(srv.web_port, origin=None)
    c.expect_exact(PSEUDO_PROMPT)


def test_upgrade_with_post_is_405(server):
    srv = server()
    req = upgrade_request(f"127.0.0.1:{srv.web_port}").replace(b"GET /ws", b"POST /ws", 1)
    answer = http_request(srv.web_port, req)
    assert_refusal(answer, 405, METHOD)
    assert answer.headers["allow"] == "GET"


def test_frames_sent_with_the_upgrade_request_are_read(server):
    srv = server()
    s = socket.create_connection(("127.0.0.1", srv.web_port), timeout=TIMEOUT)
    key = "dGhlIHNhbXBsZSBub25jZQ=="
    s.sendall(upgrade_request(f"127.0.0.1:{srv.web_port}", key=key) + frame(OP_TEXT, b"alice"))
    status, headers, rest = read_head(s, time.monotonic() + TIMEOUT)
    assert status == 101 and headers["sec-websocket-accept"] == ws_accept(key)
    data = rest
    deadline = time.monotonic() + TIMEOUT
    while b"Bienvenue, alice" not in data and time.monotonic() < deadline:
        data += s.recv(4096)
    assert b"+ Bienvenue, alice ! " in data
    s.close()


def test_a_peer_that_never_upgrades_is_closed_by_the_handshake_timeout(server, connect):
    srv = server("--handshake-timeout", "1")
    tcp = connect(srv.port, name="tcp")
    tcp.join("alice")
    silent = socket.create_connection(("127.0.0.1", srv.web_port), timeout=TIMEOUT)
    half = socket.create_connection(("127.0.0.1", srv.web_port), timeout=TIMEOUT)
    half.sendall(b"GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\n")
    started = time.monotonic()
    for s in (silent, half):
        assert s.recv(4096) == b""  # closed without a byte: no HTTP answer was begun
    assert time.monotonic() - started < TIMEOUT
    srv.wait_log(r"connexion fermée \(127\.0\.0\.1:\d+\) : pas de pseudo valide en 1 s")
    tcp.send_line("toujours là")  # nobody else was held up
    upgraded = ws(srv, "late")
    upgraded.expect_exact(PSEUDO_PROMPT)
    assert upgraded.expect_close(1000) == ["! Délai dépassé : aucun pseudo valide reçu en 1 s."]


# ---------------------------------------------------------------- frames


def test_a_conversation_between_tcp_websocket_and_tls_clients(server, connect, certs):
    srv = server(*tls_args(certs))
    ctx = client_context(certs.ca)
    tcp = connect(srv.port, name="tcp")
    tcp.join("alice")
    web = joined_ws(srv, "bob", tls=ctx)
    tcp.expect_exact("* bob a rejoint la discussion")
    tls = LineClient(srv.tls_port, name="tls", tls=ctx)
    tls.join("carol")
    for c in (tcp, web):
        c.expect_exact("* carol a rejoint la discussion")
    tcp.send_line("bonjour à tous")
    web.send_line("salut, depuis le navigateur")
    tls.send_line("et moi, chiffré")
    assert web.read_line() == "> alice: bonjour à tous"
    assert tls.read_line() == "> alice: bonjour à tous"
    assert tls.read_line() == "> bob: salut, depuis le navigateur"
    assert tcp.read_line() == "> bob: salut, depuis le navigateur"
    assert tcp.read_line() == "> carol: et moi, chiffré"
    assert web.read_line() == "> carol: et moi, chiffré"
    web.close(1000)
    for c in (tcp, tls):
        c.expect_exact("* bob est déconnecté")


def test_a_message_is_a_line_and_a_line_is_a_message(alice_bob):
    srv, alice, bob = alice_bob()
    carol = joined_ws(srv, "carol")
    for c in (alice, bob):
        c.expect_exact("* carol a rejoint la discussion")
    alice.send_line("un")
    alice.send_line("deux")
    assert carol.read_line() == "> alice: un"
    assert carol.read_line() == "> alice: deux"
    bob.expect_exact("> alice: un")
    bob.expect_exact("> alice: deux")
    carol.send_line("é" * 2000)  # a long frame: a 16-bit length, and a multi-byte text
    assert bob.read_line() == "> carol: " + "é" * 2000
    carol.send_line("/who")
    assert carol.read_line().startswith("= ")


def test_a_message_may_end_as_a_line_and_line_breaks_split_it(alice_bob):
    srv, alice, bob = alice_bob()
    carol = ws(srv, "carol")
    carol.expect_exact(PSEUDO_PROMPT)
    carol.send_line("carol\r\n")  # ended as a line: still one line
    carol.expect_line("+ Bienvenue, carol ! ")
    alice.expect_exact("* carol a rejoint la discussion")
    carol.send_line("un\ndeux")
    alice.expect_exact("> carol: un")
    alice.expect_exact("> carol: deux")
    carol.send_line("")  # an empty message is an empty line, which the chat ignores
    carol.send_line("trois\n")
    alice.expect_exact("> carol: trois")


def test_a_fragmented_message_with_a_ping_between_is_one_line(alice_bob):
    srv, alice, bob = alice_bob()
    carol = joined_ws(srv, "carol")
    alice.expect_exact("* carol a rejoint la discussion")
    carol.send_frame(OP_TEXT, "bon".encode(), fin=False)
    carol.send_frame(OP_PING, b"tic")
    carol.send_frame(OP_CONT, "jour ".encode(), fin=False)
    carol.send_frame(OP_CONT, "à tous".encode())
    assert alice.read_line() == "> carol: bonjour à tous"
    wait_until(lambda: (carol.has_line() or carol._fill(time.monotonic() + 0.1, "pong")
                        or carol.pongs), "the pong")
    assert carol.pongs == [b"tic"]


def test_ping_is_answered_with_pong(server):
    srv = server()
    c = ws(srv, "c")
    c.expect_exact(PSEUDO_PROMPT)
    c.send_frame(OP_PING, b"ping-123")
    wait_until(lambda: c._fill(time.monotonic() + 0.1, "pong") or c.pongs, "a pong")
    assert c.pongs == [b"ping-123"]


def test_an_unmasked_frame_is_closed_with_1002(alice_bob):
    srv, alice, bob = alice_bob()
    carol = joined_ws(srv, "carol")
    alice.expect_exact("* carol a rejoint la discussion")
    carol.send_frame(OP_TEXT, b"en clair", mask=False)
    assert carol.expect_close(1002) == []
    alice.expect_exact("* carol est déconnecté")
    srv.wait_log(r"carol est déconnecté \(erreur de protocole\)")
    assert not alice.has_line()


def test_a_binary_frame_is_closed_with_1003(alice_bob):
    srv, alice, bob = alice_bob()
    carol = joined_ws(srv, "carol")
    alice.expect_exact("* carol a rejoint la discussion")
    carol.send_frame(OP_BINARY, b"\x00\x01\x02" * 1000)
    assert carol.expect_close(1003) == []
    alice.expect_exact("* carol est déconnecté")
    srv.wait_log(r"carol est déconnecté \(erreur de protocole\)")


def test_invalid_utf8_in_a_text_frame_is_closed_with_1007(server):
    srv = server()
    c = ws(srv, "c")
    c.expect_exact(PSEUDO_PROMPT)
    c.send_frame(OP_TEXT, b"\xff\xfe")
    c.expect_close(1007)


def test_a_message_longer_than_max_line_gets_the_tcp_refusal(alice_bob):
    srv, alice, bob = alice_bob("--max-line", "100")
    carol = joined_ws(srv, "carol")
    for c in (alice, bob):
        c.expect_exact("* carol a rejoint la discussion")
    refusal = "! Ligne trop longue (100 octets au maximum) : elle a été ignorée."
    carol.send_line("x" * 101)
    carol.expect_exact(refusal)
    # In fragments, the same once reassembled.
    carol.send_frame(OP_TEXT, b"y" * 60, fin=False)
    carol.send_frame(OP_CONT, b"y" * 60)
    carol.expect_exact(refusal)
    alice.send_line("x" * 101)  # what a TCP client gets, word for word
    alice.expect_exact(refusal)
    carol.send_line("x" * 100)  # and the sender stays
    bob.expect_exact("> carol: " + "x" * 100)


def test_close_frame_is_answered_and_the_others_see_the_leave(alice_bob):
    srv, alice, bob = alice_bob()
    carol = joined_ws(srv, "carol")
    alice.expect_exact("* carol a rejoint la discussion")
    carol.send_frame(OP_CLOSE, struct.pack(">H", 1001))
    assert carol.expect_close(1001) == []
    alice.expect_exact("* carol est déconnecté")


def test_quit_closes_with_1000_after_the_answer(alice_bob):
    srv, alice, bob = alice_bob()
    carol = joined_ws(srv, "carol")
    alice.expect_exact("* carol a rejoint la discussion")
    carol.send_line("/quit à plus")
    carol.expect_close(1000)
    alice.expect_exact("* carol est déconnecté (à plus)")


@pytest.mark.parametrize("cut", ["header", "mask", "payload"])
def test_a_reset_mid_frame_is_a_leave(alice_bob, cut):
    srv, alice, bob = alice_bob()
    carol = joined_ws(srv, "carol")
    alice.expect_exact("* carol a rejoint la discussion")
    whole = frame(OP_TEXT, b"jamais fini" * 20)
    carol.send_raw(whole[:{"header": 1, "mask": 4, "payload": 40}[cut]])
    carol.reset()
    alice.expect_exact("* carol est déconnecté")
    assert not alice.has_line()


def test_server_stop_tells_web_clients_and_closes_with_1000(server):
    srv = server()
    c = joined_ws(srv, "carol")
    srv.stop()
    assert c.expect_close(1000) == ["* Le serveur s'arrête."]


# ---------------------------------------------------------------- limits across transports


PER_IP = "Trop de connexions depuis votre adresse (2 au plus) : réessayez plus tard."
FULL = "Serveur plein (3 connexions) : réessayez plus tard."


def test_max_per_ip_counts_tcp_and_web_connections_together(server, connect):
    srv = server("--max-per-ip", "2")
    tcp = connect(srv.port, name="tcp")
    tcp.expect_exact(PSEUDO_PROMPT)
    web = ws(srv, "web")
    web.expect_exact(PSEUDO_PROMPT)
    refused = get(srv.web_port, "/")
    assert refused.status == 503
    assert refused.body.decode() == PER_IP + "\n"
    assert_security_headers(refused)
    assert connect(srv.port, name="third").expect_closed() == ["! " + PER_IP]
    # Another address is counted apart, on any port.
    other = WsClient(srv.web_port, source="127.0.0.2", name="other")
    other.expect_exact(PSEUDO_PROMPT)


def test_max_clients_counts_every_port(server, connect, certs):
    srv = server("--max-clients", "3", *tls_args(certs))
    ctx = client_context(certs.ca)
    clients = [connect(srv.port, name="tcp"), ws(srv, "web", tls=ctx),
               LineClient(srv.tls_port, name="tls", tls=ctx)]
    for c in clients:
        c.expect_exact(PSEUDO_PROMPT)
    assert connect(srv.port, name="fourth").expect_closed() == ["! " + FULL]
    # On the TLS ports nothing can be said before a handshake: closed, and logged.
    s = socket.create_connection(("127.0.0.1", srv.web_port), timeout=TIMEOUT)
    assert s.recv(100) == b""
    s.close()
    wait_stderr(srv, r"connexion refusée \(127\.0\.0\.1:\d+\) : serveur plein \(3 connexions\)",
                count=2)
    clients[0].close()
    c = connect_when_free(lambda: ws(srv, "later", tls=ctx))
    c.expect_exact(PSEUDO_PROMPT)


def connect_when_free(make):
    """A new client once the server has seen a place freed: retried until admitted."""
    deadline = time.monotonic() + TIMEOUT
    while True:
        try:
            return make()
        except (AssertionError, OSError, ssl.SSLError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.02)


def test_flood_control_applies_to_web_clients(alice_bob):
    srv, alice, bob = alice_bob("--flood-burst", "3", "--flood-rate", "1")
    carol = joined_ws(srv, "carol")
    alice.expect_exact("* carol a rejoint la discussion")
    for i in range(6):
        carol.send_line(f"ligne {i}")
    got = [alice.read_line() for _ in range(3)]
    assert got == [f"> carol: ligne {i}" for i in range(3)]
    assert carol.read_line().startswith("! Trop de messages (3 d'affilée, puis 1 par seconde au plus)")


def test_a_burst_in_one_read_is_refused_with_one_summary_as_over_tcp(alice_bob):
    """Fifteen messages in one write: the ten of the burst pass, the first refused one is
    named, and the four others are counted in one line, as a TCP client's would be, not
    refused one by one."""
    srv, alice, bob = alice_bob()
    carol = joined_ws(srv, "carol")
    alice.expect_exact("* carol a rejoint la discussion")
    carol.sock.sendall(b"".join(frame(OP_TEXT, b"m%d" % i) for i in range(15)))
    for i in range(10):
        alice.expect_exact(f"> carol: m{i}")
    assert carol.read_line().startswith("! Trop de messages (10 d'affilée")
    assert carol.read_line() == "! Et 4 autres messages refusés : trop de messages."


def test_a_web_client_that_never_reads_is_dropped_past_max_backlog(server, chat):
    srv = server("--max-backlog", "65536", "--flood-rate", "0")
    (flood,) = chat(srv, "flood")
    lazy = WsClient(srv.web_port, name="slow", rcvbuf=4096)
    lazy.join("slow")
    flood.expect_exact("* slow a rejoint la discussion")
    flood_until_dropped(srv, flood)  # the kernel's buffers fill first, then the backlog
    srv.wait_log(r"slow est déconnecté \(trop de retard : plus de 65536 octets en attente\)")
    flood.expect_exact("* slow est déconnecté")  # the sender was never held up


@pytest.mark.parametrize("secure", [False, True], ids=["ws", "wss"])
def test_a_slow_reader_gets_every_frame_whole_and_in_order(server, chat, certs, secure):
    # 8 MB for a reader with a small window: past what the kernel's buffers take, the
    # server's socket fills again and again, frames go out in part (a handful of times in
    # this run, as a build that logs them shows), and each one's rest must follow before
    # anything else, pongs included.
    extra = tls_args(certs) if secure else ()
    srv = server("--flood-rate", "0", "--max-backlog", str(64 << 20), *extra)
    (flood,) = chat(srv, "flood")
    slow = WsClient(srv.web_port, name="slow", rcvbuf=2048,
                    tls=client_context(certs.ca) if secure else None)
    slow.join("slow")
    flood.expect_exact("* slow a rejoint la discussion")
    lines = [f"{i:05d} " + "y" * (i % 1000) for i in range(16000)]
    flood.send_raw("".join(line + "\n" for line in lines).encode())
    slow.send_frame(OP_PING, b"au milieu")
    got = [slow.read_line(timeout=4 * TIMEOUT) for _ in lines]
    assert got == ["> flood: " + line for line in lines]
    wait_until(lambda: slow.pongs or slow._fill(time.monotonic() + 0.1, "pong"), "the pong")
    assert slow.pongs == [b"au milieu"]
