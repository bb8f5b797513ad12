"""The terminal client as its user sees it: a real pseudo-terminal whose output feeds a
VT100 emulator (pyte, conftest.Term), so that every assertion is about the screen: what the
rows show, where the cursor is, which characters are coloured. Covers completion, the
history of sent lines (within a run and across runs), wide characters, the input line
surviving a burst, times, colours and their absence, mentions and the bell, the status
prompt, /help and /clear, long lines, pasted lines paced under flood control, and
reconnection when the server restarts."""

import functools
import os
import re
import signal
import time
from pathlib import Path

import pytest

from conftest import TIMEOUT, run_client, wait_child_exit

CLOCK = re.compile(r"^\d\d:\d\d ")


@pytest.fixture
def joined_client(joined_client):
    """conftest's joined_client as every test here wants it: on an xterm, joined through
    --host and --nick, so that no prompt is left on the screen."""
    return functools.partial(joined_client, term="xterm-256color", prompts=False)


def status(srv, pseudo="alice", room="général", count=None):
    head = f"[{pseudo}@127.0.0.1:{srv.port} #{room}"
    return head if count is None else f"{head} {count}]"


# ---------------------------------------------------------------- the input line


def test_tab_completes_a_pseudo_at_line_start_with_a_colon(server, chat, joined_client):
    srv = server()
    bob, berenice = chat(srv, "bob", "Bérénice")
    child = joined_client(srv, others=(bob, berenice))
    t = child.term
    t.wait(lambda t: t.input_row().endswith(status(srv, count=3)), "3 in the room")
    child.send("bo\t")
    t.wait(lambda t: t.before_cursor().endswith("] bob: "), "bob: completed")
    child.send("salut bé\t")
    t.wait(lambda t: t.before_cursor().endswith("] bob: salut Bérénice "), "Bérénice completed")
    child.send("\r")
    bob.expect_exact("> alice: bob: salut Bérénice ")


def test_tab_completes_commands_and_pseudos_after_msg(server, chat, joined_client):
    srv = server()
    (bob,) = chat(srv, "bob")
    child = joined_client(srv)
    t = child.term
    t.wait(lambda t: t.input_row().endswith(status(srv, count=2)), "2 in the room")
    child.send("/jo\t")
    t.wait(lambda t: t.before_cursor().endswith("] /join "), "/join completed")
    child.send("\x15")  # Ctrl-U: the whole line goes
    t.wait(lambda t: t.before_cursor().endswith("] "), "an empty line")
    child.send("/msg b\t")
    t.wait(lambda t: t.before_cursor().endswith("] /msg bob "), "bob completed, no colon")


def test_completion_follows_arrivals_and_departures(server, chat, connect, joined_client):
    srv = server()
    (bob,) = chat(srv, "bob")
    child = joined_client(srv)
    t = child.term
    t.wait(lambda t: t.input_row().endswith(status(srv, count=2)), "2 in the room")
    zoe = connect(srv.port, name="zoe")
    zoe.join("zoé")
    t.wait(lambda t: t.input_row().endswith(status(srv, count=3)), "zoé counted")
    child.send("z\t")
    t.wait(lambda t: t.before_cursor().endswith("] zoé: "), "zoé completed")
    child.send("\x15")
    zoe.close()
    t.wait(lambda t: t.before_cursor().endswith(status(srv, count=2) + " "), "zoé gone")
    child.send("z\t")
    t.pump(0.3)
    assert t.input_row().endswith("] z"), t.input_row()


def test_up_and_down_recall_sent_lines(server, chat, joined_client):
    srv = server()
    (bob,) = chat(srv, "bob")
    child = joined_client(srv, others=(bob,))
    t = child.term
    for line in ("un", "deux", "trois"):
        child.send(line + "\r")
        bob.expect_exact(f"> alice: {line}")
    child.send("\x1b[A\x1b[A")  # Up, Up
    t.wait(lambda t: t.input_row().endswith("] deux"), "deux recalled")
    child.send("\x1b[B")  # Down
    t.wait(lambda t: t.input_row().endswith("] trois"), "trois recalled")
    child.send(" encore\r")
    bob.expect_exact("> alice: trois encore")


def test_history_is_kept_across_runs_and_bounded(server, chat, joined_client, tmp_path):
    srv = server()
    (bob,) = chat(srv, "bob")
    env = {"XDG_STATE_HOME": str(tmp_path)}
    child = joined_client(srv, env=env, args=("--history-size", "3"), others=(bob,))
    for line in ("un", "deux", "trois", "quatre", "cinq"):
        child.send(line + "\r")
        bob.expect_exact(f"> alice: {line}")
    child.send("/quit\r")
    assert wait_child_exit(child) == 0
    path = tmp_path / "causerie" / "history"
    assert path.read_text().split() == ["trois", "quatre", "cinq", "/quit"][-3:]
    assert path.stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "causerie").stat().st_mode & 0o777 == 0o700
    child = joined_client(srv, pseudo="alice2", env=env, args=("--history-size", "3"))
    t = child.term
    child.send("\x1b[A\x1b[A")
    t.wait(lambda t: t.input_row().endswith("] cinq"), "the last run's line recalled")


def test_history_size_zero_writes_no_file(server, joined_client, tmp_path):
    srv = server()
    env = {"XDG_STATE_HOME": str(tmp_path)}
    child = joined_client(srv, env=env, args=("--history-size", "0"))
    child.send("secret\r")
    child.send("/quit\r")
    assert wait_child_exit(child) == 0
    assert not (tmp_path / "causerie").exists()


def test_wide_characters_keep_the_cursor_in_place(server, chat, joined_client):
    srv = server()
    (bob,) = chat(srv, "bob")
    child = joined_client(srv, others=(bob,))
    t = child.term
    t.wait(lambda t: t.input_row().endswith(status(srv, count=2)), "the prompt")
    start = t.screen.cursor.x + 1  # after the prompt's trailing space
    child.send("日本語 😀 ok")
    t.wait(lambda t: t.input_row().endswith("] 日本語 😀 ok"), "the wide text")
    # 日本語 and 😀 are two columns each: 6 + 1 + 2 + 1 + 2.
    assert t.screen.cursor.x == start - 1 + 12, (t.screen.cursor.x, start)
    child.send("\x1b[D\x1b[D\x1b[DX")  # Left three times, then X, after the emoji
    t.wait(lambda t: t.input_row().endswith("] 日本語 😀X ok"), "X after the emoji")
    assert t.screen.cursor.x == start - 1 + 10
    child.send("\r")
    bob.expect_exact("> alice: 日本語 😀X ok")


def test_typed_line_survives_a_burst_of_200_messages(server, chat, joined_client):
    srv = server("--flood-rate", "0")
    (bob,) = chat(srv, "bob")
    child = joined_client(srv, others=(bob,))
    t = child.term
    child.send("je tape encore")
    t.wait(lambda t: t.input_row().endswith("] je tape encore"), "the typed text")
    for i in range(200):
        bob.send_line(f"rafale {i:03d}")
    t.wait_text("bob: rafale 199")
    rows = t.rows()
    assert t.input_row().endswith("] je tape encore"), t.input_row()
    assert t.screen.cursor.y == max(i for i, r in enumerate(rows) if r), "input at the bottom"
    # The rows above hold the last messages, whole and in order.
    shown = [r for r in rows if "bob: rafale" in r]
    assert [r.split("rafale ")[1] for r in shown] == [
        f"{i:03d}" for i in range(200 - len(shown), 200)]
    child.send(" !\r")
    bob.expect_exact("> alice: je tape encore !")


def test_long_lines_wrap_above_the_input_line(server, chat, joined_client):
    srv = server()
    (bob,) = chat(srv, "bob")
    child = joined_client(srv, cols=60)
    t = child.term
    child.send("en cours")
    long = " ".join(f"mot{i:02d}" for i in range(40))  # 239 characters
    bob.send_line(long)
    t.wait_text("mot39")
    text = "".join(t.rows())
    assert long.replace(" ", "") in text.replace(" ", "")
    assert t.input_row().endswith("] en cours")


def test_terminal_resize_keeps_the_line(server, chat, joined_client):
    srv = server()
    (bob,) = chat(srv, "bob")
    child = joined_client(srv, others=(bob,))
    child.send("avant")
    child.term.wait(lambda t: t.input_row().endswith("] avant"), "typed")
    child.setwinsize(30, 60)  # the kernel sends SIGWINCH
    child.term.screen.resize(30, 60)
    child.send(" et après\r")
    bob.expect_exact("> alice: avant et après")


# ---------------------------------------------------------------- what lines look like


def test_lines_start_with_the_local_time(server, chat, joined_client):
    srv = server()
    (bob,) = chat(srv, "bob")
    child = joined_client(srv, env={"TZ": "UTC"})
    bob.send_line("quelle heure ?")
    child.term.wait_text("bob: quelle heure ?")
    row = next(r for r in child.term.rows() if "bob: quelle heure ?" in r)
    assert CLOCK.match(row), row
    now = time.gmtime()
    assert row[:5] in (time.strftime("%H:%M", now),
                       time.strftime("%H:%M", time.gmtime(time.time() - 60))), row


def coloured_cells(term, row_text):
    """The characters of the first row containing row_text whose colour is not the default."""
    for y, r in enumerate(term.rows()):
        if row_text in r:
            line = term.screen.buffer[y]
            return [line[x] for x in range(len(r)) if line[x].fg != "default"]
    raise AssertionError(f"no row with {row_text!r}:\n{term.text()}")


def bold_cells(term, row_text):
    for y, r in enumerate(term.rows()):
        if row_text in r:
            line = term.screen.buffer[y]
            return [line[x] for x in range(len(r)) if line[x].bold]
    raise AssertionError(f"no row with {row_text!r}")


def test_pseudos_have_colours_and_own_lines_are_bold(server, chat, joined_client):
    srv = server()
    (bob,) = chat(srv, "bob")
    child = joined_client(srv, others=(bob,))
    t = child.term
    bob.send_line("coucou")
    t.wait_text("bob: coucou")
    cells = coloured_cells(t, "bob: coucou")
    assert "".join(c.data for c in cells) == "bob"  # the pseudo, and only it
    child.send("à moi\r")
    t.wait_text("alice: à moi")
    assert "".join(c.data for c in bold_cells(t, "alice: à moi")) == "alice: à moi"


def test_everyone_sees_a_pseudo_in_the_same_colour(server, chat, joined_client):
    srv = server()
    (zoe,) = chat(srv, "zoe")
    a = joined_client(srv, pseudo="alice")
    b = joined_client(srv, pseudo="bob")
    zoe.send_line("même couleur ?")
    for c in (a, b):
        c.term.wait_text("zoe: même couleur ?")
    colour_a = {c.fg for c in coloured_cells(a.term, "zoe: même couleur ?")}
    colour_b = {c.fg for c in coloured_cells(b.term, "zoe: même couleur ?")}
    assert colour_a == colour_b and len(colour_a) == 1


@pytest.mark.parametrize("how", ["NO_COLOR", "--no-color"])
def test_no_colour_at_all_when_asked(server, chat, joined_client, how):
    srv = server()
    (bob,) = chat(srv, "bob")
    env = {"NO_COLOR": "1"} if how == "NO_COLOR" else None
    args = ("--no-color",) if how == "--no-color" else ()
    child = joined_client(srv, env=env, args=args)
    bob.send_line("sans couleur, alice")
    child.term.wait_text("bob: sans couleur, alice")
    child.term.pump(0.2)
    # Cursor moves are readline's; not one attribute or colour (SGR) is written.
    assert not re.search(r"\x1b\[[0-9;]*m", child.transcript.getvalue())
    for y in range(child.term.screen.lines):
        for cell in child.term.screen.buffer[y].values():
            assert cell.fg == "default" and not cell.bold and not cell.reverse, cell


def test_no_colour_in_a_pipe(server, chat):
    srv = server()
    (bob,) = chat(srv, "bob")
    p = run_client(["--host", "127.0.0.1", "--port", srv.port, "--nick", "robot"],
                   b"bonjour\n")
    assert p.returncode == 0, p.stderr
    assert "\x1b" not in p.stdout and "\x1b" not in p.stderr
    assert not CLOCK.match(p.stdout.splitlines()[0]), "no time in a pipe"


def test_a_mention_is_highlighted_and_rings_the_bell_once(server, chat, joined_client):
    srv = server()
    (bob,) = chat(srv, "bob")
    child = joined_client(srv)
    t = child.term
    bob.send_line("sans rien")
    t.wait_text("bob: sans rien")
    before = child.transcript.getvalue().count("\a")
    bob.send_line("dis ALICE, tu viens ?")
    t.wait_text("bob: dis ALICE, tu viens ?")
    t.pump(0.2)
    assert child.transcript.getvalue().count("\a") == before + 1
    y = next(i for i, r in enumerate(t.rows()) if "dis ALICE" in r)
    line = t.screen.buffer[y]
    reversed_text = "".join(line[x].data for x in range(t.screen.columns) if line[x].reverse)
    assert reversed_text == "ALICE"


def test_a_private_message_is_marked_and_rings(server, chat, joined_client):
    srv = server()
    (bob,) = chat(srv, "bob")
    child = joined_client(srv)
    before = child.transcript.getvalue().count("\a")
    bob.send_line("/msg alice rien que pour toi")
    child.term.wait_text("[privé] bob: rien que pour toi")
    child.term.pump(0.2)
    assert child.transcript.getvalue().count("\a") == before + 1


def test_history_lines_show_their_own_time(server, chat, joined_client):
    srv = server()
    (bob,) = chat(srv, "bob")
    bob.send_line("avant ton arrivée")
    bob.send_line("/who")
    bob.expect_line("= #général")
    child = joined_client(srv, env={"TZ": "UTC"})
    child.term.wait_text("bob: avant ton arrivée")
    row = next(r for r in child.term.rows() if "avant ton arrivée" in r)
    assert CLOCK.match(row), row
    assert "~" not in row and "Z" not in row  # shown as a line, not as the wire form


def test_the_prompt_shows_pseudo_server_room_and_count(server, chat, connect, joined_client):
    srv = server()
    bob, carol = chat(srv, "bob", "carol")
    child = joined_client(srv)
    t = child.term
    t.wait(lambda t: t.input_row() == status(srv, count=3), "3 in #général")
    child.send("/join jeux\r")
    t.wait(lambda t: t.input_row() == status(srv, room="jeux", count=1), "alone in #jeux")
    bob.send_line("/join jeux")
    bob.readlines_until("= #jeux")
    t.wait(lambda t: t.input_row() == status(srv, room="jeux", count=2), "2 in #jeux")


def test_help_lists_the_clients_commands_then_the_servers(server, joined_client):
    srv = server()
    child = joined_client(srv, rows=40)  # both lists, whole, on one screen
    child.send("/help\r")
    t = child.term
    t.wait_text("//texte")
    text = t.text()
    assert (text.index("Commandes du client") < text.index("/clear : efface l'écran")
            < text.index("Commandes disponibles") < text.index("/nick PSEUDO"))


def test_unknown_commands_go_to_the_server(server, joined_client):
    srv = server()
    child = joined_client(srv)
    child.send("/danse\r")
    child.term.wait_text("! Commande inconnue : /danse (tapez /help pour la liste).")


def test_clear_empties_the_screen(server, chat, joined_client):
    srv = server()
    (bob,) = chat(srv, "bob")
    child = joined_client(srv)
    t = child.term
    bob.send_line("à effacer")
    t.wait_text("bob: à effacer")
    child.send("/clear\r")
    t.wait(lambda t: "à effacer" not in t.text(), "the screen cleared")
    assert t.input_row().startswith(status(srv))


# ---------------------------------------------------------------- pacing


def test_a_paste_is_sent_whole_in_order_never_refused(server, chat, joined_client):
    srv = server()  # flood control on: 10 lines at once, then 5 a second
    (bob,) = chat(srv, "bob")
    child = joined_client(srv, others=(bob,))
    t = child.term
    lines = [f"ligne collée {i:02d}" for i in range(30)]
    child.send("\x1b[200~" + "\n".join(lines) + "\x1b[201~\r")
    t.wait(lambda t: "en attente]" in t.input_row(), "the waiting lines in the status")
    for line in lines:
        bob.expect_exact(f"> alice: {line}", timeout=4 * TIMEOUT)
    t.wait(lambda t: "en attente" not in t.input_row(), "nothing waiting any more")
    assert "Trop de messages" not in t.text()
    assert srv.count_log("messages refusés") == 0


def test_a_piped_file_is_paced_too(server, chat):
    srv = server()  # flood control on
    (bob,) = chat(srv, "bob")
    lines = [f"depuis un fichier {i:02d}" for i in range(15)]
    p = run_client(["--host", "127.0.0.1", "--port", srv.port, "--nick", "robot"],
                   ("\n".join(lines) + "\n").encode(), timeout=30)
    assert p.returncode == 0, p.stderr
    assert "Trop de messages" not in p.stdout
    bob.expect_exact("* robot a rejoint la discussion")
    for line in lines:
        bob.expect_exact(f"> robot: {line}")


# ---------------------------------------------------------------- reconnection


def test_reconnects_when_the_server_restarts_with_the_line_kept(server, chat, joined_client):
    srv = server()
    port = srv.port
    child = joined_client(srv)
    t = child.term
    child.send("/join jeux\r")
    t.wait(lambda t: "#jeux" in t.input_row(), "in #jeux")
    child.send("à moitié")
    srv.stop()
    t.wait_text("Connexion au serveur perdue")
    t.wait(lambda t: "hors ligne" in t.input_row(), "offline in the status")
    assert t.input_row().endswith("à moitié")
    child.send(" tapé\r")  # sent while offline: it waits
    t.wait(lambda t: "1 en attente" in t.input_row(), "one line waiting")
    srv2 = server(port=port)
    (bob,) = chat(srv2, "bob")
    t.wait_text("Reconnecté à 127.0.0.1:", timeout=4 * TIMEOUT)
    bob.expect_exact("* alice a rejoint la discussion", timeout=2 * TIMEOUT)
    bob.expect_exact("* alice a quitté #général")  # back to #jeux, before the line
    t.wait(lambda t: "#jeux" in t.input_row() and "attente" not in t.input_row(), "in #jeux")
    srv2.wait_log(r"alice a rejoint #jeux")
    # The line typed offline went to #jeux, after the move: bob finds it there.
    bob.send_line("/join jeux")
    bob.expect_exact("+ Vous êtes maintenant dans #jeux.")
    bob.expect_exact("= #jeux 2 : alice bob")
    bob.expect_line(re.compile(r"~ \S+ > alice: à moitié tapé"))
    child.send("de retour\r")
    bob.expect_exact("> alice: de retour")


def test_reconnection_waits_longer_each_time(server, joined_client):
    srv = server()
    child = joined_client(srv)
    t = child.term
    srv.stop()
    t.wait_text("nouvelle tentative dans 1 s")
    t.wait_text("Nouvelle tentative dans 2 s", timeout=3 * TIMEOUT)
    t.wait_text("Nouvelle tentative dans 4 s", timeout=3 * TIMEOUT)
    child.sendcontrol("d")  # Ctrl-D on the empty line, offline: leaves at once
    assert wait_child_exit(child) == 0
