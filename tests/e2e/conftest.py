"""conftest.py - servers, raw line clients and the terminal client for the e2e suite.

Everything here runs real processes on real sockets, on 127.0.0.1 only. Every wait has a
deadline (TIMEOUT seconds unless told otherwise) and nothing sleeps to synchronise: a test
waits for the line that proves the event, a notice on a socket or an entry in the server's
log. Each fixture stops what it started, by pid, with SIGTERM. A server must then exit
with status 0 after logging its shutdown, and a client with the status it gives on SIGTERM
(128 + 15); a client that ended during the test must have exited with 0, unless the test
said which status it expects (expect_status=) or took the status to check it itself
(wait_child_exit(), Proc.wait_exit()). Whatever a process wrote to stderr (or to its
terminal) must hold no sanitizer report, so the same tests catch memory and thread bugs when
CAUSERIE_BUILD points at build-asan/ or build-tsan/ (binaries at
$CAUSERIE_BUILD/causerie-server and $CAUSERIE_BUILD/causerie, relative to the repository
root; default build/).
"""

import io
import os
import re
import signal
import socket
import ssl
import struct
import subprocess
import threading
import time
from pathlib import Path
from typing import NamedTuple

import pytest

ROOT = Path(__file__).resolve().parents[2]
BUILD = ROOT / os.environ.get("CAUSERIE_BUILD", "build")  # an absolute path wins over ROOT
SERVER_BIN = BUILD / "causerie-server"
CLIENT_BIN = BUILD / "causerie"

# Seconds for any one wait: an expect(), a socket read, a log line.
TIMEOUT = 5
# Server options that lift the limits meant for hostile clients, for tests about volume
# rather than about those limits: flood control, and the connections per address (every
# test client comes from 127.0.0.1).
NO_FLOOD_CONTROL = ("--flood-rate", "0")
NO_CLIENT_LIMITS = ("--flood-rate", "0", "--max-per-ip", "0")

# Seconds a process gets to exit after SIGTERM or end of input. Sanitizer builds check
# for leaks at exit, which takes a moment with many allocations.
EXIT_TIMEOUT = 15

# Any of these on a process's stderr is a sanitizer report, and fails the test.
SANITIZER_MARKERS = (
    "ERROR: AddressSanitizer",
    "runtime error",
    "WARNING: ThreadSanitizer",
    "ERROR: ThreadSanitizer",
    "LeakSanitizer",
)

# "2026-11-25 06:29:59 " before every line the server logs.
STAMP = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d "
LISTENING = re.compile(
    r"En écoute sur (?P<addr>\[[^\]]+\]|[^\s\[\]]+):(?P<port>\d+) "
    r"\((?P<threads>\d+) fils? d'exécution\)"
)
TLS_LISTENING = re.compile(r"Port chiffré \(TLS\) : (?:\[[^\]]+\]|[^\s\[\]]+):(?P<port>\d+)")
IRC_LISTENING = re.compile(r"Port IRC : (?:\[[^\]]+\]|[^\s\[\]]+):(?P<port>\d+)")
WEB_LISTENING = re.compile(r"Page web : (?P<scheme>https?)://(?:\[[^\]]+\]|[^\s\[\]/]+):(?P<port>\d+)/")
PSEUDO_PROMPT = "? Entrez votre pseudo :"
# What the terminal client shows when it asks for the address, then for the pseudo.
ASK_PSEUDO = "Entrez votre pseudo : "


def address_prompt(port=1234):
    return f"Adresse du serveur [127.0.0.1:{port}] : "


def sanitizer_env(extra=None):
    """The environment for a program under test: French-capable UTF-8 locale, and
    sanitizer reports written to stderr without aborting, so the whole report is seen."""
    env = dict(os.environ)
    env.update(
        LANG="C.UTF-8",
        LC_ALL="C.UTF-8",
        ASAN_OPTIONS="detect_leaks=1:abort_on_error=0",
        UBSAN_OPTIONS="print_stacktrace=1",
        TSAN_OPTIONS="halt_on_error=0",
    )
    env.pop("LANGUAGE", None)
    if extra:
        env.update(extra)
    return env


def assert_no_sanitizer_report(text, what):
    for marker in SANITIZER_MARKERS:
        assert marker not in text, f"{what}: sanitizer report ({marker!r}):\n{text[-20000:]}"


def require_binary(path):
    if not path.exists():
        pytest.fail(f"{path} does not exist: build it first (make {path.relative_to(ROOT)})")


# ---------------------------------------------------------------------------- the server


class Proc:
    """A program under test with its standard streams on pipes. Its stdout and stderr are
    drained by threads for its whole life, so neither pipe ever fills; stdout lines are
    kept in log_lines (the server's log, or what the client printed)."""

    def __init__(self, binary, args, stdin=subprocess.DEVNULL, env=None):
        require_binary(binary)
        self.args = [str(binary), *args]
        self.proc = subprocess.Popen(
            self.args,
            stdin=stdin,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=sanitizer_env(env),
        )
        self.pid = self.proc.pid
        self.log_lines = []
        self.stderr_chunks = []
        self._cond = threading.Condition()
        self._stdout_eof = False
        self._stopped = False
        self.status_seen = False  # the test has been handed the exit status (wait_exit())
        self._readers = [
            threading.Thread(target=self._read_stdout, daemon=True),
            threading.Thread(target=self._read_stderr, daemon=True),
        ]
        for t in self._readers:
            t.start()

    def _read_stdout(self):
        for raw in iter(self.proc.stdout.readline, b""):
            line = raw.rstrip(b"\n").decode("utf-8", "replace")
            with self._cond:
                self.log_lines.append(line)
                self._cond.notify_all()
        with self._cond:
            self._stdout_eof = True
            self._cond.notify_all()

    def _read_stderr(self):
        for chunk in iter(lambda: self.proc.stderr.read1(65536), b""):
            with self._cond:
                self.stderr_chunks.append(chunk)

    @property
    def stderr(self):
        with self._cond:
            return b"".join(self.stderr_chunks).decode("utf-8", "replace")

    def log_mark(self):
        """The number of stdout lines so far: pass it as after= to wait past them."""
        with self._cond:
            return len(self.log_lines)

    def wait_log(self, pattern, timeout=TIMEOUT, after=0):
        """Waits for a stdout line (from index after on) that pattern matches (re.search);
        returns the match. Fails at once if stdout ends first."""
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        with self._cond:
            i = after
            while True:
                while i < len(self.log_lines):
                    m = rx.search(self.log_lines[i])
                    if m:
                        return m
                    i += 1
                remaining = deadline - time.monotonic()
                if self._stdout_eof or remaining <= 0:
                    why = "stdout ended" if self._stdout_eof else f"nothing in {timeout} s"
                    raise AssertionError(
                        f"{self.args[0]}: no line matching {pattern!r} ({why}).\n"
                        f"stdout:\n" + "\n".join(self.log_lines[-50:]) + f"\nstderr:\n{self.stderr}"
                    )
                self._cond.wait(remaining)

    def count_log(self, pattern):
        rx = re.compile(pattern)
        with self._cond:
            return sum(1 for line in self.log_lines if rx.search(line))

    def wait_exit(self, timeout=EXIT_TIMEOUT):
        """Waits for the process to exit on its own; returns its status. Checks stderr
        for sanitizer reports."""
        self.status_seen = True
        try:
            status = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.kill(self.pid, signal.SIGKILL)
            self.proc.wait(TIMEOUT)
            self._finish()
            raise AssertionError(
                f"{self.args[0]} ({self.pid}) did not exit within {timeout} s; killed"
            )
        self._finish()
        return status

    def _finish(self):
        if self._stopped:
            return
        self._stopped = True
        for t in self._readers:
            t.join(TIMEOUT)
        self.proc.stdout.close()
        self.proc.stderr.close()
        if self.proc.stdin:
            try:
                self.proc.stdin.close()
            except BrokenPipeError:
                pass
        assert_no_sanitizer_report(self.stderr, f"{self.args[0]} ({self.pid})")


class Server(Proc):
    """One causerie-server process."""

    def __init__(self, args, stdin=subprocess.DEVNULL, env=None):
        super().__init__(SERVER_BIN, with_own_db(with_free_ports(args), env), stdin=stdin, env=env)
        self.port = None
        self.address = None
        self.threads = None
        self.tls_port = None  # with --tls-cert
        self.web_port = None  # unless --no-web
        self.web_scheme = None  # "http", or "https" with --tls-cert
        self.irc_port = None  # with --irc-port

    def wait_listening(self, timeout=None):
        """Waits for the listening line, then for those of the TLS port and the web port
        when the options open them; returns the listening line's match. The first server
        of a cluster of engines creates the replicated stream and buckets first, each
        waiting for its replicas to elect a leader (about 5 s in all here): three times
        the usual wait, for it."""
        if timeout is None:
            timeout = TIMEOUT * 3 if "--cluster" in self.args else TIMEOUT
        m = self.wait_log(LISTENING, timeout)
        self.address = m.group("addr")
        self.port = int(m.group("port"))
        self.threads = int(m.group("threads"))
        if "--tls-cert" in self.args:
            self.tls_port = int(self.wait_log(TLS_LISTENING, timeout).group("port"))
        if "--no-web" not in self.args:
            w = self.wait_log(WEB_LISTENING, timeout)
            self.web_port = int(w.group("port"))
            self.web_scheme = w.group("scheme")
        if "--irc-port" in self.args:
            self.irc_port = int(self.wait_log(IRC_LISTENING, timeout).group("port"))
        return m

    def _status_kib(self, field):
        with open(f"/proc/{self.pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
        raise AssertionError(f"no {field} in /proc/{self.pid}/status")

    def rss_kib(self):
        """Resident memory now, from VmRSS in /proc/PID/status, in KiB."""
        return self._status_kib("VmRSS")

    def peak_rss_kib(self):
        """The most resident memory so far (VmHWM), in KiB."""
        return self._status_kib("VmHWM")

    def stop(self):
        """SIGTERM by pid; requires exit status 0, the shutdown log line, and a stderr
        free of sanitizer reports."""
        if self._stopped:
            return
        running = self.proc.poll() is None
        if running:
            os.kill(self.pid, signal.SIGTERM)
        status = self.wait_exit()
        assert running, f"server {self.pid} had already exited with status {status}"
        assert status == 0, (
            f"server {self.pid} exited with status {status} after SIGTERM\n"
            f"stderr:\n{self.stderr[-20000:]}"
        )
        assert self.count_log(r"Arrêt du serveur \(signal SIGTERM\)") == 1, "\n".join(
            self.log_lines[-20:]
        )


# ---------------------------------------------------------------------------- polling


def wait_until(condition, what, timeout=TIMEOUT, every=0.01):
    """Polls condition() until it returns a true value, which is returned; fails after
    timeout seconds, saying what (a text, or a function giving it then). For events that
    leave no line to wait for, only a trace in /proc or on stderr."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s: {what() if callable(what) else what}")
        time.sleep(every)


def stderr_count(srv, pattern):
    """Warnings and errors go to stderr (log.c), which Proc keeps as one text."""
    return len(re.findall(pattern, srv.stderr))


def wait_stderr(srv, pattern, count=1, timeout=TIMEOUT):
    """Waits until pattern occurs at least count times on the server's stderr; returns the
    number of occurrences. A bounded poll: Proc signals new stdout lines, not stderr."""
    return wait_until(
        lambda: stderr_count(srv, pattern) >= count and stderr_count(srv, pattern),
        lambda: f"{count} × {pattern!r} on the server's stderr:\n{srv.stderr[-3000:]}",
        timeout,
    )


def stop_all(servers):
    """Stops servers, last started first; fails with every server's complaint at once."""
    errors = []
    for s in reversed(servers):
        try:
            s.stop()
        except AssertionError as e:
            errors.append(str(e))
    if errors:
        pytest.fail("\n\n".join(errors))


def with_free_ports(args):
    """args, with the ports a test does not name left to the system: the web port (8080
    by default) and, with a certificate, the TLS port (1235), so that servers started at
    once never compete for them. Not for --help or --version, which start nothing."""
    if "--help" in args or "--version" in args:
        return args
    args = list(args)
    if "--web-port" not in args and "--no-web" not in args:
        args += ["--web-port", "0"]
    if "--tls-cert" in args and "--tls-port" not in args:
        args += ["--tls-port", "0"]
    return args


def with_own_db(args, env):
    """args, with a database of the server's own: an in-memory one unless the test names a
    --db, or an XDG_STATE_HOME for the default one, so that no server under test writes
    to the home directory's and no two share one."""
    if "--help" in args or "--version" in args or "--db" in args:
        return args
    if env and "XDG_STATE_HOME" in env:
        return args
    return ["--db", ":memory:"] + list(args)  # first: a last option may lack its value


@pytest.fixture(scope="session")
def certs(tmp_path_factory):
    """An authority and server certificates made with the openssl command, once per run:
    see wire.make_certs(); wire.tls_args(certs) gives a server the good pair."""
    from wire import make_certs  # wire imports this module: imported when first needed

    return make_certs(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def server():
    """Factory: server(*extra_args, threads=2, host="127.0.0.1", port=0) starts a server
    and waits for its listening line. With raw=True, args are the whole command line and
    nothing is waited for (stdin= and env= are passed through)."""
    started = []

    def start(*extra, threads=2, host="127.0.0.1", port=0, raw=False, stdin=None, env=None):
        if raw:
            args = list(extra)
        else:
            args = []
            if host is not None:
                args += ["--host", host]
            if port is not None:
                args += ["--port", str(port)]
            if threads is not None:
                args += ["--threads", str(threads)]
            args += list(extra)
        s = Server(args, stdin=subprocess.DEVNULL if stdin is None else stdin, env=env)
        started.append(s)
        if not raw:
            s.wait_listening()
        return s

    yield start
    stop_all(started)


def run_program(binary, args, input=None, timeout=EXIT_TIMEOUT):
    """Runs a program to completion (for --help, failures, piped input): stdin is input,
    or empty; checks stderr for sanitizer reports and returns the CompletedProcess with
    its output decoded."""
    require_binary(binary)
    p = subprocess.run(
        [str(binary), *[str(a) for a in args]],
        input=input,
        stdin=None if input is not None else subprocess.DEVNULL,
        capture_output=True,
        env=sanitizer_env(),
        timeout=timeout,
    )
    out = p.stdout.decode("utf-8", "replace")
    err = p.stderr.decode("utf-8", "replace")
    assert_no_sanitizer_report(err, binary.name)
    return subprocess.CompletedProcess(p.args, p.returncode, out, err)


def run_server(args, input=None, timeout=EXIT_TIMEOUT):
    return run_program(SERVER_BIN, with_own_db(list(args), None), input, timeout)


def run_client(args, input=b"", timeout=EXIT_TIMEOUT):
    return run_program(CLIENT_BIN, args, input, timeout)


# ---------------------------------------------------------------------------- raw clients


class Closed(AssertionError):
    """The server closed the connection while a line was expected."""


class LineClient:
    """A raw client speaking the line protocol, like nc (or openssl s_client, with tls=, an
    ssl.SSLContext: the handshake is done before the constructor returns). Lines are str
    without '\\n'. Subclasses carry the lines otherwise (wire.WsClient, in WebSocket
    frames) by overriding _take() and _send()."""

    def __init__(self, port, host="127.0.0.1", name=None, rcvbuf=None, source=None, tls=None,
                 server_hostname=None):
        self.name = name or "client"
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        if source:  # another address of 127.0.0.0/8, to come from somewhere else
            self.sock.bind((source, 0))
        if rcvbuf:
            # Before connect(), so the window the server sees is small from the start.
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout(TIMEOUT)
        self.sock.connect((host, port))
        if tls is not None:
            self.sock = tls.wrap_socket(self.sock, server_hostname=server_hostname or host)
        self._buf = bytearray()
        self._lines = []  # complete lines not yet read, bytes
        self._next = 0
        self.eof = False
        self.pseudo = None

    def fileno(self):
        return self.sock.fileno()

    # -- sending

    def send_raw(self, data):
        self.sock.sendall(data)

    def send_line(self, text, end=b"\n"):
        data = text.encode("utf-8") if isinstance(text, str) else text
        self._send(data, end)

    def _send(self, data, end):
        """Sends one line's bytes and its end."""
        self.sock.sendall(data + end)

    # -- receiving

    def _fill(self, deadline, what):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            partial = bytes(self._buf[:200])
            raise AssertionError(f"{self.name}: no {what} within the timeout; partial {partial!r}")
        self.sock.settimeout(remaining)
        try:
            chunk = self.sock.recv(1 << 16)
        except socket.timeout:
            return
        except (ConnectionResetError, ssl.SSLEOFError, ssl.SSLZeroReturnError):
            chunk = b""  # a TLS peer that went without its close_notify: an end too
        if not chunk:
            self.eof = True
            return
        self._take(chunk)

    def _take(self, chunk):
        """Adds what was read; the lines it completes join self._lines."""
        self._buf += chunk
        start = 0
        while True:
            i = self._buf.find(b"\n", start)
            if i < 0:
                break
            self._lines.append(bytes(self._buf[start:i]))
            start = i + 1
        del self._buf[:start]

    def has_line(self):
        return self._next < len(self._lines)

    def read_raw_line(self, timeout=TIMEOUT):
        deadline = time.monotonic() + timeout
        while not self.has_line():
            if self.eof:
                raise Closed(f"{self.name}: connection closed; partial {bytes(self._buf)!r}")
            self._fill(deadline, "line")
        line = self._lines[self._next]
        self._lines[self._next] = None
        self._next += 1
        if self._next > 4096:
            del self._lines[: self._next]
            self._next = 0
        return line

    def read_line(self, timeout=TIMEOUT):
        raw = self.read_raw_line(timeout)
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            raise AssertionError(f"{self.name}: the server sent invalid UTF-8: {raw!r}")

    def expect_line(self, expected, timeout=TIMEOUT):
        """The next line must start with expected (a str), or fully match it (a compiled
        regex). Returns the line (or the match, for a regex)."""
        line = self.read_line(timeout)
        if isinstance(expected, re.Pattern):
            m = expected.fullmatch(line)
            assert m, f"{self.name}: expected a line matching {expected.pattern!r}, got {line!r}"
            return m
        assert line.startswith(expected), f"{self.name}: expected {expected!r}..., got {line!r}"
        return line

    def expect_exact(self, expected, timeout=TIMEOUT):
        line = self.read_line(timeout)
        assert line == expected, f"{self.name}: expected {expected!r}, got {line!r}"
        return line

    def readlines_until(self, expected, timeout=TIMEOUT, max_lines=100000):
        """Reads lines until one starts with expected (str) or fully matches it (regex);
        returns every line read, that one last."""
        deadline = time.monotonic() + timeout
        seen = []
        while len(seen) < max_lines:
            line = self.read_line(max(0.0, deadline - time.monotonic()))
            seen.append(line)
            if isinstance(expected, re.Pattern):
                if expected.fullmatch(line):
                    return seen
            elif line.startswith(expected):
                return seen
        raise AssertionError(f"{self.name}: {max_lines} lines without {expected!r}")

    def expect_closed(self, timeout=TIMEOUT):
        """Waits for the server to close; returns the lines that came before."""
        deadline = time.monotonic() + timeout
        rest = []
        while True:
            while self.has_line():
                rest.append(self.read_line())
            if self.eof:
                return rest
            self._fill(deadline, "end of connection")

    # -- the handshake

    def join(self, pseudo):
        """Handshake: waits for the prompt, gives pseudo, asserts the welcome line."""
        self.expect_exact(PSEUDO_PROMPT)
        self.send_line(pseudo)
        text = pseudo if isinstance(pseudo, str) else pseudo.decode("utf-8")
        line = self.expect_line(f"+ Bienvenue, {text} ! ")
        self.pseudo = text
        self.name = text
        return line

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def reset(self):
        """Closes with an RST instead of a FIN (SO_LINGER with a zero timeout)."""
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.sock.close()


class Collector(threading.Thread):
    """Reads a LineClient's lines on a thread of its own, as a person would while others
    act, until a line fully matches `until` or `timeout` seconds pass. The client must not
    be used elsewhere until result() returns. Each line is kept with its arrival time."""

    def __init__(self, client, until, timeout, max_lines=1_000_000):
        super().__init__(daemon=True)
        self.client = client
        self.until = re.compile(until)
        self.timeout = timeout
        self.max_lines = max_lines
        self.lines = []
        self.times = []
        self.error = None
        self.start()

    def run(self):
        deadline = time.monotonic() + self.timeout
        try:
            for _ in range(self.max_lines):
                remaining = deadline - time.monotonic()
                line = self.client.read_line(max(0.0, remaining))
                self.times.append(time.monotonic())
                self.lines.append(line)
                if self.until.fullmatch(line):
                    return
            raise AssertionError(f"{self.client.name}: {self.max_lines} lines, none the last")
        except BaseException as e:  # handed to the test by result()
            self.error = e

    def result(self):
        self.join(self.timeout + TIMEOUT)
        assert not self.is_alive(), f"{self.client.name}: collector still running"
        if self.error:
            raise AssertionError(
                f"{self.client.name}: {self.error} (after {len(self.lines)} lines; "
                f"last: {self.lines[-3:]!r})"
            )
        return self.lines


@pytest.fixture
def connect(server):
    """Factory: connect(port, name=None) opens a LineClient, closed at teardown (before
    the servers stop)."""
    opened = []

    def open_client(port, name=None, host="127.0.0.1", rcvbuf=None, source=None):
        c = LineClient(port, host=host, name=name, rcvbuf=rcvbuf, source=source)
        opened.append(c)
        return c

    yield open_client
    for c in opened:
        c.close()


@pytest.fixture
def chat(connect):
    """Factory: chat(srv, *pseudos) joins one raw client per pseudo, in turn, and drains
    the join notices, so that every returned client has nothing left to read."""

    def join_all(srv, *pseudos):
        joined = []
        for p in pseudos:
            c = connect(srv.port, name=p)
            c.join(p)
            for other in joined:
                other.expect_exact(f"* {p} a rejoint la discussion")
            joined.append(c)
        return joined

    return join_all


class Pair(NamedTuple):
    """A server and two raw clients joined to it, alice first, then bob."""

    srv: Server
    alice: LineClient
    bob: LineClient


@pytest.fixture
def alice_bob(server, chat):
    """Factory: alice_bob(*args, **options) starts a server as server() does (same
    arguments, same defaults) and joins alice then bob to it as chat() does; returns
    Pair(srv, alice, bob), neither client with anything left to read. The two people most
    tests start from: `srv, alice, bob = alice_bob()`."""

    def start(*args, **options):
        srv = server(*args, **options)
        alice, bob = chat(srv, "alice", "bob")
        return Pair(srv, alice, bob)

    return start


# ---------------------------------------------------------------------------- the client


def client_env(term="dumb", extra=None):
    env = sanitizer_env()
    env["TERM"] = term
    env["INPUTRC"] = "/dev/null"  # no user key bindings or settings, unless a test gives some
    env.pop("COLUMNS", None)
    env.pop("LINES", None)
    env.pop("NO_COLOR", None)
    env.pop("COLORTERM", None)
    # The history of sent lines goes to the test's own directory, never the user's.
    env.setdefault("XDG_STATE_HOME", str(_state_dir()))
    env.update(extra or {})
    return env


_STATE_DIRS = []


def _state_dir():
    """A fresh directory for one client's history file, removed when the session ends."""
    import atexit
    import shutil
    import tempfile

    d = tempfile.mkdtemp(prefix="causerie-state-")
    if not _STATE_DIRS:
        atexit.register(lambda: [shutil.rmtree(x, ignore_errors=True) for x in _STATE_DIRS])
    _STATE_DIRS.append(d)
    return d


# The status a client exits with when the fixture ends it (main.c: a stop signal ends the
# client with 128 + its number, terminal restored).
STATUS_ON_SIGTERM = 128 + signal.SIGTERM


def exit_status_complaint(what, status, expected, ended_by_fixture, output):
    """None if a client's exit status is the one due, else the message that fails its test.
    The status due is the test's own, when it gave one (expect_status=); otherwise 0 for a
    client that ended during the test, STATUS_ON_SIGTERM for one the fixture ended."""
    declared = expected is not None
    if not declared:
        expected = STATUS_ON_SIGTERM if ended_by_fixture else 0
    if status == expected:
        return None
    if ended_by_fixture and declared:
        how = f"did not exit by itself within {EXIT_TIMEOUT} s; after SIGTERM it"
    elif ended_by_fixture:
        how = "was still running at teardown; after SIGTERM it"
    else:
        how = "ended by itself; it"
    hint = "" if declared else " (a test that expects another says so: expect_status=)"
    return (
        f"{what} {how} exited with status {status}, not {expected}{hint}\n"
        f"output:\n{output[-3000:]}"
    )


@pytest.fixture
def spawn_client():
    """Factory: spawn_client(*args, term="dumb", env=None, rows=24, cols=100,
    expect_status=None) runs the causerie client under a real pseudo-terminal (pexpect).
    At teardown a client still running gets SIGTERM and must then exit with
    STATUS_ON_SIGTERM; one that ended during the test must have exited with 0. A test whose
    client ends by itself with another status says so with expect_status= (or sets
    child.expect_status): the client is then given EXIT_TIMEOUT seconds to exit by itself
    before SIGTERM, and must have exited with that status. A status the test was handed by
    wait_child_exit() is the test's to check, and is not checked again here. Whatever the
    client printed is checked for sanitizer reports (its stderr is the terminal too)."""
    import pexpect

    spawned = []

    def spawn(*args, term="dumb", env=None, rows=24, cols=100, expect_status=None):
        require_binary(CLIENT_BIN)
        child = pexpect.spawn(
            str(CLIENT_BIN),
            [str(a) for a in args],
            encoding="utf-8",
            codec_errors="replace",
            timeout=TIMEOUT,
            dimensions=(rows, cols),
            env=client_env(term, env),
        )
        child.transcript = io.StringIO()
        child.logfile_read = _Tee(child.transcript)
        child.term = Term(child, rows, cols)
        child.logfile_read.term = child.term
        child.expect_status = expect_status
        child.status_seen = False  # set by wait_child_exit()
        spawned.append(child)
        return child

    yield spawn
    errors = []
    for child in spawned:
        errors += _stop_pty_client(child)
    if errors:
        pytest.fail("\n\n".join(errors))


def _stop_pty_client(child):
    """Ends a spawn_client() child at teardown (SIGTERM by pid if still running) and checks
    its exit status and its output; returns the complaints, if any."""
    import pexpect

    args = " ".join(a.decode() if isinstance(a, bytes) else a for a in child.args[1:])
    what = f"client {child.pid} ({args})"
    errors = []

    def wait_gone():
        try:
            child.expect(pexpect.EOF, timeout=EXIT_TIMEOUT)
        except pexpect.TIMEOUT:
            return
        pid_exited(child.pid, EXIT_TIMEOUT)

    if child.expect_status is not None:
        wait_gone()  # it ends by itself, the test said; maybe only just now
    ended_by_fixture = child.isalive()
    if ended_by_fixture:
        os.kill(child.pid, signal.SIGTERM)
        wait_gone()
        if child.isalive():
            child.kill(signal.SIGKILL)
            errors.append(f"{what} ignored SIGTERM for {EXIT_TIMEOUT} s")
    else:
        try:
            child.read_nonblocking(1 << 20, timeout=0)
        except Exception:
            pass
    child.close()
    output = child.transcript.getvalue()
    if not errors and not (child.status_seen and child.expect_status is None):
        status = child.exitstatus if child.signalstatus is None else 128 + child.signalstatus
        complaint = exit_status_complaint(
            what, status, child.expect_status, ended_by_fixture, output
        )
        if complaint:
            errors.append(complaint)
    try:
        assert_no_sanitizer_report(output, what)
    except AssertionError as e:
        errors.append(str(e))
    return errors


@pytest.fixture
def joined_client(spawn_client):
    """Factory: joined_client(srv, pseudo="alice", args=(), prompts=True, others=(),
    **options) runs the terminal client (spawn_client(), which takes the options: term,
    env, rows, cols, expect_status) and joins srv as pseudo: by answering the address prompt (with nothing: the
    default host, srv's port from --port) and the pseudo prompt, or with prompts=False
    through --host and --nick, which leave no prompt on the screen. args go on the command
    line after those. Returns the child once the welcome is shown, the server has logged
    the arrival, the status prompt is on the screen (readline has the terminal) and the raw
    clients in others have read the join notice. Whatever came after the welcome is still
    there for child.expect()."""

    def join(srv, pseudo="alice", args=(), prompts=True, others=(), **spawn_options):
        mark = srv.log_mark()
        if prompts:
            child = spawn_client("--port", srv.port, *args, **spawn_options)
            child.expect_exact(address_prompt(srv.port))
            child.sendline("")
            child.expect_exact(ASK_PSEUDO)
            child.sendline(pseudo)
        else:
            child = spawn_client(
                "--host", "127.0.0.1", "--port", srv.port, "--nick", pseudo, *args,
                **spawn_options,
            )
        child.expect_exact(f"Bienvenue, {pseudo} !")
        srv.wait_log(rf"{re.escape(pseudo)} a rejoint la discussion", after=mark)
        status = f"[{pseudo}@127.0.0.1:{srv.port} #général"
        child.term.wait(lambda t: status in t.input_row(), "the status prompt", keep=True)
        for o in others:
            o.expect_exact(f"* {pseudo} a rejoint la discussion")
        return child

    return join


class Term:
    """The terminal client as the user sees it: a pexpect child whose output also feeds a
    VT100 emulator (pyte), so that tests assert on the screen (what each row shows, where
    the cursor is, which colours) rather than on the bytes that drew it."""

    def __init__(self, child, rows, cols):
        import pyte

        self.child = child
        self.screen = pyte.Screen(cols, rows)
        self.stream = pyte.Stream(self.screen)

    def feed(self, text):
        self.stream.feed(text)

    def pump(self, quiet=0.05, keep=False):
        """Reads what the client printed until it stays quiet for `quiet` seconds. What is
        read here is gone from what a later child.expect() searches, unless keep=True: then
        it reads for `quiet` seconds through an expect() that can only time out, which
        consumes nothing."""
        import pexpect

        if keep:
            self.child.expect([pexpect.TIMEOUT], timeout=quiet)  # logged into feed()
            return
        while True:
            try:
                self.child.read_nonblocking(1 << 16, timeout=quiet)  # logged into feed()
            except pexpect.TIMEOUT:
                return
            except pexpect.EOF:
                return

    def rows(self):
        return [row.rstrip() for row in self.screen.display]

    def text(self):
        return "\n".join(self.rows())

    def input_row(self):
        """The row the cursor is on: the prompt and the line being typed (trailing blanks
        dropped; before_cursor() keeps them)."""
        return self.screen.display[self.screen.cursor.y].rstrip()

    def before_cursor(self):
        """What the cursor's row shows left of the cursor, blanks included: the prompt and
        the typed text when the cursor is at its end."""
        row = self.screen.buffer[self.screen.cursor.y]
        return "".join(row[x].data for x in range(self.screen.cursor.x))

    def wait(self, condition, what, timeout=TIMEOUT, keep=False):
        """Pumps output until condition(self) is true; fails with the screen after timeout.
        keep=True leaves what it read for child.expect() too (see pump())."""
        deadline = time.monotonic() + timeout
        while True:
            self.pump(0.02, keep=keep)
            if condition(self):
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"not on screen within {timeout} s: {what}\n" + self.text())

    def flat(self):
        """The screen as one string, rows padded to the width: a line the terminal wrapped
        reads on, unbroken, from one row into the next."""
        return "".join(self.screen.display)

    def wait_text(self, text, timeout=TIMEOUT):
        self.wait(lambda t: text in t.flat(), repr(text), timeout)

    def send(self, keys):
        self.child.send(keys)


class _Tee:
    """pexpect's logfile_read: keeps the transcript and feeds the emulator."""

    def __init__(self, transcript):
        self.transcript = transcript
        self.term = None

    def write(self, data):
        self.transcript.write(data)
        if self.term:
            self.term.feed(data)

    def flush(self):
        pass


def pid_exited(pid, timeout):
    """Waits up to timeout seconds for our child process pid to exit; True once it has
    (whether or not it has been reaped)."""
    import select

    try:
        pidfd = os.pidfd_open(pid)  # readable once the process has exited
    except ProcessLookupError:
        return True  # exited, and reaped already
    try:
        ready, _, _ = select.select([pidfd], [], [], timeout)
    finally:
        os.close(pidfd)
    return bool(ready)


def wait_child_exit(child, timeout=TIMEOUT):
    """Waits for a pexpect child to close its terminal and exit; returns its exit status
    (or 128 + the signal number), which the test then checks: the fixture does not."""
    import pexpect

    child.expect(pexpect.EOF, timeout=timeout)
    assert pid_exited(
        child.pid, timeout
    ), f"client {child.pid} closed its terminal but did not exit in {timeout} s"
    child.close()
    child.status_seen = True
    if child.signalstatus is not None:
        return 128 + child.signalstatus
    return child.exitstatus


@pytest.fixture
def fake_server():
    """Factory: fake_server() listens on 127.0.0.1 for a scripted server (fake.py); its
    connections are taken with accept(). Everything is closed at teardown."""
    from fake import FakeServer

    servers = []

    def start():
        s = FakeServer()
        servers.append(s)
        return s

    yield start
    for s in servers:
        s.close()


@pytest.fixture
def piped_client():
    """Factory: piped_client(*args, expect_status=None) runs the causerie client with stdin,
    stdout and stderr on pipes (its piped mode). Returns a Proc: write to .proc.stdin,
    wait_log() for what it prints. Its exit status is checked at teardown as spawn_client()
    checks it, expect_status= included (a status the test took with wait_exit() is the
    test's to check); its stderr is checked for sanitizer reports either way."""
    started = []

    def start(*args, expect_status=None):
        require_binary(CLIENT_BIN)
        p = Proc(CLIENT_BIN, [str(a) for a in args], stdin=subprocess.PIPE)
        p.expect_status = expect_status
        started.append(p)
        return p

    yield start
    errors = []
    for p in started:
        what = f"client {p.pid} ({' '.join(p.args[1:])})"
        status_seen = p.status_seen
        if p.expect_status is not None:
            try:
                p.proc.wait(EXIT_TIMEOUT)  # it ends by itself, the test said
            except subprocess.TimeoutExpired:
                pass
        ended_by_fixture = p.proc.poll() is None
        if ended_by_fixture:
            os.kill(p.pid, signal.SIGTERM)
        try:
            status = p.wait_exit()
        except AssertionError as e:
            errors.append(str(e))
            continue
        if status_seen and p.expect_status is None:
            continue
        if status < 0:
            status = 128 - status  # killed by the signal, before its handler was installed
        output = "\n".join(p.log_lines) + "\nstderr:\n" + p.stderr
        complaint = exit_status_complaint(
            what, status, p.expect_status, ended_by_fixture, output
        )
        if complaint:
            errors.append(complaint)
    if errors:
        pytest.fail("\n\n".join(errors))


def have_ipv6_loopback():
    """True if this machine can bind ::1 (some containers have no IPv6 loopback)."""
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False
