"""engine.py - real nats-server processes for the cluster tests, and servers joined to them.

Each engine is Debian's nats-server with JetStream, on its own free loopback port and its
own store directory, started and stopped by pid. Engine.cluster(n) starts n of them routed
together (RAFT), as a deployment would run three. A test that kills an engine restarts it
with restart(): same port, same directory, so the stream comes back from disk.
"""

import os
import shutil
import signal
import socket
import subprocess
import threading
import time

import pytest

from conftest import TIMEOUT, wait_until

NATS_BIN = shutil.which("nats-server") or "/usr/bin/nats-server"


def free_port():
    """A port nothing listens on now, from the system (it may be taken again by the time
    it is used: each use is followed by a check that the process started)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def require_nats():
    if not os.path.exists(NATS_BIN):
        pytest.fail(f"{NATS_BIN} is missing: run `make test`, which installs nats-server")


class Engine:
    """One nats-server. args: extra arguments (say, no JetStream: jetstream=False)."""

    def __init__(self, store, jetstream=True, routes=None, cluster_port=None, extra=()):
        require_nats()
        self.store = store
        self.port = free_port()
        self.cluster_port = cluster_port
        self.routes = routes
        self.jetstream = jetstream
        self.extra = list(extra)
        self.proc = None
        self.output = []
        self.start()

    @property
    def url(self):
        return f"nats://127.0.0.1:{self.port}"

    def _args(self):
        args = [NATS_BIN, "-a", "127.0.0.1", "-p", str(self.port)]
        if self.jetstream:
            args += ["-js", "-sd", str(self.store)]
        if self.cluster_port:
            args += ["--cluster_name", "causerie", "--cluster",
                     f"nats://127.0.0.1:{self.cluster_port}", "--routes", self.routes,
                     "-n", f"n{self.cluster_port}"]
        return args + self.extra

    def start(self):
        self.output = []
        self.proc = subprocess.Popen(self._args(), stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        self.pid = self.proc.pid
        ready = threading.Event()

        def drain():
            for raw in iter(self.proc.stdout.readline, b""):
                line = raw.decode("utf-8", "replace")
                self.output.append(line)
                if "Server is ready" in line:
                    ready.set()
        threading.Thread(target=drain, daemon=True).start()
        assert ready.wait(TIMEOUT * 2), "nats-server did not start:\n" + "".join(self.output)

    def restart(self):
        self.start()

    def kill(self):
        """SIGKILL by pid: an engine that dies."""
        if self.proc and self.proc.poll() is None:
            os.kill(self.pid, signal.SIGKILL)
            self.proc.wait(TIMEOUT)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            os.kill(self.pid, signal.SIGTERM)
            try:
                self.proc.wait(TIMEOUT * 2)
            except subprocess.TimeoutExpired:
                os.kill(self.pid, signal.SIGKILL)
                self.proc.wait(TIMEOUT)


@pytest.fixture
def engines(tmp_path):
    """Factory: engines(n=1, jetstream=True) starts one engine, or n routed together;
    returns the list. All are stopped by pid at teardown (after the servers, which the
    server fixture stops first since it was set up later)."""
    started = []

    def start(n=1, jetstream=True, extra=()):
        if n == 1:
            e = Engine(tmp_path / f"js{len(started)}", jetstream=jetstream, extra=extra)
            started.append(e)
            return [e]
        ports = [free_port() for _ in range(n)]
        routes = ",".join(f"nats://127.0.0.1:{p}" for p in ports)
        group = [Engine(tmp_path / f"js{len(started) + i}", routes=routes, cluster_port=p,
                        extra=extra) for i, p in enumerate(ports)]
        started.extend(group)
        wait_until(lambda: all(any("JetStream cluster" in line or "Server is ready" in line
                                   for line in e.output) for e in group),
                   "the engines formed a cluster", TIMEOUT * 2)
        return group

    yield start
    for e in reversed(started):
        e.stop()


def cluster_args(engine_list, node, ttl=None):
    """The server options that join engine_list's cluster as node."""
    args = ["--cluster", ",".join(e.url for e in engine_list), "--node", node]
    if ttl is not None:
        args += ["--node-ttl", str(ttl)]
    return args
