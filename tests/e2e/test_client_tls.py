"""The terminal client over TLS: --tls, --tls-ca, --tls-insecure (issue 14).

The client talks to causerie-server's own TLS port (--tls-cert, --tls-key), started with
each certificate of the session's `certs` fixture (wire.make_certs()): one for localhost
and 127.0.0.1 signed by the test authority, one for another name, an expired one and a
self-signed one that no store knows. A test that takes the server away and brings it back
changed (another certificate, or no TLS at all) reserves its two ports first, so that the
new server listens where the old one did (--tls-port N --port M). What the client refuses
shows on the server's side as one warning line, `connexion TLS refusée (PEER) : ALERT`,
ALERT being the alert the client sent, in OpenSSL's words. Every wait is bounded, as
everywhere in this suite; nothing sleeps to synchronise.
"""

import re
import socket

import pytest

from conftest import (
    TIMEOUT,
    address_prompt,
    run_client,
    wait_child_exit,
    wait_stderr,
)
from wire import tls_args

WARNING = (
    "Attention : certificat du serveur non vérifié (--tls-insecure) : la liaison est "
    "chiffrée mais n'importe qui peut se faire passer pour le serveur."
)
UNKNOWN_AUTHORITY = (
    "autorité inconnue (utilisez --tls-ca pour faire confiance à une autorité de plus)"
)


def refused(port, reason):
    return f"Certificat du serveur 127.0.0.1:{port} refusé : {reason}"


def tls_refusals(srv):
    """The handshakes the server saw fail, as it logged them."""
    return re.findall(r"connexion TLS refusée \(.*", srv.stderr)


# ---------------------------------------------------------------- the server


class OnTlsPort:
    """A server as the client fixtures read it (port, log_mark(), wait_log()), reached on
    its TLS port: what joined_client() takes to join over TLS."""

    def __init__(self, srv):
        self.srv = srv
        self.port = srv.tls_port

    def log_mark(self):
        return self.srv.log_mark()

    def wait_log(self, *args, **kwargs):
        return self.srv.wait_log(*args, **kwargs)


@pytest.fixture
def reserved_ports():
    """Two free ports of 127.0.0.1, (tls, plain), kept for the test: each is bound by a
    socket that never listens, with SO_REUSEADDR, as the server binds its own. The server
    can then listen there, stop and listen there again, while nobody else can bind them
    and, between two servers, a connection is refused as by a port where nothing runs."""
    holders = []
    for _ in range(2):
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", 0))
        holders.append(s)
    yield tuple(s.getsockname()[1] for s in holders)
    for s in holders:
        s.close()


@pytest.fixture
def tls_server(server, certs):
    """Factory: tls_server(cert="good", ports=None) starts causerie-server with the
    certificate and key of that name (certs) and returns it once it listens; ports, a
    (tls, plain) pair, fixes both ports (else the system chooses)."""

    def start(cert="good", ports=None):
        if ports is None:
            return server(*tls_args(certs, cert))
        tls_port, port = ports
        srv = server(*tls_args(certs, cert), "--tls-port", str(tls_port), port=port)
        assert (srv.tls_port, srv.port) == (tls_port, port)
        return srv

    return start


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


def test_a_verified_server_chats_and_the_status_says_tls(tls_server, certs, chat, joined_client):
    srv = tls_server()
    child = joined_client(OnTlsPort(srv), args=("--tls-ca", certs.ca))
    t = child.term
    t.wait(lambda t: t.input_row().endswith("#général 1 · tls]"), "the TLS mark in the status")
    (bob,) = chat(srv, "bob")  # a plain client, straight to the server
    t.wait_text("bob a rejoint la discussion")
    child.send("salut bob\r")
    bob.expect_exact("> alice: salut bob")
    bob.send_line("salut alice")
    t.wait_text("bob: salut alice")
    assert WARNING not in child.transcript.getvalue()
    assert srv.count_log(r"alice a rejoint la discussion") == 1  # one handshake, one arrival
    assert tls_refusals(srv) == []


def test_a_piped_client_by_name_sends_and_leaves_with_a_close_notify(tls_server, certs, chat):
    srv = tls_server()
    (bob,) = chat(srv, "bob")
    p = run_client(
        ["--host", "localhost", "--port", srv.tls_port, "--tls-ca", certs.ca, "--nick", "robot"],
        input=b"bonjour\n",
    )
    assert p.returncode == 0, p.stderr
    bob.expect_exact("* robot a rejoint la discussion")
    bob.expect_exact("> robot: bonjour")
    bob.expect_exact("* robot est déconnecté")
    # The server logs a close_notify and a bare FIN alike: the client's end, cleanly.
    srv.wait_log(r"robot est déconnecté \(fin de connexion\)$")
    assert tls_refusals(srv) == []


# ---------------------------------------------------------------- refused certificates


@pytest.mark.parametrize(
    "cert, trust_ca, reason, alert",
    [
        (
            "wrong_name",
            True,
            "le nom ne correspond pas (certificat pour « autre.exemple », pas pour "
            "« 127.0.0.1 »).",
            "sslv3 alert bad certificate",
        ),
        (
            "expired",
            True,
            "certificat expiré le 02/01/2020 à 12:00 UTC.",
            "sslv3 alert certificate expired",
        ),
        ("self_signed", True, UNKNOWN_AUTHORITY + ".", "tlsv1 alert unknown ca"),
        # Our authority, not given: unknown.
        ("good", False, UNKNOWN_AUTHORITY + ".", "tlsv1 alert unknown ca"),
    ],
)
def test_a_refused_certificate_says_why_and_exits_1(
    tls_server, certs, spawn_client, cert, trust_ca, reason, alert
):
    srv = tls_server(cert)
    trust = ("--tls-ca", certs.ca) if trust_ca else ("--tls",)
    child = spawn_client(
        "--host", "127.0.0.1", "--port", srv.tls_port, "--nick", "alice", *trust
    )
    child.expect_exact(refused(srv.tls_port, reason))
    assert wait_child_exit(child) == 1
    # The client said why with its alert, which ended the handshake on the server's side.
    wait_stderr(srv, rf"connexion TLS refusée \(127\.0\.0\.1:\d+\) : {alert}$")
    assert len(tls_refusals(srv)) == 1
    assert srv.count_log("a rejoint") == 0


def test_a_refused_certificate_ends_a_piped_client_with_status_1(tls_server, certs):
    srv = tls_server("expired")
    p = run_client(
        ["--host", "127.0.0.1", "--port", srv.tls_port, "--tls-ca", certs.ca, "--nick", "robot"],
        input=b"bonjour\n",
    )
    assert p.returncode == 1
    assert refused(srv.tls_port, "certificat expiré le 02/01/2020 à 12:00 UTC.") in p.stderr
    wait_stderr(srv, r"connexion TLS refusée \(127\.0\.0\.1:\d+\) : sslv3 alert certificate "
                     r"expired$")
    assert srv.count_log("a rejoint") == 0


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
    tls_server, reserved_ports, chat, joined_client
):
    srv = tls_server("self_signed", reserved_ports)
    child = joined_client(OnTlsPort(srv), args=("--tls-insecure",))
    t = child.term
    t.wait(lambda t: "· tls non vérifié]" in t.input_row(), "the unverified mark")
    assert child.transcript.getvalue().count(WARNING) == 1
    (bob,) = chat(srv, "bob")
    child.send("coucou\r")
    bob.expect_line("> alice: coucou")
    srv.stop()  # the server goes, and comes back: a new connection, a new warning
    t.wait_text("Connexion au serveur perdue")
    again = tls_server("self_signed", reserved_ports)
    t.wait_text("Reconnecté à", timeout=4 * TIMEOUT)
    t.wait(lambda t: "· tls non vérifié]" in t.input_row(), "the unverified mark again")
    assert child.transcript.getvalue().count(WARNING) == 2
    again.wait_log(r"alice a rejoint la discussion")
    assert tls_refusals(srv) == tls_refusals(again) == []


# ---------------------------------------------------------------- reconnection


def test_a_lost_tls_link_is_retried_and_comes_back(
    tls_server, reserved_ports, certs, joined_client
):
    srv = tls_server("good", reserved_ports)
    child = joined_client(OnTlsPort(srv), args=("--tls-ca", certs.ca))
    t = child.term
    srv.stop()  # nothing listens on the port for a while: the usual back-off
    t.wait_text("Le serveur s'arrête.")  # told over TLS before the end
    t.wait_text("nouvelle tentative dans 1 s")
    t.wait_text("Nouvelle tentative dans 2 s", timeout=3 * TIMEOUT)
    again = tls_server("good", reserved_ports)
    t.wait_text("Reconnecté à", timeout=4 * TIMEOUT)
    t.wait(lambda t: t.input_row().endswith("· tls]"), "the TLS mark back in the status")
    again.wait_log(r"alice a rejoint la discussion")


def test_a_server_back_without_tls_is_retried_not_given_up(
    server, tls_server, reserved_ports, certs, joined_client
):
    srv = tls_server("good", reserved_ports)
    child = joined_client(OnTlsPort(srv), args=("--tls-ca", certs.ca))
    t = child.term
    srv.stop()
    t.wait_text("Connexion au serveur perdue")
    server(port=srv.tls_port)  # a server comes back on that port, without TLS
    t.wait_text("le serveur ne parle peut-être pas TLS sur ce port. Nouvelle tentative dans",
                timeout=4 * TIMEOUT)
    t.wait(  # and once more, after a longer wait: it keeps trying
        lambda t: child.transcript.getvalue().count("négociation TLS impossible") >= 2,
        "a second attempt",
        timeout=6 * TIMEOUT,
    )
    child.sendcontrol("d")  # Ctrl-D on the empty line, offline: leaves at once
    assert wait_child_exit(child) == 0


@pytest.mark.parametrize("cert, reason, alert", [
    ("self_signed", UNKNOWN_AUTHORITY + ".", "tlsv1 alert unknown ca"),
    ("expired", "certificat expiré le 02/01/2020 à 12:00 UTC.",
     "sslv3 alert certificate expired"),
])
def test_a_certificate_refused_on_reconnection_ends_the_client(
    tls_server, reserved_ports, certs, joined_client, cert, reason, alert
):
    srv = tls_server("good", reserved_ports)
    child = joined_client(OnTlsPort(srv), args=("--tls-ca", certs.ca))
    t = child.term
    srv.stop()
    t.wait_text("Connexion au serveur perdue")
    # Back on the same port with a certificate the client cannot accept: an impostor, or
    # a server whose certificate changed. Either way it is not retried.
    impostor = tls_server(cert, reserved_ports)
    child.expect_exact(refused(srv.tls_port, reason), timeout=4 * TIMEOUT)
    assert wait_child_exit(child) == 1
    wait_stderr(impostor, rf"connexion TLS refusée \(127\.0\.0\.1:\d+\) : {alert}$")
    assert len(tls_refusals(impostor)) == 1
    assert impostor.count_log("a rejoint") == 0
