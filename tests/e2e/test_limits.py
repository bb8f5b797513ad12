"""Limits a client can meet: line length (--max-line) and a slow reader (--max-backlog)."""

import re
import time

import pytest

from conftest import NO_FLOOD_CONTROL, PSEUDO_PROMPT, Collector

TOO_LONG = "! Ligne trop longue (4096 octets au maximum) : elle a été ignorée."
MIB = 1024  # in KiB, the unit of /proc/PID/status

# The flood: numbered lines of FLOOD_LINE bytes, newline included. FLOOD_COUNT of them make
# about 2 MB; a flood meant to get a client dropped goes on until it is, up to FLOOD_MAX
# lines (10 MB): past what the kernel may buffer for one connection (tcp_wmem's 4 MiB).
FLOOD_COUNT = 20_000
FLOOD_MAX = 100_000
FLOOD_LINE = 100
FLOOD_RE = re.compile(r"> flood: (\d{6}) x+")
# Lines sent at once when pacing the flood, or between checks for the drop.
WINDOW = 200
CHUNK = 2_000


def flood_messages(first, count):
    return [b"%06d " % i + b"x" * (FLOOD_LINE - 8) + b"\n" for i in range(first, first + count)]


def flood_bytes(first=0, count=FLOOD_COUNT):
    return b"".join(flood_messages(first, count))


def last_flood_line(n):
    """The line a reader gets for flood message n."""
    return "> flood: %06d " % n


def paced_flood(flood, reader, count=FLOOD_COUNT, until=None):
    """Sends the flood WINDOW lines at a time, each window once reader has received the one
    before, so that reader never has more than one window queued on the server, however the
    server batches its reads. Stops after `count` lines, or earlier once until() is true.
    Returns what reader received, the number of lines sent, and the longest time a window
    took from being sent to its last line being received."""
    lines = []
    slowest = 0.0
    sent = 0
    while sent < count and not (until and until()):
        n = min(WINDOW, count - sent)
        t0 = time.monotonic()
        flood.send_raw(flood_bytes(sent, n))
        sent += n
        lines += reader.readlines_until(last_flood_line(sent - 1))
        slowest = max(slowest, time.monotonic() - t0)
    return lines, sent, slowest


def flood_until_dropped(srv, flood, pseudo="slow"):
    """Floods CHUNK lines at a time, as fast as the server reads them, until the server logs
    that pseudo was dropped; returns the number of lines sent."""
    sent = 0
    while sent < FLOOD_MAX and srv.count_log(rf"{pseudo} est déconnecté") == 0:
        flood.send_raw(flood_bytes(sent, CHUNK))
        sent += CHUNK
    srv.wait_log(rf"{pseudo} est déconnecté")  # fails if FLOOD_MAX lines did not do it
    return sent


def flood_numbers(lines):
    return [int(m.group(1)) for m in map(FLOOD_RE.fullmatch, lines) if m]


# ---------------------------------------------------------------- --max-line


def test_line_of_1_mib_without_newline_is_refused_once_and_sender_stays(alice_bob):
    srv, alice, bob = alice_bob()
    alice.send_raw(b"x" * (1 << 20))
    alice.expect_exact(TOO_LONG)
    alice.send_raw(b"\nsuite\n")  # the newline ends the long line; "suite" is a new one
    bob.expect_exact("> alice: suite")  # nothing of the long line came before
    bob.send_line("ok")
    alice.expect_exact("> bob: ok")  # the refusal came exactly once


def test_line_of_1_mib_keeps_server_memory_bounded(alice_bob):
    srv, alice, bob = alice_bob()
    before = srv.rss_kib()
    for _ in range(4):
        alice.send_raw(b"y" * (1 << 20))
    alice.send_raw(b"\nfin\n")
    alice.expect_exact(TOO_LONG)
    bob.expect_exact("> alice: fin")
    assert srv.peak_rss_kib() < 64 * MIB, (before, srv.peak_rss_kib())
    assert srv.rss_kib() - before < 16 * MIB, (before, srv.rss_kib())


def test_overlong_line_during_handshake_is_refused_then_prompt_again(server, connect):
    srv = server()
    c = connect(srv.port)
    c.expect_exact(PSEUDO_PROMPT)
    c.send_line(b"a" * 5000)
    c.expect_exact(TOO_LONG)
    c.join("alice")  # the prompt comes again, and the handshake goes on


def test_line_of_4096_bytes_is_relayed(alice_bob):
    srv, alice, bob = alice_bob()
    alice.send_line("z" * 4096)
    bob.expect_exact("> alice: " + "z" * 4096)


def test_overlong_line_is_refused_as_soon_as_it_passes_the_limit(alice_bob):
    # 4097 bytes, the last one not a '\r': whatever follows, the line is too long.
    srv, alice, bob = alice_bob()
    alice.send_raw(b"z" * 4097)
    alice.expect_exact(TOO_LONG)


def test_line_of_4097_bytes_is_refused(alice_bob):
    srv, alice, bob = alice_bob()
    alice.send_line("z" * 4097)
    alice.expect_exact(TOO_LONG)
    alice.send_line("court")
    bob.expect_exact("> alice: court")


@pytest.mark.parametrize("end", [b"\n", b"\r\n"], ids=["lf", "crlf"])
def test_max_line_option_accepts_a_line_of_exactly_that_length(alice_bob, end):
    srv, alice, bob = alice_bob("--max-line", "100")
    alice.send_line("é" * 50, end=end)  # 100 bytes, 50 characters: the limit is in bytes
    bob.expect_exact("> alice: " + "é" * 50)


def test_max_line_option_refuses_one_byte_more(alice_bob):
    srv, alice, bob = alice_bob("--max-line", "100")
    alice.send_line("a" * 101)
    alice.expect_exact("! Ligne trop longue (100 octets au maximum) : elle a été ignorée.")
    alice.send_line("court")
    bob.expect_exact("> alice: court")


# ---------------------------------------------------------------- slow readers


@pytest.mark.concurrency
def test_client_that_never_reads_does_not_hold_back_the_others(server, chat):
    srv = server(*NO_FLOOD_CONTROL, threads=2)
    slow, flood, reader, fourth = chat(srv, "slow", "flood", "reader", "quatre")
    # From here on slow reads nothing: its window fills, then its queue on the server.
    lines, sent, slowest = paced_flood(flood, reader)
    assert flood_numbers(lines) == list(range(FLOOD_COUNT))
    assert slowest < 1.0, f"a window of the flood took {slowest:.3f} s to reach the reader"

    t0 = time.monotonic()
    fourth.send_line("marqueur")
    after = reader.readlines_until("> quatre: marqueur")
    latency = time.monotonic() - t0
    assert set(after[:-1]) <= {"* slow est déconnecté"}, after
    assert latency < 1.0, f"the marker took {latency:.3f} s to reach the reader"
    peak = srv.peak_rss_kib()
    print(
        f"slowest window {slowest * 1000:.1f} ms, marker {latency * 1000:.1f} ms, "
        f"slow dropped: {srv.count_log('slow est déconnecté') > 0}, peak RSS {peak} KiB"
    )
    assert peak < 128 * MIB


@pytest.mark.concurrency
def test_burst_from_one_client_does_not_drop_a_client_that_reads(server, chat):
    # 2 MB sent at once, as fast as the kernel takes it, while reader reads all along. One
    # loop thread, so that the reader is served by the loop that reads the burst.
    srv = server(*NO_FLOOD_CONTROL, threads=1)
    flood, reader = chat(srv, "flood", "reader")
    collector = Collector(reader, until=last_flood_line(FLOOD_COUNT - 1) + "x+", timeout=60)
    flood.send_raw(flood_bytes())
    lines = collector.result()
    assert flood_numbers(lines) == list(range(FLOOD_COUNT))
    assert srv.count_log("reader est déconnecté") == 0
    assert srv.peak_rss_kib() < 128 * MIB


@pytest.mark.concurrency
def test_client_that_never_reads_is_dropped_past_max_backlog(server, chat, connect):
    srv = server("--max-backlog", "65536", *NO_FLOOD_CONTROL, threads=2)
    slow = connect(srv.port, name="slow", rcvbuf=4096)
    slow.join("slow")
    flood, reader = chat(srv, "flood", "reader")
    for line in ["* flood a rejoint la discussion", "* reader a rejoint la discussion"]:
        slow.expect_exact(line)
    # From here on slow reads nothing until it has been dropped.
    dropped = lambda: srv.count_log("slow est déconnecté") > 0  # noqa: E731
    lines, sent, _ = paced_flood(flood, reader, count=FLOOD_MAX, until=dropped)
    m = srv.wait_log(r"slow est déconnecté")
    assert "(trop de retard" in m.string, m.string
    flood.expect_exact("* slow est déconnecté")
    flood.send_line("fin")
    lines += reader.readlines_until("> flood: fin")
    assert flood_numbers(lines) == list(range(sent))  # all of them, once, in order
    assert lines.count("* slow est déconnecté") == 1, [l for l in lines if l.startswith("*")]
    assert len(lines) == sent + 2, [l for l in lines if not FLOOD_RE.fullmatch(l)]
    assert srv.peak_rss_kib() < 128 * MIB
    print(f"slow dropped after {sent} lines")


@pytest.mark.concurrency
def test_dropped_slow_client_got_a_prefix_of_the_messages_then_the_end(server, chat, connect):
    srv = server("--max-backlog", "65536", *NO_FLOOD_CONTROL, threads=2)
    slow = connect(srv.port, name="slow", rcvbuf=4096)
    slow.join("slow")
    (flood,) = chat(srv, "flood")
    slow.expect_exact("* flood a rejoint la discussion")
    sent = flood_until_dropped(srv, flood)
    flood.expect_exact("* slow est déconnecté")
    rest = slow.expect_closed(timeout=10)
    got = flood_numbers(rest)
    assert got == list(range(len(got)))  # in order, none missing, none twice
    assert len(got) < sent
    others = [l for l in rest if not FLOOD_RE.fullmatch(l)]
    assert others in ([], ["! Vous ne lisez pas les messages assez vite : déconnexion."]), others


@pytest.mark.concurrency
def test_dropped_slow_client_is_logged_once_with_the_limit(server, chat, connect):
    srv = server("--max-backlog", "65536", *NO_FLOOD_CONTROL, threads=2)
    slow = connect(srv.port, name="slow", rcvbuf=4096)
    slow.join("slow")
    (flood,) = chat(srv, "flood")
    slow.expect_exact("* flood a rejoint la discussion")
    flood_until_dropped(srv, flood)
    m = srv.wait_log(r"slow est déconnecté")
    assert m.string.endswith(
        "slow est déconnecté (trop de retard : plus de 65536 octets en attente)"
    ), m.string
    flood.expect_exact("* slow est déconnecté")
    mark = srv.log_mark()
    late = connect(srv.port)
    late.join("tard")
    flood.expect_exact("* tard a rejoint la discussion")
    srv.wait_log(r"tard a rejoint", after=mark)
    assert srv.count_log(r"slow est déconnecté") == 1
