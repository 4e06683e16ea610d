// End-to-end tests of what the page (web/js/*.js, ES modules) takes from the server
// and of its single "the login is gone" path:
// - the upload limit comes from GET /api/settings (the server's --max-upload-mb),
//   not from the page: with --max-upload-mb 1 a 2 MB image is refused before any upload;
// - a session ended elsewhere (logout over HTTP) or a 401 in the room sends the page
//   back to the login form exactly once, with one message;
// - the copy of the page built into the binary (no web folder) serves every module
//   and works.
// The tests that need flags of their own start a server of their own (helpers.startServer).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import {
  CHAT_URL, WEB_DIR, launch, openPage, uniqueName, until, waitText, registerViaUi,
  sendText, messages, waitMessage, makePng, sendImage, startServer, noServerBinary,
} from './helpers.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

// Log the context's session out (so that the shared server's online counts are not
// disturbed) and close it.
async function closeContext(context, base = CHAT_URL) {
  await context.request.post(base + '/api/logout').catch(() => {});
  await context.close().catch(() => {});
}

// Counts, from now on, how often the login screen appears and which toasts are shown.
async function watchScreens(page) {
  await page.evaluate(() => {
    const log = { authShown: 0, toasts: [] };
    window.__screens = log;
    const auth = document.getElementById('auth-screen');
    const toast = document.getElementById('toast');
    let authVisible = !auth.hidden;
    new MutationObserver(() => {
      if (!auth.hidden && !authVisible) log.authShown += 1;
      authVisible = !auth.hidden;
    }).observe(auth, { attributes: true, attributeFilter: ['hidden'] });
    new MutationObserver((records) => {
      for (const r of records) for (const n of r.addedNodes) log.toasts.push(n.textContent);
    }).observe(toast, { childList: true });
  });
}
const screens = (page) => page.evaluate(() => window.__screens);

test('the upload limit is the server\'s (--max-upload-mb 1): a 2 MB image is refused by the page before uploading', async (t) => {
  const why = noServerBinary();
  if (why) { t.skip(why); return; }
  const server = await startServer(['--max-upload-mb', '1']);
  const { context, page } = await openPage(browser);
  try {
    const settings = await (await fetch(server.url + '/api/settings')).json();
    assert.deepEqual(settings, { success: true, max_upload_bytes: 1024 * 1024, recall_seconds: 120 });
    await registerViaUi(page, uniqueName('limit'), undefined, server.url);
    const uploads = [];
    page.on('request', (r) => { if (new URL(r.url()).pathname === '/api/upload') uploads.push(r.url()); });

    // 2 MB: under the 5 MB the page used to hard-code, over the server's 1 MB
    const big = Buffer.concat([makePng(16, 16), Buffer.alloc(2 * 1024 * 1024)]);
    await sendImage(page, 'big.png', big);
    await page.locator('#toast').waitFor({ state: 'visible' });
    await waitText(page.locator('#toast'), '图片太大（最大 1 MB）', 'the message names the server\'s limit');
    await page.waitForTimeout(500);
    assert.deepEqual(uploads, [], 'nothing was sent to /api/upload');
    assert.equal((await messages(page)).filter((m) => m.img).length, 0, 'no image message');

    // an image under the limit still goes through
    await sendImage(page, 'small.png', makePng(120, 80));
    const img = await until(async () => (await messages(page)).find((m) => m.img), 'the small image in the list');
    assert.match(img.img, /^\/uploads\//);
    assert.equal(uploads.length, 1);
    assert.deepEqual(page.errors, []);
  } finally {
    await closeContext(context, server.url);
    await server.stop();
  }
});

test('the page shows the shared server\'s limit too (GET /api/settings), and refuses a file just over it', async () => {
  const { context, page } = await openPage(browser);
  try {
    const { max_upload_bytes: limit } = await (await fetch(CHAT_URL + '/api/settings')).json();
    assert.ok(Number.isSafeInteger(limit) && limit > 0, `max_upload_bytes ${limit}`);
    await registerViaUi(page, uniqueName('limit'));
    const uploads = [];
    page.on('request', (r) => { if (new URL(r.url()).pathname === '/api/upload') uploads.push(r.url()); });
    const png = makePng(16, 16);
    await sendImage(page, 'over.png', Buffer.concat([png, Buffer.alloc(limit + 1 - png.length)]));
    const mb = Math.round(limit / 104857.6) / 10;
    await waitText(page.locator('#toast'), `图片太大（最大 ${mb} MB）`, 'the message names the server\'s limit');
    await page.waitForTimeout(300);
    assert.deepEqual(uploads, [], 'nothing was sent to /api/upload');
    assert.deepEqual(page.errors, []);
  } finally {
    await closeContext(context);
  }
});

test('a logout over HTTP (another tab, same session) sends the page back to the login form once, with its message', async () => {
  const { context, page } = await openPage(browser);
  try {
    await registerViaUi(page, uniqueName('elsewhere'));
    await watchScreens(page);
    const r = await context.request.post(CHAT_URL + '/api/logout');
    assert.equal(r.status(), 200);
    await page.locator('#login-form').waitFor({ state: 'visible', timeout: 20000 });
    assert.equal(await page.isVisible('#chat-screen'), false);
    await waitText(page.locator('#toast'), '你已退出登录', 'the message of a logout elsewhere');
    await page.waitForTimeout(1500);   // nothing else arrives later (no second toast, no reconnect)
    assert.deepEqual(await screens(page), { authShown: 1, toasts: ['你已退出登录'] });
    assert.equal(await page.isVisible('#login-form'), true);
    assert.deepEqual(page.errors, []);
  } finally {
    await closeContext(context);
  }
});

test('two requests refused with 401 at once (the login is gone) send the page to the login form once, with one message', async () => {
  const { context, page } = await openPage(browser);
  try {
    await registerViaUi(page, uniqueName('expired'));
    await watchScreens(page);
    const refused = [];
    page.on('response', (r) => { if (new URL(r.url()).pathname === '/api/upload') refused.push(r.status()); });
    // The page's HTTP requests now go without the session cookie (its socket stays up).
    await context.clearCookies();
    // Two uploads at once: both come back 401.
    await page.evaluate((bytes) => {
      const input = document.getElementById('image-input');
      for (let i = 0; i < 2; i++) {
        const dt = new DataTransfer();
        dt.items.add(new File([new Uint8Array(bytes)], `p${i}.png`, { type: 'image/png' }));
        input.files = dt.files;
        input.dispatchEvent(new Event('change'));
      }
    }, [...makePng(40, 30)]);
    await until(() => refused.length === 2, () => `two answers to /api/upload (${JSON.stringify(refused)})`);
    assert.deepEqual(refused, [401, 401]);
    await page.locator('#login-form').waitFor({ state: 'visible' });
    assert.equal(await page.isVisible('#chat-screen'), false);
    await waitText(page.locator('#toast'), '登录已失效，请重新登录', 'the login-expired message');
    await page.waitForTimeout(1000);
    assert.deepEqual(await screens(page), { authShown: 1, toasts: ['登录已失效，请重新登录'] });
    assert.deepEqual(page.errors, []);
  } finally {
    await closeContext(context);
  }
});

test('without a web folder the built-in page serves every module of web/js and works', async (t) => {
  const why = noServerBinary();
  if (why) { t.skip(why); return; }
  const server = await startServer(['--web-dir', '/nonexistent/web']);
  const { context, page } = await openPage(browser);
  try {
    const index = await fetch(server.url + '/');
    assert.equal(await index.text(), readFileSync(path.join(WEB_DIR, 'index.html'), 'utf8'),
      'the built-in index.html is web/index.html (rebuild the binary after changing web/)');
    const modules = readdirSync(path.join(WEB_DIR, 'js')).filter((f) => f.endsWith('.js'));
    assert.ok(modules.includes('main.js'), `modules: ${modules}`);
    for (const f of modules) {
      const r = await fetch(`${server.url}/js/${f}`);
      assert.equal(r.status, 200, f);
      assert.equal(r.headers.get('content-type'), 'text/javascript; charset=utf-8', f);
      assert.equal(await r.text(), readFileSync(path.join(WEB_DIR, 'js', f), 'utf8'),
        `built-in /js/${f} is web/js/${f} (embed it in static_files.rs; rebuild the binary)`);
    }
    await registerViaUi(page, uniqueName('builtin'), undefined, server.url);
    await sendText(page, '内置页面也能用 ✅');
    assert.equal((await waitMessage(page, '内置页面也能用 ✅')).cls, 'mine');
    assert.deepEqual(page.errors, []);
  } finally {
    await closeContext(context, server.url);
    await server.stop();
  }
});
