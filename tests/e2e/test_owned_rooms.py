"""Rooms with owners: a room created by a registered person is owned, its founder an
operator of it; /topic, /op, /deop, /kick, /ban, /unban, /invite and /mode, each refused
with a "!" line to whoever may not use it; /who marks operators and /rooms shows topics;
#général is the server's; an owned room, its topic, operators, bans and invite-only flag
survive a restart (docs/PROTOCOL.md, "Rooms with owners"; docs/SECURITY.md)."""

import re

from accounts import SECRET, login, register, sql
from conftest import PSEUDO_PROMPT


def moved(client, room, who, topic=None):
    """The answer to a move into room: its name, its '=' line (or a regex), its topic if it
    has one."""
    client.expect_exact(f"+ Vous êtes maintenant dans #{room}.")
    if isinstance(who, re.Pattern):
        client.expect_line(who)
    else:
        client.expect_exact(who)
    if topic:
        client.expect_exact(f"* Sujet de #{room} : {topic}")


def found(client, room, left=()):
    """client, logged in, creates room: it owns it. Those in left see it leave #général."""
    client.send_line(f"/join {room}")
    client.expect_exact(f"+ Vous avez fondé #{room} : vous en êtes l'opérateur.")
    moved(client, room, f"= #{room} 1 : @{client.pseudo}")
    for c in left:
        c.expect_exact(f"* {client.pseudo} a quitté #général")


def enter(client, room, who, others=(), topic=None, left=()):
    """client moves to room: others are there, those in left in #général."""
    client.send_line(f"/join {room}")
    moved(client, room, who, topic)
    for c in others:
        c.expect_exact(f"* {client.pseudo} a rejoint #{room}")
    for c in left:
        c.expect_exact(f"* {client.pseudo} a quitté #général")


def registered(srv, chat, *pseudos):
    """Clients joined in turn, each registered: logged in to its account."""
    clients = chat(srv, *pseudos)
    for c in clients:
        register(c)
    return clients


def test_a_room_created_by_a_registered_person_is_owned(server, chat):
    srv = server()
    alice, bob = chat(srv, "alice", "bob")
    register(alice)
    found(alice, "jeux", left=(bob,))
    enter(bob, "jeux", "= #jeux 2 : @alice bob", others=(alice,))
    alice.send_line("/who")
    alice.expect_exact("= #jeux 2 : @alice bob")
    # An unregistered person's room is nobody's: it behaves as rooms always did.
    bob.send_line("/join libre")
    moved(bob, "libre", "= #libre 1 : bob")
    bob.send_line("/topic Ici")
    bob.expect_exact("! #libre n'a pas de propriétaire : seul un salon créé par un pseudo "
                     "enregistré a des opérateurs.")
    bob.send_line("/mode +i")
    bob.expect_exact("! #libre n'a pas de propriétaire : seul un salon créé par un pseudo "
                     "enregistré a des opérateurs.")
    srv.wait_log(r"alice a fondé #jeux$")


def test_a_pseudo_cannot_start_with_the_operators_mark(server, connect):
    srv = server()
    c = connect(srv.port, name="at")
    c.expect_exact(PSEUDO_PROMPT)
    c.send_line("@alice")
    c.expect_exact("! Le pseudo ne peut pas commencer par « @ ».")
    c.expect_exact(PSEUDO_PROMPT)


def test_topic_is_set_by_operators_and_read_by_anyone(server, chat):
    srv = server("--max-topic", "20")
    alice, bob, carol = chat(srv, "alice", "bob", "carol")
    register(alice)
    found(alice, "jeux", left=(bob, carol))
    enter(bob, "jeux", "= #jeux 2 : @alice bob", others=(alice,), left=(carol,))
    bob.send_line("/topic")
    bob.expect_exact("* #jeux n'a pas de sujet.")
    bob.send_line("/topic À moi")
    bob.expect_exact("! Réservé aux opérateurs de #jeux.")
    alice.send_line("/topic Belote ce soir")
    alice.expect_exact("+ Sujet de #jeux : Belote ce soir")
    bob.expect_exact("* alice a changé le sujet de #jeux : Belote ce soir")
    alice.send_line("/topic " + "x" * 21)
    alice.expect_exact("! Sujet trop long : 20 octets au plus.")
    bob.send_line("/topic")
    bob.expect_exact("* Sujet de #jeux : Belote ce soir")
    # Shown on entering, after the list of who is there; and in /rooms.
    enter(carol, "jeux", "= #jeux 3 : @alice bob carol", others=(alice, bob),
          topic="Belote ce soir")
    carol.send_line("/rooms")
    carol.expect_exact("+ 2 salons :")
    carol.expect_exact("* #jeux : 3 personnes — Belote ce soir")
    carol.expect_exact("* #général : 0 personne")


def test_operators_are_named_and_removed(server, chat):
    srv = server("--max-room-list", "1")
    alice, bob, carol = chat(srv, "alice", "bob", "carol")
    register(alice)
    found(alice, "jeux", left=(bob, carol))
    enter(bob, "jeux", "= #jeux 2 : @alice bob", others=(alice,), left=(carol,))
    alice.send_line("/op bob")
    alice.expect_exact("! « bob » n'est pas enregistré : seul un pseudo enregistré peut être "
                       "opérateur.")
    register(bob)
    bob.send_line("/op bob")
    bob.expect_exact("! Réservé aux opérateurs de #jeux.")
    alice.send_line("/op BOB")
    alice.expect_exact("+ BOB est maintenant opérateur de #jeux.")
    alice.send_line("/op bob")
    alice.expect_exact("! bob est déjà opérateur de #jeux.")
    bob.send_line("/who")
    bob.expect_exact("= #jeux 2 : @alice @bob")
    register(carol)
    alice.send_line("/op carol")  # one operator besides the founder, at most
    alice.expect_exact("! La liste des opérateurs de #jeux est pleine (--max-room-list).")
    bob.send_line("/topic Par bob")
    bob.expect_exact("+ Sujet de #jeux : Par bob")
    alice.expect_exact("* bob a changé le sujet de #jeux : Par bob")
    bob.send_line("/deop alice")
    bob.expect_exact("! alice a fondé #jeux : il en reste opérateur.")
    alice.send_line("/deop bob")
    alice.expect_exact("+ bob n'est plus opérateur de #jeux.")
    alice.send_line("/deop bob")
    alice.expect_exact("! bob n'est pas opérateur de #jeux.")
    bob.send_line("/topic Encore")
    bob.expect_exact("! Réservé aux opérateurs de #jeux.")
    bob.send_line("/op")
    bob.expect_exact("! Usage : /op PSEUDO")
    srv.wait_log(r"alice nomme BOB opérateur de #jeux$")


def test_kick_sends_back_to_general(server, chat):
    srv = server()
    alice, bob, carol = chat(srv, "alice", "bob", "carol")
    register(alice)
    found(alice, "jeux", left=(bob, carol))
    enter(bob, "jeux", "= #jeux 2 : @alice bob", others=(alice,), left=(carol,))
    bob.send_line("/kick alice")
    bob.expect_exact("! Réservé aux opérateurs de #jeux.")
    alice.send_line("/kick carol")
    alice.expect_exact("! carol n'est pas dans #jeux.")
    alice.send_line("/kick bob trop de bruit")
    for c in (alice, bob):  # bob is told too, as the room's last word to him
        c.expect_exact("* bob a été renvoyé de #jeux par alice (trop de bruit)")
    moved(bob, "général", "= #général 2 : carol bob")
    carol.expect_exact("* bob a rejoint #général")
    # An operator's kick is out of the room, not off the server; #général is the server's.
    bob.send_line("/kick carol")
    bob.expect_exact("! Réservé aux administrateurs du serveur (--admin), connectés avec leur "
                     "mot de passe.")
    bob.send_line("bien reçu")
    carol.expect_exact("> bob: bien reçu")
    srv.wait_log(r"alice renvoie bob de #jeux$")


def test_a_banned_account_is_kept_out(server, chat):
    srv = server()
    alice, bob = chat(srv, "alice", "bob")
    register(alice)
    register(bob)
    found(alice, "jeux", left=(bob,))
    enter(bob, "jeux", "= #jeux 2 : @alice bob", others=(alice,))
    alice.send_line("/ban")
    alice.expect_exact("* Personne n'est banni de #jeux.")
    bob.send_line("/ban")  # the list names addresses: for operators only
    bob.expect_exact("! Réservé aux opérateurs de #jeux.")
    bob.send_line("/ban alice")
    bob.expect_exact("! Réservé aux opérateurs de #jeux.")
    alice.send_line("/ban bob")
    alice.expect_exact("+ bob est banni de #jeux.")
    for c in (alice, bob):
        c.expect_exact("* bob a été renvoyé de #jeux par alice (banni)")
    moved(bob, "général", "= #général 1 : bob")
    bob.send_line("/join JEUX")
    bob.expect_exact("! Vous êtes banni de #jeux.")
    alice.send_line("/ban bob")
    alice.expect_exact("! bob est déjà banni de #jeux.")
    alice.send_line("/ban")
    alice.expect_exact("* Bannis de #jeux :")
    alice.expect_exact("* bob")
    alice.send_line("/unban bob")
    alice.expect_exact("+ bob n'est plus banni de #jeux.")
    alice.send_line("/unban bob")
    alice.expect_exact("! bob n'est pas banni de #jeux.")
    enter(bob, "jeux", "= #jeux 2 : @alice bob", others=(alice,))
    alice.send_line("/op bob")
    alice.expect_exact("+ bob est maintenant opérateur de #jeux.")
    alice.send_line("/ban bob")
    alice.expect_exact("! bob est opérateur de #jeux : retirez-lui d'abord ce rôle (/deop bob).")
    alice.send_line("/ban personne")
    alice.expect_exact("! Pseudo inconnu : personne (un pseudo non enregistré se bannit par son "
                       "adresse, tant qu'il est connecté).")


def test_an_unregistered_pseudo_is_banned_by_its_address(server, chat, connect):
    srv = server()
    (alice,) = chat(srv, "alice")
    register(alice)
    found(alice, "jeux")
    carol = connect(srv.port, name="carol", source="127.0.5.1")
    carol.join("carol")
    enter(carol, "jeux", "= #jeux 2 : @alice carol", others=(alice,))
    frank = connect(srv.port, name="frank", source="127.0.5.1")  # the same address
    frank.join("frank")
    enter(frank, "jeux", "= #jeux 3 : @alice carol frank", others=(alice, carol))
    alice.send_line("/ban carol")
    alice.expect_exact("+ carol est banni de #jeux (son adresse).")
    # Everyone in the room from that address goes, each told with the room.
    sent_out = {"* carol a été renvoyé de #jeux par alice (banni)",
                "* frank a été renvoyé de #jeux par alice (banni)"}
    assert {alice.read_line(), alice.read_line()} == sent_out
    for c in (carol, frank):  # its own, and the other's if it came first
        lines = c.readlines_until("+ Vous êtes maintenant dans #général.")
        assert f"* {c.pseudo} a été renvoyé de #jeux par alice (banni)" in lines, lines
        c.expect_line(re.compile(r"= #général [12] : .*"))
    srv.wait_log(r"alice bannit l'adresse 127\.0\.5\.1 \(carol\) de #jeux$")
    # Another pseudo from the same address is kept out; from another address, welcome.
    dave = connect(srv.port, name="dave", source="127.0.5.1")
    dave.join("dave")
    dave.send_line("/join jeux")
    dave.expect_exact("! Vous êtes banni de #jeux.")
    eve = connect(srv.port, name="eve", source="127.0.5.2")
    eve.join("eve")
    enter(eve, "jeux", "= #jeux 2 : @alice eve", others=(alice,))
    alice.send_line("/ban")
    alice.expect_exact("* Bannis de #jeux :")
    alice.expect_exact("* carol (adresse 127.0.5.1)")


def test_invite_only(server, chat, connect):
    srv = server()
    alice, bob = chat(srv, "alice", "bob")
    register(alice)
    found(alice, "club", left=(bob,))
    bob.send_line("/mode +i")
    bob.expect_exact("! #général est le salon de tout le serveur : /mode n'y sert pas.")
    alice.send_line("/mode")
    alice.expect_exact("* #club est ouvert à tous (-i).")
    alice.send_line("/mode +i")
    alice.expect_exact("+ #club est maintenant sur invitation.")
    alice.send_line("/mode +i")
    alice.expect_exact("! #club est déjà sur invitation.")
    bob.send_line("/join club")
    bob.expect_exact("! #club est sur invitation : demandez à l'un de ses opérateurs (/invite).")
    alice.send_line("/invite bob")
    alice.expect_exact("+ bob est invité dans #club.")
    bob.expect_exact("* alice vous invite dans #club : tapez /join #club")
    alice.send_line("/invite bob")
    alice.expect_exact("! bob est déjà invité dans #club.")
    enter(bob, "club", "= #club 2 : @alice bob", others=(alice,))
    bob.send_line("/part")
    moved(bob, "général", "= #général 1 : bob")
    alice.expect_exact("* bob a quitté #club")
    bob.send_line("/join club")  # the invitation was used up
    bob.expect_exact("! #club est sur invitation : demandez à l'un de ses opérateurs (/invite).")
    # Logging in from elsewhere brings the founder back into her invite-only room.
    again = connect(srv.port, name="alice2")
    login(again, "alice")
    alice.expect_exact("! Vous vous êtes connecté ailleurs.")
    alice.expect_closed()
    again.send_line("/who")
    again.expect_exact("= #club 1 : @alice")
    alice = again
    alice.send_line("/mode -x")
    alice.expect_exact("! Usage : /mode [+i|-i]")
    alice.send_line("/mode -i")
    alice.expect_exact("+ #club est maintenant ouvert à tous.")
    enter(bob, "club", "= #club 2 : @alice bob", others=(alice,))


def test_general_belongs_to_the_server(server, chat, connect):
    srv = server("--admin", "chef")
    chef, bob = chat(srv, "chef", "bob")
    register(chef)
    register(bob)
    bob.send_line("/op chef")
    bob.expect_exact("! #général est le salon de tout le serveur : /op n'y sert pas.")
    bob.send_line("/topic Le mien")
    bob.expect_exact("! Réservé aux opérateurs de #général.")
    chef.send_line("/topic Bienvenue à tous")
    chef.expect_exact("+ Sujet de #général : Bienvenue à tous")
    bob.expect_exact("* chef a changé le sujet de #général : Bienvenue à tous")
    # Whoever arrives reads it after the welcome, even without the events capability.
    carol = connect(srv.port, name="carol")
    carol.join("carol")
    carol.expect_exact("* Sujet de #général : Bienvenue à tous")
    for c in (chef, bob):
        c.expect_exact("* carol a rejoint la discussion")
    # An administrator takes an unowned room in charge for the server by using its commands.
    enter(carol, "libre", "= #libre 1 : carol", left=(chef, bob))
    enter(chef, "libre", "= #libre 2 : carol chef", others=(carol,), left=(bob,))
    chef.send_line("/topic Repris")
    chef.expect_exact("+ Sujet de #libre : Repris")
    chef.send_line("/op carol")
    chef.expect_exact("! « carol » n'est pas enregistré : seul un pseudo enregistré peut être "
                      "opérateur.")


def test_a_founder_founds_a_bounded_number_of_rooms(server, chat):
    srv = server("--max-owned-rooms", "1")
    (alice,) = chat(srv, "alice")
    register(alice)
    found(alice, "un")
    alice.send_line("/join deux")
    alice.expect_exact("* Vous fondez déjà le plus de salons permis : #deux n'a pas de "
                       "propriétaire.")
    moved(alice, "deux", "= #deux 1 : alice")


def test_unregistering_gives_up_the_rooms_founded(server, chat):
    srv = server()
    (alice,) = chat(srv, "alice")
    register(alice)
    found(alice, "jeux")
    alice.send_line(f"/unregister {SECRET}")
    alice.expect_exact("+ Le pseudo « alice » n'est plus enregistré.")
    alice.send_line("/topic Encore à moi ?")
    alice.expect_exact("! #jeux n'a pas de propriétaire : seul un salon créé par un pseudo "
                       "enregistré a des opérateurs.")


def test_a_restart_keeps_owned_rooms_whole(server, chat, connect, tmp_path):
    db = tmp_path / "server.db"
    srv = server("--db", db)
    alice, bob, carol = registered(srv, chat, "alice", "bob", "carol")
    found(alice, "jeux")
    alice.send_line("/topic Belote ce soir")
    alice.expect_exact("+ Sujet de #jeux : Belote ce soir")
    alice.send_line("/op bob")
    alice.expect_exact("+ bob est maintenant opérateur de #jeux.")
    alice.send_line("/ban carol")
    alice.expect_exact("+ carol est banni de #jeux.")
    dave = connect(srv.port, name="dave", source="127.0.6.1")
    dave.join("dave")
    alice.send_line("/ban dave")
    alice.expect_exact("+ dave est banni de #jeux (son adresse).")
    alice.send_line("/mode +i")
    alice.expect_exact("+ #jeux est maintenant sur invitation.")
    srv.stop()
    assert sql(db, "SELECT name, founder, topic, invite_only FROM owned_rooms ORDER BY key") == [
        "général|||0", "jeux|alice|Belote ce soir|1"]
    assert sql(db, "SELECT account FROM room_operators WHERE room = 'jeux'") == ["bob"]
    assert sql(db, "SELECT key, host FROM room_bans WHERE room = 'jeux' ORDER BY key") == [
        "carol|", "dave|127.0.6.1"]

    srv = server("--db", db)
    srv.wait_log(r"\(0 messages relus, 3 comptes, 2 salons avec propriétaire\)$")
    c = connect(srv.port, name="carol")
    login(c, "carol")
    c.send_line("/rooms")  # kept, empty, with its topic
    c.expect_exact("+ 2 salons :")
    c.expect_exact("* #général : 1 personne")
    c.expect_exact("* #jeux : 0 personne — Belote ce soir")
    c.send_line("/join jeux")
    c.expect_exact("! Vous êtes banni de #jeux.")
    d = connect(srv.port, name="dave2", source="127.0.6.1")
    d.join("dave2")
    d.send_line("/join jeux")
    d.expect_exact("! Vous êtes banni de #jeux.")
    b = connect(srv.port, name="bob")
    login(b, "bob")
    # An operator enters an invite-only room without an invitation.
    b.send_line("/join jeux")
    moved(b, "jeux", "= #jeux 1 : @bob", topic="Belote ce soir")
    b.send_line("/mode")
    b.expect_exact("* #jeux est sur invitation (+i).")
    a = connect(srv.port, name="alice")
    login(a, "alice")
    a.send_line("/join jeux")  # no founding again: it was hers all along
    moved(a, "jeux", "= #jeux 2 : @bob @alice", topic="Belote ce soir")
    a.send_line("/ban")
    lines = a.readlines_until(re.compile(r"\* dave.*"))
    assert lines == ["* Bannis de #jeux :", "* carol", "* dave (adresse 127.0.6.1)"]
