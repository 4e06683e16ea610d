// Shared helpers of the end-to-end tests: Debian's Chromium through playwright-core,
// users, waiting, and a real PNG made from scratch.
import assert from 'node:assert/strict';
import { after, before } from 'node:test';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { accessSync, closeSync, constants as fsConstants, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { deflateSync } from 'node:zlib';
import { chromium } from 'playwright-core';
// HTTP and socket pieces shared with tests/conformance and tests/cluster.
import { trimBase } from '../lib/chat.mjs';

export const CHAT_URL = trimBase(process.env.CHAT_URL || '');
if (!CHAT_URL) throw new Error('set CHAT_URL to the chat server, e.g. http://127.0.0.1:5000 (scripts/test-e2e.sh does it)');

export const SCREENSHOT_DIR = fileURLToPath(new URL('../../docs/screenshots/', import.meta.url));
mkdirSync(SCREENSHOT_DIR, { recursive: true });

const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
export const DEFAULT_TIMEOUT = 15000;

export async function launch(extraArgs = []) {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync', ...extraArgs],
  });
}

// The admin of the shared server (scripts/test-e2e.sh starts it with --admin-users "$E2E_ADMIN").
export const E2E_ADMIN = process.env.E2E_ADMIN || 'e2e-admin';

// Register `name` through the API, or log in when another test already registered it;
// then open the room. Returns the User of the answer (with is_admin).
export async function enterAs(context, page, name, base = CHAT_URL) {
  let r = await context.request.post(base + '/api/register', { data: { username: name, password: PASSWORD } });
  if (r.status() === 409) r = await context.request.post(base + '/api/login', { data: { username: name, password: PASSWORD } });
  assert.ok(r.ok(), `register or log in ${name}: ${r.status()} ${await r.text()}`);
  const { user } = await r.json();
  await page.goto(base + '/');
  await waitInRoom(page);
  return user;
}

// One headless Chromium for a test file, launched before its tests. Each
// context opened with open() (a user of its own) is logged out on the server
// it was opened on and closed by closeAll(), and after the file's tests.
export function browserPerFile(extraArgs = []) {
  const opened = [];
  const chromium = {
    browser: null,
    async open(opts = {}, { base = CHAT_URL, browser = chromium.browser } = {}) {
      const r = await openPage(browser, opts);
      opened.push({ context: r.context, base });
      return r;
    },
    async closeAll() {
      while (opened.length) {
        const { context, base } = opened.pop();
        await context.request.post(base + '/api/logout').catch(() => {});
        await context.close().catch(() => {});
      }
    },
  };
  before(async () => { chromium.browser = await launch(extraArgs); });
  after(async () => { await chromium.closeAll(); await chromium.browser?.close(); });
  return chromium;
}

// A new browser context (own cookie jar = own user) with one page on it.
// Records page errors and dialogs so that tests can assert none happened.
export async function openPage(browser, opts = {}) {
  const context = await browser.newContext({
    viewport: { width: 1280, height: 800 },
    locale: 'zh-CN',
    timezoneId: 'Asia/Shanghai',
    ...opts,
  });
  context.setDefaultTimeout(DEFAULT_TIMEOUT);
  const page = await context.newPage();
  page.dialogs = [];
  page.errors = [];
  page.on('dialog', (d) => { page.dialogs.push(d.message()); d.dismiss().catch(() => {}); });
  page.on('pageerror', (e) => page.errors.push(String(e)));
  return { context, page };
}

let seq = 0;
// A username that is unique for this run: 2..20 characters of letters, digits, _ and -.
export function uniqueName(prefix = 'u') {
  seq += 1;
  const tail = `${Date.now().toString(36).slice(-4)}${seq}${Math.random().toString(36).slice(2, 5)}`;
  return (prefix + '_' + tail).slice(0, 20);
}
export const PASSWORD = 'secret-pw-123';

// Poll fn until it returns a truthy value; fail with msg (and the last value) after timeout.
export async function until(fn, msg, timeout = DEFAULT_TIMEOUT) {
  const end = Date.now() + timeout;
  let last;
  for (;;) {
    try { last = await fn(); if (last) return last; } catch (e) { last = e; }
    if (Date.now() > end) assert.fail(`${typeof msg === 'function' ? msg() : msg} (timed out after ${timeout} ms; last: ${last instanceof Error ? last.message : JSON.stringify(last)})`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export async function waitText(locator, expected, msg, timeout) {
  let seen;
  await until(async () => {
    seen = (await locator.textContent())?.trim();
    return expected instanceof RegExp ? expected.test(seen) : seen === expected;
  }, () => `${msg}: expected ${expected}, saw ${JSON.stringify(seen)}`, timeout);
}

// Register a new user through the page's register form; ends in the room, connected.
// `base` is the server (CHAT_URL unless the test started its own, see startServer).
export async function registerViaUi(page, username, password = PASSWORD, base = CHAT_URL) {
  await page.goto(base + '/');
  await page.locator('#login-form').waitFor({ state: 'visible' });
  await page.click('#show-register');
  await page.locator('#register-form').waitFor({ state: 'visible' });
  await page.fill('#register-username', username);
  await page.fill('#register-password', password);
  await page.fill('#register-confirm', password);
  await page.click('#register-submit');
  await waitInRoom(page);
}

export async function loginViaUi(page, username, password = PASSWORD, base = CHAT_URL) {
  if (!(await page.locator('#login-form').isVisible())) {
    await page.goto(base + '/');
    await page.locator('#login-form').waitFor({ state: 'visible' });
  }
  await page.fill('#login-username', username);
  await page.fill('#login-password', password);
  await page.click('#login-submit');
  await waitInRoom(page);
}

export async function waitInRoom(page) {
  await page.locator('#chat-screen').waitFor({ state: 'visible' });
  await waitText(page.locator('#connection-status'), '已连接', 'connection status');
}

// Register through the API on the context's cookie jar (no UI), then open the room.
export async function registerViaApi(context, page, username, password = PASSWORD, base = CHAT_URL) {
  const r = await context.request.post(base + '/api/register', { data: { username, password } });
  assert.equal(r.status(), 201, `register ${username}: ${await r.text()}`);
  await page.goto(base + '/');
  await waitInRoom(page);
}

// Type into the composer and press Enter.
export async function sendText(page, text) {
  await page.fill('#message-input', text);
  await page.press('#message-input', 'Enter');
}

// Rows of the message list as plain objects (a recalled or deleted message is a
// 'system' row that keeps its id).
export async function messages(page) {
  return page.$$eval('#messages > .message', (rows) => rows.map((r) => ({
    id: r.dataset.id ? Number(r.dataset.id) : null,
    deleted: r.dataset.deleted === '1',
    mentionsMe: r.classList.contains('mentions-me'),
    cls: r.classList.contains('mine') ? 'mine' : r.classList.contains('theirs') ? 'theirs' : r.classList.contains('system') ? 'system' : '?',
    type: r.dataset.type || null,
    author: r.querySelector('.author')?.textContent ?? null,
    text: r.classList.contains('system') ? r.querySelector('.system-text')?.firstChild?.textContent ?? r.textContent
      : (r.querySelector('.content')?.textContent ?? null),
    img: r.querySelector('img.chat-image')?.getAttribute('src') ?? null,
  })));
}

// Wait until a message whose text is `text` is in the list; returns the newest such.
export async function waitMessage(page, text, msg = `message ${JSON.stringify(text)}`, timeout) {
  return until(async () => (await messages(page)).findLast((m) => m.text === text), msg, timeout);
}

// ---- a real PNG, built from scratch (no image library) ----
const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(buf) {
  let c = 0xffffffff;
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
function chunk(type, data) {
  const len = Buffer.alloc(4); len.writeUInt32BE(data.length);
  const td = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4); crc.writeUInt32BE(crc32(td));
  return Buffer.concat([len, td, crc]);
}
// An RGB PNG of w x h with a diagonal gradient and a few rings.
export function makePng(w = 320, h = 200) {
  const raw = Buffer.alloc((w * 3 + 1) * h);
  for (let y = 0; y < h; y++) {
    const row = y * (w * 3 + 1);
    raw[row] = 0; // filter: none
    for (let x = 0; x < w; x++) {
      const t = (x + y) / (w + h);
      const d = Math.hypot(x - w * 0.62, y - h * 0.45);
      const ring = Math.floor(d / 14) % 2 === 0 && d < h * 0.4;
      const i = row + 1 + x * 3;
      raw[i] = ring ? 255 : Math.round(109 + (236 - 109) * t);
      raw[i + 1] = ring ? 214 : Math.round(93 + (72 - 93) * t);
      raw[i + 2] = ring ? 102 : Math.round(252 + (153 - 252) * t);
    }
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0); ihdr.writeUInt32BE(h, 4);
  ihdr[8] = 8; ihdr[9] = 2; ihdr[10] = 0; ihdr[11] = 0; ihdr[12] = 0;
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr), chunk('IDAT', deflateSync(raw)), chunk('IEND', Buffer.alloc(0)),
  ]);
}

// Upload an image through the 📷 button's file input.
export async function sendImage(page, name = 'picture.png', buffer = makePng()) {
  await page.setInputFiles('#image-input', { name, mimeType: 'image/png', buffer });
}

// Send n messages from this page's session over a second socket of its own
// (fast seeding; stays under the flood limit of 20 per 10 s if n <= 20).
export async function seedOverSocket(page, texts) {
  const results = await page.evaluate((texts) => new Promise((resolve, reject) => {
    const s = window.io({ forceNew: true });
    s.on('connect_error', (e) => reject(new Error('seed socket: ' + e.message)));
    s.on('connect', async () => {
      const out = [];
      for (const content of texts) {
        out.push(await new Promise((r) => s.emit('send_message', { content, message_type: 'text' }, r)));
      }
      s.disconnect();
      resolve(out);
    });
  }), texts);
  for (const r of results) assert.equal(r.success, true, `seeding refused: ${JSON.stringify(r)}`);
  return results.map((r) => r.message);
}

export async function noHorizontalScroll(page) {
  return page.evaluate(() => {
    const d = document.documentElement;
    return d.scrollWidth <= d.clientWidth && document.body.scrollWidth <= d.clientWidth;
  });
}

// ---- a server of the test's own, for flags the shared one was not started with ----
export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const WEB_DIR = path.join(REPO_ROOT, 'web');
export const SERVER_BIN = process.env.CHAT_SERVER_BIN || path.join(REPO_ROOT, 'target/debug/chat-server');

// Why startServer cannot run here (no local binary), or null when it can.
export function noServerBinary() {
  try { accessSync(SERVER_BIN, fsConstants.X_OK); return null; } catch { return `no server binary at ${SERVER_BIN} (cargo build -p chat-server)`; }
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
}

// Start target/debug/chat-server (or $CHAT_SERVER_BIN) on a free port with a fresh
// SQLite database, bcrypt cost 4 and the repository's web folder (unless `flags`
// has its own --web-dir), as scripts/lib/common.sh does. Returns { url, log(), stop() }.
export async function startServer(flags = []) {
  const port = await freePort();
  const dir = mkdtempSync(path.join(tmpdir(), 'chat-e2e-'));
  const logFile = path.join(dir, 'server.log');
  const out = openSync(logFile, 'w');
  const args = ['--host', '127.0.0.1', '--port', String(port), '--upload-dir', path.join(dir, 'uploads'),
    '--database-url', path.join(dir, 'chat_app.db'), '--bcrypt-cost', '4',
    ...(flags.includes('--web-dir') ? [] : ['--web-dir', WEB_DIR]), ...flags];
  const child = spawn(SERVER_BIN, args, { stdio: ['ignore', out, out] });
  closeSync(out);
  const killOnExit = () => child.kill('SIGTERM');   // if the test process ends without stop()
  process.once('exit', killOnExit);
  const url = `http://127.0.0.1:${port}`;
  const log = () => readFileSync(logFile, 'utf8');
  const stop = async () => {
    process.removeListener('exit', killOnExit);
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await once(child, 'exit');
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const end = Date.now() + 60000;
  for (;;) {
    if (child.exitCode !== null) { const l = log(); await stop(); throw new Error(`chat-server ${args.join(' ')} exited: ${l}`); }
    const ok = await fetch(url + '/healthz').then((r) => r.ok, () => false);
    if (ok) return { url, log, stop };
    if (Date.now() > end) { const l = log(); await stop(); throw new Error(`chat-server did not come up on ${url}: ${l}`); }
    await new Promise((r) => setTimeout(r, 100));
  }
}
