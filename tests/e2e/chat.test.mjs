// End-to-end tests of the chat room page against a running server (env CHAT_URL).
// Run: scripts/test-e2e.sh   (or: CHAT_URL=http://127.0.0.1:5000 node --test tests/e2e/*.test.mjs)
// The tests of this file run one after the other and each closes its browser
// contexts, so that the online counts they assert are not disturbed.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import {
  CHAT_URL, PASSWORD, SCREENSHOT_DIR, launch, openPage, uniqueName, until, waitText,
  registerViaUi, registerViaApi, loginViaUi, waitInRoom, sendText, messages, waitMessage,
  makePng, sendImage, seedOverSocket, noHorizontalScroll,
} from './helpers.mjs';

let browser;
const contexts = [];
async function newPage(opts) {
  const r = await openPage(browser, opts);
  contexts.push(r.context);
  return r;
}
// Log each context's session out first: the server then disconnects its sockets at
// once, so the next test's online counts do not wait for a ping timeout.
async function closeContext(context) {
  const i = contexts.indexOf(context);
  if (i >= 0) contexts.splice(i, 1);
  await context.request.post(CHAT_URL + '/api/logout').catch(() => {});
  await context.close().catch(() => {});
}
async function closeAll() {
  while (contexts.length) await closeContext(contexts[contexts.length - 1]);
}

before(async () => {
  browser = await launch();
  const r = await fetch(CHAT_URL + '/healthz').catch((e) => e);
  assert.ok(r.ok, `server not up at ${CHAT_URL}: ${r.message || r.status}`);
});
after(async () => {
  await closeAll();
  await browser?.close();
});

function pad(n) { return String(n).padStart(2, '0'); }
// HH:MM of an RFC 3339 time in Asia/Shanghai (the contexts' time zone, UTC+8, no DST).
function shanghaiHm(iso) {
  const d = new Date(new Date(iso).getTime() + 8 * 3600e3);
  return `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}`;
}

test('two users register, see each other join, exchange text, emoji and an image live, and logout', async () => {
  const { page: a } = await newPage();
  const { page: b } = await newPage();
  const alice = uniqueName('小明');
  const bob = uniqueName('Bob');

  // the login screen comes first; the toggle goes to register and back
  await a.goto(CHAT_URL + '/');
  await a.locator('#login-form').waitFor({ state: 'visible' });
  assert.equal((await a.textContent('#show-register')).trim(), '没有账号？点击注册');
  await a.click('#show-register');
  await a.locator('#register-form').waitFor({ state: 'visible' });
  assert.equal(await a.isVisible('#login-form'), false);
  await a.click('#show-login');
  await a.locator('#login-form').waitFor({ state: 'visible' });

  // a wrong password is refused with a message
  await a.fill('#login-username', alice);
  await a.fill('#login-password', 'wrong-password');
  await a.click('#login-submit');
  await a.locator('#login-error').waitFor({ state: 'visible' });
  assert.ok((await a.textContent('#login-error')).trim().length > 0);

  // mismatched confirmation is caught before the request
  await a.click('#show-register');
  await a.fill('#register-username', alice);
  await a.fill('#register-password', PASSWORD);
  await a.fill('#register-confirm', PASSWORD + 'x');
  await a.click('#register-submit');
  await a.locator('#register-error').waitFor({ state: 'visible' });

  await registerViaUi(a, alice);
  assert.equal((await a.textContent('#current-username')).trim(), alice);
  await registerViaUi(b, bob);

  // alice sees bob join (a centered system line) and two online
  await until(async () => (await messages(a)).some((m) => m.cls === 'system' && m.text.includes(bob) && m.text.includes('加入')),
    'join notice of bob on alice\'s page');
  await waitText(a.locator('#online-count'), '2', 'online count on alice\'s page');
  await waitText(b.locator('#online-count'), '2', 'online count on bob\'s page');
  for (const p of [a, b]) {
    const names = await p.$$eval('#online-list li', (lis) => lis.map((li) => li.dataset.username));
    assert.deepEqual([...names].sort(), [alice, bob].sort(), 'online list');
  }
  const sysAlign = await a.$eval('#messages > .message.system', (e) => getComputedStyle(e).justifyContent);
  assert.equal(sysAlign, 'center');

  // text, live both ways
  const hello = '你好，Bob！今天天气不错 ☀️ 我们去吃火锅吧';
  await sendText(a, hello);
  const mineA = await waitMessage(a, hello);
  const theirsB = await waitMessage(b, hello);
  assert.equal(mineA.cls, 'mine');
  assert.equal(theirsB.cls, 'theirs');
  assert.equal(theirsB.author, alice);
  assert.equal(mineA.id, theirsB.id);
  assert.equal(await a.inputValue('#message-input'), '', 'box cleared after a successful send');
  // own on the right, others on the left
  const boxA = await a.locator(`#messages > .message[data-id="${mineA.id}"] .bubble`).boundingBox();
  const boxB = await b.locator(`#messages > .message[data-id="${mineA.id}"] .bubble`).boundingBox();
  assert.ok(boxA.x > 1280 / 2 - 200 && boxA.x + boxA.width > boxB.x + boxB.width, 'mine is right-aligned, theirs left-aligned');
  // local time from the RFC 3339 timestamp
  const time = await b.$eval(`#messages > .message[data-id="${mineA.id}"] time`, (t) => ({ dt: t.dateTime, text: t.textContent }));
  assert.equal(time.text, shanghaiHm(time.dt), 'time shown in the local (Asia/Shanghai) zone');

  const reply = 'Hi 小明, sounds great! 七点见？';
  await sendText(b, reply);
  assert.equal((await waitMessage(a, reply)).author, bob);

  // emoji: the picker has at least 40 emoji in groups; inserts at the cursor; emoji-only → large
  await b.click('#emoji-btn');
  await b.locator('#emoji-picker').waitFor({ state: 'visible' });
  const items = await b.$$eval('#emoji-picker [data-emoji]', (els) => els.length);
  assert.ok(items >= 40, `picker has ${items} emoji`);
  const groups = await b.$$eval('#emoji-picker .emoji-group-title', (els) => els.map((e) => e.textContent));
  for (const g of ['表情', '手势', '动物', '食物']) assert.ok(groups.includes(g), `group ${g} in ${groups}`);
  await b.fill('#message-input', 'AB');
  await b.$eval('#message-input', (t) => t.setSelectionRange(1, 1));
  await b.click('#emoji-picker [data-emoji="😀"]');
  assert.equal(await b.inputValue('#message-input'), 'A😀B', 'emoji inserted at the cursor');
  await b.fill('#message-input', '');
  await b.click('#emoji-picker [data-emoji="🎉"]');
  await b.click('#emoji-picker [data-emoji="👍"]');
  await b.click('#emoji-picker [data-emoji="🐼"]');
  assert.equal(await b.inputValue('#message-input'), '🎉👍🐼');
  await b.press('#message-input', 'Enter');
  const emo = await waitMessage(a, '🎉👍🐼');
  assert.equal(emo.type, 'emoji');
  const size = await a.$eval(`#messages > .message[data-id="${emo.id}"] .content`, (e) => parseFloat(getComputedStyle(e).fontSize));
  const textSize = await a.$eval(`#messages > .message[data-id="${mineA.id}"] .content`, (e) => parseFloat(getComputedStyle(e).fontSize));
  assert.ok(size >= 2 * textSize, `emoji shown large (${size}px vs ${textSize}px)`);
  await b.keyboard.press('Escape');
  // mixed text and emoji stays text
  await sendText(a, '好的 👌');
  assert.equal((await waitMessage(b, '好的 👌')).type, 'text');

  // image: real PNG uploaded, then shown inline on both pages
  const lastId = Math.max(0, ...(await messages(b)).map((m) => m.id ?? 0));
  await sendImage(a, '风景.png', makePng(360, 220));
  const img = await until(async () => (await messages(b)).find((m) => m.img && m.id > lastId), 'image on bob\'s page');
  assert.match(img.img, /^\/uploads\//);
  assert.equal(img.type, 'image');
  assert.equal(img.cls, 'theirs');
  for (const p of [a, b]) {
    await until(() => p.$eval(`#messages > .message[data-id="${img.id}"] img`, (i) => i.complete && i.naturalWidth === 360),
      'image decoded');
    const box = await p.locator(`#messages > .message[data-id="${img.id}"] img`).boundingBox();
    assert.ok(box.width <= 360 && box.width > 50, `image scaled to fit (${box.width}px)`);
  }
  // click opens it full size
  await b.click(`#messages > .message[data-id="${img.id}"] img`);
  await b.locator('#lightbox').waitFor({ state: 'visible' });
  assert.equal(await b.getAttribute('#lightbox-img', 'src'), img.img);
  await b.keyboard.press('Escape');
  await b.locator('#lightbox').waitFor({ state: 'hidden' });

  await sendText(b, '照片拍得真好看！📸');
  await waitMessage(a, '照片拍得真好看！📸');
  await until(async () => (await messages(a)).length >= 8, 'all messages on alice\'s page');
  await a.mouse.move(0, 0);   // no hover: the message buttons (撤回) stay out of the screenshot
  await a.waitForTimeout(300);
  await a.screenshot({ path: path.join(SCREENSHOT_DIR, 'desktop.png') });

  // no message shows twice
  for (const p of [a, b]) {
    const ids = (await messages(p)).filter((m) => m.id != null).map((m) => m.id);
    assert.equal(new Set(ids).size, ids.length, 'no duplicates');
  }

  // bob logs out: back to login; alice sees him leave and one online
  await b.click('#logout-btn');
  await b.locator('#login-form').waitFor({ state: 'visible' });
  assert.equal(await b.isVisible('#chat-screen'), false);
  await until(async () => (await messages(a)).some((m) => m.cls === 'system' && m.text.includes(bob) && m.text.includes('离开')),
    'leave notice of bob on alice\'s page');
  await waitText(a.locator('#online-count'), '1', 'online count after logout');
  // after logout the session is gone: a reload stays on the login screen
  await b.reload();
  await b.locator('#login-form').waitFor({ state: 'visible' });
  // and bob can log in again with the login form
  await loginViaUi(b, bob);
  await waitText(a.locator('#online-count'), '2', 'online count after bob logs back in');

  assert.deepEqual(a.dialogs, []);
  assert.deepEqual([...a.errors, ...b.errors], []);
  await closeAll();
});

test('reload keeps the session and shows the history; "load earlier" pages back without duplicates', async () => {
  // seed 60 numbered messages from three users (20 each keeps under the flood limit)
  const tag = Date.now().toString(36);
  const texts = Array.from({ length: 60 }, (_, i) => `历史消息 ${tag} #${i + 1}`);
  for (let u = 0; u < 3; u++) {
    const { context, page } = await newPage();
    await registerViaApi(context, page, uniqueName('seed'));
    await seedOverSocket(page, texts.slice(u * 20, u * 20 + 20));
    await closeContext(context);
  }

  const { page } = await newPage();
  const viewer = uniqueName('viewer');
  await registerViaUi(page, viewer);
  await waitMessage(page, texts[59], 'newest seeded message in the history');
  let ms = await messages(page);
  let withIds = ms.filter((m) => m.id != null);
  assert.equal(withIds.length, 50, 'newest 50 on entering');
  assert.ok(!ms.some((m) => m.text === texts[5]), 'older ones not yet loaded');

  // reload: still logged in, straight to the room, history there
  await page.reload();
  await waitInRoom(page);
  assert.equal(await page.isVisible('#auth-screen'), false);
  await waitMessage(page, texts[59]);
  ms = await messages(page);
  withIds = ms.filter((m) => m.id != null);
  assert.equal(withIds.length, 50);
  // ascending ids, history shown as "theirs" with authors
  const ids = withIds.map((m) => m.id);
  assert.deepEqual(ids, [...ids].sort((x, y) => x - y));
  assert.equal(ms.find((m) => m.text === texts[59]).cls, 'theirs');

  // page back until the first seeded message shows up
  await page.locator('#load-earlier').waitFor({ state: 'visible' });
  assert.equal((await page.textContent('#load-earlier')).trim(), '加载更早的消息');
  const scroller = page.locator('#message-scroller');
  for (let i = 0; i < 10 && !(await messages(page)).some((m) => m.text === texts[0]); i++) {
    const n = (await messages(page)).length;
    await page.click('#load-earlier');
    await until(async () => (await messages(page)).length > n, 'older page loaded');
  }
  ms = await messages(page);
  const all = ms.filter((m) => m.id != null);
  assert.ok(all.length >= 60);
  assert.equal(new Set(all.map((m) => m.id)).size, all.length, 'no duplicates after paging');
  assert.deepEqual(all.map((m) => m.id), [...all.map((m) => m.id)].sort((x, y) => x - y), 'still in id order');
  const seeded = ms.filter((m) => m.text?.startsWith(`历史消息 ${tag} #`)).map((m) => m.text);
  assert.deepEqual(seeded, texts, 'all 60 seeded messages, in order');
  assert.ok(await scroller.evaluate((e) => e.scrollTop < e.scrollHeight - e.clientHeight), 'the view was kept, not jumped to the bottom');

  assert.deepEqual(page.errors, []);
  await closeAll();
});

test('after a lost connection the page reconnects and catches up without duplicates', async () => {
  const { context: ca, page: a } = await newPage();
  const { page: b } = await newPage();
  await registerViaUi(a, uniqueName('net'));
  await registerViaUi(b, uniqueName('peer'));
  const tag = Date.now().toString(36);
  await sendText(b, `before ${tag}`);
  await waitMessage(a, `before ${tag}`);

  await ca.setOffline(true);
  await waitText(a.locator('#connection-status'), /^(重新连接中|离线)$/, 'status while offline', 60000);
  const missed = [`missed ${tag} 1`, `missed ${tag} 2`, `missed ${tag} 3`];
  for (const t of missed) { await sendText(b, t); await waitMessage(b, t); }
  await ca.setOffline(false);
  await waitText(a.locator('#connection-status'), '已连接', 'status after reconnect', 30000);
  for (const t of missed) await waitMessage(a, t, `caught up ${t}`);
  await sendText(b, `after ${tag}`);
  await waitMessage(a, `after ${tag}`);
  await a.waitForTimeout(500);
  const ms = (await messages(a)).filter((m) => m.id != null);
  assert.equal(new Set(ms.map((m) => m.id)).size, ms.length, 'no message shown twice');
  const mine = ms.filter((m) => m.text?.includes(tag)).map((m) => m.text);
  assert.deepEqual(mine, [`before ${tag}`, ...missed, `after ${tag}`]);
  await closeAll();
});

test('user content renders as text: an HTML message shows its characters and fires nothing', async () => {
  const { page: a } = await newPage();
  const { page: b } = await newPage();
  await registerViaUi(a, uniqueName('xss'));
  await registerViaUi(b, uniqueName('victim'));
  const payloads = [
    '<img src=x onerror=alert(1)>',
    '<script>alert("x")</script><b>bold</b>',
    '"><svg onload=alert(2)>',
  ];
  for (const p of payloads) {
    await sendText(a, p);
    const m = await waitMessage(b, p);
    assert.equal(m.cls, 'theirs');
    const inner = await b.$eval(`#messages > .message[data-id="${m.id}"] .content`, (e) => e.children.length);
    assert.equal(inner, 0, 'no element was created from the message');
  }
  // an image message whose URL is not an upload of ours is not rendered as an image
  await a.evaluate(() => new Promise((resolve) => {
    const s = window.io({ forceNew: true });
    s.on('connect', () => s.emit('send_message', { content: 'javascript:alert(3)', message_type: 'image' }, (r) => { s.disconnect(); resolve(r); }));
  }));
  await a.waitForTimeout(800);
  assert.equal(await b.$$eval('#messages img', (imgs) => imgs.filter((i) => !i.getAttribute('src')?.startsWith('/uploads/')).length), 0);
  assert.equal(await b.$$eval('#messages img, #messages script, #messages svg, #messages b', (e) => e.length), 0);
  assert.deepEqual(a.dialogs, []);
  assert.deepEqual(b.dialogs, []);
  await closeAll();
});

test('a send refused by the server shows the error and keeps the typed text', async () => {
  const { page } = await newPage();
  await registerViaUi(page, uniqueName('long'));
  const long = '长'.repeat(2001);
  const before = (await messages(page)).filter((m) => m.id != null).length;
  await page.fill('#message-input', long);
  await page.press('#message-input', 'Enter');
  await page.locator('#toast').waitFor({ state: 'visible' });
  assert.ok((await page.textContent('#toast')).trim().length > 0, 'an error is shown');
  assert.equal(await page.inputValue('#message-input'), long, 'the text stays in the box');
  await page.waitForTimeout(500);
  assert.equal((await messages(page)).filter((m) => m.id != null).length, before, 'nothing was added');
  // exactly 2000 is accepted, and then the box is cleared
  await page.fill('#message-input', '长'.repeat(2000));
  await page.click('#send-btn');
  await waitMessage(page, '长'.repeat(2000));
  assert.equal(await page.inputValue('#message-input'), '');
  assert.deepEqual(page.errors, []);
  await closeAll();
});

test('Shift+Enter inserts a newline and Enter sends', async () => {
  const { page } = await newPage();
  await registerViaUi(page, uniqueName('keys'));
  await page.click('#message-input');
  await page.keyboard.type('第一行');
  await page.keyboard.press('Shift+Enter');
  await page.keyboard.type('第二行');
  assert.equal(await page.inputValue('#message-input'), '第一行\n第二行');
  await page.waitForTimeout(300);
  assert.ok(!(await messages(page)).some((m) => m.text?.startsWith('第一行')), 'Shift+Enter did not send');
  await page.keyboard.press('Enter');
  const m = await waitMessage(page, '第一行\n第二行');
  assert.equal(m.cls, 'mine');
  assert.equal(await page.inputValue('#message-input'), '');
  // shown on two lines
  const h = await page.$eval(`#messages > .message[data-id="${m.id}"] .content`, (e) => e.getBoundingClientRect().height / parseFloat(getComputedStyle(e).lineHeight));
  assert.ok(h > 1.5, 'rendered on two lines');
  // Enter on an empty (white space only) box sends nothing
  await page.fill('#message-input', '   ');
  await page.press('#message-input', 'Enter');
  await page.waitForTimeout(300);
  assert.equal((await messages(page)).filter((x) => x.id != null).at(-1).id, m.id);
  await closeAll();
});

test('logging out in another tab sends this tab back to the login screen', async () => {
  const { context, page } = await newPage();
  await registerViaUi(page, uniqueName('tabs'));
  const other = await context.newPage();
  await other.goto(CHAT_URL + '/');
  await waitInRoom(other);
  await other.click('#logout-btn');
  await other.locator('#login-form').waitFor({ state: 'visible' });
  await page.locator('#login-form').waitFor({ state: 'visible', timeout: 20000 });
  assert.equal(await page.isVisible('#chat-screen'), false);
  await closeAll();
});

test('a reconnect refused as unauthorized (session ended meanwhile) goes back to the login screen', async () => {
  const { context, page } = await newPage();
  await registerViaUi(page, uniqueName('expire'));
  await context.setOffline(true);
  await waitText(page.locator('#connection-status'), /^(重新连接中|离线)$/, 'status while offline', 60000);
  // end the session behind the page's back (the API request does not go through the page)
  const r = await context.request.post(CHAT_URL + '/api/logout');
  assert.equal(r.status(), 200);
  await context.setOffline(false);
  await page.locator('#login-form').waitFor({ state: 'visible', timeout: 30000 });
  assert.equal(await page.isVisible('#chat-screen'), false);
  await page.locator('#toast').waitFor({ state: 'visible' });
  assert.match(await page.textContent('#toast'), /登录/);
  assert.deepEqual(page.errors, []);
  await closeAll();
});

test('mobile viewport (375x740): login, send, see messages, no horizontal scroll', async () => {
  const mobile = { viewport: { width: 375, height: 740 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 };
  const { page: m } = await newPage(mobile);
  const { context: cp, page: peer } = await newPage();
  const name = uniqueName('手机');
  const peerName = uniqueName('Lily');

  // register on a desktop page, then log in on the phone through the login form
  await registerViaApi(cp, peer, peerName);
  const reg = await m.context().request.post(CHAT_URL + '/api/register', { data: { username: name, password: PASSWORD } });
  assert.equal(reg.status(), 201);
  await m.context().request.post(CHAT_URL + '/api/logout');
  await m.goto(CHAT_URL + '/');
  await m.locator('#login-form').waitFor({ state: 'visible' });
  assert.ok(await noHorizontalScroll(m), 'login screen: no horizontal scroll');
  await loginViaUi(m, name);
  await waitText(m.locator('#online-count'), '2', 'online count on the phone');

  await sendText(peer, '欢迎来到聊天室！手机上看起来怎么样？');
  await waitMessage(m, '欢迎来到聊天室！手机上看起来怎么样？');
  await m.tap('#message-input');
  await m.fill('#message-input', '很清楚，字也不小 👍');
  await m.tap('#send-btn');
  await waitMessage(m, '很清楚，字也不小 👍');
  await m.fill('#message-input', '😄🎉');
  await m.press('#message-input', 'Enter');
  await waitMessage(peer, '😄🎉');
  const lastId = Math.max(0, ...(await messages(m)).map((x) => x.id ?? 0));
  await sendImage(peer, 'sunset.png', makePng(300, 200));
  const img = await until(async () => (await messages(m)).find((x) => x.img && x.id > lastId), 'image on the phone');
  await until(() => m.$eval(`#messages > .message[data-id="${img.id}"] img`, (i) => i.complete && i.naturalWidth > 0), 'image decoded');
  await sendText(peer, '太好了，晚上见～');
  await waitMessage(m, '太好了，晚上见～');

  // the input stays reachable and nothing overflows sideways
  const input = await m.locator('#message-input').boundingBox();
  assert.ok(input.y + input.height <= 740 && input.y > 0, `input within the screen (${JSON.stringify(input)})`);
  const send = await m.locator('#send-btn').boundingBox();
  assert.ok(send.x + send.width <= 375, 'send button within the screen');
  assert.ok(await noHorizontalScroll(m), 'room: no horizontal scroll');
  const widest = await m.$$eval('#messages .bubble', (bs) => Math.max(...bs.map((b) => b.getBoundingClientRect().right)));
  assert.ok(widest <= 375, 'bubbles within the screen');

  // the online list is collapsed and opens from the header
  assert.equal(await m.locator('#online-panel').isVisible(), false, 'online list collapsed');
  await m.tap('#online-toggle');
  await m.locator('#online-panel').waitFor({ state: 'visible' });
  const names = await m.$$eval('#online-list li', (lis) => lis.map((li) => li.dataset.username));
  assert.deepEqual(names.sort(), [name, peerName].sort());
  await m.tap('#online-toggle');
  await m.locator('#online-panel').waitFor({ state: 'hidden' });

  await m.waitForTimeout(400);
  await m.screenshot({ path: path.join(SCREENSHOT_DIR, 'mobile.png') });
  assert.deepEqual(m.errors, []);
  await closeAll();
});
