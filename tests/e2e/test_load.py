"""Many clients at once, and the total order of messages across threads."""

import re
import resource
import selectors
import socket
import threading
import time

import pytest

from conftest import NO_CLIENT_LIMITS, PSEUDO_PROMPT, TIMEOUT

CROWD = 500
# Seconds for the whole crowd to connect and join, and for a message to reach all of it.
CROWD_TIMEOUT = 20
WELCOME_RE = re.compile(
    r"\+ Bienvenue, (u\d{3}) ! (?:(\d+) personnes connectées\.|"
    r"Personne d'autre n'est connecté pour l'instant\.)"
)
JOIN_RE = re.compile(r"\* (u\d{3}) a rejoint la discussion")


def raise_fd_limit(needed):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < needed:
        if hard != resource.RLIM_INFINITY and hard < needed:
            pytest.skip(f"needs {needed} descriptors, the hard limit is {hard}")
        resource.setrlimit(resource.RLIMIT_NOFILE, (needed, hard))


class Peer:
    """One connection of the crowd: a non-blocking socket and the lines it received."""

    def __init__(self, port, pseudo):
        self.pseudo = pseudo
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setblocking(False)
        self.sock.connect_ex(("127.0.0.1", port))  # EINPROGRESS; readable once greeted
        self.buf = bytearray()
        self.lines = []
        self.eof = False

    def on_readable(self):
        try:
            chunk = self.sock.recv(1 << 16)
        except BlockingIOError:
            return []
        if not chunk:
            self.eof = True
            return []
        self.buf += chunk
        *complete, rest = self.buf.split(b"\n")
        self.buf = bytearray(rest)
        new = [line.decode("utf-8") for line in complete]
        self.lines += new
        return new

    def send_line(self, text):
        data = text.encode() + b"\n"
        n = self.sock.send(data)  # a short line into an empty socket buffer: all of it
        assert n == len(data)


class Crowd:
    """CROWD connections driven by one selector: no thread per connection."""

    def __init__(self, port, n):
        raise_fd_limit(n + 100)
        self.sel = selectors.DefaultSelector()
        self.peers = [Peer(port, f"u{i:03d}") for i in range(n)]
        for p in self.peers:
            self.sel.register(p.sock, selectors.EVENT_READ, p)

    def pump(self, done, timeout, on_line=None):
        """Reads whatever arrives until done() is true; fails after timeout seconds."""
        deadline = time.monotonic() + timeout
        for _ in range(10_000_000):
            if done():
                return
            remaining = deadline - time.monotonic()
            assert remaining > 0, f"crowd: not done within {timeout} s"
            for key, _ in self.sel.select(min(remaining, 1.0)):
                peer = key.data
                for line in peer.on_readable():
                    if on_line:
                        on_line(peer, line)
                if peer.eof:
                    self.sel.unregister(peer.sock)
                    raise AssertionError(f"{peer.pseudo}: connection closed: {peer.lines[-3:]}")
        raise AssertionError("crowd: too many turns")

    def join_all(self):
        welcomed = set()

        def on_line(peer, line):
            if line == PSEUDO_PROMPT:
                peer.send_line(peer.pseudo)
            elif line.startswith("+ Bienvenue"):
                welcomed.add(peer.pseudo)

        self.pump(lambda: len(welcomed) == len(self.peers), CROWD_TIMEOUT, on_line)

    def wait_all_except(self, sender, expected):
        """Waits until every peer but sender has received the line expected."""
        waiting = {p.pseudo for p in self.peers if p is not sender}

        def on_line(peer, line):
            if line == expected:
                waiting.discard(peer.pseudo)

        self.pump(lambda: not waiting, CROWD_TIMEOUT, on_line)

    def close(self):
        for p in self.peers:
            p.sock.close()
        self.sel.close()


@pytest.mark.concurrency
@pytest.mark.parametrize("threads", [2, 4])
def test_500_clients_join_at_once_and_one_message_reaches_all_others_once(server, threads):
    srv = server(*NO_CLIENT_LIMITS, threads=threads)
    crowd = Crowd(srv.port, CROWD)
    try:
        t0 = time.monotonic()
        crowd.join_all()
        joined = time.monotonic()
        first, second = crowd.peers[0], crowd.peers[1]
        first.send_line("bonjour la foule")
        crowd.wait_all_except(first, "> u000: bonjour la foule")
        # Exactly once: a second message, after which the count of the first is final.
        second.send_line("fin")
        crowd.wait_all_except(second, "> u001: fin")
        done = time.monotonic()
        for p in crowd.peers:
            n = p.lines.count("> u000: bonjour la foule")
            assert n == (0 if p is first else 1), (p.pseudo, n)
        print(f"{CROWD} joined in {joined - t0:.2f} s, message to all in {done - joined:.2f} s")
    finally:
        crowd.close()


@pytest.mark.concurrency
def test_500_simultaneous_joins_get_distinct_counts_and_everyone_learns_of_everyone(server):
    srv = server(*NO_CLIENT_LIMITS, threads=4)
    crowd = Crowd(srv.port, CROWD)
    try:
        crowd.join_all()
        crowd.peers[0].send_line("fin")
        crowd.wait_all_except(crowd.peers[0], "> u000: fin")
        counts = []
        saw = {}
        for p in crowd.peers:
            welcome = [m for m in map(WELCOME_RE.fullmatch, p.lines) if m]
            assert len(welcome) == 1 and welcome[0].group(1) == p.pseudo, p.lines[:3]
            counts.append(int(welcome[0].group(2) or 1))
            joins = [m.group(1) for m in map(JOIN_RE.fullmatch, p.lines) if m]
            assert len(joins) == len(set(joins)), f"{p.pseudo}: a join notice twice"
            assert p.pseudo not in joins, f"{p.pseudo}: told of its own join"
            saw[p.pseudo] = set(joins)
        # The registry hands out one count per join: 1 to CROWD, each once.
        assert sorted(counts) == list(range(1, CROWD + 1))
        # Of any two, at least the one who joined first was told of the other.
        names = sorted(saw)
        missed = [(a, b) for i, a in enumerate(names) for b in names[i + 1 :]
                  if b not in saw[a] and a not in saw[b]]
        assert not missed, f"{len(missed)} pairs never told of each other: {missed[:5]}"
    finally:
        crowd.close()


@pytest.mark.concurrency
@pytest.mark.parametrize("threads", [2, 4])
def test_each_client_reaches_all_the_others_whatever_their_thread(server, chat, threads):
    srv = server(*NO_CLIENT_LIMITS, threads=threads)
    clients = chat(srv, *[f"c{i}" for i in range(2 * threads)])  # two per loop
    for c in clients:
        c.send_line(f"de {c.pseudo}")
    for c in clients:
        got = sorted(c.read_line() for _ in range(len(clients) - 1))
        assert got == sorted(f"> {o.pseudo}: de {o.pseudo}" for o in clients if o is not c)


ORDER_SENDERS = 4
ORDER_RECEIVERS = 3
ORDER_COUNT = 200
ORDER_ROUND = 20
ORDER_RE = re.compile(r"> (s\d): (s\d) (\d{3})")


@pytest.mark.concurrency
@pytest.mark.parametrize("threads", [2, 4])
def test_every_client_sees_concurrent_messages_in_one_total_order(server, chat, threads):
    srv = server(*NO_CLIENT_LIMITS, threads=threads)
    senders = chat(srv, *[f"s{i}" for i in range(ORDER_SENDERS)])
    receivers = chat(srv, *[f"r{i}" for i in range(ORDER_RECEIVERS)])
    for s in senders:  # they were told of the receivers' joins
        for r in receivers:
            s.expect_exact(f"* {r.pseudo} a rejoint la discussion")

    # The senders go in rounds, all of them sending a round before any starts the next,
    # so that their messages really are mixed on the way in.
    rounds = threading.Barrier(ORDER_SENDERS, timeout=TIMEOUT)
    errors = []

    def send_all(client):
        try:
            for i in range(ORDER_COUNT):
                if i % ORDER_ROUND == 0:
                    rounds.wait()
                client.send_line(f"{client.pseudo} {i:03d}")
        except BaseException as e:  # reported by the main thread
            errors.append(e)

    threads_ = [threading.Thread(target=send_all, args=(s,), daemon=True) for s in senders]
    for t in threads_:
        t.start()
    for t in threads_:
        t.join(CROWD_TIMEOUT)
        assert not t.is_alive(), "a sender is stuck"
    assert not errors, errors

    total = ORDER_SENDERS * ORDER_COUNT

    def received(client, n):
        out = []
        for line in (client.read_line() for _ in range(n)):
            m = ORDER_RE.fullmatch(line)
            assert m and m.group(1) == m.group(2), f"{client.pseudo}: unexpected {line!r}"
            out.append((m.group(1), int(m.group(3))))
        return out

    order = received(receivers[0], total)
    for r in receivers[1:]:
        assert received(r, total) == order, f"{r.pseudo} saw another order than r0"
    for s in senders:
        mine = [i for who, i in order if who == s.pseudo]
        assert mine == list(range(ORDER_COUNT)), f"{s.pseudo}'s messages out of send order"
    for s in senders:  # a sender sees the others' messages in the same order too
        others = [m for m in order if m[0] != s.pseudo]
        assert received(s, total - ORDER_COUNT) == others, f"{s.pseudo} saw another order"
    # Were the messages really interleaved? Count the changes of sender along the order.
    switches = sum(1 for a, b in zip(order, order[1:]) if a[0] != b[0])
    print(f"{switches} changes of sender in {total} messages")
