"""Graceful shutdown: SIGINT, SIGTERM, SIGHUP and the console's /quit tell every client
that the server stops, flush what was queued for them (within a bound), close every
socket and exit with status 0."""

import os
import signal
import socket
import subprocess
import time

import pytest

from conftest import (
    EXIT_TIMEOUT,
    LISTENING,
    NO_CLIENT_LIMITS,
    SERVER_BIN,
    TIMEOUT,
    LineClient,
    assert_no_sanitizer_report,
    sanitizer_env,
    wait_stderr,
)

STOPPING = "* Le serveur s'arrête."
# SHUTDOWN_FLUSH_MS (loop.h) plus a sweep (LOOP_SWEEP_MS): the longest a stopping server
# waits for a client that does not read.
SHUTDOWN_BOUND_S = 2.25


def stop_with(srv, sig):
    """Sends sig to the server by pid and returns its exit status."""
    os.kill(srv.pid, sig)
    return srv.wait_exit()


@pytest.mark.parametrize("sig, name", [(signal.SIGTERM, "SIGTERM"), (signal.SIGINT, "SIGINT"),
                                       (signal.SIGHUP, "SIGHUP")])
def test_stop_signal_tells_every_client_then_closes_and_exits_0(server, chat, sig, name):
    srv = server()
    alice, bob, carol = chat(srv, "alice", "bob", "carol")
    assert stop_with(srv, sig) == 0
    for c in (alice, bob, carol):
        assert c.expect_closed() == [STOPPING]
    assert srv.count_log(rf"Arrêt du serveur \(signal {name}\)") == 1
    assert srv.count_log(r"Serveur arrêté : 3 clients prévenus\.") == 1
    # Nobody is told of anyone's leave, and no leave is logged: the server is what went.
    assert srv.count_log(r"est déconnecté") == 0


def test_a_client_still_giving_its_pseudo_is_told_too(server, connect):
    srv = server()
    c = connect(srv.port)
    c.expect_exact("? Entrez votre pseudo :")
    assert stop_with(srv, signal.SIGTERM) == 0
    assert c.expect_closed() == [STOPPING]
    assert srv.count_log(r"Serveur arrêté : 1 client prévenu\.") == 1


def test_nobody_connected_logs_no_count(server):
    srv = server()
    assert stop_with(srv, signal.SIGTERM) == 0
    assert srv.log_lines[-1].endswith("Arrêt du serveur (signal SIGTERM)")


# Enough to fill a stalled reader's socket on loopback (the kernel's send buffer grows to
# 4 MiB) and leave megabytes queued in the server behind it.
BURST_LINES = 1500
BURST_TEXT = "y" * 4000


def queue_a_burst_for(srv, chat, reader):
    """A talker sends BURST_LINES long lines and quits; returns once the server has read
    them all (it handles the /quit after them), with much of it queued for reader."""
    (talker,) = chat(srv, "talker")
    reader.expect_exact("* talker a rejoint la discussion")
    for i in range(BURST_LINES):
        talker.send_line(f"{i} {BURST_TEXT}")
    talker.send_line("/quit")
    talker.expect_closed(timeout=4 * TIMEOUT)


def test_output_queued_before_the_stop_is_delivered_before_the_notice(server, chat, connect):
    """A reader is owed megabytes when the server stops: it still gets all of it, in
    order, then the notice, then the end of the connection."""
    srv = server(*NO_CLIENT_LIMITS, "--max-backlog", "67108864")
    slow = connect(srv.port, name="slow", rcvbuf=4096)
    slow.join("slow")
    queue_a_burst_for(srv, chat, slow)
    os.kill(srv.pid, signal.SIGTERM)
    lines = slow.expect_closed(timeout=4 * TIMEOUT)
    assert srv.wait_exit() == 0
    assert lines[:BURST_LINES] == [f"> talker: {i} {BURST_TEXT}" for i in range(BURST_LINES)]
    assert lines[BURST_LINES:] == ["* talker est déconnecté", STOPPING]
    assert srv.count_log(r"Serveur arrêté : 1 client prévenu\.") == 1
    assert "fermée avant d'avoir lu" not in srv.stderr


def test_a_client_that_does_not_read_cannot_hold_the_shutdown(server, chat, connect):
    srv = server(*NO_CLIENT_LIMITS, "--max-backlog", "67108864")
    stalled = connect(srv.port, name="stalled", rcvbuf=4096)
    stalled.join("stalled")
    queue_a_burst_for(srv, chat, stalled)  # and stalled never reads again
    start = time.monotonic()
    os.kill(srv.pid, signal.SIGTERM)
    assert srv.wait_exit() == 0
    took = time.monotonic() - start
    assert took < SHUTDOWN_BOUND_S + 1.0, f"shutdown took {took:.2f} s"
    assert took > SHUTDOWN_BOUND_S - 0.5, f"shutdown took only {took:.2f} s: nothing waited"
    assert wait_stderr(srv, r"1 connexion fermée avant d'avoir lu tout ce qui lui restait") == 1


def test_console_quit_from_a_pipe_stops_the_server(server, chat):
    srv = server(stdin=subprocess.PIPE)
    (alice,) = chat(srv, "alice")
    srv.proc.stdin.write(b"/quit\n")
    srv.proc.stdin.flush()
    assert alice.expect_closed() == [STOPPING]
    assert srv.wait_exit() == 0
    assert srv.count_log(r"Console : /quit$") == 1
    assert srv.count_log(r"Arrêt du serveur \(commande /quit de la console\)") == 1


def test_console_reads_the_commands_piped_after_the_address(server, connect):
    """Without --host, the first line of a piped stdin is the address and the next ones are
    console commands: stdio must not swallow them while reading the address."""
    srv = server("--port", "0", "--threads", "2", raw=True, stdin=subprocess.PIPE)
    srv.proc.stdin.write(b"127.0.0.1\n/nope\n/quit\n")
    srv.proc.stdin.flush()
    assert srv.wait_exit() == 0
    assert srv.count_log(r"Arrêt du serveur \(commande /quit de la console\)") == 1
    assert "Commande inconnue : /nope" in srv.stderr


def test_console_end_of_input_leaves_the_server_running(server, chat):
    srv = server(stdin=subprocess.PIPE)
    srv.proc.stdin.close()
    alice, bob = chat(srv, "alice", "bob")  # served after the console stopped
    alice.send_line("toujours là")
    bob.expect_exact("> alice: toujours là")
    srv.stop()


def test_console_with_stdin_closed_is_skipped():
    """A server started with descriptor 0 closed runs without console; no socket lands on
    descriptor 0 to be read as commands. Popen cannot close descriptor 0 in the child; a
    shell's <&- can."""
    p = subprocess.Popen(
        [
            "/bin/sh",
            "-c",
            'exec "$0" --host 127.0.0.1 --port 0 --threads 2 --db :memory: <&-',
            str(SERVER_BIN),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=sanitizer_env(),
    )
    try:
        line = p.stdout.readline().decode()
        m = LISTENING.search(line)
        assert m, line
        c = LineClient(int(m.group("port")), name="probe")
        c.join("probe")
        c.send_line("/quit")
        c.expect_closed()
    finally:
        p.send_signal(signal.SIGTERM)
        out, err = p.communicate(timeout=EXIT_TIMEOUT)
    assert p.returncode == 0, err.decode()
    assert_no_sanitizer_report(err.decode(), "server")
    assert "Arrêt du serveur (signal SIGTERM)" in out.decode()


def test_console_refuses_an_overlong_line_and_goes_on(server):
    srv = server(stdin=subprocess.PIPE)
    srv.proc.stdin.write(b"/" + b"q" * 5000 + b"\n/quit\n")
    srv.proc.stdin.flush()
    assert srv.wait_exit() == 0
    assert "Ligne trop longue (4096 octets au maximum) : elle a été ignorée." in srv.stderr


def test_console_last_line_without_newline_is_run_at_end_of_input(server):
    srv = server(stdin=subprocess.PIPE)
    srv.proc.stdin.write(b"/quit")
    srv.proc.stdin.close()
    assert srv.wait_exit() == 0
    assert srv.count_log(r"Arrêt du serveur \(commande /quit de la console\)") == 1


def test_console_says_what_a_line_that_is_no_command_is(server):
    srv = server(stdin=subprocess.PIPE)
    srv.proc.stdin.write(b"bonjour\n/quit\n")
    srv.proc.stdin.flush()
    assert srv.wait_exit() == 0
    assert "Ce n'est pas une commande" in srv.stderr


def test_signal_during_a_half_typed_console_line_still_stops(server):
    srv = server(stdin=subprocess.PIPE)
    srv.proc.stdin.write(b"/qu")  # no newline, pipe left open
    srv.proc.stdin.flush()
    srv.stop()


def test_the_port_is_closed_once_the_server_has_stopped(server, chat):
    srv = server()
    (alice,) = chat(srv, "alice")
    os.kill(srv.pid, signal.SIGTERM)
    alice.expect_closed()
    assert srv.wait_exit() == 0
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", srv.port), timeout=TIMEOUT).close()
