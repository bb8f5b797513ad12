"""The terminal client with a list of addresses: `causerie --host a,b,c`.

At start the client connects to the first address that answers, reporting each one that
does not; when every one fails it ends (status 1) as with one address. When the connection
is lost, the reconnection tries the address after the server lost first, wrapping around,
so that when one server dies the client comes back through another, with its pseudo, into
its room. The address prompt takes the same list. A bad list on the command line is an
option error (status 2). Servers run on 127.0.0.1 (and ::1 where the machine has it); a
refused address is a port bound on 127.0.0.1 where nothing listens.
"""

import os
import re
import signal
import socket

import pytest

from conftest import (
    ASK_PSEUDO,
    TIMEOUT,
    address_prompt,
    have_ipv6_loopback,
    run_client,
    wait_child_exit,
)

# Seconds for a reconnection: the first attempt comes 1 s after the loss.
RECONNECT_TIMEOUT = 4 * TIMEOUT


@pytest.fixture
def closed_port():
    """A port on 127.0.0.1 where nothing listens: bound (so nobody else takes it) but not
    listening, so connecting to it is refused."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    yield s.getsockname()[1]
    s.close()


def status(port, pseudo="alice", room="général"):
    return f"[{pseudo}@127.0.0.1:{port} #{room}"


def refused(port, then=None, again=False):
    """What the client says of a refused address, and of the one it tries next."""
    verb = "reconnecter" if again else "connecter"
    text = f"Impossible de se {verb} à 127.0.0.1:{port} : connexion refusée"
    if then is not None:
        text += f" (aucun serveur n'écoute à cette adresse). Essai de {then}."
    return text


def joined(spawn_client, srv, hosts, pseudo="alice", others=()):
    """The terminal client started with --host hosts and --nick pseudo, once it has joined
    srv: welcomed, logged by srv, its status prompt naming srv, the others told."""
    mark = srv.log_mark()
    child = spawn_client("--host", hosts, "--nick", pseudo, term="xterm-256color")
    child.expect_exact(f"Bienvenue, {pseudo} !")
    srv.wait_log(rf"{re.escape(pseudo)} a rejoint la discussion", after=mark)
    child.term.wait(lambda t: status(srv.port, pseudo) in t.input_row(), "the status", keep=True)
    for o in others:
        o.expect_exact(f"* {pseudo} a rejoint la discussion")
    return child


def kill(srv, how):
    """Ends a server this test started, by its pid: SIGTERM (it says goodbye and closes) or
    SIGKILL (it dies; the system closes its sockets)."""
    if how == "sigterm":
        srv.stop()
        return
    os.kill(srv.pid, signal.SIGKILL)
    assert srv.wait_exit() == -signal.SIGKILL


# ---------------------------------------------------------------- at start


def test_the_first_address_refused_the_second_is_joined(server, spawn_client, closed_port):
    srv = server()
    child = joined(spawn_client, srv, f"127.0.0.1:{closed_port},127.0.0.1:{srv.port}")
    t = child.term
    assert refused(closed_port, then=f"127.0.0.1:{srv.port}") in t.flat()
    child.send("/quit\r")
    assert wait_child_exit(child) == 0


def test_addresses_without_a_port_take_the_port_option(server, chat, closed_port):
    srv = server()
    (bob,) = chat(srv, "bob")
    p = run_client(
        ["--host", f"127.0.0.1:{closed_port}, 127.0.0.1", "--port", srv.port, "--nick", "robot"],
        b"bonjour\n",
    )
    assert p.returncode == 0, p.stderr
    assert refused(closed_port, then=f"127.0.0.1:{srv.port}") in p.stderr
    bob.expect_exact("* robot a rejoint la discussion")
    bob.expect_exact("> robot: bonjour")


def test_an_ipv6_address_in_brackets_is_tried_in_turn(server, spawn_client, closed_port):
    if not have_ipv6_loopback():
        pytest.skip("no IPv6 loopback on this machine")
    srv = server(host="::1")
    mark = srv.log_mark()
    child = spawn_client("--host", f"127.0.0.1:{closed_port},[::1]:{srv.port}", "--nick", "alice")
    child.expect_exact(f"Essai de [::1]:{srv.port}.")
    child.expect_exact("Bienvenue, alice !")
    srv.wait_log(r"alice a rejoint la discussion", after=mark)


def test_every_address_refused_exits_1_naming_each(closed_port):
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        second = other.getsockname()[1]
        p = run_client(["--host", f"127.0.0.1:{closed_port},127.0.0.1:{second}", "--nick", "x"])
    assert p.returncode == 1
    assert refused(closed_port, then=f"127.0.0.1:{second}") in p.stderr
    assert f"{refused(second)} (aucun serveur n'écoute à cette adresse).\n" in p.stderr


@pytest.mark.parametrize(
    "hosts, why",
    [
        ("a,,b", "Adresse vide dans la liste « a,,b »"),
        (",a", "Adresse vide dans la liste « ,a »"),
        ("a,", "Adresse vide dans la liste « a, »"),
        ("127.0.0.1:0", "Port invalide dans « 127.0.0.1:0 » (attendu : un nombre de 1 à 65535)."),
        ("a,b:99999", "Port invalide dans « b:99999 »"),
        ("a,[::1]:x", "Port invalide dans « [::1]:x »"),
        ("[::1,b", "Adresse invalide : « [::1 »"),
    ],
)
def test_a_bad_address_list_is_an_option_error(hosts, why):
    p = run_client(["--host", hosts, "--nick", "x"])
    assert p.returncode == 2
    assert p.stdout == ""
    assert p.stderr.startswith("causerie : valeur invalide pour --host. "), p.stderr
    assert why in p.stderr
    assert p.stderr.endswith("Essayez « causerie --help ».\n")


# ---------------------------------------------------------------- the address prompt


def test_the_address_prompt_takes_a_list(server, spawn_client, closed_port):
    srv = server()
    child = spawn_client("--port", srv.port)
    child.expect_exact(address_prompt(srv.port))
    child.sendline(f"127.0.0.1:{closed_port}, 127.0.0.1")  # the second on --port's port
    child.expect_exact(f"Essai de 127.0.0.1:{srv.port}.")
    child.expect_exact(ASK_PSEUDO)


def test_the_address_prompt_refuses_a_bad_list_and_asks_again(server, spawn_client):
    srv = server()
    child = spawn_client("--port", srv.port)
    child.expect_exact(address_prompt(srv.port))
    child.sendline("127.0.0.1,,autre")
    child.expect_exact("Adresse vide dans la liste « 127.0.0.1,,autre »")
    child.expect_exact(address_prompt(srv.port))
    child.sendline("")
    child.expect_exact(ASK_PSEUDO)


def test_after_a_failed_list_the_prompt_offers_it_again(spawn_client, closed_port):
    child = spawn_client()
    child.expect_exact(address_prompt(1234))
    child.sendline(f"127.0.0.1:{closed_port}")
    child.expect_exact(refused(closed_port))
    child.expect_exact(f"Adresse du serveur [127.0.0.1:{closed_port}] : ")
    child.sendcontrol("d")  # Ctrl-D at the address prompt: leaves
    assert wait_child_exit(child) == 0


# ---------------------------------------------------------------- reconnection


@pytest.mark.parametrize("how", ["sigterm", "sigkill"])
def test_a_dead_server_is_replaced_by_the_next_with_pseudo_and_room(
    server, chat, spawn_client, how
):
    a = server()
    b = server()
    (bob,) = chat(b, "bob")
    child = joined(spawn_client, a, f"127.0.0.1:{a.port},127.0.0.1:{b.port}")
    t = child.term
    child.send("/join jeux\r")
    t.wait(lambda t: status(a.port, room="jeux") in t.input_row(), "in #jeux on A")
    kill(a, how)
    t.wait_text("Connexion au serveur perdue")
    t.wait_text(f"Reconnecté à 127.0.0.1:{b.port}.", timeout=RECONNECT_TIMEOUT)
    # On B, the same pseudo, given by itself, then back to #jeux.
    bob.expect_exact("* alice a rejoint la discussion")
    bob.expect_exact("* alice a quitté #général")
    b.wait_log(r"alice a rejoint #jeux")
    t.wait(lambda t: status(b.port, room="jeux") in t.input_row(), "in #jeux on B")
    bob.send_line("/join jeux")
    bob.expect_exact("+ Vous êtes maintenant dans #jeux.")
    bob.expect_exact("= #jeux 2 : alice bob")
    child.send("de retour\r")
    bob.expect_exact("> alice: de retour")


def test_a_refused_address_on_the_way_back_is_passed_over(
    server, chat, spawn_client, closed_port
):
    a = server()
    b = server()
    (bob,) = chat(b, "bob")
    hosts = f"127.0.0.1:{a.port},127.0.0.1:{closed_port},127.0.0.1:{b.port}"
    child = joined(spawn_client, a, hosts)
    t = child.term
    a.stop()
    t.wait_text(f"Reconnecté à 127.0.0.1:{b.port}.", timeout=RECONNECT_TIMEOUT)
    assert refused(closed_port, then=f"127.0.0.1:{b.port}", again=True) in t.flat()
    bob.expect_exact("* alice a rejoint la discussion")
    child.send("me voici\r")
    bob.expect_exact("> alice: me voici")


def test_the_reconnection_wraps_around_to_the_first_address(server, chat, spawn_client):
    a = server()
    port_a = a.port
    b = server()
    child = joined(spawn_client, a, f"127.0.0.1:{port_a},127.0.0.1:{b.port}")
    t = child.term
    a.stop()
    t.wait_text(f"Reconnecté à 127.0.0.1:{b.port}.", timeout=RECONNECT_TIMEOUT)
    a2 = server(port=port_a)  # A again, on its port
    (bob,) = chat(a2, "bob")
    b.stop()  # the last of the list: the next is the first
    bob.expect_exact("* alice a rejoint la discussion", timeout=RECONNECT_TIMEOUT)
    t.wait(lambda t: status(port_a) in t.input_row(), "back on A")
    child.send("revenue\r")
    bob.expect_exact("> alice: revenue")
