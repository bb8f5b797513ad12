"""Rooms: everyone starts in #général, /join ROOM, /part, /rooms, /who ROOM; a message,
a join and a leave reach the room concerned only; one room at a time; --max-rooms; and
the exactness of a move: every message of the old room before it, the new room's history
at that point, every later message of the new room, nothing twice (docs/PROTOCOL.md)."""

import re
import socket
import threading

import pytest

from conftest import NO_CLIENT_LIMITS, TIMEOUT, Collector

HISTORY_LINE = re.compile(r"~ (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ) (.*)")


def join_room(client, room, count_line, others_left=(), others_joined=(), typed=None):
    """client moves to room (typing it as typed, if given): its answer, the '=' line, and
    the notices both rooms see."""
    client.send_line(f"/join {typed or room}")
    client.expect_exact(f"+ Vous êtes maintenant dans #{room}.")
    client.expect_exact(count_line)
    for c in others_left:
        c.expect_line(f"* {client.pseudo} a quitté #")
    for c in others_joined:
        c.expect_exact(f"* {client.pseudo} a rejoint #{room}")


def test_everyone_starts_in_general(alice_bob):
    srv, alice, bob = alice_bob()
    alice.send_line("/who")
    alice.expect_exact("= #général 2 : alice bob")


def test_a_message_reaches_its_room_only(server, chat):
    srv = server()
    alice, bob, carol, dave = chat(srv, "alice", "bob", "carol", "dave")
    join_room(carol, "jeux", "= #jeux 1 : carol", others_left=(alice, bob, dave))
    join_room(dave, "jeux", "= #jeux 2 : carol dave", others_left=(alice, bob),
              others_joined=(carol,))
    alice.send_line("pour général")
    bob.expect_exact("> alice: pour général")
    carol.send_line("pour jeux")
    dave.expect_exact("> carol: pour jeux")
    # Each side's next line is the other's reply: nothing crossed over before it.
    bob.send_line("fin général")
    alice.expect_exact("> bob: fin général")
    dave.send_line("fin jeux")
    carol.expect_exact("> dave: fin jeux")


def test_join_tells_both_rooms_and_the_mover_gets_the_list(server, chat):
    srv = server()
    alice, bob, carol = chat(srv, "alice", "bob", "carol")
    join_room(alice, "jeux", "= #jeux 1 : alice", others_left=(bob, carol))
    join_room(bob, "jeux", "= #jeux 2 : alice bob", others_left=(carol,), others_joined=(alice,),
              typed="#JEUX")
    srv.wait_log(r"bob a rejoint #jeux$")


def test_the_first_visitor_names_the_room(alice_bob):
    srv, alice, bob = alice_bob()
    join_room(alice, "Jeux", "= #Jeux 1 : alice", others_left=(bob,))
    bob.send_line("/join #JEUX")
    bob.expect_exact("+ Vous êtes maintenant dans #Jeux.")


def test_one_room_at_a_time(alice_bob):
    srv, alice, bob = alice_bob()
    join_room(alice, "jeux", "= #jeux 1 : alice", others_left=(bob,))
    join_room(alice, "café", "= #café 1 : alice")
    bob.send_line("/rooms")
    bob.expect_exact("+ 2 salons :")
    bob.expect_exact("* #café : 1 personne")
    bob.expect_exact("* #général : 1 personne")  # #jeux was left empty: gone


def test_join_the_room_one_is_in_is_refused(server, chat):
    srv = server()
    (alice,) = chat(srv, "alice")
    alice.send_line("/join #GÉNÉRAL")
    alice.expect_exact("! Vous êtes déjà dans #général.")
    alice.send_line("/part")
    alice.expect_exact("! Vous êtes déjà dans #général.")


@pytest.mark.parametrize("name", ["#", "a" * 33, "#" + "é" * 33, "/x", "ali\u200bce", "a\u00a0b"])
def test_join_refuses_a_name_no_room_can_have(server, chat, name):
    srv = server()
    (alice,) = chat(srv, "alice")
    alice.send_line(f"/join {name}")
    alice.expect_exact("! Nom de salon invalide : 1 à 32 caractères visibles, sans espace.")
    alice.send_line("/who")
    alice.expect_exact("= #général 1 : alice")


def test_part_goes_back_to_general(alice_bob):
    srv, alice, bob = alice_bob()
    join_room(alice, "jeux", "= #jeux 1 : alice", others_left=(bob,))
    alice.send_line("/part")
    alice.expect_exact("+ Vous êtes maintenant dans #général.")
    line = alice.read_line()
    assert re.fullmatch(r"= #général 2 : (alice bob|bob alice)", line), line
    bob.expect_exact("* alice a rejoint #général")


def test_rooms_lists_every_room_largest_first(server, chat):
    srv = server()
    a, b, c, d, e = chat(srv, "a", "b", "c", "d", "e")
    join_room(b, "zèbre", "= #zèbre 1 : b", others_left=(a, c, d, e))
    join_room(c, "zèbre", "= #zèbre 2 : b c", others_left=(a, d, e), others_joined=(b,))
    join_room(d, "zèbre", "= #zèbre 3 : b c d", others_left=(a, e), others_joined=(b, c))
    join_room(e, "abeille", "= #abeille 1 : e", others_left=(a,))
    a.send_line("/rooms")
    a.expect_exact("+ 3 salons :")
    assert [a.read_line() for _ in range(3)] == [
        "* #zèbre : 3 personnes",
        "* #abeille : 1 personne",
        "* #général : 1 personne",
    ]


def test_leaving_the_server_is_told_to_the_room_only(server, chat):
    srv = server()
    alice, bob, carol = chat(srv, "alice", "bob", "carol")
    join_room(carol, "jeux", "= #jeux 1 : carol", others_left=(alice, bob))
    join_room(bob, "jeux", "= #jeux 2 : carol bob", others_left=(alice,), others_joined=(carol,))
    bob.close()
    carol.expect_exact("* bob est déconnecté")
    srv.wait_log(r"bob est déconnecté \(")
    alice.send_line("/who jeux")
    alice.expect_exact("= #jeux 1 : carol")  # alice was not told of bob's leave before it


def test_arriving_is_told_to_general_only(alice_bob, connect):
    srv, alice, bob = alice_bob()
    join_room(bob, "jeux", "= #jeux 1 : bob", others_left=(alice,))
    late = connect(srv.port, name="late")
    late.join("late")
    alice.expect_exact("* late a rejoint la discussion")
    bob.send_line("/who")
    bob.expect_exact("= #jeux 1 : bob")  # no arrival notice before it


def test_an_empty_room_without_history_is_gone(alice_bob):
    srv, alice, bob = alice_bob()
    join_room(alice, "jeux", "= #jeux 1 : alice", others_left=(bob,))
    alice.send_line("/part")
    alice.readlines_until("= #général")
    bob.send_line("/who jeux")
    bob.readlines_until("! Salon inconnu : #jeux.")


def test_an_empty_room_with_history_stays_listed(alice_bob):
    srv, alice, bob = alice_bob()
    join_room(alice, "jeux", "= #jeux 1 : alice", others_left=(bob,))
    alice.send_line("on joue ?")
    alice.send_line("/part")
    alice.readlines_until("= #général")
    bob.readlines_until("* alice a rejoint #général")
    bob.send_line("/rooms")
    bob.expect_exact("+ 2 salons :")
    bob.expect_exact("* #général : 2 personnes")
    bob.expect_exact("* #jeux : 0 personne")
    bob.send_line("/join jeux")
    bob.expect_exact("+ Vous êtes maintenant dans #jeux.")
    bob.expect_exact("= #jeux 1 : bob")
    m = HISTORY_LINE.fullmatch(bob.read_line())
    assert m and m.group(2) == "> alice: on joue ?"


def test_max_rooms_refuses_a_new_room_when_all_have_people(alice_bob):
    srv, alice, bob = alice_bob("--max-rooms", "2")
    join_room(alice, "jeux", "= #jeux 1 : alice", others_left=(bob,))
    bob.send_line("/join autre")
    bob.expect_exact("! Trop de salons (2 au plus) : rejoignez un salon existant.")
    bob.send_line("/join jeux")
    bob.expect_exact("+ Vous êtes maintenant dans #jeux.")


def test_max_rooms_gives_up_the_empty_room_left_the_longest_ago(alice_bob):
    srv, alice, bob = alice_bob("--max-rooms", "3")
    for room in ("un", "deux"):
        join_room(alice, room, f"= #{room} 1 : alice")
        alice.send_line(f"dans {room}")
    alice.send_line("/part")
    alice.readlines_until("= #général")
    bob.readlines_until("* alice a rejoint #général")
    # #un and #deux are empty, kept for their history; #un was left first.
    join_room(bob, "trois", "= #trois 1 : bob", others_left=(alice,))
    srv.wait_log(r"salon #un oublié pour faire de la place \(3 salons au plus\)")
    alice.send_line("/rooms")
    alice.expect_exact("+ 3 salons :")
    assert sorted(alice.read_line() for _ in range(3)) == [
        "* #deux : 0 personne", "* #général : 1 personne", "* #trois : 1 personne"]
    # #un comes back as a new room, without its history.
    join_room(alice, "un", "= #un 1 : alice")
    alice.send_line("/who")
    alice.expect_exact("= #un 1 : alice")


@pytest.mark.concurrency
def test_a_move_gives_every_message_once_history_and_live_meeting_exactly(server, chat):
    """A talker floods #général with numbered lines while a mover goes back and forth
    between #général and #jeux. Each time it comes back, the history it gets and the live
    lines after it must be consecutive numbers: the move has one place in the order."""
    srv = server(*NO_CLIENT_LIMITS, "--history", "20")
    talker, mover = chat(srv, "talker", "mover")
    total = 20000
    done = threading.Event()

    def talk():
        for i in range(total):
            talker.send_line(str(i))
        talker.send_line("/who")  # answered once the server has read everything before it
        done.set()

    t = threading.Thread(target=talk, daemon=True)
    t.start()
    stays = [[]]  # the numbers mover received during each stay in #général, in order
    moves = 0
    mover.send_line("/join jeux")
    for _ in range(10 * total):
        line = mover.read_line(timeout=4 * TIMEOUT)
        m = HISTORY_LINE.fullmatch(line)
        text = m.group(2) if m else line
        if text.startswith("> talker: "):
            stays[-1].append(int(text[len("> talker: "):]))
        elif line.startswith("+ Vous êtes maintenant dans #"):
            moves += 1
            if line.endswith("#jeux."):
                stays.append([])  # the stay in #général is over
            if done.is_set() and moves > 6:
                break
            mover.send_line("/part" if line.endswith("#jeux.") else "/join jeux")
        else:
            assert line.startswith(("= ", "* ")), f"unexpected line {line!r}"
    t.join(TIMEOUT)
    assert moves > 6, f"only {moves} moves"
    for s in stays:
        if s:
            assert s == list(range(s[0], s[0] + len(s))), f"a gap or a repeat in {s}"
    returns = [s for s in stays[1:] if s]
    assert returns, "mover never came back to #général while talker talked"


def test_lines_after_the_pseudo_wait_for_the_history(server, chat, connect):
    """The pseudo and a command in one packet: the answer comes after the history, since
    the command is handled once the arrival in #général has taken effect."""
    srv = server()
    (alice,) = chat(srv, "alice")
    alice.send_line("avant")
    alice.send_line("/who")
    alice.expect_exact("= #général 1 : alice")
    bob = connect(srv.port, name="bob")
    bob.expect_exact("? Entrez votre pseudo :")
    bob.send_raw(b"bob\n/who\n")
    bob.expect_line("+ Bienvenue, bob ! 2 personnes connectées.")
    m = HISTORY_LINE.fullmatch(bob.read_line())
    assert m and m.group(2) == "> alice: avant"
    bob.expect_exact("= #général 2 : alice bob")


def test_lines_after_a_join_are_handled_in_the_new_room_in_order(server, alice_bob, chat):
    """/join then 2,000 lines in one send, more than a read buffer: each line waits for the
    move, none is lost, and all reach the new room in order."""
    srv, alice, bob = alice_bob(*NO_CLIENT_LIMITS)
    join_room(bob, "jeux", "= #jeux 1 : bob", others_left=(alice,))
    lines = [f"{i:04d} " + "z" * 60 for i in range(2000)]
    alice.send_raw(("/join jeux\n/who\n" + "\n".join(lines) + "\n").encode())
    alice.expect_exact("+ Vous êtes maintenant dans #jeux.")
    alice.expect_exact("= #jeux 2 : bob alice")
    alice.expect_exact("= #jeux 2 : bob alice")  # /who, answered after the move
    bob.expect_exact("* alice a rejoint #jeux")
    assert [bob.read_line() for _ in range(2000)] == [f"> alice: {line}" for line in lines]


@pytest.mark.parametrize("packet, said", [
    (b"carol\nbonjour tout le monde\n", "> carol: bonjour tout le monde"),
    (b"carol\n/join jeux\n/join #g\xc3\xa9n\xc3\xa9ral\nsalut\n", "> carol: salut"),
])
def test_last_lines_before_the_end_of_the_connection_are_not_lost(server, chat, connect,
                                                                  packet, said):
    """The peer sends its pseudo, lines that wait for its move, and closes its side at once
    (as `printf ... | nc -N` does): the lines are handled before the server closes."""
    srv = server()
    (alice,) = chat(srv, "alice")
    carol = connect(srv.port, name="carol")
    carol.expect_exact("? Entrez votre pseudo :")
    carol.send_raw(packet)
    carol.sock.shutdown(socket.SHUT_WR)
    lines = alice.readlines_until(re.compile(r"\* carol est déconnecté.*"))
    assert said in lines, lines
    srv.wait_log(r"carol est déconnecté \(fin de connexion\)")
