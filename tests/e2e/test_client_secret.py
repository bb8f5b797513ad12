"""The terminal client at a secret prompt ('%' lines, docs/PROTOCOL.md): the answer, a
password, is typed unseen, sent exactly as typed, never recalled by Up, never written to
the history file, and never remembered: after a reconnection the user is asked again. A
piped client answers with its next input line. No real server sends '%' yet (accounts
will), so every test talks to a scripted server (fake.py) that asks for a password after
the pseudo, or in the chat, as accounts will.
"""

import pytest

from conftest import TIMEOUT, wait_child_exit
from fake import CAP_ON, PROMPT, arrive, handshake

ASK = "% Mot de passe pour « alice » :"
# What the terminal shows of it: the prompt, as readline's, and nothing typed after it.
SHOWN = "Mot de passe pour « alice » :"
PASSWORD = "s3cr3t-Ünï"


def status(port, pseudo="alice", room="général", count=1):
    return f"[{pseudo}@127.0.0.1:{port} #{room} {count}]"


@pytest.fixture
def terminal(spawn_client, tmp_path):
    """Factory: terminal(srv, pseudo="alice") runs the client on an xterm with --host and
    --nick (pseudo=None: no --nick, the pseudo is asked), its history file in
    tmp_path/causerie/history."""

    def start(srv, pseudo="alice"):
        nick = ("--nick", pseudo) if pseudo else ()
        child = spawn_client("--host", "127.0.0.1", "--port", srv.port, *nick,
                             term="xterm-256color", env={"XDG_STATE_HOME": str(tmp_path)})
        child.history = tmp_path / "causerie" / "history"
        return child

    return start


def ask_password(c, t):
    """The server asks; returns once the terminal shows the prompt, the cursor after it."""
    c.send(ASK)
    t.wait(lambda t: t.input_row() == SHOWN, "the password prompt")


def assert_never_shown(child, secret):
    t = child.term
    if not child.closed:
        t.pump(0.1)
    assert secret not in t.text(), t.text()
    assert secret not in child.transcript.getvalue()  # nor drawn and then erased
    assert "*" * len(secret) not in child.transcript.getvalue()


def test_the_password_is_typed_unseen_and_sent_exactly(fake_server, terminal):
    srv = fake_server()
    child = terminal(srv, pseudo=None)
    t = child.term
    c = srv.accept()
    c.expect("/cap events")
    c.send(PROMPT, CAP_ON)
    t.wait(lambda t: t.input_row() == "Entrez votre pseudo :", "the pseudo prompt")
    child.send("alice\r")
    c.expect("alice")
    ask_password(c, t)
    child.send(PASSWORD + "x")
    t.pump(0.2)
    assert t.input_row() == SHOWN and t.before_cursor() == SHOWN + " ", t.input_row()
    child.send("\x7f\r")  # Backspace erases the x, unseen too
    assert c.read_line() == PASSWORD
    arrive(c, "alice", "alice")
    t.wait(lambda t: t.input_row() == status(srv.port), "the status")
    assert "Entrez votre pseudo : alice" in t.text()  # the answer to '?' is echoed...
    assert SHOWN in t.text().split("\n")  # ...the question of '%' stays, without its answer
    assert_never_shown(child, PASSWORD)


def test_the_password_is_neither_recalled_nor_written_to_the_history(fake_server, terminal):
    srv = fake_server()
    child = terminal(srv)
    t = child.term
    c = srv.accept()
    handshake(c, "alice")
    ask_password(c, t)
    child.send(PASSWORD + "\r")
    assert c.read_line() == PASSWORD
    arrive(c, "alice", "alice")
    t.wait(lambda t: t.input_row() == status(srv.port), "the status")
    child.send("bonjour\r")
    c.expect("bonjour")
    child.send("\x1b[A")  # Up: the last line sent
    t.wait(lambda t: t.input_row() == status(srv.port) + " bonjour", "bonjour recalled")
    child.send("\x1b[A")  # Up again: nothing older, the password least of all
    t.pump(0.3)
    assert t.input_row() == status(srv.port) + " bonjour", t.input_row()
    child.send("\x15/quit\r")
    c.expect("/quit")
    c.close()
    assert wait_child_exit(child) == 0
    assert child.history.read_text().split("\n") == ["bonjour", "/quit", ""]
    assert_never_shown(child, PASSWORD)


def test_a_secret_prompt_in_the_chat_sets_the_line_being_typed_aside(fake_server, terminal):
    srv = fake_server()
    child = terminal(srv)
    t = child.term
    c = srv.accept()
    handshake(c, "alice")
    arrive(c, "alice", "alice bob")
    t.wait(lambda t: t.input_row() == status(srv.port, count=2), "the status")
    child.send("/password")
    t.wait(lambda t: t.input_row().endswith("] /password"), "the command typed")
    child.send("\r")
    c.expect("/password")
    child.send("brouillon")  # typing goes on while the server answers
    t.wait(lambda t: t.input_row().endswith("] brouillon"), "the draft")
    c.send("% Mot de passe actuel :")
    t.wait(lambda t: t.input_row() == "Mot de passe actuel :", "the prompt, the draft aside")
    child.send("ancien")
    c.send("> bob: salut")  # a line arrives: the redraw shows the prompt alone still
    t.wait_text("bob: salut")
    assert t.input_row() == "Mot de passe actuel :", t.input_row()
    child.send("-mdp\r")
    assert c.read_line() == "ancien-mdp"
    t.wait(lambda t: t.input_row() == status(srv.port, count=2) + " brouillon", "the draft back")
    child.send("\r")
    c.expect("brouillon")
    assert_never_shown(child, "ancien")


def test_ctrl_c_clears_a_password_being_typed(fake_server, terminal):
    srv = fake_server()
    child = terminal(srv)
    t = child.term
    c = srv.accept()
    handshake(c, "alice")
    ask_password(c, t)
    child.send("faux")
    t.pump(0.2)
    child.send("\x03")  # Ctrl-C: what was typed goes, the prompt stays
    t.pump(0.2)
    assert t.input_row() == SHOWN
    child.send("vrai\r")
    assert c.read_line() == "vrai"
    arrive(c, "alice", "alice")
    t.wait(lambda t: t.input_row() == status(srv.port), "joined")
    assert_never_shown(child, "faux")


def test_after_a_reconnection_the_password_is_asked_again(fake_server, terminal):
    srv = fake_server()
    child = terminal(srv)
    t = child.term
    c = srv.accept()
    handshake(c, "alice")
    ask_password(c, t)
    child.send(PASSWORD + "\r")
    assert c.read_line() == PASSWORD
    arrive(c, "alice", "alice")
    t.wait(lambda t: t.input_row() == status(srv.port), "joined")
    c.close()
    t.wait_text("Connexion au serveur perdue")
    c2 = srv.accept(timeout=3 * TIMEOUT)
    handshake(c2, "alice")  # the pseudo is given again by itself...
    ask_password(c2, t)  # ...the password is asked of the user
    child.send("retapé\r")
    assert c2.read_line() == "retapé"  # the first line after the pseudo: nothing remembered
    arrive(c2, "alice", "alice")
    t.wait_text("Reconnecté à 127.0.0.1:")
    assert_never_shown(child, PASSWORD)


def test_ctrl_d_at_the_password_prompt_leaves(fake_server, terminal):
    srv = fake_server()
    child = terminal(srv)
    t = child.term
    c = srv.accept()
    handshake(c, "alice")
    ask_password(c, t)
    child.send("\x04")
    c.expect_closed()  # nothing sent: the client half-closes
    c.close()
    assert wait_child_exit(child) == 0


# ---------------------------------------------------------------- piped input


def test_a_piped_client_answers_with_its_next_line(fake_server, piped_client):
    srv = fake_server()
    bot = piped_client("--host", "127.0.0.1", "--port", srv.port, "--nick", "bot")
    c = srv.accept()
    bot.proc.stdin.write(f"{PASSWORD}\nbonjour\n".encode())
    bot.proc.stdin.close()
    handshake(c, "bot")
    c.send("% Mot de passe pour « bot » :")
    assert c.read_line() == PASSWORD
    arrive(c, "bot", "bot")
    c.expect("bonjour")
    c.expect_closed()
    c.close()
    assert bot.wait_exit() == 0, bot.stderr
    assert bot.log_lines == ["* Bienvenue, bot ! 1 personnes connectées."]
    assert PASSWORD not in bot.stderr


def test_a_piped_client_without_a_password_gives_up(fake_server, piped_client):
    srv = fake_server()
    bot = piped_client("--host", "127.0.0.1", "--port", srv.port, "--nick", "bot")
    bot.proc.stdin.close()
    c = srv.accept()
    handshake(c, "bot")
    c.send("% Mot de passe pour « bot » :")
    assert bot.wait_exit() == 1
    assert "le mot de passe demandé n'a pas été donné" in bot.stderr
