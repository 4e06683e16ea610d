// Several chat-server nodes on one PostgreSQL and one Redis behave as one
// room (PROTOCOL.md, crates/chat-server/src/cluster). Run by
// scripts/test-cluster.sh, which starts the nodes; the tests run in file order
// and the last two are destructive: one SIGKILLs the last node, the other
// stops and restarts Redis.

import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import {
  URLS, PIDS, A, B, C, NODE_NAME, EVENT_TIMEOUT, QUIET, sleep, until, Browser, newUser, openTab,
  refusedTab, PNG, healthz, orderProblem, duplicates, randName,
} from "./lib.mjs";

const REDIS_CLI = (process.env.REDIS_CLI || "redis-cli -h 127.0.0.1 -p 6379").split(/\s+/);
const REDIS_START =
  process.env.REDIS_START ||
  'redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log';

/** Tabs opened by one test, closed when it ends. */
function tabsOf(t) {
  const tabs = [];
  t.after(() => tabs.forEach((x) => x.close()));
  return {
    async open(base, cookie, transport = "websocket", label) {
      const tab = await openTab(base, cookie, transport, label);
      tabs.push(tab);
      return tab;
    },
  };
}

const sorted = (xs) => [...xs].sort();
const same = (a, b) => JSON.stringify(sorted(a)) === JSON.stringify(sorted(b));

/** Waits until the latest online_users of every tab is exactly `names`. */
async function roomIs(tabs, names, timeout = EVENT_TIMEOUT) {
  for (const tab of tabs) {
    await until(
      () => `online_users on ${tab.label} to be exactly ${JSON.stringify(sorted(names))}, last: ${JSON.stringify(tab.last("online_users"))}`,
      () => {
        const l = tab.last("online_users");
        return l && l.count === names.length && same(l.users, names);
      },
      timeout,
    );
  }
}

/** Waits for every tab to have received every id; checks once-only and id order. */
async function allReceived(tabs, ids, from = new Map(), timeout = EVENT_TIMEOUT) {
  const want = new Set(ids);
  for (const tab of tabs) {
    await until(
      () => {
        const got = new Set(tab.messageIds(from.get(tab) || 0));
        const missing = [...want].filter((id) => !got.has(id));
        return `${missing.length} of ${want.size} messages on ${tab.label} (missing ids ${missing.slice(0, 20).join(",")})`;
      },
      () => {
        const got = new Set(tab.messageIds(from.get(tab) || 0));
        return [...want].every((id) => got.has(id));
      },
      timeout,
    );
  }
  await sleep(QUIET / 2); // let duplicates show up
  for (const tab of tabs) {
    const got = tab.messageIds(from.get(tab) || 0);
    assert.deepEqual(duplicates(got), [], `${tab.label} received these ids more than once`);
    assert.equal(orderProblem(got), null, `${tab.label}: new_message not in increasing id order: ${got.join(",")}`);
    assert.deepEqual(sorted(got.filter((id) => !want.has(id))), [], `${tab.label} received ids nobody acked`);
  }
}

test("/healthz of each node is 200 with \"redis\":\"ok\"", async () => {
  for (const url of URLS) {
    const h = await healthz(url);
    assert.equal(h.status, 200, `node ${NODE_NAME[url]} /healthz: ${h.status} ${h.text}`);
    assert.equal(h.json.redis, "ok", `node ${NODE_NAME[url]}: ${h.text}`);
    assert.equal(h.json.database, "ok", `node ${NODE_NAME[url]}: ${h.text}`);
  }
  const ids = await Promise.all(URLS.map(async (u) => (await healthz(u)).json.node));
  assert.equal(new Set(ids).size, URLS.length, `every node has its own id: ${ids}`);
});

test("clients on different nodes exchange messages: every socket gets every message once, in id order", async (t) => {
  const tabs = tabsOf(t);
  const senders = [];
  const transports = ["websocket", "polling", "websocket"];
  for (const [i, url] of [A, B, C].entries()) {
    const u = await newUser(url, "snd_");
    senders.push(await tabs.open(url, u.browser.cookie, transports[i], `sender@${NODE_NAME[url]}`));
  }
  // A listener with a tab on every node, each on another transport.
  const l = await newUser(B, "lst_");
  const listeners = [
    await tabs.open(A, l.browser.cookie, "polling", "listener@A/polling"),
    await tabs.open(B, l.browser.cookie, "websocket", "listener@B/websocket"),
    await tabs.open(C, l.browser.cookie, "polling", "listener@C/polling"),
  ];
  const everyone = [...senders, ...listeners];
  await sleep(300);

  const PER_SENDER = 15; // under the flood limit of 20 per user
  const acks = await Promise.all(
    senders.map(async (s, i) => {
      const out = [];
      // bursts of 5 in flight at a time, every sender at once
      for (let burst = 0; burst < PER_SENDER / 5; burst++) {
        const batch = await Promise.all(
          Array.from({ length: 5 }, (_, k) => s.send(`m ${i}-${burst * 5 + k} from ${s.label}`)),
        );
        out.push(...batch);
      }
      return out;
    }),
  );
  const ids = [];
  for (const list of acks) {
    for (const ack of list) {
      assert.equal(ack.success, true, `ack: ${JSON.stringify(ack)}`);
      ids.push(ack.message.id);
    }
  }
  assert.equal(new Set(ids).size, 3 * PER_SENDER, "acked ids are distinct");
  await allReceived(everyone, ids);
  // the broadcast copy equals the acked message
  const byId = new Map(acks.flat().map((a) => [a.message.id, a.message]));
  for (const m of listeners[2].all("new_message")) assert.deepEqual(m, byId.get(m.id));
});

test("presence across nodes counts users, not sockets or nodes", async (t) => {
  const tabs = tabsOf(t);
  const obs = [];
  for (const url of [A, B, C]) {
    const u = await newUser(url, "obs_");
    obs.push({ ...u, tab: await tabs.open(url, u.browser.cookie, "websocket", `observer@${NODE_NAME[url]}`) });
  }
  const room = obs.map((o) => o.username);
  const observers = obs.map((o) => o.tab);
  await roomIs(observers, room);

  const u = await newUser(A, "two_");
  const marks = observers.map((o) => o.mark());
  const tab1 = await openTab(A, u.browser.cookie, "websocket", "user tab1@A");
  t.after(() => tab1.close());
  const withU = [...room, u.username];
  for (const [i, o] of observers.entries()) {
    const joined = await o.waitFor("user_joined", (d) => d.username === u.username, marks[i]);
    assert.equal(joined.online_count, withU.length, `user_joined.online_count on ${o.label}: ${JSON.stringify(joined)}`);
  }
  await roomIs([...observers, tab1], withU);

  // a second tab on another node: one user, nothing announced
  const tab2 = await openTab(B, u.browser.cookie, "polling", "user tab2@B");
  t.after(() => tab2.close());
  const first = tab2.all("online_users")[0];
  assert.ok(same(first.users, withU) && first.count === withU.length,
    `the second tab's own online_users is the whole room's: ${JSON.stringify(first)}, want ${JSON.stringify(sorted(withU))}`);
  await sleep(QUIET);
  for (const [i, o] of observers.entries()) {
    assert.equal(o.all("user_joined", (d) => d.username === u.username, marks[i]).length, 1,
      `${o.label}: user_joined for ${u.username} exactly once (two tabs on two nodes are one user)`);
    const l = o.last("online_users");
    assert.equal(l.count, withU.length, `${o.label}: online_users counts users: ${JSON.stringify(l)}`);
  }

  // closing one tab announces nothing
  tab1.close();
  await sleep(QUIET * 1.5);
  for (const [i, o] of observers.entries()) {
    assert.deepEqual(o.all("user_left", (d) => d.username === u.username, marks[i]), [],
      `${o.label}: no user_left while ${u.username} still has a tab on node B`);
    assert.ok(o.last("online_users").users.includes(u.username), `${o.label}: still listed`);
  }

  // the last socket anywhere: user_left once, on every node
  tab2.close();
  for (const [i, o] of observers.entries()) {
    const left = await o.waitFor("user_left", (d) => d.username === u.username, marks[i]);
    assert.equal(left.online_count, room.length, `${o.label}: user_left.online_count: ${JSON.stringify(left)}`);
  }
  await roomIs(observers, room);
  await sleep(QUIET / 2);
  for (const [i, o] of observers.entries()) {
    assert.equal(o.all("user_left", (d) => d.username === u.username, marks[i]).length, 1, `${o.label}: user_left once`);
  }
});

test("sessions are shared: a cookie from node A works on B and C; logout on A disconnects that session's sockets everywhere, not another session's", async (t) => {
  const tabs = tabsOf(t);
  const u = await newUser(A, "ses_");
  const s1 = u.browser;
  for (const url of [B, C]) {
    const r = await s1.currentUser(url);
    assert.equal(r.status, 200, `current_user on node ${NODE_NAME[url]} with node A's cookie: ${r.status} ${r.buf}`);
    assert.equal(r.json.user.username, u.username);
  }
  // a second session of the same user, logged in on node C
  const s2 = new Browser();
  const login = await s2.login(C, u.username, u.password);
  assert.equal(login.status, 200, `login on C: ${login.status} ${login.buf}`);
  assert.notEqual(s2.cookie, s1.cookie, "a login issues a fresh session id");

  const watcher = await newUser(B, "wat_");
  const w = await tabs.open(B, watcher.browser.cookie, "websocket", "watcher@B");
  const s1B = await tabs.open(B, s1.cookie, "websocket", "session1@B");
  const s1C = await tabs.open(C, s1.cookie, "polling", "session1@C/polling");
  const s2A = await tabs.open(A, s2.cookie, "websocket", "session2@A");
  const s2B = await tabs.open(B, s2.cookie, "polling", "session2@B/polling");
  await roomIs([w, s1B, s1C, s2A, s2B], [watcher.username, u.username]);
  const wMark = w.mark();
  const cookie1 = s1.cookie;

  const out = await s1.logout(A);
  assert.equal(out.status, 200, `logout on A: ${out.status} ${out.buf}`);
  for (const tab of [s1B, s1C]) {
    const reason = await tab.waitFor("disconnect", () => true, 0);
    assert.equal(reason, "io server disconnect", `${tab.label} was disconnected by the server`);
  }
  await sleep(QUIET);
  for (const tab of [s2A, s2B, w]) {
    assert.ok(tab.connected, `${tab.label} (another session) stays connected; events: ${tab.events.map((e) => e.ev)}`);
  }
  assert.deepEqual(w.all("user_left", (d) => d.username === u.username, wMark), [],
    "the user still has the other session's sockets: no user_left");

  // the other session still talks across nodes
  const before = new Map([s2A, s2B, w].map((x) => [x, x.mark()]));
  const ack = await s2B.send("still here after the other session's logout");
  assert.equal(ack.success, true, JSON.stringify(ack));
  await allReceived([s2A, s2B, w], [ack.message.id], before);

  // the destroyed session is refused everywhere
  const dead = new Browser(cookie1);
  for (const url of URLS) {
    const r = await dead.currentUser(url);
    assert.equal(r.status, 401, `node ${NODE_NAME[url]}: current_user with the logged-out cookie: ${r.status} ${r.buf}`);
  }
  const refused = await refusedTab(C, dead.cookie, "websocket");
  assert.equal(refused.data.message, "unauthorized", `connect_error: ${JSON.stringify(refused.data)}`);
  const s2Check = await s2.currentUser(B);
  assert.equal(s2Check.status, 200, "the other session is still logged in");
});

test("the flood limit counts across nodes: 20 accepted in 10 s over the user's sockets on A and B, the 21st refused", async (t) => {
  const tabs = tabsOf(t);
  const u = await newUser(A, "fld_");
  const onA = await tabs.open(A, u.browser.cookie, "websocket", "flooder@A");
  const onB = await tabs.open(B, u.browser.cookie, "websocket", "flooder@B");
  const started = Date.now();
  // 10 from each node, interleaved, all in flight together
  const first = await Promise.all(
    Array.from({ length: 20 }, (_, i) => (i % 2 ? onB : onA).send(`flood ${i}`)),
  );
  const refusedEarly = first.filter((a) => !a.success);
  assert.deepEqual(refusedEarly, [], "the first 20 are accepted");
  const onA21 = await onA.send("21st via A");
  const onB21 = await onB.send("21st via B");
  const elapsed = Date.now() - started;
  assert.ok(elapsed < 9000, `the 22 sends took ${elapsed} ms: too slow to judge a 10 s window`);
  assert.equal(onA21.success, false, `the 21st message (node A) must be refused: ${JSON.stringify(onA21)}`);
  assert.equal(onB21.success, false, `the 21st message (node B) must be refused: ${JSON.stringify(onB21)}`);
  assert.equal(typeof onA21.error, "string");
  // and another user is not affected
  const other = await newUser(C, "fok_");
  const c = await tabs.open(C, other.browser.cookie, "websocket", "other@C");
  const ok = await c.send("someone else");
  assert.equal(ok.success, true, JSON.stringify(ok));
});

test("the login lockout counts across nodes: 5 failures spread over A, B, C lock the 6th attempt on any node (429)", async () => {
  const u = await newUser(A, "lck_");
  const b = new Browser();
  for (const [i, url] of [A, B, C, A, B].entries()) {
    const r = await b.login(url, u.username, "wrong-password-" + i);
    assert.equal(r.status, 401, `failure ${i + 1} on node ${NODE_NAME[url]}: ${r.status} ${r.buf}`);
  }
  for (const url of [C, A, B]) {
    const r = await b.login(url, u.username, u.password);
    assert.equal(r.status, 429, `the right password after 5 failures, on node ${NODE_NAME[url]}: ${r.status} ${r.buf}`);
    assert.equal(r.json.success, false);
    assert.equal(typeof r.json.error, "string");
  }
  // another name is not locked
  const v = await newUser(B, "lcv_");
  const r = await new Browser().login(C, v.username, v.password);
  assert.equal(r.status, 200, `another user logs in: ${r.status} ${r.buf}`);
});

test("the limits count across nodes: 20 sockets of one user over A, B, C refuse the 21st on any node; 20 uploads refuse the 21st", async (t) => {
  const tabs = tabsOf(t);
  const u = await newUser(A, "lim_");
  const nodes = [A, B, C];
  for (let i = 0; i < 20; i++) {
    await tabs.open(nodes[i % 3], u.browser.cookie, "websocket", `lim${i}@${NODE_NAME[nodes[i % 3]]}`);
  }
  for (const url of nodes) {
    const { data } = await refusedTab(url, u.browser.cookie);
    assert.match(String(data && data.message), /^同时打开的窗口太多/, `21st socket on node ${NODE_NAME[url]}: ${JSON.stringify(data)}`);
  }
  for (let i = 0; i < 20; i++) {
    const up = await u.browser.upload(nodes[i % 3], PNG);
    assert.equal(up.status, 200, `upload ${i + 1} on node ${NODE_NAME[nodes[i % 3]]}: ${up.status} ${up.buf}`);
  }
  for (const url of nodes) {
    const up = await u.browser.upload(url, PNG);
    assert.equal(up.status, 429, `21st upload on node ${NODE_NAME[url]}: ${up.status} ${up.buf}`);
    assert.match(String(up.headers.get("retry-after")), /^\d+$/, "Retry-After in seconds");
  }
});

test("uploads: an image uploaded through node A is served by B and C and can be sent from a socket on B", async (t) => {
  const tabs = tabsOf(t);
  const u = await newUser(A, "upl_");
  const up = await u.browser.upload(A, PNG);
  assert.equal(up.status, 200, `upload on A: ${up.status} ${up.buf}`);
  const url = up.json.url;
  assert.match(url, /^\/uploads\/[^/]+$/);
  for (const node of [B, C]) {
    const res = await fetch(node + url);
    const body = Buffer.from(await res.arrayBuffer());
    assert.equal(res.status, 200, `GET ${url} on node ${NODE_NAME[node]}: ${res.status}`);
    assert.ok(body.equals(PNG), `node ${NODE_NAME[node]} serves the same bytes`);
    assert.equal(res.headers.get("content-type"), "image/png");
    assert.equal(res.headers.get("x-content-type-options"), "nosniff");
  }
  const v = await newUser(C, "upv_");
  const viewer = await tabs.open(C, v.browser.cookie, "websocket", "viewer@C");
  const mark = viewer.mark();
  const sender = await tabs.open(B, u.browser.cookie, "polling", "uploader@B/polling");
  const ack = await sender.send(url, "image");
  assert.equal(ack.success, true, `an image uploaded on A sent from B: ${JSON.stringify(ack)}`);
  assert.equal(ack.message.message_type, "image");
  assert.equal(ack.message.content, url);
  const seen = await viewer.waitFor("new_message", (m) => m.id === ack.message.id, mark);
  assert.deepEqual(seen, ack.message);
  const bogus = await sender.send("/uploads/never-issued.png", "image");
  assert.equal(bogus.success, false, "an image name no node issued is refused");
});

// ---------------------------------------------------------- moderation ----
// PROTOCOL.md §6.6, §6.7 and "Banning" across nodes. run.py names the admins
// in every node's ADMIN_USERS and passes them here, with chat-admin and the
// nodes' database.

const ADMIN = process.env.CLUSTER_ADMIN || "";
const ADMIN_PASSWORD = process.env.CLUSTER_ADMIN_PASSWORD || "";
const ADMIN_USERS = [ADMIN, process.env.CLUSTER_ADMIN2 || ""].filter(Boolean).join(",");
const CHAT_ADMIN_BIN = process.env.CHAT_ADMIN_BIN || "";
const CHAT_DATABASE_URL = process.env.CHAT_DATABASE_URL || "";
const NO_ADMIN = !(ADMIN && ADMIN_PASSWORD) && "CLUSTER_ADMIN / CLUSTER_ADMIN_PASSWORD not set (tests/cluster/run.py sets them and names the admins in ADMIN_USERS)";
const NO_CHAT_ADMIN =
  NO_ADMIN || (!(CHAT_ADMIN_BIN && CHAT_DATABASE_URL) && "CHAT_ADMIN_BIN and CHAT_DATABASE_URL not set (tests/cluster/run.py sets them when target/debug/chat-admin is built)");
/** chat-admin's commands reach every running node within 10 s. */
const ADMIN_CMD_DEADLINE = 10000;

/** The admin's browser: registered through `base` the first time, logged in afterwards. */
async function adminBrowser(base) {
  const b = new Browser();
  let r = await b.register(base, ADMIN, ADMIN_PASSWORD);
  if (r.status === 409) r = await b.login(base, ADMIN, ADMIN_PASSWORD);
  assert.ok(r.status === 200 || r.status === 201, `register/login ${ADMIN} on node ${NODE_NAME[base]}: ${r.status} ${r.buf}`);
  assert.equal(r.json.user.is_admin, true, `${ADMIN} is an admin on node ${NODE_NAME[base]}: ${r.buf}`);
  return b;
}

function emitAck(tab, event, payload) {
  return tab.socket.timeout(EVENT_TIMEOUT).emitWithAck(event, payload);
}

/**
 * Waits for `ev` matching `pred` on every tab (from its mark), checks that all
 * got the same payload, then after a quiet second that each got it exactly once.
 */
async function onceEverywhere(tabs, ev, pred, marks, timeout = EVENT_TIMEOUT) {
  const started = Date.now();
  const got = [];
  for (const tab of tabs) {
    got.push(await tab.waitFor(ev, pred, marks.get(tab) || 0, Math.max(100, timeout - (Date.now() - started))));
  }
  for (const [i, d] of got.entries()) assert.deepEqual(d, got[0], `${tabs[i].label}: the same ${ev} as ${tabs[0].label}`);
  await sleep(QUIET);
  for (const tab of tabs) {
    const n = tab.all(ev, pred, marks.get(tab) || 0).length;
    assert.equal(n, 1, `${tab.label}: ${ev} exactly once, got ${n}: ${JSON.stringify(tab.all(ev, pred, marks.get(tab) || 0))}`);
  }
  return got[0];
}

function assertDeletedNotice(d, id, username) {
  assert.deepEqual(Object.keys(d).sort(), ["id", "timestamp", "username"], `message_deleted fields: ${JSON.stringify(d)}`);
  assert.equal(d.id, id);
  assert.equal(d.username, username, `message_deleted.username: ${JSON.stringify(d)}`);
  assert.ok(Math.abs(Date.now() - Date.parse(d.timestamp)) < 60000, `message_deleted.timestamp ${d.timestamp}`);
}

function assertBannedNotice(d, username, by) {
  assert.deepEqual(Object.keys(d).sort(), ["by", "timestamp", "username"], `user_banned fields: ${JSON.stringify(d)}`);
  assert.equal(d.username, username);
  if (by !== undefined) assert.equal(d.by, by, `user_banned.by: ${JSON.stringify(d)}`);
  assert.equal(typeof d.by, "string");
  assert.ok(Math.abs(Date.now() - Date.parse(d.timestamp)) < 60000, `user_banned.timestamp ${d.timestamp}`);
}

/** Message ids among `ids` that GET /api/messages on `base` still shows. */
async function visibleOn(base, browser, ids) {
  const r = await browser.request(base, "GET", `/api/messages?after_id=${Math.min(...ids) - 1}&limit=200`);
  assert.equal(r.status, 200, `GET /api/messages on node ${NODE_NAME[base]}: ${r.status} ${r.buf}`);
  return r.json.messages.map((m) => m.id).filter((id) => ids.includes(id));
}

/** The login of a banned user on every node: 403 with the right password (401 with a wrong one on A). */
async function assertBannedEverywhere(u, oldCookies) {
  for (const url of URLS) {
    const r = await new Browser().login(url, u.username, u.password);
    assert.equal(r.status, 403, `login of the banned ${u.username} on node ${NODE_NAME[url]}: ${r.status} ${r.buf}`);
    assert.deepEqual(Object.keys(r.json).sort(), ["error", "success"], `${r.buf}`);
    assert.equal(r.json.success, false);
    assert.equal(typeof r.json.error, "string");
    if (url === A) {
      // once: with the three 403s that makes four attempts, under the lockout's five
      const wrong = await new Browser().login(url, u.username, u.password + "x");
      assert.equal(wrong.status, 401, `a wrong password of a banned user on node ${NODE_NAME[url]}: ${wrong.status} ${wrong.buf}`);
    }
    for (const cookie of oldCookies) {
      const cur = await new Browser(cookie).currentUser(url);
      assert.equal(cur.status, 401, `current_user with the banned user's old cookie on node ${NODE_NAME[url]}: ${cur.status} ${cur.buf}`);
    }
  }
}

/** Runs chat-admin with the nodes' database (and upload folder); resolves {status, stdout, stderr}. */
function chatAdmin(args, input) {
  return new Promise((resolve, reject) => {
    const child = spawn(CHAT_ADMIN_BIN, args, {
      env: {
        ...process.env,
        DATABASE_URL: CHAT_DATABASE_URL,
        ADMIN_USERS,
        ...(process.env.CHAT_UPLOAD_DIR ? { UPLOAD_DIR: process.env.CHAT_UPLOAD_DIR } : {}),
      },
      stdio: ["pipe", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), 60000);
    child.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on("close", (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
    child.stdin.end(input ?? "");
  });
}

function assertCommandOk(r, what) {
  assert.equal(r.status, 0, `chat-admin ${what}: exit ${r.status}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  const lines = r.stdout.split("\n").filter((l) => l.trim());
  assert.equal(lines.length, 1, `chat-admin ${what} prints one sentence: ${JSON.stringify(r.stdout)}`);
}

test("delete_message on node A reaches sockets on B and C: message_deleted exactly once on every socket, gone from the history of every node; an admin on C deletes a message sent through B", { skip: NO_ADMIN }, async (t) => {
  const tabs = tabsOf(t);
  const author = await newUser(A, "del_");
  const watcher = await newUser(B, "dlw_");
  const aA = await tabs.open(A, author.browser.cookie, "websocket", "author@A");
  const aC = await tabs.open(C, author.browser.cookie, "polling", "author@C/polling");
  const wB = await tabs.open(B, watcher.browser.cookie, "polling", "watcher@B/polling");
  const wC = await tabs.open(C, watcher.browser.cookie, "websocket", "watcher@C");
  const everyone = [aA, aC, wB, wC];
  const marks = new Map(everyone.map((x) => [x, x.mark()]));

  const sent = await aA.send("recalled across nodes");
  assert.equal(sent.success, true, JSON.stringify(sent));
  const id = sent.message.id;
  await allReceived(everyone, [id], marks);
  const ack = await emitAck(aA, "delete_message", { id });
  assert.deepEqual(ack, { success: true }, `the recall on node A: ${JSON.stringify(ack)}`);
  const notice = await onceEverywhere(everyone, "message_deleted", (d) => d.id === id, marks);
  assertDeletedNotice(notice, id, author.username);
  for (const url of URLS) {
    assert.deepEqual(await visibleOn(url, watcher.browser, [id]), [], `node ${NODE_NAME[url]} no longer shows message ${id}`);
  }

  // an admin's socket on C deletes what the watcher sent through B
  const admin = await adminBrowser(C);
  const adC = await tabs.open(C, admin.cookie, "websocket", "admin@C");
  const all = [...everyone, adC];
  const marks2 = new Map(all.map((x) => [x, x.mark()]));
  const other = await wB.send("deleted by an admin on another node");
  assert.equal(other.success, true, JSON.stringify(other));
  await allReceived(all, [other.message.id], marks2);
  assert.deepEqual(await emitAck(adC, "delete_message", { id: other.message.id }), { success: true });
  const notice2 = await onceEverywhere(all, "message_deleted", (d) => d.id === other.message.id, marks2);
  assertDeletedNotice(notice2, other.message.id, ADMIN);
  // a page that was away asks any node
  for (const url of URLS) {
    const r = await watcher.browser.request(url, "GET", `/api/messages/deleted?since=${encodeURIComponent(sent.message.timestamp)}`);
    assert.equal(r.status, 200, `GET /api/messages/deleted on node ${NODE_NAME[url]}: ${r.status} ${r.buf}`);
    const mine = r.json.deleted.filter((d) => d.id === id || d.id === other.message.id);
    assert.deepEqual(mine, [notice, notice2], `node ${NODE_NAME[url]} lists both deletions, oldest first`);
  }
});

test("ban on node A disconnects the user's sockets on B and C within 5 s; user_banned once on every node; login 403 on every node; unban lets them log in", { skip: NO_ADMIN }, async (t) => {
  const tabs = tabsOf(t);
  const admin = await adminBrowser(A);
  const adA = await tabs.open(A, admin.cookie, "websocket", "admin@A");
  const v = await newUser(B, "ban_");
  const second = new Browser();
  assert.equal((await second.login(C, v.username, v.password)).status, 200, "a second session of the victim, on C");
  const oldCookies = [v.browser.cookie, second.cookie];
  const vB = await tabs.open(B, v.browser.cookie, "websocket", "victim@B");
  const vC = await tabs.open(C, second.cookie, "polling", "victim@C/polling");
  const w = await newUser(C, "bnw_");
  const watchers = [
    await tabs.open(A, w.browser.cookie, "polling", "watcher@A/polling"),
    await tabs.open(B, w.browser.cookie, "websocket", "watcher@B"),
    await tabs.open(C, w.browser.cookie, "websocket", "watcher@C"),
  ];
  await roomIs([...watchers, adA, vB, vC], [ADMIN, v.username, w.username]);
  const others = [...watchers, adA];
  const marks = new Map(others.map((x) => [x, x.mark()]));

  const started = Date.now();
  const ack = await emitAck(adA, "ban_user", { username: v.username });
  assert.deepEqual(ack, { success: true }, `ban_user on A: ${JSON.stringify(ack)}`);
  for (const tab of [vB, vC]) {
    const reason = await tab.waitFor("disconnect", () => true, 0, Math.max(100, 5000 - (Date.now() - started)));
    assert.equal(reason, "io server disconnect", `${tab.label} disconnected by the server`);
  }
  t.diagnostic(`the banned user's sockets on B and C closed ${Date.now() - started} ms after ban_user`);
  const notice = await onceEverywhere(others, "user_banned", (d) => d.username === v.username, marks);
  assertBannedNotice(notice, v.username, ADMIN);
  for (const tab of [vB, vC]) assert.deepEqual(tab.all("user_banned"), [], `${tab.label}: user_banned goes to everyone else`);
  for (const tab of watchers) await tab.waitFor("user_left", (d) => d.username === v.username, marks.get(tab));
  await roomIs(others, [ADMIN, w.username]);

  await assertBannedEverywhere(v, oldCookies);
  const taken = await new Browser().register(B, v.username, "another-password");
  assert.equal(taken.status, 409, `register the banned name on B: ${taken.status} ${taken.buf}`);
  for (const [i, url] of [A, B, C].entries()) {
    const refused = await refusedTab(url, oldCookies[i % 2], i % 2 ? "polling" : "websocket");
    assert.equal(refused.data.message, "unauthorized", `node ${NODE_NAME[url]}: the old cookie's handshake: ${JSON.stringify(refused.data)}`);
  }

  // unban through node B: nothing broadcast, the user logs in anywhere
  const adB = await tabs.open(B, admin.cookie, "polling", "admin@B/polling");
  const quiet = new Map(others.map((x) => [x, x.mark()]));
  assert.deepEqual(await emitAck(adB, "unban_user", { username: v.username }), { success: true }, "unban_user on B");
  await sleep(QUIET);
  const routine = new Set(["online_users", "user_joined", "user_left", "new_message", "_probe"]);
  for (const tab of others) {
    const odd = tab.events.slice(quiet.get(tab)).filter((e) => !routine.has(e.ev));
    assert.deepEqual(odd, [], `${tab.label}: unban broadcasts nothing`);
  }
  for (const url of URLS) {
    const r = await new Browser().login(url, v.username, v.password);
    assert.equal(r.status, 200, `login after the unban on node ${NODE_NAME[url]}: ${r.status} ${r.buf}`);
  }
  const back = new Browser();
  assert.equal((await back.login(C, v.username, v.password)).status, 200);
  const vA = await tabs.open(A, back.cookie, "websocket", "victim again@A");
  const m = await vA.send("back after the unban");
  assert.equal(m.success, true, JSON.stringify(m));
  await allReceived(watchers, [m.message.id], marks);
  for (const cookie of oldCookies) {
    assert.equal((await new Browser(cookie).currentUser(B)).status, 401, "the sessions the ban ended stay ended");
  }
});

test("chat-admin ban/delete-message against the running cluster (PostgreSQL) reaches sockets on every node within 10 s", { skip: NO_CHAT_ADMIN }, async (t) => {
  const tabs = tabsOf(t);
  await adminBrowser(A); // the default deleter of delete-message is the first admin: it must exist
  const v = await newUser(A, "cab_");
  const w = await newUser(B, "caw_");
  const victims = [
    await tabs.open(A, v.browser.cookie, "websocket", "victim@A"),
    await tabs.open(B, v.browser.cookie, "polling", "victim@B/polling"),
    await tabs.open(C, v.browser.cookie, "websocket", "victim@C"),
  ];
  const watchers = [
    await tabs.open(A, w.browser.cookie, "websocket", "watcher@A"),
    await tabs.open(B, w.browser.cookie, "websocket", "watcher@B"),
    await tabs.open(C, w.browser.cookie, "polling", "watcher@C/polling"),
  ];
  await roomIs([...victims, ...watchers], [v.username, w.username]);

  // delete-message: one message_deleted per socket, whichever node
  const marks = new Map([...victims, ...watchers].map((x) => [x, x.mark()]));
  const sent = await victims[1].send("deleted by chat-admin");
  assert.equal(sent.success, true, JSON.stringify(sent));
  const id = sent.message.id;
  await allReceived([...victims, ...watchers], [id], marks);
  const started = Date.now();
  assertCommandOk(await chatAdmin(["delete-message", String(id)]), `delete-message ${id}`);
  const notice = await onceEverywhere([...victims, ...watchers], "message_deleted", (d) => d.id === id, marks, ADMIN_CMD_DEADLINE);
  t.diagnostic(`message_deleted on every node ${Date.now() - started} ms after chat-admin delete-message started`);
  assertDeletedNotice(notice, id, ADMIN);
  for (const url of URLS) assert.deepEqual(await visibleOn(url, w.browser, [id]), [], `node ${NODE_NAME[url]}`);
  const missing = await chatAdmin(["delete-message", String(id + 1_000_000_000)]);
  assert.equal(missing.status, 1, `delete-message of an id never issued: exit ${missing.status} ${missing.stdout} ${missing.stderr}`);

  // ban: every socket of the user closed, user_banned once per socket of everyone else
  const wMarks = new Map(watchers.map((x) => [x, x.mark()]));
  const banAt = Date.now();
  assertCommandOk(await chatAdmin(["ban", v.username]), `ban ${v.username}`);
  for (const tab of victims) {
    const reason = await tab.waitFor("disconnect", () => true, 0, Math.max(100, ADMIN_CMD_DEADLINE - (Date.now() - banAt)));
    assert.equal(reason, "io server disconnect", `${tab.label} disconnected by the server`);
  }
  t.diagnostic(`the banned user's sockets on A, B, C closed ${Date.now() - banAt} ms after chat-admin ban started`);
  const banned = await onceEverywhere(watchers, "user_banned", (d) => d.username === v.username, wMarks, ADMIN_CMD_DEADLINE);
  assertBannedNotice(banned, v.username);
  await assertBannedEverywhere(v, [v.browser.cookie]);
  const unknown = await chatAdmin(["ban", randName("nobody_")]);
  assert.equal(unknown.status, 1, `ban of an unknown name: exit ${unknown.status} ${unknown.stdout} ${unknown.stderr}`);

  assertCommandOk(await chatAdmin(["unban", v.username]), `unban ${v.username}`);
  for (const url of URLS) {
    await until(
      `login of ${v.username} on node ${NODE_NAME[url]} after chat-admin unban`,
      async () => (await new Browser().login(url, v.username, v.password)).status === 200,
      ADMIN_CMD_DEADLINE,
      250,
    );
  }
});

test("typing: one user_typing true per user per 2 s over tabs on A and B, never to the typist's own tabs; a message sent on B ends what A started, on every node", async (t) => {
  const tabs = tabsOf(t);
  const typist = await newUser(A, "typ_");
  const own = [
    await tabs.open(A, typist.browser.cookie, "websocket", "typist@A"),
    await tabs.open(B, typist.browser.cookie, "polling", "typist@B/polling"),
  ];
  const w = await newUser(C, "wtc_");
  const watchers = [
    await tabs.open(B, w.browser.cookie, "websocket", "watcher@B"),
    await tabs.open(C, w.browser.cookie, "polling", "watcher@C/polling"),
  ];
  await sleep(300);
  const from = new Map([...own, ...watchers].map((tab) => [tab, tab.mark()]));
  const typing = { username: typist.username, typing: true };
  const stopped = { username: typist.username, typing: false };

  // Both tabs type at once, on two nodes: the room is told once.
  own[0].socket.emit("typing", { typing: true });
  own[1].socket.emit("typing", { typing: true });
  for (const tab of watchers) await tab.waitFor("user_typing", (d) => d.typing === true, from.get(tab));
  await sleep(QUIET);
  for (const tab of watchers) {
    assert.deepEqual(tab.all("user_typing", () => true, from.get(tab)), [typing], `${tab.label}: one user_typing`);
  }

  // The message goes through B; the `true` came through A or B: either way
  // every node's watchers learn that the typist stopped, once.
  const ack = await own[1].send("done typing");
  assert.equal(ack.success, true, JSON.stringify(ack));
  for (const tab of watchers) await tab.waitFor("user_typing", (d) => d.typing === false, from.get(tab));
  own[0].socket.emit("typing", { typing: false }); // told already: dropped
  await sleep(QUIET);
  for (const tab of watchers) {
    assert.deepEqual(tab.all("user_typing", () => true, from.get(tab)), [typing, stopped], `${tab.label}: true then false`);
  }
  for (const tab of own) assert.deepEqual(tab.all("user_typing", () => true, from.get(tab)), [], `${tab.label} is the typist's own`);
});

test("a node killed with SIGKILL drops out of presence within 30 s; the surviving nodes go on exchanging messages", async (t) => {
  assert.equal(PIDS.length, URLS.length, "CLUSTER_PIDS names every node");
  const victim = URLS[URLS.length - 1];
  const victimPid = PIDS[PIDS.length - 1];
  const tabs = tabsOf(t);
  const p = await newUser(A, "kpa_");
  const q = await newUser(B, "kqb_");
  const v = await newUser(victim, "kvc_"); // only on the victim
  const w = await newUser(victim, "kwb_"); // on the victim and on A
  const pA = await tabs.open(A, p.browser.cookie, "websocket", "P@A");
  const qB = await tabs.open(B, q.browser.cookie, "polling", "Q@B/polling");
  const vC = await tabs.open(victim, v.browser.cookie, "websocket", "V@victim");
  const wC = await tabs.open(victim, w.browser.cookie, "websocket", "W@victim");
  const wA = await tabs.open(A, w.browser.cookie, "websocket", "W@A");
  const all = [p, q, v, w].map((x) => x.username);
  await roomIs([pA, qB, vC, wA], all);
  const marks = new Map([pA, qB, wA].map((x) => [x, x.mark()]));

  process.kill(victimPid, "SIGKILL");
  const killedAt = Date.now();
  t.diagnostic(`SIGKILLed node ${NODE_NAME[victim]} (pid ${victimPid})`);
  for (const o of [pA, qB]) {
    await o.waitFor("user_left", (d) => d.username === v.username, marks.get(o), 30000);
  }
  t.diagnostic(`user_left for the dead node's user after ${Date.now() - killedAt} ms`);
  const survivors = [p, q, w].map((x) => x.username);
  await roomIs([pA, qB, wA], survivors, Math.max(1000, 30000 - (Date.now() - killedAt)));
  for (const o of [pA, qB, wA]) {
    assert.deepEqual(o.all("user_left", (d) => d.username === w.username, marks.get(o)), [],
      `${o.label}: no user_left for ${w.username}, who still has a tab on node A`);
  }
  for (const o of [pA, qB]) {
    const left = o.all("user_left", (d) => d.username === v.username, marks.get(o));
    assert.equal(left.length, 1, `${o.label}: user_left for ${v.username} once`);
    assert.equal(left[0].online_count, survivors.length, JSON.stringify(left[0]));
  }
  // the survivors talk on
  const a1 = await pA.send("after the kill, from A");
  const a2 = await qB.send("after the kill, from B");
  assert.equal(a1.success && a2.success, true, `${JSON.stringify(a1)} ${JSON.stringify(a2)}`);
  await allReceived([pA, qB, wA], [a1.message.id, a2.message.id], marks);
  for (const url of URLS.slice(0, -1)) {
    const h = await healthz(url);
    assert.equal(h.status, 200, `survivor ${NODE_NAME[url]} /healthz: ${h.text}`);
  }
});

function redisCli(...args) {
  return spawnSync(REDIS_CLI[0], [...REDIS_CLI.slice(1), ...args], { encoding: "utf8", timeout: 10000 });
}
const redisUp = () => redisCli("ping").stdout.trim() === "PONG";

test("without Redis /healthz is 503 naming Redis and each node serves its own sockets; when Redis returns the nodes rejoin", async (t) => {
  const live = URLS.slice(0, -1); // the last node was killed by the test before
  assert.ok(live.length >= 2, "two live nodes");
  const [X, Y] = live;
  const tabs = tabsOf(t);
  const r1 = await newUser(X, "rx1_");
  const r2 = await newUser(X, "rx2_");
  const r3 = await newUser(Y, "ry3_");
  const x1 = await tabs.open(X, r1.browser.cookie, "websocket", `R1@${NODE_NAME[X]}`);
  const x2 = await tabs.open(X, r2.browser.cookie, "polling", `R2@${NODE_NAME[X]}/polling`);
  const y3 = await tabs.open(Y, r3.browser.cookie, "websocket", `R3@${NODE_NAME[Y]}`);
  const names = [r1, r2, r3].map((x) => x.username);
  await roomIs([x1, x2, y3], names);
  const from = new Map([x1, x2, y3].map((x) => [x, x.mark()]));

  let restarted = false;
  const restart = () => {
    if (restarted || redisUp()) return;
    restarted = true;
    const r = spawnSync("sh", ["-c", REDIS_START], { encoding: "utf8", timeout: 20000 });
    if (r.status !== 0) throw new Error(`restarting Redis failed: ${r.stderr}`);
  };
  t.after(restart);

  redisCli("shutdown", "nosave");
  await until("Redis to stop", () => !redisUp(), 5000);
  const downAt = Date.now();
  for (const url of live) {
    const h = await until(
      () => `/healthz of ${NODE_NAME[url]} to be 503 without Redis`,
      async () => {
        const h = await healthz(url);
        return h.status === 503 && h;
      },
      10000,
    );
    assert.notEqual(h.json.redis, "ok", `node ${NODE_NAME[url]}: ${h.text}`);
    assert.match(h.json.redis, /redis/i, `the 503 names Redis: ${h.text}`);
    assert.equal(h.json.database, "ok", `the database is fine: ${h.text}`);
  }
  t.diagnostic(`/healthz 503 on every live node ${Date.now() - downAt} ms after Redis stopped`);

  // each node serves its own sockets
  const sentAt = Date.now();
  const d1 = await x1.send("during the outage, on X", "text", 15000);
  t.diagnostic(`first send without Redis acked after ${Date.now() - sentAt} ms`);
  assert.equal(d1.success, true, `a send without Redis: ${JSON.stringify(d1)}`);
  const d2 = await x2.send("during the outage, second, on X", "text", 15000);
  assert.equal(d2.success, true, JSON.stringify(d2));
  const d3 = await y3.send("during the outage, on Y", "text", 15000);
  assert.equal(d3.success, true, JSON.stringify(d3));
  await allReceived([x1, x2], [d1.message.id, d2.message.id].filter(Boolean), from, 8000).catch((e) => {
    throw new Error(`node ${NODE_NAME[X]}'s own sockets must get its messages while Redis is away: ${e.message}`);
  });
  await y3.waitFor("new_message", (m) => m.id === d3.message.id, from.get(y3));

  restart();
  const backAt = Date.now();
  for (const url of live) {
    await until(
      () => `/healthz of ${NODE_NAME[url]} to be 200 again after Redis returned`,
      async () => (await healthz(url)).status === 200,
      10000,
    );
  }
  t.diagnostic(`/healthz 200 again ${Date.now() - backAt} ms after Redis returned`);

  // Once every node answers /healthz 200 again, every message sent on any
  // node reaches every socket of the room, whichever node sent it.
  const after = [];
  const problems = [];
  for (let round = 0; round < 6; round++) {
    const [ax, ay] = await Promise.all([
      x1.send(`after the outage ${round}, from ${x1.label}`),
      y3.send(`after the outage ${round}, from ${y3.label}`),
    ]);
    assert.equal(ax.success && ay.success, true, `${JSON.stringify(ax)} ${JSON.stringify(ay)}`);
    after.push({ id: ax.message.id, from: x1.label, sentMs: Date.now() - backAt }, { id: ay.message.id, from: y3.label, sentMs: Date.now() - backAt });
    await sleep(500);
  }
  try {
    await until(
      () => "",
      () => [x1, x2, y3].every((tab) => after.every((m) => tab.messageIds(from.get(tab)).includes(m.id))),
      10000,
    );
  } catch {
    const report = [x1, x2, y3]
      .map((tab) => {
        const got = tab.messageIds(from.get(tab));
        const lost = after.filter((m) => !got.includes(m.id));
        return lost.length ? `${tab.label} never got ${lost.map((m) => `id ${m.id} (sent by ${m.from} ${m.sentMs} ms after Redis returned)`).join(", ")}` : null;
      })
      .filter(Boolean);
    // recorded; the rest of the rejoin is still checked
    problems.push(`messages acked after /healthz was 200 again did not cross nodes within 10 s: ${report.join("; ")}`);
  }
  if (!problems.length) t.diagnostic(`messages sent 0-3 s after Redis returned reached every socket`);

  // presence is whole again on both nodes
  await roomIs([x1, x2, y3], names, 15000);

  // what each node sent while cut off reached the other node afterwards
  // (fanout.rs replays missed messages after resubscribing), once, in order
  const outage = [d1, d2, d3].map((a) => a.message.id);
  await until(
    () => `the messages sent during the outage (ids ${outage}) on every socket: ${[x1, x2, y3].map((x) => `${x.label} got ${x.messageIds(from.get(x))}`).join("; ")}`,
    () => [x1, x2, y3].every((x) => outage.every((id) => x.messageIds(from.get(x)).includes(id))),
    10000,
  );
  for (const tab of [x1, x2, y3]) {
    const got = tab.messageIds(from.get(tab));
    assert.deepEqual(duplicates(got), [], `${tab.label}: no message twice across the outage: ${got}`);
  }

  // settled: the cluster's order rule holds again
  const marks = new Map([x1, x2, y3].map((x) => [x, x.mark()]));
  const final = await Promise.all([x1, x2, y3, x1, y3, x2].map((tab, i) => tab.send(`settled ${i}`)));
  await allReceived([x1, x2, y3], final.map((a) => a.message.id), marks);
  assert.deepEqual(problems, []);
});
