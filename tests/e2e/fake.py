"""fake.py - a scripted server for the terminal client's tests, and its side of a handshake.

FakeServer listens on 127.0.0.1 and hands each connection to the test, which says exactly
the lines of the protocol (docs/PROTOCOL.md) and reads what the client sends, line by line,
so that a test checks the client alone, or a kind of line no real server sends yet. Every
read has a deadline (conftest.TIMEOUT); conftest's fake_server fixture closes what was
opened.
"""

import queue
import socket
import threading

from conftest import TIMEOUT

PROMPT = "? Entrez votre pseudo :"
CAP_ON = "+ Capacité activée : events."
OLD_REFUSAL = "! Le pseudo ne peut pas commencer par « / »."


class FakeConn:
    """One connection accepted by FakeServer, driven line by line by the test."""

    def __init__(self, sock):
        self.sock = sock
        self.sock.settimeout(TIMEOUT)
        self.buf = b""

    def send(self, *lines):
        self.sock.sendall("".join(line + "\n" for line in lines).encode())

    def read_line(self):
        while b"\n" not in self.buf:
            data = self.sock.recv(65536)
            if not data:
                raise AssertionError(f"the client closed; unread: {self.buf!r}")
            self.buf += data
        line, self.buf = self.buf.split(b"\n", 1)
        return line.decode()

    def expect(self, line):
        got = self.read_line()
        assert got == line, f"expected {line!r} from the client, got {got!r}"

    def expect_closed(self):
        """Reads to the end: the client half-closes once it is done; nothing more comes."""
        while True:
            data = self.sock.recv(65536)
            if not data:
                break
            self.buf += data
        assert self.buf == b"", f"unexpected from the client: {self.buf!r}"

    def close(self):
        self.sock.close()


class FakeServer:
    """A listening socket on 127.0.0.1 whose connections the test takes with accept()."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.conns = []
        self.accepted = queue.Queue()
        threading.Thread(target=self._accept_all, daemon=True).start()

    def _accept_all(self):
        while True:
            try:
                s, _ = self.sock.accept()
            except OSError:
                return
            self.accepted.put(s)

    def accept(self, timeout=TIMEOUT):
        c = FakeConn(self.accepted.get(timeout=timeout))
        self.conns.append(c)
        return c

    def stop_listening(self):
        self.sock.close()

    def close(self):
        self.stop_listening()
        for c in self.conns:
            c.close()


def handshake(c, pseudo, events=True):
    """The server's side of the handshake up to the welcome: the prompt goes out only once
    /cap has come, which a client that waited for the prompt before asking would never
    send, so this also proves the client asks first."""
    c.expect("/cap events")
    c.send(PROMPT)
    if events:
        c.send(CAP_ON)
    else:
        c.send(OLD_REFUSAL, PROMPT)  # an old server takes "/cap events" for a pseudo
    c.expect(pseudo)


def arrive(c, pseudo, names, room="général"):
    c.send(f"+ Bienvenue, {pseudo} ! {len(names.split())} personnes connectées.",
           f"# #{room} : Vous êtes maintenant dans #{room}.",
           f"= #{room} {len(names.split())} : {names}")
