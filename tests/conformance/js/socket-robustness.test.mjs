// PROTOCOL.md §1 and §4: "No malformed input closes the connection of anyone
// else or stops the server"; max payload 1,000,000 bytes.

import { describe, test, afterEach } from "node:test";
import assert from "node:assert/strict";
import { BASE, TRANSPORT, QUIET_WINDOW, connect, closeAll, newUser, randAlnum, newestMessageId, messagesAfter, sleep } from "./helpers.mjs";

afterEach(closeAll);

/** Two bystanders, both connected, that can talk to each other. */
async function bystanders() {
  const x = await newUser();
  const y = await newUser();
  const cx = await connect(x.session);
  const cy = await connect(y.session);
  return { x, y, cx, cy };
}

async function assertStillWorking({ cx, cy }, what) {
  assert.ok(cx.connected && cy.connected, `${what}: the bystanders stay connected`);
  const content = "still alive " + randAlnum(8);
  const ack = await cx.send({ content });
  assert.equal(ack.success, true, `${what}: a bystander can still send: ${JSON.stringify(ack)}`);
  await cy.waitFor("new_message", (m) => m.id === ack.message.id);
  const h = await fetch(BASE + "/healthz");
  assert.equal(h.status, 200, `${what}: the server is still up`);
}

describe(`malformed input [${TRANSPORT}]`, () => {
  test("unknown events disconnect no one and are ignored", async () => {
    const b = await bystanders();
    const bad = await newUser();
    const c = await connect(bad.session);
    c.emit("no_such_event", { content: "x" });
    c.emit("sendMessage", { content: "x" });
    c.emit("send_message ", { content: "x" });
    c.emit("new_message", { id: 1, content: "forged" });
    c.emit("user_joined", { username: "forged", online_count: 99 });
    c.emit("online_users", { count: 99, users: ["forged"] });
    c.emit("disconnect_me");
    await b.cy.assertNo("new_message", (m) => m.content === "forged" || m.content === "x", QUIET_WINDOW, "for unknown events");
    assert.equal(b.cy.pending("user_joined", (d) => d.username === "forged").length, 0, "clients cannot forge broadcasts");
    await assertStillWorking(b, "unknown events");
    assert.ok(c.connected, "unknown events do not disconnect the sender either");
    const ack = await c.send({ content: "after unknown events" });
    assert.equal(ack.success, true);
  });

  test("an unknown event with a callback does not disconnect anyone", async () => {
    const b = await bystanders();
    const bad = await newUser();
    const c = await connect(bad.session);
    await c.emitAck("no_such_event", { x: 1 }).catch(() => {}); // an ack is optional
    await assertStillWorking(b, "unknown event with ack");
  });

  test("garbage Socket.IO packets close no one else's connection and do not stop the server", async () => {
    const b = await bystanders();
    const garbage = [
      "2garbage",
      "2[",
      '2["send_message"',
      '2{"content":"x"}',
      "2[]",
      "2[null]",
      '2[123,{"content":"x"}]',
      '2["send_message",{"content":',
      "9",
      "7",
      "",
      "3",
      '3["nope"]',
      "299999999999999999999[]",
      '0{"token":"x"}',
      '2/nope,["send_message",{"content":"x"}]',
      '51-["send_message",{"_placeholder":true,"num":0}]',
      '2["send_message",{"content":"\\ud800"}]',
    ];
    for (const g of garbage) {
      const bad = await newUser();
      const c = await connect(bad.session);
      c.socket.io.engine.write(g); // an Engine.IO message carrying a malformed Socket.IO packet
    }
    await sleep(QUIET_WINDOW);
    await assertStillWorking(b, "garbage packets");
  });

  test("garbage Engine.IO packets close no one else's connection", async () => {
    const b = await bystanders();
    const frames = ["x", "8", "6", "2probe", "{}", "\u0000\u0001", "4", "b" + "AAAA", "1", "0"];
    for (const frame of frames) {
      const bad = await newUser();
      const c = await connect(bad.session);
      const engine = c.socket.io.engine;
      if (engine.transport.name === "websocket") {
        engine.transport.ws.send(frame); // a raw frame, bypassing the encoder
      } else {
        await fetch(`${BASE}/socket.io/?EIO=4&transport=polling&sid=${encodeURIComponent(engine.id)}`, {
          method: "POST",
          headers: { Cookie: bad.session.cookieHeader(), "Content-Type": "text/plain;charset=UTF-8" },
          body: frame,
        }).catch(() => {});
      }
    }
    await sleep(QUIET_WINDOW);
    await assertStillWorking(b, "garbage Engine.IO packets");
  });

  test("a payload over 1,000,000 bytes is refused or closes only that client", async () => {
    const b = await bystanders();
    const bad = await newUser();
    const c = await connect(bad.session);
    const before = await newestMessageId(b.x.session);
    const huge = "a".repeat(1_100_000) + randAlnum(8);
    const outcome = await c
      .emitAck("send_message", { content: huge })
      .then((ack) => ({ ack }))
      .catch((e) => ({ error: e }));
    if (outcome.ack) {
      assert.equal(outcome.ack.success, false, "an over-size message is never accepted");
    } else {
      // no ack: the server must have closed this client's connection
      if (c.connected) await c.waitDisconnect();
      assert.equal(c.connected, false, "without an ack, the over-size sender must have been disconnected");
    }
    await b.cy.assertNo("new_message", (m) => m.content.length > 2000, QUIET_WINDOW, "for the over-size message");
    const stored = await messagesAfter(b.x.session, before);
    assert.ok(!stored.some((m) => m.content.length > 2000), "nothing over-size stored");
    await assertStillWorking(b, "over-size payload");
  });

  test("a large payload under the limit (but over 2000 characters) is refused with an answer", async () => {
    const b = await bystanders();
    const bad = await newUser();
    const c = await connect(bad.session);
    const ack = await c.emitAck("send_message", { content: "b".repeat(900_000) });
    assert.equal(ack.success, false);
    assert.equal(typeof ack.error, "string");
    await assertStillWorking(b, "large payload");
  });
});
