// End-to-end test of "正在输入" (docs/PROTOCOL.md §6.9) with four people in the room:
// the page sends typing {typing: true} at most once per 2 s while the user types and
// {typing: false} when the box is emptied or the message sent; other pages show
// "小明 正在输入…", "小明、小红 正在输入…", "3 人正在输入…" under the messages, never
// their own name, and drop a name not renewed for 6 s.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  browserPerFile, uniqueName, until, registerViaApi, waitMessage,
} from './helpers.mjs';

const chromium = browserPerFile();

async function person(prefix) {
  const { context, page } = await chromium.open();
  const name = uniqueName(prefix);
  // the typing events this page sends, read from its websocket frames
  page.typingSent = [];
  page.websocketOpen = false;
  page.on('websocket', (ws) => {
    page.websocketOpen = true;
    ws.on('framesent', (f) => {
      const m = /^42(\[.*\])$/.exec(String(f.payload));
      if (!m) return;
      const [event, data] = JSON.parse(m[1]);
      if (event === 'typing') page.typingSent.push({ at: Date.now(), typing: data.typing });
    });
  });
  await registerViaApi(context, page, name);
  return { page, name };
}

const indicator = (page) => page.locator('[data-testid="typing-indicator"]');
async function indicatorText(page) {
  return (await indicator(page).isVisible()) ? (await indicator(page).textContent()).trim() : '';
}
async function waitIndicator(page, expected, who, timeout) {
  let seen;
  await until(async () => { seen = await indicatorText(page); return seen === expected; },
    () => `${who}: typing line ${JSON.stringify(expected)}, saw ${JSON.stringify(seen)}`, timeout);
}
test('typing: one name, two names, "3 人正在输入…", never my own; false on empty box and on send; a name not renewed for 6 s goes', async (t) => {
  const a = await person('小明');
  const b = await person('小红');
  const c = await person('小刚');
  const v = await person('看客');
  // every page's socket runs over a websocket (the client upgrades from polling), so its frames are seen
  for (const p of [a, b, c, v]) await until(() => p.page.websocketOpen, `${p.name}: a websocket`);
  await v.page.waitForTimeout(500);

  // Does this server relay typing at all? (A server without §6.9 ignores the event.)
  await a.page.locator('#message-input').pressSequentially('你', { delay: 20 });
  const relayed = await until(async () => (await indicatorText(v.page)) !== '' || null, 'probe', 3000).then(() => true, () => false);
  if (!relayed) { t.skip('this server does not relay typing → user_typing (PROTOCOL §6.9) yet'); return; }
  await waitIndicator(v.page, `${a.name} 正在输入…`, 'viewer');
  assert.equal(await indicatorText(a.page), '', 'never my own name');

  // several keystrokes within 2 s: one typing true
  const sentBefore = a.page.typingSent.length;
  await a.page.locator('#message-input').pressSequentially('好呀我们', { delay: 150 });
  const burst = a.page.typingSent.slice(sentBefore);
  assert.ok(burst.length <= 1, `at most one typing event within 2 s of the first: ${JSON.stringify(burst)}`);
  // typing on past 2 s renews it, still at most once per 2 s
  await a.page.locator('#message-input').pressSequentially('去吃火锅吧', { delay: 500 });
  const trues = a.page.typingSent.filter((x) => x.typing === true);
  assert.ok(trues.length >= 2, `renewed while typing on: ${JSON.stringify(a.page.typingSent)}`);
  for (let i = 1; i < trues.length; i++) assert.ok(trues[i].at - trues[i - 1].at >= 1900, `typing true at most once per 2 s: ${JSON.stringify(trues)}`);
  assert.ok(a.page.typingSent.every((x) => x.typing === true), 'no false while the box has text');

  await b.page.locator('#message-input').pressSequentially('嗯', { delay: 20 });
  await waitIndicator(v.page, `${a.name}、${b.name} 正在输入…`, 'viewer');
  await waitIndicator(a.page, `${b.name} 正在输入…`, 'a sees b only');
  await c.page.locator('#message-input').pressSequentially('我也来', { delay: 20 });
  await waitIndicator(v.page, '3 人正在输入…', 'viewer');
  await waitIndicator(a.page, `${b.name}、${c.name} 正在输入…`, 'a sees the other two');

  // a empties the box: false, a's name goes at once
  await a.page.fill('#message-input', '');
  await a.page.locator('#message-input').dispatchEvent('input');
  await waitIndicator(v.page, `${b.name}、${c.name} 正在输入…`, 'viewer after a emptied the box', 1500);
  assert.equal(a.page.typingSent.at(-1).typing, false, 'a told the server it stopped');

  // c sends: c's name goes at once
  await c.page.press('#message-input', 'Enter');
  await waitMessage(v.page, '我也来');
  await waitIndicator(v.page, `${b.name} 正在输入…`, 'viewer after c sent', 1500);

  // b stops typing with text left in the box: shown until 6 s after the last true, then gone
  const lastTrue = b.page.typingSent.filter((x) => x.typing === true).at(-1).at;
  await v.page.waitForTimeout(Math.max(0, lastTrue + 4500 - Date.now()));
  assert.equal(await indicatorText(v.page), `${b.name} 正在输入…`, 'still shown 4.5 s after the last renewal');
  await waitIndicator(v.page, '', 'viewer after 6 s without renewal', 4000);
  assert.ok(Date.now() - lastTrue >= 5900, 'not dropped before 6 s');
  assert.equal(await indicator(v.page).isHidden(), true, 'the empty line takes no place');
  for (const p of [a, b, c, v]) assert.deepEqual(p.page.errors, [], `${p.name}: no page error`);
});
