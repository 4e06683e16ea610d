// deploy/nginx/chat-cluster.conf in front of the nodes (scripts/test-cluster.sh
// starts nginx with it, its upstream pointed at the local nodes).
//   NGINX_URL     nginx, e.g. http://127.0.0.1:40123
//   CLUSTER_URLS  the nodes behind it

import { test } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import { io } from "socket.io-client";
import { URLS, EVENT_TIMEOUT, until, newUser, openTab } from "./lib.mjs";

const NGINX = (process.env.NGINX_URL || "").replace(/\/+$/, "");
if (!NGINX) throw new Error("NGINX_URL is not set");

/** A socket through nginx, as a page served by nginx opens it (Origin: nginx's address). */
async function pageSocket(cookie, transport) {
  const s = io(NGINX, {
    transports: [transport],
    upgrade: false,
    reconnection: false,
    forceNew: true,
    extraHeaders: { Cookie: `session=${cookie}`, Origin: NGINX },
  });
  const events = [];
  s.onAny((ev, data) => events.push({ ev, data }));
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${transport} socket through nginx did not connect`)), EVENT_TIMEOUT);
    s.on("connect", () => (clearTimeout(timer), resolve()));
    s.on("connect_error", (e) => (clearTimeout(timer), reject(new Error(`${transport} through nginx: connect_error ${e.message}`))));
  });
  return { s, events };
}

test("the page, the API and /healthz answer through nginx; /metrics is not public", async () => {
  const page = await fetch(NGINX + "/");
  assert.equal(page.status, 200);
  assert.match(page.headers.get("content-type"), /text\/html/);
  const h = await fetch(NGINX + "/healthz");
  assert.equal(h.status, 200);
  assert.equal((await h.json()).redis, "ok");
  const m = await fetch(NGINX + "/metrics");
  assert.equal(m.status, 404, "/metrics is not served through nginx");
  const js = await fetch(NGINX + "/socket.io/socket.io.min.js");
  assert.equal(js.status, 200, "the socket.io client script");
});

test("sockets through nginx, websocket and polling, with the page's own Origin, exchange messages with sockets on the nodes", async (t) => {
  const u = await newUser(NGINX, "ngx_");
  const cur = await u.browser.currentUser(NGINX);
  assert.equal(cur.status, 200);
  const ws = await pageSocket(u.browser.cookie, "websocket");
  t.after(() => ws.s.close());
  const poll = await pageSocket(u.browser.cookie, "polling");
  t.after(() => poll.s.close());
  const v = await newUser(URLS[1], "ngv_");
  const direct = await openTab(URLS[1], v.browser.cookie, "websocket", "direct@B");
  t.after(() => direct.close());

  const ack = await ws.s.timeout(EVENT_TIMEOUT).emitWithAck("send_message", { content: "through nginx" });
  assert.equal(ack.success, true, JSON.stringify(ack));
  const id = ack.message.id;
  await until("the message on the polling socket through nginx", () => poll.events.some((e) => e.ev === "new_message" && e.data.id === id));
  await direct.waitFor("new_message", (m) => m.id === id);
  const back = await direct.send("to the nginx sockets");
  await until("a node's message on the nginx sockets", () =>
    [ws, poll].every((x) => x.events.some((e) => e.ev === "new_message" && e.data.id === back.message.id)));
});

test("client_max_body_size lets a 5 MiB image through; one byte more gets the node's JSON 413", async () => {
  const u = await newUser(NGINX, "ngu_");
  const png = Buffer.from("89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489", "hex");
  const max = Buffer.alloc(5 * 1024 * 1024);
  png.copy(max);
  const ok = await u.browser.upload(NGINX, max, "big.png");
  assert.equal(ok.status, 200, `a 5 MiB upload through nginx: ${ok.status} ${ok.buf.toString().slice(0, 200)}`);
  const served = await fetch(NGINX + ok.json.url);
  assert.equal(served.status, 200);
  assert.equal(Number(served.headers.get("content-length")), max.length);
  const over = Buffer.alloc(5 * 1024 * 1024 + 1);
  png.copy(over);
  const big = await u.browser.upload(NGINX, over, "big.png");
  assert.equal(big.status, 413, `5 MiB + 1 byte through nginx: ${big.status}`);
  assert.equal(big.json && big.json.success, false, `the node's JSON answer, not nginx's page: ${big.buf.toString().slice(0, 200)}`);
});

/** POST /api/login to nginx from a given local address (127.0.0.x: another client). */
function loginFrom(localAddress, username, password) {
  const body = JSON.stringify({ username, password });
  const url = new URL(NGINX + "/api/login");
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: url.hostname, port: url.port, path: url.pathname, method: "POST", localAddress, agent: false,
        headers: { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(body) },
      },
      (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode));
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

// Failed logins count per name and client address; behind nginx the nodes
// (started with --behind-proxy) take the address from X-Real-IP, so one
// client's wrong passwords do not lock the account for another client.
test("behind nginx, one client's failed logins do not lock the account for another client", async () => {
  const u = await newUser(URLS[0], "ngl_");
  for (let i = 0; i < 5; i++) {
    assert.equal(await loginFrom("127.0.0.2", u.username, "wrong-" + i), 401);
  }
  const owner = await loginFrom("127.0.0.3", u.username, u.password);
  assert.equal(owner, 200, `the owner, from another address, after someone else's 5 failures: ${owner}`);
});
