// PROTOCOL.md §4 "Sending a message: send_message"

import { describe, test, afterEach } from "node:test";
import assert from "node:assert/strict";
import {
  BASE,
  Client,
  TRANSPORT,
  QUIET_WINDOW,
  connect,
  closeAll,
  newUser,
  randAlnum,
  assertMessage,
  uploadPng,
  newestMessageId,
  messagesAfter,
  sleep,
} from "./helpers.mjs";

afterEach(closeAll);

/** A sender (two tabs) and an observer (another user), all connected. */
async function room() {
  const sender = await newUser();
  const observer = await newUser();
  const s1 = await connect(sender.session);
  const s2 = await connect(sender.session);
  const o = await connect(observer.session);
  await o.waitFor("online_users");
  return { sender, observer, s1, s2, o };
}

function assertRefusalAck(ack, what) {
  assert.ok(ack && typeof ack === "object", `${what}: the ack is an object`);
  assert.deepEqual(Object.keys(ack).sort(), ["error", "success"], `${what}: ack fields ${JSON.stringify(ack)}`);
  assert.equal(ack.success, false, `${what}: must be refused, got ${JSON.stringify(ack).slice(0, 200)}`);
  assert.equal(typeof ack.error, "string", what);
  assert.ok(ack.error.length > 0, what);
}

function assertAcceptAck(ack, what) {
  assert.ok(ack && typeof ack === "object", `${what}: the ack is an object`);
  assert.equal(ack.success, true, `${what}: must be accepted, got ${JSON.stringify(ack).slice(0, 300)}`);
  assert.deepEqual(Object.keys(ack).sort(), ["message", "success"], `${what}: ack fields`);
  assertMessage(ack.message);
  return ack.message;
}

/**
 * Sends each payload with an ack and asserts every one is refused, that no
 * socket receives a new_message meanwhile, and that nothing is stored.
 */
async function assertAllRefused(r, payloads, what) {
  const before = await newestMessageId(r.sender.session);
  for (const p of payloads) {
    const args = p === NO_PAYLOAD ? [] : [p];
    assertRefusalAck(await r.s1.emitAck("send_message", ...args), `${what} ${JSON.stringify(p)?.slice(0, 80)}`);
  }
  await r.o.assertNo("new_message", () => true, QUIET_WINDOW, `after refused ${what}`);
  assert.equal(r.s1.pending("new_message").length, 0, `${what}: nothing broadcast to the sender`);
  const stored = (await messagesAfter(r.sender.session, before)).filter((m) => m.user_id === r.sender.user.id);
  assert.deepEqual(stored, [], `${what}: nothing stored`);
}
const NO_PAYLOAD = Symbol("no payload");

describe(`send_message [${TRANSPORT}]`, () => {
  test("with a callback: stored, acknowledged {success: true, message: Message}", async () => {
    const r = await room();
    const content = "hello " + randAlnum(8);
    const m = assertAcceptAck(await r.s1.send({ content, message_type: "text" }), "text");
    assert.equal(m.content, content);
    assert.equal(m.message_type, "text");
    assert.equal(m.user_id, r.sender.user.id);
    assert.equal(m.username, r.sender.username);
    const stored = await messagesAfter(r.observer.session, m.id - 1);
    assert.deepEqual(stored.find((x) => x.id === m.id), m, "the stored message is the acknowledged one");
  });

  test("new_message (a Message) goes to every socket, the sender's included", async () => {
    const r = await room();
    const content = "to everyone " + randAlnum(8);
    const m = assertAcceptAck(await r.s1.send({ content }), "send");
    for (const [c, who] of [
      [r.s1, "the sending socket"],
      [r.s2, "the sender's other tab"],
      [r.o, "another user"],
    ]) {
      const got = await c.waitFor("new_message", (x) => x.id === m.id);
      assert.deepEqual(got, m, `${who} receives the same Message`);
    }
  });

  test("without a callback: stored and broadcast as new_message, no error", async () => {
    const r = await room();
    const content = "no ack " + randAlnum(8);
    r.s1.emit("send_message", { content });
    const got = await r.o.waitFor("new_message", (x) => x.content === content);
    assertMessage(got, { content, message_type: "text", username: r.sender.username, user_id: r.sender.user.id });
    const own = await r.s1.waitFor("new_message", (x) => x.content === content);
    assert.deepEqual(own, got);
    const stored = await messagesAfter(r.sender.session, got.id - 1);
    assert.deepEqual(stored[0], got);
    assert.equal(r.s1.pending("error").length, 0, "no error event for an accepted message");
  });

  test("message_type defaults to text when absent", async () => {
    const r = await room();
    const m = assertAcceptAck(await r.s1.send({ content: "default type " + randAlnum(4) }), "no message_type");
    assert.equal(m.message_type, "text");
  });

  test("message_type emoji is accepted", async () => {
    const r = await room();
    const m = assertAcceptAck(await r.s1.send({ content: "😀🎉", message_type: "emoji" }), "emoji");
    assert.equal(m.message_type, "emoji");
    assert.equal(m.content, "😀🎉");
    const got = await r.o.waitFor("new_message", (x) => x.id === m.id);
    assert.equal(got.message_type, "emoji");
  });

  test("any other message_type, null included, is refused", async () => {
    const r = await room();
    const c = "typed " + randAlnum(4);
    await assertAllRefused(
      r,
      [
        { content: c, message_type: null },
        { content: c, message_type: "video" },
        { content: c, message_type: "TEXT" },
        { content: c, message_type: "Image" },
        { content: c, message_type: "" },
        { content: c, message_type: " text" },
        { content: c, message_type: 1 },
        { content: c, message_type: ["text"] },
        { content: c, message_type: { t: "text" } },
        { content: c, message_type: true },
      ],
      "message_type",
    );
  });

  test("content is trimmed: the trimmed text is checked, stored and broadcast", async () => {
    const r = await room();
    const core = "trim me " + randAlnum(6);
    const m = assertAcceptAck(await r.s1.send({ content: `  \t\n ${core} \r\n  ` }), "padded");
    assert.equal(m.content, core);
    const got = await r.o.waitFor("new_message", (x) => x.id === m.id);
    assert.equal(got.content, core);
    const stored = await messagesAfter(r.sender.session, m.id - 1);
    assert.equal(stored[0].content, core);
  });

  test("2000 characters (Unicode code points) are accepted, whatever their byte length", async () => {
    const r = await room();
    for (const [unit, what] of [
      ["a", "ASCII"],
      ["中", "Chinese (3 bytes each)"],
      ["😀", "emoji (4 bytes, 2 UTF-16 units each)"],
    ]) {
      const content = unit.repeat(2000);
      const m = assertAcceptAck(await r.s1.send({ content }), `2000 × ${what}`);
      assert.equal(m.content, content, `2000 × ${what} stored unchanged`);
      const got = await r.o.waitFor("new_message", (x) => x.id === m.id);
      assert.equal(Array.from(got.content).length, 2000);
    }
  });

  test("2000 characters surrounded by white space are accepted (the trimmed text is checked)", async () => {
    const r = await room();
    const content = "字".repeat(2000);
    const m = assertAcceptAck(await r.s1.send({ content: "   " + content + "\n\n" }), "padded 2000");
    assert.equal(m.content, content);
  });

  test("2001 characters are refused", async () => {
    const r = await room();
    await assertAllRefused(
      r,
      [{ content: "a".repeat(2001) }, { content: "中".repeat(2001) }, { content: "😀".repeat(2001) }, { content: "x".repeat(10000), message_type: "text" }],
      "2001 characters",
    );
  });

  test("empty or whitespace-only content is refused", async () => {
    const r = await room();
    await assertAllRefused(
      r,
      [{ content: "" }, { content: "   " }, { content: "\n\t \r\n" }, { content: "\u3000\u00a0 " }, { content: " ", message_type: "emoji" }],
      "empty content",
    );
  });

  test("a payload that is not an object is refused", async () => {
    const r = await room();
    await assertAllRefused(
      r,
      ["hello", 42, ["hello"], [{ content: "hi" }], null, true, NO_PAYLOAD, Buffer.from("binary payload")],
      "non-object payload",
    );
  });

  test("content that is not a string is refused", async () => {
    const r = await room();
    await assertAllRefused(
      r,
      [
        {},
        { message_type: "text" },
        { content: null },
        { content: 42 },
        { content: ["hi"] },
        { content: { text: "hi" } },
        { content: true },
        { content: Buffer.from("binary content") },
      ],
      "non-string content",
    );
  });

  test("an image whose content is a /uploads/<name> this server issued is accepted", async () => {
    const r = await room();
    const url = await uploadPng(r.sender.session);
    const m = assertAcceptAck(await r.s1.send({ content: url, message_type: "image" }), "image");
    assert.equal(m.message_type, "image");
    assert.equal(m.content, url);
    const got = await r.o.waitFor("new_message", (x) => x.id === m.id);
    assert.deepEqual(got, m);
    const img = await fetch(BASE + got.content);
    assert.equal(img.status, 200, "the image URL of the message is served");
  });

  test("an image URL surrounded by white space is trimmed and accepted", async () => {
    const r = await room();
    const url = await uploadPng(r.sender.session);
    const m = assertAcceptAck(await r.s1.send({ content: ` ${url}\n`, message_type: "image" }), "padded image");
    assert.equal(m.content, url);
  });

  test("an image that is not a /uploads/<name> issued by this server is refused", async () => {
    const r = await room();
    const url = await uploadPng(r.sender.session);
    const name = url.slice("/uploads/".length);
    await assertAllRefused(
      r,
      [
        { content: "/uploads/made-up-" + randAlnum(10) + ".png", message_type: "image" },
        { content: "https://example.com/cat.png", message_type: "image" },
        { content: "http://evil.example" + url, message_type: "image" },
        { content: BASE + url, message_type: "image" },
        { content: "/uploads/../../etc/passwd", message_type: "image" },
        { content: "/uploads/..%2f..%2fetc%2fpasswd", message_type: "image" },
        { content: `/uploads/../uploads/${name}`, message_type: "image" },
        { content: `/uploads/${name}/..`, message_type: "image" },
        { content: `uploads/${name}`, message_type: "image" },
        { content: name, message_type: "image" },
        { content: `/uploads/${name}?x=1`, message_type: "image" },
        { content: `javascript:alert(1)`, message_type: "image" },
        { content: `/uploads/`, message_type: "image" },
      ],
      "image content",
    );
  });

  test("new_message reaches every socket in the order of the message ids", async () => {
    const a = await newUser();
    const b = await newUser();
    const watcher = await newUser();
    const a1 = await connect(a.session);
    const a2 = await connect(a.session);
    const b1 = await connect(b.session);
    const w = await connect(watcher.session);
    const tag = randAlnum(6);
    const sends = [];
    for (let i = 0; i < 8; i++) {
      sends.push(a1.send({ content: `order ${tag} a${i}` }));
      sends.push(b1.send({ content: `order ${tag} b${i}` }));
      sends.push(a2.send({ content: `order ${tag} c${i}` }));
    }
    const acks = await Promise.all(sends);
    const ids = acks.map((x) => assertAcceptAck(x, "burst").id).sort((x, y) => x - y);
    for (const [c, who] of [
      [a1, "a1"],
      [a2, "a2"],
      [b1, "b1"],
      [w, "watcher"],
    ]) {
      for (const id of ids) await c.waitFor("new_message", (x) => x.id === id);
      const seen = c
        .all()
        .filter((e) => e.event === "new_message" && e.args[0].content.startsWith(`order ${tag} `))
        .map((e) => e.args[0].id);
      assert.deepEqual(seen, ids, `${who} receives every message once, in id order`);
    }
    const stored = (await messagesAfter(a.session, ids[0] - 1)).filter((m) => m.content.startsWith(`order ${tag} `));
    assert.deepEqual(
      stored.map((m) => m.id),
      ids,
      "all stored",
    );
  });

  test("without a callback, a refusal emits `error` {message: str} to the sending socket alone", async () => {
    const r = await room();
    r.s1.emit("send_message", { content: "   " });
    const err = await r.s1.waitFor("error");
    assert.deepEqual(Object.keys(err), ["message"], `error fields: ${JSON.stringify(err)}`);
    assert.equal(typeof err.message, "string");
    assert.ok(err.message.length > 0);
    await sleep(QUIET_WINDOW);
    assert.equal(r.s2.pending("error").length, 0, "the sender's other tab gets no error");
    assert.equal(r.o.pending("error").length, 0, "another user gets no error");
    assert.equal(r.o.pending("new_message").length, 0, "nothing broadcast");
    assert.ok(r.s1.connected, "a refusal does not close the sender's connection");
  });

  test("without a callback, every kind of refusal emits `error` to the sender", async () => {
    const r = await room();
    const bad = ["text", 7, null, {}, { content: 5 }, { content: "x", message_type: null }, { content: "x".repeat(2001) }, { content: "/uploads/nope.png", message_type: "image" }];
    for (const p of bad) {
      r.s1.emit("send_message", p);
      const err = await r.s1.waitFor("error");
      assert.equal(typeof err.message, "string", JSON.stringify(p));
    }
    r.s1.emit("send_message"); // no payload at all
    await r.s1.waitFor("error");
    await sleep(QUIET_WINDOW);
    assert.equal(r.o.pending("error").length, 0);
    assert.equal(r.s2.pending("error").length, 0);
    assert.equal(r.o.pending("new_message").length, 0);
  });

  test("the sender keeps working after refusals", async () => {
    const r = await room();
    assertRefusalAck(await r.s1.send({ content: "" }), "empty");
    const m = assertAcceptAck(await r.s1.send({ content: "still here " + randAlnum(4) }), "after refusal");
    await r.o.waitFor("new_message", (x) => x.id === m.id);
  });
});

describe(`send_message right after connecting [${TRANSPORT}]`, () => {
  // A page may emit as soon as `connect` fires, and socket.io-client even
  // buffers emits made before it and flushes them on connect: the server must
  // handle a socket's events from its first moment.
  test("a send_message emitted as soon as `connect` fires is answered, every time", async () => {
    const u = await newUser();
    let lost = 0;
    const rounds = 40;
    for (let i = 0; i < rounds; i++) {
      const c = new Client(u.session, { settle: false });
      await c.open();
      try {
        // refused (blank), so that it does not count towards the flood limit
        const ack = await c.socket.timeout(2000).emitWithAck("send_message", { content: " " });
        assert.equal(ack.success, false);
      } catch (e) {
        if (!/timed out/.test(e.message)) throw e;
        lost++;
      }
      await c.close();
    }
    assert.equal(lost, 0, `${lost} of ${rounds} send_message events right after connect got no answer`);
  });

  test("a send_message emitted before the connection is up (buffered by the client) is handled", async () => {
    const u = await newUser();
    const o = await connect((await newUser()).session);
    let lost = 0;
    const rounds = 20;
    for (let i = 0; i < rounds; i++) {
      const c = new Client(u.session, { settle: false });
      c.socket.connect();
      const content = `buffered ${i} ${randAlnum(6)}`;
      try {
        const ack = await c.socket.timeout(2000).emitWithAck("send_message", { content });
        assert.equal(ack.success, true, JSON.stringify(ack));
        await o.waitFor("new_message", (m) => m.content === content);
      } catch (e) {
        if (!/timed out/.test(e.message)) throw e;
        lost++;
      }
      await c.close();
    }
    assert.equal(lost, 0, `${lost} of ${rounds} buffered send_message events were lost`);
  });
});
