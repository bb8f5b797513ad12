"""Chat commands: /help, /nick, /msg, /me, /who, /quit REASON, and their usage refusals
(docs/PROTOCOL.md, "Commands"). Rooms have their own suite (test_rooms.py)."""

import re

import pytest

from conftest import NO_CLIENT_LIMITS, PSEUDO_PROMPT, TIMEOUT

HELP_COMMANDS = ["/help", "/nick PSEUDO", "/msg PSEUDO TEXTE", "/me TEXTE", "/who [SALON]",
                 "/join SALON", "/part", "/rooms", "/history [N]", "/search MOTS",
                 "/register MOTDEPASSE", "/password ANCIEN NOUVEAU", "/unregister MOTDEPASSE",
                 "/topic [TEXTE]", "/op PSEUDO", "/deop PSEUDO", "/kick PSEUDO [RAISON]",
                 "/ban [PSEUDO]", "/unban PSEUDO", "/invite PSEUDO", "/mode [+i|-i]",
                 "/say TEXTE", "/quit [RAISON]"]


def test_help_lists_every_command_with_a_line_of_french(server, chat):
    srv = server()
    (alice,) = chat(srv, "alice")
    alice.send_line("/help")
    alice.expect_exact("+ Commandes disponibles :")
    lines = alice.readlines_until("* //texte")
    assert [line.split(" : ")[0] for line in lines[:-1]] == [f"* {c}" for c in HELP_COMMANDS]
    for line in lines:
        assert re.fullmatch(r"\* \S.* : \S.*", line), line
    assert lines[-1] == "* //texte : envoie « /texte » comme un message"


# ---------------------------------------------------------------- /nick


def test_nick_renames_and_tells_everyone_in_every_room(server, chat):
    srv = server()
    alice, bob, carol = chat(srv, "alice", "bob", "carol")
    carol.send_line("/join jeux")
    carol.expect_exact("+ Vous êtes maintenant dans #jeux.")
    carol.expect_exact("= #jeux 1 : carol")
    for c in (alice, bob):
        c.expect_exact("* carol a quitté #général")
    alice.send_line("/nick Alicia")
    alice.expect_exact("+ Vous vous appelez maintenant Alicia.")
    for c in (bob, carol):
        c.expect_exact("* alice s'appelle maintenant Alicia")
    alice.send_line("me revoilà")
    bob.expect_exact("> Alicia: me revoilà")
    srv.wait_log(r"alice s'appelle maintenant Alicia$")


def test_nick_frees_the_old_pseudo_and_takes_the_new(alice_bob, connect):
    srv, alice, bob = alice_bob()
    alice.send_line("/nick zoé")
    alice.expect_exact("+ Vous vous appelez maintenant zoé.")
    bob.expect_exact("* alice s'appelle maintenant zoé")
    newcomer = connect(srv.port, name="newcomer")
    newcomer.expect_exact(PSEUDO_PROMPT)
    newcomer.send_line("ZOÉ")
    newcomer.expect_exact("! Le pseudo « ZOÉ » est déjà pris.")
    newcomer.expect_exact(PSEUDO_PROMPT)
    newcomer.send_line("Alice")
    newcomer.expect_line("+ Bienvenue, Alice ! 3 personnes connectées.")


def test_nick_may_change_only_the_case(alice_bob):
    srv, alice, bob = alice_bob()
    alice.send_line("/nick ALICE")
    alice.expect_exact("+ Vous vous appelez maintenant ALICE.")
    bob.expect_exact("* alice s'appelle maintenant ALICE")
    alice.send_line("/nick ALICE")
    alice.expect_exact("! Vous vous appelez déjà ALICE.")


def test_nick_refuses_a_pseudo_in_use(alice_bob):
    srv, alice, bob = alice_bob()
    alice.send_line("/nick BOB")
    alice.expect_exact("! Le pseudo « BOB » est déjà pris.")
    alice.send_line("toujours alice")
    bob.expect_exact("> alice: toujours alice")


@pytest.mark.parametrize(
    "nick, refusal",
    [
        ("/x", "! Le pseudo ne peut pas commencer par « / »."),
        ("a" * 33, "! Le pseudo ne doit pas dépasser 32 caractères."),
        ("ali\u200bce", "! Le pseudo ne doit pas contenir de caractère invisible."),
        ("ali\u00a0ce", "! Le pseudo ne doit pas contenir d'espace."),
    ],
)
def test_nick_follows_the_handshake_rules_without_a_prompt(alice_bob, nick, refusal):
    srv, alice, bob = alice_bob()
    alice.send_line(f"/nick {nick}")
    alice.expect_exact(refusal)
    alice.send_line("/who")  # the next line proves nothing else came (no prompt)
    alice.expect_exact("= #général 2 : alice bob")


@pytest.mark.parametrize("line, usage", [("/nick", "/nick PSEUDO"), ("/nick a b", "/nick PSEUDO"),
                                         ("/msg bob", "/msg PSEUDO TEXTE"),
                                         ("/msg", "/msg PSEUDO TEXTE"), ("/me", "/me TEXTE"),
                                         ("/me   ", "/me TEXTE"), ("/who a b", "/who [SALON]"),
                                         ("/join", "/join SALON"), ("/join a b", "/join SALON"),
                                         ("/part x", "/part"), ("/rooms x", "/rooms")])
def test_a_command_given_the_wrong_words_answers_its_usage(alice_bob, line, usage):
    srv, alice, bob = alice_bob()
    alice.send_line(line)
    alice.expect_exact(f"! Usage : {usage}")
    alice.send_line("ensuite")
    bob.expect_exact("> alice: ensuite")  # nothing else reached bob before it


# ---------------------------------------------------------------- /msg


def test_msg_reaches_only_its_target_in_any_room(server, chat):
    srv = server()
    alice, bob, carol = chat(srv, "alice", "bob", "carol")
    bob.send_line("/join jeux")
    bob.readlines_until("= #jeux")
    for c in (alice, carol):
        c.expect_exact("* bob a quitté #général")
    alice.send_line("/msg BoB on mange  ensemble ?")
    alice.expect_exact("+ Message privé pour bob : on mange  ensemble ?")
    bob.expect_exact("@ alice: on mange  ensemble ?")
    alice.send_line("public")
    carol.expect_exact("> alice: public")  # carol got nothing before it


def test_msg_to_nobody_says_pseudo_inconnu(server, chat):
    srv = server()
    (alice,) = chat(srv, "alice")
    alice.send_line("/msg zoe coucou")
    alice.expect_exact("! Pseudo inconnu : zoe.")
    alice.send_line("/msg a\u200bb coucou")
    alice.expect_exact("! Pseudo inconnu : a\u200bb.")


def test_msg_text_is_sanitised(alice_bob):
    srv, alice, bob = alice_bob()
    alice.send_line("/msg bob \x1b[2Jpsst\x07")
    alice.expect_exact("+ Message privé pour bob : [2Jpsst")
    bob.expect_exact("@ alice: [2Jpsst")


def test_msg_is_not_kept_in_history(alice_bob, connect):
    srv, alice, bob = alice_bob()
    alice.send_line("/msg bob secret")
    bob.expect_exact("@ alice: secret")
    alice.send_line("public")
    bob.expect_exact("> alice: public")
    late = connect(srv.port, name="late")
    late.join("late")
    late.expect_line(re.compile(r"~ \S+ > alice: public"))
    late.send_line("/who")
    late.expect_exact("= #général 3 : alice bob late")  # no other history line came first


# ---------------------------------------------------------------- /me


def test_me_is_an_action_for_the_room(server, chat):
    srv = server()
    alice, bob, carol = chat(srv, "alice", "bob", "carol")
    carol.send_line("/join jeux")
    carol.readlines_until("= #jeux")
    for c in (alice, bob):
        c.expect_exact("* carol a quitté #général")
    alice.send_line("/me range  son bureau")
    bob.expect_exact("& alice range  son bureau")
    carol.send_line("/who")
    carol.expect_exact("= #jeux 1 : carol")  # the action did not reach carol's room


# ---------------------------------------------------------------- /who


def test_who_lists_the_room(server, chat):
    srv = server()
    alice, bob, carol = chat(srv, "alice", "bob", "carol")
    bob.send_line("/who")
    bob.expect_exact("= #général 3 : alice bob carol")
    carol.send_line("/join jeux")
    carol.readlines_until("= #jeux")
    for c in (alice, bob):
        c.expect_exact("* carol a quitté #général")
    bob.send_line("/who")
    line = bob.read_line()
    assert re.fullmatch(r"= #général 2 : (alice bob|bob alice)", line), line
    bob.send_line("/who JEUX")
    bob.expect_exact("= #jeux 1 : carol")
    bob.send_line("/who #Jeux")
    bob.expect_exact("= #jeux 1 : carol")


def test_who_of_an_unknown_or_impossible_room(server, chat):
    srv = server()
    (alice,) = chat(srv, "alice")
    alice.send_line("/who nulle-part")
    alice.expect_exact("! Salon inconnu : #nulle-part.")
    alice.send_line("/who #" + "x" * 40)
    alice.expect_exact("! Nom de salon invalide : 1 à 32 caractères visibles, sans espace.")


@pytest.mark.concurrency
def test_who_names_at_most_500_people_and_counts_them_all(server, connect):
    srv = server(*NO_CLIENT_LIMITS, "--announce-max", "1")
    clients = []
    for i in range(505):
        c = connect(srv.port, name=f"p{i}")
        c.join(f"p{i}")
        clients.append(c)
    clients[0].send_line("/who")
    line = clients[0].read_line(timeout=4 * TIMEOUT)
    head, names = line.split(" : ")
    assert head == "= #général 505"
    names = names.split(" ")
    assert len(names) == 500 and len(set(names)) == 500
    assert set(names) <= {f"p{i}" for i in range(505)}


# ---------------------------------------------------------------- /quit


def test_quit_with_a_reason_tells_the_room_and_the_log(alice_bob):
    srv, alice, bob = alice_bob()
    alice.send_line("/quit à  demain !")
    assert alice.expect_closed() == []
    bob.expect_exact("* alice est déconnecté (à  demain !)")
    srv.wait_log(r"alice est déconnecté \(/quit : à  demain !\)$")


def test_quit_without_a_reason_is_the_plain_leave(alice_bob):
    srv, alice, bob = alice_bob()
    alice.send_line("/quit   ")
    assert alice.expect_closed() == []
    bob.expect_exact("* alice est déconnecté")
    srv.wait_log(r"alice est déconnecté \(/quit\)$")


@pytest.mark.concurrency
def test_msg_on_its_way_follows_a_change_of_pseudo(alice_bob):
    """alice sends private messages to bob as fast as she can while bob, on the other loop,
    changes pseudo: every message alice was told went to bob reaches him, whatever name he
    has when it arrives."""
    srv, alice, bob = alice_bob(*NO_CLIENT_LIMITS)
    total = 3000
    alice.send_raw("".join(f"/msg bob {i}\n" for i in range(total)).encode())
    bob.send_line("/nick robert")
    confirmed = []
    for _ in range(total):
        line = alice.read_line(timeout=4 * TIMEOUT)
        if line.startswith("+ Message privé pour bob : "):
            confirmed.append(line.rsplit(" ", 1)[1])
        else:
            assert line.startswith("! Pseudo inconnu : bob") or "s'appelle" in line, line
    got = []
    for line in bob.readlines_until("+ Vous vous appelez maintenant robert.", timeout=4 * TIMEOUT):
        if line.startswith("@ alice: "):
            got.append(line[len("@ alice: "):])
    bob.send_line("/who")  # everything before the answer has arrived
    for line in bob.readlines_until("= #général", timeout=4 * TIMEOUT):
        if line.startswith("@ alice: "):
            got.append(line[len("@ alice: "):])
    assert got == confirmed
