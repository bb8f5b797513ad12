"""The layer check (scripts/check-layers.py) against trees made to break its rules.

Each test copies the repository's sources and docs/ARCHITECTURE.md into a temporary
directory, introduces one offence and runs the checker on the copy: it must fail and name
the offence. The untouched copy must pass, and a synthetic tree checks the symbol pass
(--objects), which catches a call made through a prototype written by hand."""

import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHECKER = ROOT / "scripts" / "check-layers.py"


def run(root, *args):
    p = subprocess.run(
        [sys.executable, str(CHECKER), "--root", str(root), *args],
        capture_output=True,
        text=True,
        timeout=60,
    )
    return p.returncode, p.stdout + p.stderr


@pytest.fixture
def tree(tmp_path):
    """A copy of the sources and of the document that holds the tables."""
    shutil.copytree(ROOT / "src", tmp_path / "src")
    (tmp_path / "docs").mkdir()
    shutil.copy(ROOT / "docs" / "ARCHITECTURE.md", tmp_path / "docs")
    return tmp_path


def add_line(path, line, after="#include"):
    """Adds line after the first line of path that starts with after."""
    text = path.read_text(encoding="utf-8").splitlines(keepends=True)
    i = next(i for i, l in enumerate(text) if l.startswith(after))
    text.insert(i + 1, line + "\n")
    path.write_text("".join(text), encoding="utf-8")


def test_the_repository_passes(tree):
    status, out = run(tree)
    assert status == 0, out
    assert "1 passed, 0 failed" in out


def test_an_upward_include_fails(tree):
    add_line(tree / "src/server/loop.c", '#include "session.h"')
    status, out = run(tree)
    assert status == 1
    assert "loop.c: includes session.h: server:loop may not call up into server:protocol" in out


def test_an_upward_include_in_angle_brackets_fails(tree):
    add_line(tree / "src/server/loop.c", "#include <server/session.h>")
    status, out = run(tree)
    assert status == 1
    assert "may not call up into server:protocol" in out


def test_a_path_through_the_parent_folder_is_followed(tree):
    add_line(tree / "src/client/options.c", '#include "../server/room.h"')
    status, out = run(tree)
    assert status == 1
    assert "a module of the server program" in out


def test_common_may_not_know_a_program(tree):
    add_line(tree / "src/common/proto.c", '#include "../server/session.h"')
    status, out = run(tree)
    assert status == 1
    assert "src/common/proto.c: includes ../server/session.h: a module of the server program" in out


def test_an_include_out_of_the_tree_fails(tree):
    add_line(tree / "src/server/loop.c", '#include "../../docs/x.h"')
    (tree / "docs/x.h").write_text("/* nothing */\n")
    status, out = run(tree)
    assert status == 1
    assert "outside" in out


def test_a_cycle_through_the_sanctioned_pair_fails(tree):
    """session and commands may use each other; a third module in their loop may not."""
    doc = tree / "docs/ARCHITECTURE.md"
    doc.write_text(
        doc.read_text(encoding="utf-8").replace(
            "| server | protocol | render session commands login |",
            "| server | protocol | render session commands login irc |",
        ),
        encoding="utf-8",
    )
    (tree / "src/server/irc.h").write_text("/* irc.h */\n")
    (tree / "src/server/irc.c").write_text('/* irc.c */\n#include "irc.h"\n#include "session.h"\n')
    add_line(tree / "src/server/commands.c", '#include "irc.h"')
    status, out = run(tree)
    assert status == 1
    assert "cycle: server/commands ⇄ server/irc ⇄ server/login ⇄ server/session" in out


def test_a_file_in_no_layer_fails(tree):
    (tree / "src/server/stray.c").write_text("/* stray.c */\n")
    (tree / "src/server/tls").mkdir()
    (tree / "src/server/tls/record.c").write_text("/* record.c */\n")
    status, out = run(tree)
    assert status == 1
    assert "src/server/stray.c: in no layer" in out
    assert "src/server/tls/record.c: in no layer" in out


def test_readline_outside_its_two_files_fails(tree):
    add_line(tree / "src/client/chat.c", "#include <readline/readline.h>")
    status, out = run(tree)
    assert status == 1
    assert "chat.c: includes <readline/readline.h>, which client:top may not use" in out


def test_libuv_in_the_protocol_layer_fails(tree):
    add_line(tree / "src/server/session.c", "static int later(void) { return UV_EOF; }", after="#include")
    status, out = run(tree)
    assert status == 1
    assert "session.c: uses UV_EOF, from libuv, which server:protocol may not" in out


def test_an_openssl_header_outside_tls_fails(tree):
    add_line(tree / "src/client/conn.c", "#include <openssl/ssl.h>")
    status, out = run(tree)
    assert status == 1
    assert "conn.c: includes <openssl/ssl.h>, which client:io may not use" in out


@pytest.mark.parametrize("name", ["SSL_read", "BIO_new", "X509_free", "EVP_sha256", "ERR_clear_error"])
def test_an_openssl_name_outside_tls_fails(tree, name):
    """Without its header (a prototype by hand), the name alone gives the call away."""
    add_line(tree / "src/client/chat.c", f"static void later(void) {{ {name}(); }}", after="#include")
    status, out = run(tree)
    assert status == 1
    assert f"chat.c: uses {name}, from openssl, which client:top may not" in out


def test_openssl_in_tls_passes_and_nowhere_else_by_default(tree):
    """Only the modules the library table names may use OpenSSL: a server module may not
    until it is added there."""
    add_line(tree / "src/server/tcp.c", "#include <openssl/ssl.h>")
    status, out = run(tree)
    assert status == 1
    assert "tcp.c: includes <openssl/ssl.h>, which server:connection may not use" in out
    assert "tls.c" not in out


def test_a_call_by_hand_written_prototype_fails(tmp_path):
    """No include at all: only the symbols of the compiled modules show the call."""
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs/ARCHITECTURE.md").write_text(
        textwrap.dedent(
            """\
            <!-- LAYERS BEGIN -->
            | program | layer | files |
            |---------|-------|-------|
            | server | base | low |
            | server | top | high |
            <!-- LAYERS END -->
            """
        )
    )
    srv = tmp_path / "src/server"
    srv.mkdir(parents=True)
    (tmp_path / "src/common").mkdir()
    (tmp_path / "src/client").mkdir()
    (srv / "high.c").write_text("/* high.c */\nint high_fn(void);\nint high_fn(void) { return 1; }\n")
    (srv / "low.c").write_text("/* low.c */\nint high_fn(void);\nint low_fn(void);\nint low_fn(void) { return high_fn(); }\n")
    objects = tmp_path / "obj"
    (objects / "server").mkdir(parents=True)
    for name in ("low", "high"):
        subprocess.run(["cc", "-c", "-o", str(objects / "server" / f"{name}.o"), str(srv / f"{name}.c")],
                       check=True, timeout=60)
    status, out = run(tmp_path)
    assert status == 0, out  # no include: the sources alone cannot see it
    status, out = run(tmp_path, "--objects", str(objects))
    assert status == 1
    assert "server/low.o uses high_fn: server:base may not call up into server:top" in out
