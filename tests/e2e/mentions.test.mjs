// End-to-end tests of @mentions and of what a hidden tab does:
// - typing "@" in the composer offers the online users (not me): ↑↓ and Enter/Tab pick,
//   Escape closes, a click picks; a message that mentions me is highlighted on my page
//   only; a mention is "@" + an exact username and the longest known name wins;
// - a hidden tab counts new messages in the title "(N) 在线聊天室" and clears it on
//   return; a desktop notification comes only for a message that mentions me, only
//   after the user clicked 开启通知 (the page never asks on load);
// - on a page that is not a secure context the button is absent and the settings say
//   why, once.
// Headless Chromium never hides a page, so "the user switched tabs" is played by
// overriding document.hidden / visibilityState and firing visibilitychange, as the
// browser does; Notification is replaced by a recorder whose permission prompt the
// person answers "allow".
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  browserPerFile, CHAT_URL, launch, uniqueName, waitText, registerViaApi, registerViaUi, sendText, messages, waitMessage,
} from './helpers.mjs';

const chromium = browserPerFile();
const closeAll = () => chromium.closeAll();

async function person(name, { watch = false, base = CHAT_URL } = {}) {
  const { context, page } = await chromium.open({}, { base });
  if (watch) await context.addInitScript(watchScript);
  await registerViaApi(context, page, name, undefined, base);
  return page;
}

// In the page before its scripts: a switchable document.hidden, and a recording Notification.
function watchScript() {
  let hidden = false;
  Object.defineProperty(document, 'hidden', { configurable: true, get: () => hidden });
  Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => (hidden ? 'hidden' : 'visible') });
  window.__setHidden = (h) => { hidden = h; document.dispatchEvent(new Event('visibilitychange')); };
  // The browser's permission prompt, answered "allow" by the person.
  const log = { requested: 0, shown: [] };
  window.__notes = log;
  let permission = 'default';
  if (typeof window.Notification === 'function') {
    class Recorded {
      constructor(title, options = {}) { log.shown.push({ title, body: options.body }); }
      close() {}
      static get permission() { return permission; }
      static requestPermission() { log.requested += 1; permission = 'granted'; return Promise.resolve(permission); }
    }
    window.Notification = Recorded;
  }
}

const input = (p) => p.locator('#message-input');
async function options(p) {
  return p.locator('#mention-list [role="option"]').evaluateAll((os) => os.map((o) => ({
    text: o.textContent, selected: o.getAttribute('aria-selected') === 'true',
  })));
}

test('@ offers the online users (arrows, Enter, Tab, Escape, click); the mentioned user sees it highlighted; the longest name wins', async () => {
  const base = uniqueName('明');
  const long = base + '明';
  const pb = await person(base);
  const pl = await person(long);
  const po = await person(uniqueName('旁人'));
  const writer = uniqueName('作者');
  const pw = await person(writer);
  for (const p of [pb, pl, po]) await p.locator(`#online-list li[data-username="${writer}"]`).waitFor();
  await pw.locator(`#online-list li[data-username="${long}"]`).waitFor();

  // "@明": both names that start with it, in the online list's order, the first one active
  await input(pw).click();
  await input(pw).pressSequentially('@明');
  await pw.locator('#mention-list').waitFor({ state: 'visible' });
  assert.deepEqual(await options(pw), [{ text: '@' + base, selected: true }, { text: '@' + long, selected: false }]);
  assert.equal(await input(pw).getAttribute('aria-activedescendant'), await pw.locator('#mention-list [role="option"]').first().getAttribute('id'));
  await pw.keyboard.press('ArrowDown');
  assert.deepEqual((await options(pw)).map((o) => o.selected), [false, true]);
  await pw.keyboard.press('ArrowDown');   // wraps around
  assert.deepEqual((await options(pw)).map((o) => o.selected), [true, false]);
  await pw.keyboard.press('ArrowUp');
  const before = (await messages(pw)).length;
  await pw.keyboard.press('Enter');
  assert.equal(await input(pw).inputValue(), `@${long} `, 'Enter picks the active name');
  assert.equal(await pw.locator('#mention-list').isVisible(), false);
  await pw.waitForTimeout(300);
  assert.equal((await messages(pw)).length, before, 'that Enter sent nothing');

  await input(pw).pressSequentially('你好 @明');
  await pw.locator('#mention-list').waitFor({ state: 'visible' });
  await pw.keyboard.press('Tab');
  assert.equal(await input(pw).inputValue(), `@${long} 你好 @${base} `, 'Tab picks too');
  assert.equal(await pw.evaluate(() => document.activeElement.id), 'message-input', 'and the focus stays in the box');

  // "@" alone offers everyone online but me; Escape closes and keeps the text
  await input(pw).pressSequentially('@');
  await pw.locator('#mention-list').waitFor({ state: 'visible' });
  const everyone = (await options(pw)).map((o) => o.text.slice(1));
  assert.deepEqual([...everyone].sort(), [base, long, await po.textContent('#current-username')].sort());
  await pw.keyboard.press('Escape');
  assert.equal(await pw.locator('#mention-list').isVisible(), false);
  assert.equal(await input(pw).inputValue(), `@${long} 你好 @${base} @`);
  await pw.keyboard.press('Backspace');
  await pw.keyboard.press('Enter');
  const both = await waitMessage(pb, `@${long} 你好 @${base}`);
  await waitMessage(pl, `@${long} 你好 @${base}`);
  await waitMessage(po, `@${long} 你好 @${base}`);

  // the mouse: click the option
  await input(pw).pressSequentially('@明');
  await pw.locator('#mention-list [role="option"]', { hasText: '@' + base }).first().waitFor();
  await pw.locator('#mention-list [role="option"]').filter({ hasText: new RegExp(`^@${base}$`) }).click();
  assert.equal(await input(pw).inputValue(), `@${base} `);
  await pw.keyboard.press('Backspace');
  await input(pw).pressSequentially('你好');
  await pw.keyboard.press('Enter');
  const short = await waitMessage(pb, `@${base}你好`);
  await sendText(pw, `@${long}你好`);
  const longer = await waitMessage(pb, `@${long}你好`);
  await waitMessage(pl, `@${long}你好`);
  await waitMessage(po, `@${long}你好`);

  const flags = async (p, id) => (await messages(p)).find((m) => m.id === id).mentionsMe;
  assert.equal(await flags(pb, both.id), true, `${base} is mentioned in "@${long} 你好 @${base}"`);
  assert.equal(await flags(pl, both.id), true, `${long} too`);
  assert.equal(await flags(po, both.id), false, 'a bystander is not');
  assert.equal(await flags(pb, short.id), true, `"@${base}你好" mentions ${base}`);
  assert.equal(await flags(pl, short.id), false, `and not ${long}`);
  assert.equal(await flags(pl, longer.id), true, `"@${long}你好" mentions ${long} (the longest name)`);
  assert.equal(await flags(pb, longer.id), false, `not ${base}`);
  assert.equal(await flags(pw, both.id), false, 'the writer\'s own message is never highlighted for them');
  // the highlighted name is its own element, the text stays exactly the message
  const marked = await pb.locator(`#messages > .message[data-id="${short.id}"] .mention-me`).allTextContents();
  assert.deepEqual(marked, ['@' + base]);
  for (const p of [pb, pl, po, pw]) assert.deepEqual(p.errors, []);
  await closeAll();
});

test('hidden tab: "(N) 在线聊天室" counts new messages and clears on return; a notification only for a mention, only after 开启通知', async () => {
  const me = uniqueName('后台');
  const other = uniqueName('发言');
  const v = await person(me, { watch: true });
  const s = await person(other);
  await v.locator(`#online-list li[data-username="${other}"]`).waitFor();
  const title = () => v.evaluate(() => document.title);
  const notes = () => v.evaluate(() => window.__notes);
  assert.equal(await title(), '在线聊天室');
  assert.equal((await notes()).requested, 0, 'no permission asked on load');

  // hidden: every message of someone else counts; a mention shows no notification yet
  await v.evaluate(() => window.__setHidden(true));
  await sendText(s, '第一条');
  await waitMessage(v, '第一条');
  await sendText(s, `@${me} 第二条`);
  await waitMessage(v, `@${me} 第二条`);
  await waitText(v.locator('title'), '(2) 在线聊天室', 'unread count in the title');
  assert.deepEqual((await notes()).shown, [], 'no notification before the user enabled them');
  await v.evaluate(() => window.__setHidden(false));
  assert.equal(await title(), '在线聊天室', 'cleared on return');

  // enable in the settings: the browser is asked once, now
  await v.click('#settings-btn');
  const btn = v.getByRole('button', { name: '开启通知' });
  await btn.click();
  await v.getByRole('button', { name: '关闭通知' }).waitFor();
  assert.equal((await notes()).requested, 1);
  assert.equal((await v.textContent('#notify-state')).trim(), '已开启：标签页在后台时，有人 @ 你会提醒');
  await v.keyboard.press('Escape');
  assert.equal(await v.isVisible('#settings-panel'), false, 'Escape closes the settings');

  // visible: no count, no notification
  await sendText(s, `@${me} 你在吗`);
  await waitMessage(v, `@${me} 你在吗`);
  assert.equal(await title(), '在线聊天室');
  assert.deepEqual((await notes()).shown, []);

  await v.evaluate(() => window.__setHidden(true));
  await sendText(s, '不提你');
  await waitMessage(v, '不提你');
  await sendText(s, `@${me} 快回来`);
  await waitMessage(v, `@${me} 快回来`);
  await waitText(v.locator('title'), '(2) 在线聊天室', 'unread count in the title');
  assert.deepEqual((await notes()).shown, [{ title: `${other} 在聊天室提到了你`, body: `@${me} 快回来` }]);
  // my own message does not count
  await sendText(v, '我自己发的');
  await waitMessage(v, '我自己发的');
  assert.equal(await title(), '(2) 在线聊天室');
  await v.evaluate(() => window.__setHidden(false));
  assert.equal(await title(), '在线聊天室');
  assert.equal((await notes()).requested, 1, 'asked exactly once');
  assert.deepEqual(v.errors, []);
  await closeAll();
});

test('not a secure context: no 开启通知 button, and the settings say why, once', async () => {
  // http://chat.e2e.test is not a secure context (127.0.0.1 and localhost are)
  const host = 'chat.e2e.test';
  const insecure = await launch([`--host-resolver-rules=MAP ${host} 127.0.0.1`]);
  try {
    const base = CHAT_URL.replace(/\/\/[^/:]+/, '//' + host);
    const { context, page } = await chromium.open({}, { base, browser: insecure });
    await context.addInitScript(watchScript);
    await registerViaUi(page, uniqueName('不安全'), undefined, base);
    assert.equal(await page.evaluate(() => window.isSecureContext), false);
    await page.click('#settings-btn');
    await page.locator('#settings-panel').waitFor({ state: 'visible' });
    assert.equal(await page.locator('#notify-btn').isVisible(), false, 'no button');
    const why = '桌面通知只能在安全连接（HTTPS）下使用，当前页面不是。';
    assert.equal((await page.textContent('#notify-state')).trim(), why);
    assert.equal(await page.getByText(why).count(), 1, 'said once');
    assert.equal((await page.evaluate(() => window.__notes)).requested, 0);
    assert.deepEqual(page.errors, []);
    await closeAll();
  } finally {
    await insecure.close();
  }
});
