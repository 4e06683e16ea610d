// Helpers of the cluster tests (not a test file): HTTP with a session cookie
// against any node, Socket.IO clients that record what they receive, and
// waiting for conditions.
//
// Environment (set by scripts/test-cluster.sh):
//   CLUSTER_URLS   the nodes, comma-separated: http://127.0.0.1:p1,http://127.0.0.1:p2,...
//   CLUSTER_PIDS   their process ids, in the same order (the kill test SIGKILLs the last one)
//   REDIS_CLI      optional: redis-cli command line (default "redis-cli -h 127.0.0.1 -p 6379")
//   REDIS_START    optional: the shell command that starts Redis again
//   NGINX_URL      optional: nginx (deploy/nginx/chat-cluster.conf) in front of the nodes

import crypto from "node:crypto";
import { io } from "socket.io-client";
import * as chat from "../lib/chat.mjs";

export const URLS = (process.env.CLUSTER_URLS || "")
  .split(",")
  .map((u) => chat.trimBase(u.trim()))
  .filter(Boolean);
export const PIDS = (process.env.CLUSTER_PIDS || "")
  .split(",")
  .map((p) => Number(p.trim()))
  .filter((p) => Number.isInteger(p) && p > 0);
if (URLS.length < 3) throw new Error("CLUSTER_URLS must name at least 3 nodes");
export const [A, B, C] = URLS;
export const NODE_NAME = Object.fromEntries(URLS.map((u, i) => [u, "ABCDEFGH"[i]]));

/** How long an event that must arrive may take. */
export const EVENT_TIMEOUT = 8000;
/** How long we watch for an event that must not arrive. */
export const QUIET = 1000;

export const sleep = chat.sleep;

export function randName(prefix = "c_") {
  const alnum = "abcdefghijklmnopqrstuvwxyz0123456789";
  const b = crypto.randomBytes(10);
  let s = prefix;
  for (let i = 0; i < 10; i++) s += alnum[b[i] % alnum.length];
  return s; // 12 characters
}

/** Polls `fn` until it returns a truthy value; throws `what` after `timeout` ms. */
export async function until(what, fn, timeout = EVENT_TIMEOUT, every = 50) {
  const end = Date.now() + timeout;
  let last;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      if (e && e.fatal) throw e;
      last = e;
    }
    if (Date.now() > end) {
      const detail = typeof what === "function" ? what() : what;
      throw new Error(`timed out after ${timeout} ms waiting for ${detail}${last ? ` (last error: ${last.message})` : ""}`);
    }
    await sleep(every);
  }
}

// ---------------------------------------------------------------- HTTP ----

/**
 * One browser: a session cookie sent to whichever node it talks to (the HTTP
 * client of tests/lib/chat.mjs, each request naming its node).
 */
export class Browser {
  constructor(cookie = null) {
    this.session = new chat.Session({ cookie });
  }

  get cookie() {
    return this.session.cookie;
  }
  set cookie(value) {
    this.session.cookie = value;
  }

  /** → {status, headers, buf, text, json, setCookies} */
  request(base, method, path, opts = {}) {
    return this.session.request(method, path, { ...opts, base });
  }

  register(base, username, password) {
    return this.session.register(username, password, { base });
  }
  login(base, username, password) {
    return this.session.login(username, password, { base });
  }
  logout(base) {
    return this.session.logout({ base });
  }
  currentUser(base) {
    return this.session.currentUser({ base });
  }
  upload(base, bytes, filename = "pixel.png", type = "image/png") {
    return this.session.upload(bytes, filename, { type, base });
  }
}

/** Registers a fresh user through `base`; returns {username, password, browser, user}. */
export async function newUser(base, prefix = "c_") {
  const username = randName(prefix);
  const password = "pw-" + crypto.randomBytes(8).toString("hex");
  const browser = new Browser();
  const r = await browser.register(base, username, password);
  if (r.status !== 201) throw new Error(`register ${username} on node ${NODE_NAME[base] || base}: ${r.status} ${r.buf}`);
  if (!browser.cookie) throw new Error("register set no session cookie");
  return { username, password, browser, user: r.json.user };
}

// ------------------------------------------------------------- sockets ----

/** A Socket.IO client that records every event it receives, in order. */
export class Tab {
  constructor(base, cookie, transport, label) {
    this.base = base;
    this.label = label || `${NODE_NAME[base] || base}/${transport}`;
    this.events = []; // {ev, data, at}
    this.socket = chat.createSocket(io, base, {
      cookieHeader: cookie ? chat.sessionCookieHeader(cookie) : null,
      transports: [transport],
      timeout: EVENT_TIMEOUT,
    });
    this.socket.onAny((ev, data) => this.events.push({ ev, data, at: Date.now() }));
    this.socket.on("disconnect", (reason) => this.events.push({ ev: "disconnect", data: reason, at: Date.now() }));
    this.socket.on("connect_error", (err) =>
      this.events.push({ ev: "connect_error", data: { message: err && err.message, data: err && err.data }, at: Date.now() }),
    );
  }

  get connected() {
    return this.socket.connected;
  }

  /** Events named `ev` (matching `pred`) received from index `from` on. */
  all(ev, pred = () => true, from = 0) {
    return this.events.slice(from).filter((e) => e.ev === ev && pred(e.data)).map((e) => e.data);
  }

  last(ev) {
    const list = this.all(ev);
    return list[list.length - 1];
  }

  mark() {
    return this.events.length;
  }

  async waitFor(ev, pred = () => true, from = 0, timeout = EVENT_TIMEOUT) {
    return until(
      () => `${ev} on ${this.label} (got: ${this.events.slice(from).map((e) => e.ev).join(", ") || "nothing"})`,
      () => this.all(ev, pred, from)[0],
      timeout,
      20,
    );
  }

  /** new_message ids received, in arrival order. */
  messageIds(from = 0) {
    return this.all("new_message", () => true, from).map((m) => m.id);
  }

  /** send_message with an acknowledgement; resolves the ack (rejects after `timeout`). */
  send(content, messageType = "text", timeout = EVENT_TIMEOUT) {
    const payload = messageType === undefined ? { content } : { content, message_type: messageType };
    return this.socket.timeout(timeout).emitWithAck("send_message", payload);
  }

  close() {
    this.socket.disconnect();
  }
}

/** Opens a socket and waits until it is connected and has its first online_users. */
export async function openTab(base, cookie, transport = "websocket", label) {
  const tab = new Tab(base, cookie, transport, label);
  await until(
    () => `socket on ${tab.label} to connect (events: ${JSON.stringify(tab.events.slice(0, 3))})`,
    () => {
      const failed = tab.events.find((e) => e.ev === "connect_error");
      if (failed) throw Object.assign(new Error(`connect_error on ${tab.label}: ${JSON.stringify(failed.data)}`), { fatal: true });
      return tab.connected && tab.all("online_users").length > 0;
    },
    EVENT_TIMEOUT,
    20,
  ).catch((e) => {
    tab.close();
    throw e;
  });
  return tab;
}

/** Resolves the connect_error data of a socket that must be refused. */
export async function refusedTab(base, cookie, transport = "websocket") {
  const tab = new Tab(base, cookie, transport);
  try {
    return await until(
      () => `connect_error on ${tab.label} (events: ${tab.events.map((e) => e.ev).join(", ")})`,
      () => {
        if (tab.connected) throw Object.assign(new Error(`socket on ${tab.label} connected but must be refused`), { fatal: true });
        const e = tab.events.find((x) => x.ev === "connect_error");
        return e && { data: e.data };
      },
    );
  } finally {
    tab.close();
  }
}

/** A 1×1 PNG. */
export const PNG = Buffer.from(
  "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==",
  "base64",
);

export async function healthz(base) {
  try {
    const res = await fetch(base + "/healthz", { signal: AbortSignal.timeout(8000) });
    const text = await res.text();
    let json;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: res.status, json, text };
  } catch (e) {
    return { status: 0, json: undefined, text: String(e) };
  }
}

/** Checks that ids are strictly increasing; returns a message or null. */
export function orderProblem(ids) {
  for (let i = 1; i < ids.length; i++) {
    if (ids[i] <= ids[i - 1]) return `id ${ids[i]} arrived after ${ids[i - 1]} (position ${i})`;
  }
  return null;
}

export function duplicates(ids) {
  const seen = new Set();
  const dup = new Set();
  for (const id of ids) (seen.has(id) ? dup : seen).add(id);
  return [...dup];
}
