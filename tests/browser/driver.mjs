// driver.mjs - Debian's Chromium, driven for tests/e2e/test_browser.py over JSON lines.
//
// The e2e suite stays one pytest run: pytest starts this process (tests/e2e/browser.py),
// writes one command per line on its stdin, {"id": 1, "op": "open", ...}, and reads one
// answer per line on its stdout, {"id": 1, "ok": true, "value": ...} or {"id": 1, "ok":
// false, "error": "..."}. Commands run one at a time, in order. The browser is
// /usr/bin/chromium (CHROMIUM overrides), headless, through playwright-core, which
// downloads nothing; each page gets a browser context of its own (its own storage,
// permissions, colour scheme, time zone), and keeps what a test asserts on afterwards: the
// dialogs that opened (dismissed at once), uncaught errors, console errors and the
// Content-Security-Policy violations the page reported. Every wait has a timeout, given
// by the caller in milliseconds (ms). The process ends at end of input or on
// {"op": "quit"}, closing Chromium.

import { createInterface } from 'node:readline';
import { chromium } from 'playwright-core';

const executablePath = process.env.CHROMIUM || '/usr/bin/chromium';
let browser = null;
const pages = new Map(); // name -> { context, page, dialogs, errors, consoleErrors }

// Recorded in every page before its own scripts run: the CSP violations it reports.
const RECORD_VIOLATIONS = `
    window.__cspViolations = [];
    document.addEventListener('securitypolicyviolation', (e) => {
        const what = [e.violatedDirective, e.blockedURI, e.sample];
        window.__cspViolations.push(what.filter(Boolean).join(' '));
    });
`;

function entry(name) {
    const p = pages.get(name);
    if (!p) {
        throw new Error(`no page named ${name}`);
    }
    return p;
}

// A function to run in the page, from its source text: "(arg) => ...".
function fn(source) {
    return new Function(`return (${source});`)();
}

const ops = {
    async launch() {
        if (!browser) {
            browser = await chromium.launch({ executablePath, headless: true });
        }
        return browser.version();
    },

    // A new page in a context of its own. viewport {width, height}; colorScheme 'light' or
    // 'dark'; timezoneId; permissions granted for the page's origin; initScript run in the
    // page before its own scripts; ignoreHTTPSErrors for a server's test certificate.
    async open({
        name,
        url,
        viewport,
        colorScheme,
        timezoneId,
        permissions,
        initScript,
        isMobile,
        ignoreHTTPSErrors,
    }) {
        if (pages.has(name)) {
            throw new Error(`a page named ${name} is open already`);
        }
        const context = await browser.newContext({
            viewport: viewport ?? { width: 1280, height: 800 },
            colorScheme: colorScheme ?? 'light',
            timezoneId,
            locale: 'fr-FR',
            isMobile: Boolean(isMobile),
            hasTouch: Boolean(isMobile),
            deviceScaleFactor: isMobile ? 2 : 1,
            ignoreHTTPSErrors: Boolean(ignoreHTTPSErrors),
        });
        if (permissions && permissions.length > 0) {
            await context.grantPermissions(permissions, { origin: new URL(url).origin });
        }
        const page = await context.newPage();
        const rec = { context, page, dialogs: [], errors: [], consoleErrors: [] };
        page.on('dialog', (d) => {
            rec.dialogs.push(`${d.type()}: ${d.message()}`);
            d.dismiss().catch(() => {});
        });
        page.on('pageerror', (e) => rec.errors.push(String(e)));
        page.on('console', (m) => {
            if (m.type() === 'error') {
                rec.consoleErrors.push(m.text());
            }
        });
        await page.addInitScript(RECORD_VIOLATIONS);
        if (initScript) {
            await page.addInitScript(initScript);
        }
        pages.set(name, rec);
        await page.goto(url, { waitUntil: 'load' });
        return true;
    },

    async close({ name }) {
        const p = entry(name);
        pages.delete(name);
        await p.context.close();
        return true;
    },

    async click({ name, selector, ms }) {
        await entry(name).page.click(selector, { timeout: ms });
        return true;
    },

    async fill({ name, selector, text, ms }) {
        await entry(name).page.fill(selector, text, { timeout: ms });
        return true;
    },

    async focus({ name, selector, ms }) {
        await entry(name).page.focus(selector, { timeout: ms });
        return true;
    },

    // Keys typed into the focused element, one by one, as a person types.
    async type({ name, text }) {
        await entry(name).page.keyboard.type(text);
        return true;
    },

    async press({ name, key }) {
        await entry(name).page.keyboard.press(key);
        return true;
    },

    // Waits until fn(arg) is true in the page; returns its value.
    async wait({ name, js, arg, ms }) {
        const handle = await entry(name).page.waitForFunction(fn(js), arg, {
            timeout: ms,
            polling: 20,
        });
        return await handle.jsonValue();
    },

    async eval({ name, js, arg }) {
        return await entry(name).page.evaluate(fn(js), arg);
    },

    async media({ name, colorScheme }) {
        await entry(name).page.emulateMedia({ colorScheme });
        return true;
    },

    async viewport({ name, width, height }) {
        await entry(name).page.setViewportSize({ width, height });
        return true;
    },

    async screenshot({ name, path, fullPage }) {
        await entry(name).page.screenshot({ path, fullPage: Boolean(fullPage) });
        return path;
    },

    // What the page did that a test checks at the end: dialogs, errors, CSP violations.
    async record({ name }) {
        const p = entry(name);
        const csp = await p.page.evaluate(() => window.__cspViolations ?? []).catch(() => []);
        return { dialogs: p.dialogs, errors: p.errors, consoleErrors: p.consoleErrors, csp };
    },

    async quit() {
        for (const p of pages.values()) {
            await p.context.close().catch(() => {});
        }
        pages.clear();
        if (browser) {
            await browser.close();
            browser = null;
        }
        return true;
    },
};

function answer(obj) {
    process.stdout.write(`${JSON.stringify(obj)}\n`);
}

const input = createInterface({ input: process.stdin, crlfDelay: Infinity });
for await (const line of input) {
    if (line.trim() === '') {
        continue;
    }
    let cmd;
    try {
        cmd = JSON.parse(line);
    } catch (e) {
        answer({ id: null, ok: false, error: `not JSON: ${e.message}` });
        continue;
    }
    const op = ops[cmd.op];
    try {
        if (!op) {
            throw new Error(`unknown op ${cmd.op}`);
        }
        const value = await op(cmd);
        answer({ id: cmd.id, ok: true, value: value ?? null });
    } catch (e) {
        answer({ id: cmd.id, ok: false, error: String(e && e.stack ? e.stack : e) });
    }
    if (cmd.op === 'quit') {
        break;
    }
}
await ops.quit();
process.exit(0);
