// PROTOCOL.md §1 and §3: the web folder, the Flask catch-all route, unknown
// API paths, and the bundled socket.io client.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { Session, assertError, repoFile, rawRequest } from "./helpers.mjs";

function contentType(res) {
  return (res.headers.get("content-type") || "").split(";")[0].trim().toLowerCase();
}

describe("the web folder", () => {
  test("GET / serves index.html", async () => {
    const res = await new Session().get("/");
    assert.equal(res.status, 200, res.text.slice(0, 200));
    assert.equal(contentType(res), "text/html");
    assert.match(res.text, /<html|<!doctype html/i);
    const local = repoFile("web/index.html");
    if (local) assert.equal(res.text, local.toString("utf8"), "GET / is web/index.html");
  });

  test("GET /index.html is the same page", async () => {
    const s = new Session();
    const root = await s.get("/");
    const idx = await s.get("/index.html");
    assert.equal(idx.status, 200);
    assert.equal(idx.text, root.text);
  });

  test("an unknown path that is not under /api/ serves index.html (the catch-all route)", async () => {
    const s = new Session();
    const root = await s.get("/");
    for (const p of ["/chat", "/some/deep/unknown/path", "/room/42?x=1", "/apix", "/uploads-not"]) {
      const res = await s.get(p);
      assert.equal(res.status, 200, `${p}: ${res.status}`);
      assert.equal(contentType(res), "text/html", p);
      assert.equal(res.text, root.text, `${p} serves index.html`);
    }
  });

  test("a file of the web folder is served at its path", async () => {
    const local = repoFile("web/vendor/socket.io.min.js");
    if (!local) return; // not running against this repository's web folder
    const res = await new Session().get("/vendor/socket.io.min.js");
    assert.equal(res.status, 200);
    assert.match(contentType(res), /javascript/);
    assert.ok(res.buf.equals(local), "the bytes of web/vendor/socket.io.min.js");
  });

  test("the page's own files are served with their content types", async () => {
    const types = { ".js": /javascript/, ".css": /^text\/css$/, ".html": /^text\/html$/ };
    for (const [file, type] of [
      ["js/main.js", types[".js"]],
      ["js/socket.js", types[".js"]],
      ["style.css", types[".css"]],
      ["index.html", types[".html"]],
    ]) {
      const local = repoFile(`web/${file}`);
      if (!local) continue;
      const res = await new Session().get(`/${file}`);
      assert.equal(res.status, 200, file);
      assert.match(contentType(res), type, file);
      assert.ok(res.buf.equals(local), `the bytes of web/${file}`);
    }
  });

  test("no path reaches files outside the web folder", async () => {
    for (const p of [
      "/../Cargo.toml",
      "/%2e%2e/Cargo.toml",
      "/..%2fCargo.toml",
      "/vendor/..%2f..%2fCargo.toml",
      "/vendor/%2e%2e/%2e%2e/Cargo.toml",
      "/..%5cCargo.toml",
      "/../../../../etc/passwd",
      "/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
    ]) {
      const res = await rawRequest("GET", p);
      const body = res.body.toString("latin1");
      assert.ok(!body.includes("[workspace]"), `${p} must not serve Cargo.toml`);
      assert.ok(!body.includes("root:x:0:0"), `${p} must not serve /etc/passwd`);
    }
  });

  test("404 with the error JSON for an unknown /api/ path", async () => {
    const s = new Session();
    for (const p of ["/api/x", "/api/nope/deeper", "/api/messages/extra"]) {
      assertError(await s.get(p), 404, `GET ${p}`);
    }
    assertError(await s.post("/api/x", { json: {} }), 404, "POST /api/x");
  });
});

describe("the bundled socket.io client", () => {
  for (const file of ["socket.io.js", "socket.io.min.js"]) {
    test(`GET /socket.io/${file} serves the socket.io JS client as JavaScript`, async () => {
      const res = await new Session().get(`/socket.io/${file}`);
      assert.equal(res.status, 200);
      assert.match(contentType(res), /^(application|text)\/javascript$/);
      assert.match(res.text.slice(0, 400), /Socket\.IO v4\./);
      const local = repoFile(`web/vendor/${file}`);
      if (local) assert.ok(res.buf.equals(local), `the bytes of web/vendor/${file}`);
    });
  }
});
