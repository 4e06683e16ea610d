// End-to-end test of the page under the server's --sockets-per-user limit
// (docs/PROTOCOL.md §6.5): a tab over the limit is refused in the Socket.IO
// handshake with a sentence (同时打开的窗口太多…). The page shows that sentence
// as it came, in a banner that stays, and does not retry by itself (it would
// only be refused again until the user closes a tab); its 重试 button makes
// exactly one new attempt.
// Runs on a server of its own (helpers.startServer) with --sockets-per-user 2,
// so the shared server's limit and online counts are untouched.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  launch, openPage, uniqueName, until, waitText, registerViaApi, waitInRoom,
  startServer, noServerBinary,
} from './helpers.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

const TOO_MANY = '同时打开的窗口太多';

// chat_refusals_total{reason="sockets_per_user"} of GET /metrics (absent = 0).
async function socketRefusals(base) {
  const text = await (await fetch(base + '/metrics')).text();
  const line = text.split('\n').find((l) => l.startsWith('chat_refusals_total{reason="sockets_per_user"}'));
  return line ? Number(line.split(' ').pop()) : 0;
}
// chat_sockets_connected of GET /metrics: the sockets open on the server.
async function socketsOpen(base) {
  const text = await (await fetch(base + '/metrics')).text();
  const line = text.split('\n').find((l) => l.startsWith('chat_sockets_connected '));
  return line ? Number(line.split(' ').pop()) : 0;
}

// Another tab of the context (same cookie jar = same user), with its page errors recorded.
async function openTab(context) {
  const page = await context.newPage();
  page.errors = [];
  page.on('pageerror', (e) => page.errors.push(String(e)));
  return page;
}

// Counts the page's new Engine.IO sessions (the first request of every handshake
// attempt carries no sid): polling GETs and WebSockets opened without a sid.
function countHandshakes(page) {
  const seen = { count: 0 };
  const isOpen = (url) => {
    const u = new URL(url);
    return u.pathname === '/socket.io/' && !u.searchParams.has('sid');
  };
  page.on('request', (r) => { if (r.method() === 'GET' && isOpen(r.url())) seen.count += 1; });
  page.on('websocket', (ws) => { if (isOpen(ws.url().replace(/^ws/, 'http'))) seen.count += 1; });
  return seen;
}

// Counts, in the page, how often the refusal banner appears.
async function watchBanner(page) {
  await page.evaluate(() => {
    const banner = document.getElementById('conn-refusal');
    window.__bannerShown = banner.hidden ? 0 : 1;
    let visible = !banner.hidden;
    new MutationObserver(() => {
      if (!banner.hidden && !visible) window.__bannerShown += 1;
      visible = !banner.hidden;
    }).observe(banner, { attributes: true, attributeFilter: ['hidden'] });
  });
}
const bannerShown = (page) => page.evaluate(() => window.__bannerShown);

test('--sockets-per-user 2: a third tab shows the server\'s sentence, does not retry by itself, and connects on 重试 once a tab is closed', async (t) => {
  const why = noServerBinary();
  if (why) { t.skip(why); return; }
  const server = await startServer(['--sockets-per-user', '2']);
  const { context, page: first } = await openPage(browser);
  try {
    // Two tabs of one user: both connected.
    await registerViaApi(context, first, uniqueName('tabs'), undefined, server.url);
    const second = await openTab(context);
    await second.goto(server.url + '/');
    await waitInRoom(second);
    await until(async () => (await socketsOpen(server.url)) === 2, 'two sockets open on the server');
    assert.equal(await socketRefusals(server.url), 0);

    // The third tab is refused: the sentence, as the server sent it, in the banner.
    const third = await openTab(context);
    const handshakes = countHandshakes(third);
    await third.goto(server.url + '/');
    await third.locator('#chat-screen').waitFor({ state: 'visible' });
    const banner = third.locator('[data-testid="connection-refused"]');
    await banner.waitFor({ state: 'visible' });
    const sentence = (await third.locator('[data-testid="connection-refused-text"]').textContent()).trim();
    assert.ok(sentence.startsWith(TOO_MANY), `banner text: ${JSON.stringify(sentence)}`);
    assert.match(sentence, /2/, `the sentence names the limit: ${sentence}`);
    assert.equal(await third.getAttribute('#connection-status', 'data-state'), 'refused');
    await waitText(third.locator('#connection-status'), '未连接', 'status of the refused tab');
    assert.equal(await third.isDisabled('#send-btn'), true, 'nothing can be sent while refused');
    await watchBanner(third);
    await until(async () => (await socketRefusals(server.url)) === 1, 'one refusal counted by the server');
    assert.equal(handshakes.count, 1, 'one handshake so far');

    // Over the next 5 s: no new attempt (page, network and server agree), the banner stays.
    await third.waitForTimeout(5000);
    assert.equal(handshakes.count, 1, 'no handshake attempt after the refusal');
    assert.equal(await socketRefusals(server.url), 1, 'the server saw no further attempt');
    assert.equal(await bannerShown(third), 1, 'the banner was shown once and stayed');
    assert.equal(await banner.isVisible(), true);
    assert.equal(await third.getAttribute('#connection-status', 'data-state'), 'refused');

    // 重试 while both tabs are still open: exactly one attempt, refused again, banner back.
    await third.click('[data-testid="connection-retry"]');
    await until(async () => (await bannerShown(third)) === 2, 'the banner shown again after a refused retry');
    await until(async () => (await socketRefusals(server.url)) === 2, 'the retry was one more refusal');
    assert.equal(handshakes.count, 2, 'the retry was one handshake');
    await waitText(third.locator('[data-testid="connection-refused-text"]'), sentence, 'the same sentence');

    // Close one of the first two tabs; once the server has let go of its socket, 重试 connects.
    await first.close();
    await until(async () => (await socketsOpen(server.url)) === 1, 'the closed tab\'s socket is gone');
    await third.click('[data-testid="connection-retry"]');
    await waitText(third.locator('#connection-status'), '已连接', 'the third tab after 重试');
    assert.equal(await banner.isVisible(), false, 'the banner is gone once connected');
    assert.equal(await third.isDisabled('#send-btn'), false);
    assert.equal(handshakes.count, 3);
    assert.equal(await socketRefusals(server.url), 2, 'no refusal for the successful retry');
    await waitText(second.locator('#connection-status'), '已连接', 'the second tab was never disturbed');

    assert.deepEqual(first.errors, []);
    assert.deepEqual(second.errors, []);
    assert.deepEqual(third.errors, []);
  } finally {
    await context.request.post(server.url + '/api/logout').catch(() => {});
    await context.close().catch(() => {});
    await server.stop();
  }
});
