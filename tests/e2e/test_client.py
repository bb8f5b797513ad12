"""The terminal client, causerie: on a real pseudo-terminal (readline) and in piped mode.

On a terminal the client is driven with pexpect: what it prints comes back with readline's
redrawing in between (carriage returns, blanks), so the tests look for the texts, not for
whole lines. In piped mode stdout is plain lines.
"""

import os
import re
import signal
import socket
import subprocess
import termios
import time

import pytest

from conftest import (
    run_client,
    have_ipv6_loopback,
    address_prompt,
    ASK_PSEUDO,
    CLIENT_BIN,
    EXIT_TIMEOUT,
    assert_no_sanitizer_report,
    sanitizer_env,
    wait_child_exit,
    NO_FLOOD_CONTROL,
)

LOST = "Connexion au serveur perdue."


@pytest.fixture
def closed_port():
    """A port on 127.0.0.1 where nothing listens: bound (so nobody else takes it) but not
    listening, so connecting to it is refused."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    yield s.getsockname()[1]
    s.close()


# ---------------------------------------------------------------- command line


def test_client_help_prints_usage_and_exits_0():
    p = run_client(["--help"])
    assert p.returncode == 0
    assert "Usage" in p.stdout
    for option in ("--host", "--port", "--nick", "--version"):
        assert option in p.stdout


def test_client_version_prints_name_and_version_and_exits_0():
    p = run_client(["--version"])
    assert p.returncode == 0
    assert re.fullmatch(r"causerie \d+\.\d+\.\d+\n", p.stdout), p.stdout


def test_client_bad_option_fails_with_a_message_on_stderr():
    p = run_client(["--bogus"])
    assert p.returncode not in (0, None)
    assert "--bogus" in p.stderr
    assert p.stdout == ""


# ---------------------------------------------------------------- the address prompt


def test_address_prompt_shows_the_default_address(spawn_client):
    child = spawn_client()
    child.expect_exact(address_prompt(1234))


def test_address_prompt_default_reflects_the_port_option(spawn_client):
    child = spawn_client("--port", "4321")
    child.expect_exact(address_prompt(4321))


def test_empty_address_connects_to_the_default_host_on_the_given_port(server, spawn_client):
    srv = server()
    child = spawn_client("--port", srv.port)
    child.expect_exact(address_prompt(srv.port))
    child.sendline("")
    child.expect_exact(ASK_PSEUDO)


def test_address_host_colon_port_is_accepted(server, spawn_client):
    srv = server()
    child = spawn_client()
    child.expect_exact(address_prompt(1234))
    child.sendline(f"127.0.0.1:{srv.port}")
    child.expect_exact(ASK_PSEUDO)


def test_address_host_alone_uses_the_port_option(server, spawn_client):
    srv = server()
    child = spawn_client("--port", srv.port)
    child.expect_exact(address_prompt(srv.port))
    child.sendline("localhost")
    child.expect_exact(ASK_PSEUDO)


def test_address_bracketed_ipv6_with_port_is_accepted(server, spawn_client):
    if not have_ipv6_loopback():
        pytest.skip("no IPv6 loopback on this machine")
    srv = server(host="::1")
    child = spawn_client()
    child.expect_exact(address_prompt(1234))
    child.sendline(f"[::1]:{srv.port}")
    child.expect_exact(ASK_PSEUDO)


def test_connection_refused_on_terminal_is_reported(spawn_client, closed_port):
    # The address came from --host, not from the prompt: nothing to ask again, it exits 1.
    child = spawn_client("--host", "127.0.0.1", "--port", closed_port, expect_status=1)
    child.expect_exact("Impossible de se connecter")


# ---------------------------------------------------------------- the pseudo


def test_server_prompt_is_shown_and_pseudo_is_welcomed(server, spawn_client):
    srv = server()
    child = spawn_client("--host", "127.0.0.1", "--port", srv.port)
    child.expect_exact(ASK_PSEUDO)
    child.sendline("alice")
    child.expect_exact("Bienvenue, alice ! Personne d'autre n'est connecté pour l'instant.")
    srv.wait_log(r"alice a rejoint la discussion")


def test_refused_pseudo_shows_the_reason_and_asks_again(server, chat, spawn_client):
    srv = server()
    chat(srv, "alice")
    child = spawn_client("--host", "127.0.0.1", "--port", srv.port)
    child.expect_exact(ASK_PSEUDO)
    child.sendline("alice")
    child.expect_exact("Le pseudo « alice » est déjà pris.")
    child.expect_exact(ASK_PSEUDO)
    child.sendline("bob")
    child.expect_exact("Bienvenue, bob ! 2 personnes connectées.")


def test_nick_option_joins_without_asking(server, spawn_client):
    srv = server()
    child = spawn_client("--host", "127.0.0.1", "--port", srv.port, "--nick", "alice")
    child.expect_exact("Bienvenue, alice !")
    assert "Entrez votre pseudo" not in child.transcript.getvalue()
    assert "Adresse du serveur" not in child.transcript.getvalue()


def test_refused_nick_option_asks_for_another(server, chat, spawn_client):
    srv = server()
    chat(srv, "alice")
    child = spawn_client("--host", "127.0.0.1", "--port", srv.port, "--nick", "ALICE")
    child.expect_exact("Le pseudo « ALICE » est déjà pris.")
    child.expect_exact(ASK_PSEUDO)
    child.sendline("bob")
    child.expect_exact("Bienvenue, bob !")


# ---------------------------------------------------------------- chatting


def test_incoming_message_is_shown_as_pseudo_colon_text(server, connect, joined_client):
    srv = server()
    child = joined_client(srv)
    bob = connect(srv.port)
    bob.join("bob")
    bob.send_line("salut à toi 😀")
    child.expect_exact("bob: salut à toi 😀")


def test_join_and_leave_notices_are_shown_with_a_star(server, connect, joined_client):
    srv = server()
    child = joined_client(srv)
    bob = connect(srv.port)
    bob.join("bob")
    child.expect_exact("* bob a rejoint la discussion")
    bob.send_line("/quit")
    bob.expect_closed()
    child.expect_exact("* bob est déconnecté")


def test_server_error_is_shown_with_a_bang(server, joined_client):
    srv = server()
    child = joined_client(srv)
    child.sendline("/nope")
    child.expect_exact("! Commande inconnue : /nope (tapez /help pour la liste).")


def test_typed_line_is_sent_to_the_others(server, chat, joined_client):
    srv = server()
    (bob,) = chat(srv, "bob")
    child = joined_client(srv)
    bob.expect_exact("* alice a rejoint la discussion")
    child.sendline("bonjour à tous")
    bob.expect_exact("> alice: bonjour à tous")


def test_own_message_is_shown_once_locally(server, chat, joined_client):
    srv = server()
    (bob,) = chat(srv, "bob")
    child = joined_client(srv)
    bob.expect_exact("* alice a rejoint la discussion")
    child.sendline("mon message")
    child.expect_exact("alice: mon message")
    bob.expect_exact("> alice: mon message")
    bob.send_line("après")  # a later line: anything shown twice would come before it
    child.expect_exact("bob: après")
    assert child.transcript.getvalue().count("alice: mon message") == 1


@pytest.mark.parametrize("term", ["dumb", "xterm-256color"])
def test_incoming_message_keeps_the_partly_typed_line_intact(server, chat, joined_client, term):
    srv = server()
    (bob,) = chat(srv, "bob")
    child = joined_client(srv, term=term)
    bob.expect_exact("* alice a rejoint la discussion")
    child.send("bonjour mo")
    child.expect_exact("bonjour mo")  # echoed by readline
    bob.send_line("salut")
    t = child.term
    t.wait_text("bob: salut")
    t.wait(lambda t: t.input_row().endswith("] bonjour mo"), "the typed line redrawn below")
    child.send("nde\r")
    bob.expect_exact("> alice: bonjour monde")
    t.wait_text("alice: bonjour monde")


def test_quit_command_leaves_cleanly(server, joined_client):
    srv = server()
    child = joined_client(srv)
    child.sendline("/quit")
    assert wait_child_exit(child) == 0
    srv.wait_log(r"alice est déconnecté")


def test_quit_with_a_reason_passes_the_reason_on(server, chat, joined_client):
    srv = server()
    (bob,) = chat(srv, "bob")
    child = joined_client(srv)
    bob.expect_exact("* alice a rejoint la discussion")
    child.sendline("/quit à demain")
    assert wait_child_exit(child) == 0
    bob.expect_exact("* alice est déconnecté (à demain)")


def test_server_commands_work_from_the_client(server, chat, joined_client):
    srv = server()
    (bob,) = chat(srv, "bob")
    child = joined_client(srv)
    bob.expect_exact("* alice a rejoint la discussion")
    child.sendline("/join jeux")
    child.expect_exact("Vous êtes maintenant dans #jeux.")
    bob.expect_exact("* alice a quitté #général")
    child.sendline("/msg bob on joue ?")
    bob.expect_exact("@ alice: on joue ?")
    child.expect_exact("Message privé pour bob : on joue ?")


def test_ctrl_d_on_empty_line_leaves_cleanly(server, joined_client):
    srv = server()
    child = joined_client(srv)
    child.expect_exact("[alice@127.0.0.1:")  # the status prompt
    child.sendcontrol("d")
    assert wait_child_exit(child) == 0
    srv.wait_log(r"alice est déconnecté")


def test_server_stopping_ends_the_client_with_status_1_with_no_reconnect(server, joined_client):
    srv = server()
    child = joined_client(srv, args=("--no-reconnect",))
    srv.stop()
    child.expect_exact(LOST)
    assert wait_child_exit(child) == 1


def lflags(child):
    """The terminal's local modes as the client left them (readable from the master side
    of the pseudo-terminal, also once the client has exited)."""
    return termios.tcgetattr(child.child_fd)[3]


def assert_terminal_restored(child):
    import pexpect

    child.expect(pexpect.EOF)
    flags = lflags(child)
    assert flags & termios.ICANON and flags & termios.ECHO, "terminal left in raw mode"


@pytest.mark.parametrize(
    "how, status",
    [("ctrl-d", 0), ("quit", 0), ("ctrl-c-twice", 0), ("sigterm", 128 + 15),
     ("sighup", 128 + 1), ("ctrl-backslash", 128 + 3), ("lost", 1)],
)
def test_terminal_is_restored_whatever_ends_the_client(server, joined_client, how, status):
    srv = server()
    child = joined_client(srv, args=("--no-reconnect",) if how == "lost" else ())
    child.expect_exact("[alice@127.0.0.1:")  # the status prompt
    assert not lflags(child) & termios.ICANON  # readline has the terminal in raw mode
    if how == "ctrl-d":
        child.sendcontrol("d")
    elif how == "quit":
        child.sendline("/quit")
    elif how == "sigterm":
        os.kill(child.pid, signal.SIGTERM)
    elif how == "sighup":
        os.kill(child.pid, signal.SIGHUP)
    elif how == "ctrl-c-twice":
        child.send("à effacer")
        child.expect_exact("à effacer")
        child.sendcontrol("c")  # clears the line
        child.term.wait(lambda t: "à effacer" not in t.input_row(), "the line cleared")
        child.sendcontrol("c")  # on the empty line: leaves
    elif how == "lost":
        srv.stop()
        child.expect_exact(LOST)
    else:
        child.sendcontrol("\\")
    assert_terminal_restored(child)
    assert wait_child_exit(child) == status
    if how != "lost":
        srv.wait_log(r"alice est déconnecté")


def test_ctrl_z_gives_the_terminal_back_and_fg_takes_it_again(server, chat, joined_client):
    srv = server()
    (bob,) = chat(srv, "bob")
    child = joined_client(srv)
    bob.expect_exact("* alice a rejoint la discussion")
    child.expect_exact("[alice@127.0.0.1:")  # the status prompt
    child.send("à moi")
    child.expect_exact("à moi")
    child.sendcontrol("z")
    deadline = time.monotonic() + EXIT_TIMEOUT
    while process_state(child.pid) != "T":
        assert time.monotonic() < deadline, "Ctrl-Z did not stop the client"
        time.sleep(0.02)
    flags = lflags(child)
    assert flags & termios.ICANON and flags & termios.ECHO, "stopped with the terminal raw"
    os.kill(child.pid, signal.SIGCONT)
    child.expect_exact("à moi")  # the prompt and the typed line drawn again
    child.send(" aussi\r")
    bob.expect_exact("> alice: à moi aussi")
    assert not lflags(child) & termios.ICANON


def process_state(pid):
    with open(f"/proc/{pid}/stat") as f:
        return f.read().rsplit(")", 1)[1].split()[0]


def test_pasted_lines_are_sent_one_message_each_in_order(server, chat, joined_client):
    srv = server()
    (bob,) = chat(srv, "bob")
    child = joined_client(srv, term="xterm-256color")
    bob.expect_exact("* alice a rejoint la discussion")
    child.term.wait(lambda t: "[alice@127.0.0.1:" in t.input_row(), "the status prompt")
    # A bracketed paste: readline inserts it whole, newlines included, then Enter.
    child.send("\x1b[200~un\ndeux\n\ntrois\x1b[201~")
    child.send("\r")
    bob.expect_exact("> alice: un")
    bob.expect_exact("> alice: deux")
    bob.expect_exact("> alice: trois")
    for text in ("un", "deux", "trois"):  # and each shown as a message of its own
        child.term.wait_text(f"alice: {text}")
    bob.send_line("fin")
    child.term.wait_text("bob: fin")


def test_enter_in_vi_mode_sends_the_line_like_emacs_mode(server, chat, joined_client, tmp_path):
    inputrc = tmp_path / "inputrc"
    inputrc.write_text("set editing-mode vi\n")
    srv = server()
    (bob,) = chat(srv, "bob")
    child = joined_client(srv, prompts=False, others=(bob,), term="xterm-256color",
                          env={"INPUTRC": str(inputrc)})
    child.send("en mode vi\r")
    bob.expect_exact("> alice: en mode vi")
    child.term.wait_text("alice: en mode vi")
    child.send("encore\x1b")  # Escape: vi's movement keymap, where Enter is ours too
    time.sleep(0.7)  # past readline's keyseq-timeout, as a person would type
    child.send("\r")
    bob.expect_exact("> alice: encore")


def test_accept_line_bound_elsewhere_still_sends(server, chat, joined_client, tmp_path):
    # Any key bound to readline's own accept-line (here Ctrl-O, operate-and-get-next by
    # default) reaches the same path as Enter.
    srv = server()
    (bob,) = chat(srv, "bob")
    child = joined_client(srv)
    bob.expect_exact("* alice a rejoint la discussion")
    child.expect_exact("[alice@127.0.0.1:")  # the status prompt
    child.send("par ctrl-o")
    child.sendcontrol("o")
    bob.expect_exact("> alice: par ctrl-o")


# ---------------------------------------------------------------- piped mode


def test_piped_connection_refused_exits_1(closed_port):
    p = run_client(["--host", "127.0.0.1", "--port", closed_port, "--nick", "bot"], b"salut\n")
    assert p.returncode == 1
    assert "Impossible de se connecter" in p.stderr


def test_piped_lines_are_sent_in_order_and_client_exits_0_at_end_of_input(server, chat):
    srv = server(*NO_FLOOD_CONTROL)
    (alice,) = chat(srv, "alice")
    lines = [f"ligne {i:04d} é" for i in range(1000)]
    p = run_client(
        ["--host", "127.0.0.1", "--port", srv.port, "--nick", "bot", *NO_FLOOD_CONTROL],
        ("\n".join(lines) + "\n").encode(),
    )
    assert p.returncode == 0, p.stderr
    alice.expect_exact("* bot a rejoint la discussion")
    for line in lines:
        alice.expect_exact(f"> bot: {line}")
    alice.expect_exact("* bot est déconnecté")
    srv.wait_log(r"bot est déconnecté")


@pytest.mark.parametrize("source", ["pipe", "file"])
def test_piped_20000_lines_arrive_once_each_in_order(server, chat, tmp_path, source):
    # Many chunks of input, each read while the previous chunk's lines are still being
    # handed over: none may be lost or read twice.
    srv = server(*NO_FLOOD_CONTROL)
    (alice,) = chat(srv, "alice")
    lines = [f"{i}" for i in range(1, 20001)]
    data = ("\n".join(lines) + "\n").encode()
    args = ["--host", "127.0.0.1", "--port", srv.port, "--nick", "bot", *NO_FLOOD_CONTROL]
    if source == "pipe":
        p = run_client(args, data)
    else:
        path = tmp_path / "lines.txt"
        path.write_bytes(data)
        with open(path, "rb") as f:
            p = subprocess.run(
                [str(CLIENT_BIN), *map(str, args)],
                stdin=f,
                capture_output=True,
                env=sanitizer_env(),
                timeout=EXIT_TIMEOUT,
            )
        assert_no_sanitizer_report(p.stderr.decode(errors="replace"), "causerie")
    assert p.returncode == 0, p.stderr
    got = alice.readlines_until("* bot est déconnecté", max_lines=30000)
    assert got[0] == "* bot a rejoint la discussion"
    assert got[1:-1] == [f"> bot: {line}" for line in lines]


def test_piped_line_arriving_in_pieces_is_sent_whole(server, chat, piped_client):
    # A read that ends mid-line must still lead to the next read.
    srv = server()
    (alice,) = chat(srv, "alice")
    bot = piped_client("--host", "127.0.0.1", "--port", srv.port, "--nick", "bot")
    alice.expect_exact("* bot a rejoint la discussion")
    for piece in ("bon", "jo", "ur\nça ", "va\n"):
        bot.proc.stdin.write(piece.encode())
        bot.proc.stdin.flush()
        time.sleep(0.2)
    alice.expect_exact("> bot: bonjour")
    alice.expect_exact("> bot: ça va")
    bot.proc.stdin.close()
    assert bot.wait_exit() == 0, bot.stderr
    alice.expect_exact("* bot est déconnecté")


def test_piped_line_longer_than_one_read_is_sent(server, chat):
    # 40,000 bytes take several reads with no complete line among them.
    srv = server("--max-line", "65536")
    (alice,) = chat(srv, "alice")
    long_line = "x" * 40000
    p = run_client(
        ["--host", "127.0.0.1", "--port", srv.port, "--nick", "bot"],
        f"{long_line}\naprès\n".encode(),
    )
    assert p.returncode == 0, p.stderr
    alice.expect_exact("* bot a rejoint la discussion")
    assert alice.read_line() == f"> bot: {long_line}"
    alice.expect_exact("> bot: après")


def test_piped_input_over_the_client_line_limit_is_refused_and_the_next_line_sent(server, chat):
    srv = server()
    (alice,) = chat(srv, "alice")
    p = run_client(
        ["--host", "127.0.0.1", "--port", srv.port, "--nick", "bot"],
        b"y" * 100000 + "\naprès\n".encode(),
    )
    assert p.returncode == 0, p.stderr
    assert "Ligne d'entrée trop longue (65536 octets au maximum)" in p.stderr
    alice.expect_exact("* bot a rejoint la discussion")
    alice.expect_exact("> bot: après")
    alice.expect_exact("* bot est déconnecté")


def test_piped_mode_prints_no_prompt(server):
    srv = server()
    p = run_client(["--host", "127.0.0.1", "--port", srv.port, "--nick", "bot"], b"salut\n")
    assert p.returncode == 0, p.stderr
    out = p.stdout.splitlines()
    assert out and "Bienvenue, bot !" in out[0], out
    assert "Entrez" not in p.stdout and "Adresse" not in p.stdout
    assert "Entrez" not in p.stderr and "Adresse" not in p.stderr


def test_piped_mode_prints_received_lines_in_display_format(server, connect, piped_client):
    srv = server()
    bot = piped_client("--host", "127.0.0.1", "--port", srv.port, "--nick", "bot")
    bot.wait_log(r"Bienvenue, bot !")
    bob = connect(srv.port)
    bob.join("bob")
    bob.send_line("salut bot")
    bob.send_line("/quit")
    bob.expect_closed()
    bot.wait_log(r"\* bob est déconnecté")
    bot.proc.stdin.write("/nope\n".encode())
    bot.proc.stdin.flush()
    bot.wait_log(r"^! Commande inconnue")
    bot.proc.stdin.close()
    assert bot.wait_exit() == 0, bot.stderr
    assert bot.log_lines[1:] == [
        "* bob a rejoint la discussion",
        "bob: salut bot",
        "* bob est déconnecté",
        "! Commande inconnue : /nope (tapez /help pour la liste).",
    ]
    assert "Bienvenue, bot !" in bot.log_lines[0]


def test_piped_mode_without_options_reads_address_then_pseudo(server, chat):
    srv = server()
    (alice,) = chat(srv, "alice")
    p = run_client([], f"127.0.0.1:{srv.port}\nbot\nbonjour\n".encode())
    assert p.returncode == 0, p.stderr
    alice.expect_exact("* bot a rejoint la discussion")
    alice.expect_exact("> bot: bonjour")
    alice.expect_exact("* bot est déconnecté")
    assert "Adresse" not in p.stdout and "Entrez" not in p.stdout


def test_piped_mode_refused_pseudo_prints_the_reason_on_stderr_and_exits_1(server, chat):
    srv = server()
    chat(srv, "alice")
    p = run_client(["--host", "127.0.0.1", "--port", srv.port, "--nick", "alice"], b"salut\n")
    assert p.returncode == 1
    assert "Le pseudo « alice » est déjà pris." in p.stderr
    assert "salut" not in p.stdout


@pytest.mark.parametrize("how", ["sigterm", "server-gone"])
def test_piped_client_ends_even_while_stdin_stays_silent(server, chat, piped_client, how):
    # stdin is a pipe kept open with nothing in it: the pending read must not keep the
    # client from exiting.
    srv = server()
    (alice,) = chat(srv, "alice")
    bot = piped_client("--host", "127.0.0.1", "--port", srv.port, "--nick", "bot")
    alice.expect_exact("* bot a rejoint la discussion")
    if how == "sigterm":
        bot.proc.send_signal(signal.SIGTERM)
        assert bot.wait_exit() == 128 + signal.SIGTERM
    else:
        srv.stop()
        assert bot.wait_exit() == 1
