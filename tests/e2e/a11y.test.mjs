// End-to-end tests of accessibility:
// - axe-core (tests/e2e/node_modules/axe-core) finds no serious or critical violation on
//   the login form, the room, the open emoji picker, and the room in the dark theme;
// - a keyboard alone does what the mouse does: logging in and sending, the emoji picker
//   (arrows, Enter, Escape),
//   recalling a message (Shift+Tab from the composer reaches its 撤回), opening and
//   closing an image, the settings; every focused control shows a visible focus ring;
// - new messages arrive in a polite live region.
// axe is injected with page.addScriptTag({path}); the page's strict CSP refuses inline
// scripts, so these contexts bypass CSP (the page's own code runs unchanged).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import {
  browserPerFile, CHAT_URL, PASSWORD, uniqueName, until, registerViaApi, sendText, sendImage, messages, waitMessage,
  waitInRoom, makePng,
} from './helpers.mjs';

const AXE = createRequire(import.meta.url).resolve('axe-core/axe.min.js');

const chromium = browserPerFile();

async function newPage(opts = {}) {
  const { context, page } = await chromium.open({ bypassCSP: true, ...opts });
  return page;
}

// axe's serious and critical violations on what is visible now, as readable lines.
async function axe(page, what) {
  if (!(await page.evaluate(() => typeof window.axe === 'object'))) await page.addScriptTag({ path: AXE });
  await page.waitForTimeout(400);   // let the entry animations finish (colours are measured)
  const result = await page.evaluate(() => window.axe.run(document, { resultTypes: ['violations'] }));
  return result.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .flatMap((v) => v.nodes.map((n) => `${what}: ${v.id} (${v.impact}) ${n.target.join(' ')}: ${n.failureSummary.replace(/\s+/g, ' ')}`));
}

// The focused element, and whether it shows a focus ring (an outline, or the box-shadow ring of the
// text boxes), once the transitions have run.
const focused = async (page) => { await page.waitForTimeout(250); return page.evaluate(() => {
  const e = document.activeElement;
  const s = getComputedStyle(e);
  return {
    id: e.id, text: e.textContent.trim(), label: e.getAttribute('aria-label'),
    ring: (s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2) || /0px 0px 0px [3-9]px/.test(s.boxShadow),
  };
}); };

test('axe: no serious or critical violations on the login form, the room, the open emoji picker and the dark theme', async () => {
  const page = await newPage();
  await page.goto(CHAT_URL + '/');
  await page.locator('#login-form').waitFor({ state: 'visible' });
  const found = [...await axe(page, 'login form')];
  await page.click('#show-register');
  found.push(...await axe(page, 'register form'));

  const other = await newPage();
  await registerViaApi(other.context(), other, uniqueName('别人'));
  await registerViaApi(page.context(), page, uniqueName('读屏'));
  await sendText(other, '你好，这是一条别人的消息');
  await sendText(page, '我的消息，@别人');
  await sendImage(other, 'a11y.png', makePng(120, 80));
  await until(async () => (await messages(page)).some((m) => m.img), 'the image');
  await waitMessage(page, '我的消息，@别人');
  await page.mouse.move(0, 0);
  found.push(...await axe(page, 'room'));
  await page.click('#emoji-btn');
  await page.locator('#emoji-picker').waitFor({ state: 'visible' });
  found.push(...await axe(page, 'emoji picker'));
  await page.keyboard.press('Escape');
  await page.click('#settings-btn');
  found.push(...await axe(page, 'settings'));
  await page.getByRole('switch', { name: '深色主题' }).click();
  await page.keyboard.press('Escape');
  found.push(...await axe(page, 'room, dark'));
  await page.click('#emoji-btn');
  found.push(...await axe(page, 'emoji picker, dark'));
  await page.keyboard.press('Escape');
  await page.click('#logout-btn');
  await page.locator('#login-form').waitFor({ state: 'visible' });
  found.push(...await axe(page, 'login form, dark'));
  assert.deepEqual(found, []);
  assert.deepEqual(page.errors, []);
});

test('keyboard only: emoji picker with arrows/Enter/Escape, recall with Shift+Tab, image viewer, settings; focus always visible', async () => {
  const page = await newPage();
  const other = await newPage();
  await registerViaApi(page.context(), page, uniqueName('键盘'));
  await registerViaApi(other.context(), other, uniqueName('对方'));

  // the live region: new messages are announced politely
  assert.deepEqual(await page.$eval('#messages', (e) => [e.getAttribute('role'), e.getAttribute('aria-live')]), ['log', 'polite']);

  // emoji picker: Tab to 😊, Enter opens it with the focus on the first emoji
  await page.focus('#message-input');
  await page.keyboard.type('好');
  await page.keyboard.press('Shift+Tab');   // 📷
  await page.keyboard.press('Shift+Tab');   // 😊
  assert.deepEqual(await focused(page), { id: 'emoji-btn', text: '😊', label: '表情', ring: true });
  await page.keyboard.press('Enter');
  await page.locator('#emoji-picker').waitFor({ state: 'visible' });
  assert.equal(await page.getAttribute('#emoji-btn', 'aria-expanded'), 'true');
  let f = await focused(page);
  assert.deepEqual([f.text, f.ring], ['😀', true], 'the first emoji has the focus, visibly');
  await page.keyboard.press('ArrowRight');
  await page.keyboard.press('ArrowDown');   // 8 per row: the 10th emoji
  await page.keyboard.press('ArrowLeft');   // the 9th
  assert.equal((await focused(page)).text, '😊');
  await page.keyboard.press('Enter');
  assert.equal(await page.inputValue('#message-input'), '好😊', 'Enter inserts the emoji at the cursor');
  await page.keyboard.press('ArrowUp');     // the 1st
  await page.keyboard.press('Enter');
  assert.equal(await page.inputValue('#message-input'), '好😊😀');
  await page.keyboard.press('Escape');
  await page.locator('#emoji-picker').waitFor({ state: 'hidden' });
  assert.equal((await focused(page)).id, 'message-input', 'Escape returns to the composer');
  await page.keyboard.press('Enter');
  const mine = await waitMessage(page, '好😊😀');

  // recall with the keyboard: Shift+Tab from the composer reaches the newest message's 撤回
  await page.keyboard.press('Shift+Tab');
  await page.keyboard.press('Shift+Tab');
  await page.keyboard.press('Shift+Tab');
  f = await focused(page);
  assert.deepEqual(f, { id: '', text: '撤回', label: '撤回这条消息', ring: true });
  await until(() => page.$eval(`#messages > .message[data-id="${mine.id}"] .message-actions`, (e) => getComputedStyle(e).opacity === '1'),
    'the button shows (fades in) while it has the focus', 1000);
  await page.keyboard.press('Enter');
  await until(async () => (await messages(other)).find((m) => m.id === mine.id)?.deleted, 'recalled on the other page');

  // an image opens with Enter and closes with Escape, the focus going back to it
  await sendImage(other, 'kb.png', makePng(100, 60));
  const img = await until(async () => (await messages(page)).find((m) => m.img), 'the image');
  await page.focus(`#messages > .message[data-id="${img.id}"] .image-open`);
  assert.equal((await focused(page)).ring, true);
  await page.keyboard.press('Enter');
  await page.locator('#lightbox').waitFor({ state: 'visible' });
  assert.equal((await focused(page)).id, 'lightbox-close');
  await page.keyboard.press('Escape');
  await page.locator('#lightbox').waitFor({ state: 'hidden' });
  assert.equal(await page.evaluate(() => document.activeElement.classList.contains('image-open')), true, 'focus back on the image');

  // settings: open with Enter, Escape closes and returns to the button
  await page.focus('#settings-btn');
  assert.equal((await focused(page)).ring, true, 'the header buttons show focus too');
  await page.keyboard.press('Enter');
  await page.locator('#settings-panel').waitFor({ state: 'visible' });
  await page.keyboard.press('Tab');
  f = await focused(page);
  assert.deepEqual([f.id, f.ring], ['theme-toggle', true]);
  await page.keyboard.press('Escape');
  await page.locator('#settings-panel').waitFor({ state: 'hidden' });
  assert.equal((await focused(page)).id, 'settings-btn');

  // the composer and the send button
  await page.focus('#message-input');
  assert.equal((await focused(page)).ring, true, 'the composer shows focus');
  assert.deepEqual([...page.errors, ...other.errors], []);
});

test('keyboard only: log in with Tab and Enter, then send with Enter; every field shows its focus', async () => {
  const name = uniqueName('键盘登录');
  const { context: elsewhere } = await chromium.open();
  const made = await elsewhere.request.post(CHAT_URL + '/api/register', { data: { username: name, password: PASSWORD } });
  assert.equal(made.status(), 201, await made.text());

  const page = await newPage();
  await page.goto(CHAT_URL + '/');
  await page.locator('#login-form').waitFor({ state: 'visible' });
  const active = () => page.evaluate(() => document.activeElement?.id || '');
  // Tab from the top of the page to the name field, as a keyboard user does.
  for (let i = 0; i < 20 && (await active()) !== 'login-username'; i++) await page.keyboard.press('Tab');
  assert.deepEqual(await focused(page).then((f) => [f.id, f.ring]), ['login-username', true]);
  await page.keyboard.type(name);
  await page.keyboard.press('Tab');
  assert.deepEqual(await focused(page).then((f) => [f.id, f.ring]), ['login-password', true]);
  await page.keyboard.type(PASSWORD);
  await page.keyboard.press('Enter');
  await waitInRoom(page);

  for (let i = 0; i < 30 && (await active()) !== 'message-input'; i++) await page.keyboard.press('Tab');
  assert.deepEqual(await focused(page).then((f) => [f.id, f.ring]), ['message-input', true]);
  await page.keyboard.type('只用键盘发的');
  await page.keyboard.press('Enter');
  const sent = await waitMessage(page, '只用键盘发的');
  assert.equal(sent.cls, 'mine');
});
