// End-to-end tests of recalling, deleting and banning on the page (docs/PROTOCOL.md
// §6.6–§6.8), with two or three browser contexts as the people of the room:
// - the author's 撤回 within the recall window, the admin's 删除 on anyone's message
//   (after a confirmation), and what every page shows in place: "X 撤回了一条消息" /
//   "管理员删除了一条消息"; after a reload the message is simply gone;
// - the 撤回 button goes away when the window has passed (a server of its own with
//   --recall-seconds 3);
// - a page that was offline asks GET /api/messages/deleted?since=… on reconnecting and
//   marks what was deleted meanwhile;
// - an admin bans a user from the online list: the user is out and cannot log in
//   (the login form says so), the room sees the notice, the admin unbans from it.
// The shared server's admin is E2E_ADMIN (scripts/test-e2e.sh: --admin-users).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  browserPerFile, CHAT_URL, E2E_ADMIN, PASSWORD, uniqueName, until, waitText, enterAs, registerViaApi, loginViaUi, sendText, messages, waitMessage, startServer, noServerBinary,
} from './helpers.mjs';

const chromium = browserPerFile();
const closeAll = () => chromium.closeAll();

async function newPage(base = CHAT_URL) {
  const r = await chromium.open({}, { base });
  r.base = base;
  return r;
}

// The admin on a page of its own; skips the test when the server does not name E2E_ADMIN.
async function adminPage(t, base = CHAT_URL) {
  const { context, page } = await newPage(base);
  const user = await enterAs(context, page, E2E_ADMIN, base);
  if (user.is_admin !== true) {
    t.skip(`${E2E_ADMIN} is not an admin of ${base} (start the server with --admin-users ${E2E_ADMIN})`);
    return null;
  }
  return page;
}

const row = (page, id) => page.locator(`#messages > .message[data-id="${id}"]`);
// The row of message `id` as the page shows it now.
async function shown(page, id) {
  return (await messages(page)).find((m) => m.id === id) || null;
}
async function waitNotice(page, id, text, who) {
  await until(async () => {
    const m = await shown(page, id);
    return m && m.deleted && m.cls === 'system' && m.text === text;
  }, async () => `${who}: message ${id} shown as ${JSON.stringify(text)} (now ${JSON.stringify(await shown(page, id))})`);
}
// The buttons a person sees on message `id` once the pointer is over it.
async function actionsOn(page, id) {
  await row(page, id).hover();
  return row(page, id).locator('.message-actions button').evaluateAll((bs) => bs.map((b) => b.textContent));
}

test('the author recalls a message: every page shows "X 撤回了一条消息" in its place, and after a reload it is gone', async () => {
  const { page: a } = await newPage();
  const { page: b } = await newPage();
  const alice = uniqueName('小明');
  const bob = uniqueName('小红');
  await registerViaApi(a.context(), a, alice);
  await registerViaApi(b.context(), b, bob);

  const tag = Date.now().toString(36);
  await sendText(a, `写错了 ${tag}`);
  const m = await waitMessage(b, `写错了 ${tag}`);
  await sendText(a, `这条留着 ${tag}`);
  const kept = await waitMessage(b, `这条留着 ${tag}`);

  // the author sees 撤回 on their own message; the other user sees no button at all
  assert.deepEqual(await actionsOn(a, m.id), ['撤回']);
  assert.deepEqual(await actionsOn(b, m.id), [], 'no recall or delete on someone else\'s message');

  await row(a, m.id).hover();
  await row(a, m.id).getByRole('button', { name: '撤回这条消息' }).click();
  for (const [p, who] of [[a, 'author'], [b, 'other']]) {
    await waitNotice(p, m.id, `${alice} 撤回了一条消息`, who);
    assert.equal(await row(p, m.id).locator('.content, .bubble').count(), 0, `${who}: the content is gone from the page`);
    assert.equal(await p.locator('#messages').getByText(`写错了 ${tag}`).count(), 0, `${who}: the text is nowhere`);
    assert.equal((await shown(p, kept.id)).text, `这条留着 ${tag}`, `${who}: the next message is untouched`);
  }
  assert.equal(await a.locator('[data-testid="confirm-dialog"]').isVisible(), false, 'a recall asks nothing');

  // history no longer returns it: after a reload it is simply gone, notice included
  const r = await b.context().request.get(CHAT_URL + '/api/messages?limit=200');
  assert.ok(!(await r.json()).messages.some((x) => x.id === m.id), 'GET /api/messages does not return it');
  await b.reload();
  await waitMessage(b, `这条留着 ${tag}`);
  assert.equal(await shown(b, m.id), null, 'no row for it after a reload');
  assert.equal(await b.getByText(`${alice} 撤回了一条消息`).count(), 0, 'and no notice either');
  assert.deepEqual([...a.errors, ...b.errors], []);
  assert.deepEqual([...a.dialogs, ...b.dialogs], []);
  await closeAll();
});

test('an admin deletes another user\'s message after confirming: every page shows "管理员删除了一条消息"', async (t) => {
  const admin = await adminPage(t);
  if (!admin) return;
  const { page: u } = await newPage();
  const { page: w } = await newPage();
  const spammer = uniqueName('广告');
  await registerViaApi(u.context(), u, spammer);
  await registerViaApi(w.context(), w, uniqueName('围观'));
  const tag = Date.now().toString(36);
  await sendText(u, `加我微信领红包 ${tag}`);
  const m = await waitMessage(admin, `加我微信领红包 ${tag}`);
  await waitMessage(w, `加我微信领红包 ${tag}`);
  await sendText(admin, `管理员的话 ${tag}`);
  const own = await waitMessage(u, `管理员的话 ${tag}`);

  assert.deepEqual(await actionsOn(admin, m.id), ['删除'], 'the admin can delete anyone\'s message');
  assert.deepEqual(await actionsOn(admin, own.id), ['撤回'], 'and recalls their own within the window');
  assert.deepEqual(await actionsOn(u, m.id), ['撤回'], 'the author can still recall it');
  assert.deepEqual(await actionsOn(w, m.id), [], 'a user who is not an admin cannot');
  assert.deepEqual(await actionsOn(u, own.id), [], 'nor touch the admin\'s message');

  // 删除 asks first; 取消 changes nothing
  await row(admin, m.id).hover();
  await row(admin, m.id).getByRole('button', { name: `删除 ${spammer} 的这条消息` }).click();
  const dialog = admin.getByRole('dialog');
  await dialog.waitFor({ state: 'visible' });
  assert.equal((await admin.textContent('#confirm-text')).trim(), '删除这条消息？所有人都将看不到它。');
  assert.equal(await admin.evaluate(() => document.activeElement.id), 'confirm-cancel', 'the safe choice has the focus');
  await admin.keyboard.press('Escape');
  await dialog.waitFor({ state: 'hidden' });
  await admin.waitForTimeout(500);
  assert.equal((await shown(w, m.id)).text, `加我微信领红包 ${tag}`, 'Escape deleted nothing');

  await row(admin, m.id).hover();
  await row(admin, m.id).getByRole('button', { name: `删除 ${spammer} 的这条消息` }).click();
  await dialog.getByRole('button', { name: '删除' }).click();
  for (const [p, who] of [[admin, 'admin'], [u, 'author'], [w, 'bystander']]) {
    await waitNotice(p, m.id, '管理员删除了一条消息', who);
  }
  assert.equal((await shown(w, own.id)).text, `管理员的话 ${tag}`);
  assert.equal(await admin.locator('#toast').isVisible(), false, 'no error');
  assert.deepEqual([...admin.errors, ...u.errors, ...w.errors], []);
  await closeAll();
});

test('past the recall window (--recall-seconds 3): the 撤回 button goes if GET /api/settings gives recall_seconds, else the server\'s refusal is shown', async (t) => {
  const why = noServerBinary();
  if (why) { t.skip(why); return; }
  const server = await startServer(['--recall-seconds', '3']);
  try {
    const { page: a } = await newPage(server.url);
    const { page: b } = await newPage(server.url);
    await registerViaApi(a.context(), a, uniqueName('快手'), PASSWORD, server.url);
    await registerViaApi(b.context(), b, uniqueName('旁观'), PASSWORD, server.url);
    // The page learns the window from GET /api/settings when the server says it,
    // else it assumes the default 120 s: tell which one this server does.
    const settings = await (await fetch(server.url + '/api/settings')).json();
    await sendText(a, '三秒内可以撤回');
    const m = await waitMessage(a, '三秒内可以撤回');
    assert.deepEqual(await actionsOn(a, m.id), ['撤回']);
    await a.waitForTimeout(4000);
    if (settings.recall_seconds === 3) {
      assert.deepEqual(await actionsOn(a, m.id), [], 'no 撤回 once the window has passed');
    } else {
      // The page cannot know the server's 3 s: its 撤回 stays (120 s), and the server's
      // refusal is shown as it came.
      assert.equal(settings.recall_seconds, undefined, `settings: ${JSON.stringify(settings)}`);
      await row(a, m.id).hover();
      await row(a, m.id).getByRole('button', { name: '撤回这条消息' }).click();
      await waitText(a.locator('#toast'), '消息发送已超过 3 秒，无法撤回', 'the server\'s refusal');
      assert.equal((await shown(b, m.id)).text, '三秒内可以撤回', 'nothing was deleted');
    }
  } finally {
    await closeAll();
    await server.stop();
  }
});

test('a page that was offline marks what was recalled and deleted meanwhile (GET /api/messages/deleted?since=…)', async (t) => {
  const admin = await adminPage(t);
  if (!admin) return;
  const { context: cv, page: v } = await newPage();
  const { page: a } = await newPage();
  const author = uniqueName('作者');
  await registerViaApi(cv, v, uniqueName('离线'));
  await registerViaApi(a.context(), a, author);
  const tag = Date.now().toString(36);
  await sendText(a, `我要撤回 ${tag}`);
  const first = await waitMessage(v, `我要撤回 ${tag}`);
  await sendText(a, `会被删除 ${tag}`);
  const second = await waitMessage(v, `会被删除 ${tag}`);
  await sendText(a, `一直都在 ${tag}`);
  const third = await waitMessage(v, `一直都在 ${tag}`);
  await waitMessage(admin, `会被删除 ${tag}`);

  const asked = [];
  v.on('request', (r) => { if (new URL(r.url()).pathname === '/api/messages/deleted') asked.push(r.url()); });
  await cv.setOffline(true);
  await waitText(v.locator('#connection-status'), /^(重新连接中|离线)$/, 'status while offline', 60000);
  const offlineAt = Date.now();

  await row(a, first.id).hover();
  await row(a, first.id).getByRole('button', { name: '撤回这条消息' }).click();
  await waitNotice(a, first.id, `${author} 撤回了一条消息`, 'author');
  await row(admin, second.id).hover();
  await row(admin, second.id).getByRole('button', { name: `删除 ${author} 的这条消息` }).click();
  await admin.getByRole('dialog').getByRole('button', { name: '删除' }).click();
  await waitNotice(admin, second.id, '管理员删除了一条消息', 'admin');
  assert.equal((await shown(v, first.id)).text, `我要撤回 ${tag}`, 'the offline page has not heard yet');

  await cv.setOffline(false);
  await waitText(v.locator('#connection-status'), '已连接', 'status after reconnect', 30000);
  await waitNotice(v, first.id, `${author} 撤回了一条消息`, 'reconnected page');
  await waitNotice(v, second.id, '管理员删除了一条消息', 'reconnected page');
  assert.equal((await shown(v, third.id)).text, `一直都在 ${tag}`);
  assert.equal(asked.length, 1, `one catch-up request: ${JSON.stringify(asked)}`);
  const since = new URL(asked[0]).searchParams.get('since');
  assert.match(since, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/, 'since is an RFC 3339 time');
  assert.ok(Date.parse(since) <= offlineAt, `since (${since}) is not after the page went offline`);
  assert.ok(Date.parse(since) > offlineAt - 60000, `since (${since}) is the time of the last event seen, not the start of history`);
  assert.deepEqual(v.errors, []);
  await closeAll();
});

test('an admin bans a user from the online list: out of the room, cannot log in, the room is told; unban from the notice', async (t) => {
  const admin = await adminPage(t);
  if (!admin) return;
  const { context: cv, page: v } = await newPage();
  const { page: w } = await newPage();
  const victim = uniqueName('捣乱');
  const witness = uniqueName('路人');
  await registerViaApi(cv, v, victim);
  await registerViaApi(w.context(), w, witness);
  const item = (p, name) => p.locator(`#online-list li[data-username="${name}"]`);
  await item(admin, victim).waitFor();
  await item(w, victim).waitFor();

  // only the admin has ban buttons, and none on their own line
  assert.equal(await w.locator('#online-list [data-testid="ban-button"]').count(), 0, 'no ban buttons for a user');
  assert.equal(await item(admin, E2E_ADMIN).locator('button').count(), 0, 'no ban button on the admin\'s own line');

  await item(admin, victim).hover();
  await admin.getByRole('button', { name: `封禁 ${victim}` }).click();
  await admin.getByRole('dialog').waitFor({ state: 'visible' });
  assert.equal((await admin.textContent('#confirm-text')).trim(), `封禁 ${victim}？TA 会立即被移出聊天室，且不能再登录。`);
  await admin.getByRole('dialog').getByRole('button', { name: '封禁' }).click();
  await waitText(admin.locator('#toast'), `已封禁 ${victim}`, 'the admin is told it worked');

  // the banned user's page leaves the room for the login form
  await v.locator('#login-form').waitFor({ state: 'visible', timeout: 20000 });
  assert.equal(await v.isVisible('#chat-screen'), false);
  // the others see one notice, and the user leaves their online list
  const notice = `${victim} 已被 ${E2E_ADMIN} 封禁`;
  for (const [p, who] of [[w, 'witness'], [admin, 'admin']]) {
    await until(async () => (await messages(p)).filter((m) => m.cls === 'system' && m.text === notice).length === 1,
      `${who}: one notice ${JSON.stringify(notice)}`);
    await item(p, victim).waitFor({ state: 'detached' });
  }
  assert.equal(await w.locator('[data-testid="system-unban"]').count(), 0, 'no unban for a user who is not an admin');

  // logging in again: the login form says why
  await loginAttempt(v, victim);
  await waitText(v.locator('#login-error'), '该账号已被封禁', 'the 403 of a banned login');
  assert.equal(await v.isVisible('#chat-screen'), false);

  // unban from the notice; then the login works
  const unban = admin.getByRole('button', { name: `解除对 ${victim} 的封禁` });
  await unban.click();
  await waitText(admin.locator('#toast'), `已解除对 ${victim} 的封禁`, 'the admin is told the unban worked');
  assert.equal(await unban.isDisabled(), true);
  assert.equal((await unban.textContent()).trim(), '已解除封禁');
  await loginViaUi(v, victim);
  await item(w, victim).waitFor();
  assert.deepEqual([...admin.errors, ...v.errors, ...w.errors], []);
  await closeAll();
});

test('a banned user\'s open page says "你的账号已被封禁" instead of a plain logout (the server tells the banned sockets before closing them)', async (t) => {
  const admin = await adminPage(t);
  if (!admin) return;
  const { context: cv, page: v } = await newPage();
  const victim = uniqueName('被封');
  await registerViaApi(cv, v, victim);
  await admin.locator(`#online-list li[data-username="${victim}"]`).waitFor();
  const ack = await admin.evaluate((name) => new Promise((resolve) => {
    const s = window.io({ forceNew: true });
    s.on('connect', () => s.emit('ban_user', { username: name }, (r) => { s.disconnect(); resolve(r); }));
  }), victim);
  assert.deepEqual(ack, { success: true });
  await v.locator('#login-form').waitFor({ state: 'visible', timeout: 20000 });
  await waitText(v.locator('#login-error'), '你的账号已被封禁', 'the banned page says why', 5000);
  await closeAll();
});

async function loginAttempt(page, username) {
  await page.fill('#login-username', username);
  await page.fill('#login-password', PASSWORD);
  await page.click('#login-submit');
}
