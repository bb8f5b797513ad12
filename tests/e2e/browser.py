"""browser.py - the web page in a real Chromium, for test_browser.py.

Driver runs tests/browser/driver.mjs (Node and playwright-core driving Debian's chromium,
headless) and talks to it in JSON lines: one command, one answer, with a deadline on each.
Page is one tab of it, in a browser context of its own, with the helpers the tests use:
type, press, click, wait for a text or a condition (a JavaScript function polled in the
page), evaluate, screenshot. The driver records what a page must never do, and
Page.assert_clean() checks it: no dialog opened, no uncaught error, no error on the console,
no Content-Security-Policy violation. Nothing here sleeps to synchronise: every wait is a
condition polled in the page until a deadline. The driver is stopped by pid.
"""

import json
import os
import select
import shutil
import signal
import subprocess
import threading
import time

from conftest import EXIT_TIMEOUT, ROOT, TIMEOUT

BROWSER_DIR = ROOT / "tests" / "browser"
DRIVER = BROWSER_DIR / "driver.mjs"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
NODE = shutil.which("node") or "/usr/bin/node"
# Seconds for any one browser command beyond its own wait: launching Chromium, a screenshot.
COMMAND_SLACK = 15


# playwright-core's engines field: Node.js 20 or later.
NODE_MAJOR_MIN = 20


def node_major():
    out = subprocess.run([NODE, "--version"], capture_output=True, text=True, timeout=TIMEOUT)
    return int(out.stdout.strip().lstrip("v").split(".")[0])


def missing():
    """Why the browser tests cannot run here, or None: what `make e2e` installs (npm ci in
    tests/browser) and what scripts/deps.sh installs (nodejs, chromium)."""
    if not os.path.exists(NODE):
        return "node is not installed (scripts/deps.sh test installs nodejs)"
    if node_major() < NODE_MAJOR_MIN:
        return f"playwright-core needs Node.js {NODE_MAJOR_MIN} or later, not {node_major()}"
    if not os.path.exists(CHROMIUM):
        return f"{CHROMIUM} is not installed (scripts/deps.sh test installs chromium)"
    if not (BROWSER_DIR / "node_modules" / "playwright-core").is_dir():
        return "tests/browser/node_modules is missing (make e2e runs npm ci there)"
    return None


class BrowserError(AssertionError):
    """A command the driver could not carry out (a wait that timed out, a missing element)."""


class Driver:
    """One driver process, hence one Chromium; pages are opened with page()."""

    def __init__(self):
        self.proc = subprocess.Popen(
            [NODE, str(DRIVER)],
            cwd=str(BROWSER_DIR),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env={**os.environ, "CHROMIUM": CHROMIUM},
        )
        self.pid = self.proc.pid
        self._next_id = 0
        self._buf = b""
        self._stderr = []
        self._stderr_thread = threading.Thread(target=self._drain_stderr, daemon=True)
        self._stderr_thread.start()
        self.version = self.call("launch", timeout=COMMAND_SLACK)

    def _drain_stderr(self):
        for chunk in iter(lambda: self.proc.stderr.read1(65536), b""):
            self._stderr.append(chunk)

    @property
    def stderr(self):
        return b"".join(self._stderr).decode("utf-8", "replace")

    def call(self, op, timeout=TIMEOUT, **args):
        """Sends one command and waits for its answer: its value, or BrowserError."""
        self._next_id += 1
        cid = self._next_id
        line = json.dumps({"id": cid, "op": op, **args}) + "\n"
        self.proc.stdin.write(line.encode())
        self.proc.stdin.flush()
        deadline = time.monotonic() + timeout + COMMAND_SLACK
        while True:
            answer = self._read_line(deadline, op)
            if answer.get("id") == cid:
                break
        if not answer["ok"]:
            raise BrowserError(f"browser {op} {args}: {answer['error']}")
        return answer["value"]

    def _read_line(self, deadline, op):
        fd = self.proc.stdout.fileno()
        while b"\n" not in self._buf:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise BrowserError(f"no answer from the browser driver to {op}\n{self.stderr}")
            ready, _, _ = select.select([fd], [], [], remaining)
            if not ready:
                continue
            chunk = os.read(fd, 65536)
            if not chunk:
                raise BrowserError(f"the browser driver ended during {op}\n{self.stderr}")
            self._buf += chunk
        line, self._buf = self._buf.split(b"\n", 1)
        return json.loads(line)

    def page(self, name, url, **options):
        self.call("open", name=name, url=url, timeout=COMMAND_SLACK, **options)
        return Page(self, name)

    def stop(self):
        """Closes Chromium and ends the driver: by its quit command, else SIGTERM by pid."""
        if self.proc.poll() is None:
            try:
                self.call("quit", timeout=EXIT_TIMEOUT)
            except (BrowserError, BrokenPipeError, OSError):
                pass
        try:
            status = self.proc.wait(EXIT_TIMEOUT)
        except subprocess.TimeoutExpired:
            os.kill(self.pid, signal.SIGTERM)
            status = self.proc.wait(EXIT_TIMEOUT)
        self._stderr_thread.join(TIMEOUT)
        for f in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            try:
                f.close()
            except OSError:
                pass
        return status


class Page:
    """One page of the driver's Chromium."""

    def __init__(self, driver, name):
        self.driver = driver
        self.name = name
        self.closed = False

    def call(self, op, timeout=TIMEOUT, **args):
        return self.driver.call(op, name=self.name, timeout=timeout, **args)

    def click(self, selector, timeout=TIMEOUT):
        self.call("click", selector=selector, ms=timeout * 1000, timeout=timeout)

    def fill(self, selector, text, timeout=TIMEOUT):
        self.call("fill", selector=selector, text=text, ms=timeout * 1000, timeout=timeout)

    def focus(self, selector, timeout=TIMEOUT):
        self.call("focus", selector=selector, ms=timeout * 1000, timeout=timeout)

    def type(self, text):
        self.call("type", text=text)

    def press(self, key):
        self.call("press", key=key)

    def eval(self, js, arg=None):
        return self.call("eval", js=js, arg=arg)

    def wait(self, js, arg=None, timeout=TIMEOUT, what=None):
        """Polls the function js (its source, taking arg) in the page until it returns a
        true value, which is returned; fails after timeout seconds with what it waited for,
        the status and the end of the conversation."""
        try:
            return self.call("wait", js=js, arg=arg, ms=timeout * 1000, timeout=timeout)
        except BrowserError as e:
            raise BrowserError(
                f"{self.name}: not within {timeout} s: {what or js}\n"
                f"status: {self.status()!r}\nlog:\n" + "\n".join(self.log()[-25:]) + f"\n{e}"
            ) from None

    def log(self):
        """The conversation as shown: one string per line, its time included."""
        return self.eval("() => [...document.querySelectorAll('#log .line')]"
                         ".map((li) => li.textContent)")

    def status(self):
        """What the bar at the top says: the connection's state, who, where, what waits."""
        return self.eval("() => [...document.querySelectorAll('.conn > *, .where > *')]"
                         ".filter((e) => !e.hidden).map((e) => e.textContent).join(' ')")

    def wait_line(self, text, timeout=TIMEOUT):
        """Waits for a line of the conversation that contains text; returns the line."""
        return self.wait(
            "(t) => [...document.querySelectorAll('#log .line')]"
            ".map((li) => li.textContent).find((s) => s.includes(t))",
            text, timeout, what=f"a line with {text!r}")

    def wait_text(self, selector, text, timeout=TIMEOUT):
        """Waits until the element selector's text contains text."""
        return self.wait(
            "([sel, t]) => { const e = document.querySelector(sel);"
            " return e && e.textContent.includes(t) && e.textContent; }",
            [selector, text], timeout, what=f"{selector} containing {text!r}")

    def screenshot(self, path, full_page=False):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.call("screenshot", path=str(path), fullPage=full_page, timeout=COMMAND_SLACK)
        return path

    def record(self):
        return self.call("record")

    def assert_clean(self):
        """No dialog, no uncaught error, no console error, no CSP violation so far."""
        r = self.record()
        assert r["dialogs"] == [], f"{self.name}: a dialog opened: {r['dialogs']}"
        assert r["errors"] == [], f"{self.name}: uncaught errors: {r['errors']}"
        assert r["csp"] == [], f"{self.name}: Content-Security-Policy violations: {r['csp']}"
        assert r["consoleErrors"] == [], f"{self.name}: console errors: {r['consoleErrors']}"

    def close(self):
        if not self.closed:
            self.closed = True
            self.call("close")
