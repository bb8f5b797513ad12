"""IRC on --irc-port (docs/IRC.md): registration and its numerics, IRC and line-protocol
clients talking in one room and in private, rooms as channels, the queries IRC clients
make, bad input answered with the numeric that says so, and irssi itself, from Debian's
package, in a pseudo-terminal, joining, talking, changing nick and leaving.

IrcClient is a raw client (conftest.LineClient) that ends its lines with CRLF and reads
the server's without it; every byte a test sends is the test's choice."""

import base64
import os
import re
import shutil
import subprocess
import time

import pexpect
import pyte
import pytest

from accounts import SECRET, register
from conftest import TIMEOUT, LineClient, wait_until

SERVER = "causerie"
CAPS = ("batch cap-notify draft/chathistory echo-message message-tags multi-prefix sasl=PLAIN "
        "server-time userhost-in-names")


class IrcClient(LineClient):
    """A raw IRC client: lines end in \\r\\n both ways."""

    def send_line(self, text, end=b"\r\n"):
        super().send_line(text, end)

    def read_line(self, timeout=TIMEOUT):
        line = super().read_line(timeout)
        assert line.endswith("\r"), f"{self.name}: an IRC line must end in CRLF: {line!r}"
        return line[:-1]

    def expect_numeric(self, code, timeout=TIMEOUT):
        """Reads until the numeric code comes (other lines are passed over, as a client
        would show them); returns its line."""
        pattern = re.compile(rf":{SERVER} {code} .*")
        return self.readlines_until(pattern, timeout)[-1]

    def register(self, nick, cap=True, password=None):
        """Registers as a modern client does (CAP LS 302 first, the welcome waiting for CAP
        END); returns every line up to the end of the names of the room it is put in."""
        if cap:
            self.send_line("CAP LS 302")
        if password is not None:
            self.send_line(f"PASS {password}")
        self.send_line(f"NICK {nick}")
        self.send_line(f"USER {nick} 0 * :{nick}")
        if cap:
            self.expect_exact(f":{SERVER} CAP * LS :{CAPS}")
            self.send_line("CAP END")
        self.expect_exact(f":{SERVER} 001 {nick} :Bienvenue sur causerie, {nick} !")
        lines = self.readlines_until(f":{SERVER} 366 {nick} #général ")
        self.pseudo = self.name = nick
        return lines


@pytest.fixture
def irc(server, connect):
    """Factory: irc(*args) starts a server with --irc-port 0 (and args); returns the
    server and a function that opens an IrcClient to it, closed at teardown."""
    opened = []

    def start(*args, **options):
        srv = server("--irc-port", "0", *args, **options)

        def open_irc(name="irc"):
            c = IrcClient(srv.irc_port, name=name)
            opened.append(c)
            return c

        return srv, open_irc

    yield start
    for c in opened:
        c.close()


def test_registration_waits_for_cap_end_then_welcomes(irc):
    srv, open_irc = irc()
    c = open_irc()
    c.send_line("CAP LS 302")
    c.expect_exact(f":{SERVER} CAP * LS :{CAPS}")
    c.send_line("NICK alice")
    c.send_line("USER alice 0 * :Alice")
    c.send_line("PING :avant")  # answered while the negotiation goes on: nothing else yet
    c.expect_exact(f":{SERVER} PONG {SERVER} :avant")
    c.send_line("CAP END")
    c.expect_exact(f":{SERVER} 001 alice :Bienvenue sur causerie, alice !")
    assert c.read_line().startswith(f":{SERVER} 002 alice ")
    assert c.read_line().startswith(f":{SERVER} 003 alice ")
    assert c.read_line() == f":{SERVER} 004 alice {SERVER} 0.1.0 i bio"
    isupport = c.read_line()
    for token in ("AWAYLEN=300", "CHANTYPES=#", "NICKLEN=32", "PREFIX=(o)@", "CHANMODES=b,,,i",
                  "CASEMAPPING=rfc8265", "UTF8ONLY", "NETWORK=causerie"):
        assert f" {token} " in isupport, isupport
    c.expect_exact(f":{SERVER} 251 alice :Il y a 1 personnes et 0 invisibles sur 1 serveur.")
    c.expect_exact(f":{SERVER} 254 alice 1 :salons")
    c.expect_exact(f":{SERVER} 255 alice :J'ai 1 clients et 0 serveurs.")
    c.expect_exact(f":{SERVER} 265 alice 1 1 :Personnes ici : 1")
    c.expect_exact(f":{SERVER} 266 alice 1 1 :Personnes en tout : 1")
    c.expect_exact(f":{SERVER} 422 alice :Pas de message du jour.")
    c.expect_exact(":alice!alice@causerie JOIN #général")
    c.expect_exact(f":{SERVER} 353 alice = #général :alice")
    c.expect_exact(f":{SERVER} 366 alice #général :Fin de la liste des noms.")
    srv.wait_log(r"alice a rejoint la discussion \(127\.0\.0\.1:\d+\)$")


def test_registration_without_cap(irc):
    srv, open_irc = irc()
    c = open_irc()
    lines = c.register("bob", cap=False)
    assert ":bob!bob@causerie JOIN #général" in lines


def test_nick_errors_are_numerics_and_another_nick_may_follow(irc, chat):
    srv, open_irc = irc()
    (alice,) = chat(srv, "alice")
    c = open_irc()
    c.send_line("NICK :bad nick")
    c.expect_line(f":{SERVER} 432 * bad nick :")
    c.send_line("NICK")
    c.expect_exact(f":{SERVER} 431 * NICK :Paramètres manquants.")
    c.send_line("NICK ALICE")  # taken, without regard to case
    c.send_line("USER x 0 * :x")
    c.expect_exact(f":{SERVER} 433 * ALICE :Ce pseudo est déjà pris.")
    c.send_line("NICK carol")
    c.expect_exact(f":{SERVER} 001 carol :Bienvenue sur causerie, carol !")
    alice.expect_exact("* carol a rejoint la discussion")


def test_commands_before_registration_are_refused(irc):
    srv, open_irc = irc()
    c = open_irc()
    c.send_line("JOIN #jeux")
    c.expect_exact(f":{SERVER} 451 * :Vous n'êtes pas enregistré.")
    c.send_line("PRIVMSG #général :salut")
    c.expect_exact(f":{SERVER} 451 * :Vous n'êtes pas enregistré.")
    c.register("dave", cap=False)
    c.send_line("USER dave 0 * :dave")
    c.expect_exact(f":{SERVER} 462 dave :Vous êtes déjà enregistré.")


def test_irc_and_line_clients_talk_both_ways_in_order(irc, chat):
    srv, open_irc = irc()
    (alice,) = chat(srv, "alice")
    bob = open_irc("bob")
    bob.register("bob")
    alice.expect_exact("* bob a rejoint la discussion")
    alice.send_line("salut bob")
    alice.send_line("/me fait signe")
    bob.expect_exact(":alice!alice@causerie PRIVMSG #général :salut bob")
    bob.expect_exact(":alice!alice@causerie PRIVMSG #général :\x01ACTION fait signe\x01")
    for i in range(20):
        bob.send_line(f"PRIVMSG #général :ligne {i}")
    bob.send_line("PRIVMSG #général :\x01ACTION range son bureau\x01")
    for i in range(10):  # the flood allowance's burst: the rest would be refused
        alice.expect_exact(f"> bob: ligne {i}")
    bob.readlines_until(f":{SERVER} NOTICE bob :")  # the refusal, in IRC's form


def test_capabilities_echo_message_and_server_time(irc, chat):
    """CAP REQ is all or nothing; echo-message sends a client its own lines in their place
    in the room's order, and its private messages; server-time dates every line it is
    sent; CAP LIST says what is on; "-cap" gives one up, after registration too."""
    srv, open_irc = irc()
    (alice,) = chat(srv, "alice")
    bob = open_irc("bob")
    bob.send_line("CAP LS 302")
    bob.expect_exact(f":{SERVER} CAP * LS :{CAPS}")
    bob.send_line("CAP REQ :server-time draft/inconnu")
    bob.expect_exact(f":{SERVER} CAP * NAK :server-time draft/inconnu")
    bob.send_line("CAP REQ :server-time echo-message")
    bob.expect_exact(f":{SERVER} CAP * ACK :server-time echo-message")
    bob.send_line("CAP LIST")
    bob.expect_exact(f":{SERVER} CAP * LIST :echo-message server-time")
    bob.send_line("NICK bob")
    bob.send_line("USER bob 0 * :bob")
    bob.send_line("CAP END")
    bob.readlines_until(f":{SERVER} 366 bob #général ")
    alice.expect_exact("* bob a rejoint la discussion")
    stamp = r"@time=\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000Z "
    alice.send_line("avant")
    bob.expect_line(re.compile(stamp + r":alice!alice@causerie PRIVMSG #général :avant"))
    bob.send_line("PRIVMSG #général :le mien")
    bob.send_line("PRIVMSG #général :\x01ACTION aussi\x01")
    bob.expect_line(re.compile(stamp + r":bob!bob@causerie PRIVMSG #général :le mien"))
    bob.expect_line(re.compile(stamp + ":bob!bob@causerie PRIVMSG #général :\x01ACTION aussi\x01"))
    alice.expect_exact("> bob: le mien")
    bob.send_line("PRIVMSG alice :en privé")
    bob.expect_line(re.compile(stamp + r":bob!bob@causerie PRIVMSG alice :en privé"))
    alice.expect_exact("& bob aussi")
    alice.expect_exact("@ bob: en privé")
    bob.send_line("CAP REQ :-echo-message -server-time")
    bob.expect_exact(f":{SERVER} CAP bob ACK :-echo-message -server-time")
    bob.send_line("PRIVMSG #général :sans écho")
    alice.expect_exact("> bob: sans écho")
    alice.send_line("après")
    bob.expect_exact(":alice!alice@causerie PRIVMSG #général :après")  # no echo, no tag


def test_message_tags_give_every_client_the_same_msgid(irc, chat):
    """With message-tags, each event carries its msgid (its place in the order) and its
    time: the same msgid for every recipient, the sender's echo included, growing with the
    order; TAGMSG (client-only tags) is taken and not relayed."""
    srv, open_irc = irc()
    (alice,) = chat(srv, "alice")
    tagged = re.compile(r"@msgid=(\d+);time=\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000Z (.*)")
    bob, carol = open_irc("bob"), open_irc("carol")
    for c, caps in ((bob, "message-tags echo-message"), (carol, "message-tags")):
        c.send_line("CAP LS 302")
        c.send_line(f"CAP REQ :{caps}")
        c.send_line(f"NICK {c.name}")
        c.send_line(f"USER {c.name} 0 * :{c.name}")
        c.readlines_until(f":{SERVER} CAP * ACK :{caps}")
        c.send_line("CAP END")
        c.readlines_until(f":{SERVER} 366 {c.name} #général ")
    bob.readlines_until(re.compile(r"@msgid=\d+;time=\S+ :carol!carol@causerie JOIN #général"))
    bob.send_line("@+typing=active TAGMSG #général")
    bob.send_line("PRIVMSG #général :premier")
    before = alice.readlines_until("> bob: premier")  # the TAGMSG before it reached nobody
    assert all(line.endswith("a rejoint la discussion") for line in before[:-1]), before
    alice.send_line("second")
    seen = {}
    for c in (bob, carol):
        first = c.expect_line(tagged)
        second = c.expect_line(tagged)
        assert first.group(2) == ":bob!bob@causerie PRIVMSG #général :premier"
        assert second.group(2) == ":alice!alice@causerie PRIVMSG #général :second"
        assert int(first.group(1)) < int(second.group(1))
        seen[c.name] = (first.group(1), second.group(1))
    assert seen["bob"] == seen["carol"], seen
    bob.send_line("PING :fin")
    bob.expect_exact(f":{SERVER} PONG {SERVER} :fin")


def test_action_and_long_lines_are_cut_for_irc(irc, chat):
    srv, open_irc = irc()
    bob = open_irc("bob")
    bob.register("bob")
    (alice,) = chat(srv, "alice")
    bob.expect_exact(":alice!alice@causerie JOIN #général")
    text = "é" * 1000  # 2,000 bytes: longer than an IRC line may be
    alice.send_line(text)
    got = ""
    while len(got) < len(text):
        line = bob.read_line()
        prefix = ":alice!alice@causerie PRIVMSG #général :"
        assert line.startswith(prefix)
        assert len(line.encode()) + 2 <= 512
        got += line[len(prefix):]
    assert got == text


def test_private_messages_both_ways_and_to_nobody(irc, chat):
    srv, open_irc = irc()
    (alice,) = chat(srv, "alice")
    bob = open_irc("bob")
    bob.register("bob")
    alice.expect_exact("* bob a rejoint la discussion")
    bob.send_line("PRIVMSG alice :rien que pour toi")
    alice.expect_exact("@ bob: rien que pour toi")
    alice.send_line("/msg bob et pour toi")
    bob.readlines_until(":alice!alice@causerie PRIVMSG bob :et pour toi")
    bob.send_line("PRIVMSG personne :allô")
    bob.readlines_until(f":{SERVER} 401 bob personne :Personne ne porte ce pseudo.")
    bob.send_line("NOTICE personne :allô")  # a NOTICE is never answered with an error
    bob.send_line("PING :fin")
    bob.readlines_until(f":{SERVER} PONG {SERVER} :fin")


def test_join_part_and_names(irc, chat):
    srv, open_irc = irc()
    (alice,) = chat(srv, "alice")
    bob = open_irc("bob")
    bob.register("bob")
    alice.expect_exact("* bob a rejoint la discussion")
    bob.send_line("JOIN #jeux")
    bob.expect_exact(":bob!bob@causerie PART #général")
    bob.expect_exact(":bob!bob@causerie JOIN #jeux")
    bob.expect_exact(f":{SERVER} 353 bob = #jeux :bob")
    bob.expect_exact(f":{SERVER} 366 bob #jeux :Fin de la liste des noms.")
    alice.expect_exact("* bob a quitté #général")
    alice.send_line("/join #jeux")
    alice.readlines_until("= #jeux 2 :")
    bob.expect_exact(":alice!alice@causerie JOIN #jeux")
    bob.send_line("NAMES #jeux")
    names = bob.expect_line(f":{SERVER} 353 bob = #jeux :")
    assert sorted(names.split(":")[-1].split()) == ["alice", "bob"]
    bob.expect_exact(f":{SERVER} 366 bob #jeux :Fin de la liste des noms.")
    bob.send_line("CAP REQ userhost-in-names")
    bob.expect_exact(f":{SERVER} CAP bob ACK :userhost-in-names")
    bob.send_line("NAMES #jeux")
    names = bob.expect_line(f":{SERVER} 353 bob = #jeux :")
    assert sorted(names.split(":")[-1].split()) == ["alice!alice@causerie", "bob!bob@causerie"]
    bob.expect_exact(f":{SERVER} 366 bob #jeux :Fin de la liste des noms.")
    bob.send_line("JOIN #JEUX")  # the room it is in, as an autojoin list asks again
    bob.expect_exact(":bob!bob@causerie JOIN #jeux")
    bob.expect_line(f":{SERVER} 353 bob = #jeux :")
    bob.expect_exact(f":{SERVER} 366 bob #jeux :Fin de la liste des noms.")
    bob.send_line("WHO #jeux")
    who = bob.readlines_until(f":{SERVER} 315 bob #jeux ")
    assert f":{SERVER} 352 bob #jeux bob causerie causerie bob H :0 bob" in who
    assert f":{SERVER} 352 bob #jeux alice causerie causerie alice H :0 alice" in who
    bob.send_line("PRIVMSG #général :perdu")
    bob.expect_exact(f":{SERVER} 404 bob #général :Vous n'êtes pas dans ce salon.")
    bob.send_line("PART #général")
    bob.expect_exact(f":{SERVER} 442 bob #général :Vous n'êtes pas dans ce salon.")
    bob.send_line("PART #jeux")
    bob.expect_exact(":bob!bob@causerie PART #jeux")
    bob.expect_exact(":bob!bob@causerie JOIN #général")
    alice.expect_exact("* bob a quitté #jeux")


def test_joining_replays_history_as_dated_notices(irc, chat):
    srv, open_irc = irc()
    (alice,) = chat(srv, "alice")
    alice.send_line("premier")
    alice.send_line("/me se souvient")
    alice.send_line("/who")
    alice.expect_exact("= #général 1 : alice")  # both lines have their place by now
    bob = open_irc("bob")
    bob.register("bob")
    lines = [bob.read_line(), bob.read_line()]  # after the names: the channel is open
    stamp = r"\[\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\]"
    kept = [line for line in lines if " NOTICE #général :" in line]
    assert len(kept) == 2, lines
    assert re.fullmatch(rf":alice!alice@causerie NOTICE #général :{stamp} premier", kept[0])
    assert re.fullmatch(
        rf":alice!alice@causerie NOTICE #général :{stamp} \* alice se souvient", kept[1])


def test_history_comes_in_a_chathistory_batch_to_clients_that_read_one(irc, chat):
    """With batch and server-time (and message-tags, for the msgids), the history replayed
    on joining is PRIVMSGs from their authors inside a chathistory batch, each with its
    time; a line longer than an IRC line is cut into several within 512 bytes each."""
    srv, open_irc = irc()
    (alice,) = chat(srv, "alice")
    long_line = "é" * 400  # 800 bytes: two IRC lines
    alice.send_line("premier")
    alice.send_line("/me se souvient")
    alice.send_line(long_line)
    alice.send_line("/who")
    alice.expect_exact("= #général 1 : alice")
    bob = open_irc("bob")
    bob.send_line("CAP LS 302")
    bob.send_line("CAP REQ :batch server-time message-tags")
    bob.send_line("NICK bob")
    bob.send_line("USER bob 0 * :bob")
    bob.readlines_until(f":{SERVER} CAP * ACK :batch server-time message-tags")
    bob.send_line("CAP END")
    bob.readlines_until(f":{SERVER} 366 bob #général ")
    start = bob.expect_line(re.compile(rf":{SERVER} BATCH \+(h\d+) chathistory #général"))
    ref = start.group(1)
    tags = rf"@batch={ref};(?:msgid=(\d+);)?time=\d{{4}}-\d\d-\d\dT\d\d:\d\d:\d\d\.000Z "
    said = [bob.expect_line(re.compile(tags + r":alice!alice@causerie PRIVMSG #général :(.*)"))
            for _ in range(4)]
    assert said[0].group(2) == "premier"
    assert said[1].group(2) == "\x01ACTION se souvient\x01"
    assert said[2].group(2) + said[3].group(2) == long_line
    assert said[2].group(1) and said[3].group(1) is None  # a msgid names one message
    assert int(said[0].group(1)) < int(said[1].group(1)) < int(said[2].group(1))
    bodies = [m.group(0)[m.group(0).index(":alice!"):] for m in said]  # the tags aside
    assert all(len(body.encode()) + 2 <= 512 for body in bodies), bodies
    bob.expect_exact(f":{SERVER} BATCH -{ref}")


def read_batch(client):
    """The lines of the next batch the client is sent: (its reference, [(msgid, text)])."""
    start = client.readlines_until(re.compile(rf":{SERVER} BATCH \+(\w+) chathistory #général"))[-1]
    ref = re.fullmatch(rf":{SERVER} BATCH \+(\w+) chathistory #général", start).group(1)
    said = []
    while (line := client.read_line()) != f":{SERVER} BATCH -{ref}":
        m = re.fullmatch(rf"@batch={ref};msgid=(\d+);time=\S+ :alice!alice@causerie PRIVMSG "
                         r"#général :(.*)", line)
        assert m, line
        said.append((int(m.group(1)), m.group(2)))
    return ref, said


def test_chathistory_reads_the_room_from_the_store(irc, chat):
    """draft/chathistory: LATEST, BEFORE, AFTER, AROUND and BETWEEN, by msgid or time, of
    the room the client is in, each answered in a chathistory batch, oldest first; another
    room, a bad reference, subcommand or limit get FAIL."""
    srv, open_irc = irc("--flood-burst", "100")
    (alice,) = chat(srv, "alice")
    for i in range(1, 7):
        alice.send_line(f"ligne {i}")
    alice.send_line("/who")
    alice.expect_exact("= #général 1 : alice")
    bob = open_irc("bob")
    caps = "batch server-time message-tags draft/chathistory"
    bob.send_line("CAP LS 302")
    bob.send_line(f"CAP REQ :{caps}")
    bob.send_line("NICK bob")
    bob.send_line("USER bob 0 * :bob")
    bob.readlines_until(f":{SERVER} CAP * ACK :{caps}")
    bob.send_line("CAP END")
    isupport = bob.readlines_until(f":{SERVER} 005 bob ")[-1]
    assert " CHATHISTORY=100 " in isupport and " MSGREFTYPES=msgid,timestamp " in isupport
    _, replay = read_batch(bob)  # the replay on joining
    ids = {text: msgid for msgid, text in replay}
    assert list(ids) == [f"ligne {i}" for i in range(1, 7)]

    def ask(command):
        bob.send_line(f"CHATHISTORY {command}")
        return [text for _, text in read_batch(bob)[1]]

    lines = lambda *ns: [f"ligne {n}" for n in ns]
    assert ask("LATEST #général * 2") == lines(5, 6)
    assert ask(f"LATEST #GÉNÉRAL msgid={ids['ligne 4']} 10") == lines(5, 6)
    assert ask(f"BEFORE #général msgid={ids['ligne 4']} 2") == lines(2, 3)
    assert ask(f"AFTER #général msgid={ids['ligne 4']} 10") == lines(5, 6)
    assert ask(f"AROUND #général msgid={ids['ligne 3']} 3") == lines(2, 3, 4)
    assert ask(f"BETWEEN #général msgid={ids['ligne 1']} msgid={ids['ligne 5']} 10") == \
        lines(2, 3, 4)
    assert ask(f"BETWEEN #général msgid={ids['ligne 5']} msgid={ids['ligne 1']} 2") == lines(3, 4)
    assert ask("AFTER #général timestamp=2000-01-01T00:00:00.000Z 3") == lines(1, 2, 3)
    assert ask("BEFORE #général timestamp=2000-01-01T00:00:00.000Z 3") == []
    for command, fail in (
            ("LATEST #ailleurs * 5", "INVALID_TARGET LATEST #ailleurs :"),
            ("OUBLIER #général * 5", "INVALID_PARAMS OUBLIER :Sous-commande inconnue."),
            ("BEFORE #général msgid=abc 5", "INVALID_PARAMS BEFORE :Référence invalide"),
            ("BEFORE #général timestamp=hier 5", "INVALID_PARAMS BEFORE :Référence invalide"),
            ("LATEST #général * 0", "INVALID_PARAMS LATEST :Le nombre de lignes"),
            ("LATEST #général * -5", "INVALID_PARAMS LATEST :Le nombre de lignes"),
            ("BETWEEN #général * 5", "INVALID_PARAMS BETWEEN :Paramètres manquants.")):
        bob.send_line(f"CHATHISTORY {command}")
        bob.expect_line(f":{SERVER} FAIL CHATHISTORY {fail}")


def test_nick_change_is_echoed_and_told(irc, chat):
    srv, open_irc = irc()
    (alice,) = chat(srv, "alice")
    bob = open_irc("bob")
    bob.register("bob")
    alice.expect_exact("* bob a rejoint la discussion")
    bob.send_line("NICK robert")
    bob.readlines_until(":bob!bob@causerie NICK :robert")
    alice.expect_exact("* bob s'appelle maintenant robert")
    alice.send_line("/nick alicia")
    bob.expect_exact(":alice!alice@causerie NICK :alicia")


def test_topic_is_echoed_to_its_setter(irc, chat, tmp_path):
    srv, open_irc = irc()
    (alice,) = chat(srv, "alice")
    bob = open_irc("bob")
    bob.register("bob")
    alice.expect_exact("* bob a rejoint la discussion")
    bob.send_line("TOPIC #général")
    bob.expect_exact(f":{SERVER} 331 bob #général :Pas de sujet.")
    bob.send_line("TOPIC #général :pas le droit")  # #général has no operators
    bob.expect_line(f":{SERVER} NOTICE bob :")
    bob.send_line("MODE #général")
    bob.expect_exact(f":{SERVER} 324 bob #général +")
    bob.send_line("MODE #général b")
    bob.expect_exact(f":{SERVER} 368 bob #général :Fin de la liste des bannis.")
    bob.send_line("MODE bob +i")
    bob.expect_exact(f":{SERVER} 221 bob +")


def test_a_registered_pseudo_logs_in_with_pass_and_runs_its_room(irc, chat, connect):
    """An account made on the line protocol logs in from IRC with PASS; without it, or
    with a wrong one, 464. Logged in, it founds a room and is its operator: its topic
    comes back to it as TOPIC, its send-out of a line client is a KICK for everyone in
    the room, and an IRC client it invites receives INVITE. A topic longer than an IRC
    line is cut where the line ends, at a character's boundary; an IRC client sent out
    reads the KICK, then its JOIN of the default room, and no PART of its own."""
    srv, open_irc = irc("--max-topic", "1200")
    (zoe,) = chat(srv, "zoe")
    register(zoe)
    zoe.send_line("/quit")
    zoe.expect_closed()
    c = open_irc("zoe")
    c.send_line("NICK zoe")
    c.send_line("USER zoe 0 * :zoe")
    c.expect_exact(f":{SERVER} 464 * :Ce pseudo est protégé par un mot de passe : donnez-le "
                   "avec PASS.")
    c.send_line("PASS faux")
    c.send_line("NICK zoe")
    c.readlines_until(f":{SERVER} 464 * :Identification refusée")
    c.send_line(f"PASS {SECRET}")
    c.send_line("NICK zoe")
    c.expect_exact(f":{SERVER} 001 zoe :Bienvenue sur causerie, zoe !")
    c.readlines_until(f":{SERVER} 366 zoe #général ")
    c.send_line("JOIN #atelier")
    c.readlines_until(f":{SERVER} 366 zoe #atelier ")
    c.send_line("TOPIC #atelier :on répare")
    c.readlines_until(":zoe!zoe@causerie TOPIC #atelier :on répare")
    (bob,) = chat(srv, "bob")
    bob.send_line("/join #atelier")
    bob.readlines_until("= #atelier 2 :")
    c.readlines_until(":bob!bob@causerie JOIN #atelier")
    c.send_line("KICK #atelier bob :dehors")
    c.readlines_until(":zoe!zoe@causerie KICK #atelier bob :dehors")
    bob.readlines_until("* bob a été renvoyé de #atelier par zoe (dehors)")
    carol = open_irc("carol")
    carol.register("carol")
    c.send_line("INVITE carol #atelier")
    carol.readlines_until(":zoe!zoe@causerie INVITE carol #atelier")
    carol.send_line("JOIN #atelier")
    carol.readlines_until(f":{SERVER} 366 carol #atelier ")
    c.readlines_until(":carol!carol@causerie JOIN #atelier")
    long_topic = "é" * 245  # 490 bytes: a line zoe may send, one too long once relayed
    c.send_line(f"TOPIC #atelier :{long_topic}".encode())
    for who in (c, carol):
        told = who.readlines_until(":zoe!zoe@causerie TOPIC #atelier :é")[-1]
        assert len(told.encode()) + 2 == 512, told  # "\r\n" included; é is 2 bytes
    carol.send_line("TOPIC #atelier")
    shown = carol.expect_line(f":{SERVER} 332 carol #atelier :é")
    assert len(shown.encode()) + 2 <= 512 and shown.endswith("é"), shown
    c.send_line("KICK #atelier carol :au revoir")
    lines = carol.readlines_until(f":{SERVER} 366 carol #général ")
    assert lines[0] == ":zoe!zoe@causerie KICK #atelier carol :au revoir", lines
    assert ":carol!carol@causerie JOIN #général" in lines, lines
    assert not any(" PART " in line for line in lines), lines


def plain(authzid, authcid, password):
    """SASL PLAIN's credentials, as AUTHENTICATE carries them."""
    return base64.b64encode(f"{authzid}\0{authcid}\0{password}".encode()).decode()


def test_sasl_plain_logs_in_before_registration(irc, chat):
    """SASL PLAIN (the sasl capability) checks an account's password before the client
    registers; registration then logs in to that account, whatever NICK said. Bad
    mechanisms, aborts, malformed or wrong credentials and unknown accounts get 904-908
    and another try may follow; credentials in several 400-byte pieces are put together."""
    srv, open_irc = irc("--flood-burst", "100")  # many tries in a row, none a flood
    (zoe,) = chat(srv, "zoe")
    register(zoe)
    zoe.send_line("/quit")
    zoe.expect_closed()
    c = open_irc("zoe")
    c.send_line("CAP LS")  # before 302, no values
    c.expect_exact(f":{SERVER} CAP * LS :{CAPS.replace('=PLAIN', '')}")
    c.send_line("CAP LS 302")
    c.expect_exact(f":{SERVER} CAP * LS :{CAPS}")
    c.send_line("CAP REQ :sasl")
    c.expect_exact(f":{SERVER} CAP * ACK :sasl")
    c.send_line("NICK autre")  # the account, not this, names it once logged in
    c.send_line("USER zoe 0 * :Zoé")
    c.send_line("AUTHENTICATE SCRAM-SHA-256")
    c.expect_exact(f":{SERVER} 908 autre PLAIN :sont les mécanismes SASL disponibles")
    c.expect_exact(f":{SERVER} 904 autre :Authentification SASL refusée : mécanisme inconnu.")
    c.send_line("AUTHENTICATE PLAIN")
    c.expect_exact("AUTHENTICATE +")
    c.send_line("AUTHENTICATE *")
    c.expect_exact(f":{SERVER} 906 autre :Authentification SASL abandonnée.")
    for creds, why in ((plain("", "personne", "x"), "aucun compte à ce nom."),
                       (plain("bob", "zoe", SECRET), "on ne s'identifie que pour soi."),
                       ("pas du base64!", "identifiants PLAIN mal formés.")):
        c.send_line("AUTHENTICATE PLAIN")
        c.expect_exact("AUTHENTICATE +")
        c.send_line(f"AUTHENTICATE {creds}")
        c.expect_exact(f":{SERVER} 904 autre :Authentification SASL refusée : {why}")
    # A wrong password of 295 bytes: exactly 400 bytes of base64, then "+" ends them.
    creds = plain("", "zoe", "w" * 295)
    assert len(creds) == 400
    c.send_line("AUTHENTICATE PLAIN")
    c.expect_exact("AUTHENTICATE +")
    c.send_line(f"AUTHENTICATE {creds}")
    c.send_line("AUTHENTICATE +")
    c.expect_exact(f":{SERVER} NOTICE autre :Mot de passe incorrect.")
    c.expect_exact(f":{SERVER} 904 autre :Authentification SASL refusée : voyez la notice "
                   "ci-dessus.")
    c.send_line("AUTHENTICATE PLAIN")
    c.expect_exact("AUTHENTICATE +")
    c.send_line(f"AUTHENTICATE {plain('zoe', 'zoe', SECRET)}")
    c.expect_exact(f":{SERVER} 900 autre autre!autre@{SERVER} zoe :Vous êtes identifié comme zoe.")
    c.expect_exact(f":{SERVER} 903 autre :Authentification SASL réussie.")
    c.send_line("CAP END")
    c.expect_exact(f":{SERVER} 001 zoe :Bienvenue sur causerie, zoe !")
    c.readlines_until(f":{SERVER} 366 zoe #général ")
    srv.wait_log(r"zoe a rejoint la discussion")
    c.send_line("AUTHENTICATE PLAIN")
    c.expect_exact(f":{SERVER} 907 zoe :Vous êtes déjà identifié.")
    c.send_line("JOIN #atelier")  # logged in: it founds the room and may set its topic
    c.readlines_until(f":{SERVER} 366 zoe #atelier ")
    c.send_line("TOPIC #atelier :par SASL")
    c.readlines_until(":zoe!zoe@causerie TOPIC #atelier :par SASL")


def test_away_is_shown_by_whois_who_and_to_private_messages(irc):
    """AWAY marks a client away until AWAY without a text: WHOIS says it (301), WHO shows
    G rather than H, and a private message to it is answered with 301; a rename keeps it;
    a text over AWAYLEN is cut at a character boundary."""
    srv, open_irc = irc()
    alice = open_irc("alice")
    alice.register("alice")
    bob = open_irc("bob")
    bob.register("bob")
    alice.readlines_until(":bob!bob@causerie JOIN #général")
    bob.send_line("AWAY :parti déjeuner")
    bob.expect_exact(f":{SERVER} 306 bob :Vous êtes marqué absent.")
    alice.send_line("WHOIS bob")
    alice.expect_exact(f":{SERVER} 311 alice bob bob causerie * :bob")
    alice.expect_exact(f":{SERVER} 312 alice bob causerie :causerie")
    alice.expect_exact(f":{SERVER} 301 alice bob :parti déjeuner")
    alice.expect_exact(f":{SERVER} 318 alice bob :Fin de WHOIS.")
    alice.send_line("WHO #général")
    lines = alice.readlines_until(f":{SERVER} 315 alice #général ")
    assert f":{SERVER} 352 alice #général bob causerie causerie bob G :0 bob" in lines, lines
    assert f":{SERVER} 352 alice #général alice causerie causerie alice H :0 alice" in lines
    alice.send_line("PRIVMSG bob :tu es là ?")
    alice.expect_exact(f":{SERVER} 301 alice bob :parti déjeuner")
    bob.readlines_until(":alice!alice@causerie PRIVMSG bob :tu es là ?")
    bob.send_line("NICK bobby")
    bob.readlines_until(":bob!bob@causerie NICK :bobby")
    alice.readlines_until(":bob!bob@causerie NICK :bobby")
    alice.send_line("WHO bobby")
    alice.expect_exact(f":{SERVER} 352 alice * bobby causerie causerie bobby G :0 bobby")
    alice.expect_exact(f":{SERVER} 315 alice bobby :Fin de la liste WHO.")
    bob.send_line("AWAY")
    bob.expect_exact(f":{SERVER} 305 bobby :Vous n'êtes plus marqué absent.")
    alice.send_line("WHOIS bobby")
    lines = alice.readlines_until(f":{SERVER} 318 alice bobby ")
    assert not any(f" 301 alice bobby " in line for line in lines), lines
    bob.send_line("AWAY :" + "é" * 200)  # 400 bytes, over AWAYLEN=300
    bob.expect_exact(f":{SERVER} 306 bobby :Vous êtes marqué absent.")
    alice.send_line("WHOIS bobby")
    line = alice.readlines_until(f":{SERVER} 301 alice bobby :")[-1]
    assert line == f":{SERVER} 301 alice bobby :" + "é" * 150, line


def test_list_and_whois(irc, chat):
    srv, open_irc = irc()
    (alice,) = chat(srv, "alice")
    bob = open_irc("bob")
    bob.register("bob")
    bob.send_line("LIST")
    lines = bob.readlines_until(f":{SERVER} 323 bob ")
    assert f":{SERVER} 322 bob #général 2 :" in lines
    bob.send_line("WHOIS alice")
    bob.expect_exact(f":{SERVER} 311 bob alice alice causerie * :alice")
    bob.readlines_until(f":{SERVER} 318 bob alice ")
    bob.send_line("WHOIS personne")
    bob.expect_exact(f":{SERVER} 401 bob personne :Personne ne porte ce pseudo.")
    bob.expect_exact(f":{SERVER} 318 bob personne :Fin de WHOIS.")
    bob.send_line("WHO alice")
    bob.expect_exact(f":{SERVER} 352 bob * alice causerie causerie alice H :0 alice")
    bob.expect_exact(f":{SERVER} 315 bob alice :Fin de la liste WHO.")
    bob.send_line("LIST #général,#personne")
    bob.expect_exact(f":{SERVER} 321 bob Salon :Personnes Sujet")
    bob.expect_exact(f":{SERVER} 322 bob #général 2 :")
    bob.expect_exact(f":{SERVER} 323 bob :Fin de la liste des salons.")
    bob.send_line("TOPIC #personne")
    bob.expect_exact(f":{SERVER} 403 bob #personne :Ce salon n'existe pas.")
    bob.send_line("INVITE personne #général")
    bob.expect_exact(f":{SERVER} 401 bob personne :Personne ne porte ce pseudo.")
    bob.send_line("LUSERS")
    bob.expect_exact(f":{SERVER} 251 bob :Il y a 2 personnes et 0 invisibles sur 1 serveur.")


def test_hostile_lines_get_numerics_and_nobody_else_is_affected(irc, chat):
    srv, open_irc = irc("--flood-burst", "100")  # many lines in a row, none a flood
    (alice,) = chat(srv, "alice")
    bob = open_irc("bob")
    bob.register("bob")
    alice.expect_exact("* bob a rejoint la discussion")
    bob.send_line("PRIVMSG #général :" + "x" * 600)  # over 512 bytes
    bob.expect_exact(f":{SERVER} 417 bob :Ligne trop longue.")
    bob.send_line("@" + "a=b;" * 1100 + " PRIVMSG #général :x")  # tags over 4094 bytes
    bob.expect_line(f":{SERVER} 417 bob :Ligne trop longue")
    # Within 512 bytes as sent, over them once relayed with bob's prefix: refused whole.
    room = 512 - len(":bob!bob@causerie PRIVMSG #général :\r\n".encode())
    bob.send_line("PRIVMSG #général :" + "y" * (room + 1))
    bob.expect_exact(f":{SERVER} 417 bob :Ligne trop longue une fois relayée : {room} octets de "
                     "texte au plus.")
    bob.send_line("PRIVMSG #général :" + "y" * room)
    alice.expect_exact("> bob: " + "y" * room)
    bob.send_line("KICK #général")
    bob.expect_exact(f":{SERVER} 461 bob KICK :Paramètres manquants.")
    bob.send_line("FROBNICATE x")
    bob.expect_exact(f":{SERVER} 421 bob FROBNICATE :Commande inconnue.")
    bob.send_line("@ ")
    bob.expect_exact(f":{SERVER} 421 bob * :Commande manquante.")
    for bad in (b"NICK a\rb", b"PRIVMSG #x :a\x00b"):
        bob.send_line(bad)
        bob.expect_exact(f":{SERVER} NOTICE bob :Ligne refusée : elle contient un retour chariot "
                         "ou un caractère nul.")
    bob.send_line("PRIVMSG #général :latin-1 ".encode() + b"caf\xe9")  # not UTF-8: repaired
    alice.expect_exact("> bob: latin-1 caf\ufffd")
    for nick in ("a,b", "*", "x!y", "#chan", "&amp", "$x"):
        bob.send_line(f"NICK {nick}")
        bob.expect_line(f":{SERVER} 432 bob {nick} :Un pseudo IRC ne ")
    bob.send_line("NICK :")
    bob.expect_exact(f":{SERVER} 431 bob :Pas de pseudo donné.")
    bob.send_line("MODE alice")
    bob.expect_exact(f":{SERVER} 502 bob :Vous ne pouvez ni voir ni changer les modes des autres.")
    bob.send_line("MODE personne")
    bob.expect_exact(f":{SERVER} 401 bob personne :Personne ne porte ce pseudo.")
    bob.send_line("PRIVMSG #général :\x01VERSION\x01")  # a CTCP request: not relayed
    bob.send_line("PRIVMSG #général :encore là")
    alice.expect_exact("> bob: encore là")


def test_queries_are_under_flood_control_but_ping_and_quit_are_not(irc, chat):
    """Every IRC line costs a token of the flood allowance, a WHO as much as a chat line:
    the eleventh of a burst is refused, named by its command, and the others are counted;
    PING is still answered, and nobody else is affected."""
    srv, open_irc = irc()
    (alice,) = chat(srv, "alice")
    bob = open_irc("bob")
    bob.register("bob")
    alice.expect_exact("* bob a rejoint la discussion")
    bob.send_raw(b"WHO #g\xc3\xa9n\xc3\xa9ral\r\n" * 15 + b"PING :toujours\r\n")
    lines = bob.readlines_until(f":{SERVER} PONG {SERVER} :toujours")
    ends = [line for line in lines if line.startswith(f":{SERVER} 315 bob #général ")]
    assert len(ends) == 10, lines
    assert (f":{SERVER} NOTICE bob :Trop de messages (10 d'affilée, puis 5 par seconde au plus) "
            ": « WHO » a été refusé, renvoyez-le plus tard.") in lines, lines
    alice.send_line("toujours là")
    bob.readlines_until(":alice!alice@causerie PRIVMSG #général :toujours là")
    bob.send_line("QUIT :fini")  # never refused: a flooder must be able to leave
    bob.expect_exact("ERROR :Au revoir.")
    alice.expect_exact("* bob est déconnecté (fini)")


def test_a_client_that_never_registers_is_closed(irc, chat):
    srv, open_irc = irc("--handshake-timeout", "1")
    c = open_irc()
    c.send_line("NICK lent")
    rest = c.expect_closed(timeout=TIMEOUT)
    assert any("Délai dépassé" in line for line in rest), rest


def test_silent_clients_are_pinged_and_dropped_if_they_stay_silent(irc, chat):
    srv, open_irc = irc("--irc-ping", "1")
    (alice,) = chat(srv, "alice")
    quiet, lively = open_irc("quiet"), open_irc("lively")
    quiet.register("quiet")
    lively.register("lively")
    alice.expect_exact("* quiet a rejoint la discussion")
    alice.expect_exact("* lively a rejoint la discussion")
    started = time.monotonic()
    lively.readlines_until("PING :causerie")
    lively.send_line("PONG :causerie")
    quiet.readlines_until("PING :causerie")
    assert quiet.expect_closed() == ["ERROR :Pas de réponse au PING depuis 1 s."]
    assert time.monotonic() - started >= 1.5  # pinged after 1 s, dropped 1 s later
    alice.expect_exact("* quiet est déconnecté (Délai de réponse dépassé)")
    srv.wait_log(r"quiet est déconnecté \(pas de réponse au PING en 1 s\)$")
    lively.readlines_until("PING :causerie")  # answered, so pinged again, not dropped
    lively.send_line("PING :encore là")
    lively.readlines_until(f":{SERVER} PONG {SERVER} :encore là")


def test_quit_sends_error_and_tells_the_others(irc, chat):
    srv, open_irc = irc()
    (alice,) = chat(srv, "alice")
    bob = open_irc("bob")
    bob.register("bob")
    alice.expect_exact("* bob a rejoint la discussion")
    alice.send_line("/quit à plus")
    bob.expect_exact(":alice!alice@causerie QUIT :à plus")
    carol = open_irc("carol")
    carol.register("carol")
    bob.expect_exact(":carol!carol@causerie JOIN #général")
    carol.send_line("QUIT :bonne nuit")
    assert carol.expect_closed() == ["ERROR :Au revoir."]
    bob.expect_exact(":carol!carol@causerie QUIT :bonne nuit")
    srv.wait_log(r"carol est déconnecté \(/quit : bonne nuit\)$")


def test_a_full_server_says_so_in_irc(irc, chat):
    srv, open_irc = irc("--max-clients", "1")
    (alice,) = chat(srv, "alice")
    c = open_irc()
    assert c.expect_closed() == ["ERROR :Serveur plein (1 connexions) : réessayez plus tard."]


def test_the_server_stopping_is_an_error_line(irc):
    srv, open_irc = irc()
    bob = open_irc("bob")
    bob.register("bob")
    srv.stop()
    assert "ERROR :Le serveur s'arrête." in bob.expect_closed()


def test_the_server_name_is_an_option(irc):
    srv, open_irc = irc("--irc-name", "irc.example.org")
    c = open_irc()
    c.send_line("USER x 0 * :")  # an empty real name is none
    c.expect_exact(":irc.example.org 461 * USER :Paramètres manquants.")
    c.send_line("NICK zoe")
    c.send_line("USER zoe 0 * :Zoé")
    c.expect_exact(":irc.example.org 001 zoe :Bienvenue sur causerie, zoe !")
    c.expect_exact(":irc.example.org 002 zoe :Votre serveur est irc.example.org, version 0.1.0.")
    c.send_line("PING :x")
    c.readlines_until(":irc.example.org PONG irc.example.org :x")
    from conftest import run_server

    p = run_server(["--irc-name", "pas un nom"])
    assert p.returncode == 2
    assert "--irc-name" in p.stderr and "nom d'hôte" in p.stderr


def test_irc_tls_port_needs_a_certificate(server):
    from conftest import run_server

    p = run_server(["--irc-tls-port", "6697"])
    assert p.returncode == 2  # a usage error, as every option's
    assert "--irc-tls-port demande aussi --tls-cert" in p.stderr


# ---------------------------------------------------------------------------- irssi


IRSSI = shutil.which("irssi")
WEECHAT = shutil.which("weechat-headless")


class Screen:
    """What a program in a pseudo-terminal shows, as pyte emulates the terminal."""

    def __init__(self, child, rows, cols):
        self.child = child
        self.screen = pyte.Screen(cols, rows)
        self.stream = pyte.ByteStream(self.screen)

    def text(self):
        return "\n".join(self.screen.display)

    def wait_for(self, text, timeout=TIMEOUT):
        """Feeds the program's output to the screen until text shows on it."""
        deadline = time.monotonic() + timeout
        while text not in self.text():
            left = deadline - time.monotonic()
            assert left > 0, f"not on irssi's screen within {timeout} s: {text!r}\n{self.text()}"
            try:
                self.stream.feed(self.child.read_nonblocking(65536, timeout=min(left, 0.1)))
            except pexpect.TIMEOUT:
                pass

    def type(self, line):
        self.child.send(line + "\r")


@pytest.mark.skipif(IRSSI is None, reason="irssi is not installed (scripts/deps.sh test)")
def test_irssi_joins_talks_renames_and_leaves(irc, chat, tmp_path):
    """irssi from Debian's package, in a pseudo-terminal, with a home of its own: it
    connects and is put in #général, where the history is replayed, talks with a
    line-protocol client both ways, sends an action and a private message, joins #jeux,
    changes nick and quits; the line side sees each in order, and irssi's screen shows
    the line side's lines."""
    srv, _ = irc()
    (alice,) = chat(srv, "alice")
    alice.send_line("avant irssi")
    alice.send_line("/who")
    alice.expect_exact("= #général 1 : alice")
    home = tmp_path / "irssi"
    home.mkdir()
    (home / "config").write_text(
        'settings = { core = { real_name = "Zoé"; user_name = "zoe"; nick = "zoe"; }; '
        # irssi spaces its commands 2.2 s apart by default, from its connection on; 4 a
        # second stays within the server's flood allowance (5 a second after 10 at once).
        '"irc/core" = { cmd_queue_speed = "250msec"; }; };\n'
    )
    env = dict(os.environ, TERM="xterm", LANG="C.UTF-8", LC_ALL="C.UTF-8", HOME=str(tmp_path))
    rows, cols = 30, 160
    child = pexpect.spawn(
        IRSSI,
        ["--home", str(home), "-n", "zoe", "-c", "127.0.0.1", "-p", str(srv.irc_port)],
        env=env, dimensions=(rows, cols), timeout=TIMEOUT,
    )
    screen = Screen(child, rows, cols)
    try:
        alice.expect_exact("* zoe a rejoint la discussion")
        screen.wait_for("Bienvenue sur causerie, zoe !")
        screen.type("/window 2")  # the window irssi opened for #général
        screen.wait_for("avant irssi")  # the history, replayed on arrival
        alice.send_line("bonjour zoé")
        screen.wait_for("bonjour zoé")
        screen.type("salut alice")
        alice.expect_exact("> zoe: salut alice")
        screen.type("/me sourit")
        alice.expect_exact("& zoe sourit")
        screen.type("/msg alice en privé")
        alice.expect_exact("@ zoe: en privé")
        alice.send_line("/msg zoe bien reçu")
        alice.expect_exact("+ Message privé pour zoe : bien reçu")
        screen.type("/window 3")  # the query irssi opened for alice
        screen.wait_for("bien reçu")
        screen.type("/join #jeux")
        alice.expect_exact("* zoe a quitté #général")
        srv.wait_log(r"zoe a rejoint #jeux$")
        alice.send_line("/join #jeux")
        alice.readlines_until("= #jeux 2 :")
        alice.send_line("dans jeux")
        screen.wait_for("dans jeux")
        screen.type("/nick zoe2")
        alice.expect_exact("* zoe s'appelle maintenant zoe2")
        screen.type("encore moi")
        alice.expect_exact("> zoe2: encore moi")
        screen.type("/quit à bientôt")
        alice.expect_exact("* zoe2 est déconnecté (à bientôt)")
        child.expect(pexpect.EOF)
    finally:
        if child.isalive():
            child.terminate(force=True)
    srv.wait_log(r"zoe2 est déconnecté \(/quit : à bientôt\)$")


@pytest.mark.skipif(WEECHAT is None, reason="weechat-headless is not installed (scripts/deps.sh test)")
def test_weechat_headless_talks_renames_and_leaves(irc, chat, tmp_path):
    """WeeChat without its interface, from Debian's package, driven through its FIFO as a
    script would drive it: it connects, talks with a line-protocol client both ways, sends
    an action, changes nick and disconnects; the line side sees each in order, and
    WeeChat's own log of #général holds the history replayed and the line side's line."""
    srv, _ = irc()
    (alice,) = chat(srv, "alice")
    alice.send_line("avant weechat")
    alice.send_line("/who")
    alice.expect_exact("= #général 1 : alice")
    home = tmp_path / "weechat"
    home.mkdir()
    proc = subprocess.Popen(
        [WEECHAT, "--dir", str(home), "--run-command",
         "/set logger.file.flush_delay 0;"
         f"/server add causerie 127.0.0.1/{srv.irc_port} -notls -nicks=wee -username=wee;"
         "/connect causerie"],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        env=dict(os.environ, LANG="C.UTF-8", LC_ALL="C.UTF-8"),
    )

    def command(buffer, text):
        with open(fifo, "w") as f:
            f.write(f"{buffer} *{text}\n")

    try:
        alice.expect_exact("* wee a rejoint la discussion")
        fifo = wait_until(lambda: next(iter(home.glob("weechat_fifo_*")), None), "WeeChat's FIFO")
        log = home / "logs" / "irc.causerie.#général.weechatlog"
        wait_until(lambda: log.exists() and "avant weechat" in log.read_text(),
                   "the history in WeeChat's log of #général")
        command("irc.causerie.#général", "bonjour de weechat")
        alice.expect_exact("> wee: bonjour de weechat")
        alice.send_line("bonjour wee")
        wait_until(lambda: "bonjour wee" in log.read_text(), "alice's line in WeeChat's log")
        command("irc.causerie.#général", "/me fait coucou")
        alice.expect_exact("& wee fait coucou")
        command("irc.server.causerie", "/nick wee2")
        alice.expect_exact("* wee s'appelle maintenant wee2")
        command("irc.causerie.#général", "toujours là")
        alice.expect_exact("> wee2: toujours là")
        command("irc.server.causerie", "/disconnect causerie au revoir")
        alice.expect_exact("* wee2 est déconnecté (au revoir)")
        command("irc.server.causerie", "/quit")
        assert proc.wait(timeout=TIMEOUT) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    srv.wait_log(r"wee2 est déconnecté \(/quit : au revoir\)$")
