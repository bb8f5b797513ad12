"""Limits meant for hostile clients: --max-clients, --max-per-ip, --handshake-timeout,
--idle-timeout and flood control (--flood-burst, --flood-rate). Each limit is shown to
turn the client concerned away with its French notice and a log line, to leave everyone
else alone, and to be off at 0."""

import re
import time

import pytest

from conftest import PSEUDO_PROMPT, TIMEOUT, wait_stderr

FULL = "! Serveur plein (3 connexions) : réessayez plus tard."
PER_IP = "! Trop de connexions depuis votre adresse (16 au plus) : réessayez plus tard."
FLOOD = (
    "! Trop de messages (10 d'affilée, puis 5 par seconde au plus) : « m10 » a été refusé, "
    "renvoyez-le plus tard."
)


def connect_once_a_place_is_free(connect, port, refusal):
    """Connects until the server lets a connection in rather than answering refusal: a
    place is given back when the server has closed the socket that held it, which it does
    once it reads that socket's end. Bounded in time. Returns the client, at the prompt."""
    deadline = time.monotonic() + TIMEOUT
    while True:
        c = connect(port, name="next")
        line = c.read_line()
        if line == PSEUDO_PROMPT:
            return c
        assert line == refusal, line
        assert time.monotonic() < deadline, "the freed place was never given back"


# ---------------------------------------------------------------------------- --max-clients


def test_connection_past_max_clients_is_told_the_server_is_full_and_closed(server, connect):
    srv = server("--max-clients", "3")
    admitted = [connect(srv.port, name=f"c{i}") for i in range(3)]
    for c in admitted:
        c.expect_exact(PSEUDO_PROMPT)
    extra = connect(srv.port, name="extra")
    assert extra.expect_closed() == [FULL]
    wait_stderr(srv, r"connexion refusée \(127\.0\.0\.1:\d+\) : serveur plein \(3 connexions\)")
    # The ones let in are still served.
    admitted[0].send_line("alice")
    admitted[0].expect_line("+ Bienvenue, alice ! ")


@pytest.mark.concurrency
def test_a_place_freed_under_max_clients_is_given_to_the_next_connection(server, connect):
    srv = server("--max-clients", "2")
    a = connect(srv.port, name="a")
    a.join("alice")
    b = connect(srv.port, name="b")
    b.expect_exact(PSEUDO_PROMPT)
    assert connect(srv.port, name="refused").expect_closed()[0].startswith("! Serveur plein")
    b.close()
    c = connect_once_a_place_is_free(
        connect, srv.port, "! Serveur plein (2 connexions) : réessayez plus tard."
    )
    c.send_line("carol")
    c.expect_line("+ Bienvenue, carol ! ")


# ---------------------------------------------------------------------------- --max-per-ip


@pytest.mark.concurrency
def test_seventeenth_connection_from_one_address_is_refused_by_default(server, connect):
    srv = server()
    first = [connect(srv.port, name=f"c{i}") for i in range(16)]
    for c in first:
        c.expect_exact(PSEUDO_PROMPT)
    extra = connect(srv.port, name="seventeenth")
    assert extra.expect_closed() == [PER_IP]
    wait_stderr(
        srv,
        r"connexion refusée \(127\.0\.0\.1:\d+\) : trop de connexions depuis cette adresse "
        r"\(16 au plus\)"
    )
    # Another address is counted on its own.
    connect(srv.port, name="other", source="127.0.0.2").join("bob")
    # A place freed on the first address is given back.
    first[0].close()
    connect_once_a_place_is_free(connect, srv.port, PER_IP)


def test_max_per_ip_0_lets_forty_connections_in_from_one_address(server, connect):
    srv = server("--max-per-ip", "0")
    clients = [connect(srv.port, name=f"c{i}") for i in range(40)]
    for c in clients:
        c.expect_exact(PSEUDO_PROMPT)


# ---------------------------------------------------------------------------- timeouts


def test_client_without_a_valid_pseudo_is_told_and_closed_after_the_handshake_timeout(
    server, connect
):
    srv = server("--handshake-timeout", "1")
    joined = connect(srv.port, name="alice")
    joined.join("alice")
    silent = connect(srv.port, name="silent")
    silent.expect_exact(PSEUDO_PROMPT)
    trying = connect(srv.port, name="trying")
    trying.expect_exact(PSEUDO_PROMPT)
    trying.send_line("pas valide")  # a refused pseudo does not restart the clock
    assert trying.read_line().startswith("! ")
    trying.expect_exact(PSEUDO_PROMPT)
    started = time.monotonic()
    assert silent.expect_closed() == ["! Délai dépassé : aucun pseudo valide reçu en 1 s."]
    assert trying.expect_closed() == ["! Délai dépassé : aucun pseudo valide reçu en 1 s."]
    assert time.monotonic() - started < TIMEOUT
    srv.wait_log(r"connexion fermée \(127\.0\.0\.1:\d+\) : pas de pseudo valide en 1 s")
    # A client that joined in time is not touched: it still talks.
    bob = connect(srv.port, name="bob")
    bob.join("bob")
    joined.expect_exact("* bob a rejoint la discussion")
    bob.send_line("toujours là ?")
    joined.expect_exact("> bob: toujours là ?")


def test_handshake_timeout_0_keeps_a_silent_connection(server, connect):
    # The idle timeout of a joined client serves as the clock: the silent one connected
    # first and must outlive it.
    srv = server("--handshake-timeout", "0", "--idle-timeout", "1")
    silent = connect(srv.port, name="silent")
    silent.expect_exact(PSEUDO_PROMPT)
    idle = connect(srv.port, name="idle")
    idle.join("idle")
    assert idle.expect_closed() == ["! Aucun message depuis 1 s : déconnexion."]
    silent.send_line("alice")
    silent.expect_line("+ Bienvenue, alice ! ")


def test_idle_client_is_told_and_closed_and_others_see_it_leave(alice_bob, chat):
    srv, alice, bob = alice_bob("--idle-timeout", "1", "--handshake-timeout", "0")
    # alice speaks about every 0.3 s (waiting that long for bob's notice between two
    # lines), bob says nothing: bob goes, alice stays.
    for n in range(3 * TIMEOUT * 4):
        alice.send_line(f"je parle {n}")
        bob.expect_exact(f"> alice: je parle {n}")
        try:
            notice = bob.read_line(timeout=0.3)
        except AssertionError:
            continue
        assert notice == "! Aucun message depuis 1 s : déconnexion."
        assert bob.expect_closed() == []
        break
    else:
        raise AssertionError("bob was never dropped for idleness")
    # alice, who spoke every 0.3 s or so (well under the timeout), is still there.
    rest = alice.readlines_until("* bob est déconnecté")
    assert all(not r.startswith("!") for r in rest), rest
    srv.wait_log(r"bob est déconnecté \(inactif depuis 1 s\)")
    carol = chat(srv, "carol")[0]
    alice.expect_exact("* carol a rejoint la discussion")
    carol.send_line("salut")
    alice.expect_exact("> carol: salut")


# ---------------------------------------------------------------------------- flood control


def test_burst_past_flood_burst_is_refused_with_a_notice_and_not_relayed(alice_bob):
    srv, alice, bob = alice_bob()
    alice.send_raw(b"".join(b"m%d\n" % i for i in range(15)))
    for i in range(10):
        bob.expect_exact(f"> alice: m{i}")
    assert alice.read_line() == FLOOD
    assert alice.read_line() == "! Et 4 autres messages refusés : trop de messages."
    wait_stderr(srv, r"alice \(127\.0\.0\.1:\d+\) : 5 messages refusés, trop de messages")
    # Nothing past the tenth reached bob: the next thing bob reads is the first line alice
    # gets through once her allowance is back (one line every 200 ms). A refusal comes in
    # the same turn as the line, so a line without one within 0.5 s went through.
    deadline = time.monotonic() + TIMEOUT
    for n in range(1000):
        alice.send_line(f"encore {n}")
        try:
            refusal = alice.read_line(timeout=0.5)
        except AssertionError:
            break
        assert refusal.startswith("! Trop de messages") and f"« encore {n} »" in refusal
        assert time.monotonic() < deadline, "alice's allowance never came back"
        time.sleep(0.05)  # pacing the attempts, not waiting for an event
    assert bob.read_line() == f"> alice: encore {n}"


def test_long_refused_line_is_quoted_cut_at_a_character_boundary(alice_bob):
    srv, alice, bob = alice_bob("--flood-burst", "1", "--flood-rate", "1")
    text = "é" * 30  # 60 bytes: cut at 40 bytes, 20 characters
    alice.send_raw(b"premier\n" + text.encode() + b"\n")
    bob.expect_exact("> alice: premier")
    assert alice.read_line() == (
        "! Trop de messages (1 d'affilée, puis 1 par seconde au plus) : « "
        + "é" * 20
        + "… » a été refusé, renvoyez-le plus tard."
    )


@pytest.mark.concurrency
def test_flooder_does_not_delay_the_others(server, chat):
    srv = server()
    alice, bob, carol = chat(srv, "alice", "bob", "carol")
    lines = 20000
    alice.send_raw(b"".join(b"flood %d\n" % i for i in range(lines)))
    bob.send_line("je passe quand même")
    carol.readlines_until("> bob: je passe quand même")
    # Ten went through; every other line was refused, never silently: one notice names the
    # first refusal of each read, one more counts the rest of that read. Together they
    # account for every refused line, in far fewer notices than lines.
    named = counted = notices = 0
    while named + counted < lines - 10:
        line = alice.read_line()
        if line.startswith("> bob: "):
            continue
        notices += 1
        if line.startswith("! Trop de messages"):
            named += 1
        else:
            m = re.fullmatch(r"! Et (\d+) autres messages refusés : trop de messages\.", line)
            assert m, line
            counted += int(m.group(1))
    assert named + counted == lines - 10
    assert notices <= 2 * named and notices < lines / 10


def test_flood_rate_0_relays_a_burst_of_a_hundred(alice_bob):
    srv, alice, bob = alice_bob("--flood-rate", "0")
    alice.send_raw(b"".join(b"m%d\n" % i for i in range(100)))
    for i in range(100):
        bob.expect_exact(f"> alice: m{i}")
    alice.send_line("/help")  # an answer, not a refusal, is the next thing alice reads
    assert alice.read_line().startswith("+ ")


def test_pseudo_attempts_count_against_flood_control(server, connect):
    srv = server()
    c = connect(srv.port, name="guesser")
    c.expect_exact(PSEUDO_PROMPT)
    c.send_raw(b"".join(b"pris %d\n" % i for i in range(20)))  # 20 invalid pseudos
    answers = []
    for _ in range(10):
        answers.append(c.read_line())
        c.expect_exact(PSEUDO_PROMPT)
    assert all(a.startswith("! ") and "Trop de messages" not in a for a in answers), answers
    assert c.read_line().startswith("! Trop de messages (10 d'affilée")
    assert c.read_line() == "! Et 9 autres messages refusés : trop de messages."
    c.expect_exact(PSEUDO_PROMPT)


def test_quit_is_never_refused_by_flood_control(alice_bob):
    srv, alice, bob = alice_bob()
    alice.send_raw(b"".join(b"m%d\n" % i for i in range(20)) + b"/quit\n")
    lines = alice.expect_closed()
    assert lines[0].startswith("! Trop de messages"), lines
    bob.readlines_until("* alice est déconnecté")
    srv.wait_log(r"alice est déconnecté \(/quit\)")


def test_flood_warnings_are_logged_within_a_budget_per_second(server, chat):
    srv = server(threads=1)
    (alice,) = chat(srv, "alice")
    # Past the allowance, each line in its own read is a refusal of its own: 300 of them
    # in well under a second make at most 10 warning lines for that second, and the next
    # line logged says some were left out.
    for _ in range(10):
        alice.send_line("ok")
    started = time.monotonic()
    for i in range(300):
        alice.send_line(f"trop {i}")
        alice.expect_line("! Trop de messages")
    seconds = int(time.monotonic() - started) + 2  # the calendar seconds it can straddle
    wait_stderr(srv, r"messages refusés, trop de messages")
    warnings = re.findall(r"messages refusés, trop de messages.*", srv.stderr)
    assert len(warnings) <= 10 * seconds < 300, (len(warnings), seconds)
    # The first line logged in a later second says that some were left out.
    deadline = time.monotonic() + TIMEOUT
    while "et d'autres refus non journalisés" not in srv.stderr:
        assert time.monotonic() < deadline, srv.stderr[-2000:]
        alice.send_raw(b"encore\n" * 20)  # refused beyond the allowance, whatever the pace
        time.sleep(0.3)  # pacing the bursts into later seconds
