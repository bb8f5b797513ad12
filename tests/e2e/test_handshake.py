"""The handshake: the pseudo prompt, refusals with their exact texts, the welcome."""

import re

import pytest

from conftest import PSEUDO_PROMPT, STAMP

ALONE = "Personne d'autre n'est connecté pour l'instant."


def test_connection_is_greeted_with_the_pseudo_prompt(server, connect):
    srv = server()
    c = connect(srv.port)
    c.expect_exact(PSEUDO_PROMPT)


def test_first_pseudo_is_welcomed_as_alone(server, connect):
    srv = server()
    c = connect(srv.port)
    c.expect_exact(PSEUDO_PROMPT)
    c.send_line("alice")
    c.expect_exact(f"+ Bienvenue, alice ! {ALONE}")


def test_welcome_counts_the_people_connected(alice_bob, connect):
    srv = alice_bob().srv
    c = connect(srv.port)
    c.expect_exact(PSEUDO_PROMPT)
    c.send_line("carol")
    c.expect_exact("+ Bienvenue, carol ! 3 personnes connectées.")


def test_join_is_logged_with_pseudo_and_peer_address(server, connect):
    srv = server()
    c = connect(srv.port)
    c.join("alice")
    local_port = c.sock.getsockname()[1]
    m = srv.wait_log(r"alice a rejoint la discussion")
    assert re.fullmatch(
        STAMP + rf"alice a rejoint la discussion \(127\.0\.0\.1:{local_port}\)", m.string
    ), m.string


@pytest.mark.parametrize(
    "first, second",
    [("alice", "alice"), ("alice", "ALICE"), ("Alice", "aLiCe"), ("Élodie", "élodie"),
     ("ÉLODIE", "élodie")],
)
def test_pseudo_in_use_is_refused_whatever_its_case(server, chat, connect, first, second):
    srv = server()
    chat(srv, first)
    c = connect(srv.port)
    c.expect_exact(PSEUDO_PROMPT)
    c.send_line(second)
    c.expect_exact(f"! Le pseudo « {second} » est déjà pris.")
    c.expect_exact(PSEUDO_PROMPT)


def test_refused_pseudo_leaves_the_connection_free_to_try_another(server, chat, connect):
    srv = server()
    (alice,) = chat(srv, "alice")
    c = connect(srv.port)
    c.expect_exact(PSEUDO_PROMPT)
    c.send_line("ALICE")
    c.expect_line("! Le pseudo « ALICE » est déjà pris.")
    c.expect_exact(PSEUDO_PROMPT)
    c.send_line("bob")
    c.expect_exact("+ Bienvenue, bob ! 2 personnes connectées.")
    alice.expect_exact("* bob a rejoint la discussion")


CONTROL = "! Le pseudo ne doit pas contenir de caractère de contrôle."
INVISIBLE = "! Le pseudo ne doit pas contenir de caractère invisible."
REFUSALS = [
    ("empty", b"", "! Le pseudo ne peut pas être vide."),
    ("cr-only", b"\r", "! Le pseudo ne peut pas être vide."),
    ("33-chars", b"a" * 33, "! Le pseudo ne doit pas dépasser 32 caractères."),
    ("33-accented-chars", "é".encode() * 33, "! Le pseudo ne doit pas dépasser 32 caractères."),
    ("space", b"al ice", "! Le pseudo ne doit pas contenir d'espace."),
    ("leading-space", b" alice", "! Le pseudo ne doit pas contenir d'espace."),
    ("no-break-space", "al\u00a0ice".encode(), "! Le pseudo ne doit pas contenir d'espace."),
    ("esc", b"al\x1bice", CONTROL),
    ("bel", b"alice\x07", CONTROL),
    ("nul", b"al\x00ice", CONTROL),
    ("c1-csi", "al\u009bice".encode(), CONTROL),
    ("zero-width-space", "ali\u200bce".encode(), INVISIBLE),
    ("rtl-override", "\u202eecila".encode(), INVISIBLE),
    ("byte-order-mark", "\ufeffalice".encode(), INVISIBLE),
    ("invalid-utf8", b"al\xffice", "! Le pseudo doit être écrit en UTF-8 valide."),
    ("truncated-utf8", b"alic\xc3", "! Le pseudo doit être écrit en UTF-8 valide."),
    ("slash", b"/alice", "! Le pseudo ne peut pas commencer par « / »."),
]


@pytest.mark.parametrize(
    "pseudo, refusal", [r[1:] for r in REFUSALS], ids=[r[0] for r in REFUSALS]
)
def test_invalid_pseudo_is_refused_with_its_reason_then_asked_again(
    server, connect, pseudo, refusal
):
    srv = server()
    c = connect(srv.port)
    c.expect_exact(PSEUDO_PROMPT)
    c.send_line(pseudo)
    c.expect_exact(refusal)
    c.expect_exact(PSEUDO_PROMPT)
    c.send_line("alice")  # still in the handshake, and nothing was claimed
    c.expect_exact(f"+ Bienvenue, alice ! {ALONE}")


@pytest.mark.parametrize(
    "pseudo", ["a" * 32, "é" * 32, "日" * 32], ids=["ascii", "2-byte", "3-byte"]
)
def test_pseudo_of_32_characters_is_accepted(server, connect, pseudo):
    srv = server()
    c = connect(srv.port)
    c.expect_exact(PSEUDO_PROMPT)
    c.send_line(pseudo)
    c.expect_exact(f"+ Bienvenue, {pseudo} ! {ALONE}")


def test_pseudo_with_crlf_is_accepted_without_the_cr(server, connect):
    srv = server()
    c = connect(srv.port)
    c.expect_exact(PSEUDO_PROMPT)
    c.send_line("alice", end=b"\r\n")
    c.expect_exact(f"+ Bienvenue, alice ! {ALONE}")


def test_pseudo_is_free_again_once_its_owner_has_left(alice_bob, connect):
    srv, alice, bob = alice_bob()
    alice.send_line("/quit")
    alice.expect_closed()
    bob.expect_exact("* alice est déconnecté")
    c = connect(srv.port)
    c.join("Alice")
    bob.expect_exact("* Alice a rejoint la discussion")


HANDSHAKE_EXITS = ["quit", "close", "reset", "partial-pseudo-then-close"]


@pytest.mark.parametrize("how", HANDSHAKE_EXITS)
def test_connection_leaving_during_handshake_leaves_silently(server, chat, connect, how):
    srv = server()
    (alice,) = chat(srv, "alice")
    ghost = connect(srv.port, name="ghost")
    ghost.expect_exact(PSEUDO_PROMPT)
    if how == "quit":
        ghost.send_line("/quit")
        assert ghost.expect_closed() == []  # no goodbye either
    elif how == "close":
        ghost.close()
    elif how == "reset":
        ghost.reset()
    else:
        ghost.send_raw(b"fant")
        ghost.close()
    # Proof that alice was told nothing: the next thing she hears is a later join.
    mark = srv.log_mark()
    bob = connect(srv.port)
    bob.join("bob")
    alice.expect_exact("* bob a rejoint la discussion")
    srv.wait_log(r"bob a rejoint la discussion", after=mark)
    assert srv.count_log(r"est déconnecté") == 0, srv.log_lines


def test_quit_during_handshake_closes_the_connection(server, connect):
    srv = server()
    c = connect(srv.port)
    c.expect_exact(PSEUDO_PROMPT)
    c.send_line("/quit")
    assert c.expect_closed() == []


def test_quit_during_handshake_after_a_refusal_closes_the_connection(server, connect):
    srv = server()
    c = connect(srv.port)
    c.expect_exact(PSEUDO_PROMPT)
    c.send_line("a b")
    c.expect_exact("! Le pseudo ne doit pas contenir d'espace.")
    c.expect_exact(PSEUDO_PROMPT)
    c.send_line("/quit")
    assert c.expect_closed() == []
