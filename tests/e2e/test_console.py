"""The operator's console: /who, /rooms, /kick, /say and /quit typed on the server's
standard input, from a pipe here (test_shutdown.py covers /quit and the ways stdin ends;
test_server_cli.py the terminal). Answers go to stdout, refusals to stderr."""

import subprocess

import pytest

from conftest import wait_stderr


@pytest.fixture
def console(server):
    """Factory: a server whose stdin is a pipe; returns (server, send), send(line) typing
    one console line."""

    def start(*args):
        srv = server(*args, stdin=subprocess.PIPE)

        def send(line):
            srv.proc.stdin.write(line.encode() + b"\n")
            srv.proc.stdin.flush()

        return srv, send

    return start


def test_who_lists_a_room_for_the_operator(console, chat):
    srv, send = console()
    alice, bob = chat(srv, "alice", "bob")
    mark = srv.log_mark()
    send("/who")
    srv.wait_log(r"^#général, 2 personnes : alice bob$", after=mark)
    bob.send_line("/join jeux")
    bob.readlines_until("= #jeux")
    send("/who #jeux")
    srv.wait_log(r"^#jeux, 1 personne : bob$", after=mark)
    send("/who nulle-part")
    assert wait_stderr(srv, r"Salon inconnu : #nulle-part\.") == 1


def test_rooms_lists_every_room_for_the_operator(console, chat):
    srv, send = console()
    alice, bob = chat(srv, "alice", "bob")
    bob.send_line("/join jeux")
    bob.readlines_until("= #jeux")
    mark = srv.log_mark()
    send("/rooms")
    srv.wait_log(r"^2 salons :$", after=mark)
    srv.wait_log(r"^#général : 1 personne$", after=mark)
    srv.wait_log(r"^#jeux : 1 personne$", after=mark)


def test_say_sends_a_server_notice_to_every_room(console, chat):
    srv, send = console()
    alice, bob = chat(srv, "alice", "bob")
    bob.send_line("/join jeux")
    bob.readlines_until("= #jeux")
    alice.expect_exact("* bob a quitté #général")
    send("/say maintenance à 18 h \x1b[31m")
    for c in (alice, bob):
        c.expect_exact("* serveur : maintenance à 18 h [31m")
    srv.wait_log(r"Console : /say maintenance à 18 h \[31m$")


def test_kick_disconnects_and_tells_the_room_with_the_reason(console, chat):
    srv, send = console()
    alice, bob, carol = chat(srv, "alice", "bob", "carol")
    carol.send_line("/join jeux")
    carol.readlines_until("= #jeux")
    for c in (alice, bob):
        c.expect_exact("* carol a quitté #général")
    send("/kick BOB  trop de bruit")
    assert bob.expect_closed() == ["! Vous avez été expulsé par l'opérateur (trop de bruit)."]
    alice.expect_exact("* bob a été expulsé (trop de bruit)")
    srv.wait_log(r"bob est déconnecté \(expulsé par l'opérateur : trop de bruit\)$")
    srv.wait_log(r"^BOB est expulsé\.$")
    carol.send_line("/who")
    carol.expect_exact("= #jeux 1 : carol")  # nothing about bob reached #jeux


def test_kick_without_a_reason(console, chat):
    srv, send = console()
    alice, bob = chat(srv, "alice", "bob")
    send("/kick alice")
    assert alice.expect_closed() == ["! Vous avez été expulsé par l'opérateur."]
    bob.expect_exact("* alice a été expulsé")
    srv.wait_log(r"alice est déconnecté \(expulsé par l'opérateur\)$")


def test_kick_of_nobody_is_refused(console, chat):
    srv, send = console()
    chat(srv, "alice")
    send("/kick zoe")
    assert wait_stderr(srv, r"Pseudo inconnu : zoe") == 1
    send("/kick")
    assert wait_stderr(srv, r"Usage : /kick PSEUDO \[RAISON\]") == 1


def test_console_commands_need_their_words(console):
    srv, send = console()
    send("/say")
    assert wait_stderr(srv, r"Usage : /say TEXTE") == 1
    send("/who a b")
    assert wait_stderr(srv, r"Usage : /who \[SALON\]") == 1
    send("/nope")
    assert wait_stderr(srv, r"Commande inconnue : /nope \(commandes : /who, /rooms, /kick, "
                            r"/say, /quit\)") == 1
