// Shared helpers of the conformance tests (PROTOCOL.md). Not a test file.
//
// Environment:
//   CHAT_URL        the server under test, e.g. http://127.0.0.1:43123
//   SIO_TRANSPORTS  "websocket" (default) or "polling": the only transport the
//                   socket.io client may use in the socket tests
//   CHAT_ALLOWED_ORIGIN  optional: an origin the server was started with in
//                   --allowed-origins (the handshake from it must be accepted)

import assert from "node:assert/strict";
import http from "node:http";
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { io } from "socket.io-client";
import * as chat from "../../lib/chat.mjs";

export const BASE = chat.trimBase(process.env.CHAT_URL || "http://127.0.0.1:5000");
export const TRANSPORT = (process.env.SIO_TRANSPORTS || "websocket").trim();
if (!["websocket", "polling"].includes(TRANSPORT)) {
  throw new Error(`SIO_TRANSPORTS must be "websocket" or "polling", not ${JSON.stringify(TRANSPORT)}`);
}
export const ALLOWED_ORIGIN = process.env.CHAT_ALLOWED_ORIGIN || "";
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");

/** How long we wait for an event that must arrive. */
export const EVENT_TIMEOUT = 5000;
/** How long we watch for an event that must NOT arrive. */
export const QUIET_WINDOW = 500;

const ALNUM = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
export function randAlnum(n) {
  const bytes = crypto.randomBytes(n);
  let s = "";
  for (let i = 0; i < n; i++) s += ALNUM[bytes[i] % ALNUM.length];
  return s;
}
/** A fresh username: "t_" + 8 random alphanumerics (10 characters). */
export function randName(prefix = "t_") {
  return prefix + randAlnum(8);
}
export function randPassword() {
  return "pw-" + randAlnum(12);
}

// ---------------------------------------------------------------- HTTP ----

// The HTTP client is tests/lib/chat.mjs's, against BASE.
export const parseSetCookie = chat.parseSetCookie;

/**
 * One HTTP request on a connection of its own ("Connection: close"), so that
 * what the server does to one request's connection never shows up in another
 * test. The body may be a string, a Buffer or a FormData (sent as multipart).
 * Resolves {status, headers (a Headers), buf}.
 */
export function httpRequest(method, urlPath, headers = {}, body = undefined) {
  return chat.httpRequest(BASE, method, urlPath, headers, body);
}

/**
 * A browser-like client: keeps the `session` cookie and sends it back.
 * request(method, path, {json, body, headers}) →
 *   {status, headers, text, json, setCookies}; get, post, register, login,
 * logout, currentUser, messages(query), upload(bytes, filename, opts).
 */
export class Session extends chat.Session {
  constructor(cookie = null) {
    super({ base: BASE, cookie });
  }
}

/** Registers a fresh user; returns {session, user, username, password}. */
export async function newUser(prefix = "t_") {
  const username = randName(prefix);
  const password = randPassword();
  const session = new Session();
  const res = await session.register(username, password);
  assert.equal(res.status, 201, `register ${username}: ${res.status} ${res.text}`);
  assert.ok(session.cookie, "register must set the session cookie");
  return { session, user: res.json.user, username, password };
}

/** Asserts the JSON API error shape {"success": false, "error": str}. */
export function assertError(res, status, what = "") {
  assert.equal(res.status, status, `${what} expected HTTP ${status}, got ${res.status}: ${res.text}`);
  assert.ok(res.json && typeof res.json === "object", `${what} error body must be JSON: ${res.text}`);
  assert.equal(res.json.success, false, `${what} success must be false: ${res.text}`);
  assert.equal(typeof res.json.error, "string", `${what} error must be a string: ${res.text}`);
  assert.ok(res.json.error.length > 0, `${what} error must not be empty`);
  assert.match(res.headers.get("content-type") || "", /application\/json/i, `${what} content type`);
}

export const RFC3339_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;
/** RFC 3339 UTC with a Z suffix, and close to now (within `slackMs`). */
export function assertTimestamp(ts, what = "timestamp", slackMs = 10 * 60 * 1000) {
  assert.equal(typeof ts, "string", `${what} must be a string`);
  assert.match(ts, RFC3339_UTC, `${what} ${ts} must be RFC 3339 UTC ending in Z`);
  const t = Date.parse(ts);
  assert.ok(!Number.isNaN(t), `${what} ${ts} must parse`);
  assert.ok(Math.abs(Date.now() - t) < slackMs, `${what} ${ts} must be close to now`);
}

/** Asserts a `User` object: exactly the Flask room's {id, username, created_at}
 * and `is_admin` (PROTOCOL §6.6; false: the suite names no admin). */
export function assertUser(u, username) {
  assert.ok(u && typeof u === "object", "user must be an object");
  assert.deepEqual(Object.keys(u).sort(), ["created_at", "id", "is_admin", "username"], `User fields: ${JSON.stringify(u)}`);
  assert.equal(u.is_admin, false, "no admin is named");
  assert.ok(Number.isInteger(u.id) && u.id > 0, "user.id must be a positive integer");
  if (username !== undefined) assert.equal(u.username, username);
  assertTimestamp(u.created_at, "user.created_at", 365 * 24 * 3600 * 1000);
}

/** Asserts a `Message` object. */
export function assertMessage(m, expect = {}) {
  assert.ok(m && typeof m === "object", "message must be an object");
  assert.deepEqual(
    Object.keys(m).sort(),
    ["content", "id", "message_type", "timestamp", "user_id", "username"],
    `Message fields: ${JSON.stringify(m).slice(0, 300)}`,
  );
  assert.ok(Number.isInteger(m.id) && m.id > 0, "message.id must be a positive integer");
  assert.ok(Number.isInteger(m.user_id), "message.user_id must be an integer");
  assert.equal(typeof m.username, "string");
  assert.equal(typeof m.content, "string");
  assert.ok(["text", "image", "emoji"].includes(m.message_type), `message_type ${m.message_type}`);
  assertTimestamp(m.timestamp, "message.timestamp", 8 * 24 * 3600 * 1000);
  for (const [k, v] of Object.entries(expect)) assert.deepEqual(m[k], v, `message.${k}`);
}

/** Compares strings by Unicode code points (Python's and Rust's order). */
export function codePointCompare(a, b) {
  const A = Array.from(a);
  const B = Array.from(b);
  for (let i = 0; i < Math.min(A.length, B.length); i++) {
    const d = A[i].codePointAt(0) - B[i].codePointAt(0);
    if (d) return d;
  }
  return A.length - B.length;
}

/**
 * A raw HTTP request that keeps the path exactly as given (fetch would
 * normalize "..", "%2e%2e"). Resolves {status, headers, body}.
 */
export function rawRequest(method, rawPath, headers = {}) {
  const url = new URL(BASE);
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: url.hostname, port: url.port || 80, method, path: rawPath, headers },
      (res) => {
        const chunks = [];
        res.on("data", (c) => chunks.push(c));
        res.on("end", () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
      },
    );
    req.on("error", reject);
    req.setTimeout(EVENT_TIMEOUT, () => req.destroy(new Error(`timeout ${method} ${rawPath}`)));
    req.end();
  });
}

/**
 * A raw WebSocket handshake on /socket.io/?EIO=4&transport=websocket.
 * Resolves {upgraded: true, firstFrame: string} when the server switches
 * protocols (firstFrame is the Engine.IO open packet), or
 * {upgraded: false, status} when it answers with a plain HTTP response.
 */
export function rawWebSocketHandshake(headers = {}) {
  const url = new URL(BASE);
  return new Promise((resolve, reject) => {
    const req = http.request({
      host: url.hostname,
      port: url.port || 80,
      method: "GET",
      path: "/socket.io/?EIO=4&transport=websocket",
      headers: {
        Connection: "Upgrade",
        Upgrade: "websocket",
        "Sec-WebSocket-Version": "13",
        "Sec-WebSocket-Key": crypto.randomBytes(16).toString("base64"),
        ...headers,
      },
    });
    req.on("upgrade", (res, socket, head) => {
      let buf = head;
      const done = () => {
        // An unmasked server frame: FIN|opcode, len (<126 or 126 + 2 bytes).
        if (buf.length < 2) return false;
        let len = buf[1] & 0x7f;
        let off = 2;
        if (len === 126) {
          if (buf.length < 4) return false;
          len = buf.readUInt16BE(2);
          off = 4;
        }
        if (buf.length < off + len) return false;
        socket.destroy();
        resolve({ upgraded: true, status: res.statusCode, firstFrame: buf.subarray(off, off + len).toString("utf8") });
        return true;
      };
      if (done()) return;
      socket.on("data", (d) => {
        buf = Buffer.concat([buf, d]);
        done();
      });
      socket.setTimeout(EVENT_TIMEOUT, () => {
        socket.destroy();
        reject(new Error("no Engine.IO open packet on the websocket"));
      });
    });
    req.on("response", (res) => {
      res.resume();
      resolve({ upgraded: false, status: res.statusCode });
    });
    req.on("error", reject);
    req.setTimeout(EVENT_TIMEOUT, () => req.destroy(new Error("websocket handshake timeout")));
    req.end();
  });
}

// ------------------------------------------------------------- sockets ----

const openClients = new Set();

/**
 * A socket.io client that records every event it receives, so that tests can
 * await an event that may already have arrived, in arrival order.
 */
export class Client {
  constructor(session, { transports = [TRANSPORT], extraHeaders = {}, settle = true, ...opts } = {}) {
    this.settle = settle;
    const cookieHeader = session && session.cookieHeader ? session.cookieHeader() : session;
    this.events = []; // {event, args, seen}
    this.waiters = [];
    this.disconnectReason = null;
    this.socket = chat.createSocket(io, BASE, {
      cookieHeader,
      transports,
      extraHeaders,
      timeout: EVENT_TIMEOUT,
      autoConnect: false,
      ...opts,
    });
    this.socket.onAny((event, ...args) => this._record(event, args));
    this.socket.on("connect_error", (err) => this._record("connect_error", [err]));
    this.socket.on("disconnect", (reason) => {
      this.disconnectReason = reason;
      this._record("disconnect", [reason]);
    });
    this.socket.on("connect", () => this._record("connect", []));
    openClients.add(this);
  }

  _record(event, args) {
    const rec = { event, args, seen: false };
    this.events.push(rec);
    for (const w of [...this.waiters]) w.check();
  }

  /** Connects; resolves on `connect`, rejects with the connect_error. */
  open() {
    return new Promise((resolve, reject) => {
      const onConnect = () => {
        cleanup();
        // Every newly connected socket receives online_users (PROTOCOL.md §4).
        // Waiting for it (without consuming it) means the server has finished
        // setting the socket up, so that a test's first emit cannot race the
        // server's connect handler; that race has a test of its own
        // (socket-connect.test.mjs). A missing online_users is not an error here.
        if (!this.settle) return resolve(this);
        this.peek("online_users", () => true, EVENT_TIMEOUT).then(
          () => resolve(this),
          () => resolve(this),
        );
      };
      const onError = (err) => {
        cleanup();
        reject(err);
      };
      const cleanup = () => {
        this.socket.off("connect", onConnect);
        this.socket.off("connect_error", onError);
      };
      this.socket.once("connect", onConnect);
      this.socket.once("connect_error", onError);
      this.socket.connect();
    });
  }

  get connected() {
    return this.socket.connected;
  }

  /**
   * Waits for the first not yet consumed `event` whose first argument
   * satisfies `pred`; marks it consumed and resolves with that argument.
   */
  waitFor(event, pred = () => true, timeout = EVENT_TIMEOUT, { after = -1 } = {}) {
    return new Promise((resolve, reject) => {
      const waiter = {
        check: () => {
          const rec = this.events.find(
            (r, i) => i > after && !r.seen && r.event === event && safe(pred, r.args[0]),
          );
          if (!rec) return false;
          rec.seen = true;
          clearTimeout(timer);
          this.waiters = this.waiters.filter((w) => w !== waiter);
          resolve(rec.args[0]);
          return true;
        },
      };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        const got = this.events.map((r) => r.event).join(", ");
        reject(new Error(`no "${event}" event within ${timeout} ms (received: ${got || "nothing"})`));
      }, timeout);
      this.waiters.push(waiter);
      waiter.check();
    });
  }

  /** Resolves once a matching `event` has arrived (consumed or not), without consuming it. */
  peek(event, pred = () => true, timeout = EVENT_TIMEOUT) {
    return new Promise((resolve, reject) => {
      const waiter = {
        check: () => {
          const rec = this.events.find((r) => r.event === event && safe(pred, r.args[0]));
          if (!rec) return false;
          clearTimeout(timer);
          this.waiters = this.waiters.filter((w) => w !== waiter);
          resolve(rec.args[0]);
          return true;
        },
      };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new Error(`no "${event}" event within ${timeout} ms`));
      }, timeout);
      this.waiters.push(waiter);
      waiter.check();
    });
  }

  /** All not yet consumed `event`s matching pred (not consumed by this call). */
  pending(event, pred = () => true) {
    return this.events.filter((r) => !r.seen && r.event === event && safe(pred, r.args[0])).map((r) => r.args[0]);
  }

  /** Every event received so far, in order: [{event, args}]. */
  all() {
    return this.events.map(({ event, args }) => ({ event, args }));
  }

  /** Marks everything received so far as consumed. */
  drain() {
    for (const r of this.events) r.seen = true;
  }

  /** Index of the most recent event matching (event, pred), or -1. */
  indexOf(event, pred = () => true) {
    for (let i = this.events.length - 1; i >= 0; i--) {
      if (this.events[i].event === event && safe(pred, this.events[i].args[0])) return i;
    }
    return -1;
  }

  /** Index of the next event to arrive (for `since`). */
  mark() {
    return this.events.length;
  }
  since(mark) {
    return this.events.slice(mark).map(({ event, args }) => ({ event, args }));
  }

  /** Asserts that no matching `event` arrives within `ms`. */
  async assertNo(event, pred = () => true, ms = QUIET_WINDOW, why = "") {
    const start = this.events.length;
    await sleep(ms);
    const bad = this.events.slice(start).filter((r) => r.event === event && safe(pred, r.args[0]));
    assert.equal(bad.length, 0, `unexpected "${event}" ${why}: ${JSON.stringify(bad.map((r) => r.args[0]))}`);
  }

  emit(event, ...args) {
    this.socket.emit(event, ...args);
  }

  /** Emits with an acknowledgement callback; resolves with the ack's argument. */
  emitAck(event, ...args) {
    return this.socket.timeout(EVENT_TIMEOUT).emitWithAck(event, ...args);
  }

  /** send_message with an ack. */
  send(payload) {
    return this.emitAck("send_message", payload);
  }

  /** Disconnects and resolves once the client has seen the disconnect. */
  async close() {
    openClients.delete(this);
    if (!this.socket.connected) {
      this.socket.close();
      return;
    }
    const gone = new Promise((r) => this.socket.once("disconnect", r));
    this.socket.disconnect();
    await gone;
  }

  /** Resolves when the connection is closed (by the server or the network). */
  waitDisconnect(timeout = EVENT_TIMEOUT) {
    return this.waitFor("disconnect", () => true, timeout);
  }
}

function safe(pred, arg) {
  try {
    return pred(arg);
  } catch {
    return false;
  }
}

/** Connects a client for `session`; rejects on connect_error. */
export async function connect(session, opts) {
  const c = new Client(session, opts);
  await c.open();
  return c;
}

/** Closes every client the tests opened and did not close (use in after/afterEach). */
export async function closeAll() {
  await Promise.all([...openClients].map((c) => c.close().catch(() => {})));
}

export const sleep = chat.sleep;

// -------------------------------------------------------------- images ----

export const IMAGES = {
  png: {
    type: "image/png",
    bytes: Buffer.from(
      "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==",
      "base64",
    ),
  },
  jpeg: {
    type: "image/jpeg",
    bytes: Buffer.from(
      "/9j/4AAQSkZJRgABAQEASABIAAD/2wBDAP//////////////////////////////////////////////////////////////////////////////////////wgALCAABAAEBAREA/8QAFBABAAAAAAAAAAAAAAAAAAAAAP/aAAgBAQABPxA=",
      "base64",
    ),
  },
  gif: {
    type: "image/gif",
    bytes: Buffer.from("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7", "base64"),
  },
  webp: {
    type: "image/webp",
    bytes: Buffer.from("UklGRiQAAABXRUJQVlA4IBgAAAAwAQCdASoBAAEAAwA0JaQAA3AA/vuUAAA=", "base64"),
  },
};

/** A PNG of exactly `size` bytes: a valid 1x1 PNG followed by padding. */
export function pngOfSize(size) {
  const png = IMAGES.png.bytes;
  const out = Buffer.alloc(size, 0);
  png.copy(out, 0);
  return out;
}

/** Uploads a fresh PNG as `session`; returns the url ("/uploads/<name>"). */
export async function uploadPng(session) {
  const res = await session.upload(IMAGES.png.bytes, "pixel.png", { type: "image/png" });
  assert.equal(res.status, 200, `upload: ${res.status} ${res.text}`);
  return res.json.url;
}

/** The newest message id visible right now (0 when there is none). */
export async function newestMessageId(session) {
  const res = await session.messages("limit=1");
  assert.equal(res.status, 200, res.text);
  const m = res.json.messages;
  return m.length ? m[m.length - 1].id : 0;
}

/** Messages with id > afterId (up to 200), oldest first. */
export async function messagesAfter(session, afterId) {
  const res = await session.messages(`after_id=${afterId}&limit=200`);
  assert.equal(res.status, 200, res.text);
  return res.json.messages;
}

/** Reads a repository file, or null when it is not there. */
export function repoFile(rel) {
  try {
    return fs.readFileSync(path.join(REPO_ROOT, rel));
  } catch {
    return null;
  }
}

/**
 * Creates `n` text messages through send_message (20 per fresh user, the
 * flood limit) and returns them as acknowledged, sorted by id.
 */
export async function populate(n, tag = randAlnum(6)) {
  const users = Math.ceil(n / 20);
  const jobs = [];
  for (let u = 0; u < users; u++) {
    const count = Math.min(20, n - u * 20);
    jobs.push(
      (async () => {
        const { session } = await newUser();
        const c = await connect(session);
        const out = [];
        try {
          for (let i = 0; i < count; i++) {
            const ack = await c.send({ content: `populate ${tag} ${u}.${i}` });
            assert.equal(ack.success, true, `populate: ${JSON.stringify(ack)}`);
            out.push(ack.message);
          }
        } finally {
          await c.close();
        }
        return out;
      })(),
    );
  }
  return (await Promise.all(jobs)).flat().sort((a, b) => a.id - b.id);
}

/** Resolves like `promise`, or rejects with `message` after `ms`. */
export function withTimeout(promise, ms, message) {
  let timer;
  const t = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
  });
  return Promise.race([promise, t]).finally(() => clearTimeout(timer));
}
