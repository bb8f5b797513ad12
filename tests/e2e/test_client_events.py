"""The terminal client and the events capability (docs/PROTOCOL.md, "Events").

The client asks "/cap events" as soon as it is connected, before the prompt has come, and
gives its pseudo only once the answer came; with events it learns its room, the people in
it and its own pseudo from the event lines alone, and shows each event as the French
notice it replaces; without them (a server that refuses /cap) it chats as before, without
a roster. Most tests talk to a scripted server (FakeServer, fake.py), which says
exactly the lines of the protocol, so that they test the client alone; the last ones use
the real server and are skipped while it does not know /cap.
"""

import pytest

from conftest import TIMEOUT, LineClient, wait_child_exit
from fake import OLD_REFUSAL, PROMPT, arrive, handshake


def status(port, pseudo="alice", room=None, count=None):
    s = f"[{pseudo}@127.0.0.1:{port}"
    if room:
        s += f" #{room}"
    if count is not None:
        s += f" {count}"
    return s + "]"


def terminal(spawn_client, port, pseudo="alice"):
    return spawn_client("--host", "127.0.0.1", "--port", port, "--nick", pseudo,
                        term="xterm-256color")


# ---------------------------------------------------------------- a server without events


def test_a_server_that_refuses_cap_is_chatted_with_as_before(fake_server, spawn_client):
    srv = fake_server()
    child = terminal(spawn_client, srv.port)
    t = child.term
    c = srv.accept()
    handshake(c, "alice", events=False)
    c.send("+ Bienvenue, alice ! 2 personnes connectées.", "> bob: salut")
    t.wait_text("bob: salut")
    # No roster, no room: the status names the pseudo and the server only.
    t.wait(lambda t: t.input_row() == status(srv.port), "the status without a room")
    assert "commencer par" not in t.text()  # the refusal of "/cap" is not the user's
    child.send("bonjour\r")
    c.expect("bonjour")  # no /who of the client's own before it
    t.wait_text("alice: bonjour")
    child.send("/quit\r")
    c.expect("/quit")
    c.close()
    assert wait_child_exit(child) == 0


def test_the_pseudo_is_asked_once_when_the_server_refuses_cap(fake_server, spawn_client):
    srv = fake_server()
    child = spawn_client("--port", srv.port, term="dumb")
    child.expect_exact("Adresse du serveur")
    child.sendline("")
    c = srv.accept()
    c.expect("/cap events")
    c.send(PROMPT, OLD_REFUSAL, PROMPT)
    child.expect_exact("Entrez votre pseudo : ")
    child.sendline("alice")
    c.expect("alice")
    c.send("+ Bienvenue, alice ! Personne d'autre n'est connecté pour l'instant.")
    t = child.term
    t.wait_text("Bienvenue, alice !")
    assert t.text().count("Entrez votre pseudo") == 1, t.text()  # the answer's echo
    assert "commencer par" not in child.transcript.getvalue()


def test_a_piped_client_ignores_the_refusal_of_cap(fake_server, piped_client):
    srv = fake_server()
    bot = piped_client("--host", "127.0.0.1", "--port", srv.port, "--nick", "bot")
    c = srv.accept()
    handshake(c, "bot", events=False)
    c.send("+ Bienvenue, bot ! 2 personnes connectées.", "* bob a rejoint la discussion")
    bot.proc.stdin.write(b"salut\n")
    bot.proc.stdin.close()
    c.expect("salut")
    c.expect_closed()
    c.close()
    assert bot.wait_exit() == 0, bot.stderr
    assert bot.log_lines == ["* Bienvenue, bot ! 2 personnes connectées.",
                             "* bob a rejoint la discussion"]
    assert "commencer par" not in bot.stderr


# ---------------------------------------------------------------- a server with events


def test_event_lines_are_shown_as_the_notices_they_replace_in_a_pipe(fake_server, piped_client):
    srv = fake_server()
    bot = piped_client("--host", "127.0.0.1", "--port", srv.port, "--nick", "bot")
    c = srv.accept()
    handshake(c, "bot")
    arrive(c, "bot", "bot carol")
    c.send("~ 2026-11-25T14:03:12Z > carol: avant",
           "^ dave #général : dave a rejoint la discussion",
           "| dave david : dave s'appelle maintenant david",
           "- david #général : david est déconnecté (à plus)",
           "+ 2 salons :",
           "$ #général 2 : 2 personnes",
           "$ #jeux 1 : 1 personne")
    bot.proc.stdin.write(b"/join jeux\n")
    bot.proc.stdin.close()
    c.expect("/join jeux")  # the first line after the pseudo: no /who of the client's
    c.send("# #jeux : Vous êtes maintenant dans #jeux.", "= #jeux 1 : bot")
    c.expect_closed()
    c.close()
    assert bot.wait_exit() == 0, bot.stderr
    assert bot.log_lines == [
        "* Bienvenue, bot ! 2 personnes connectées.",  # not the arrival's '#' and '='
        "* 2026-11-25T14:03:12Z > carol: avant",
        "* dave a rejoint la discussion",
        "* dave s'appelle maintenant david",
        "* david est déconnecté (à plus)",
        "* 2 salons :",
        "* #général : 2 personnes",
        "* #jeux : 1 personne",
        "* Vous êtes maintenant dans #jeux.",  # after /join: shown, as the old '+' was
        "* #jeux 1 : bot",
    ]


def test_room_and_people_come_from_events_and_complete(fake_server, spawn_client):
    srv = fake_server()
    child = terminal(spawn_client, srv.port)
    t = child.term
    c = srv.accept()
    handshake(c, "alice")
    arrive(c, "alice", "alice bob")
    t.wait(lambda t: t.input_row() == status(srv.port, room="général", count=2), "2 in #général")
    assert "Vous êtes maintenant" not in t.text() and "2 personnes :" not in t.text()
    c.send("^ zoé #général : zoé a rejoint la discussion")
    t.wait(lambda t: t.input_row() == status(srv.port, room="général", count=3), "zoé counted")
    t.wait_text("* zoé a rejoint la discussion")
    child.send("z\t")
    t.wait(lambda t: t.before_cursor().endswith("] zoé: "), "zoé completed")
    child.send("\x15")  # Ctrl-U
    c.send("^ yves #jeux : yves a rejoint #jeux")  # another room: nobody new here
    c.send("- zoé #général : zoé est déconnecté")
    t.wait(lambda t: t.before_cursor() == status(srv.port, room="général", count=2) + " ",
           "zoé gone")
    child.send("z\t")
    t.pump(0.3)
    assert t.input_row().endswith("] z"), t.input_row()
    child.send("\x15")
    child.send("/join jeux\r")
    c.expect("/join jeux")
    c.send("# #jeux : Vous êtes maintenant dans #jeux.", "= #jeux 2 : alice yves")
    t.wait(lambda t: t.input_row() == status(srv.port, room="jeux", count=2), "2 in #jeux")
    t.wait_text("* Vous êtes maintenant dans #jeux.")
    t.wait_text("* #jeux, 2 personnes : alice, yves")


def test_the_client_follows_its_own_rename(fake_server, spawn_client):
    srv = fake_server()
    child = terminal(spawn_client, srv.port)
    t = child.term
    c = srv.accept()
    handshake(c, "alice")
    arrive(c, "alice", "alice bob")
    t.wait(lambda t: t.input_row().startswith(status(srv.port, room="général", count=2)),
           "the status")
    c.send("| bob Robert : bob s'appelle maintenant Robert")  # someone else's
    t.wait_text("* bob s'appelle maintenant Robert")
    child.send("/nick Alicia\r")
    c.expect("/nick Alicia")
    c.send("| ALICE Alicia : Vous vous appelez maintenant Alicia.")  # OLD without case
    t.wait(lambda t: t.input_row() == status(srv.port, "Alicia", "général", 2), "renamed")
    t.wait_text("* Vous vous appelez maintenant Alicia.")
    child.send("r\t")
    t.wait(lambda t: t.before_cursor().endswith("] Robert: "), "Robert completed")
    child.send("\x15coucou\r")
    c.expect("coucou")
    t.wait_text("Alicia: coucou")  # our own line, under our new pseudo


@pytest.mark.parametrize("arrival, rejoins", [("jeux", False), ("général", True),
                                               ("JEUX", False)])
def test_a_reconnection_asks_again_and_goes_back_to_its_room(fake_server, spawn_client,
                                                              arrival, rejoins):
    srv = fake_server()
    child = terminal(spawn_client, srv.port)
    t = child.term
    c = srv.accept()
    handshake(c, "alice")
    arrive(c, "alice", "alice", room="jeux")
    t.wait(lambda t: "#jeux 1]" in t.input_row(), "in #jeux")
    c.close()
    t.wait_text("Connexion au serveur perdue")
    child.send("tapé hors ligne\r")
    t.wait(lambda t: "1 en attente" in t.input_row(), "one line waiting")
    c2 = srv.accept(timeout=3 * TIMEOUT)
    handshake(c2, "alice")  # negotiated again, before the pseudo again
    arrive(c2, "alice", "alice", room=arrival)
    if rejoins:
        c2.expect("/join jeux")  # ahead of the line typed meanwhile
    c2.expect("tapé hors ligne")
    t.wait_text("Reconnecté à 127.0.0.1:")


# ---------------------------------------------------------------- the real server


def server_knows_events(port):
    c = LineClient(port)
    try:
        c.expect_exact(PROMPT)
        c.send_line("/cap events")
        return c.read_line().startswith("+ ")
    finally:
        c.close()


@pytest.fixture
def events_server(server):
    srv = server()
    if not server_knows_events(srv.port):
        pytest.skip("this causerie-server does not know /cap events yet")
    return srv


def test_completion_follows_events_from_the_real_server(events_server, chat, connect,
                                                        spawn_client):
    srv = events_server
    (bob,) = chat(srv, "bob")
    child = terminal(spawn_client, srv.port)
    t = child.term
    t.wait(lambda t: t.input_row() == status(srv.port, room="général", count=2), "2 here")
    child.send("/join jeux\r")
    t.wait(lambda t: t.input_row() == status(srv.port, room="jeux", count=1), "alone in #jeux")
    t.wait_text("Vous êtes maintenant dans #jeux.")
    bob.send_line("/join jeux")
    t.wait(lambda t: t.input_row() == status(srv.port, room="jeux", count=2), "bob came")
    t.wait_text("* bob a rejoint #jeux")
    child.send("b\t")
    t.wait(lambda t: t.before_cursor().endswith("] bob: "), "bob completed")
    child.send("\x15")
    bob.send_line("/part")
    t.wait(lambda t: t.input_row() == status(srv.port, room="jeux", count=1), "bob left")
    t.wait_text("* bob a quitté #jeux")


def test_own_rename_on_the_real_server_shows_in_the_status(events_server, spawn_client):
    srv = events_server
    child = terminal(spawn_client, srv.port)
    t = child.term
    t.wait(lambda t: t.input_row() == status(srv.port, room="général", count=1), "joined")
    child.send("/nick Alicia\r")
    t.wait_text("Vous vous appelez maintenant Alicia.")
    t.wait(lambda t: t.input_row() == status(srv.port, "Alicia", "général", 1), "renamed")
