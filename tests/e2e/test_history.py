"""History: a client entering a room first receives its last --history lines (chat
messages and actions, as "~ TIME LINE"), and with --history-file they survive a restart;
a damaged file is reported line by line and skipped, never a crash, never a lost
neighbour (docs/PROTOCOL.md, "History"; docs/ARCHITECTURE.md, "The history file")."""

import calendar
import os
import re
import subprocess
import time
import zlib

import pytest

from conftest import NO_FLOOD_CONTROL, run_server, wait_stderr

HISTORY_LINE = re.compile(r"~ (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ) (.*)")


def history_of(client, n):
    """Reads n history lines; returns their (time, line) pairs, each time checked."""
    out = []
    for _ in range(n):
        line = client.read_line()
        m = HISTORY_LINE.fullmatch(line)
        assert m, f"not a history line: {line!r}"
        t = calendar.timegm(time.strptime(m.group(1), "%Y-%m-%dT%H:%M:%SZ"))
        out.append((t, m.group(2)))
    return out


def assert_nothing_more(client, room="#général"):
    """The next line is the answer to /who: nothing else was waiting before it."""
    client.send_line("/who")
    assert client.read_line().startswith(f"= {room} ")


def test_a_newcomer_gets_the_rooms_last_lines_oldest_first(alice_bob, connect):
    srv, alice, bob = alice_bob()
    before = int(time.time())
    alice.send_line("bonjour")
    bob.expect_exact("> alice: bonjour")
    bob.send_line("/me sourit")
    alice.expect_exact("& bob sourit")
    alice.send_line("/msg bob privé")
    bob.expect_exact("@ alice: privé")
    after = int(time.time())
    late = connect(srv.port, name="late")
    late.join("late")
    got = history_of(late, 2)
    assert [line for _, line in got] == ["> alice: bonjour", "& bob sourit"]
    # time(2) reads a coarse clock that may lag the one Python reads by a few ms, so at a
    # second's boundary the server's time can be the second before.
    assert all(before - 1 <= t <= after for t, _ in got), (before, got, after)
    assert_nothing_more(late)


def test_history_keeps_the_last_n_lines(server, chat, connect):
    srv = server("--history", "3", *NO_FLOOD_CONTROL)
    (alice,) = chat(srv, "alice")
    for i in range(10):
        alice.send_line(f"ligne {i}")
    alice.send_line("/who")
    alice.expect_line("= #général")  # the ten lines are in, in order, before the answer
    late = connect(srv.port, name="late")
    late.join("late")
    assert [line for _, line in history_of(late, 3)] == [
        "> alice: ligne 7", "> alice: ligne 8", "> alice: ligne 9"]
    assert_nothing_more(late)


def test_history_zero_sends_and_keeps_none(server, chat, connect):
    srv = server("--history", "0")
    (alice,) = chat(srv, "alice")
    alice.send_line("perdu")
    alice.send_line("/who")
    alice.expect_line("= #général")
    late = connect(srv.port, name="late")
    late.join("late")
    assert_nothing_more(late)


def test_each_room_has_its_own_history(alice_bob):
    srv, alice, bob = alice_bob()
    alice.send_line("/join jeux")
    alice.readlines_until("= #jeux")
    alice.send_line("dans jeux")
    bob.readlines_until("* alice a quitté #général")
    bob.send_line("dans général")
    bob.send_line("/join jeux")
    bob.expect_exact("+ Vous êtes maintenant dans #jeux.")
    bob.expect_line("= #jeux 2 :")
    assert [line for _, line in history_of(bob, 1)] == ["> alice: dans jeux"]
    assert_nothing_more(bob, "#jeux")


# ---------------------------------------------------------------- --history-file


def record(t, room, line):
    head = f"1 {t} {room} "
    crc = zlib.crc32((head + line).encode())
    return f"{head}{crc:08x} {line}\n".encode()


def say(alice, *lines):
    for line in lines:
        alice.send_line(line)
    alice.send_line("/who")
    alice.expect_line("= #")  # every line before it has been kept


def test_history_survives_a_restart(server, chat, connect, tmp_path):
    path = tmp_path / "historique"
    srv = server("--history-file", path)
    (alice,) = chat(srv, "alice")
    say(alice, "avant le redémarrage", "/me redémarre")
    srv.stop()
    assert path.stat().st_mode & 0o777 == 0o600
    srv = server("--history-file", path)
    srv.wait_log(rf"historique : 2 messages relus dans {re.escape(str(path))}, 2 gardés$")
    late = connect(srv.port, name="late")
    late.join("late")
    assert [line for _, line in history_of(late, 2)] == [
        "> alice: avant le redémarrage", "& alice redémarre"]
    assert_nothing_more(late)


def test_the_file_holds_one_checksummed_record_per_kept_line(server, chat, tmp_path):
    path = tmp_path / "historique"
    srv = server("--history-file", path)
    (alice,) = chat(srv, "alice")
    say(alice, "un", "deux")
    alice.send_line("/join jeux")
    alice.readlines_until("= #jeux")
    say(alice, "trois")
    srv.stop()
    lines = path.read_bytes().decode().splitlines(keepends=True)
    assert len(lines) == 3
    for line, (room, text) in zip(lines, [("général", "> alice: un"), ("général", "> alice: deux"),
                                          ("jeux", "> alice: trois")]):
        t = int(line.split(" ")[1])
        assert line.encode() == record(t, room, text)


def test_a_restart_compacts_the_file_to_what_is_kept(server, chat, tmp_path):
    path = tmp_path / "historique"
    srv = server("--history-file", path, "--history", "5", *NO_FLOOD_CONTROL)
    (alice,) = chat(srv, "alice")
    say(alice, *[f"message {i}" for i in range(30)])
    srv.stop()
    assert len(path.read_bytes().splitlines()) == 30
    srv = server("--history-file", path, "--history", "5")
    srv.wait_log(r"historique : 30 messages relus dans .*, 5 gardés$")
    lines = path.read_bytes().decode().splitlines()
    assert [line.split(" ", 4)[4] for line in lines] == [
        f"> alice: message {i}" for i in range(25, 30)]
    assert not (tmp_path / "historique.tmp").exists()


def test_a_damaged_record_is_reported_and_skipped_and_its_neighbours_kept(
    server, connect, tmp_path
):
    path = tmp_path / "historique"
    good1 = record(1764079392, "général", "> alice: un")
    bad = bytearray(record(1764079393, "général", "> bob: deux"))
    bad[-3] ^= 0x20  # a changed byte in the text: the checksum no longer matches
    good2 = record(1764079394, "général", "> carol: trois")
    cut = record(1764079395, "général", "> dave: quatre")[:-7]  # a crash mid-write
    path.write_bytes(good1 + bytes(bad) + b"n'importe quoi\n" + good2 + cut)
    srv = server("--history-file", path)
    assert wait_stderr(srv, rf"{re.escape(str(path))}, ligne 2 : somme de contrôle incorrecte") == 1
    assert wait_stderr(srv, r"ligne 3 : champ manquant ; enregistrement ignoré") == 1
    assert wait_stderr(srv, r"ligne 5 : ligne tronquée ; enregistrement ignoré") == 1
    late = connect(srv.port, name="late")
    late.join("late")
    got = history_of(late, 2)
    assert got == [(1764079392, "> alice: un"), (1764079394, "> carol: trois")]
    assert_nothing_more(late)


def test_a_file_that_ends_mid_line_gets_the_next_record_on_a_line_of_its_own(
    server, chat, tmp_path
):
    path = tmp_path / "historique"
    path.write_bytes(record(1, "général", "> a: b")[:-4])
    srv = server("--history-file", path, "--history", "1")
    # Compaction rewrote the file whole; a record appended now starts a line.
    (alice,) = chat(srv, "alice")
    say(alice, "après")
    srv.stop()
    lines = path.read_bytes().split(b"\n")
    assert lines[-1] == b"" and len(lines) == 2, lines
    assert lines[0].endswith(b"> alice: apr\xc3\xa8s")


def test_rooms_come_back_from_the_file_empty(server, chat, tmp_path):
    path = tmp_path / "historique"
    path.write_bytes(record(1764079392, "jeux", "> bob: on joue ?"))
    srv = server("--history-file", path)
    (alice,) = chat(srv, "alice")
    alice.send_line("/rooms")
    alice.expect_exact("+ 2 salons :")
    assert sorted([alice.read_line(), alice.read_line()]) == [
        "* #général : 1 personne", "* #jeux : 0 personne"]
    alice.send_line("/join jeux")
    alice.readlines_until("= #jeux")
    assert history_of(alice, 1) == [(1764079392, "> bob: on joue ?")]


def test_a_record_for_a_room_no_one_can_name_is_skipped(server, connect, tmp_path):
    path = tmp_path / "historique"
    path.write_bytes(record(1, "a" * 40, "> a: b") + record(2, "général", "> c: d"))
    srv = server("--history-file", path)
    assert wait_stderr(srv, r"ligne 1 : nom de salon invalide ; enregistrement ignoré") == 1
    late = connect(srv.port, name="late")
    late.join("late")
    assert history_of(late, 1) == [(2, "> c: d")]


def test_an_unusable_history_file_stops_the_server_with_status_1(tmp_path):
    p = run_server(["--host", "127.0.0.1", "--port", "0", "--history-file", str(tmp_path)])
    assert p.returncode == 1
    assert f"impossible d'ouvrir le fichier d'historique {tmp_path} : c'est un dossier." in p.stderr
    p = run_server(["--host", "127.0.0.1", "--port", "0", "--history-file",
                    str(tmp_path / "absent" / "historique")])
    assert p.returncode == 1
    assert "fichier ou dossier introuvable" in p.stderr


def test_history_file_with_history_zero_is_refused(tmp_path):
    p = run_server(["--history", "0", "--history-file", str(tmp_path / "h")])
    assert p.returncode == 2
    assert "--history-file n'a pas d'effet avec --history 0" in p.stderr
    assert not (tmp_path / "h").exists()


def test_history_sent_to_a_newcomer_stays_within_half_its_backlog(server, chat, connect):
    """100 lines of 4,000 bytes are kept, but a newcomer with --max-backlog 65536 is sent
    only the newest that fit in half of it, and is not dropped for it."""
    srv = server("--history", "100", "--max-backlog", "65536", *NO_FLOOD_CONTROL)
    (alice,) = chat(srv, "alice")
    big = "z" * 4000
    say_lines = [f"{i:03d} {big}" for i in range(100)]
    for line in say_lines:
        alice.send_line(line)
    alice.send_line("/who")
    alice.expect_line("= #général")
    late = connect(srv.port, name="late", rcvbuf=4096)
    late.join("late")
    late.send_line("/who")
    lines = late.readlines_until("= #général")
    history = [HISTORY_LINE.fullmatch(line).group(2) for line in lines[:-1]]
    assert 1 <= len(history) <= 65536 // 2 // 4000, len(history)
    assert history == [f"> alice: {line}" for line in say_lines[-len(history):]]
    alice.send_line("toujours là ?")
    late.expect_exact("> alice: toujours là ?")
