"""The web page (web/) in a real headless Chromium: Debian's, driven through
tests/browser/driver.mjs (browser.py). Pages, terminal clients and raw clients talk to each
other through one server, as people would: the conversation and its dress (colours the
same as the terminal's, own lines bold, notices dim, mentions marked), history at its own
time, a room change by a click, reconnection after the server restarts, a paste under flood
control, peer markup shown as text, Tab and Up/Down, refusals of a pseudo, the dark scheme,
a phone-sized window, notifications, HTTPS. Every page is checked at the end for what it
must never do (browser.Page.assert_clean(): no dialog, no uncaught or console error, no
Content-Security-Policy violation). Screenshots of a conversation go to
$CAUSERIE_BUILD/screenshots/ (build/screenshots/ by default), for people to look at.
"""

import re
import socket
import sqlite3
from datetime import datetime, timezone

import pytest

import browser
from conftest import BUILD, Collector
from wire import tls_args

pytestmark = pytest.mark.skipif(browser.missing() is not None,
                                reason=f"no browser: {browser.missing()}")

SHOTS = BUILD / "screenshots"
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 360, "height": 740}
# Chromium logs this on its console each time a WebSocket cannot connect: expected while
# a server is down, and only then.
WS_REFUSED = re.compile(r"WebSocket connection to '.*' failed")
# Seconds to wait for a reconnection: the page waits 1 s, then 2 s, then 4 s between tries.
RECONNECT_TIMEOUT = 20


@pytest.fixture(scope="module")
def driver():
    d = browser.Driver()
    yield d
    status = d.stop()
    assert status == 0, f"browser driver exited with status {status}\n{d.stderr[-3000:]}"


@pytest.fixture
def pages(server, driver):
    """Factory: pages(srv, pseudo, **options) opens the page of srv's web port in a new
    browser context and joins as pseudo (pseudo=None: opens it only). Options go to the
    driver (viewport, colorScheme, timezoneId, permissions, initScript, isMobile,
    ignoreHTTPSErrors). At teardown, before the servers stop, every page must be clean;
    allow_console=regex forgives the console errors it matches."""
    opened = []

    def open_page(srv, pseudo, name=None, allow_console=None, **options):
        scheme = srv.web_scheme or "http"
        url = f"{scheme}://127.0.0.1:{srv.web_port}/"
        page = driver.page(name or pseudo, url, **options)
        page.allow_console = allow_console
        opened.append(page)
        if pseudo is not None:
            join(page, srv, pseudo)
        return page

    yield open_page
    errors = []
    for page in opened:
        try:
            check_clean(page)
        except AssertionError as e:
            errors.append(str(e))
        page.close()
    if errors:
        pytest.fail("\n\n".join(errors))


def check_clean(page):
    if page.allow_console is not None:
        r = page.record()
        unexpected = [m for m in r["consoleErrors"] if not page.allow_console.search(m)]
        assert unexpected == [], f"{page.name}: console errors: {unexpected}"
        assert r["dialogs"] == [] and r["errors"] == [] and r["csp"] == [], r
        return
    page.assert_clean()


def join(page, srv, pseudo):
    """Gives pseudo in the page's form; returns once the page shows the welcome, the server
    logged the arrival and the outbox runs (the list of rooms, asked for by the page itself
    once the arrival's room is known, has come)."""
    mark = srv.log_mark()
    page.fill("#pseudo", pseudo)
    page.press("Enter")
    page.wait_line(f"Bienvenue, {pseudo} !")
    srv.wait_log(rf"{re.escape(pseudo)} a rejoint la discussion", after=mark)
    page.wait("() => document.querySelector('#rooms [aria-current=true]')",
              what="our room in the list of rooms")


def send(page, text):
    page.focus("#line")
    page.type(text)
    page.press("Enter")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pseudo_colour(page, pseudo):
    """The xterm colour (as pyte names it, "5f87af") of the class of the first span showing
    pseudo in the conversation."""
    value = page.eval(
        "(p) => { const s = [...document.querySelectorAll('#log .pseudo')]"
        ".find((e) => e.textContent === p);"
        " return s && getComputedStyle(s).getPropertyValue('--pc').trim(); }", pseudo)
    assert value and value.startswith("#"), f"{page.name}: no colour for {pseudo}: {value!r}"
    return value[1:]


def line_classes(page, text):
    return page.eval(
        "(t) => { const li = [...document.querySelectorAll('#log .line')]"
        ".find((e) => e.textContent.includes(t)); return li ? li.className : null; }", text)


def terminal_colours(term, row_text, word):
    """The colours the terminal shows word in, on the first row containing row_text."""
    for y, r in enumerate(term.rows()):
        if row_text in r:
            x = r.index(word)
            line = term.screen.buffer[y]
            return {line[i].fg for i in range(x, x + len(word))}
    raise AssertionError(f"no row with {row_text!r}:\n{term.text()}")


# ---------------------------------------------------------------- the conversation


def test_two_pages_and_a_terminal_client_talk(server, pages, joined_client):
    srv = server()
    alice = pages(srv, "alice", viewport=DESKTOP)
    bob = pages(srv, "bob", viewport=PHONE, isMobile=True)
    alice.wait_line("bob a rejoint la discussion")
    carol = joined_client(srv, "carol", prompts=False, term="xterm-256color")
    for p in (alice, bob):
        p.wait_line("carol a rejoint la discussion")

    send(alice, "Bonjour à tous !")
    bob.wait_line("alice: Bonjour à tous !")
    carol.term.wait_text("alice: Bonjour à tous !")
    carol.send("salut alice, salut bob\r")
    alice.wait_line("carol: salut alice, salut bob")
    bob.wait_line("carol: salut alice, salut bob")
    send(bob, "/me fait signe de la main")
    alice.wait_line("* bob fait signe de la main")
    carol.term.wait_text("* bob fait signe de la main")
    send(alice, "on se retrouve à 14 h ?")
    carol.term.wait_text("alice: on se retrouve à 14 h ?")
    bob.wait_line("alice: on se retrouve à 14 h ?")
    carol.send("oui, à tout à l'heure\r")
    for p in (alice, bob):
        p.wait_line("carol: oui, à tout à l'heure")

    # A pseudo has the same colour in both pages and in the terminal client.
    for who, row in (("alice", "alice: Bonjour à tous !"), ("bob", "* bob fait signe")):
        terminal = terminal_colours(carol.term, row, who)
        assert terminal == {pseudo_colour(page, who) for page in (alice, bob)}, (who, terminal)
    assert pseudo_colour(alice, "carol") == pseudo_colour(bob, "carol")
    # Own lines bold, a line naming us marked, notices dim.
    assert "own" in line_classes(alice, "alice: Bonjour à tous !")
    assert alice.eval("() => getComputedStyle(document.querySelector('.line.own .body'))"
                      ".fontWeight") == "700"
    assert "mention" in line_classes(alice, "carol: salut alice")
    assert alice.eval("() => document.querySelector('.line.mention .body.mention')"
                      ".textContent") == "alice"
    assert "mention" in line_classes(bob, "carol: salut alice, salut bob")
    assert "mention" not in line_classes(alice, "bob fait signe")
    assert "notice" in line_classes(alice, "Bienvenue, alice !")
    assert alice.eval("() => { const d = getComputedStyle(document.documentElement)"
                      ".getPropertyValue('--dim').trim(); const c = document.querySelector("
                      "'.line.notice'); return getComputedStyle(c).color; }") != \
        alice.eval("() => getComputedStyle(document.body).color")
    # Who is in the room, and the status.
    people = alice.eval("() => [...document.querySelectorAll('#people .person')]"
                        ".map((b) => b.textContent)")
    assert people == ["alice (vous)", "bob", "carol"], people
    alice.wait_text("#room", "#général · 3 personnes")
    assert "Connecté" in alice.status() and "non chiffré" in alice.status()

    alice.screenshot(SHOTS / "conversation-desktop.png")
    bob.screenshot(SHOTS / "conversation-phone.png")
    for p in (alice, bob):
        p.call("media", colorScheme="dark")
    alice.screenshot(SHOTS / "conversation-desktop-dark.png")
    bob.screenshot(SHOTS / "conversation-phone-dark.png")


def test_tab_completes_pseudos_and_up_down_recall_sent_lines(server, chat, pages):
    srv = server()
    chat(srv, "Bérénice", "bob", "bernard")
    alice = pages(srv, "alice")
    alice.wait_text("#people", "bernard")
    alice.focus("#line")
    alice.type("Bé")
    alice.press("Tab")
    assert alice.eval("() => document.getElementById('line').value") == "Bérénice: "
    alice.type("bonjour")
    alice.press("Enter")
    alice.wait_line("alice: Bérénice: bonjour")
    # Several candidates: their common part, then one after the other.
    # Several candidates with nothing more in common: one after the other, sorted as the
    # server compares pseudos (folded: "bé" after "bo").
    alice.type("et toi b")
    value = "() => document.getElementById('line').value"
    for expected in ("et toi bernard", "et toi bob", "et toi Bérénice", "et toi bernard"):
        alice.press("Tab")
        assert alice.eval(value) == expected
    alice.press("Escape")
    assert alice.eval(value) == "et toi b"
    alice.press("Enter")
    alice.wait_line("alice: et toi b")
    # Commands too, at the start of a line.
    alice.type("/jo")
    alice.press("Tab")
    assert alice.eval(value) == "/join "
    alice.fill("#line", "brouillon")
    alice.press("ArrowUp")
    assert alice.eval(value) == "et toi b"
    alice.press("ArrowUp")
    assert alice.eval(value) == "Bérénice: bonjour"
    alice.press("ArrowUp")
    assert alice.eval(value) == "Bérénice: bonjour"  # the oldest stays
    alice.press("ArrowDown")
    assert alice.eval(value) == "et toi b"
    alice.press("ArrowDown")
    assert alice.eval(value) == "brouillon"  # what was being typed comes back


def test_refusals_of_a_pseudo_are_shown_in_the_form(server, chat, pages):
    srv = server()
    chat(srv, "bob")
    page = pages(srv, None, name="nouveau")
    for pseudo, refusal in (
        ("BOB", "! Le pseudo « BOB » est déjà pris."),
        ("a b", "! Le pseudo ne doit pas contenir d'espace."),
        ("/x", "! Le pseudo ne peut pas commencer par « / »."),
    ):
        page.fill("#pseudo", pseudo)
        page.press("Enter")
        page.wait_text("#login-error", refusal)
        page.wait("() => !document.getElementById('pseudo').disabled"
                  " && !document.getElementById('pseudo-go').disabled", what="the form again")
    page.screenshot(SHOTS / "pseudo-refused.png")
    join(page, srv, "alice")
    assert page.eval("() => document.getElementById('login').hidden")


def test_nick_then_quit_and_come_back(server, chat, pages):
    srv = server()
    (bob,) = chat(srv, "bob")
    alice = pages(srv, "alice")
    bob.expect_exact("* alice a rejoint la discussion")
    send(alice, "/nick Alicia")
    alice.wait_line("Vous vous appelez maintenant Alicia.")
    bob.expect_exact("* alice s'appelle maintenant Alicia")
    alice.wait_text("#me", "Alicia")
    alice.wait_text("#people", "Alicia (vous)")
    send(alice, "/quit à plus")
    bob.expect_exact("* Alicia est déconnecté (à plus)")
    alice.wait_line("Vous avez quitté la discussion.")
    alice.wait_text("#state", "Déconnecté")
    assert alice.eval("() => ['login', 'compose', 'side']"
                      ".map((id) => document.getElementById(id).hidden)") == [False, True, True]
    assert alice.eval("() => document.getElementById('pseudo').value") == "Alicia"
    join(alice, srv, "Alicia")
    bob.expect_exact("* Alicia a rejoint la discussion")


def seed_history(db, when, lines):
    """Writes lines (kind, pseudo, text) of #général said at when into a server's database
    (made by a first start), as an earlier run would have left them."""
    t = int(when.timestamp())
    c = sqlite3.connect(db)
    with c:
        c.execute("INSERT OR IGNORE INTO rooms(key, name) VALUES ('général', 'général')")
        room = c.execute("SELECT id FROM rooms WHERE key = 'général'").fetchone()[0]
        c.executemany("INSERT INTO lines(id, room, time, kind, who, text) VALUES (?, ?, ?, ?, ?, ?)",
                      [(i, room, t, kind, who, text) for i, (kind, who, text) in enumerate(lines, 1)])
    c.close()


def test_history_is_shown_at_its_own_time(server, chat, pages, tmp_path):
    db = tmp_path / "server.db"
    server("--db", db, "--history-days", "0").stop()  # the schema
    long_ago = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    seed_history(db, long_ago, [(">", "dora", "une vieille histoire"),
                                ("&", "dora", "range son bureau"),
                                (">", "alice", "moi aussi, avant")])
    srv = server("--db", db, "--history-days", "0")  # long ago is kept
    (bob,) = chat(srv, "bob")
    bob.send_line("tout frais")
    bob.send_line("/who")
    bob.readlines_until("= #général 1 :")  # answered in order: "tout frais" is kept
    # Paris is one hour ahead of UTC in January: 03:04 UTC is 04:04 there.
    alice = pages(srv, "alice", timezoneId="Europe/Paris")
    for text in ("dora: une vieille histoire", "* dora range son bureau",
                 "alice: moi aussi, avant"):
        line = alice.wait_line(text)
        assert line.startswith("04:04"), line
        assert "history" in line_classes(alice, text)
    alice.wait_line("bob: tout frais")
    assert "history" in line_classes(alice, "bob: tout frais")
    age = alice.eval("() => Date.now() - Date.parse([...document.querySelectorAll("
                     "'.line.history')].pop().querySelector('time').dateTime)")
    assert 0 <= age < 60000, age  # said just now, and shown so
    # Our own old line is neither bold nor marked as ours, as in the terminal.
    assert "own" not in line_classes(alice, "alice: moi aussi, avant")
    times = alice.eval("() => [...document.querySelectorAll('.line.history time')]"
                       ".map((t) => t.dateTime)")
    assert times[:3] == ["2026-01-02T03:04:05.000Z"] * 3, times


def test_a_click_on_a_room_joins_it(server, chat, pages):
    srv = server()
    (bob,) = chat(srv, "bob")
    bob.send_line("/join jeux")
    bob.expect_exact("+ Vous êtes maintenant dans #jeux.")
    bob.expect_exact("= #jeux 1 : bob")
    alice = pages(srv, "alice")
    alice.wait('() => document.querySelector(\'#rooms [data-room="jeux"]\')',
               what="#jeux in the list of rooms")
    rooms = alice.eval("() => [...document.querySelectorAll('#rooms .room-item')]"
                       ".map((b) => b.textContent)")
    assert sorted(rooms) == ["#général1", "#jeux1"], rooms
    alice.click('#rooms [data-room="jeux"]')
    alice.wait_line("Vous êtes maintenant dans #jeux.")
    alice.wait_line("#jeux, 2 personnes : bob, alice")
    bob.expect_exact("* alice a rejoint #jeux")
    alice.wait_text("#room", "#jeux · 2 personnes")
    alice.wait('() => document.querySelector(\'#rooms [data-room="jeux"]\')'
               '.getAttribute("aria-current") === "true"', what="#jeux current")
    people = alice.eval("() => document.getElementById('people').textContent")
    assert people == "alice (vous)bob", people
    send(alice, "me voilà")
    bob.expect_exact("> alice: me voilà")
    # The page's own /rooms are never shown; only what was asked for is.
    assert not [s for s in alice.log() if "salon" in s and "Vous êtes" not in s], alice.log()
    send(alice, "/rooms")
    alice.wait_line("2 salons :")
    alice.wait_line("#jeux : 2 personnes")


def test_reconnects_after_a_server_restart(server, chat, pages):
    port, web_port = free_port(), free_port()
    args = ("--web-port", str(web_port))
    srv = server(*args, port=port)
    alice = pages(srv, "alice", allow_console=WS_REFUSED)
    send(alice, "/join jeux")
    alice.wait_text("#room", "#jeux")
    srv.stop()
    alice.wait_line("Connexion au serveur perdue : nouvelle tentative dans 1 s.")
    alice.wait_text("#state", "Hors ligne")
    send(alice, "message écrit hors ligne")
    alice.wait_text("#waiting", "1 en attente")
    alice.focus("#line")
    alice.type("pas encore envoyé")

    srv = server(*args, port=port)
    (bob,) = chat(srv, "bob")
    bob.send_line("/join jeux")
    bob.readlines_until("+ Vous êtes maintenant dans #jeux.")  # alice may be back first
    alice.wait_line(f"Reconnecté à 127.0.0.1:{web_port}.", timeout=RECONNECT_TIMEOUT)
    seen = bob.readlines_until(re.compile(r"(~ \S+ )?> alice: message écrit hors ligne"),
                               timeout=RECONNECT_TIMEOUT)
    assert all(not s.startswith("> ") for s in seen[:-1]), seen
    alice.wait_text("#room", "#jeux · 2 personnes")
    assert "Connecté" in alice.status()
    assert alice.eval("() => document.getElementById('line').value") == "pas encore envoyé"
    assert alice.eval("() => document.getElementById('waiting').hidden")
    alice.press("Enter")
    bob.expect_exact("> alice: pas encore envoyé")


def test_a_paste_of_30_lines_arrives_whole_under_flood_control(server, chat, pages):
    srv = server()  # flood control at its defaults: 10 lines at once, then 5 a second
    (bob,) = chat(srv, "bob")
    alice = pages(srv, "alice", permissions=["clipboard-read", "clipboard-write"])
    bob.expect_exact("* alice a rejoint la discussion")
    lines = [f"ligne {i:02} du texte collé" for i in range(1, 31)]
    collector = Collector(bob, r"> alice: ligne 30 du texte collé", timeout=20)
    alice.eval("(t) => navigator.clipboard.writeText(t)", "\n".join(lines) + "\n")
    alice.focus("#line")
    alice.press("Control+V")
    alice.wait("() => !document.getElementById('waiting').hidden",
               what="lines waiting")  # the pace holds some back
    got = collector.result()
    assert got == [f"> alice: {s}" for s in lines], got
    alice.wait_line("alice: ligne 30 du texte collé")
    assert not [s for s in alice.log() if "Trop de messages" in s], alice.log()
    assert alice.eval("() => document.getElementById('waiting').hidden")
    assert alice.eval("() => document.getElementById('line').value") == ""


def test_markup_from_a_peer_is_shown_as_text(server, chat, pages, joined_client):
    srv = server()
    (bob,) = chat(srv, "bob")
    alice = pages(srv, "alice")
    carol = joined_client(srv, "carol", prompts=False)
    alice.wait_line("carol a rejoint la discussion")
    carol.send("<img src=x onerror=alert(1)>\r")
    bob.send_line("<script>alert(2)</script><b onmouseover=alert(3)>gras</b>")
    bob.send_line("/me <svg onload=alert(4)>")
    bob.send_line("fin")
    alice.wait_line("bob: fin")
    alice.wait_line("carol: <img src=x onerror=alert(1)>")
    alice.wait_line("bob: <script>alert(2)</script><b onmouseover=alert(3)>gras</b>")
    alice.wait_line("* bob <svg onload=alert(4)>")
    assert alice.eval("() => document.querySelectorAll('#log img, #log script, #log b, #log svg')"
                      ".length") == 0
    alice.eval("() => document.querySelectorAll('#log .line').forEach((l) =>"
               " l.dispatchEvent(new MouseEvent('mouseover', {bubbles: true})))")
    alice.assert_clean()  # no dialog opened: nothing ran


# ---------------------------------------------------------------- looks and places


def test_dark_scheme_and_a_phone_sized_window(server, chat, pages):
    srv = server()
    (bob,) = chat(srv, "bob")
    page = pages(srv, "alice", viewport=PHONE, isMobile=True, colorScheme="dark")
    bob.send_line("un message un peu long pour voir comment il passe à la ligne sur un "
                  "écran de téléphone, avec unmotbeaucouptroplongpourtenirsurunelignedutout")
    page.wait_line("bob: un message un peu long")
    background = page.eval("() => getComputedStyle(document.body).backgroundColor")
    rgb = [int(v) for v in re.findall(r"\d+", background)[:3]]
    assert max(rgb) < 60, background  # dark
    # Nothing wider than the screen; the input line and its button within it.
    assert page.eval("() => document.documentElement.scrollWidth") <= PHONE["width"]
    right = page.eval("() => Math.max(...['#line', '#compose button', '#state']"
                      ".map((s) => document.querySelector(s).getBoundingClientRect().right))")
    assert right <= PHONE["width"], right
    # Rooms and people fold into a panel the "Salons" button opens.
    assert page.eval("() => getComputedStyle(document.getElementById('side')).display") == "none"
    page.click("#panel-toggle")
    page.wait("() => getComputedStyle(document.getElementById('side')).display !== 'none'",
              what="the panel open")
    page.screenshot(SHOTS / "phone-panel-dark.png")
    page.click('#rooms [data-room="général"]')
    page.wait("() => getComputedStyle(document.getElementById('side')).display === 'none'",
              what="the panel closed")


# What the test controls in the page, before its scripts run: headless Chromium always
# reports the page visible, so the test says when it is hidden (the getters below, and the
# event a browser fires); and Notification is wrapped to record what the page shows, the
# real one still being called (the permission is granted through the browser's API).
NOTIFICATION_SPY = """
(() => {
    let hidden = false;
    Object.defineProperty(Document.prototype, 'visibilityState',
        { get() { return hidden ? 'hidden' : 'visible'; }, configurable: true });
    Object.defineProperty(Document.prototype, 'hidden',
        { get() { return hidden; }, configurable: true });
    window.__setHidden = (h) => {
        hidden = h;
        document.dispatchEvent(new Event('visibilitychange'));
    };
    window.__notifications = [];
    const Real = window.Notification;
    class Spy extends Real {
        constructor(title, options) {
            super(title, options);
            window.__notifications.push({ title, body: options && options.body });
        }
    }
    window.Notification = Spy;
})();
"""


def test_a_mention_while_hidden_makes_a_notification_once_asked(server, chat, pages):
    srv = server()
    (bob,) = chat(srv, "bob")
    alice = pages(srv, "alice", permissions=["notifications"], initScript=NOTIFICATION_SPY)
    notes = "() => window.__notifications"
    alice.wait_text("#notify", "Activer les notifications")
    alice.eval("() => window.__setHidden(true)")
    bob.send_line("alice, pas encore ?")
    alice.wait_line("bob: alice, pas encore ?")
    assert alice.eval(notes) == []  # not asked for: none
    assert alice.eval("() => document.title") == "(1) causerie"
    alice.eval("() => window.__setHidden(false)")
    assert alice.eval("() => document.title") == "causerie"

    alice.click("#notify")
    alice.wait_text("#notify", "Notifications activées")
    alice.eval("() => window.__setHidden(true)")
    bob.send_line("rien pour toi")
    bob.send_line("Alice : tu es là ?")
    bob.send_line("/msg alice psst")
    alice.wait_line("[privé] bob: psst")
    got = alice.eval(notes)
    assert got == [
        {"title": "bob dans #général", "body": "bob: Alice : tu es là ?"},
        {"title": "bob (message privé)", "body": "[privé] bob: psst"},
    ], got
    alice.eval("() => window.__setHidden(false)")
    bob.send_line("alice ?")
    alice.wait_line("bob: alice ?")
    assert len(alice.eval(notes)) == 2  # visible: the page is enough


def test_the_page_over_https_says_it_is_encrypted(server, chat, pages, certs):
    srv = server(*tls_args(certs))
    assert srv.web_scheme == "https"
    (bob,) = chat(srv, "bob")
    alice = pages(srv, "alice", ignoreHTTPSErrors=True)
    alice.wait_text("#security", "chiffré (TLS)")
    bob.expect_exact("* alice a rejoint la discussion")
    send(alice, "par wss")
    bob.expect_exact("> alice: par wss")


# A scripted server inside the page: no server sends '%' yet (accounts will), so the page's
# WebSocket is replaced, before its scripts run, by one that answers as an accounts server
# would: the prompt and /cap, then a password asked for the pseudo, then the arrival. The
# page itself still comes from the real server. window.__sent holds every line the page
# sent; window.__ws.say(line) makes the server speak.
FAKE_ACCOUNTS_WS = """
(() => {
    window.__sent = [];
    class FakeWebSocket extends EventTarget {
        constructor(url) {
            super();
            this.url = url;
            this.readyState = FakeWebSocket.CONNECTING;
            this.step = 'cap';
            window.__ws = this;
            setTimeout(() => {
                this.readyState = FakeWebSocket.OPEN;
                this.dispatchEvent(new Event('open'));
            }, 0);
        }
        say(...lines) {
            setTimeout(() => {
                for (const data of lines) {
                    this.dispatchEvent(new MessageEvent('message', { data }));
                }
            }, 0);
        }
        send(data) {
            const line = String(data);
            window.__sent.push(line);
            if (this.step === 'cap') {
                this.step = 'pseudo';
                this.say('? Entrez votre pseudo :', '+ Capacité activée : events.');
            } else if (this.step === 'pseudo') {
                this.step = 'password';
                this.pseudo = line;
                this.say(`% Mot de passe pour « ${line} » :`);
            } else if (this.step === 'password') {
                this.step = 'chat';
                const p = this.pseudo;
                this.say(`+ Bienvenue, ${p} ! Personne d'autre n'est connecté pour l'instant.`,
                         '# #général : Vous êtes maintenant dans #général.',
                         `= #général 1 : ${p}`);
            } else if (line === '/rooms') {
                this.say('+ 1 salon :', '$ #général 1 : 1 personne');
            }
        }
        close() {
            this.readyState = FakeWebSocket.CLOSED;
            this.dispatchEvent(new CloseEvent('close'));
        }
    }
    for (const [k, v] of Object.entries({ CONNECTING: 0, OPEN: 1, CLOSING: 2, CLOSED: 3 })) {
        FakeWebSocket[k] = v;
    }
    window.WebSocket = FakeWebSocket;
})();
"""


def never_kept(page, secret):
    """secret is nowhere the page shows or keeps text: the conversation, the fields, the
    recall list's storage."""
    shown = page.eval("() => document.body.innerText")
    assert secret not in shown, shown
    fields = page.eval("() => [...document.querySelectorAll('input')].map((i) => i.value)")
    assert secret not in fields, fields
    stored = page.eval("() => JSON.stringify({ ...localStorage })")
    assert secret not in stored, stored


def test_a_password_is_asked_in_a_password_field_and_never_kept(server, pages):
    srv = server()
    page = pages(srv, None, name="alice", initScript=FAKE_ACCOUNTS_WS)
    sent = "() => window.__sent"
    page.fill("#pseudo", "alice")
    page.press("Enter")
    page.wait("() => !document.getElementById('secret-row').hidden"
              " && document.activeElement === document.getElementById('secret')",
              what="the password field, focused")
    field = page.eval("() => { const s = document.getElementById('secret');"
                      " return [s.type, s.autocomplete, document.getElementById("
                      "'secret-label').textContent, document.getElementById('pseudo').readOnly]; }")
    assert field == ["password", "current-password", "Mot de passe pour « alice » :", True]
    page.screenshot(SHOTS / "password-asked.png")
    page.type("s3cr3t-Ünï")
    page.press("Enter")
    page.wait_line("Bienvenue, alice !")
    assert page.eval(sent)[:3] == ["/cap events", "alice", "s3cr3t-Ünï"]
    assert page.eval("() => document.getElementById('login').hidden")
    never_kept(page, "s3cr3t-Ünï")
    # In the chat: a command's password takes the input line's place; the draft waits.
    page.wait("() => window.__sent.includes('/rooms')", what="the page's own /rooms")
    send(page, "bonjour")
    page.wait_line("alice: bonjour")
    page.fill("#line", "brouillon")
    page.eval("() => window.__ws.say('% Mot de passe actuel :')")
    page.wait("() => document.activeElement === document.getElementById('secret-line')",
              what="the password field in place of the input line")
    assert page.eval("() => { const s = document.getElementById('secret-line');"
                     " return [s.type, s.autocomplete, s.placeholder,"
                     " document.getElementById('line').hidden]; }") == [
        "password", "current-password", "Mot de passe actuel :", True]
    page.wait_line("Mot de passe actuel :")  # the question stays in the conversation
    page.type("ancien")
    page.press("Enter")
    page.wait("() => window.__sent.at(-1) === 'ancien'", what="the password sent")
    value = "() => document.getElementById('line').value"
    page.wait("() => !document.getElementById('line').hidden"
              " && document.activeElement === document.getElementById('line')",
              what="the input line back")
    assert page.eval(value) == "brouillon"
    page.press("ArrowUp")
    assert page.eval(value) == "bonjour"
    page.press("ArrowUp")
    assert page.eval(value) == "bonjour"  # the oldest: no password before it
    never_kept(page, "ancien")
    never_kept(page, "s3cr3t-Ünï")
    assert page.eval("() => JSON.parse(localStorage.getItem('causerie.recall'))") == ["bonjour"]
