// PROTOCOL.md §4: the flood limit — 20 accepted messages in the last 10
// seconds, counted per user across all of their sockets. Refused sends do not
// count.

import { describe, test, afterEach } from "node:test";
import assert from "node:assert/strict";
import { TRANSPORT, QUIET_WINDOW, connect, closeAll, newUser, randAlnum, messagesAfter, newestMessageId, sleep } from "./helpers.mjs";

afterEach(closeAll);

async function sendOk(c, content) {
  const ack = await c.send({ content });
  assert.equal(ack.success, true, `"${content}" must be accepted: ${JSON.stringify(ack)}`);
  return ack.message;
}
async function sendRefused(c, content) {
  const ack = await c.send({ content });
  assert.equal(ack.success, false, `"${content}" must be refused by the flood limit: ${JSON.stringify(ack).slice(0, 200)}`);
  assert.equal(typeof ack.error, "string");
  return ack;
}

describe(`the flood limit [${TRANSPORT}]`, () => {
  test("20 messages in 10 s are accepted across two sockets of a user; the 21st is refused", async () => {
    const u = await newUser();
    const other = await newUser();
    const t1 = await connect(u.session);
    const t2 = await connect(u.session);
    const o = await connect(other.session);
    const tag = randAlnum(6);
    const before = await newestMessageId(u.session);
    for (let i = 0; i < 20; i++) await sendOk(i % 2 ? t2 : t1, `flood ${tag} ${i}`);
    await sendRefused(t1, `flood ${tag} 21st`);
    await sendRefused(t2, `flood ${tag} 22nd from the other tab`);

    // without a callback the refusal is an `error` event to that socket
    t2.emit("send_message", { content: `flood ${tag} no ack` });
    const err = await t2.waitFor("error");
    assert.equal(typeof err.message, "string");

    // nothing of the refused ones is broadcast or stored
    await o.assertNo("new_message", (m) => /21st|22nd|no ack/.test(m.content), QUIET_WINDOW, "for refused messages");
    const stored = (await messagesAfter(u.session, before)).filter((m) => m.user_id === u.user.id);
    assert.equal(stored.length, 20, "exactly the 20 accepted messages are stored");
  });

  test("the flood limit is per user: other users keep sending", async () => {
    const u = await newUser();
    const other = await newUser();
    const t = await connect(u.session);
    const o = await connect(other.session);
    for (let i = 0; i < 20; i++) await sendOk(t, `busy ${i}`);
    await sendRefused(t, "busy 21");
    const m = await sendOk(o, "unaffected " + randAlnum(5));
    await t.waitFor("new_message", (x) => x.id === m.id);
  });

  test("a new socket of a flooding user is limited too", async () => {
    const u = await newUser();
    const t1 = await connect(u.session);
    for (let i = 0; i < 20; i++) await sendOk(t1, `first tab ${i}`);
    const t3 = await connect(u.session);
    await sendRefused(t3, "new tab");
  });

  test("invalid sends do not count towards the limit", async () => {
    const u = await newUser();
    const t = await connect(u.session);
    for (let i = 0; i < 10; i++) {
      const ack = await t.send({ content: "   " });
      assert.equal(ack.success, false);
      const ack2 = await t.send({ content: "x", message_type: "video" });
      assert.equal(ack2.success, false);
    }
    for (let i = 0; i < 20; i++) await sendOk(t, `after invalid ${i}`);
    await sendRefused(t, "21st");
  });

  test("flood-refused sends do not count, and the window is 10 seconds", async () => {
    const u = await newUser();
    const t = await connect(u.session);
    const start = Date.now();
    for (let i = 0; i < 20; i++) await sendOk(t, `window ${i}`);
    const lastAck = Date.now();
    assert.ok(lastAck - start < 4000, "20 sends take less than 4 s");
    // Half way through the window: 25 more attempts, all refused.
    await sleep(Math.max(0, lastAck + 5000 - Date.now()));
    for (let i = 0; i < 25; i++) await sendRefused(t, `refused ${i}`);
    // 10 s after the 20th was accepted the 20 have left the window; the
    // refused attempts must not have taken their place.
    await sleep(Math.max(0, lastAck + 10500 - Date.now()));
    await sendOk(t, "after the window");
  });
});
