"""The terminal client over TLS: --tls, --tls-ca, --tls-insecure (issue 14).

The tests make their own authority and certificates with the openssl command, once per
module: a server certificate for localhost and 127.0.0.1 signed by that authority, one for
another name, an expired one (openssl ca, whose -startdate and -enddate may lie in the
past), and a self-signed one that no store knows.

causerie-server does not speak TLS yet, so a TLS terminator written here (TlsFront) stands
in front of a plain server: it accepts TLS on a port of 127.0.0.1 with one of those
certificates (Python's ssl module, over memory BIOs, on a thread of its own) and carries
the bytes both ways to the server's plain port, connecting there once the handshake is
done. Its stop() closes everything, which the client sees as a lost connection; started
again on the same port with another certificate, it is the server come back changed.
Once the server speaks TLS itself (--tls-cert, --tls-key), the tls_front fixture can start
it with those options instead and return it: the tests only use a front's port, its
server's log, stop(), and, to check the client's alert, handshakes and failed_handshakes.
Every wait is bounded, as everywhere in this suite; nothing sleeps to synchronise.
"""

import selectors
import socket
import ssl
import subprocess
import threading
from types import SimpleNamespace

import pytest

from conftest import (
    TIMEOUT,
    address_prompt,
    run_client,
    wait_child_exit,
    wait_until,
)

WARNING = (
    "Attention : certificat du serveur non vérifié (--tls-insecure) : la liaison est "
    "chiffrée mais n'importe qui peut se faire passer pour le serveur."
)
UNKNOWN_AUTHORITY = (
    "autorité inconnue (utilisez --tls-ca pour faire confiance à une autorité de plus)"
)


def refused(port, reason):
    return f"Certificat du serveur 127.0.0.1:{port} refusé : {reason}"


# ---------------------------------------------------------------- certificates


def openssl(cwd, *args):
    subprocess.run(
        ["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=4 * TIMEOUT
    )


EC_KEY = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes")

# What `openssl ca` needs to sign with explicit dates: the expired certificate.
CA_CONFIG = """\
[ca]
default_ca = test_ca
[test_ca]
database = index.txt
new_certs_dir = .
serial = serial
certificate = ca.pem
private_key = ca.key
default_md = sha256
policy = any
unique_subject = no
[any]
commonName = supplied
"""


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    """Paths of the authority (ca) and of each server certificate and key: good,
    wrong_name, expired, self_signed (a (cert, key) pair each)."""
    d = tmp_path_factory.mktemp("tls")
    openssl(d, "req", "-x509", *EC_KEY, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
            "-subj", "/CN=causerie test CA",
            "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign")

    def request(name, san):
        (d / f"{name}.ext").write_text(f"subjectAltName={san}\n")
        openssl(d, "req", "-new", *EC_KEY, "-keyout", f"{name}.key", "-out", f"{name}.csr",
                "-subj", f"/CN={name}")

    def signed(name, san):
        request(name, san)
        openssl(d, "x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
                "-CAcreateserial", "-days", "2", "-extfile", f"{name}.ext", "-out", f"{name}.pem")

    signed("good", "DNS:localhost,IP:127.0.0.1")
    signed("wrong_name", "DNS:autre.exemple")
    request("expired", "DNS:localhost,IP:127.0.0.1")
    (d / "ca.cnf").write_text(CA_CONFIG)
    (d / "index.txt").write_text("")
    (d / "serial").write_text("1000\n")
    openssl(d, "ca", "-batch", "-config", "ca.cnf", "-notext", "-in", "expired.csr",
            "-out", "expired.pem", "-startdate", "20200101000000Z",
            "-enddate", "20200102120000Z", "-extfile", "expired.ext")
    openssl(d, "req", "-x509", *EC_KEY, "-keyout", "self_signed.key", "-out",
            "self_signed.pem", "-days", "2", "-subj", "/CN=localhost",
            "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1")
    pairs = {n: (d / f"{n}.pem", d / f"{n}.key")
             for n in ("good", "wrong_name", "expired", "self_signed")}
    return SimpleNamespace(ca=d / "ca.pem", **pairs)


# ---------------------------------------------------------------- the TLS terminator


class _Link:
    """One client's connection through the terminator: its socket, a TLS session over two
    memory BIOs, and, once the handshake is done, a plain socket to the server."""

    def __init__(self, front, raw):
        self.front = front
        self.raw = raw
        self.raw.settimeout(TIMEOUT)  # sendall() waits at most that long
        self.incoming = ssl.MemoryBIO()
        self.outgoing = ssl.MemoryBIO()
        self.tls = front.ctx.wrap_bio(self.incoming, self.outgoing, server_side=True)
        self.up = None
        self.raw_done = self.up_done = False
        front.sel.register(raw, selectors.EVENT_READ, (self, "raw"))

    def flush(self):
        data = self.outgoing.read()
        if data:
            self.raw.sendall(data)

    def from_client(self):
        data = self.raw.recv(65536)
        if not data:  # the client closed its side
            self.raw_done = True
            self.front.sel.unregister(self.raw)
            if self.up and not self.up_done:
                self.up.shutdown(socket.SHUT_WR)
            self.close_if_done()
            return
        if self.up_done:
            return  # the server has gone: nobody to give it to
        self.incoming.write(data)
        if self.up is None and not self.handshake():
            return
        self.to_server()
        self.flush()

    def handshake(self):
        """True once the handshake is done and the server's socket open."""
        try:
            self.tls.do_handshake()
        except ssl.SSLWantReadError:
            self.flush()
            return False
        except ssl.SSLError as e:  # the client refused us (its alert), or spoke nonsense
            self.front.failed_handshakes.append(str(e))
            self.flush()
            self.close()
            return False
        self.flush()
        self.front.handshakes += 1
        self.up = socket.create_connection(("127.0.0.1", self.front.server.port), TIMEOUT)
        self.front.sel.register(self.up, selectors.EVENT_READ, (self, "up"))
        return True

    def to_server(self):
        while True:
            try:
                chunk = self.tls.read(65536)
            except ssl.SSLWantReadError:
                return
            except ssl.SSLZeroReturnError:  # the client's close_notify
                self.up.shutdown(socket.SHUT_WR)
                return
            if not chunk:
                return
            self.up.sendall(chunk)

    def from_server(self):
        data = self.up.recv(65536)
        if data:
            self.tls.write(data)
            self.flush()
            return
        self.up_done = True  # the server closed: our close_notify, then our FIN
        self.front.sel.unregister(self.up)
        try:
            self.tls.unwrap()
        except (ssl.SSLWantReadError, ssl.SSLError):
            pass  # sent; the client's answer is not awaited
        self.flush()
        if not self.raw_done:
            self.raw.shutdown(socket.SHUT_WR)
        self.close_if_done()

    def close_if_done(self):
        if self.raw_done and (self.up is None or self.up_done):
            self.close()

    def close(self):
        for s in (self.raw, self.up):
            if s is not None:
                try:
                    self.front.sel.unregister(s)
                except (KeyError, ValueError):
                    pass
                s.close()
        if self in self.front.links:
            self.front.links.remove(self)


class TlsFront:
    """TLS on 127.0.0.1 (port 0: a free one) with cert and key, in front of server's plain
    port. It reads as the server to the fixtures: port is its own, log_mark() and
    wait_log() the server's."""

    def __init__(self, server, cert, key, port=0):
        self.server = server
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        self.ctx.load_cert_chain(cert, key)
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", port))
        self.listener.listen(16)
        self.port = self.listener.getsockname()[1]
        self.sel = selectors.DefaultSelector()
        self.wake_r, self.wake_w = socket.socketpair()
        self.sel.register(self.listener, selectors.EVENT_READ, (None, "accept"))
        self.sel.register(self.wake_r, selectors.EVENT_READ, (None, "stop"))
        self.links = []
        self.handshakes = 0
        self.failed_handshakes = []
        self.error = None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def log_mark(self):
        return self.server.log_mark()

    def wait_log(self, *args, **kwargs):
        return self.server.wait_log(*args, **kwargs)

    def _run(self):
        try:
            while True:
                for key, _ in self.sel.select():
                    link, what = key.data
                    if what == "stop":
                        return
                    if what == "accept":
                        raw, _ = self.listener.accept()
                        self.links.append(_Link(self, raw))
                    else:
                        self._serve(link, what)
        except Exception as e:  # handed to the test by stop()
            self.error = e
        finally:
            for link in list(self.links):
                link.close()
            self.sel.close()
            self.listener.close()

    def _serve(self, link, what):
        if link not in self.links:
            return  # closed by an earlier event of the same batch
        try:
            if what == "raw":
                link.from_client()
            elif not link.up_done:
                link.from_server()
        except OSError:  # a reset, a peer gone: this connection ends, not the terminator
            link.close()

    def stop(self):
        """Closes the port and every connection through it (abruptly: the clients see
        their connection lost); fails if the terminator's thread broke."""
        if self.thread.is_alive():
            self.wake_w.send(b"x")
            self.thread.join(TIMEOUT)
        assert not self.thread.is_alive(), "the TLS terminator did not stop"
        self.wake_r.close()
        self.wake_w.close()
        if self.error:
            raise AssertionError(f"the TLS terminator broke: {self.error!r}")


@pytest.fixture
def tls_front(certs):
    """Factory: tls_front(srv, cert="good", port=0) starts a TlsFront before srv, with the
    certificate of that name (certs); stopped at teardown, before the servers."""
    started = []

    def start(srv, cert="good", port=0):
        f = TlsFront(srv, *getattr(certs, cert), port=port)
        started.append(f)
        return f

    yield start
    for f in reversed(started):
        f.stop()


# ---------------------------------------------------------------- command line


def test_tls_makes_1235_the_default_port_at_the_address_prompt(spawn_client):
    child = spawn_client("--tls")
    child.expect_exact(address_prompt(1235))


def test_a_missing_tls_ca_file_is_a_french_error_with_status_2(tmp_path):
    missing = tmp_path / "absent.pem"
    p = run_client(["--tls-ca", missing, "--host", "127.0.0.1", "--nick", "alice"])
    assert p.returncode == 2
    assert f"impossible de lire le fichier de --tls-ca « {missing} » : fichier introuvable" in (
        p.stderr
    )


# ---------------------------------------------------------------- a verified server


def test_a_verified_server_chats_and_the_status_says_tls(
    server, tls_front, certs, chat, joined_client
):
    srv = server()
    front = tls_front(srv)
    child = joined_client(front, args=("--tls-ca", certs.ca))
    t = child.term
    t.wait(lambda t: t.input_row().endswith("#général 1 · tls]"), "the TLS mark in the status")
    (bob,) = chat(srv, "bob")  # a plain client, straight to the server
    t.wait_text("bob a rejoint la discussion")
    child.send("salut bob\r")
    bob.expect_exact("> alice: salut bob")
    bob.send_line("salut alice")
    t.wait_text("bob: salut alice")
    assert WARNING not in child.transcript.getvalue()
    assert front.handshakes == 1


def test_a_piped_client_by_name_sends_and_leaves_with_a_close_notify(
    server, tls_front, certs, chat
):
    srv = server()
    front = tls_front(srv)
    (bob,) = chat(srv, "bob")
    p = run_client(
        ["--host", "localhost", "--port", front.port, "--tls-ca", certs.ca, "--nick", "robot"],
        input=b"bonjour\n",
    )
    assert p.returncode == 0, p.stderr
    bob.expect_exact("* robot a rejoint la discussion")
    bob.expect_exact("> robot: bonjour")
    bob.expect_exact("* robot est déconnecté")
    assert front.failed_handshakes == []


# ---------------------------------------------------------------- refused certificates


@pytest.mark.parametrize(
    "cert, trust_ca, reason",
    [
        (
            "wrong_name",
            True,
            "le nom ne correspond pas (certificat pour « autre.exemple », pas pour "
            "« 127.0.0.1 »).",
        ),
        ("expired", True, "certificat expiré le 02/01/2020 à 12:00 UTC."),
        ("self_signed", True, UNKNOWN_AUTHORITY + "."),
        ("good", False, UNKNOWN_AUTHORITY + "."),  # our authority, not given: unknown
    ],
)
def test_a_refused_certificate_says_why_and_exits_1(
    server, tls_front, certs, spawn_client, cert, trust_ca, reason
):
    srv = server()
    front = tls_front(srv, cert)
    trust = ("--tls-ca", certs.ca) if trust_ca else ("--tls",)
    child = spawn_client(
        "--host", "127.0.0.1", "--port", front.port, "--nick", "alice", *trust
    )
    child.expect_exact(refused(front.port, reason))
    assert wait_child_exit(child) == 1
    wait_until(lambda: front.failed_handshakes, "the client's alert at the terminator")
    assert front.handshakes == 0
    assert srv.count_log("a rejoint") == 0


def test_a_refused_certificate_ends_a_piped_client_with_status_1(server, tls_front, certs):
    srv = server()
    front = tls_front(srv, "expired")
    p = run_client(
        ["--host", "127.0.0.1", "--port", front.port, "--tls-ca", certs.ca, "--nick", "robot"],
        input=b"bonjour\n",
    )
    assert p.returncode == 1
    assert refused(front.port, "certificat expiré le 02/01/2020 à 12:00 UTC.") in p.stderr


def test_a_server_that_does_not_speak_tls_is_a_clear_error(server, spawn_client):
    srv = server()  # plain: it sends its prompt in clear, where a ServerHello should be
    child = spawn_client("--host", "127.0.0.1", "--port", srv.port, "--tls", "--nick", "alice")
    child.expect_exact(
        f"Impossible de se connecter à 127.0.0.1:{srv.port} : négociation TLS impossible "
        "(OpenSSL : "
    )
    child.expect_exact("le serveur ne parle peut-être pas TLS sur ce port.")
    assert wait_child_exit(child) == 1


# ---------------------------------------------------------------- --tls-insecure


def test_insecure_warns_at_every_connection_and_chats(
    server, tls_front, chat, joined_client
):
    srv = server()
    front = tls_front(srv, "self_signed")
    child = joined_client(front, args=("--tls-insecure",))
    t = child.term
    t.wait(lambda t: "· tls non vérifié]" in t.input_row(), "the unverified mark")
    assert child.transcript.getvalue().count(WARNING) == 1
    (bob,) = chat(srv, "bob")
    child.send("coucou\r")
    bob.expect_line("> alice: coucou")
    front.stop()  # the server goes, and comes back: a new connection, a new warning
    t.wait_text("Connexion au serveur perdue")
    tls_front(srv, "self_signed", port=front.port)
    t.wait_text("Reconnecté à", timeout=4 * TIMEOUT)
    t.wait(lambda t: "· tls non vérifié]" in t.input_row(), "the unverified mark again")
    assert child.transcript.getvalue().count(WARNING) == 2


# ---------------------------------------------------------------- reconnection


def test_a_lost_tls_link_is_retried_and_comes_back(server, tls_front, certs, joined_client):
    srv = server()
    front = tls_front(srv)
    child = joined_client(front, args=("--tls-ca", certs.ca))
    t = child.term
    front.stop()  # nothing listens on the port for a while: the usual back-off
    t.wait_text("nouvelle tentative dans 1 s")
    t.wait_text("Nouvelle tentative dans 2 s", timeout=3 * TIMEOUT)
    tls_front(srv, port=front.port)
    t.wait_text("Reconnecté à", timeout=4 * TIMEOUT)
    t.wait(lambda t: t.input_row().endswith("· tls]"), "the TLS mark back in the status")


def test_a_server_back_without_tls_is_retried_not_given_up(
    server, tls_front, certs, joined_client
):
    srv = server()
    front = tls_front(srv)
    child = joined_client(front, args=("--tls-ca", certs.ca))
    t = child.term
    front.stop()
    t.wait_text("Connexion au serveur perdue")
    server(port=front.port)  # the server comes back on that port, without TLS
    t.wait_text("le serveur ne parle peut-être pas TLS sur ce port. Nouvelle tentative dans",
                timeout=4 * TIMEOUT)
    t.wait(  # and once more, after a longer wait: it keeps trying
        lambda t: child.transcript.getvalue().count("négociation TLS impossible") >= 2,
        "a second attempt",
        timeout=6 * TIMEOUT,
    )
    child.sendcontrol("d")  # Ctrl-D on the empty line, offline: leaves at once
    assert wait_child_exit(child) == 0


def test_a_certificate_refused_on_reconnection_ends_the_client(
    server, tls_front, certs, joined_client
):
    srv = server()
    front = tls_front(srv)
    child = joined_client(front, args=("--tls-ca", certs.ca))
    t = child.term
    front.stop()
    t.wait_text("Connexion au serveur perdue")
    # Back on the same port with a certificate nobody signed: an impostor, or a server
    # whose certificate changed. Either way it is not retried.
    impostor = tls_front(srv, "self_signed", port=front.port)
    child.expect_exact(refused(front.port, UNKNOWN_AUTHORITY + "."), timeout=4 * TIMEOUT)
    assert wait_child_exit(child) == 1
    assert impostor.handshakes == 0
