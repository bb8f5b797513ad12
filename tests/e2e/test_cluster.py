"""test_cluster.py - several servers, one chat, through real nats-server engines.

Each test starts its own engines (engine.py) and causerie servers joined to them, on free
loopback ports, and stops them by pid. Clients are spread over the servers; what one
server's client says, the others' clients read, once, in one order.
"""

import os
import re
import signal
import socket
import threading

import pytest

from conftest import PSEUDO_PROMPT, TIMEOUT, LineClient, run_server, wait_stderr, wait_until
from engine import cluster_args, engines, free_port  # noqa: F401 (fixture)


def cluster_of(engines, server, n, ttl=None, *extra):
    """n servers joined to one engine, named s0..s(n-1)."""
    (e,) = engines()
    return e, [server(*cluster_args([e], f"s{i}", ttl), *extra) for i in range(n)]


def joined(connect, srv, pseudo):
    c = connect(srv.port, name=pseudo)
    c.join(pseudo)
    return c


def drain_arrivals(clients, names):
    """Reads, on each client, the arrival notice of each of names that is not its own."""
    for c in clients:
        for n in names:
            if n != c.pseudo:
                c.expect_exact(f"* {n} a rejoint la discussion")


@pytest.mark.concurrency
def test_lines_from_every_server_reach_everyone_once_in_one_order(engines, server, connect):
    _, servers = cluster_of(engines, server, 3, None, "--flood-rate", "0")
    senders = [joined(connect, s, f"parle{i}") for i, s in enumerate(servers)]
    watchers = [joined(connect, s, f"écoute{i}") for i, s in enumerate(servers)]
    everyone = senders + watchers
    names = [c.pseudo for c in everyone]
    for i, c in enumerate(everyone):
        for n in names[i + 1:]:
            c.expect_exact(f"* {n} a rejoint la discussion")
    per_sender = 200

    def speak(c):
        for k in range(per_sender):
            c.send_line(f"{c.pseudo} ligne {k}")

    threads = [threading.Thread(target=speak, args=(c,)) for c in senders]
    for t in threads:
        t.start()
    for t in threads:
        t.join(TIMEOUT)
    total = per_sender * len(senders)
    seen = {}
    for w in watchers:
        seen[w.pseudo] = [w.read_line() for _ in range(total)]
    first = seen[watchers[0].pseudo]
    assert len(set(first)) == total, "a line came twice, or another line came instead"
    for c in senders:
        mine = [line for line in first if line.startswith(f"> {c.pseudo}:")]
        assert mine == [f"> {c.pseudo}: {c.pseudo} ligne {k}" for k in range(per_sender)]
    for w in watchers[1:]:
        assert seen[w.pseudo] == first, "two servers showed the room's lines in two orders"
    for c in senders:  # a sender reads the others' lines, in that same order, not its own
        others = [line for line in first if not line.startswith(f"> {c.pseudo}:")]
        assert [c.read_line() for _ in range(len(others))] == others
    for c in everyone:
        assert not c.has_line()


def test_a_pseudo_is_unique_across_the_cluster_whatever_its_case(engines, server, connect):
    _, (s0, s1) = cluster_of(engines, server, 2)
    zoe = joined(connect, s0, "Zoé")
    other = connect(s1.port)
    other.expect_exact(PSEUDO_PROMPT)
    other.send_line("ZOÉ")
    other.expect_exact("! Le pseudo « ZOÉ » est déjà pris.")
    other.expect_exact(PSEUDO_PROMPT)
    zoe.send_line("/quit")
    zoe.expect_closed()

    def retry():
        other.send_line("zoé")
        line = other.read_line()
        if line.startswith("+ Bienvenue, zoé !"):
            return True
        assert line == "! Le pseudo « zoé » est déjà pris.", line
        other.expect_exact(PSEUDO_PROMPT)
        return False

    wait_until(retry, "the pseudo freed on s0 is given on s1")


@pytest.mark.concurrency
def test_racing_claims_on_three_servers_exactly_one_wins(engines, server):
    _, servers = cluster_of(engines, server, 3)
    rounds, per_server = 5, 4
    for r in range(rounds):
        pseudo = f"course{r}"
        clients = [LineClient(s.port) for s in servers for _ in range(per_server)]
        for c in clients:
            c.expect_exact(PSEUDO_PROMPT)
        go = threading.Barrier(len(clients))

        def claim(c):
            go.wait(TIMEOUT)
            c.send_line(pseudo)

        threads = [threading.Thread(target=claim, args=(c,)) for c in clients]
        for t in threads:
            t.start()
        for t in threads:
            t.join(TIMEOUT)
        answers = [c.read_line() for c in clients]
        winners = [a for a in answers if a.startswith(f"+ Bienvenue, {pseudo} !")]
        losers = [a for a in answers if a == f"! Le pseudo « {pseudo} » est déjà pris."]
        assert len(winners) == 1 and len(losers) == len(clients) - 1, answers
        for c in clients:
            c.close()


def test_private_messages_and_renames_cross_servers(engines, server, connect):
    _, (s0, s1) = cluster_of(engines, server, 2)
    alice = joined(connect, s0, "alice")
    bob = joined(connect, s1, "bob")
    alice.expect_exact("* bob a rejoint la discussion")
    alice.send_line("/msg BOB psst, de l'autre serveur")
    alice.expect_exact("+ Message privé pour bob : psst, de l'autre serveur")
    bob.expect_exact("@ alice: psst, de l'autre serveur")
    bob.send_line("/msg alice reçu")
    alice.expect_exact("@ bob: reçu")
    bob.expect_exact("+ Message privé pour alice : reçu")
    alice.send_line("/msg personne allô ?")
    alice.expect_exact("! Pseudo inconnu : personne.")
    bob.send_line("/nick robert")
    bob.expect_exact("+ Vous vous appelez maintenant robert.")
    alice.expect_exact("* bob s'appelle maintenant robert")
    other = connect(s0.port)
    other.expect_exact(PSEUDO_PROMPT)
    other.send_line("Robert")
    other.expect_exact("! Le pseudo « Robert » est déjà pris.")
    other.expect_exact(PSEUDO_PROMPT)
    other.send_line("bob")
    other.expect_line("+ Bienvenue, bob !")


def test_who_and_rooms_list_the_people_of_every_server(engines, server, connect):
    _, (s0, s1) = cluster_of(engines, server, 2)
    alice = joined(connect, s0, "alice")
    bob = joined(connect, s1, "bob")
    alice.expect_exact("* bob a rejoint la discussion")
    carol = joined(connect, s1, "carol")
    alice.expect_exact("* carol a rejoint la discussion")
    bob.expect_exact("* carol a rejoint la discussion")
    carol.send_line("/join #jeux")
    carol.expect_line("+ ")
    alice.expect_exact("* carol a quitté #général")
    bob.expect_exact("* carol a quitté #général")

    def who_says(c, want):
        c.send_line("/who")
        line = c.read_line()
        return line == want or line

    # /who asks the other servers at once: no lag.
    assert who_says(alice, "= #général 2 : alice bob") is True
    assert who_says(bob, "= #général 2 : bob alice") is True
    alice.send_line("/who #jeux")
    alice.expect_exact("= #jeux 1 : carol")

    def rooms_say(c, want):
        c.send_line("/rooms")
        got = [c.read_line()]
        n = re.fullmatch(r"\+ (\d+) salons? :", got[0])
        got += [c.read_line() for _ in range(int(n.group(1)) if n else 0)]
        return got == want or got

    # /rooms counts from the servers' heartbeats, which follow a change within a moment.
    wait_until(lambda: rooms_say(alice, ["+ 2 salons :", "* #général : 2 personnes",
                                         "* #jeux : 1 personne"]) is True,
               "alice's /rooms counts the people of both servers")


def test_the_announce_limit_counts_the_room_on_every_server(engines, server, connect):
    _, (s0, s1) = cluster_of(engines, server, 2, None, "--announce-max", "2", "--flood-rate", "0")
    alice = joined(connect, s0, "alice")
    bob = joined(connect, s1, "bob")
    alice.expect_exact("* bob a rejoint la discussion")

    def rooms_count(c):
        c.send_line("/rooms")
        head = c.read_line()
        n = re.fullmatch(r"\+ (\d+) salons? :", head)
        assert n, head
        body = [c.read_line() for _ in range(int(n[1]))]
        return body == ["* #général : 2 personnes"] or body

    # Once s0 has heard s1's heartbeat, the room holds two: a third person on s0 is the
    # room's third (not s0's second) and is not announced; a leave from 3 is not either.
    wait_until(lambda: rooms_count(alice) is True, "s0 counts bob on s1")
    carol = joined(connect, s0, "carol")
    carol.send_line("/quit")
    carol.expect_closed()
    dave = joined(connect, s1, "dave")  # heard by s1 from s0's heartbeat: two here, three in all
    dave.send_line("/quit")
    dave.expect_closed()
    alice.send_line("fin")
    bob.expect_exact("> alice: fin")
    assert not bob.has_line(), "a join past the limit of the whole room was announced"
    s0.wait_log(r"carol a rejoint la discussion")
    s1.wait_log(r"dave a rejoint la discussion")


class RawEngineClient:
    """A bare NATS client speaking the text protocol: what a hostile node could send."""

    def __init__(self, url):
        host, port = url.rsplit("/", 1)[1].split(":")
        self.sock = socket.create_connection((host, int(port)), TIMEOUT)
        self.f = self.sock.makefile("rb")
        assert self.f.readline().startswith(b"INFO ")
        self.sock.sendall(b'CONNECT {"verbose":false,"pedantic":false}\r\nPING\r\n')
        assert self.f.readline() == b"PONG\r\n"

    def pub(self, subject, data):
        self.sock.sendall(f"PUB {subject} {len(data)}\r\n".encode() + data + b"\r\n")

    def sub(self, subject):
        self.sock.sendall(f"SUB {subject} 1\r\nPING\r\n".encode())
        assert self.f.readline() == b"PONG\r\n"

    def next_msg(self):
        """(reply subject, payload) of the next message; answers the engine's pings."""
        while True:
            line = self.f.readline()
            assert line, "the engine closed the connection"
            if line == b"PING\r\n":
                self.sock.sendall(b"PONG\r\n")
                continue
            words = line.split()
            if words[0] == b"MSG":
                data = self.f.read(int(words[-1]) + 2)[:-2]
                return (words[3].decode() if len(words) == 5 else None), data

    def close(self):
        self.f.close()
        self.sock.close()


def test_names_another_node_gives_follow_the_rules_of_a_clients(engines, server, connect):
    e, (s0, s1) = cluster_of(engines, server, 2, None, "--flood-rate", "0")
    alice = joined(connect, s0, "alice")
    evil = RawEngineClient(e.url)
    try:
        # A heartbeat of a node of its own, naming a room no client could name.
        evil.pub("$KV.CAUSERIE_NODES.intrus", "5 jeux\n7 mé\x01chant\n".encode())

        def rooms(c):
            c.send_line("/rooms")
            n = re.fullmatch(r"\+ (\d+) salons? :", c.read_line())
            assert n
            return [c.read_line() for _ in range(int(n[1]))]

        wait_until(lambda: "* #jeux : 5 personnes" in rooms(alice), "s0 reads the heartbeat")
        assert not any("chant" in line for line in rooms(alice))

        # An answer to /who's question with one name a client could give and one it could not.
        evil.sub("causerie.ask.names")
        alice.send_line("/who")
        reply, question = evil.next_msg()
        assert question.split(b"\n")[:2] == [b"s0", "général".encode()]
        evil.pub(reply, "2\nzoé mau\x07vais".encode())
        line = alice.read_line()
        assert line.startswith("= #général ") and line.endswith(": alice zoé"), line
    finally:
        evil.close()


def test_a_who_waiting_for_a_silent_server_does_not_hold_up_the_others(engines, server, connect):
    e, (s0, s1) = cluster_of(engines, server, 2, None, "--threads", "1", "--flood-rate", "0")
    alice = joined(connect, s0, "alice")
    carol = joined(connect, s0, "carol")
    alice.expect_exact("* carol a rejoint la discussion")
    evil = RawEngineClient(e.url)
    try:
        # A node that beats but never answers: each /who waits for it, 0.5 s at most.
        evil.pub("$KV.CAUSERIE_NODES.muet", b"")
        evil.sub("causerie.ask.names")  # to know when s0 asks it too
        wait_until(lambda: (alice.send_line("/who"), evil.next_msg(), alice.read_line())[2]
                   .startswith("= #général 2 :"), "s0 counts the silent node among its peers")
        alice.send_line("/who")
        evil.next_msg()  # the question is out: s0's one loop would now be waiting for it
        carol.send_line("vite")
        assert alice.read_line() == "> carol: vite", "the loop waited for /who's answers"
        alice.send_line("/who")  # one question in flight a person
        alice.expect_exact("! Une liste est déjà demandée : attendez sa réponse.")
        assert alice.read_line() == "= #général 2 : alice carol"
        alice.send_line("/who")  # answered: a new question may go
        evil.next_msg()
        assert alice.read_line() == "= #général 2 : alice carol"
    finally:
        evil.close()


def test_who_shows_the_operators_of_a_room_on_another_server(engines, server, connect):
    from accounts import register
    _, (s0, s1) = cluster_of(engines, server, 2, None, "--flood-rate", "0")
    alice = joined(connect, s0, "alice")
    bob = joined(connect, s1, "bob")
    alice.expect_exact("* bob a rejoint la discussion")
    register(alice)
    alice.send_line("/join club")
    alice.expect_exact("+ Vous avez fondé #club : vous en êtes l'opérateur.")
    alice.expect_exact("+ Vous êtes maintenant dans #club.")
    alice.expect_exact("= #club 1 : @alice")
    bob.expect_exact("* alice a quitté #général")
    bob.send_line("/join #club")
    bob.expect_exact("+ Vous êtes maintenant dans #club.")
    bob.expect_line("= #club ")
    alice.expect_exact("* bob a rejoint #club")
    bob.send_line("/who")  # s0 answers alice with her operator's mark
    bob.expect_exact("= #club 2 : bob @alice")


def test_the_console_kicks_someone_on_another_server(engines, server, connect):
    import subprocess
    (e,) = engines()
    s0 = server(*cluster_args([e], "s0"), stdin=subprocess.PIPE)
    s1 = server(*cluster_args([e], "s1"))
    alice = joined(connect, s0, "alice")
    bob = joined(connect, s1, "bob")
    alice.expect_exact("* bob a rejoint la discussion")
    s0.proc.stdin.write(b"/kick BOB trop de bruit\n")  # bob's claim is made before his welcome
    s0.proc.stdin.flush()
    s0.wait_log(r"^BOB est expulsé\.$")
    assert bob.expect_closed() == ["! Vous avez été expulsé par l'opérateur (trop de bruit)."]
    alice.expect_exact("* bob a été expulsé (trop de bruit)")
    s1.wait_log(r"bob est déconnecté \(expulsé par l'opérateur : trop de bruit\)$")


def test_a_killed_server_s_people_are_announced_gone_and_their_pseudos_freed(
        engines, server, connect):
    e, (s0, s1) = cluster_of(engines, server, 2, 2)
    alice = joined(connect, s0, "alice")
    bob = joined(connect, s1, "bob")
    alice.expect_exact("* bob a rejoint la discussion")
    os.kill(s1.pid, signal.SIGKILL)
    s1.wait_exit()
    s1._stopped = True  # killed on purpose: the fixture has nothing to stop
    bob.close()
    # Within the TTL (2 s) and a heartbeat period, with the test's own margin.
    alice.expect_exact("* bob est déconnecté (son serveur ne répond plus)", timeout=2 + 5)
    again = joined(connect, s0, "bob")
    alice.expect_exact("* bob a rejoint la discussion")
    again.send_line("me revoilà")
    alice.expect_exact("> bob: me revoilà")


def test_a_server_killed_and_restarted_under_its_name_is_heard_at_once(engines, server, connect):
    # Within the engine's duplicate window (30 s): the new life's events must not be taken
    # for the former life's, which carried the same name.
    e, (s0, s1) = cluster_of(engines, server, 2)
    alice = joined(connect, s0, "alice")
    bob = joined(connect, s1, "bob")
    alice.expect_exact("* bob a rejoint la discussion")
    bob.send_line("première vie")
    alice.expect_exact("> bob: première vie")
    os.kill(s1.pid, signal.SIGKILL)
    s1.wait_exit()
    s1._stopped = True
    bob.close()
    again = server(*cluster_args([e], "s1"))
    # Its start reaps what its former life left: bob leaves, and may come back at once.
    alice.expect_exact("* bob est déconnecté (son serveur ne répond plus)")
    bob = joined(connect, again, "bob")
    alice.expect_exact("* bob a rejoint la discussion")
    bob.send_line("seconde vie")
    alice.expect_exact("> bob: seconde vie")


def test_a_stopped_server_s_people_are_announced_to_the_others(engines, server, connect):
    _, (s0, s1) = cluster_of(engines, server, 2)
    alice = joined(connect, s0, "alice")
    joined(connect, s1, "bob")
    alice.expect_exact("* bob a rejoint la discussion")
    s1.stop()
    alice.expect_exact("* bob est déconnecté (arrêt de son serveur)")


def cut_engine(e, *clients):
    """Kills the engine e; each of clients is told its server lost the link."""
    e.kill()
    for c in clients:
        c.expect_exact("! Liaison perdue avec le reste de la discussion : vos messages attendent.")


def test_the_engine_restarted_lines_wait_and_arrive_once_in_order(engines, server, connect):
    e, (s0, s1) = cluster_of(engines, server, 2, None, "--flood-rate", "0")
    alice = joined(connect, s0, "alice")
    bob = joined(connect, s1, "bob")
    alice.expect_exact("* bob a rejoint la discussion")
    cut_engine(e, alice, bob)
    for k in range(20):
        alice.send_line(f"pendant la coupure {k}")
    e.restart()
    lines = [bob.read_line(timeout=TIMEOUT * 3) for _ in range(21)]
    assert lines[0] == "* Liaison rétablie avec le reste de la discussion.", lines
    assert lines[1:] == [f"> alice: pendant la coupure {k}" for k in range(20)]
    bob.send_line("bien reçu")
    alice.expect_exact("* Liaison rétablie avec le reste de la discussion.", timeout=TIMEOUT * 3)
    alice.expect_exact("> bob: bien reçu")
    assert not bob.has_line()


@pytest.mark.parametrize("victim", [0, 1, 2], ids=["senders-engine", "idle-engine", "readers-engine"])
def test_one_engine_of_three_killed_and_restarted_loses_nothing(engines, server, connect, victim):
    group = engines(3)
    s0 = server(*cluster_args(group, "s0"), "--flood-rate", "0")
    s1 = server(*cluster_args(group[::-1], "s1"), "--flood-rate", "0")
    alice = joined(connect, s0, "alice")
    bob = joined(connect, s1, "bob")
    alice.expect_exact("* bob a rejoint la discussion")
    for k in range(10):
        alice.send_line(f"avant {k}")
    assert [bob.read_line() for _ in range(10)] == [f"> alice: avant {k}" for k in range(10)]
    group[victim].kill()
    for k in range(10):
        alice.send_line(f"pendant {k}")
    group[victim].restart()
    for k in range(10):
        alice.send_line(f"après {k}")
    got = []
    while len(got) < 20:
        # The reader's server finds its engine gone by missed heartbeats (nats.c's ordered
        # consumer: 5 s each), then makes its consumer again on another engine.
        try:
            line = bob.read_line(timeout=TIMEOUT * 6)
        except AssertionError as e:
            raise AssertionError(f"{e}; got {got}\ns0: {s0.stderr[-1500:]}\ns1: {s1.stderr[-1500:]}"
                                 f"\nengine: {''.join(group[victim].output[-10:])}") from None
        if not line.startswith(("! Liaison", "* Liaison")):
            got.append(line)
    sent = [f"> alice: pendant {k}" for k in range(10)] + [f"> alice: après {k}" for k in range(10)]
    # Nothing lost, nothing twice. The order is not asserted here: a line refused while the
    # stream elects a new leader is sent again, and may then come after a later one (see
    # docs/ARCHITECTURE.md, "Failures"); every server still shows the stream's one order.
    assert sorted(got) == sorted(sent), got
    while bob.has_line():  # what may follow: the link's notices, never a line again
        line = bob.read_line()
        assert line.startswith(("! Liaison", "* Liaison")), line


def test_engine_unreachable_at_start_is_an_error(engines):
    r = run_server(["--port", "0", "--no-web", "--cluster", f"nats://127.0.0.1:{free_port()}"])
    assert r.returncode == 1
    assert "grappe : moteur injoignable à nats://127.0.0.1:" in r.stderr


def test_engine_without_jetstream_is_an_error(engines):
    (e,) = engines(jetstream=False)
    r = run_server(["--port", "0", "--no-web", "--cluster", e.url])
    assert r.returncode == 1
    assert re.search(r"grappe : .*JetStream", r.stderr), r.stderr


def test_refused_credentials_are_an_error(engines):
    (e,) = engines(extra=["--user", "causerie", "--pass", "secret"])
    bad = e.url.replace("nats://", "nats://causerie:faux@")
    r = run_server(["--port", "0", "--no-web", "--cluster", bad])
    assert r.returncode == 1
    assert "identifiants refusés" in r.stderr, r.stderr


def test_cluster_options_are_checked():
    for args, want in [
        (["--node", "a"], "--node demande aussi --cluster"),
        (["--cluster-creds", "x.creds"], "--cluster-creds demande aussi --cluster"),
        (["--cluster", "http://x:1"], "valeur invalide pour --cluster"),
        (["--cluster", "nats://a:1,"], "valeur invalide pour --cluster"),
        (["--cluster", "nats://a:1", "--node", "a b"], "valeur invalide pour --node"),
        (["--cluster", "nats://a:1", "--node-ttl", "0"], "valeur invalide pour --node-ttl"),
    ]:
        r = run_server(["--port", "0", *args])
        assert r.returncode == 2 and want in r.stderr, (args, r.stderr)


def test_run_cluster_starts_three_servers_that_share_the_chat_and_stops_on_ctrl_c(tmp_path):
    from conftest import ROOT, SERVER_BIN
    import subprocess
    # The script takes three consecutive ports from each base (the servers every other one):
    # bases whose runs are all free now, from a range of their own.
    import random
    import socket

    def free_run(base, n, step=1):
        for p in range(base, base + n * step, step):
            with socket.socket() as s:
                try:
                    s.bind(("127.0.0.1", p))
                except OSError:
                    return False
        return True

    bases = []
    while len(bases) < 3:
        b = random.randrange(20000, 30000)
        if free_run(b, 5) and all(abs(b - o) > 10 for o in bases):
            bases.append(b)
    nats_port, route_port, base = bases
    env = dict(os.environ, NATS_PORT=str(nats_port), ROUTE_PORT=str(route_port), PORT=str(base),
               WEB_PORT="0", TMPDIR=str(tmp_path))
    script = subprocess.Popen([str(ROOT / "scripts/cluster.sh"), str(SERVER_BIN)], env=env,
                              stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, start_new_session=True)
    try:
        def up(port):
            try:
                c = LineClient(port)
                c.expect_exact(PSEUDO_PROMPT)
                return c
            except (OSError, AssertionError):
                return None
        # Three engines elect their leader, then the servers make the stream: seconds.
        a = wait_until(lambda: up(base), "the first server answers", TIMEOUT * 8)
        b = wait_until(lambda: up(base + 4), "the third server answers", TIMEOUT * 8)
        a.send_line("alice")
        a.expect_line("+ Bienvenue, alice !")
        b.send_line("bob")
        b.expect_line("+ Bienvenue, bob !")
        a.expect_exact("* bob a rejoint la discussion")
        b.send_line("bonjour")
        a.expect_exact("> bob: bonjour")
        a.close()
        b.close()
    finally:
        os.kill(script.pid, signal.SIGINT)
        out = script.communicate(timeout=TIMEOUT * 4)[0].decode("utf-8", "replace")
    assert script.returncode == 130, out
    assert "grappe prête" in out and "arrêt de la grappe" in out, out
    assert list(tmp_path.iterdir()) == [], "the cluster's directory is left behind"
