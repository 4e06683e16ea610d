// PROTOCOL.md §1 and §4 "Connecting": the Engine.IO handshake, the session
// cookie on the handshake, the Origin check, user_joined and online_users.

import { describe, test, afterEach } from "node:test";
import assert from "node:assert/strict";
import { io } from "socket.io-client";
import {
  BASE,
  TRANSPORT,
  ALLOWED_ORIGIN,
  QUIET_WINDOW,
  Session,
  Client,
  connect,
  closeAll,
  newUser,
  randAlnum,
  assertTimestamp,
  codePointCompare,
  rawWebSocketHandshake,
  sleep,
  withTimeout,
} from "./helpers.mjs";

afterEach(closeAll);

function parseOpenPacket(text) {
  assert.equal(text[0], "0", `an Engine.IO open packet starts with 0: ${text.slice(0, 100)}`);
  return JSON.parse(text.slice(1));
}

function assertOpenPacket(open, { upgrades }) {
  assert.equal(typeof open.sid, "string");
  assert.ok(open.sid.length > 0);
  assert.deepEqual(open.upgrades, upgrades);
  assert.equal(open.pingInterval, 25000, "pingInterval");
  assert.equal(open.pingTimeout, 20000, "pingTimeout");
  assert.equal(open.maxPayload, 1000000, "maxPayload (maxHttpBufferSize)");
}

async function pollingHandshake(headers = {}) {
  const res = await fetch(`${BASE}/socket.io/?EIO=4&transport=polling&t=${randAlnum(6)}`, { headers });
  return { status: res.status, text: await res.text() };
}

function assertOnlineUsers(d) {
  assert.deepEqual(Object.keys(d).sort(), ["count", "users"], `online_users fields: ${JSON.stringify(d)}`);
  assert.ok(Number.isInteger(d.count), "online_users.count is an integer");
  assert.ok(Array.isArray(d.users), "online_users.users is a list");
  for (const u of d.users) assert.equal(typeof u, "string");
  assert.equal(d.count, d.users.length, "online_users.count is the number of users listed");
  assert.equal(new Set(d.users).size, d.users.length, "online_users lists each user once");
  assert.deepEqual(d.users, [...d.users].sort(codePointCompare), "online_users.users is sorted");
}

function assertPresence(d, username) {
  assert.deepEqual(Object.keys(d).sort(), ["online_count", "timestamp", "username"], `fields: ${JSON.stringify(d)}`);
  assert.equal(d.username, username);
  assert.ok(Number.isInteger(d.online_count) && d.online_count >= 0, "online_count is an integer");
  assertTimestamp(d.timestamp, "timestamp");
}

/**
 * Asserts that, of the events `c` got since `mark`, none is about `username`:
 * no user_joined/user_left for it, and every online_users is the broadcast of
 * someone else's user_joined/user_left that came just before it.
 */
function assertNothingAnnouncedAbout(c, mark, username) {
  const evs = c.since(mark);
  let explained = 0;
  for (const e of evs) {
    if (e.event === "user_joined" || e.event === "user_left") {
      assert.notEqual(e.args[0].username, username, `unexpected ${e.event} for ${username}`);
      explained++;
    } else if (e.event === "online_users") {
      assert.ok(explained > 0, `unexpected online_users broadcast: ${JSON.stringify(e.args[0])}`);
      explained--;
    }
  }
}

describe(`Engine.IO handshake [${TRANSPORT}]`, () => {
  test("polling handshake on /socket.io/: pingInterval 25000, pingTimeout 20000, maxPayload 1000000, upgrade to websocket", async () => {
    const { session } = await newUser();
    const res = await pollingHandshake({ Cookie: session.cookieHeader() });
    assert.equal(res.status, 200, res.text);
    assertOpenPacket(parseOpenPacket(res.text), { upgrades: ["websocket"] });
  });

  test("a client may start directly on websocket: same handshake values", async () => {
    const { session } = await newUser();
    const res = await rawWebSocketHandshake({ Cookie: session.cookieHeader() });
    assert.ok(res.upgraded, `websocket handshake refused with HTTP ${res.status}`);
    assertOpenPacket(parseOpenPacket(res.firstFrame), { upgrades: [] });
  });

  test(`a logged-in client connects over ${TRANSPORT} with the session cookie`, async () => {
    const { session } = await newUser();
    const c = await connect(session);
    assert.ok(c.connected);
    assert.equal(c.socket.io.engine.transport.name, TRANSPORT);
  });

  test("the usual upgrade from polling to websocket works", async () => {
    const { session, username } = await newUser();
    const c = new Client(session, { transports: ["polling", "websocket"], upgrade: true });
    const upgraded = new Promise((resolve) => c.socket.io.on("open", () => c.socket.io.engine.once("upgrade", resolve)));
    await c.open();
    await withTimeout(upgraded, 5000, "no upgrade to websocket within 5 s");
    assert.equal(c.socket.io.engine.transport.name, "websocket");
    // still the same socket, and it still works after the upgrade
    const ack = await c.send({ content: "after upgrade " + randAlnum(6) });
    assert.equal(ack.success, true, JSON.stringify(ack));
    assert.equal(ack.message.username, username);
  });
});

describe(`connecting requires a logged-in session [${TRANSPORT}]`, () => {
  async function assertUnauthorized(cookieSession, what) {
    const c = new Client(cookieSession);
    const err = await c.open().then(
      () => assert.fail(`${what}: the socket must be refused`),
      (e) => e,
    );
    assert.equal(err.message, "unauthorized", `${what}: connect_error data must be {"message": "unauthorized"}`);
    assert.equal(c.connected, false);
    await c.assertNo("online_users", () => true, QUIET_WINDOW, `${what}: a refused socket gets no events`);
    await c.close();
  }

  test('no session cookie: connect_error {"message": "unauthorized"}', async () => {
    await assertUnauthorized(null, "no cookie");
  });

  test('a made-up session cookie: connect_error {"message": "unauthorized"}', async () => {
    await assertUnauthorized(new Session("garbage" + randAlnum(24)), "made-up cookie");
  });

  test('a logged-out session cookie: connect_error {"message": "unauthorized"}', async () => {
    const { session } = await newUser();
    const dead = new Session(session.cookie);
    assert.equal((await session.logout()).status, 200);
    await assertUnauthorized(dead, "logged-out cookie");
  });

  test("a refused socket does not announce anyone", async () => {
    const watcher = await newUser();
    const w = await connect(watcher.session);
    await w.waitFor("online_users");
    const mark = w.mark();
    const c = new Client(null);
    await c.open().catch(() => {});
    await sleep(QUIET_WINDOW);
    assertNothingAnnouncedAbout(w, mark, "");
    assert.deepEqual(w.since(mark).filter((e) => e.event === "user_joined"), []);
  });
});

describe(`the namespace is the default one, "/" [${TRANSPORT}]`, () => {
  test("a socket on another namespace is refused and announces no one", async () => {
    const watcher = await newUser();
    const w = await connect(watcher.session);
    await w.waitFor("online_users");
    const mark = w.mark();
    const { session, username } = await newUser();
    const other = io(BASE + "/chat", {
      transports: [TRANSPORT],
      extraHeaders: { Cookie: session.cookieHeader() },
      forceNew: true,
      reconnection: false,
      timeout: 5000,
    });
    try {
      const outcome = await withTimeout(
        new Promise((resolve) => {
          other.once("connect", () => resolve("connected"));
          other.once("connect_error", (e) => resolve(e));
        }),
        5000,
        "no answer to a CONNECT on /chat",
      );
      assert.notEqual(outcome, "connected", "the namespace /chat does not exist");
      await sleep(QUIET_WINDOW);
      assertNothingAnnouncedAbout(w, mark, username);
    } finally {
      other.close();
    }
  });
});

describe(`the Origin check on the handshake [${TRANSPORT}]`, () => {
  const foreign = ["http://evil.example", "https://attacker.example:8443", "null", `http://127.0.0.1:1`];

  test("a polling handshake from a foreign Origin is refused with 400 or 403", async () => {
    const { session } = await newUser();
    for (const origin of foreign) {
      const res = await pollingHandshake({ Cookie: session.cookieHeader(), Origin: origin });
      assert.ok([400, 403].includes(res.status), `Origin ${origin}: got ${res.status} ${res.text.slice(0, 100)}`);
    }
  });

  test("a websocket handshake from a foreign Origin is refused with 400 or 403", async () => {
    const { session } = await newUser();
    for (const origin of foreign) {
      const res = await rawWebSocketHandshake({ Cookie: session.cookieHeader(), Origin: origin });
      assert.equal(res.upgraded, false, `Origin ${origin}: the websocket must not be opened`);
      assert.ok([400, 403].includes(res.status), `Origin ${origin}: got ${res.status}`);
    }
  });

  test(`a socket.io client with a foreign Origin cannot connect over ${TRANSPORT}`, async () => {
    const { session } = await newUser();
    const c = new Client(session, { extraHeaders: { Origin: "http://evil.example" } });
    await c.open().then(
      () => assert.fail("a cross-site socket must be refused"),
      () => {},
    );
    assert.equal(c.connected, false);
  });

  test("the server's own host as Origin is accepted", async () => {
    const { session } = await newUser();
    const origin = new URL(BASE).origin;
    const res = await pollingHandshake({ Cookie: session.cookieHeader(), Origin: origin });
    assert.equal(res.status, 200, res.text);
    const ws = await rawWebSocketHandshake({ Cookie: session.cookieHeader(), Origin: origin });
    assert.ok(ws.upgraded, `same-origin websocket refused with ${ws.status}`);
    const c = await connect(session, { extraHeaders: { Origin: origin } });
    assert.ok(c.connected);
  });

  test("a configured allowed origin is accepted", { skip: !ALLOWED_ORIGIN && "CHAT_ALLOWED_ORIGIN not set" }, async () => {
    const { session } = await newUser();
    const res = await pollingHandshake({ Cookie: session.cookieHeader(), Origin: ALLOWED_ORIGIN });
    assert.equal(res.status, 200, res.text);
    const ws = await rawWebSocketHandshake({ Cookie: session.cookieHeader(), Origin: ALLOWED_ORIGIN });
    assert.ok(ws.upgraded, `allowed-origin websocket refused with ${ws.status}`);
    const c = await connect(session, { extraHeaders: { Origin: ALLOWED_ORIGIN } });
    assert.ok(c.connected);
  });

  test("no Origin header: judged by the cookie alone", async () => {
    const { session } = await newUser();
    const ok = await pollingHandshake({ Cookie: session.cookieHeader() });
    assert.equal(ok.status, 200);
    const c = await connect(session); // Node clients send no Origin
    assert.ok(c.connected);
    const anon = new Client(null);
    const err = await anon.open().then(() => null, (e) => e);
    assert.ok(err, "without a cookie the socket is refused");
    assert.equal(err.message, "unauthorized");
  });
});

describe(`user_joined and online_users [${TRANSPORT}]`, () => {
  test("a newly connected socket receives online_users itself, listing its own user", async () => {
    const { session, username } = await newUser();
    const c = await connect(session);
    const d = await c.waitFor("online_users");
    assertOnlineUsers(d);
    assert.ok(d.users.includes(username), `${username} in ${JSON.stringify(d.users)}`);
  });

  test("a user's first socket: user_joined then online_users broadcast to all sockets", async () => {
    const a = await newUser();
    const ca = await connect(a.session);
    await ca.waitFor("online_users", (d) => d.users.includes(a.username));
    const b = await newUser();
    const cb = await connect(b.session);

    const joined = await ca.waitFor("user_joined", (d) => d.username === b.username);
    assertPresence(joined, b.username);
    const list = await ca.waitFor("online_users", (d) => d.users.includes(b.username));
    assertOnlineUsers(list);
    assert.ok(list.users.includes(a.username));
    assert.equal(joined.online_count, list.count, "user_joined.online_count equals the online_users count");
    const all = ca.all();
    const iJoined = all.findIndex((e) => e.event === "user_joined" && e.args[0].username === b.username);
    const iList = all.findIndex((e) => e.event === "online_users" && e.args[0].users.includes(b.username));
    assert.ok(iJoined < iList, `user_joined comes before online_users: ${all.map((e) => e.event).join(", ")}`);

    // the joining socket is one of "all sockets"
    const own = await cb.waitFor("user_joined", (d) => d.username === b.username);
    assertPresence(own, b.username);
    const ownList = await cb.waitFor("online_users", (d) => d.users.includes(b.username));
    assertOnlineUsers(ownList);
  });

  test("online_count and online_users count users, not sockets", async () => {
    const a = await newUser();
    const ca = await connect(a.session);
    await ca.waitFor("online_users", (d) => d.users.includes(a.username));
    const b = await newUser();
    const b1 = await connect(b.session);
    const joined = await ca.waitFor("user_joined", (d) => d.username === b.username);
    const list = await ca.waitFor("online_users", (d) => d.users.includes(b.username));
    await b1.waitFor("online_users", (d) => d.users.includes(b.username));

    const b2 = await connect(b.session); // second tab
    const tabList = await b2.waitFor("online_users");
    assertOnlineUsers(tabList);
    assert.equal(tabList.users.filter((u) => u === b.username).length, 1, "the second tab's user is listed once");
    assert.equal(tabList.count, list.count, "a second tab does not raise the count");
    assert.equal(joined.online_count, list.count);
  });

  test("a second tab of an online user announces nothing to the others, but receives online_users itself", async () => {
    const a = await newUser();
    const ca = await connect(a.session);
    await ca.waitFor("online_users", (d) => d.users.includes(a.username));
    const b = await newUser();
    const b1 = await connect(b.session);
    await ca.waitFor("online_users", (d) => d.users.includes(b.username));
    await b1.waitFor("online_users", (d) => d.users.includes(b.username));
    const markA = ca.mark();
    const markB1 = b1.mark();

    const b2 = await connect(b.session);
    const own = await b2.waitFor("online_users");
    assertOnlineUsers(own);
    assert.ok(own.users.includes(b.username) && own.users.includes(a.username));
    await sleep(QUIET_WINDOW);
    assertNothingAnnouncedAbout(ca, markA, b.username);
    assertNothingAnnouncedAbout(b1, markB1, b.username);
    assert.equal(b2.pending("user_joined", (d) => d.username === b.username).length, 0, "no user_joined for a second tab");
  });

  test("online_users is sorted (code point order), whatever the names", async () => {
    const tag = randAlnum(5);
    const names = [`zz_${tag}`, `AA_${tag}`, `mm_${tag}`, `中文_${tag}`, `Ärger_${tag}`, `_x${tag}`, `9_${tag}`];
    const clients = [];
    for (const n of names) {
      const s = new Session();
      const r = await s.register(n, "secret-pw");
      assert.equal(r.status, 201, r.text);
      clients.push(await connect(s));
    }
    const last = clients[clients.length - 1];
    const d = await last.waitFor("online_users", (d) => names.every((n) => d.users.includes(n)));
    assertOnlineUsers(d);
    const mine = d.users.filter((u) => names.includes(u));
    assert.deepEqual(mine, [...names].sort(codePointCompare));
  });
});
