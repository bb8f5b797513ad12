"""Accounts: /register protects the pseudo one is using with a password; a registered
pseudo given at the prompt is followed by a "%" prompt for its password; wrong passwords
are counted and slowed down per account and per address; a login from elsewhere moves the
person; /password, /unregister; the accounts survive a restart, as Argon2id hashes only;
passwords never reach the log; --admin gives the console's /kick and /say (docs/PROTOCOL.md,
"Accounts"; docs/SECURITY.md)."""

import re

from accounts import SECRET, login, register, sql
from conftest import LineClient, PSEUDO_PROMPT, wait_stderr
from wire import client_context, tls_args

def no_password_in(srv, *passwords):
    srv.stop()
    for pw in passwords:
        assert pw not in "\n".join(srv.log_lines), f"{pw!r} in the log"
        assert pw not in srv.stderr, f"{pw!r} on stderr"


def test_a_registered_pseudo_asks_for_its_password(server, chat, connect):
    srv = server()
    (alice,) = chat(srv, "alice")
    register(alice)
    alice.send_line("/quit")
    alice.expect_closed()
    again = connect(srv.port, name="alice")
    again.expect_exact(PSEUDO_PROMPT)
    again.send_line("ALICE")  # compared without case, prompted as typed
    again.expect_exact("% Mot de passe pour « ALICE » :")
    again.send_line("pas le bon")
    again.expect_exact("! Mot de passe incorrect.")
    again.expect_exact(PSEUDO_PROMPT)
    again.send_line("alice")
    again.expect_exact("% Mot de passe pour « alice » :")
    again.send_line(SECRET)
    again.expect_exact("+ Bienvenue, alice ! Personne d'autre n'est connecté pour l'instant.")
    # An unregistered pseudo still works exactly as before.
    bob = connect(srv.port, name="bob")
    bob.join("bob")
    again.expect_exact("* bob a rejoint la discussion")
    no_password_in(srv, SECRET, "pas le bon")


def test_lines_sent_after_the_password_wait_for_the_verdict(server, chat, connect):
    srv = server()
    (alice,) = chat(srv, "alice")
    register(alice)
    alice.send_line("/quit")
    alice.expect_closed()
    (bob,) = chat(srv, "bob")
    c = connect(srv.port, name="alice")
    c.expect_exact(PSEUDO_PROMPT)
    c.send_raw(f"alice\n{SECRET}\nbonjour\n/who\n".encode())  # all at once, like nc
    c.expect_exact("% Mot de passe pour « alice » :")
    c.expect_line("+ Bienvenue, alice ! ")
    c.expect_line("= #général 2 : ")
    bob.readlines_until("* alice a rejoint la discussion")
    bob.expect_exact("> alice: bonjour")


def test_register_refusals(server, chat):
    srv = server()
    alice, bob = chat(srv, "alice", "bob")
    alice.send_line("/register court")
    alice.expect_exact("! Mot de passe trop court : 8 caractères au moins.")
    alice.send_line("/register")
    alice.expect_exact("! Usage : /register MOTDEPASSE")
    alice.send_line("/register deux mots")
    alice.expect_exact("! Usage : /register MOTDEPASSE")
    register(alice)
    alice.send_line(f"/register {SECRET}")
    alice.expect_exact("! Le pseudo « alice » est déjà enregistré.")
    # Another pseudo cannot take a registered one without its password.
    bob.send_line("/nick Alice")
    bob.expect_exact("! Le pseudo « Alice » est enregistré : reconnectez-vous sous ce pseudo, "
                     "avec son mot de passe.")
    bob.send_line(f"/password {SECRET} autrechose1")
    bob.expect_exact("! Le pseudo « bob » n'est pas enregistré (/register).")


def test_password_and_unregister(server, chat, connect):
    srv = server()
    (alice,) = chat(srv, "alice")
    register(alice)
    alice.send_line("/password mauvais1 nouveau123")
    alice.expect_exact("! Mot de passe incorrect.")
    alice.send_line(f"/password {SECRET} court")
    alice.expect_exact("! Mot de passe trop court : 8 caractères au moins.")
    alice.send_line(f"/password {SECRET} nouveau123")
    alice.expect_exact("+ Mot de passe changé.")
    alice.send_line("/quit")
    alice.expect_closed()
    c = connect(srv.port, name="alice")
    c.expect_exact(PSEUDO_PROMPT)
    c.send_line("alice")
    c.expect_exact("% Mot de passe pour « alice » :")
    c.send_line(SECRET)  # the old one no longer
    c.expect_exact("! Mot de passe incorrect.")
    login(c, "alice", "nouveau123")
    c.send_line(f"/unregister {SECRET}")
    c.expect_exact("! Mot de passe incorrect.")
    c.send_line("/unregister nouveau123")
    c.expect_exact("+ Le pseudo « alice » n'est plus enregistré.")
    c.send_line("/quit")
    c.expect_closed()
    d = connect(srv.port, name="alice")
    d.join("alice")  # no prompt any more
    no_password_in(srv, SECRET, "nouveau123", "mauvais1")


def test_guessing_is_slowed_per_account_and_per_address(server, chat, connect):
    srv = server("--login-tries", "2", "--login-delay", "60")
    (alice,) = chat(srv, "alice")
    register(alice)
    guesser = connect(srv.port, name="guesser", source="127.0.3.1")
    guesser.expect_exact(PSEUDO_PROMPT)
    for guess in ("essai1", "essai2"):
        guesser.send_line("alice")
        guesser.expect_exact("% Mot de passe pour « alice » :")
        guesser.send_line(guess)
        guesser.expect_exact("! Mot de passe incorrect.")
        guesser.expect_exact(PSEUDO_PROMPT)
    guesser.send_line("alice")
    line = guesser.expect_line("! Trop d'essais : réessayez dans ")
    assert re.fullmatch(r"! Trop d'essais : réessayez dans (5\d|60) s\.", line), line
    guesser.expect_exact(PSEUDO_PROMPT)
    assert wait_stderr(srv, r"mots de passe : 2 échecs pour alice ou depuis 127\.0\.3\.1, "
                            r"un essai toutes les 60 s désormais") == 1
    # The account is slowed from any address; the address for any account.
    other = connect(srv.port, name="other", source="127.0.3.2")
    other.expect_exact(PSEUDO_PROMPT)
    other.send_line("alice")
    other.expect_line("! Trop d'essais : réessayez dans ")
    (bob,) = chat(srv, "bob")
    register(bob)
    guesser.send_line("bob")
    guesser.expect_line("! Trop d'essais : réessayez dans ")
    # An address and an account that guessed nothing are not slowed.
    carol = connect(srv.port, name="carol", source="127.0.3.3")
    carol.join("carol")


def test_a_login_from_elsewhere_moves_the_person(server, chat, connect):
    srv = server()
    alice, bob = chat(srv, "alice", "bob")
    register(alice)
    for c in (alice, bob):
        c.send_line("/join jeux")
        c.readlines_until("= #jeux")
    alice.readlines_until("* bob a rejoint #jeux")
    new = connect(srv.port, name="alice")
    login(new, "alice")
    assert alice.expect_closed()[-1] == "! Vous vous êtes connecté ailleurs."
    bob.expect_exact("* alice est déconnecté (connecté ailleurs)")
    bob.expect_exact("* alice a rejoint la discussion")  # back, in the room she had
    new.send_line("/who")
    new.readlines_until("= #jeux 2 : ")
    new.send_line("toujours là")
    bob.expect_exact("> alice: toujours là")
    srv.wait_log(r"alice est déconnecté \(connecté ailleurs\)")


def test_accounts_survive_a_restart_as_hashes_only(server, chat, connect, tmp_path):
    db = tmp_path / "server.db"
    srv = server("--db", db)
    (alice,) = chat(srv, "alice")
    register(alice)
    srv.stop()
    rows = sql(db, "SELECT key, name, hash FROM accounts")
    assert len(rows) == 1
    key, name, hashed = rows[0].split("|", 2)
    assert (key, name) == ("alice", "alice")
    assert hashed.startswith("$argon2id$v=19$m=65536,t=2,p=1$"), hashed
    assert SECRET not in db.read_bytes().decode("latin-1")
    srv = server("--db", db)
    srv.wait_log(r"\(0 messages relus, 1 compte, 1 salon avec propriétaire\)$")
    c = connect(srv.port, name="alice")
    login(c, "alice")


def test_a_password_crosses_tls_and_loopback(server, connect, certs):
    srv = server(*tls_args(certs))
    c = connect(srv.port, name="alice")
    c.join("alice")
    register(c)  # plaintext, but from this very machine
    c.send_line("/quit")
    c.expect_closed()
    t = LineClient(srv.tls_port, name="alice", tls=client_context(certs.ca),
                   server_hostname="localhost")
    try:
        login(t, "alice")
    finally:
        t.close()


def test_admins_have_the_consoles_kick_and_say(server, chat):
    srv = server("--admin", "Chef")
    chef, bob, eve = chat(srv, "chef", "bob", "eve")
    chef.send_line("/say avant")
    chef.expect_exact("! Réservé aux administrateurs du serveur (--admin), connectés avec leur "
                      "mot de passe.")
    register(chef)  # logged in to the account --admin names: the powers come with it
    chef.send_line("/say maintenance à midi")
    for c in (chef, bob, eve):
        c.readlines_until("* serveur : maintenance à midi")
    chef.send_line("/kick eve trop bavarde")
    chef.expect_exact("+ eve est expulsé.")
    eve.readlines_until("! Vous avez été expulsé par l'opérateur (trop bavarde).")
    bob.readlines_until("* eve a été expulsé (trop bavarde)")
    bob.send_line("/kick chef")
    bob.expect_exact("! Réservé aux administrateurs du serveur (--admin), connectés avec leur "
                     "mot de passe.")
    chef.send_line("/kick personne")
    chef.readlines_until("! Pseudo inconnu : personne.")


def test_admin_option_refuses_a_bad_pseudo(server):
    from conftest import run_server

    p = run_server(["--admin", "pas valide"])
    assert p.returncode == 2
    assert "--admin" in p.stderr
