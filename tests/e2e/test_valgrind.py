"""The server under valgrind's memcheck for end-to-end scenarios that cover the main paths
with zero reports: no invalid access, no use of uninitialised memory, no leak. One on the
plain port (handshake and refusals, chat both ways, an overlong line, commands, every way
of leaving, a write that fails while in flight, shutdown with a client connected); one on
the TLS and web ports (TLS and WebSocket clients over TLS and not, the page, refusals,
resets mid-handshake and mid-frame, shutdown with each kind connected).

Only for the plain build: valgrind cannot run binaries built with ASan or TSan, whose
runtimes take over the same address space.
"""

import re
import shutil
import socket
from pathlib import Path

import pytest

from conftest import (
    BUILD,
    PSEUDO_PROMPT,
    ROOT,
    SERVER_BIN,
    LineClient,
    Proc,
    Server,
    require_binary,
    wait_until,
    with_free_ports,
    with_own_db,
)
from test_faults import flood_until_queued, holds_socket, server_side
from test_tls import client_hello, is_alert, raw_connect, read_to_end, reset
from wire import (
    OP_BINARY,
    OP_TEXT,
    WsClient,
    client_context,
    frame,
    get,
    http_request,
    tls_args,
)

VALGRIND = shutil.which("valgrind")
VALGRIND_ARGS = [
    "--error-exitcode=99",
    "--leak-check=full",
    "--show-leak-kinds=definite,indirect",
    "--errors-for-leak-kinds=definite,indirect",
    "--track-fds=no",
    "-q",  # nothing on stderr but reports
]
# Seconds to wait for the listening line: valgrind translates the program as it first runs
# each part of it, so starting takes a second or two rather than milliseconds.
START_TIMEOUT = 60
TIMEOUT = 20  # for each line a client waits for: every request runs 20 to 50 times slower

TOO_LONG = "! Ligne trop longue (4096 octets au maximum) : elle a été ignorée."
# Any of these in valgrind's output is a report; with -q it prints nothing else at all.
REPORTS = re.compile(
    r"==\d+== |ERROR SUMMARY: [1-9]|Invalid (read|write|free)|uninitialised|"
    r"definitely lost|indirectly lost"
)

pytestmark = [
    pytest.mark.skipif(
        BUILD.resolve() != (ROOT / "build").resolve(),
        reason=f"valgrind runs only the plain build (build/), not {BUILD}",
    ),
    pytest.mark.skipif(VALGRIND is None, reason="valgrind is not installed"),
]


class ValgrindServer(Server):
    """A causerie-server run by valgrind, which becomes the server's process: same pid, its
    log on stdout, valgrind's reports on stderr."""

    def __init__(self, args):
        require_binary(SERVER_BIN)
        Proc.__init__(
            self, Path(VALGRIND), [*VALGRIND_ARGS, str(SERVER_BIN), *with_own_db(with_free_ports(args), None)]
        )
        self.port = None
        self.address = None
        self.threads = None
        self.tls_port = self.web_port = self.web_scheme = None

    def wait_exit(self, timeout=None):
        """A stop writes the lines still queued for the database first, each through
        SQLite and its full-text index under memcheck: slower than a plain server's."""
        return super().wait_exit(START_TIMEOUT if timeout is None else timeout)


@pytest.fixture
def valgrind_server():
    started = []

    def start(*extra):
        s = ValgrindServer(["--host", "127.0.0.1", "--port", "0", "--threads", "2", *extra])
        started.append(s)
        s.wait_listening(START_TIMEOUT)
        return s

    yield start
    for s in started:
        s.stop()  # does nothing if the test stopped it already


def join(connect, srv, pseudo, others, rcvbuf=None, history=()):
    """Joins pseudo; it must then receive the given lines as the room's history."""
    c = connect(srv.port, name=pseudo, rcvbuf=rcvbuf)
    c.expect_exact(PSEUDO_PROMPT, TIMEOUT)
    c.send_line(pseudo)
    c.expect_line(f"+ Bienvenue, {pseudo} ! ", TIMEOUT)
    for line in history:
        c.expect_line(re.compile(r"~ \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ " + re.escape(line)), TIMEOUT)
    c.pseudo = pseudo
    for o in others:
        o.expect_exact(f"* {pseudo} a rejoint la discussion", TIMEOUT)
    return c


def test_server_under_memcheck_runs_a_whole_scenario_with_no_report(
    valgrind_server, connect, tmp_path
):
    db = tmp_path / "server.db"
    srv = valgrind_server("--flood-rate", "0", "--db", str(db))
    alice = join(connect, srv, "alice", [])
    bob = join(connect, srv, "bob", [alice])
    carol = join(connect, srv, "carol", [alice, bob])

    # A pseudo refused, then one accepted; and one that vanishes during the handshake.
    dave = connect(srv.port, name="dave")
    dave.expect_exact(PSEUDO_PROMPT, TIMEOUT)
    dave.send_line("ALICE")
    dave.expect_exact("! Le pseudo « ALICE » est déjà pris.", TIMEOUT)
    dave.expect_exact(PSEUDO_PROMPT, TIMEOUT)
    dave.send_line("da ve")
    dave.expect_exact("! Le pseudo ne doit pas contenir d'espace.", TIMEOUT)
    dave.expect_exact(PSEUDO_PROMPT, TIMEOUT)
    dave.send_line("dave")
    dave.expect_line("+ Bienvenue, dave ! 4 personnes connectées.", TIMEOUT)
    for c in (alice, bob, carol):
        c.expect_exact("* dave a rejoint la discussion", TIMEOUT)
    ghost = connect(srv.port, name="ghost")
    ghost.expect_exact(PSEUDO_PROMPT, TIMEOUT)
    ghost.send_raw(b"fant")
    ghost.reset()

    # Messages both ways, sanitised on the way; a line split inside a character.
    alice.send_line("bonjour \x1b[31mà tous")
    for c in (bob, carol, dave):
        c.expect_exact("> alice: bonjour [31mà tous", TIMEOUT)
    for b in "é ça\n".encode():
        bob.send_raw(bytes([b]))
    for c in (alice, carol, dave):
        c.expect_exact("> bob: é ça", TIMEOUT)

    # An overlong line, refused; a command; an unknown one.
    carol.send_raw(b"x" * 5000 + b"\nsuite\n")
    carol.expect_exact(TOO_LONG, TIMEOUT)
    for c in (alice, bob, dave):
        c.expect_exact("> carol: suite", TIMEOUT)
    bob.send_line("/help")
    bob.expect_exact("+ Commandes disponibles :", TIMEOUT)
    bob.readlines_until("* //texte", TIMEOUT)
    bob.send_line("/nope")
    bob.expect_line("! Commande inconnue : /nope", TIMEOUT)

    # Every way of leaving: /quit, a reset, a close in the middle of a line.
    carol.send_line("/quit")
    assert carol.expect_closed(TIMEOUT) == []
    for c in (alice, bob, dave):
        c.expect_exact("* carol est déconnecté", TIMEOUT)
    bob.reset()
    for c in (alice, dave):
        c.expect_exact("* bob est déconnecté", TIMEOUT)
    dave.send_raw(b"moiti")
    dave.sock.shutdown(socket.SHUT_WR)
    alice.expect_exact("* dave est déconnecté", TIMEOUT)
    dave.expect_closed(TIMEOUT)

    # A write in flight fails: eve reads nothing while flood talks to alice until the
    # server holds output for eve beyond what the kernel buffers, then eve sends /quit and
    # resets. The write request fails, its messages are released, eve is freed.
    said = ["> alice: bonjour [31mà tous", "> bob: é ça", "> carol: suite"]
    eve = join(connect, srv, "eve", [alice], rcvbuf=4096, history=said)
    flood = join(connect, srv, "flood", [alice, eve], history=said)
    flood_until_queued(srv, flood, alice, eve)
    inode = server_side(srv, eve)["inode"]
    eve.send_line("/quit")
    srv.wait_log(r"eve est déconnecté \(/quit\)", TIMEOUT)
    eve.reset()
    wait_until(lambda: not holds_socket(srv, inode), "the server to close eve's socket", TIMEOUT)
    for c in (alice, flood):
        c.expect_exact("* eve est déconnecté", TIMEOUT)

    # Rooms, an action, a private message, a change of pseudo, /who and /rooms.
    alice.send_line("/join jeux")
    alice.expect_exact("+ Vous êtes maintenant dans #jeux.", TIMEOUT)
    alice.expect_exact("= #jeux 1 : alice", TIMEOUT)
    flood.expect_exact("* alice a quitté #général", TIMEOUT)
    alice.send_line("/me lance les dés")
    alice.send_line("/msg FLOOD psst")
    alice.expect_exact("+ Message privé pour flood : psst", TIMEOUT)
    flood.expect_exact("@ alice: psst", TIMEOUT)
    flood.send_line("/nick inondation")
    flood.expect_exact("+ Vous vous appelez maintenant inondation.", TIMEOUT)
    alice.expect_exact("* flood s'appelle maintenant inondation", TIMEOUT)
    flood.send_line("/join jeux")
    flood.expect_exact("+ Vous êtes maintenant dans #jeux.", TIMEOUT)
    flood.expect_exact("= #jeux 2 : alice inondation", TIMEOUT)
    flood.expect_line(re.compile(r"~ \S+ & alice lance les dés"), TIMEOUT)
    alice.expect_exact("* inondation a rejoint #jeux", TIMEOUT)
    flood.send_line("/rooms")
    flood.expect_exact("+ 2 salons :", TIMEOUT)
    flood.readlines_until("* #général : 0 personne", TIMEOUT)
    flood.send_line("/quit à plus")
    flood.expect_closed(TIMEOUT)
    alice.expect_exact("* inondation est déconnecté (à plus)", TIMEOUT)

    # alice is still connected when the server stops: its teardown frees her too.
    alice.send_line("/help")
    alice.expect_exact("+ Commandes disponibles :", TIMEOUT)
    srv.stop()  # SIGTERM; exit status 0 required (valgrind's would be 99 on any report)
    assert alice.expect_closed(TIMEOUT)[-1] == "* Le serveur s'arrête."
    report = srv.stderr
    assert not REPORTS.search(report), f"valgrind:\n{report[-20000:]}"
    assert srv.count_log("est déconnecté") == 5, srv.log_lines
    assert srv.count_log("fant") == 0, srv.log_lines

    # The database written meanwhile is read back by a new server, also under memcheck,
    # which then reads it on the thread pool for /history and /search.
    srv = valgrind_server("--db", str(db))
    srv.wait_log(r"Base de données : .* \(\d+ messages relus, 0 compte, 1 salon avec propriétaire\)", TIMEOUT)
    zoe = join(connect, srv, "zoe", [])
    zoe.send_line("/who")
    lines = zoe.readlines_until("= #général 1 : zoe", TIMEOUT)
    assert len(lines) == 51 and all(line.startswith("~ ") for line in lines[:-1]), lines
    zoe.send_line("/join jeux")
    zoe.expect_exact("+ Vous êtes maintenant dans #jeux.", TIMEOUT)
    zoe.expect_exact("= #jeux 1 : zoe", TIMEOUT)
    zoe.expect_line(re.compile(r"~ \S+ & alice lance les dés"), TIMEOUT)
    zoe.send_line("/history")
    zoe.expect_exact("* Rien de plus ancien dans #jeux.", TIMEOUT)
    zoe.send_line("/search DES")
    zoe.expect_line(re.compile(r"~ \S+ & alice lance les dés"), TIMEOUT)
    zoe.send_line("/part")
    zoe.send_line("/who")
    zoe.readlines_until("= #général 1 : zoe", TIMEOUT)  # the move, its history, the answer
    zoe.send_line("/history 3")
    zoe.send_line("/who")
    paged = zoe.readlines_until("= #général 1 : zoe", TIMEOUT)[:-1]
    assert paged and paged[0].startswith("~ "), paged
    assert all(line.startswith("~ ") for line in paged[:-1]), paged
    zoe.send_line("/quit")
    zoe.expect_closed(TIMEOUT)
    srv.stop()
    report = srv.stderr
    assert not REPORTS.search(report), f"valgrind:\n{report[-20000:]}"


def join_over(client, pseudo, others):
    """Joins pseudo on an open client of any transport, with valgrind's timeouts."""
    client.expect_exact(PSEUDO_PROMPT, TIMEOUT)
    client.send_line(pseudo)
    client.expect_line(f"+ Bienvenue, {pseudo} ! ", TIMEOUT)
    client.pseudo = pseudo
    for o in others:
        o.expect_exact(f"* {pseudo} a rejoint la discussion", TIMEOUT)
    return client


def test_server_under_memcheck_serves_tls_and_the_web_with_no_report(
    valgrind_server, connect, certs
):
    ctx = client_context(certs.ca)
    opened = []

    def tls(name):
        c = LineClient(srv.tls_port, name=name, tls=ctx)
        opened.append(c)
        return c

    def ws(name, secure, **options):
        c = WsClient(srv.web_port, name=name, tls=ctx if secure else None, **options)
        opened.append(c)
        return c

    try:
        # With a certificate: the TLS port, and the web port in HTTPS and WSS.
        srv = valgrind_server("--flood-rate", "0", *tls_args(certs))
        alice = join(connect, srv, "alice", [])
        bob = join_over(tls("bob"), "bob", [alice])
        carol = join_over(ws("carol", True), "carol", [alice, bob])
        alice.send_line("bonjour")
        bob.send_line("salut, chiffré")
        carol.send_line("salut, du navigateur")
        for c, lines in ((alice, ["bob", "carol"]), (bob, ["alice", "carol"]),
                         (carol, ["alice", "bob"])):
            got = [c.read_line(TIMEOUT) for _ in lines]
            assert [g.split(":")[0] for g in got] == [f"> {who}" for who in lines], got
        page = get(srv.web_port, "/", tls=ctx)
        assert page.status == 200 and b"<html" in page.body
        assert get(srv.web_port, "/nulle-part", tls=ctx).status == 404

        # Refused or broken on the way in: non-TLS bytes, a reset mid-handshake, a reset
        # mid-frame over TLS; none of them is announced.
        sock, _ = raw_connect(srv.tls_port)
        sock.sendall(b"GET / HTTP/1.1\r\n\r\n")
        assert is_alert(read_to_end(sock, TIMEOUT))
        sock.close()
        sock, _ = raw_connect(srv.tls_port)
        sock.sendall(client_hello(ctx)[:40])
        reset(sock)
        dave = join_over(ws("dave", True), "dave", [alice, bob, carol])
        dave.send_raw(frame(OP_TEXT, b"jamais fini" * 20)[:40])
        dave.reset()
        for c in (alice, bob, carol):
            c.expect_exact("* dave est déconnecté", TIMEOUT)

        # Leaving: /quit over TLS; the rest are there when the server stops.
        bob.send_line("/quit")
        bob.expect_closed(TIMEOUT)
        for c in (alice, carol):
            c.expect_exact("* bob est déconnecté", TIMEOUT)
        erin = tls("erin")
        erin.expect_exact(PSEUDO_PROMPT, TIMEOUT)  # still without a pseudo at the stop
        srv.stop()
        assert alice.expect_closed(TIMEOUT)[-1] == "* Le serveur s'arrête."
        assert carol.expect_close(1000, TIMEOUT)[-1] == "* Le serveur s'arrête."
        assert not REPORTS.search(srv.stderr), f"valgrind:\n{srv.stderr[-20000:]}"
        assert srv.count_log("est déconnecté") == 2, srv.log_lines  # dave, bob
        # The bytes that are not TLS are refused; the reset mid-handshake is a peer gone.
        assert srv.stderr.count("connexion TLS refusée") == 1, srv.stderr

        # Without one: WebSocket in the clear, its refusals and a bad request.
        srv = valgrind_server("--flood-rate", "0")
        frank = join(connect, srv, "frank", [])
        gina = join_over(ws("gina", False), "gina", [frank])
        gina.send_line("en clair")
        frank.expect_exact("> gina: en clair", TIMEOUT)
        frank.send_line("bien reçu")
        gina.expect_exact("> frank: bien reçu", TIMEOUT)
        bad = http_request(srv.web_port, b"GET / HTTP/1.1\r\nHost\r\n\r\n", timeout=TIMEOUT)
        assert bad.status == 400
        hugo = join_over(ws("hugo", False, origin=None), "hugo", [frank, gina])
        hugo.send_frame(OP_BINARY, b"\x00\x01")
        hugo.expect_close(1003, TIMEOUT)
        for c in (frank, gina):
            c.expect_exact("* hugo est déconnecté", TIMEOUT)
        ines = ws("ines", False)
        ines.expect_exact(PSEUDO_PROMPT, TIMEOUT)
        ines.send_raw(frame(OP_TEXT, b"ines")[:3])
        ines.reset()
        srv.stop()
        assert gina.expect_close(1000, TIMEOUT)[-1] == "* Le serveur s'arrête."
        assert not REPORTS.search(srv.stderr), f"valgrind:\n{srv.stderr[-20000:]}"
        assert srv.count_log("est déconnecté") == 1, srv.log_lines  # hugo
    finally:
        for c in opened:
            c.close()
