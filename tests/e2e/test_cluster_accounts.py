"""test_cluster_accounts.py - accounts and owned rooms shared by the servers of a cluster.

Real nats-server engines (engine.py) and causerie servers joined to them: an account
registered, changed or given up on one server is so on the others; an owned room's
founder, topic, operators, bans and invite-only flag are the same whichever server one
enters it through; a server that ran alone brings its accounts and rooms into the cluster;
values another node writes into the buckets are checked (docs/ARCHITECTURE.md, "The
cluster", shared tables).
"""

import binascii
import re
import threading

import pytest

from accounts import SECRET, login, register, sql
from conftest import PSEUDO_PROMPT, TIMEOUT, stderr_count, wait_until
from engine import cluster_args, engines  # noqa: F401 (fixture)
from test_cluster import RawEngineClient, cluster_of, cut_engine, joined
from test_owned_rooms import enter, found, moved

# The tests ask again until a change has crossed: no flood control to refuse them.
QUICK = ("--flood-rate", "0")


def asks_password(connect, srv, pseudo):
    """How srv answers pseudo at the prompt: True, with a password question; False, with a
    welcome; None, refused as taken (the previous probe's claim, whose release has not yet
    crossed). The client is closed in every case."""
    c = connect(srv.port, name=f"sonde-{pseudo}")
    c.expect_exact(PSEUDO_PROMPT)
    c.send_line(pseudo)
    line = c.read_line()
    c.close()
    if line == f"! Le pseudo « {pseudo} » est déjà pris.":
        return None
    assert line.startswith(f"% Mot de passe pour « {pseudo} »") or line.startswith(
        f"+ Bienvenue, {pseudo} !"), line
    return line.startswith("%")


def test_an_account_is_the_same_on_every_server(engines, server, connect):
    _, (s0, s1) = cluster_of(engines, server, 2, None, *QUICK)
    alice = joined(connect, s0, "alice")
    register(alice)
    alice.send_line("/quit")
    alice.expect_closed()
    wait_until(lambda: asks_password(connect, s1, "Alice") is True, "s1 knows alice's account")

    # Logged in on s1 with the password set on s0; a new password, set on s1, holds on s0.
    again = connect(s1.port, name="alice-s1")
    login(again, "alice")
    again.send_line(f"/password {SECRET} nouveausecret")
    again.expect_exact("+ Mot de passe changé.")
    again.send_line("/quit")
    again.expect_closed()

    def new_password_on_s0():
        c = connect(s0.port, name="alice-s0")
        c.expect_exact(PSEUDO_PROMPT)
        c.send_line("alice")
        c.expect_exact("% Mot de passe pour « alice » :")
        c.send_line("nouveausecret")
        line = c.read_line()
        if line.startswith("+ Bienvenue, alice !"):
            c.send_line("/unregister nouveausecret")  # given up on s0: free on s1
            c.expect_exact("+ Le pseudo « alice » n'est plus enregistré.")
            c.send_line("/quit")
            c.expect_closed()
            return True
        assert line == "! Mot de passe incorrect.", line
        c.close()
        return False

    wait_until(new_password_on_s0, "s0 takes the password changed on s1")
    wait_until(lambda: asks_password(connect, s1, "alice") is False, "s1 forgets the account")


def test_accounts_cross_servers_across_a_restart_of_the_engine(engines, server, connect):
    """A registration made while the engine is away is shared once it is back, and the
    other server's watch resumes by itself: later registrations cross as before."""
    e, (s0, s1) = cluster_of(engines, server, 2, None, *QUICK)
    alice = joined(connect, s0, "alice")
    bob = joined(connect, s1, "bob")
    alice.expect_exact("* bob a rejoint la discussion")
    cut_engine(e, alice, bob)
    register(alice)  # kept here at once, shared when the engine is back
    e.restart()
    for c in (alice, bob):
        c.expect_exact("* Liaison rétablie avec le reste de la discussion.", timeout=TIMEOUT * 3)
    register(bob)
    for c in (alice, bob):  # a pseudo in use is refused as taken before any password
        c.send_line("/quit")
        c.expect_closed()
    wait_until(lambda: asks_password(connect, s0, "bob") is True, "s0 learns bob's account")
    wait_until(lambda: asks_password(connect, s1, "alice") is True,
               "s1 learns the account registered while the engine was away")


def alice_founds_a_room(engines, server, connect, tmp_path):
    """Two servers, each with a database file; alice on s0, bob and carol on s1, alice and
    bob registered; alice founds #jeux, where she is alone."""
    (e,) = engines()
    dbs = (tmp_path / "s0.db", tmp_path / "s1.db")
    s0, s1 = (server(*cluster_args([e], f"s{i}"), "--db", str(db), *QUICK)
              for i, db in enumerate(dbs))
    alice = joined(connect, s0, "alice")
    bob = joined(connect, s1, "bob")
    carol = joined(connect, s1, "carol")
    alice.expect_exact("* bob a rejoint la discussion")
    alice.expect_exact("* carol a rejoint la discussion")
    bob.expect_exact("* carol a rejoint la discussion")
    register(alice)
    register(bob)
    found(alice, "jeux", left=(bob, carol))
    return s0, s1, dbs, (alice, bob, carol)


def alice_makes_bob_an_operator(alice):
    """alice, in #jeux, names bob (registered on another server) its operator, again until
    her server has heard of his account."""
    def once():
        alice.send_line("/op bob")
        line = alice.read_line()
        assert line.startswith(("+ bob est maintenant", "! « bob » n'est pas enregistré")), line
        return line.startswith("+")

    wait_until(once, "alice's server knows bob's account")


def test_an_owned_room_is_the_same_on_every_server(engines, server, connect, tmp_path):
    s0, s1, (_, db1), (alice, bob, carol) = alice_founds_a_room(engines, server, connect,
                                                                tmp_path)
    alice.send_line("/topic Belote ce soir")
    alice.expect_exact("+ Sujet de #jeux : Belote ce soir")

    # bob's account, registered on s1, is known on s0: alice names him operator there.
    alice_makes_bob_an_operator(alice)
    # s1 has the room as s0 made it (its copy in its database says so) ...
    wait_until(lambda: sql(db1, "SELECT topic FROM owned_rooms WHERE key = 'jeux'")
               == ["Belote ce soir"] and sql(db1, "SELECT account FROM room_operators "
                                                  "WHERE room = 'jeux'") == ["bob"],
               "s1 keeps the room as s0 changed it")
    # ... and shows it so: its founder and topic on entering; bob may change the topic.
    # (On entering, the '=' line names this server's people only, and counts the others'
    # from their servers' heartbeats, which may lag by a quarter of a second.)
    enter(bob, "jeux", re.compile(r"= #jeux [12] : @bob"), others=(alice,),
          topic="Belote ce soir", left=(carol,))
    bob.send_line("/who")
    bob.expect_exact("= #jeux 2 : @bob @alice")  # its own server's people first
    bob.send_line("/topic Tarot plutôt")
    bob.expect_exact("+ Sujet de #jeux : Tarot plutôt")
    alice.expect_exact("* bob a changé le sujet de #jeux : Tarot plutôt")

    # Invite-only, set on s1 by bob: dave, on s0, and carol, on s1, are kept out.
    bob.send_line("/mode +i")
    bob.expect_exact("+ #jeux est maintenant sur invitation.")
    dave = joined(connect, s0, "dave")
    carol.expect_exact("* dave a rejoint la discussion")
    refused = "! #jeux est sur invitation : demandez à l'un de ses opérateurs (/invite)."

    def kept_out():
        alice.send_line("/mode")
        line = alice.read_line()
        assert line in ("* #jeux est sur invitation (+i).", "* #jeux est ouvert à tous (-i)."), line
        return line.endswith("(+i).")

    wait_until(kept_out, "s0 holds the room invite-only as s1 set it")
    dave.send_line("/join jeux")
    dave.expect_exact(refused)
    carol.send_line("/join jeux")
    carol.expect_exact(refused)


def test_a_rooms_operator_sends_out_and_bans_people_of_other_servers(engines, server, connect,
                                                                      tmp_path):
    s0, s1, (_, db1), (alice, bob, carol) = alice_founds_a_room(engines, server, connect,
                                                                tmp_path)
    wait_until(lambda: sql(db1, "SELECT founder FROM owned_rooms WHERE key = 'jeux'") == ["alice"],
               "s1 knows #jeux is alice's")

    def bob_enters():
        enter(bob, "jeux", re.compile(r"= #jeux [12] : bob"), others=(alice,), left=(carol,))

    def kick_or_ban(command, answer=None):
        """alice's command, again until s0 sees bob in #jeux (his move's claim crosses)."""
        def once():
            alice.send_line(command)
            line = alice.read_line()
            if line == "! bob n'est pas dans #jeux.":
                return False
            assert line == (answer or "* bob a été renvoyé de #jeux par alice (trop de bruit)"), line
            return True
        wait_until(once, f"s0 finds bob in #jeux for {command!r}")

    BACK_IN_GENERAL = re.compile(r"= #général [23] : carol bob")
    bob_enters()
    alice.send_line("/kick carol")  # on s1, in #général
    alice.expect_exact("! carol n'est pas dans #jeux.")
    kick_or_ban("/kick bob trop de bruit")
    bob.expect_exact("* bob a été renvoyé de #jeux par alice (trop de bruit)")
    moved(bob, "général", BACK_IN_GENERAL)  # counts from heartbeats: may lag
    carol.expect_exact("* bob a rejoint #général")

    bob_enters()
    kick_or_ban("/ban bob", "+ bob est banni de #jeux.")
    for c in (alice, bob):
        c.expect_exact("* bob a été renvoyé de #jeux par alice (banni)")
    moved(bob, "général", BACK_IN_GENERAL)  # counts from heartbeats: may lag
    carol.expect_exact("* bob a rejoint #général")
    bob.send_line("/join jeux")  # the ban, set on s0, holds on s1
    bob.expect_exact("! Vous êtes banni de #jeux.")
    s0.wait_log(r"alice renvoie bob de #jeux$")


@pytest.mark.concurrency
def test_changes_to_one_room_at_once_on_two_servers_end_the_same_everywhere(engines, server,
                                                                            connect, tmp_path):
    """A key's last value in the bucket wins on every server, whichever server applied its
    own change first: topics set at the same instant through two servers, round after
    round, settle to one topic, the same on both and in both servers' databases."""
    _, _, dbs, (alice, bob, _) = alice_founds_a_room(engines, server, connect, tmp_path)
    alice_makes_bob_an_operator(alice)
    wait_until(lambda: sql(dbs[1], "SELECT account FROM room_operators") == ["bob"],
               "s1 knows bob is an operator of #jeux")
    enter(bob, "jeux", re.compile(r"= #jeux [12] : @bob"), others=(alice,))
    rounds = 60

    def topic(c):
        c.send_line("/topic")
        lines = c.readlines_until(re.compile(r"\* (Sujet de #jeux : .*|#jeux n'a pas de sujet\.)"))
        return lines[-1]

    for k in range(rounds):
        go = threading.Barrier(2)

        def set_topic(c, text):
            go.wait(TIMEOUT)
            c.send_line(f"/topic {text}")

        threads = [threading.Thread(target=set_topic, args=(alice, f"alice {k}")),
                   threading.Thread(target=set_topic, args=(bob, f"bob {k}"))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(TIMEOUT)
        alice.readlines_until(f"+ Sujet de #jeux : alice {k}")
        bob.readlines_until(f"+ Sujet de #jeux : bob {k}")
        agreed = wait_until(lambda: (lambda a, b: a == b and a)(topic(alice), topic(bob)),
                            f"round {k}: both servers show one topic")
        assert agreed in (f"* Sujet de #jeux : alice {k}", f"* Sujet de #jeux : bob {k}")
        wait_until(lambda: sql(dbs[0], "SELECT topic FROM owned_rooms WHERE key = 'jeux'")
                   == sql(dbs[1], "SELECT topic FROM owned_rooms WHERE key = 'jeux'")
                   == [agreed.split(" : ", 1)[1]], f"round {k}: both databases keep it")


def test_a_server_alone_brings_its_accounts_and_rooms_into_the_cluster(engines, server, chat,
                                                                      connect, tmp_path):
    db0, db1 = tmp_path / "s0.db", tmp_path / "s1.db"
    alone = server("--db", str(db0))
    (alice,) = chat(alone, "alice")
    register(alice)
    found(alice, "jeux")
    alice.send_line("/topic D'avant la grappe")
    alice.expect_exact("+ Sujet de #jeux : D'avant la grappe")
    alice.close()
    alone.stop()

    (e,) = engines()
    s0 = server(*cluster_args([e], "s0"), "--db", str(db0))
    s0.wait_log(r"grappe : 1 compte\(s\) de la base locale ajouté\(s\) à la grappe")
    s1 = server(*cluster_args([e], "s1"), "--db", str(db1))
    assert asks_password(connect, s1, "alice") is True
    again = connect(s1.port, name="alice-s1")
    login(again, "alice")
    again.send_line("/join jeux")
    moved(again, "jeux", "= #jeux 1 : @alice", topic="D'avant la grappe")
    again.close()
    # s1 keeps a copy of what the cluster holds in its own database.
    s1.stop()
    assert sql(db1, "SELECT name FROM accounts") == ["alice"]
    assert sql(db1, "SELECT topic FROM owned_rooms WHERE key = 'jeux'") == ["D'avant la grappe"]


def test_values_another_node_writes_are_checked(engines, server, connect):
    e, (s0,) = cluster_of(engines, server, 1, None, *QUICK)
    evil = RawEngineClient(e.url)

    def key(name):
        return binascii.hexlify(name.encode()).decode()

    hash_ = "$argon2id$v=19$m=65536,t=2,p=1$c2VsZGVtZXI$aGFzaA"
    try:
        # Garbage; a pseudo no client could take; a key that is not the value's; a version
        # this server does not know; and last, one good account.
        evil.pub(f"$KV.CAUSERIE_ACCOUNTS.{key('x')}", b"\x00\xff")
        evil.pub(f"$KV.CAUSERIE_ACCOUNTS.{key('/m')}",
                 f"causerie 1\nA\n/m\n/m\n{hash_}\n0\n".encode())
        evil.pub(f"$KV.CAUSERIE_ACCOUNTS.{key('zoe')}",
                 f"causerie 1\nA\nmallory\nmallory\n{hash_}\n0\n".encode())
        evil.pub(f"$KV.CAUSERIE_ACCOUNTS.{key('yves')}",
                 f"causerie 9\nA\nyves\nyves\n{hash_}\n0\n".encode())
        evil.pub(f"$KV.CAUSERIE_ROOMS.{key('jeux')}",
                 b"causerie 1\nR\njeux\njeux\n\n\n0\n0\n99\n")
        evil.pub(f"$KV.CAUSERIE_ACCOUNTS.{key('bonne')}",
                 f"causerie 1\nA\nbonne\nbonne\n{hash_}\n0\n".encode())
        wait_until(lambda: asks_password(connect, s0, "bonne") is True,
                   "the good account is taken")
        for pseudo in ("zoe", "mallory", "yves"):
            assert asks_password(connect, s0, pseudo) is False
        for warning, n in (("des comptes : une valeur illisible", 1),
                           ("des comptes : une valeur invalide", 2),
                           ("des comptes : une valeur d'une version inconnue", 1),
                           ("des salons : une valeur invalide", 1)):
            assert stderr_count(s0, f"grappe : seau {warning} est ignorée") == n
        c = joined(connect, s0, "carl")
        c.send_line("/join jeux")  # not owned: the bad value was not taken
        moved(c, "jeux", "= #jeux 1 : carl")
    finally:
        evil.close()
