"""accounts.py - the e2e suite's steps for accounts: registering the pseudo in use, the
handshake of a registered pseudo, and reading a database file with Debian's sqlite3."""

import subprocess

from conftest import PSEUDO_PROMPT

SECRET = "motdepasse1"


def register(client, password=SECRET):
    client.send_line(f"/register {password}")
    client.expect_exact(f"+ Le pseudo « {client.pseudo} » est enregistré : son mot de passe vous "
                        "sera demandé à chaque connexion.")


def login(client, pseudo, password=SECRET):
    """The handshake of a registered pseudo: the pseudo, the "%" prompt, the password."""
    client.expect_exact(PSEUDO_PROMPT)
    client.send_line(pseudo)
    client.expect_exact(f"% Mot de passe pour « {pseudo} » :")
    client.send_line(password)
    line = client.expect_line(f"+ Bienvenue, {pseudo} ! ")
    client.pseudo = client.name = pseudo
    return line


def sql(db, query):
    p = subprocess.run(["sqlite3", "-batch", str(db), query], capture_output=True, timeout=30)
    assert p.returncode == 0, p.stderr.decode()
    return p.stdout.decode().splitlines()
