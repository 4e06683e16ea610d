// PROTOCOL.md §6.9 typing: `typing {typing: bool}` becomes `user_typing
// {username, typing}` on every socket but the typist's own tabs; one `true`
// per user per 2 s; a `false` only after a `true` (from the client, a sent
// message, or the last socket leaving); malformed payloads refused with the
// `error` event and nothing forwarded.

import { describe, test, afterEach } from "node:test";
import assert from "node:assert/strict";
import { TRANSPORT, QUIET_WINDOW, connect, closeAll, newUser, sleep } from "./helpers.mjs";

afterEach(closeAll);

/** Asserts that no user_typing came that was not consumed, nor comes within the quiet window. */
async function noneMore(client, why) {
  await client.assertNo("user_typing", () => true, QUIET_WINDOW, why);
  assert.deepEqual(client.pending("user_typing"), [], `unexpected user_typing: ${why}`);
}

/** A typist with two tabs and a watcher, all connected and settled. */
async function room() {
  const typist = await newUser("typ_");
  const watcher = await newUser("wat_");
  const tabs = [await connect(typist.session), await connect(typist.session)];
  const w = await connect(watcher.session);
  await w.waitFor("online_users", (d) => d.users.includes(typist.username));
  return { typist, tabs, w };
}

describe(`typing [${TRANSPORT}]`, () => {
  test("the others are told, once per 2 s; the typist's own tabs never", async () => {
    const { typist, tabs, w } = await room();
    tabs[0].emit("typing", { typing: true });
    tabs[1].emit("typing", { typing: true });
    const told = await w.waitFor("user_typing");
    assert.deepEqual(told, { username: typist.username, typing: true });
    await noneMore(w, "a second true within 2 s is dropped");
    for (const tab of tabs) assert.deepEqual(tab.pending("user_typing"), [], "the typist's own tab is not told");

    await sleep(2100 - QUIET_WINDOW);
    tabs[1].emit("typing", { typing: true });
    assert.deepEqual(await w.waitFor("user_typing"), { username: typist.username, typing: true }, "renewed after 2 s");

    tabs[0].emit("typing", { typing: false });
    assert.deepEqual(await w.waitFor("user_typing"), { username: typist.username, typing: false });
    tabs[0].emit("typing", { typing: false });
    await noneMore(w, "false twice is told once");
    for (const tab of tabs) assert.deepEqual(tab.pending("user_typing"), [], "the typist's own tab is not told");
  });

  test("sending a message, or leaving, ends the typing the others saw", async () => {
    const { typist, tabs, w } = await room();
    tabs[0].emit("typing", { typing: true });
    await w.waitFor("user_typing", (d) => d.typing === true);
    const ack = await tabs[1].send({ content: "typed it" });
    assert.equal(ack.success, true, JSON.stringify(ack));
    assert.deepEqual(await w.waitFor("user_typing"), { username: typist.username, typing: false });
    const again = await tabs[1].send({ content: "and again" });
    assert.equal(again.success, true, JSON.stringify(again));
    await noneMore(w, "not shown typing: no false");

    await sleep(2100);
    tabs[0].emit("typing", { typing: true });
    await w.waitFor("user_typing", (d) => d.typing === true);
    await tabs[0].close();
    await noneMore(w, "another tab is still open");
    await tabs[1].close();
    assert.deepEqual(await w.waitFor("user_typing"), { username: typist.username, typing: false });
  });

  test("a malformed typing is refused with the error event and forwards nothing", async () => {
    const { tabs, w } = await room();
    for (const bad of [{ typing: "yes" }, {}, "typing", [true], { typing: 1 }]) {
      tabs[0].emit("typing", bad);
      const e = await tabs[0].waitFor("error");
      assert.equal(typeof e.message, "string", JSON.stringify(e));
      assert.ok(e.message.length > 0);
    }
    await noneMore(w, "malformed payloads forward nothing");
  });
});
