// Security headers in the browser (docs/PROTOCOL.md §6, "Security headers").
// Each test starts a server of its own (helpers.mjs startServer) with the default
// `--csp auto`: our page (web/, which carries <meta name="chat-csp" content="strict">)
// gets the strict policy and must run with no violation at all; a Flask-era single-file
// page (fixtures/flask-page/, inline <script> and <style>) gets the compat policy and
// must still log in and send.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  PASSWORD, launch, openPage, uniqueName, until, waitText, waitInRoom, sendText, waitMessage,
  messages, sendImage, startServer, noServerBinary,
} from './helpers.mjs';

const FLASK_PAGE = fileURLToPath(new URL('./fixtures/flask-page/', import.meta.url));
const skip = noServerBinary();

let browser;
before(async () => { if (!skip) browser = await launch(); });
after(async () => { await browser?.close(); });

// A page that reports every CSP violation (securitypolicyviolation events, and
// console messages about a policy) into `page.csp`. The reporter is a binding,
// installed by the browser, so the policy under test does not block it.
async function watchedPage() {
  const { context, page } = await openPage(browser);
  page.csp = [];
  page.websockets = [];
  await context.exposeFunction('__cspViolation', (v) => page.csp.push(v));
  await context.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => {
      window.__cspViolation(`${e.violatedDirective} blocked ${e.blockedURI || 'inline'} (${e.sourceFile}:${e.lineNumber})`);
    }, true);
  });
  page.on('console', (m) => {
    if (/Content[- ]Security[- ]Policy|Permissions[- ]Policy/i.test(m.text())) page.csp.push(`console ${m.type()}: ${m.text()}`);
  });
  page.on('websocket', (ws) => page.websockets.push(ws.url()));
  return { context, page };
}

async function register(base, username) {
  const r = await fetch(base + '/api/register', {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password: PASSWORD }),
  });
  assert.equal(r.status, 201, `register ${username}: ${await r.text()}`);
}

function assertCommonHeaders(h, what) {
  assert.equal(h['x-content-type-options'], 'nosniff', what);
  assert.equal(h['x-frame-options'], 'DENY', what);
  assert.equal(h['referrer-policy'], 'no-referrer', what);
  assert.match(h['permissions-policy'] || '', /camera=\(\)/, what);
}

test('our page under --csp auto gets the strict policy and runs with zero violations', async (t) => {
  if (skip) { t.skip(skip); return; }
  const server = await startServer([]);
  const { context, page } = await watchedPage();
  try {
    assert.match(server.log(), /csp=Strict/, 'the start-up log names the decision');
    const name = uniqueName('csp');
    await register(server.url, name);

    const resp = await page.goto(server.url + '/');
    const h = resp.headers();
    assertCommonHeaders(h, 'the page');
    const csp = h['content-security-policy'] || '';
    assert.match(csp, /script-src 'self';/, csp);
    assert.match(csp, /connect-src 'self'/, csp);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval|https:/, csp);

    // log in through the form, send, and receive our own message over the socket
    await page.locator('#login-form').waitFor({ state: 'visible' });
    await page.fill('#login-username', name);
    await page.fill('#login-password', PASSWORD);
    await page.click('#login-submit');
    await waitInRoom(page);
    const text = `csp strict ${Date.now()}`;
    await sendText(page, text);
    await waitMessage(page, text);
    // an image: the upload's <img> comes from 'self'
    await sendImage(page);
    const row = await until(async () => (await messages(page)).find((m) => m.img), 'an image row');
    await until(() => page.$eval(`img.chat-image[src="${row.img}"]`, (i) => i.complete && i.naturalWidth > 0), 'the image loads');
    // The client upgrades to a websocket: connect-src 'self' allows ws: of the same host.
    await until(() => page.websockets.some((u) => u.startsWith(server.url.replace('http', 'ws') + '/socket.io/')),
      () => `a websocket to the server (saw ${JSON.stringify(page.websockets)})`);
    await page.waitForTimeout(300);

    assert.deepEqual(page.csp, [], 'no CSP violation on our page');
    assert.deepEqual(page.errors, [], 'no page error');

    // The policy is enforced and the watcher sees it: an inline script is refused.
    await page.evaluate(() => {
      const s = document.createElement('script');
      s.textContent = 'window.__inlineRan = true';
      document.body.appendChild(s);
    });
    await until(() => page.csp.length > 0, 'the inline script is reported');
    assert.match(page.csp[0], /script-src/);
    assert.equal(await page.evaluate(() => window.__inlineRan === true), false, 'the inline script did not run');
  } finally {
    await context.close().catch(() => {});
    await server.stop();
  }
});

test('a Flask-era page with inline script and style, served with --web-dir, logs in and sends under compat', async (t) => {
  if (skip) { t.skip(skip); return; }
  const server = await startServer(['--web-dir', FLASK_PAGE]);
  const { context, page } = await watchedPage();
  try {
    assert.match(server.log(), /csp=Compat/, 'the start-up log names the decision');
    const name = uniqueName('flask');
    await register(server.url, name);

    const resp = await page.goto(server.url + '/');
    const h = resp.headers();
    assertCommonHeaders(h, 'the Flask-era page');
    const csp = h['content-security-policy'] || '';
    assert.match(csp, /script-src 'self' 'unsafe-inline' https:;/, csp);
    assert.match(csp, /style-src 'self' 'unsafe-inline' https:;/, csp);
    assert.doesNotMatch(csp, /unsafe-eval/, csp);
    // the inline <style> applied
    assert.equal(await page.$eval('#chat', (e) => getComputedStyle(e).display), 'none');

    await page.fill('#username', name);
    await page.fill('#password', PASSWORD);
    await page.click('#login-btn');           // an inline onclick= handler
    await waitText(page.locator('#status'), '已连接', 'the Flask-era page connects');
    assert.equal(await page.textContent('#me'), name);
    const text = `flask compat ${Date.now()}`;
    await page.fill('#content', text);
    await page.click('#send-btn');
    await until(async () => (await page.$$eval('#messages .content', (els) => els.map((e) => e.textContent))).includes(text),
      'the Flask-era page receives its message');

    assert.deepEqual(page.csp, [], 'no CSP violation on the Flask-era page');
    assert.deepEqual(page.errors, [], 'no page error');
  } finally {
    await context.close().catch(() => {});
    await server.stop();
  }
});
