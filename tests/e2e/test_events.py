"""The events capability of the line protocol (docs/PROTOCOL.md, "Events"), from the
server's side: raw clients on real sockets ask for it with /cap events before their
pseudo, and receive arrivals, departures, renames, moves and the room list as fields a
program reads, while plain clients in the same rooms keep the sentences they always had.
Every field is read back with the same split a client does; no sentence is matched."""

import re
import subprocess

import pytest

from conftest import PSEUDO_PROMPT

CAP_OK = "+ Capacité activée : events."
FIELDS = re.compile(r"(?P<kind>[\^|#$-]) (?P<fields>[^ ]+(?: [^ ]+)?) : (?P<sentence>.*)")


def fields(line, kind):
    """The fields of an events-form line of the given kind, as a client splits them."""
    m = FIELDS.fullmatch(line)
    assert m, f"not an events-form line: {line!r}"
    assert m.group("kind") == kind, line
    return m.group("fields").split(" ")


@pytest.fixture
def joined(connect):
    """Factory: joined(srv, pseudo, events=True) joins a raw client, with the events
    capability unless told otherwise, and reads what an arrival sends: with events, the
    '#' line and the '=' line of the default room; returns the client and the '=' line."""

    def join(srv, pseudo, events=True):
        c = connect(srv.port, name=pseudo)
        c.expect_exact(PSEUDO_PROMPT)
        if events:
            c.send_line("/cap events")
            c.expect_exact(CAP_OK)
        c.send_line(pseudo)
        c.expect_line(f"+ Bienvenue, {pseudo} ! ")
        c.pseudo = pseudo
        who = None
        if events:
            assert fields(c.read_line(), "#") == ["#général"]
            who = c.expect_line("= #général ")
        return c, who

    return join


def test_cap_is_answered_without_a_second_prompt(server, connect):
    srv = server()
    c = connect(srv.port)
    c.expect_exact(PSEUDO_PROMPT)
    c.send_line("/cap events")
    c.expect_exact(CAP_OK)
    c.send_line("alice")  # the first prompt still waits for the pseudo
    c.expect_exact("+ Bienvenue, alice ! Personne d'autre n'est connecté pour l'instant.")
    c.expect_exact("# #général : Vous êtes maintenant dans #général.")
    c.expect_exact("= #général 1 : alice")


def test_cap_may_come_before_the_prompt(server, connect):
    srv = server()
    c = connect(srv.port)
    c.send_raw(b"/cap events\nalice\n")  # pipelined, as the terminal client does
    c.expect_exact(PSEUDO_PROMPT)
    c.expect_exact(CAP_OK)
    c.expect_line("+ Bienvenue, alice ! ")
    assert fields(c.read_line(), "#") == ["#général"]


def test_unknown_capability_is_refused_and_changes_nothing(server, connect, joined):
    srv = server()
    c = connect(srv.port)
    c.expect_exact(PSEUDO_PROMPT)
    c.send_line("/cap events couleurs")
    c.expect_exact("! Capacité inconnue : couleurs.")
    c.send_line("/cap")
    c.expect_exact("! Usage : /cap events")
    c.send_line("alice")
    c.expect_line("+ Bienvenue, alice ! ")
    joined(srv, "bob", events=False)
    c.expect_exact("* bob a rejoint la discussion")  # still the plain form


def test_cap_after_the_pseudo_is_refused_and_not_listed(server, joined):
    srv = server()
    alice, _ = joined(srv, "alice")
    alice.send_line("/cap events")
    alice.expect_exact("! /cap se donne avant le pseudo.")
    alice.send_line("/help")
    alice.expect_exact("+ Commandes disponibles :")
    lines = alice.readlines_until("* //texte")
    assert not any("/cap" in line for line in lines), lines


def test_arrival_tells_the_room_and_its_people(server, joined):
    srv = server()
    alice, who = joined(srv, "alice")
    assert who == "= #général 1 : alice"
    bob, who = joined(srv, "bob")
    assert who == "= #général 2 : alice bob"
    assert fields(alice.read_line(), "^") == ["bob", "#général"]


def test_moves_and_departures_carry_who_and_where(server, joined):
    srv = server()
    alice, _ = joined(srv, "alice")
    bob, _ = joined(srv, "bob")
    alice.read_line()  # bob's arrival
    bob.send_line("/join jeux")
    assert fields(bob.read_line(), "#") == ["#jeux"]
    bob.expect_exact("= #jeux 1 : bob")
    assert fields(alice.read_line(), "-") == ["bob", "#général"]
    carol, _ = joined(srv, "carol")
    alice.read_line()  # carol's arrival
    carol.send_line("/join jeux")
    carol.readlines_until("= #jeux 2 :")
    assert fields(bob.read_line(), "^") == ["carol", "#jeux"]
    assert fields(alice.read_line(), "-") == ["carol", "#général"]
    carol.send_line("/quit à plus")
    line = bob.read_line()
    assert fields(line, "-") == ["carol", "#jeux"]
    assert line.endswith("(à plus)")  # the reason, in the sentence for people


def test_plain_and_events_clients_share_a_room(server, joined):
    srv = server()
    plain, _ = joined(srv, "plain", events=False)
    ev, _ = joined(srv, "ev")
    plain.expect_exact("* ev a rejoint la discussion")
    dave, _ = joined(srv, "dave", events=False)
    plain.expect_exact("* dave a rejoint la discussion")
    assert fields(ev.read_line(), "^") == ["dave", "#général"]
    dave.send_line("salut")
    dave.send_line("/me fait coucou")
    for c in (plain, ev):  # chat lines and actions read the same in both forms
        c.expect_exact("> dave: salut")
        c.expect_exact("& dave fait coucou")
    dave.send_line("/quit")
    plain.expect_exact("* dave est déconnecté")
    assert fields(ev.read_line(), "-") == ["dave", "#général"]


def test_rename_is_told_with_old_and_new(server, joined):
    srv = server()
    alice, _ = joined(srv, "alice")
    bob, _ = joined(srv, "bob")
    alice.read_line()
    plain, _ = joined(srv, "plain", events=False)
    alice.read_line()
    bob.read_line()
    alice.send_line("/nick Alicia")
    assert fields(alice.read_line(), "|") == ["alice", "Alicia"]  # the answer, as an event
    assert fields(bob.read_line(), "|") == ["alice", "Alicia"]
    plain.expect_exact("* alice s'appelle maintenant Alicia")
    bob.send_line("/who")
    bob.expect_exact("= #général 3 : Alicia bob plain")


def test_rooms_are_listed_with_their_counts(server, joined):
    srv = server()
    alice, _ = joined(srv, "alice")
    bob, _ = joined(srv, "bob")
    alice.read_line()
    bob.send_line("/join jeux")
    bob.readlines_until("= #jeux")
    alice.read_line()
    alice.send_line("/rooms")
    alice.expect_exact("+ 2 salons :")
    assert fields(alice.read_line(), "$") == ["#général", "1"]
    assert fields(alice.read_line(), "$") == ["#jeux", "1"]


def test_history_follows_the_room_and_its_people(server, joined):
    srv = server()
    alice, _ = joined(srv, "alice")
    alice.send_line("premier")
    alice.send_line("second")
    alice.send_line("/who")
    alice.expect_line("= #général 1 ")  # both lines were handled before this answer
    bob, who = joined(srv, "bob")  # joined() read the '#' and '=' lines
    assert who == "= #général 2 : alice bob"
    assert re.fullmatch(r"~ \S+Z > alice: premier", bob.read_line())
    assert re.fullmatch(r"~ \S+Z > alice: second", bob.read_line())


def test_kick_carries_who_and_where(server, joined):
    srv = server(stdin=subprocess.PIPE)
    alice, _ = joined(srv, "alice")
    bob, _ = joined(srv, "bob")
    alice.read_line()
    srv.proc.stdin.write("/kick bob spam\n".encode())
    srv.proc.stdin.flush()
    bob.expect_exact("! Vous avez été expulsé par l'opérateur (spam).")
    line = alice.read_line()
    assert fields(line, "-") == ["bob", "#général"]
    assert line.endswith("(spam)")


def test_server_stop_is_told_the_same_in_both_forms(server, joined):
    srv = server()
    plain, _ = joined(srv, "plain", events=False)
    ev, _ = joined(srv, "ev")
    plain.read_line()
    srv.stop()
    assert plain.expect_closed() == ["* Le serveur s'arrête."]
    assert ev.expect_closed() == ["* Le serveur s'arrête."]
