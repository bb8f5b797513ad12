"""Faults: the server keeps serving when accept() fails for want of descriptors (EMFILE),
when a write fails (ECONNRESET, EPIPE), and when a client vanishes in the middle of a line;
SIGPIPE never kills it.

What the kernel does is observed, not assumed: /proc/net/tcp gives a connection's state and
the bytes queued on either side, /proc/PID/fd which sockets the server still holds, and
/proc/PID/stat the CPU time it used. Polling those is how a test waits for an event that
sends no line; every such wait is bounded.
"""

import os
import re
import select
import signal
import socket
import sys
import time
from pathlib import Path

import pytest

from conftest import (
    PSEUDO_PROMPT,
    SERVER_BIN,
    STAMP,
    TIMEOUT,
    Proc,
    Server,
    require_binary,
    stderr_count,
    stop_all,
    wait_stderr,
    wait_until,
    with_free_ports,
    with_own_db,
)

# ---------------------------------------------------------------------------- /proc


# The states of /proc/net/tcp's "st" column that the tests look for.
TCP_ESTABLISHED = 0x01
TCP_CLOSE_WAIT = 0x08


def tcp_socket(local_port, remote_port):
    """The IPv4 socket on this machine from local_port to remote_port (127.0.0.1 on both
    sides in these tests), from /proc/net/tcp: {state, tx, rx, inode}, where tx is what its
    owner wrote that the peer has not acknowledged and rx what arrived that its owner has
    not read, in bytes. None once the socket is closed or reset (it leaves the table even
    while a descriptor still refers to it)."""
    with open("/proc/net/tcp") as f:
        next(f)
        for line in f:
            fields = line.split()
            local, remote = fields[1], fields[2]
            if int(local.split(":")[1], 16) != local_port:
                continue
            if int(remote.split(":")[1], 16) != remote_port:
                continue
            tx, rx = (int(x, 16) for x in fields[4].split(":"))
            return {"state": int(fields[3], 16), "tx": tx, "rx": rx, "inode": int(fields[9])}
    return None


def server_side(srv, client):
    """The server's end of a LineClient's connection, from /proc/net/tcp."""
    s = tcp_socket(srv.port, client.sock.getsockname()[1])
    assert s, f"{client.name}: no server socket in /proc/net/tcp"
    return s


def client_side(srv, client):
    return tcp_socket(client.sock.getsockname()[1], srv.port)


def holds_socket(srv, inode):
    """True while one of the server's descriptors refers to the socket with this inode."""
    target = f"socket:[{inode}]"
    for fd in os.listdir(f"/proc/{srv.pid}/fd"):
        try:
            if os.readlink(f"/proc/{srv.pid}/fd/{fd}") == target:
                return True
        except FileNotFoundError:
            pass  # closed while we looked
    return False


def open_descriptors(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def cpu_seconds(pid):
    """User plus system CPU time of the whole process (all threads) so far, in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()  # the name, in parentheses, may hold spaces
    utime, stime = int(fields[11]), int(fields[12])  # fields 14 and 15 of proc(5)
    return (utime + stime) / os.sysconf("SC_CLK_TCK")


def ignored_signals(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("SigIgn:"):
                return int(line.split()[1], 16)
    raise AssertionError(f"no SigIgn in /proc/{pid}/status")


def readable(clients):
    """The clients whose socket has something to read right now (data or end), without
    waiting."""
    ready, _, _ = select.select(clients, [], [], 0)
    return ready


def wait_server_has_read(srv, client):
    """Waits until the server process has read everything client sent: the client's kernel
    has had it all acknowledged and nothing waits unread on the server's end. A half line
    must be in the server's hands, not in a socket buffer, before the client vanishes."""

    def received():
        mine, theirs = client_side(srv, client), server_side(srv, client)
        return mine and theirs and mine["tx"] == 0 and theirs["rx"] == 0

    wait_until(received, f"{client.name}: the server reads what was sent")


# ---------------------------------------------------------------------------- RLIMIT_NOFILE

# Sets RLIMIT_NOFILE, soft and hard, then becomes the server: same pid, so the Server
# machinery (stop by pid, /proc/PID) applies unchanged. The server raises its soft limit
# to the hard one at start, so the hard limit is the one that counts.
EXEC_WITH_NOFILE = (
    "import os, resource, sys; n = int(sys.argv[1]); "
    "resource.setrlimit(resource.RLIMIT_NOFILE, (n, n)); os.execv(sys.argv[2], sys.argv[2:])"
)


class LimitedServer(Server):
    """A causerie-server with at most `nofile` descriptors."""

    def __init__(self, nofile, args):
        require_binary(SERVER_BIN)
        Proc.__init__(
            self,
            Path(sys.executable),
            ["-c", EXEC_WITH_NOFILE, str(nofile), str(SERVER_BIN), *with_own_db(with_free_ports(args), None)],
        )
        self.port = None
        self.address = None
        self.threads = None
        self.tls_port = self.web_port = self.web_scheme = None
        self.nofile = nofile


@pytest.fixture
def limited_server():
    """Factory: limited_server(nofile, *extra, threads=2) starts a server on 127.0.0.1,
    port 0, with RLIMIT_NOFILE at nofile (soft and hard), and waits for its listening line.
    Stopped at teardown like the server fixture's (exit status 0 required). Ask for it
    before connect and chat, so that their clients are closed first."""
    started = []

    def start(nofile, *extra, threads=2):
        args = ["--host", "127.0.0.1", "--port", "0", "--threads", str(threads), *extra]
        s = LimitedServer(nofile, args)
        started.append(s)
        s.wait_listening()
        return s

    yield start
    stop_all(started)


# ---------------------------------------------------------------------------- EMFILE

NOFILE = 24  # the server uses 14 with two loop threads, 16 with clients: room for a few
WAITING = 3  # connections left in the kernel's accept queue while the server has no room
ACCEPT_FAILED = (
    r"attention : impossible d'accepter une connexion : trop de fichiers ouverts ; "
    r"nouvel essai toutes les 100 ms"
)
ACCEPT_RESUMED = r"connexions acceptées à nouveau, après \d+ essais manqués"
STALL = 0.5  # seconds to watch the server while it cannot accept


def fill_descriptors(srv, chat, connect):
    """Joins clients p0, p1, ... until the server has no descriptor left; returns them."""
    # One client per loop first: libuv opens a descriptor of its own (/dev/null, for its
    # EMFILE trick) in each loop when the loop's first stream is created.
    joined = chat(srv, "p0", "p1")
    room = srv.nofile - open_descriptors(srv.pid)
    assert room >= 1, f"no free descriptor under a limit of {srv.nofile}"
    for i in range(2, 2 + room):
        c = connect(srv.port, name=f"p{i}")
        c.join(f"p{i}")
        for other in joined:
            other.expect_exact(f"* p{i} a rejoint la discussion")
        joined.append(c)
    return joined


def test_out_of_descriptors_pauses_accepting_and_keeps_serving(limited_server, chat, connect):
    srv = limited_server(NOFILE, "--max-per-ip", "0")
    joined = fill_descriptors(srv, chat, connect)
    pseudos = [c.pseudo for c in joined]

    # These connect (the kernel completes the handshake and queues them) but cannot be
    # accepted: the server logs it once and retries every 100 ms instead of spinning.
    waiting = [connect(srv.port, name=f"attente{i}") for i in range(WAITING)]
    first = wait_stderr(srv, ACCEPT_FAILED)
    # While none of them may be served, the server must be idle (this wait is the
    # measurement): spinning on a listening socket that stays readable would burn a CPU.
    cpu0, t0 = cpu_seconds(srv.pid), time.monotonic()
    served = select.select(waiting, [], [], STALL)[0]
    cpu1, t1 = cpu_seconds(srv.pid), time.monotonic()
    assert served == [], "a connection past the limit was served"
    stalled = t1 - t0
    cpu = cpu1 - cpu0
    logged = stderr_count(srv, ACCEPT_FAILED)
    print(f"{stalled:.3f} s stalled, {cpu:.3f} s of CPU, {len(pseudos)} clients")
    assert cpu < 0.1 * stalled + 0.03, f"{cpu:.3f} s of CPU in {stalled:.3f} s: spinning"
    # Once, however long it lasts: running out of descriptors must not fill the log.
    assert first == 1 and logged == 1, f"the failure was logged {logged} times"

    # The clients already there go on chatting, both ways.
    joined[0].send_line("toujours là ?")
    for c in joined[1:]:
        c.expect_exact(f"> {pseudos[0]}: toujours là ?")
    joined[-1].send_line("oui")
    joined[0].expect_exact(f"> {pseudos[-1]}: oui")
    for c in joined[1:-1]:
        c.expect_exact(f"> {pseudos[-1]}: oui")

    # One leaves: its descriptor goes to one waiting connection, at the next retry.
    leaver = joined.pop()
    leaver.send_line("/quit")
    leaver.expect_closed()
    for c in joined:
        c.expect_exact(f"* {leaver.pseudo} est déconnecté")
    ready = select.select(waiting, [], [], TIMEOUT)[0]
    assert len(ready) == 1, f"{len(ready)} waiting connections served after one left"
    served = ready[0]
    srv.wait_log(ACCEPT_RESUMED)
    served.join("tard")
    # What was said before it came, as the room's history.
    served.expect_line(re.compile(rf"~ \S+Z > {re.escape(pseudos[0])}: toujours là \?"))
    served.expect_line(re.compile(rf"~ \S+Z > {re.escape(pseudos[-1])}: oui"))
    for c in joined:
        c.expect_exact("* tard a rejoint la discussion")
    waiting.remove(served)
    assert readable(waiting) == [], "more connections accepted than descriptors freed"

    # Two more leave (closing their sockets this time): the last two get their turn.
    for c in joined[-2:]:
        c.close()
    joined = joined[:-2] + [served]
    for c in waiting:
        c.join(c.name)
    assert srv.proc.poll() is None
    for c in joined:
        lines = c.readlines_until(f"* {waiting[-1].name} a rejoint la discussion")
        assert sorted(lines) == sorted(
            [f"* {pseudos[-3]} est déconnecté", f"* {pseudos[-2]} est déconnecté"]
            + [f"* {w.name} a rejoint la discussion" for w in waiting]
        ), lines
    waiting[0].send_line("enfin")
    served.expect_exact(f"> {waiting[0].name}: enfin")


def test_out_of_descriptors_server_stops_cleanly_on_sigterm(limited_server, chat, connect):
    srv = limited_server(NOFILE, "--max-per-ip", "0")
    fill_descriptors(srv, chat, connect)
    connect(srv.port, name="attente")
    wait_stderr(srv, ACCEPT_FAILED)
    # Accepting is paused and its retry timer pending: shutdown must not wait for it.
    srv.stop()  # exit status 0 and the shutdown line required


# ---------------------------------------------------------------------------- failed writes

FLOOD_LINE = 100  # bytes per flood line sent, '\n' included
RELAYED = len("> flood: ") + FLOOD_LINE  # bytes the server writes to each other client
WINDOW = 200  # lines sent at once, each window once the reader has the previous one
FLOOD_MAX = 120_000  # 12 MB: far past what the kernel buffers for one connection (4 MiB)
QUEUED = 64 * 1024  # bytes held in the server's own queue for the victim before it vanishes


def flood_window(first):
    return b"".join(
        b"%06d " % i + b"x" * (FLOOD_LINE - 8) + b"\n" for i in range(first, first + WINDOW)
    )


def flood_until_queued(srv, flood, reader, victim):
    """flood talks, WINDOW lines at a time, each window once reader has received the one
    before, until the server holds more than QUEUED bytes for victim (which reads nothing)
    beyond what the kernel buffers on both sides: its socket is full, and a write to it is
    in flight. Returns the number of lines sent."""
    sent = 0
    while sent < FLOOD_MAX:
        flood.send_raw(flood_window(sent))
        sent += WINDOW
        reader.readlines_until("> flood: %06d " % (sent - 1))
        in_kernel = server_side(srv, victim)["tx"] + client_side(srv, victim)["rx"]
        if sent * RELAYED - in_kernel > QUEUED:
            return sent
    raise AssertionError(f"{sent} lines sent, and still no output queued for {victim.name}")


VANISH = ["reset", "close", "quit-then-reset", "quit-half-close-then-reset"]
RESET = "connexion réinitialisée par l'autre côté"
BROKEN = "connexion fermée par l'autre côté"


@pytest.mark.concurrency  # the flood crosses from one loop to the other while the victim goes
@pytest.mark.parametrize("how", VANISH)
def test_client_vanishing_while_the_server_writes_to_it_leaves_once(server, chat, connect, how):
    # reset: an RST while output waits for the victim; the server meets it reading
    # (ECONNRESET) or writing, whichever comes first.
    # close: a plain close() with unread data, which the kernel turns into an RST too.
    # quit-then-reset: after /quit the server reads no more from the victim, only writes
    # what it still owes it (for up to 2 s): the RST reaches it through the write in
    # flight, which fails with ECONNRESET.
    # quit-half-close-then-reset: the same after a FIN, so the server's socket is in
    # CLOSE_WAIT when the RST comes, and the write fails with EPIPE: the kernel raises
    # SIGPIPE, which kills a process that does not ignore it.
    # Two loops, connections dealt in turn: victim and reader on one, flood on the other.
    srv = server("--max-backlog", str(64 << 20), "--flood-rate", "0", threads=2)
    victim = connect(srv.port, name="victime", rcvbuf=4096)
    victim.join("victime")
    flood, reader = chat(srv, "flood", "lecteur")
    victim.expect_exact("* flood a rejoint la discussion")
    victim.expect_exact("* lecteur a rejoint la discussion")
    # From here on the victim reads nothing.
    sent = flood_until_queued(srv, flood, reader, victim)
    inode = server_side(srv, victim)["inode"]

    if how.startswith("quit"):
        victim.send_line("/quit")
        srv.wait_log(r"victime est déconnecté \(/quit\)")
        assert holds_socket(srv, inode), "the server did not wait to write what it owed"
    if how == "quit-half-close-then-reset":
        victim.sock.shutdown(socket.SHUT_WR)
        wait_until(
            lambda: server_side(srv, victim)["state"] == TCP_CLOSE_WAIT,
            "the server's socket to go to CLOSE_WAIT",
        )
    t0 = time.monotonic()
    if how == "close":
        victim.close()
    else:
        victim.reset()
    wait_until(lambda: not holds_socket(srv, inode), "the server to close the victim's socket")
    released = time.monotonic() - t0
    assert srv.proc.poll() is None, f"the server died: status {srv.proc.returncode}"
    if how.startswith("quit"):
        # Not the 2 s deadline for a quitting client's last output: the failed write.
        assert released < 1.0, f"the socket was closed {released:.3f} s after the reset"

    reader.send_line("encore là ?")
    assert flood.readlines_until("> lecteur: encore là ?") == [
        "* victime est déconnecté",
        "> lecteur: encore là ?",
    ]
    flood.send_line("oui")
    assert reader.readlines_until("> flood: oui") == ["* victime est déconnecté", "> flood: oui"]
    late = connect(srv.port)
    late.join("tard")
    srv.wait_log(r"tard a rejoint la discussion")
    leaves = [line for line in srv.log_lines if "victime est déconnecté" in line]
    assert len(leaves) == 1, leaves
    if how.startswith("quit"):
        assert leaves[0].endswith("victime est déconnecté (/quit)"), leaves
    else:
        reason = rf"\(({RESET}|{BROKEN})\)"
        assert re.fullmatch(STAMP + "victime est déconnecté " + reason, leaves[0]), leaves
    print(f"{how}: {sent} lines sent; socket closed {released * 1000:.1f} ms after the reset")


def test_sigpipe_is_ignored(server):
    srv = server()
    assert ignored_signals(srv.pid) & (1 << (signal.SIGPIPE - 1)), "SIGPIPE is not ignored"


# ---------------------------------------------------------------------------- mid-line

HALF = b"moiti\xc3"  # half a line, ending in half a character (the first byte of "é")


@pytest.mark.parametrize("how", ["close", "reset"])
def test_client_vanishing_mid_line_is_announced_and_its_half_line_dropped(
    server, chat, connect, how
):
    srv = server()
    alice, bob, carol = chat(srv, "alice", "bob", "carol")
    carol.send_raw(HALF)
    wait_server_has_read(srv, carol)
    if how == "close":
        carol.close()
    else:
        carol.reset()
    # The half line is never relayed, not even at the end of the connection: the leave is
    # the next thing the others hear.
    alice.expect_exact("* carol est déconnecté")
    bob.expect_exact("* carol est déconnecté")
    alice.send_line("après")
    bob.expect_exact("> alice: après")
    bob.send_line("oui")
    alice.expect_exact("> bob: oui")
    reason = "fin de connexion" if how == "close" else RESET
    # The log line is written before the notice is sent, but read from the server's stdout
    # by a thread of ours: wait for it rather than race it.
    srv.wait_log(r"carol est déconnecté")
    leaves = [line for line in srv.log_lines if "carol est déconnecté" in line]
    assert len(leaves) == 1, leaves
    assert re.fullmatch(STAMP + rf"carol est déconnecté \({reason}\)", leaves[0]), leaves
    assert not any("moiti" in line for line in srv.log_lines), srv.log_lines
    # The pseudo was released with the connection.
    again = connect(srv.port)
    again.join("carol")
    alice.expect_exact("* carol a rejoint la discussion")


@pytest.mark.parametrize("how", ["close", "reset"])
def test_client_vanishing_mid_pseudo_leaves_silently(server, chat, connect, how):
    srv = server()
    (alice,) = chat(srv, "alice")
    half = connect(srv.port, name="half")
    half.expect_exact(PSEUDO_PROMPT)
    half.send_raw(b"mallo")
    wait_server_has_read(srv, half)
    inode = server_side(srv, half)["inode"]
    if how == "close":
        half.close()
    else:
        half.reset()
    wait_until(lambda: not holds_socket(srv, inode), "the server to close the connection")
    assert readable([alice]) == [], "alice was told something"
    assert srv.count_log("mallo") == 0, srv.log_lines
    # Nobody joined, and the pseudo is free: its next claimant is the next thing alice hears.
    c = connect(srv.port)
    c.join("mallo")
    alice.expect_exact("* mallo a rejoint la discussion")
    alice.send_line("bienvenue")
    c.expect_exact("> alice: bienvenue")
    assert srv.proc.poll() is None

