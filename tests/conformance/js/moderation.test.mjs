// PROTOCOL.md §6.6 "Admins", §6.7 "Recalling and deleting" and "Banning":
// delete_message / message_deleted, GET /api/messages/deleted, ban_user /
// unban_user / user_banned, through the official socket.io client.
//
// Environment (scripts/test-conformance.sh sets these when it starts the
// server; against an external CHAT_URL the tests that need them are skipped):
//   CONFORMANCE_ADMIN, CONFORMANCE_ADMIN_PASSWORD   an account named in the
//       server's --admin-users (registered here, or logged in when taken)
//   CONFORMANCE_ADMIN2   a second name in --admin-users (same password)
//   CONFORMANCE_RECALL_SECONDS   the server's --recall-seconds, when short

import { describe, test, afterEach } from "node:test";
import assert from "node:assert/strict";
import {
  TRANSPORT,
  QUIET_WINDOW,
  EVENT_TIMEOUT,
  Session,
  Client,
  connect,
  closeAll,
  newUser,
  randName,
  randAlnum,
  assertError,
  assertTimestamp,
  assertMessage,
  uploadPng,
  httpRequest,
  sleep,
} from "./helpers.mjs";

afterEach(closeAll);

const ADMIN = process.env.CONFORMANCE_ADMIN || "";
const ADMIN2 = process.env.CONFORMANCE_ADMIN2 || "";
const ADMIN_PASSWORD = process.env.CONFORMANCE_ADMIN_PASSWORD || "";
const RECALL_SECONDS = Number(process.env.CONFORMANCE_RECALL_SECONDS || 0);

const NO_ADMIN =
  !(ADMIN && ADMIN_PASSWORD) &&
  "CONFORMANCE_ADMIN / CONFORMANCE_ADMIN_PASSWORD not set: the suite knows no admin of this server (scripts/test-conformance.sh names one when it starts the server)";
const NO_SHORT_WINDOW =
  !(RECALL_SECONDS > 0 && RECALL_SECONDS <= 10) &&
  "CONFORMANCE_RECALL_SECONDS (the server's --recall-seconds, at most 10) not set: waiting out the default 120 s window is too slow";

const NOT_FOUND = "消息不存在或已被删除";
const NOT_YOURS = "只能撤回自己的消息";
const NOT_AN_INTEGER = "消息 id 必须是整数";
const MALFORMED = "删除请求格式错误";
// PROTOCOL.md §6.8
const BANNED_LOGIN = "该账号已被封禁";
const NOT_ADMIN = "只有管理员可以封禁或解封用户";
const NO_SUCH_USER = "用户不存在";
const NOT_YOURSELF = "不能封禁自己";
const NOT_AN_ADMIN_TARGET = "不能封禁管理员";
const BAN_MALFORMED = "请求格式错误";
const BAN_NAME = "用户名必须是非空字符串";

/** The admin account (named in --admin-users): registered the first time, logged in afterwards. */
async function account(username, password) {
  const session = new Session();
  let res = await session.register(username, password);
  if (res.status === 409) res = await session.login(username, password);
  assert.ok(res.status === 201 || res.status === 200, `register/login ${username}: ${res.status} ${res.text}`);
  return { session, user: res.json.user, username, password };
}

async function admin() {
  const a = await account(ADMIN, ADMIN_PASSWORD);
  assert.equal(a.user.is_admin, true, `${ADMIN} is named in --admin-users: ${JSON.stringify(a.user)}`);
  return a;
}

function deleteMessage(c, id) {
  return c.emitAck("delete_message", { id });
}

/** Sends a text message with an ack; returns the stored Message. */
async function say(c, content = "moderation " + randAlnum(8)) {
  const ack = await c.send({ content });
  assert.equal(ack.success, true, `send_message: ${JSON.stringify(ack)}`);
  assertMessage(ack.message);
  return ack.message;
}

function assertRefused(ack, error, what) {
  assert.deepEqual(ack, { success: false, error }, `${what}: ${JSON.stringify(ack)}`);
}

/** message_deleted events of `c` about message `id`, in arrival order. */
function deletedEvents(c, id) {
  return c
    .all()
    .filter((e) => e.event === "message_deleted" && e.args[0] && e.args[0].id === id)
    .map((e) => e.args[0]);
}

/**
 * Waits for message_deleted about `id` on every client, checks its exact
 * fields, then (after a quiet window) that each client got it exactly once
 * and all got the same payload. Returns the payload.
 */
async function assertDeletedEverywhere(clients, id, username) {
  const got = [];
  for (const c of clients) got.push(await c.peek("message_deleted", (d) => d.id === id));
  const first = got[0];
  assert.deepEqual(Object.keys(first).sort(), ["id", "timestamp", "username"], `message_deleted fields: ${JSON.stringify(first)}`);
  assert.equal(first.id, id);
  assert.equal(first.username, username, "message_deleted.username is who deleted it");
  assertTimestamp(first.timestamp, "message_deleted.timestamp", 60 * 1000);
  for (const d of got) assert.deepEqual(d, first, "every socket gets the same message_deleted");
  await sleep(QUIET_WINDOW);
  for (const [i, c] of clients.entries()) {
    assert.equal(deletedEvents(c, id).length, 1, `socket ${i} got message_deleted for ${id} exactly once: ${JSON.stringify(deletedEvents(c, id))}`);
  }
  return first;
}

/** Ids of every form of GET /api/messages around `ids` that is visible. */
async function visibleForms(session, ids) {
  const lo = Math.min(...ids);
  const hi = Math.max(...ids);
  const forms = ["limit=200", `after_id=${lo - 1}&limit=200`, `before_id=${hi + 1}&limit=200`, ""];
  const out = {};
  for (const q of forms) {
    const res = await session.messages(q);
    assert.equal(res.status, 200, `GET /api/messages?${q}: ${res.status} ${res.text}`);
    out[q || "(no parameters)"] = res.json.messages.map((m) => m.id).filter((x) => ids.includes(x));
  }
  return out;
}

/** An RFC 3339 time with a +08:00 offset for the same instant as `iso` (a …Z time). */
function inUtcPlus8(iso) {
  const t = new Date(Date.parse(iso) + 8 * 3600 * 1000).toISOString(); // …Z, but shifted
  return t.replace(/Z$/, "+08:00");
}

async function deletedSince(session, since) {
  const q = since === undefined ? "" : `?since=${encodeURIComponent(since)}`;
  const res = await session.get(`/api/messages/deleted${q}`);
  assert.equal(res.status, 200, `GET /api/messages/deleted${q}: ${res.status} ${res.text}`);
  assert.deepEqual(Object.keys(res.json).sort(), ["deleted", "success"], res.text.slice(0, 300));
  assert.equal(res.json.success, true);
  assert.ok(Array.isArray(res.json.deleted));
  return res.json.deleted;
}

describe(`delete_message [${TRANSPORT}]`, () => {
  test("the author recalls inside the window: {success: true}; message_deleted exactly once on every socket (both author tabs, another user's); gone from every form of GET /api/messages, the neighbours stay", async () => {
    const a = await newUser();
    const b = await newUser();
    assert.equal(a.user.is_admin, false);
    const a1 = await connect(a.session);
    const a2 = await connect(a.session);
    const b1 = await connect(b.session);
    const before = await say(a1, "before " + randAlnum(6));
    const m = await say(a1, "to be recalled " + randAlnum(6));
    const after = await say(b1, "after " + randAlnum(6));
    const ids = [before.id, m.id, after.id];
    assert.deepEqual(await visibleForms(b.session, ids), {
      "limit=200": ids,
      [`after_id=${before.id - 1}&limit=200`]: ids,
      [`before_id=${after.id + 1}&limit=200`]: ids,
      "(no parameters)": ids,
    }, "all three visible before the recall");

    const ack = await deleteMessage(a1, m.id);
    assert.deepEqual(ack, { success: true }, `the recall's ack: ${JSON.stringify(ack)}`);
    await assertDeletedEverywhere([a1, a2, b1], m.id, a.username);

    const left = [before.id, after.id];
    for (const who of [a.session, b.session]) {
      assert.deepEqual(await visibleForms(who, ids), {
        "limit=200": left,
        [`after_id=${before.id - 1}&limit=200`]: left,
        [`before_id=${after.id + 1}&limit=200`]: left,
        "(no parameters)": left,
      }, "only the recalled message is gone");
    }
    // the first page after it still starts right after the neighbour
    const res = await b.session.messages(`after_id=${before.id}&limit=1`);
    assert.deepEqual(res.json.messages.map((x) => x.id), [after.id], "after_id skips the recalled id");
    assert.equal(a1.connected && a2.connected && b1.connected, true, "nobody is disconnected");
  });

  test("a deleted message, and an id that never existed: 消息不存在或已被删除; nothing broadcast", async () => {
    const a = await newUser();
    const b = await newUser();
    const a1 = await connect(a.session);
    const b1 = await connect(b.session);
    const m = await say(a1);
    assert.deepEqual(await deleteMessage(a1, m.id), { success: true });
    await assertDeletedEverywhere([a1, b1], m.id, a.username);
    assertRefused(await deleteMessage(a1, m.id), NOT_FOUND, "deleting it again");
    assertRefused(await deleteMessage(a1, m.id + 1_000_000_000), NOT_FOUND, "an id never issued");
    assertRefused(await deleteMessage(a1, 0), NOT_FOUND, "id 0");
    assertRefused(await deleteMessage(a1, -1), NOT_FOUND, "id -1");
    await b1.assertNo("message_deleted", () => true, QUIET_WINDOW, "after refused deletes");
    assert.equal(deletedEvents(b1, m.id).length, 1, "still exactly one message_deleted");
  });

  test("someone else's message: 只能撤回自己的消息 for a non-admin; nothing broadcast; the message stays", async () => {
    const a = await newUser();
    const b = await newUser();
    const a1 = await connect(a.session);
    const b1 = await connect(b.session);
    const m = await say(a1);
    assertRefused(await deleteMessage(b1, m.id), NOT_YOURS, "b deletes a's message");
    await a1.assertNo("message_deleted", () => true, QUIET_WINDOW, "after a refused delete");
    assert.deepEqual(b1.pending("message_deleted"), [], "nor on the refused socket");
    const res = await b.session.messages(`after_id=${m.id - 1}&limit=1`);
    assert.deepEqual(res.json.messages, [m], "the message is unchanged in the history");
    // the author still may
    assert.deepEqual(await deleteMessage(a1, m.id), { success: true });
    await assertDeletedEverywhere([a1, b1], m.id, a.username);
  });

  test("the id must be a JSON integer: \"5\", 5.5, null, a missing id, and a payload that is not an object are refused with the exact sentences; nothing deleted", async () => {
    const a = await newUser();
    const a1 = await connect(a.session);
    const m = await say(a1);
    for (const bad of [{ id: String(m.id) }, { id: m.id + 0.5 }, { id: null }, {}, { id: [m.id] }, { id: { id: m.id } }, { id: true }]) {
      assertRefused(await a1.emitAck("delete_message", bad), NOT_AN_INTEGER, `delete_message ${JSON.stringify(bad)}`);
    }
    for (const bad of [String(m.id), m.id, [m.id], null]) {
      assertRefused(await a1.emitAck("delete_message", bad), MALFORMED, `delete_message ${JSON.stringify(bad)}`);
    }
    assertRefused(await a1.emitAck("delete_message"), MALFORMED, "delete_message without a payload");
    await a1.assertNo("message_deleted", () => true, QUIET_WINDOW, "after malformed deletes");
    const res = await a.session.messages(`after_id=${m.id - 1}&limit=1`);
    assert.deepEqual(res.json.messages, [m], "the message is still there");
    assert.ok(a1.connected, "a malformed delete_message does not close the connection");
  });

  test("without an acknowledgement a refusal is the error event {message} to the sender alone; an accepted delete still broadcasts", async () => {
    const a = await newUser();
    const b = await newUser();
    const a1 = await connect(a.session);
    const b1 = await connect(b.session);
    const m = await say(a1);
    b1.emit("delete_message", { id: m.id });
    const err = await b1.waitFor("error");
    assert.deepEqual(err, { message: NOT_YOURS }, `error event: ${JSON.stringify(err)}`);
    b1.emit("delete_message", { id: String(m.id) });
    assert.deepEqual(await b1.waitFor("error"), { message: NOT_AN_INTEGER });
    await a1.assertNo("error", () => true, QUIET_WINDOW, "on another user's socket");
    assert.deepEqual(a1.pending("message_deleted"), []);
    a1.emit("delete_message", { id: m.id });
    await assertDeletedEverywhere([a1, b1], m.id, a.username);
    assert.deepEqual(a1.pending("error"), [], "no error for an accepted delete");
  });

  test("an image message recalled: its /uploads URL answers 404; a file another message still shows stays until that one goes too", async () => {
    const a = await newUser();
    const b = await newUser();
    const a1 = await connect(a.session);
    const b1 = await connect(b.session);
    // one image shown once
    const url = await uploadPng(a.session);
    assert.equal((await httpRequest("GET", url)).status, 200, "the upload is served");
    const ack = await a1.send({ content: url, message_type: "image" });
    assert.equal(ack.success, true, JSON.stringify(ack));
    assert.equal(ack.message.message_type, "image");
    assert.deepEqual(await deleteMessage(a1, ack.message.id), { success: true });
    await assertDeletedEverywhere([a1, b1], ack.message.id, a.username);
    const gone = await httpRequest("GET", url);
    assert.equal(gone.status, 404, `GET ${url} after the recall: ${gone.status}`);
    assert.deepEqual(JSON.parse(gone.buf.toString("utf8")), { success: false, error: "文件不存在" });

    // one image shown by two messages (two users)
    const shared = await uploadPng(a.session);
    const first = await a1.send({ content: shared, message_type: "image" });
    const second = await b1.send({ content: shared, message_type: "image" });
    assert.equal(first.success && second.success, true, `${JSON.stringify(first)} ${JSON.stringify(second)}`);
    assert.deepEqual(await deleteMessage(a1, first.message.id), { success: true });
    await assertDeletedEverywhere([a1, b1], first.message.id, a.username);
    const still = await httpRequest("GET", shared);
    assert.equal(still.status, 200, `GET ${shared} while b's message still shows it: ${still.status}`);
    assert.deepEqual(await deleteMessage(b1, second.message.id), { success: true });
    await assertDeletedEverywhere([a1, b1], second.message.id, b.username);
    assert.equal((await httpRequest("GET", shared)).status, 404, `GET ${shared} once no message shows it`);
  });

  test("offline catch-up: a page disconnected during a delete gets no replay on reconnecting, and finds it in GET /api/messages/deleted?since=<its last event's time>", async () => {
    const a = await newUser();
    const o = await newUser();
    const a1 = await connect(a.session);
    const o1 = await connect(o.session);
    const m = await say(a1);
    const seen = await o1.waitFor("new_message", (x) => x.id === m.id);
    const since = seen.timestamp; // the time of the last event the page saw
    await o1.close();

    assert.deepEqual(await deleteMessage(a1, m.id), { success: true });
    const notice = await assertDeletedEverywhere([a1], m.id, a.username);
    assert.equal(deletedEvents(o1, m.id).length, 0, "the closed page received nothing");

    const o2 = await connect(o.session);
    await o2.assertNo("message_deleted", (d) => d.id === m.id, QUIET_WINDOW, "on reconnecting: deletions are not replayed");

    const mine = (list) => list.filter((d) => d.id === m.id);
    const list = await deletedSince(o.session, since);
    assert.deepEqual(mine(list), [notice], "the deletion, with the fields of message_deleted, exactly once");
    for (const d of list) {
      assert.deepEqual(Object.keys(d).sort(), ["id", "timestamp", "username"], JSON.stringify(d));
      assert.ok(Date.parse(d.timestamp) >= Date.parse(since), `every entry is at or after since: ${JSON.stringify(d)}`);
    }
    const times = list.map((d) => Date.parse(d.timestamp));
    assert.deepEqual(times, [...times].sort((x, y) => x - y), "oldest deletion first");
    assert.deepEqual(mine(await deletedSince(o.session, notice.timestamp)), [notice], "since = the deletion's own time: included (at or after)");
    assert.deepEqual(mine(await deletedSince(o.session, inUtcPlus8(since))), [notice], "the same instant with a +08:00 offset");
    assert.deepEqual(mine(await deletedSince(o.session, undefined)), [notice], "without since: every deletion");
    const later = new Date(Date.parse(notice.timestamp) + 1).toISOString();
    assert.deepEqual(mine(await deletedSince(o.session, later)), [], `since ${later}, 1 ms after the deletion: not listed`);
    // the history agrees
    const res = await o.session.messages(`after_id=${m.id - 1}&limit=5`);
    assert.deepEqual(res.json.messages.filter((x) => x.id === m.id), [], "gone from the history");
  });

  test("GET /api/messages/deleted: since not an RFC 3339 time is 400 `since 必须是 RFC 3339 时间`; no login is 401", async () => {
    const o = await newUser();
    for (const bad of ["yesterday", "2025-13-01T00:00:00Z", "1719390000", "2025-06-26", "2025-06-26 08:00:00"]) {
      const res = await o.session.get(`/api/messages/deleted?since=${encodeURIComponent(bad)}`);
      assertError(res, 400, `since=${bad}`);
      assert.equal(res.json.error, "since 必须是 RFC 3339 时间", `since=${bad}`);
    }
    const anon = await new Session().get("/api/messages/deleted");
    assertError(anon, 401, "no login");
    assert.equal(anon.json.error, "请先登录");
  });

  test("after the window: 消息发送已超过 N 秒，无法撤回, nothing broadcast, the message stays; an admin still deletes it", { skip: NO_SHORT_WINDOW }, async () => {
    const a = await newUser();
    const b = await newUser();
    const a1 = await connect(a.session);
    const b1 = await connect(b.session);
    const late = await say(a1, "too late to recall " + randAlnum(6));
    const edge = Date.parse(late.timestamp) + RECALL_SECONDS * 1000;
    await sleep(Math.max(0, edge - Date.now()) + 1500);
    assertRefused(await deleteMessage(a1, late.id), `消息发送已超过 ${RECALL_SECONDS} 秒，无法撤回`, "a recall after the window");
    await b1.assertNo("message_deleted", () => true, QUIET_WINDOW, "after a refused recall");
    const res = await a.session.messages(`after_id=${late.id - 1}&limit=1`);
    assert.deepEqual(res.json.messages, [late], "still in the history");
    // a fresh message is still recallable: the window is per message
    const fresh = await say(a1);
    assert.deepEqual(await deleteMessage(a1, fresh.id), { success: true });
    await assertDeletedEverywhere([a1, b1], fresh.id, a.username);
    if (NO_ADMIN) return;
    const ad = await admin();
    const adc = await connect(ad.session);
    assert.deepEqual(await deleteMessage(adc, late.id), { success: true }, "an admin deletes at any time");
    await assertDeletedEverywhere([a1, b1, adc], late.id, ADMIN);
  });

  test("an admin deletes anyone's message: message_deleted names the admin on every socket; is_admin true in login and current_user", { skip: NO_ADMIN }, async () => {
    const ad = await admin();
    const cur = await ad.session.currentUser();
    assert.equal(cur.status, 200);
    assert.equal(cur.json.user.is_admin, true, `current_user of the admin: ${cur.text}`);
    const a = await newUser();
    const a1 = await connect(a.session);
    const adc = await connect(ad.session);
    const m = await say(a1);
    assert.deepEqual(await deleteMessage(adc, m.id), { success: true });
    await assertDeletedEverywhere([a1, adc], m.id, ADMIN);
    const res = await a.session.messages(`after_id=${m.id - 1}&limit=5`);
    assert.deepEqual(res.json.messages.filter((x) => x.id === m.id), []);
    const list = await deletedSince(a.session, m.timestamp);
    assert.deepEqual(list.filter((d) => d.id === m.id).map((d) => d.username), [ADMIN], "the deleter is recorded");
    // the admin's own message too, and the author cannot delete it
    const own = await say(adc);
    assertRefused(await deleteMessage(a1, own.id), NOT_YOURS, "a user deleting the admin's message");
    assert.deepEqual(await deleteMessage(adc, own.id), { success: true });
    await assertDeletedEverywhere([a1, adc], own.id, ADMIN);
  });
});

// ------------------------------------------------------------- banning ----

function ban(c, username) {
  return c.emitAck("ban_user", { username });
}
function unban(c, username) {
  return c.emitAck("unban_user", { username });
}

/** user_banned events of `c` about `username`. */
function bannedEvents(c, username) {
  return c
    .all()
    .filter((e) => e.event === "user_banned" && e.args[0] && e.args[0].username === username)
    .map((e) => e.args[0]);
}

/** Events that are not presence or messages (a broadcast unban would show here). */
const ROUTINE = new Set(["connect", "online_users", "user_joined", "user_left", "new_message", "_probe"]);
function unusual(c, mark) {
  return c.since(mark).filter((e) => !ROUTINE.has(e.event));
}

/** Asserts the user cannot log in (403) nor use an old cookie. */
async function assertBanned(v, cookies) {
  const res = await new Session().login(v.username, v.password);
  assertError(res, 403, `login of the banned ${v.username}`);
  assert.deepEqual(res.json, { success: false, error: BANNED_LOGIN });
  assert.equal(res.setCookies.filter((c) => c.name === "session" && c.value).length, 0, "a refused login sets no session");
  const wrong = await new Session().login(v.username, v.password + "x");
  assertError(wrong, 401, "a wrong password of a banned user stays 401");
  for (const cookie of cookies) {
    const cur = await new Session(cookie).currentUser();
    assertError(cur, 401, "current_user with a banned user's old cookie");
  }
}

describe(`ban_user / unban_user [${TRANSPORT}]`, { skip: NO_ADMIN }, () => {
  test("ban: every socket of the user (two sessions) disconnected within 5 s; user_banned {username, by, timestamp} exactly once on every other socket; sessions end; login 403, wrong password 401; the name stays taken; the old cookie's handshake is refused", async () => {
    const ad = await admin();
    const adc = await connect(ad.session);
    const w = await newUser();
    const wc = await connect(w.session);
    const v = await newUser();
    const second = new Session();
    assert.equal((await second.login(v.username, v.password)).status, 200);
    const cookies = [v.session.cookie, second.cookie];
    const v1 = await connect(v.session);
    const v2 = await connect(v.session);
    const v3 = await connect(second);
    await wc.waitFor("online_users", (d) => d.users.includes(v.username));
    const wMark = wc.mark();

    const started = Date.now();
    const ack = await ban(adc, v.username);
    assert.deepEqual(ack, { success: true }, `ban_user's ack: ${JSON.stringify(ack)}`);
    for (const [i, s] of [v1, v2, v3].entries()) {
      await s.waitDisconnect(Math.max(100, 5000 - (Date.now() - started)));
      assert.equal(s.connected, false);
      assert.equal(s.disconnectReason, "io server disconnect", `banned socket ${i}: disconnected by the server (as logout does), not ${s.disconnectReason}`);
      // Told why first, so that a page does not take it for a logout elsewhere.
      assert.deepEqual(s.pending("error"), [{ message: "你的账号已被封禁" }], `banned socket ${i}: the error event before the disconnect`);
    }
    const notice = await wc.peek("user_banned", (d) => d.username === v.username);
    assert.deepEqual(Object.keys(notice).sort(), ["by", "timestamp", "username"], `user_banned fields: ${JSON.stringify(notice)}`);
    assert.equal(notice.by, ADMIN);
    assertTimestamp(notice.timestamp, "user_banned.timestamp", 60 * 1000);
    assert.deepEqual(await adc.peek("user_banned", (d) => d.username === v.username), notice, "the banning admin's socket gets it too");
    await wc.waitFor("user_left", (d) => d.username === v.username, EVENT_TIMEOUT, { after: wMark - 1 });
    await sleep(QUIET_WINDOW);
    assert.equal(bannedEvents(wc, v.username).length, 1, "user_banned exactly once on another user's socket");
    assert.equal(bannedEvents(adc, v.username).length, 1, "user_banned exactly once on the admin's socket");
    for (const [i, s] of [v1, v2, v3].entries()) {
      assert.deepEqual(bannedEvents(s, v.username), [], `banned socket ${i}: user_banned goes to everyone else`);
    }
    assert.ok(wc.connected && adc.connected, "other sockets stay connected");

    await assertBanned(v, cookies);
    const again = await new Session().register(v.username, "another-password");
    assertError(again, 409, "register the banned name");
    const upper = await new Session().register(v.username.toUpperCase(), "another-password");
    assertError(upper, 409, "register the banned name in upper case");
    // The ban ended these sessions, so the old cookie is no session at all:
    // `unauthorized`, as after a logout (§4.5). (§6.8 says such a handshake is
    // refused with 你的账号已被封禁; the server sends that only to a handshake
    // whose session still exists, one that raced the ban.)
    for (const cookie of cookies) {
      const c = new Client(new Session(cookie));
      const err = await c.open().then(() => null, (e) => e);
      assert.ok(err, "a handshake with a banned user's old cookie must be refused");
      assert.equal(err.message, "unauthorized");
    }
  });

  test("unban: no broadcast; the user logs in again (200), connects and sends; the sessions the ban ended stay ended", async () => {
    const ad = await admin();
    const adc = await connect(ad.session);
    const w = await newUser();
    const wc = await connect(w.session);
    const v = await newUser();
    const oldCookie = v.session.cookie;
    const v1 = await connect(v.session);
    assert.deepEqual(await ban(adc, v.username), { success: true });
    await v1.waitDisconnect();
    await wc.peek("user_banned", (d) => d.username === v.username);
    await assertBanned(v, [oldCookie]);

    const wMark = wc.mark();
    const aMark = adc.mark();
    assert.deepEqual(await unban(adc, v.username), { success: true }, "unban_user's ack");
    await sleep(QUIET_WINDOW);
    assert.deepEqual(unusual(wc, wMark), [], "unban broadcasts nothing");
    assert.deepEqual(unusual(adc, aMark), [], "unban broadcasts nothing to the admin either");

    const back = new Session();
    const res = await back.login(v.username, v.password);
    assert.equal(res.status, 200, `login after the unban: ${res.status} ${res.text}`);
    assert.equal(res.json.user.username, v.username);
    assert.equal(res.json.user.is_admin, false);
    assert.equal((await back.currentUser()).status, 200);
    const vc = await connect(back);
    const m = await say(vc, "back after the unban");
    await wc.waitFor("new_message", (x) => x.id === m.id);
    assertError(await new Session(oldCookie).currentUser(), 401, "the cookie of before the ban stays dead");
  });

  test("refused with {success: false, error}: a non-admin, an unknown name, the admin themselves, another admin, a malformed payload; nothing broadcast, nobody disconnected", async () => {
    const ad = await admin();
    const adc = await connect(ad.session);
    const n = await newUser();
    const nc = await connect(n.session);
    const v = await newUser();
    const vc = await connect(v.session);
    const marks = new Map([adc, nc, vc].map((c) => [c, c.mark()]));

    assertRefused(await ban(nc, v.username), NOT_ADMIN, "a non-admin bans");
    assertRefused(await unban(nc, v.username), NOT_ADMIN, "a non-admin unbans");
    assertRefused(await ban(nc, randName("nobody_")), NOT_ADMIN, "a non-admin bans an unknown name");
    assertRefused(await ban(adc, randName("nobody_")), NO_SUCH_USER, "ban of an unknown name");
    assertRefused(await unban(adc, randName("nobody_")), NO_SUCH_USER, "unban of an unknown name");
    assertRefused(await ban(adc, v.username.toUpperCase()), NO_SUCH_USER, "ban of the name in another case (exact names, as login)");
    assertRefused(await ban(adc, ADMIN), NOT_YOURSELF, "an admin bans themselves");
    if (ADMIN2) {
      await account(ADMIN2, ADMIN_PASSWORD); // the other admin exists
      assertRefused(await ban(adc, ADMIN2), NOT_AN_ADMIN_TARGET, "an admin bans another admin");
      const res = await new Session().login(ADMIN2, ADMIN_PASSWORD);
      assert.equal(res.status, 200, `the other admin still logs in: ${res.status} ${res.text}`);
    }
    for (const bad of [{ username: 5 }, {}, { username: null }, { username: "" }, { username: [v.username] }]) {
      assertRefused(await adc.emitAck("ban_user", bad), BAN_NAME, `ban_user ${JSON.stringify(bad)}`);
      assertRefused(await adc.emitAck("unban_user", bad), BAN_NAME, `unban_user ${JSON.stringify(bad)}`);
    }
    for (const bad of [v.username, [v.username], null, 5]) {
      assertRefused(await adc.emitAck("ban_user", bad), BAN_MALFORMED, `ban_user ${JSON.stringify(bad)}`);
    }
    assertRefused(await adc.emitAck("ban_user"), BAN_MALFORMED, "ban_user without a payload");
    // without a callback: the error event, to the sender alone
    nc.emit("ban_user", { username: v.username });
    assert.deepEqual(await nc.waitFor("error"), { message: NOT_ADMIN }, "a refused ban_user without a callback");
    await sleep(QUIET_WINDOW);
    for (const [c, mark] of marks) {
      const odd = unusual(c, mark).filter((e) => !(c === nc && e.event === "error"));
      assert.deepEqual(odd, [], "nothing broadcast, no error event but the refused sender's");
      assert.ok(c.connected, "nobody disconnected");
    }
    const res = await new Session().login(v.username, v.password);
    assert.equal(res.status, 200, `the user a non-admin tried to ban still logs in: ${res.status} ${res.text}`);
    const self = await new Session().login(ADMIN, ADMIN_PASSWORD);
    assert.equal(self.status, 200, "the admin still logs in");

    // a non-admin cannot lift an admin's ban either
    assert.deepEqual(await ban(adc, v.username), { success: true });
    await vc.waitDisconnect();
    assertRefused(await unban(nc, v.username), NOT_ADMIN, "a non-admin unbans a banned user");
    await assertBanned(v, []);
    assert.deepEqual(await unban(adc, v.username), { success: true });
  });

  test("ban of a banned user and unban of a user not banned: {success: true}, nothing changes (no second user_banned)", async () => {
    const ad = await admin();
    const adc = await connect(ad.session);
    const w = await newUser();
    const wc = await connect(w.session);
    const v = await newUser();
    const v1 = await connect(v.session);
    assert.deepEqual(await ban(adc, v.username), { success: true });
    await v1.waitDisconnect();
    await wc.peek("user_banned", (d) => d.username === v.username);
    const mark = wc.mark();
    assert.deepEqual(await ban(adc, v.username), { success: true }, "banning again");
    await sleep(QUIET_WINDOW);
    assert.deepEqual(unusual(wc, mark), [], "no second user_banned");
    assert.equal(bannedEvents(wc, v.username).length, 1);
    await assertBanned(v, []);
    assert.deepEqual(await unban(adc, v.username), { success: true });
    assert.deepEqual(await unban(adc, v.username), { success: true }, "unbanning again");
    assert.equal((await new Session().login(v.username, v.password)).status, 200);

    // unban of someone never banned: their session and socket stay
    const u = await newUser();
    const uc = await connect(u.session);
    const uMark = wc.mark();
    assert.deepEqual(await unban(adc, u.username), { success: true }, "unban of a user not banned");
    await sleep(QUIET_WINDOW);
    assert.ok(uc.connected, "their socket stays");
    assert.equal((await u.session.currentUser()).status, 200, "their session stays");
    assert.deepEqual(unusual(wc, uMark), [], "nothing broadcast");
    await say(uc);
  });
});
