// What the JavaScript test suites share (tests/conformance/js/helpers.mjs,
// tests/cluster/lib.mjs, tests/e2e/helpers.mjs): HTTP against the chat
// server with its `session` cookie, and Socket.IO clients that send that
// cookie. Not a test file.
//
// Node built-ins only: each suite has its own package.json and node_modules
// (tests/conformance, tests/cluster, tests/e2e), and a bare import here would
// be resolved from tests/lib/, where there is none. So the official
// socket.io-client's `io` is passed in by the suite that has it:
//
//   import { io } from "socket.io-client";
//   import { createSocket } from "../lib/chat.mjs";
//   const socket = createSocket(io, base, { cookieHeader: "session=...", transports: ["polling"] });

import http from "node:http";

/** A server URL without its trailing slashes ("http://127.0.0.1:5000/" → "http://127.0.0.1:5000"). */
export function trimBase(url) {
  return String(url ?? "").replace(/\/+$/, "");
}

export function sleep(ms) {
  return new Promise((r) => setTimeout(r, ms));
}

// ---------------------------------------------------------------- HTTP ----

/** The name of the server's session cookie. */
export const SESSION_COOKIE = "session";

/** The Cookie header that sends a session cookie value. */
export function sessionCookieHeader(value) {
  return `${SESSION_COOKIE}=${value}`;
}

/** Parses one Set-Cookie header into {name, value, attrs} (attr names lower-cased). */
export function parseSetCookie(header) {
  const [pair, ...rest] = header.split(";");
  const eq = pair.indexOf("=");
  const name = pair.slice(0, eq).trim();
  const value = pair.slice(eq + 1).trim();
  const attrs = {};
  for (const part of rest) {
    const i = part.indexOf("=");
    const k = (i < 0 ? part : part.slice(0, i)).trim().toLowerCase();
    const v = i < 0 ? true : part.slice(i + 1).trim();
    if (k) attrs[k] = v;
  }
  return { name, value, attrs };
}

/**
 * The session cookie value after a response's parsed Set-Cookie headers:
 * unchanged without a `session` cookie among them, null when the server
 * removed it (empty value, Max-Age <= 0 or an Expires in the past).
 */
export function sessionCookieAfter(current, setCookies) {
  let cookie = current;
  for (const c of setCookies) {
    if (c.name !== SESSION_COOKIE) continue;
    const maxAge = c.attrs["max-age"];
    const expires = c.attrs.expires ? Date.parse(c.attrs.expires) : NaN;
    const removed =
      c.value === "" ||
      (maxAge !== undefined && Number(maxAge) <= 0) ||
      (!Number.isNaN(expires) && expires < Date.now());
    cookie = removed ? null : c.value;
  }
  return cookie;
}

/**
 * One HTTP request to `base` on a connection of its own, so that what the
 * server does to one request's connection never shows up in another. The
 * body may be a string, a Buffer or a FormData (sent as multipart). Resolves
 * {status, headers (a Headers), buf}.
 */
export async function httpRequest(base, method, urlPath, headers = {}, body = undefined, { timeout = 30000 } = {}) {
  const hdrs = { ...headers };
  let payload;
  if (body instanceof FormData) {
    const encoded = new Response(body);
    hdrs["Content-Type"] = encoded.headers.get("content-type");
    payload = Buffer.from(await encoded.arrayBuffer());
  } else if (typeof body === "string") {
    payload = Buffer.from(body, "utf8");
  } else if (body) {
    payload = Buffer.from(body);
  }
  if (payload) hdrs["Content-Length"] = String(payload.length);
  else if (method === "POST") hdrs["Content-Length"] = "0";
  const url = new URL(trimBase(base) + urlPath);
  return new Promise((resolve, reject) => {
    let settled = false;
    let connected = false;
    const req = http.request(
      { host: url.hostname, port: url.port || 80, method, path: url.pathname + url.search, headers: hdrs, agent: false },
      (res) => {
        const chunks = [];
        res.on("data", (c) => chunks.push(c));
        res.on("end", () => {
          settled = true;
          const h = new Headers();
          for (let i = 0; i < res.rawHeaders.length; i += 2) h.append(res.rawHeaders[i], res.rawHeaders[i + 1]);
          resolve({ status: res.statusCode, headers: h, buf: Buffer.concat(chunks) });
        });
        res.on("error", (e) => !settled && reject(e));
      },
    );
    req.on("socket", (s) => {
      if (!s.connecting) connected = true;
      else s.once("connect", () => (connected = true));
    });
    // A server may answer (413, 401) before it has read the whole body and
    // stop reading: the response still counts, a write error alone does not.
    // A connection that never opened has no answer to wait for.
    req.on("error", (e) => {
      if (settled) return;
      if (!connected) {
        settled = true;
        const err = new Error(`${method} ${url.origin}${urlPath}: ${e.code || e.message}`);
        err.cause = e;
        reject(err);
        return;
      }
      setTimeout(() => {
        if (settled) return;
        const err = new Error(
          `${method} ${urlPath}: no HTTP response could be read; the connection failed with ${e.code || e.message}` +
            (payload && payload.length > 65536 ? ` while ${payload.length} body bytes were being sent (a server that answers early must still read or drain the body, or the client loses the answer)` : ""),
        );
        err.cause = e;
        reject(err);
      }, 1000);
    });
    req.setTimeout(timeout, () => req.destroy(new Error(`timeout ${method} ${urlPath}`)));
    req.end(payload);
  });
}

/**
 * A browser-like client of the JSON API: keeps the `session` cookie and sends
 * it back. `base` is the server; a request may name another with `base`
 * (several nodes of a cluster share the session).
 */
export class Session {
  constructor({ base = "", cookie = null } = {}) {
    this.base = trimBase(base);
    this.cookie = cookie; // value of the `session` cookie, or null
    this.lastSetCookies = [];
  }

  cookieHeader() {
    return this.cookie ? sessionCookieHeader(this.cookie) : null;
  }

  /**
   * request(method, path, {json, body, headers, base}) →
   *   {status, headers, buf, text, json, setCookies}
   */
  async request(method, urlPath, opts = {}) {
    const headers = { ...(opts.headers || {}) };
    const ch = this.cookieHeader();
    if (ch && !("Cookie" in headers)) headers.Cookie = ch;
    let body = opts.body;
    if (opts.json !== undefined) {
      headers["Content-Type"] = "application/json";
      body = JSON.stringify(opts.json);
    }
    const res = await httpRequest(opts.base ?? this.base, method, urlPath, headers, body);
    const buf = res.buf;
    const text = buf.toString("utf8");
    let json;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    const setCookies = res.headers.getSetCookie().map(parseSetCookie);
    this.lastSetCookies = setCookies;
    this.cookie = sessionCookieAfter(this.cookie, setCookies);
    return { status: res.status, headers: res.headers, buf, text, json, setCookies };
  }

  get(p, opts) {
    return this.request("GET", p, opts);
  }
  post(p, opts) {
    return this.request("POST", p, opts);
  }

  register(username, password, opts = {}) {
    return this.post("/api/register", { ...opts, json: { username, password } });
  }
  login(username, password, opts = {}) {
    return this.post("/api/login", { ...opts, json: { username, password } });
  }
  logout(opts) {
    return this.post("/api/logout", opts);
  }
  currentUser(opts) {
    return this.get("/api/current_user", opts);
  }
  messages(query = "", opts) {
    return this.get("/api/messages" + (query ? "?" + query : ""), opts);
  }

  /** POST /api/upload with a file field `file` (or a custom FormData). */
  upload(bytes, filename = "image.png", { field = "file", type = "application/octet-stream", form, base } = {}) {
    let fd = form;
    if (!fd) {
      fd = new FormData();
      fd.append(field, new Blob([bytes], { type }), filename);
    }
    return this.post("/api/upload", { body: fd, base });
  }
}

// ------------------------------------------------------------- sockets ----

/**
 * A socket.io-client socket on `base` that sends `cookieHeader` (e.g.
 * "session=...", or null for none) with its handshake, as a page's would:
 * on `transports` only (upgrading only when there are several), a new
 * connection of its own, no reconnection. Other options go to `io` as is.
 */
export function createSocket(io, base, { cookieHeader = null, transports = ["websocket"], extraHeaders = {}, ...opts } = {}) {
  const headers = { ...extraHeaders };
  if (cookieHeader && !("Cookie" in headers)) headers.Cookie = cookieHeader;
  return io(trimBase(base), {
    path: "/socket.io/",
    transports,
    upgrade: transports.length > 1,
    extraHeaders: headers,
    forceNew: true,
    reconnection: false,
    ...opts,
  });
}
