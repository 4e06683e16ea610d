// PROTOCOL.md §4 "Leaving" and §3 logout: user_left and online_users when a
// user's last socket disconnects; logout disconnects that session's sockets.

import { describe, test, afterEach } from "node:test";
import assert from "node:assert/strict";
import {
  TRANSPORT,
  QUIET_WINDOW,
  Session,
  Client,
  connect,
  closeAll,
  newUser,
  assertTimestamp,
  codePointCompare,
} from "./helpers.mjs";

afterEach(closeAll);

async function watcher() {
  const w = await newUser();
  const c = await connect(w.session);
  await c.waitFor("online_users", (d) => d.users.includes(w.username));
  return { ...w, c };
}

/** Connects `user`'s socket(s) and waits until the watcher saw the user join. */
async function online(user, w, tabs = 1, session = user.session) {
  const out = [];
  for (let i = 0; i < tabs; i++) out.push(await connect(session));
  await w.c.waitFor("online_users", (d) => d.users.includes(user.username));
  return out;
}

async function assertLeft(w, username) {
  const left = await w.c.waitFor("user_left", (d) => d.username === username);
  assert.deepEqual(Object.keys(left).sort(), ["online_count", "timestamp", "username"], JSON.stringify(left));
  assert.ok(Number.isInteger(left.online_count));
  assertTimestamp(left.timestamp, "user_left.timestamp");
  // the online_users broadcast that follows the user_left
  const iLeft = w.c.indexOf("user_left", (d) => d.username === username);
  const list = await w.c.waitFor("online_users", (d) => !d.users.includes(username), undefined, { after: iLeft });
  assert.equal(list.count, list.users.length);
  assert.deepEqual(list.users, [...list.users].sort(codePointCompare), "online_users sorted");
  assert.ok(list.users.includes(w.username), "the watcher is still listed");
  assert.equal(left.online_count, list.count, "user_left.online_count equals the online_users count");
  return left;
}

describe(`user_left [${TRANSPORT}]`, () => {
  test("when a user's last socket disconnects: user_left then online_users without them", async () => {
    const w = await watcher();
    const b = await newUser();
    const [b1] = await online(b, w);
    await b1.close();
    await assertLeft(w, b.username);
  });

  test("closing one of two tabs announces nothing; closing the last one does", async () => {
    const w = await watcher();
    const b = await newUser();
    const [b1, b2] = await online(b, w, 2);
    const mark = w.c.mark();
    await b1.close();
    await w.c.assertNo("user_left", (d) => d.username === b.username, QUIET_WINDOW, "while a tab is still open");
    const dropped = w.c.since(mark).filter((e) => e.event === "online_users" && !e.args[0].users.includes(b.username));
    assert.deepEqual(dropped, [], "the user is still listed as online");
    assert.ok(b2.connected);
    await b2.close();
    await assertLeft(w, b.username);
  });

  test("the leaving user's count: online_count drops by one user", async () => {
    const w = await watcher();
    const b = await newUser();
    const [b1, b2] = await online(b, w, 2);
    const joined = w.c.pending("user_joined", (d) => d.username === b.username);
    assert.equal(joined.length, 1, "one user_joined for two tabs");
    await b1.close();
    await b2.close();
    const left = await assertLeft(w, b.username);
    assert.equal(left.online_count, joined[0].online_count - 1);
  });

  test("a lost connection (no goodbye) also ends in user_left", { skip: TRANSPORT === "polling" && "a lost polling client is only noticed after pingInterval + pingTimeout (45 s)" }, async () => {
    const w = await watcher();
    const b = await newUser();
    const [b1] = await online(b, w);
    // kill the TCP connection under the websocket, without a close frame
    const ws = b1.socket.io.engine.transport.ws;
    ws._socket.destroy();
    await assertLeft(w, b.username);
  });
});

describe(`logout and sockets [${TRANSPORT}]`, () => {
  test("logout disconnects this session's open sockets, not another session's", async () => {
    const w = await watcher();
    const b = await newUser();
    const other = new Session();
    assert.equal((await other.login(b.username, b.password)).status, 200);
    const [s1a, s1b] = await online(b, w, 2);
    const s2 = await connect(other);

    assert.equal((await b.session.logout()).status, 200);
    await s1a.waitDisconnect();
    await s1b.waitDisconnect();
    assert.equal(s1a.connected, false);
    assert.equal(s1b.connected, false);
    await w.c.assertNo("user_left", (d) => d.username === b.username, QUIET_WINDOW, "while another session is online");
    assert.ok(s2.connected, "the other session's socket stays connected");
    const ack = await s2.send({ content: "still logged in" });
    assert.equal(ack.success, true, JSON.stringify(ack));

    assert.equal((await other.logout()).status, 200);
    await s2.waitDisconnect();
    await assertLeft(w, b.username);
  });

  test("logout of one user leaves other users' sockets alone", async () => {
    const w = await watcher();
    const b = await newUser();
    const [b1] = await online(b, w);
    assert.equal((await b.session.logout()).status, 200);
    await b1.waitDisconnect();
    await assertLeft(w, b.username);
    assert.ok(w.c.connected, "the watcher stays connected");
  });

  test("a socket disconnected by logout cannot come back with the old cookie", async () => {
    const b = await newUser();
    const old = new Session(b.session.cookie);
    const b1 = await connect(b.session);
    await b.session.logout();
    await b1.waitDisconnect();
    const again = new Client(old);
    const err = await again.open().then(() => null, (e) => e);
    assert.ok(err, "the logged-out session must not connect");
    assert.equal(err.message, "unauthorized");
  });
});
