"""test_cluster_client.py - the terminal client in a cluster, when its server dies.

A server killed without a word (SIGKILL) keeps its people's pseudos claimed in the cluster
until its node has been silent for --node-ttl seconds. A client that comes back sooner
through another server finds its pseudo still taken, by its own old connection: it says so
once, gives the pseudo again every 2 s (src/client/reclaim.h) and, once the cluster has
freed it, is back under the same pseudo in its room, without asking the user anything.
Engines and servers run on free loopback ports and are stopped by pid (engine.py,
conftest.py).
"""

import os
import signal

from conftest import ASK_PSEUDO, TIMEOUT
from engine import cluster_args, engines  # noqa: F401 (fixture)

# The servers' --node-ttl, in seconds: short, so the test is, yet longer than the client's
# first reconnection (1 s after the loss), so the pseudo is refused at least once.
NODE_TTL = 3
# Seconds for the client to come back: the first attempt 1 s after the loss, the TTL, a
# heartbeat of the engine, and a 2 s wait before the pseudo is given again.
COMEBACK_TIMEOUT = NODE_TTL + 2 + 2 * TIMEOUT

HELD = "Le pseudo « bob » est encore tenu par votre ancienne connexion : nouvel essai toutes les 2 s."


def status(port, pseudo, room):
    return f"[{pseudo}@127.0.0.1:{port} #{room}"


def test_a_pseudo_held_by_a_killed_server_is_given_again_until_freed(
    engines, server, connect, spawn_client
):
    (e,) = engines()
    s0 = server(*cluster_args([e], "s0", NODE_TTL))
    s1 = server(*cluster_args([e], "s1", NODE_TTL))
    alice = connect(s0.port, name="alice")
    alice.join("alice")
    alice.send_line("/join #jeux")
    alice.readlines_until("= #jeux")

    child = spawn_client(
        "--host", f"127.0.0.1:{s1.port},127.0.0.1:{s0.port}", "--nick", "bob",
        term="xterm-256color",
    )
    t = child.term
    child.expect_exact("Bienvenue, bob !")
    t.wait(lambda t: status(s1.port, "bob", "général") in t.input_row(), "bob on s1")
    child.send("/join #jeux\r")
    alice.expect_exact("* bob a rejoint #jeux")
    t.wait(lambda t: status(s1.port, "bob", "jeux") in t.input_row(), "bob in #jeux on s1")

    os.kill(s1.pid, signal.SIGKILL)
    assert s1.wait_exit() == -signal.SIGKILL
    s1._stopped = True  # killed on purpose: the fixture has nothing to stop

    t.wait_text("Connexion au serveur perdue")
    # Back through s0 before the TTL: the pseudo is still bob's old connection's.
    t.wait_text(HELD, timeout=COMEBACK_TIMEOUT)
    alice.expect_exact("* bob est déconnecté (son serveur ne répond plus)", timeout=COMEBACK_TIMEOUT)
    # Freed: the next try takes it, and the client goes back to #jeux by itself.
    alice.expect_exact("* bob a rejoint #jeux", timeout=COMEBACK_TIMEOUT)
    t.wait_text(f"Reconnecté à 127.0.0.1:{s0.port}.")
    t.wait(lambda t: status(s0.port, "bob", "jeux") in t.input_row(), "bob in #jeux on s0")
    screen = t.flat()
    assert screen.count(HELD) == 1, screen  # told once, however many tries
    assert ASK_PSEUDO not in screen, screen  # the user was never asked

    child.send("de retour\r")
    alice.expect_exact("> bob: de retour")
