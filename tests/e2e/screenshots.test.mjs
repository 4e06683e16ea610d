// The README's pictures of what the page does beyond the Flask room, taken as
// three people use it: a mention of me (highlighted), a recalled message (a
// notice in its place), someone typing (the line under the messages), in the
// light and in the dark theme. Each picture is taken only once the page shows
// what it is meant to show.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import {
  browserPerFile, SCREENSHOT_DIR, enterAs, sendText, until, waitMessage, waitText, messages,
} from './helpers.mjs';

const chromium = browserPerFile();

async function person(name, opts) {
  const { context, page } = await chromium.open(opts);
  await enterAs(context, page, name);
  return page;
}

test('screenshots: a mention, a recalled message and the typing line, light and dark', async () => {
  const me = await person('小明');
  const hong = await person('小红');
  const gang = await person('小刚');

  await sendText(hong, `大家好，今晚的分享会七点开始`);
  await sendText(gang, `@小明 你的幻灯片准备好了吗？`);
  const mention = await waitMessage(me, `@小明 你的幻灯片准备好了吗？`);
  assert.equal(mention.mentionsMe, true, 'the mention of me is highlighted');

  await sendText(hong, `这条发错群了`);
  const wrong = await waitMessage(hong, `这条发错群了`);
  const row = hong.locator(`#messages > .message[data-id="${wrong.id}"]`);
  await row.hover();
  await row.getByRole('button', { name: '撤回这条消息' }).click();
  await until(async () => (await messages(me)).find((m) => m.id === wrong.id && m.deleted),
    '小明 sees the recall notice');
  const notice = (await messages(me)).find((m) => m.id === wrong.id);
  assert.equal(notice.text, '小红 撤回了一条消息');

  await sendText(me, `好了，马上到`);
  await waitMessage(gang, `好了，马上到`);
  await gang.fill('#message-input', '我也快到了');
  await gang.type('#message-input', '，');
  await waitText(me.locator('[data-testid="typing-indicator"]'), '小刚 正在输入…', '小明 sees 小刚 typing');

  await me.mouse.move(0, 0);
  await me.screenshot({ path: path.join(SCREENSHOT_DIR, 'room-light.png') });
  await me.emulateMedia({ colorScheme: 'dark' });
  await until(async () => (await me.evaluate(() => getComputedStyle(document.documentElement).colorScheme)) === 'dark',
    'the page follows the dark system setting');
  // The typing line lasts 6 s unrenewed: 小刚 keeps typing for the second picture.
  await gang.type('#message-input', '等');
  await waitText(me.locator('[data-testid="typing-indicator"]'), '小刚 正在输入…', 'still typing');
  await me.waitForTimeout(500); // the colours' transitions (0.2 s) have ended
  await me.screenshot({ path: path.join(SCREENSHOT_DIR, 'room-dark.png') });
});
