"""Chat: relaying to the others, notices, sanitising, commands."""

import os
import re
import socket
import time

import pytest

from conftest import NO_FLOOD_CONTROL, PSEUDO_PROMPT, STAMP


@pytest.mark.concurrency
def test_message_reaches_every_other_client_as_chat_line(server, chat):
    srv = server()  # two loop threads: alice and carol on one, bob on the other
    alice, bob, carol = chat(srv, "alice", "bob", "carol")
    alice.send_line("bonjour tout le monde")
    bob.expect_exact("> alice: bonjour tout le monde")
    carol.expect_exact("> alice: bonjour tout le monde")


def test_sender_does_not_receive_its_own_message(server, chat):
    srv = server()
    alice, bob, carol = chat(srv, "alice", "bob", "carol")
    alice.send_line("un")
    bob.expect_exact("> alice: un")
    carol.expect_exact("> alice: un")
    bob.send_line("deux")
    alice.expect_exact("> bob: deux")  # the next line alice sees: not her own "un"
    carol.expect_exact("> bob: deux")


def test_messages_from_one_sender_arrive_in_order(alice_bob):
    srv, alice, bob = alice_bob(*NO_FLOOD_CONTROL)
    for i in range(50):
        alice.send_line(f"message {i}")
    for i in range(50):
        bob.expect_exact(f"> alice: message {i}")


def test_utf8_text_is_relayed_intact(alice_bob):
    srv, alice, bob = alice_bob()
    alice.send_line("é 日本語 😀 ça va ? « oui »")
    bob.expect_exact("> alice: é 日本語 😀 ça va ? « oui »")


def test_utf8_split_across_sends_is_reassembled(alice_bob):
    srv, alice, bob = alice_bob()
    data = "é😀\n".encode()
    for i in range(len(data)):
        alice.send_raw(data[i : i + 1])
    bob.expect_exact("> alice: é😀")


def test_crlf_line_ending_is_accepted(alice_bob):
    srv, alice, bob = alice_bob()
    alice.send_line("salut", end=b"\r\n")
    assert bob.read_raw_line() == b"> alice: salut"


def test_several_lines_in_one_send_are_each_relayed(alice_bob):
    srv, alice, bob = alice_bob()
    alice.send_raw(b"un\ndeux\r\ntrois\n")
    bob.expect_exact("> alice: un")
    bob.expect_exact("> alice: deux")
    bob.expect_exact("> alice: trois")


def test_join_is_announced_to_the_others_but_not_to_the_newcomer(alice_bob, connect):
    srv, alice, bob = alice_bob()
    carol = connect(srv.port)
    carol.join("carol")
    alice.expect_exact("* carol a rejoint la discussion")
    bob.expect_exact("* carol a rejoint la discussion")
    alice.send_line("coucou")
    carol.expect_exact("> alice: coucou")  # nothing about herself came before


LEAVES = ["quit", "close", "reset", "shutdown-write"]


def leave(client, how):
    if how == "quit":
        client.send_line("/quit")
        assert client.expect_closed() == []
    elif how == "close":
        client.close()
    elif how == "reset":
        client.reset()
    else:
        client.sock.shutdown(socket.SHUT_WR)


@pytest.mark.concurrency
@pytest.mark.parametrize("how", LEAVES)
def test_leaving_is_announced_to_the_others_once(server, chat, connect, how):
    srv = server()
    alice, bob, carol = chat(srv, "alice", "bob", "carol")
    leave(bob, how)
    alice.expect_exact("* bob est déconnecté")
    carol.expect_exact("* bob est déconnecté")
    # Once: a later event is the next thing either of them hears.
    dave = connect(srv.port)
    dave.join("dave")
    alice.expect_exact("* dave a rejoint la discussion")
    carol.expect_exact("* dave a rejoint la discussion")


@pytest.mark.concurrency
def test_pseudo_handed_over_between_loops_is_announced_leave_before_join(server, chat, connect):
    # The holder of "x" quits on one loop while the next claimant, on the other loop,
    # retries "x" as fast as it can: the others must hear the leave before the new join,
    # every time, which holds only if the leave is published before the pseudo is freed.
    # The retries are a flood by design: flood control is lifted.
    srv = server(*NO_FLOOD_CONTROL, threads=2)
    (watcher,) = chat(srv, "watcher")
    rounds = 100
    holder = connect(srv.port, name="holder")
    holder.join("x")
    watcher.expect_exact("* x a rejoint la discussion")
    for _ in range(rounds):
        claimant = connect(srv.port, name="claimant")
        claimant.expect_exact(PSEUDO_PROMPT)
        holder.send_line("/quit")
        for _attempt in range(10000):
            claimant.send_line("x")
            line = claimant.read_line()
            if line.startswith("+ Bienvenue, x !"):
                break
            assert line == "! Le pseudo « x » est déjà pris.", line
            claimant.expect_exact(PSEUDO_PROMPT)
        else:
            raise AssertionError("x was never freed")
        holder.expect_closed()
        holder.close()
        holder = claimant
    notices = [watcher.read_line() for _ in range(2 * rounds)]
    assert notices == ["* x est déconnecté", "* x a rejoint la discussion"] * rounds


@pytest.mark.parametrize("how", LEAVES)
def test_leaving_is_logged_once_with_a_reason(alice_bob, connect, how):
    srv, alice, bob = alice_bob()
    leave(bob, how)
    m = srv.wait_log(r"bob est déconnecté")
    assert re.fullmatch(STAMP + r"bob est déconnecté \(.+\)", m.string), m.string
    if how == "quit":
        assert m.string.endswith("bob est déconnecté (/quit)")
    mark = srv.log_mark()
    dave = connect(srv.port)
    dave.join("dave")
    srv.wait_log(r"dave a rejoint la discussion", after=mark)
    assert srv.count_log(r"bob est déconnecté") == 1, srv.log_lines


SANITISED = [
    ("esc-bel-invalid", b"\x1b[31mrouge\x07 \xff", "[31mrouge \ufffd"),
    ("tab", b"a\tb", "a b"),
    ("nul-del", b"x\x00y\x7fz", "xyz"),
    ("c1", "c1\u009b\u0085fin".encode(), "c1fin"),
    ("backspace-cr", b"abc\x08\x08\rdef", "abcdef"),
    ("lone-continuation", b"a\x80b", "a\ufffdb"),
    ("bidi-override", "a\u202eb\u2066c\u2069\u200fd".encode(), "abc\u200fd"),
]


@pytest.mark.parametrize("sent, relayed", [s[1:] for s in SANITISED], ids=[s[0] for s in SANITISED])
def test_controls_are_stripped_and_invalid_utf8_replaced_before_relay(alice_bob, sent, relayed):
    srv, alice, bob = alice_bob()
    alice.send_line(sent)
    raw = bob.read_raw_line()
    assert raw == f"> alice: {relayed}".encode(), raw


@pytest.mark.parametrize("line", [b"", b"\r", b"\x07\x1b"], ids=["empty", "cr", "controls-only"])
def test_empty_line_is_not_relayed(alice_bob, line):
    srv, alice, bob = alice_bob()
    alice.send_line(line)
    alice.send_line("après")
    bob.expect_exact("> alice: après")


def test_double_slash_sends_a_message_starting_with_slash(alice_bob):
    srv, alice, bob = alice_bob()
    alice.send_line("//slash et la suite")
    bob.expect_exact("> alice: /slash et la suite")


def test_unknown_command_is_answered_and_not_relayed(alice_bob):
    srv, alice, bob = alice_bob()
    alice.send_line("/nope")
    alice.expect_exact("! Commande inconnue : /nope (tapez /help pour la liste).")
    alice.send_line("après")
    bob.expect_exact("> alice: après")


def test_unknown_command_with_arguments_names_only_the_command(server, chat):
    srv = server()
    (alice,) = chat(srv, "alice")
    alice.send_line("/nope avec des mots")
    alice.expect_exact("! Commande inconnue : /nope (tapez /help pour la liste).")


def test_help_lists_the_commands_including_quit(alice_bob):
    srv, alice, bob = alice_bob()
    alice.send_line("/help")
    alice.send_line("/fin")  # its error marks the end of the help
    alice.expect_exact("+ Commandes disponibles :")
    lines = alice.readlines_until("! Commande inconnue : /fin", max_lines=50)[:-1]
    assert lines, "no command listed"
    assert all(line.startswith("* ") for line in lines), lines
    assert any(line.startswith("* /quit") for line in lines), lines
    assert any(line.startswith("* /help") for line in lines), lines
    alice.send_line("après")
    bob.expect_exact("> alice: après")  # /help was not relayed


def test_quit_closes_the_connection_without_a_reply(server, chat):
    srv = server()
    (alice,) = chat(srv, "alice")
    alice.send_line("/quit")
    assert alice.expect_closed() == []


def test_lines_after_quit_in_the_same_send_are_not_relayed(alice_bob):
    srv, alice, bob = alice_bob()
    alice.send_raw(b"/quit\napres le depart\n")
    bob.expect_exact("* alice est déconnecté")  # had the line been relayed, it came first


def test_answers_to_lines_before_quit_in_the_same_send_still_arrive(alice_bob):
    srv, alice, bob = alice_bob()
    alice.send_raw(b"/nope\n/quit\n")
    rest = alice.expect_closed()
    assert rest == ["! Commande inconnue : /nope (tapez /help pour la liste)."], rest
    bob.expect_exact("* alice est déconnecté")


def test_quit_before_the_pseudo_still_gets_the_answers_before_it(server, connect):
    srv = server()
    c = connect(srv.port)
    c.expect_exact(PSEUDO_PROMPT)
    c.send_raw(b"/\n/quit\n")
    rest = c.expect_closed()
    assert rest == ["! Le pseudo ne peut pas commencer par « / ».", PSEUDO_PROMPT], rest


def test_client_that_quits_without_reading_is_closed_after_the_linger_time(server, chat, connect):
    # Its answers (about 10 MB: more than both kernel buffers hold) fill its socket; it
    # never reads them: closed anyway, 2 s after /quit.
    srv = server("--max-backlog", str(64 << 20), *NO_FLOOD_CONTROL)
    (alice,) = chat(srv, "alice")
    mute = connect(srv.port, name="mute", rcvbuf=4096)
    mute.join("mute")
    alice.expect_exact("* mute a rejoint la discussion")
    fds = server_fds(srv)
    mute.send_raw(b"/help\n" * 12_000 + b"/quit\n")  # each /help answers 26 lines
    start = time.monotonic()
    alice.expect_exact("* mute est déconnecté", timeout=5)
    srv.wait_log(r"mute est déconnecté \(/quit\)")
    while server_fds(srv) == fds:  # mute's socket still open on the server
        assert time.monotonic() - start < 6, "not closed"
        time.sleep(0.05)
    elapsed = time.monotonic() - start
    assert server_fds(srv) == fds - 1
    assert elapsed > 1.5, f"closed after {elapsed:.2f} s, before its linger time"


def server_fds(srv):
    return len(os.listdir(f"/proc/{srv.proc.pid}/fd"))


def test_joins_and_leaves_are_announced_only_up_to_announce_max(alice_bob, connect):
    srv, alice, bob = alice_bob("--announce-max", "2")  # bob's join: 2 connected, announced
    carol = connect(srv.port, name="carol")
    carol.join("carol")  # 3 connected: not announced
    srv.wait_log(r"carol a rejoint la discussion")  # but logged
    carol.send_line("/quit")
    carol.expect_closed()
    srv.wait_log(r"carol est déconnecté \(/quit\)")
    bob.send_line("/quit")  # 2 connected: announced
    alice.expect_exact("* bob est déconnecté")  # the first thing alice hears since bob came


def test_announce_max_zero_announces_always(server, chat):
    srv = server("--announce-max", "0")
    alice, bob, carol = chat(srv, "alice", "bob", "carol")  # chat() expects each join
    carol.send_line("/quit")
    alice.expect_exact("* carol est déconnecté")
    bob.expect_exact("* carol est déconnecté")
