"""The server's command line: --help, --version, bad options, and the address prompt."""

import errno
import io
import re
import socket
import subprocess

import pexpect
import pytest

from conftest import (
    EXIT_TIMEOUT,
    LISTENING,
    PSEUDO_PROMPT,
    SERVER_BIN,
    STAMP,
    TIMEOUT,
    assert_no_sanitizer_report,
    have_ipv6_loopback,
    require_binary,
    run_server,
    sanitizer_env,
    with_own_db,
)

# TEST-NET-1 (RFC 5737): never assigned to a local interface, so bind() fails with
# EADDRNOTAVAIL at once and no packet is sent anywhere.
UNBINDABLE = "192.0.2.1"
ADDRESS_PROMPT = "Entrez l'adresse IP d'écoute [127.0.0.1] : "
BIND_ERROR = (
    f"Impossible d'écouter sur {UNBINDABLE}, port 0 : "
    "cette adresse n'appartient pas à cette machine."
)
# Options for a server that asks for its address: everything but --host.
NO_HOST = ("--port", "0", "--threads", "2")


def require_unbindable():
    try:
        with socket.socket() as s:
            s.bind((UNBINDABLE, 0))
    except OSError as e:
        assert e.errno == errno.EADDRNOTAVAIL, e
        return
    pytest.skip(f"{UNBINDABLE} is assigned to this machine")


def port_is_free(port):
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server does
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def prompt_answer(srv, text):
    srv.proc.stdin.write(text)
    srv.proc.stdin.flush()


def assert_accepts_a_pseudo(connect, srv, host="127.0.0.1"):
    c = connect(srv.port, host=host, name="probe")
    c.expect_exact(PSEUDO_PROMPT)


# ---------------------------------------------------------------- options


def test_help_prints_usage_on_stdout_and_exits_0():
    p = run_server(["--help"])
    assert p.returncode == 0
    assert p.stdout.startswith("Usage : causerie-server")
    for option in ("--host", "--port", "--threads", "--max-line", "--max-backlog", "--version"):
        assert option in p.stdout
    assert p.stderr == ""


def test_version_prints_name_and_version_and_exits_0():
    p = run_server(["--version"])
    assert p.returncode == 0
    assert re.fullmatch(r"causerie-server \d+\.\d+\.\d+\n", p.stdout), p.stdout
    assert p.stderr == ""


@pytest.mark.parametrize(
    "args, message",
    [
        (["--bogus"], "causerie-server : option inconnue : --bogus"),
        (["--port"], "causerie-server : l'option --port demande une valeur"),
        (["--port", "65536"], "causerie-server : valeur invalide pour --port : « 65536 »"),
        (["--port", "12ab"], "causerie-server : valeur invalide pour --port : « 12ab »"),
        (["--threads", "0"], "causerie-server : valeur invalide pour --threads : « 0 »"),
        (["--max-line", "0"], "causerie-server : valeur invalide pour --max-line : « 0 »"),
        (
            ["--max-backlog", "10"],
            "causerie-server : valeur invalide pour --max-backlog : « 10 »",
        ),
        (["--host", ""], "causerie-server : valeur invalide pour --host : «  »"),
        (["surplus"], "causerie-server : argument inattendu : surplus"),
    ],
    ids=["unknown", "missing-value", "port-range", "port-garbage", "threads-zero",
         "max-line-zero", "max-backlog-small", "empty-host", "operand"],
)
def test_bad_option_exits_2_with_french_message_on_stderr(args, message):
    p = run_server(args)
    assert p.returncode == 2
    assert p.stdout == ""
    assert p.stderr.startswith(message), p.stderr


# ---------------------------------------------------------------- listening


def test_listening_line_is_timestamped_and_names_address_port_and_threads(server):
    srv = server(threads=3)
    line = next(line for line in srv.log_lines if LISTENING.search(line))
    assert re.fullmatch(
        STAMP + rf"En écoute sur 127\.0\.0\.1:{srv.port} \(3 fils d'exécution\)", line
    ), line
    assert srv.port > 0


def test_sigterm_logs_shutdown_and_exits_0(server):
    srv = server()
    srv.stop()  # asserts the status and the log line
    assert re.fullmatch(STAMP + r"Arrêt du serveur \(signal SIGTERM\)", srv.log_lines[-1])


def test_default_port_is_1234(server):
    if not port_is_free(1234):
        pytest.skip("port 1234 is in use on this machine")
    srv = server("--host", "127.0.0.1", "--threads", "2", raw=True)
    try:
        srv.wait_listening()
    except AssertionError:
        if srv.wait_exit() == 1 and "adresse déjà utilisée" in srv.stderr:
            pytest.skip("port 1234 was taken meanwhile (another test run?)")
        raise
    assert (srv.address, srv.port) == ("127.0.0.1", 1234)


# ---------------------------------------------------------------- the address prompt


def test_without_host_prompts_for_the_address_and_empty_line_means_127_0_0_1(server, connect):
    srv = server(*NO_HOST, raw=True, stdin=subprocess.PIPE)
    prompt_answer(srv, b"\n")
    srv.wait_listening()
    first = srv.log_lines[0]
    assert first.startswith(ADDRESS_PROMPT), first  # the prompt comes before anything else
    assert "adresse IP" in first and "[127.0.0.1]" in first
    assert srv.address == "127.0.0.1"
    assert_accepts_a_pseudo(connect, srv)


def test_without_host_end_of_input_means_127_0_0_1(server, connect):
    srv = server(*NO_HOST, raw=True, stdin=subprocess.PIPE)
    srv.proc.stdin.close()
    srv.wait_listening()
    assert srv.log_lines[0].startswith(ADDRESS_PROMPT)
    assert srv.address == "127.0.0.1"
    assert_accepts_a_pseudo(connect, srv)


def test_without_host_end_of_input_ends_the_prompt_line_before_logging(server):
    # With nobody to type Enter, the server ends the prompt's line itself, so that the
    # log that follows (to a file or a pipe) starts on a line of its own.
    srv = server(*NO_HOST, raw=True, stdin=subprocess.PIPE)
    srv.proc.stdin.close()
    srv.wait_listening()
    assert srv.log_lines[0] == ADDRESS_PROMPT, srv.log_lines[:2]
    assert re.fullmatch(STAMP + LISTENING.pattern, srv.log_lines[1]), srv.log_lines[:2]


def test_typed_ipv6_loopback_listens_on_it(server, connect):
    if not have_ipv6_loopback():
        pytest.skip("no IPv6 loopback on this machine")
    srv = server(*NO_HOST, raw=True, stdin=subprocess.PIPE)
    prompt_answer(srv, b"::1\n")
    srv.wait_listening()
    assert srv.address == "[::1]"
    c = connect(srv.port, host="::1", name="v6")
    c.join("alice")
    srv.wait_log(r"alice a rejoint la discussion \(\[::1\]:\d+\)")


def test_typed_bracketed_ipv6_loopback_listens_on_it(server, connect):
    if not have_ipv6_loopback():
        pytest.skip("no IPv6 loopback on this machine")
    srv = server(*NO_HOST, raw=True, stdin=subprocess.PIPE)
    prompt_answer(srv, b"[::1]\n")
    srv.wait_listening()
    assert srv.address == "[::1]"
    assert_accepts_a_pseudo(connect, srv, host="::1")


def test_typed_host_name_localhost_is_accepted(server, connect):
    srv = server(*NO_HOST, raw=True, stdin=subprocess.PIPE)
    prompt_answer(srv, b"localhost\n")
    srv.wait_listening()
    assert srv.address in ("127.0.0.1", "[::1]")
    assert_accepts_a_pseudo(connect, srv, host=srv.address.strip("[]"))


def test_host_option_accepts_host_name_localhost(server, connect):
    srv = server(host="localhost")
    assert srv.address in ("127.0.0.1", "[::1]")
    assert_accepts_a_pseudo(connect, srv, host=srv.address.strip("[]"))


def test_typed_unbindable_address_without_terminal_fails_with_status_1():
    require_unbindable()
    p = run_server(list(NO_HOST), input=f"{UNBINDABLE}\n127.0.0.1\n".encode())
    assert p.returncode == 1
    assert BIND_ERROR in p.stderr, p.stderr
    assert p.stdout.count("Entrez l'adresse IP") == 1  # not asked again: nobody to answer
    assert "En écoute" not in p.stdout


def test_host_option_unbindable_address_fails_with_status_1():
    require_unbindable()
    p = run_server(["--host", UNBINDABLE, "--port", "0"])
    assert p.returncode == 1
    assert BIND_ERROR in p.stderr, p.stderr
    assert "Entrez" not in p.stdout


def test_host_option_unknown_name_fails_with_status_1():
    p = run_server(["--host", "nom.invalid", "--port", "0"])
    assert p.returncode == 1
    assert "Adresse « nom.invalid » invalide" in p.stderr, p.stderr


def test_typed_unbindable_address_on_terminal_asks_again(connect):
    require_unbindable()
    require_binary(SERVER_BIN)
    child = pexpect.spawn(
        str(SERVER_BIN),
        with_own_db(list(NO_HOST), None),
        encoding="utf-8",
        timeout=TIMEOUT,
        dimensions=(24, 100),
        env=sanitizer_env({"TERM": "dumb"}),
    )
    child.logfile_read = transcript = io.StringIO()
    try:
        child.expect_exact(ADDRESS_PROMPT)
        child.sendline(UNBINDABLE)
        child.expect_exact(BIND_ERROR)
        child.expect_exact(ADDRESS_PROMPT)
        child.sendline("127.0.0.1")
        child.expect(LISTENING.pattern)
        assert child.match.group("addr") == "127.0.0.1"
        c = connect(int(child.match.group("port")))
        c.expect_exact(PSEUDO_PROMPT)
        child.kill(15)  # SIGTERM, by pid
        child.expect_exact("Arrêt du serveur (signal SIGTERM)")
        child.expect(pexpect.EOF, timeout=EXIT_TIMEOUT)
        child.close()
        assert child.exitstatus == 0, (child.exitstatus, child.signalstatus)
    finally:
        if child.isalive():  # the test failed half-way: stop it as the fixtures do
            child.kill(15)
            try:
                child.expect(pexpect.EOF, timeout=EXIT_TIMEOUT)
            finally:
                child.close(force=True)
    assert_no_sanitizer_report(transcript.getvalue(), "server")
