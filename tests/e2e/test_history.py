"""History: a client entering a room first receives its last --history lines (chat
messages and actions, as "~ TIME LINE"); the database (--db) keeps every line across
restarts, /history pages back through them and /search finds them; lines edited into the
database by hand are checked when read back, and a database that cannot be used stops the
server with a clear error, untouched (docs/PROTOCOL.md, "History"; docs/ARCHITECTURE.md,
"The store")."""

import calendar
import os
import re
import signal
import subprocess
import time

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


# ---------------------------------------------------------------- the database


def say(alice, *lines):
    for line in lines:
        alice.send_line(line)
    alice.send_line("/who")
    alice.expect_line("= #")  # every line before it has been published


def sql(db, query):
    """The rows of query, as the sqlite3 shell prints them (one line per row, "|" between
    columns), read from outside the server as an operator would."""
    p = subprocess.run(["sqlite3", "-batch", str(db), query], capture_output=True, timeout=30)
    assert p.returncode == 0, p.stderr.decode()
    return p.stdout.decode().splitlines()


def test_history_survives_a_restart_in_a_private_database(server, chat, connect, tmp_path):
    db = tmp_path / "etat" / "server.db"
    srv = server("--db", db)
    srv.wait_log(rf"Base de données : {re.escape(str(db))} \(0 messages relus, 0 compte, 1 salon avec propriétaire\)$")
    (alice,) = chat(srv, "alice")
    say(alice, "avant le redémarrage", "/me redémarre")
    srv.stop()
    assert db.stat().st_mode & 0o777 == 0o600
    assert db.parent.stat().st_mode & 0o777 == 0o700
    srv = server("--db", db)
    srv.wait_log(rf"Base de données : {re.escape(str(db))} \(2 messages relus, 0 compte, 1 salon avec propriétaire\)$")
    late = connect(srv.port, name="late")
    late.join("late")
    assert [line for _, line in history_of(late, 2)] == [
        "> alice: avant le redémarrage", "& alice redémarre"]
    assert_nothing_more(late)


def test_the_database_holds_every_kept_line_with_its_room(server, chat, tmp_path):
    db = tmp_path / "server.db"
    srv = server("--db", db)
    (alice,) = chat(srv, "alice")
    say(alice, "un", "/me deux")
    alice.send_line("/join Jeux")
    alice.readlines_until("= #Jeux")
    say(alice, "trois")
    alice.send_line("/msg alice privé")  # never kept
    alice.expect_exact("+ Message privé pour alice : privé")
    srv.stop()
    assert sql(db, "PRAGMA integrity_check") == ["ok"]
    assert sql(db, "PRAGMA journal_mode") == ["wal"]
    assert sql(db, "SELECT r.name, l.kind, l.who, l.text FROM lines l"
                   " JOIN rooms r ON r.id = l.room ORDER BY l.id") == [
        "général|>|alice|un", "général|&|alice|deux", "Jeux|>|alice|trois"]


def test_history_pages_back_to_the_start(server, chat, connect, tmp_path):
    """The room keeps 5 lines in memory for newcomers; the database has all 30, and
    /history goes back through them from the oldest one sent, to the first."""
    db = tmp_path / "server.db"
    srv = server("--db", db, "--history", "5", *NO_FLOOD_CONTROL)
    (alice,) = chat(srv, "alice")
    say(alice, *[f"message {i}" for i in range(30)])
    srv.stop()
    srv = server("--db", db, "--history", "5")  # from the database, not from memory
    srv.wait_log(r"\(5 messages relus, 0 compte, 1 salon avec propriétaire\)$")
    late = connect(srv.port, name="late")
    late.join("late")
    assert [line for _, line in history_of(late, 5)] == [
        f"> alice: message {i}" for i in range(25, 30)]
    late.send_line("/history 10")
    assert [line for _, line in history_of(late, 10)] == [
        f"> alice: message {i}" for i in range(15, 25)]
    late.send_line("/history")  # 50 by default: the 15 left
    assert [line for _, line in history_of(late, 15)] == [
        f"> alice: message {i}" for i in range(15)]
    late.expect_exact("* Rien de plus ancien dans #général.")
    late.send_line("/history")
    late.expect_exact("* Rien de plus ancien dans #général.")


def test_history_pages_the_room_one_is_in(server, chat, connect):
    srv = server(*NO_FLOOD_CONTROL, "--history", "1")
    (alice,) = chat(srv, "alice")
    say(alice, "général 1", "général 2")
    alice.send_line("/join jeux")
    alice.readlines_until("= #jeux")
    say(alice, "jeux 1", "jeux 2")
    bob = connect(srv.port, name="bob")
    bob.join("bob")
    assert [line for _, line in history_of(bob, 1)] == ["> alice: général 2"]
    bob.send_line("/join jeux")
    bob.readlines_until("= #jeux")
    assert [line for _, line in history_of(bob, 1)] == ["> alice: jeux 2"]
    bob.send_line("/history")
    assert [line for _, line in history_of(bob, 1)] == ["> alice: jeux 1"]
    bob.expect_exact("* Rien de plus ancien dans #jeux.")


def test_history_refuses_a_bad_count(chat, server):
    srv = server()
    (alice,) = chat(srv, "alice")
    for bad in ["0", "201", "-1", "dix", "5 6"]:
        alice.send_line(f"/history {bad}")
        alice.expect_exact("! Usage : /history [N], N de 1 à 200 (défaut : 50)")


def test_search_ignores_accents_and_case_and_gives_the_20_most_recent(server, chat, connect):
    srv = server(*NO_FLOOD_CONTROL)
    alice, bob = chat(srv, "alice", "bob")
    say(alice, *[f"Été numéro {i}" for i in range(25)], "rien à voir", "/me fête l'ÉTÉ")
    bob.readlines_until("& alice fête l'ÉTÉ")
    bob.send_line("/search ete")
    assert [line for _, line in history_of(bob, 20)] == [
        f"> alice: Été numéro {i}" for i in range(6, 25)] + ["& alice fête l'ÉTÉ"]
    bob.send_line("/search NUMERO 3")
    assert [line for _, line in history_of(bob, 1)] == ["> alice: Été numéro 3"]
    assert_nothing_more(bob)


def test_search_takes_words_literally_and_says_when_nothing_matches(server, chat):
    srv = server()
    alice, bob = chat(srv, "alice", "bob")
    say(alice, "le chat NOT le chien", 'un "guillemet" ici')
    bob.readlines_until('> alice: un "guillemet" ici')
    bob.send_line("/search NOT")  # a word, not FTS5's operator
    assert [line for _, line in history_of(bob, 1)] == ["> alice: le chat NOT le chien"]
    bob.send_line('/search "guillemet"')
    assert [line for _, line in history_of(bob, 1)] == ['> alice: un "guillemet" ici']
    for query in ["(chat", "chat*", "-chat"]:  # FTS5 syntax, read as the word chat
        bob.send_line(f"/search {query}")
        assert [line for _, line in history_of(bob, 1)] == ["> alice: le chat NOT le chien"]
    for query in ["text:chat", "licorne"]:
        bob.send_line(f"/search {query}")
        bob.expect_exact(f"* Aucun message de #général ne contient « {query} ».")
    bob.send_line("/search")
    bob.expect_exact("! Usage : /search MOTS")
    bob.send_line("/join autre")
    bob.readlines_until("= #autre")
    bob.send_line("/search chat")  # another room's lines are not this room's
    bob.expect_exact("* Aucun message de #autre ne contient « chat ».")


def test_lines_edited_into_the_database_are_checked_when_read_back(server, chat, connect,
                                                                     tmp_path):
    db = tmp_path / "server.db"
    srv = server("--db", db, "--history-days", "0")
    (alice,) = chat(srv, "alice")
    say(alice, "vrai")
    srv.stop()
    sql(db, "INSERT INTO rooms(key, name) VALUES ('pas un salon !', 'pas un salon !');"
            "INSERT INTO lines(id, room, time, kind, who, text) VALUES"
            " (1000, 1, 1, '>', 'mé chant', 'pseudo invalide'),"
            " (1001, 1, 2, '>', 'bob', 'une' || char(10) || '! ligne injectée'),"
            " (1002, 2, 3, '>', 'bob', 'salon invalide'),"
            " (1003, 1, 1764079392, '&', 'bob', 'revient')")
    srv = server("--db", db, "--history-days", "0")
    assert wait_stderr(srv, r"message 1000 : pseudo invalide ; il n'est pas relu") == 1
    assert wait_stderr(srv, r"message 1001 : texte invalide ; il n'est pas relu") == 1
    assert wait_stderr(srv, r"message 1002 : nom de salon invalide ; il n'est pas relu") == 1
    late = connect(srv.port, name="late")
    late.join("late")
    assert [line for _, line in history_of(late, 2)] == ["> alice: vrai", "& bob revient"]
    assert_nothing_more(late)
    say(late, "après")  # the order goes on above the highest id read back
    srv.stop()
    assert sql(db, "SELECT id > 1003 FROM lines WHERE text = 'après'") == ["1"]


def test_rooms_come_back_from_the_database_empty(server, chat, tmp_path):
    db = tmp_path / "server.db"
    srv = server("--db", db)
    (bob,) = chat(srv, "bob")
    bob.send_line("/join jeux")
    bob.readlines_until("= #jeux")
    say(bob, "on joue ?")
    srv.stop()
    srv = server("--db", db)
    (alice,) = chat(srv, "alice")
    alice.send_line("/rooms")
    alice.expect_exact("+ 2 salons :")
    assert sorted([alice.read_line(), alice.read_line()]) == [
        "* #général : 1 personne", "* #jeux : 0 personne"]
    alice.send_line("/join jeux")
    alice.readlines_until("= #jeux")
    assert [line for _, line in history_of(alice, 1)] == ["> bob: on joue ?"]


def test_memory_keeps_nothing_across_a_restart(server, chat, connect):
    srv = server("--db", ":memory:")
    srv.wait_log(r"Base de données : :memory: \(0 messages relus, 0 compte, 1 salon avec propriétaire\)$")
    (alice,) = chat(srv, "alice")
    say(alice, "éphémère")
    srv.stop()
    srv = server("--db", ":memory:")
    late = connect(srv.port, name="late")
    late.join("late")
    assert_nothing_more(late)


def test_the_default_database_is_under_xdg_state_home(server, chat, tmp_path):
    srv = server(env={"XDG_STATE_HOME": str(tmp_path)})
    db = tmp_path / "causerie" / "server.db"
    srv.wait_log(rf"Base de données : {re.escape(str(db))} ")
    (alice,) = chat(srv, "alice")
    say(alice, "gardé")
    srv.stop()
    assert db.stat().st_mode & 0o777 == 0o600
    assert sql(db, "SELECT text FROM lines") == ["gardé"]


def test_an_unusable_database_stops_the_server_with_status_1(tmp_path):
    def start(db):
        return run_server(["--host", "127.0.0.1", "--port", "0", "--no-web", "--db", str(db)])

    p = start(tmp_path)
    assert p.returncode == 1
    assert f"base de données {tmp_path} : " in p.stderr
    junk = tmp_path / "pas-une-base"
    junk.write_bytes(b"bonjour, ceci n'est pas SQLite\n" * 200)
    p = start(junk)
    assert p.returncode == 1
    assert "ce n'est pas une base de données SQLite" in p.stderr, p.stderr
    assert junk.read_bytes() == b"bonjour, ceci n'est pas SQLite\n" * 200
    blocked = tmp_path / "fichier"
    blocked.write_text("")
    p = start(blocked / "server.db")
    assert p.returncode == 1
    assert "un élément du chemin n'est pas un dossier" in p.stderr, p.stderr


def test_a_database_from_a_newer_causerie_is_refused_untouched(tmp_path):
    db = tmp_path / "server.db"
    sql(db, "CREATE TABLE futur(x); PRAGMA user_version = 99")
    before = db.read_bytes()
    p = run_server(["--host", "127.0.0.1", "--port", "0", "--no-web", "--db", str(db)])
    assert p.returncode == 1
    assert "elle vient d'une version plus récente de causerie (schéma 99" in p.stderr, p.stderr
    assert db.read_bytes() == before


def test_a_kill_9_loses_at_most_the_last_batch(server, chat, tmp_path):
    """Heavy chat, then SIGKILL: the database is intact, and holds every line up to some
    point with none missing before it; the lines it lacks are the last few delivered."""
    db = tmp_path / "server.db"
    srv = server("--db", db, *NO_FLOOD_CONTROL)
    alice, bob = chat(srv, "alice", "bob")
    delivered = {}  # n -> when bob read it
    for n in range(3000):
        alice.send_line(f"ligne {n}")
        if n % 100 == 99:
            for line in bob.readlines_until(f"> alice: ligne {n}"):
                delivered[int(line.rsplit(" ", 1)[1])] = time.monotonic()
    os.kill(srv.pid, signal.SIGKILL)
    killed = time.monotonic()
    assert srv.wait_exit() == -signal.SIGKILL
    assert sql(db, "PRAGMA integrity_check") == ["ok"]
    kept = [int(t.split(" ")[1]) for t in sql(db, "SELECT text FROM lines ORDER BY id")]
    assert kept == list(range(len(kept))), "a hole or a reordering in what was kept"
    lost = [n for n in delivered if n >= len(kept)]
    assert all(killed - delivered[n] < 2.0 for n in lost), (len(kept), len(lost))
    srv = server("--db", db)  # and it opens again
    # The room keeps its last 50 in memory, or all of them if fewer were written.
    srv.wait_log(rf"Base de données : {re.escape(str(db))} "
                 rf"\({min(50, len(kept))} messages relus, 0 compte, 1 salon avec propriétaire\)$")


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
