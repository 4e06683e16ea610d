// PROTOCOL.md §3: POST /api/upload and GET /uploads/<name>

import { describe, test, before } from "node:test";
import assert from "node:assert/strict";
import { BASE, Session, newUser, assertError, IMAGES, pngOfSize, rawRequest } from "./helpers.mjs";

const FIVE_MIB = 5 * 1024 * 1024; // 5,242,880

function assertUploadOk(res, what) {
  assert.equal(res.status, 200, `${what}: ${res.status} ${res.text}`);
  assert.equal(res.json.success, true, what);
  assert.equal(typeof res.json.filename, "string", what);
  assert.ok(res.json.filename.length > 0, what);
  assert.ok(!res.json.filename.includes("/") && !res.json.filename.includes(".."), `${what}: a plain file name`);
  assert.equal(res.json.url, `/uploads/${res.json.filename}`, `${what}: url is /uploads/<filename>`);
}

describe("POST /api/upload", () => {
  let session;
  before(async () => {
    session = (await newUser()).session;
  });

  for (const [kind, img] of Object.entries(IMAGES)) {
    test(`a ${kind.toUpperCase()} image is accepted and served back with its content type and nosniff`, async () => {
      const res = await session.upload(img.bytes, `picture.${kind}`, { type: img.type });
      assertUploadOk(res, kind);
      const got = await session.get(res.json.url);
      assert.equal(got.status, 200, `GET ${res.json.url}`);
      assert.equal((got.headers.get("content-type") || "").split(";")[0].trim().toLowerCase(), img.type);
      assert.equal((got.headers.get("x-content-type-options") || "").toLowerCase(), "nosniff");
      assert.ok(got.buf.equals(img.bytes), "the served bytes are the uploaded bytes");
    });
  }

  test("two uploads of the same name get distinct file names", async () => {
    const a = await session.upload(IMAGES.png.bytes, "same.png", { type: "image/png" });
    const b = await session.upload(IMAGES.png.bytes, "same.png", { type: "image/png" });
    assertUploadOk(a, "first");
    assertUploadOk(b, "second");
    assert.notEqual(a.json.filename, b.json.filename);
  });

  test("the bytes decide, not the name: a PNG named .txt is accepted and served as image/png", async () => {
    const res = await session.upload(IMAGES.png.bytes, "notes.txt", { type: "text/plain" });
    assertUploadOk(res, "png named .txt");
    const got = await session.get(res.json.url);
    assert.equal(got.status, 200);
    assert.equal((got.headers.get("content-type") || "").split(";")[0].trim().toLowerCase(), "image/png");
  });

  test("the bytes decide, not the name: a JPEG named .png is served as image/jpeg", async () => {
    const res = await session.upload(IMAGES.jpeg.bytes, "photo.png", { type: "image/png" });
    assertUploadOk(res, "jpeg named .png");
    const got = await session.get(res.json.url);
    assert.equal(got.status, 200);
    assert.equal((got.headers.get("content-type") || "").split(";")[0].trim().toLowerCase(), "image/jpeg");
  });

  test("400 for a file that is not an image, whatever its name", async () => {
    const cases = [
      [Buffer.from("just some text, not an image\n"), "fake.png", "image/png"],
      [Buffer.from("<html><script>alert(1)</script></html>"), "x.png", "image/png"],
      [Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>'), "x.svg", "image/svg+xml"],
      [Buffer.from("GIF87"), "short.gif", "image/gif"],
      [Buffer.from("RIFF\x10\x00\x00\x00WAVEfmt "), "sound.webp", "image/webp"],
      [Buffer.from([0x42, 0x4d, 0x3a, 0, 0, 0]), "bitmap.bmp", "image/bmp"],
      [Buffer.from("%PDF-1.4\n"), "doc.jpg", "image/jpeg"],
    ];
    for (const [bytes, name, type] of cases) {
      assertError(await session.upload(bytes, name, { type }), 400, name);
    }
  });

  test("400 for an empty file", async () => {
    assertError(await session.upload(Buffer.alloc(0), "empty.png", { type: "image/png" }), 400, "empty file");
  });

  test("400 when there is no file", async () => {
    const fd = new FormData();
    fd.append("comment", "no file here");
    assertError(await session.upload(null, null, { form: fd }), 400, "form without file");
    assertError(await session.upload(IMAGES.png.bytes, "p.png", { field: "image", type: "image/png" }), 400, "wrong field name");
    assertError(await session.post("/api/upload"), 400, "no body");
    assertError(await session.post("/api/upload", { json: { file: "x" } }), 400, "JSON body");
  });

  test("a file of exactly 5 MiB (5,242,880 bytes) is accepted", async () => {
    const bytes = pngOfSize(FIVE_MIB);
    const res = await session.upload(bytes, "big.png", { type: "image/png" });
    assertUploadOk(res, "5 MiB");
    const got = await session.get(res.json.url);
    assert.equal(got.status, 200);
    assert.equal(got.buf.length, FIVE_MIB);
  });

  test("413 for a file one byte over 5 MiB", async () => {
    assertError(await session.upload(pngOfSize(FIVE_MIB + 1), "big.png", { type: "image/png" }), 413, "5 MiB + 1");
  });

  test("413 for a much larger file (8 MiB)", async () => {
    assertError(await session.upload(pngOfSize(8 * 1024 * 1024), "huge.png", { type: "image/png" }), 413, "8 MiB");
  });

  test("the 413 answer reaches the client every time (10 uploads each of 6 MiB and 8 MiB)", async () => {
    // A page must be able to show the server's error for a too large photo:
    // the answer must not be lost to a connection reset.
    const lost = [];
    for (const size of [6 * 1024 * 1024, 8 * 1024 * 1024]) {
      const bytes = pngOfSize(size);
      for (let i = 0; i < 10; i++) {
        try {
          assertError(await session.upload(bytes, "big.png", { type: "image/png" }), 413, `${size} bytes`);
        } catch (e) {
          if (e.code === "ERR_ASSERTION") throw e;
          lost.push(`${size} bytes: ${e.cause?.code || e.message}`);
        }
      }
    }
    assert.deepEqual(lost, [], `the 413 answer was lost ${lost.length} times of 20`);
  });

  test("401 when not logged in", async () => {
    assertError(await new Session().upload(IMAGES.png.bytes, "p.png", { type: "image/png" }), 401, "no cookie");
  });
});

describe("POST /api/upload on a kept-alive connection", () => {
  // Browsers and fetch reuse connections. A server that answers an upload
  // early (401, 400, 413) without reading the body must either keep the
  // connection usable or announce "Connection: close"; closing it silently
  // makes the page's next request fail with a network error.
  for (const [what, status, make] of [
    ["401 (not logged in)", 401, async () => ({ session: new Session(), bytes: IMAGES.png.bytes })],
    ["400 (not an image)", 400, async () => ({ session: (await newUser()).session, bytes: Buffer.alloc(64 * 1024, 0x41) })],
  ]) {
    test(`after an early ${what} answer the next request on the connection works`, async () => {
      const { session, bytes } = await make();
      for (let round = 0; round < 3; round++) {
        const fd = new FormData();
        fd.append("file", new Blob([bytes], { type: "image/png" }), "x.png");
        const headers = session.cookie ? { Cookie: session.cookieHeader() } : {};
        const r1 = await fetch(BASE + "/api/upload", { method: "POST", body: fd, headers });
        await r1.arrayBuffer();
        assert.equal(r1.status, status);
        if ((r1.headers.get("connection") || "").toLowerCase() === "close") continue;
        const r2 = await fetch(BASE + "/api/logout", { method: "POST" }).catch((e) => e);
        assert.ok(
          !(r2 instanceof Error),
          `round ${round}: the connection was closed without "Connection: close" (${r2.cause?.code || r2.message})`,
        );
        assert.equal(r2.status, 200);
      }
    });
  }
});

describe("GET /uploads/<name>", () => {
  test("404 for an unknown name", async () => {
    const s = new Session();
    const res = await s.get("/uploads/does-not-exist-" + Date.now() + ".png");
    assert.equal(res.status, 404);
  });

  test("404 for path traversal (/uploads/..%2f..%2fetc%2fpasswd and friends)", async () => {
    for (const p of [
      "/uploads/..%2f..%2fetc%2fpasswd",
      "/uploads/..%2F..%2F..%2F..%2Fetc%2Fpasswd",
      "/uploads/%2e%2e%2f%2e%2e%2fetc%2fpasswd",
      "/uploads/..%5c..%5cetc%5cpasswd",
      "/uploads/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
      "/uploads/..%2fCargo.toml",
      "/uploads/..%2f..%2fCargo.toml",
    ]) {
      const res = await rawRequest("GET", p);
      assert.ok(!res.body.toString("latin1").includes("root:"), `${p} must not leak /etc/passwd`);
      assert.ok(!res.body.toString("latin1").includes("[workspace]"), `${p} must not leak files outside the upload folder`);
      if (p.includes("%2f") || p.includes("%2F") || p.includes("%5c")) assert.equal(res.status, 404, p);
    }
  });

  test("raw ../ in the path never reaches outside the upload folder", async () => {
    for (const p of ["/uploads/../../../../etc/passwd", "/uploads/../Cargo.toml", "/uploads/./../../etc/passwd"]) {
      const res = await rawRequest("GET", p);
      const body = res.body.toString("latin1");
      assert.ok(!body.includes("root:x:0:0"), `${p} must not leak /etc/passwd`);
      assert.ok(!body.includes("[workspace]"), `${p} must not leak Cargo.toml`);
    }
  });
});
