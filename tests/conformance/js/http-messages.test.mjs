// PROTOCOL.md §3: GET /api/messages?limit=N&before_id=ID | ?after_id=ID

import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { Session, newUser, assertError, assertMessage, populate, messagesAfter, closeAll } from "./helpers.mjs";

function ids(list) {
  return list.map((m) => m.id);
}
function assertAscending(list, what) {
  for (let i = 1; i < list.length; i++) {
    assert.ok(list[i - 1].id < list[i].id, `${what}: oldest first (ids ${list[i - 1].id} then ${list[i].id})`);
  }
}

describe("GET /api/messages", () => {
  let reader;
  let mine; // 60 messages created for these tests, sorted by id
  let firstId;

  before(async () => {
    reader = (await newUser()).session;
    mine = await populate(60);
    firstId = mine[0].id;
  });
  after(closeAll);

  test("401 when not logged in", async () => {
    assertError(await new Session().messages(), 401, "no cookie");
    assertError(await new Session().messages("limit=5"), 401, "no cookie, limit");
  });

  test("200 {success: true, messages: [Message]} with every field of a Message", async () => {
    const res = await reader.messages("limit=5");
    assert.equal(res.status, 200, res.text);
    assert.equal(res.json.success, true);
    assert.ok(Array.isArray(res.json.messages));
    assert.deepEqual(Object.keys(res.json).sort(), ["messages", "success"]);
    for (const m of res.json.messages) assertMessage(m);
  });

  test("a stored message reads back exactly as it was acknowledged", async () => {
    const got = await messagesAfter(reader, firstId - 1);
    const byId = new Map(got.map((m) => [m.id, m]));
    for (const m of mine) assert.deepEqual(byId.get(m.id), m, `message ${m.id}`);
  });

  test("default limit is 50: the newest 50, oldest first", async () => {
    const res = await reader.messages();
    assert.equal(res.status, 200, res.text);
    const list = res.json.messages;
    assert.equal(list.length, 50);
    assertAscending(list, "default page");
    const truth = await messagesAfter(reader, firstId - 1);
    // Nothing else writes while this file runs, so the newest 50 are the last 50 we know.
    assert.deepEqual(ids(list), ids(truth).slice(-50));
  });

  test("limit=N returns the newest N, oldest first", async () => {
    for (const n of [1, 7, 60]) {
      const res = await reader.messages(`limit=${n}`);
      assert.equal(res.status, 200, res.text);
      const list = res.json.messages;
      assert.equal(list.length, n);
      assertAscending(list, `limit=${n}`);
      assert.equal(list[list.length - 1].id, mine[mine.length - 1].id, `limit=${n} ends with the newest message`);
      if (n <= mine.length) assert.deepEqual(ids(list), ids(mine).slice(-n));
    }
  });

  test("before_id: the newest `limit` messages with id < before_id, oldest first", async () => {
    const pivot = mine[30].id;
    const res = await reader.messages(`limit=5&before_id=${pivot}`);
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(ids(res.json.messages), ids(mine.slice(25, 30)));
    // without limit: the default 50, all below before_id
    const res2 = await reader.messages(`before_id=${mine[59].id}`);
    assert.equal(res2.status, 200, res2.text);
    const l2 = res2.json.messages;
    assert.equal(l2.length, 50);
    assertAscending(l2, "before_id page");
    assert.deepEqual(ids(l2).slice(-50), ids(mine.slice(9, 59)));
    // before the very first id there is nothing
    const res3 = await reader.messages("before_id=1");
    assert.equal(res3.status, 200, res3.text);
    assert.deepEqual(res3.json.messages, []);
  });

  test("paging backwards with before_id walks the history without gaps or repeats", async () => {
    const seen = [];
    let before = mine[59].id + 1;
    while (seen.length < 60) {
      const res = await reader.messages(`limit=13&before_id=${before}`);
      assert.equal(res.status, 200, res.text);
      const page = res.json.messages;
      assert.ok(page.length > 0);
      assertAscending(page, "page");
      seen.unshift(...page);
      before = page[0].id;
    }
    assert.deepEqual(ids(seen.slice(-60)), ids(mine));
  });

  test("after_id: the oldest `limit` messages with id > after_id, oldest first", async () => {
    const res = await reader.messages(`after_id=${mine[2].id}&limit=3`);
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(ids(res.json.messages), ids(mine.slice(3, 6)));
    // default limit 50 applies to after_id too
    const res2 = await reader.messages(`after_id=${firstId - 1}`);
    assert.equal(res2.status, 200, res2.text);
    assert.deepEqual(ids(res2.json.messages), ids(mine.slice(0, 50)));
    // catching up from the newest id: nothing missed
    const res3 = await reader.messages(`after_id=${mine[59].id}`);
    assert.equal(res3.status, 200, res3.text);
    assert.deepEqual(res3.json.messages, []);
  });

  test("after_id=0 starts from the oldest message", async () => {
    const res = await reader.messages("after_id=0&limit=3");
    assert.equal(res.status, 200, res.text);
    const list = res.json.messages;
    assert.equal(list.length, 3);
    assertAscending(list, "after_id=0");
    assert.ok(list[0].id <= firstId);
  });

  test("a limit over 200 is treated as 200", async () => {
    // make sure there are more than 200 messages
    const more = await populate(150);
    for (const q of ["limit=201", "limit=1000", "limit=100000"]) {
      const res = await reader.messages(q);
      assert.equal(res.status, 200, `${q}: ${res.text}`);
      const list = res.json.messages;
      assert.equal(list.length, 200, q);
      assertAscending(list, q);
      assert.equal(list[199].id, more[more.length - 1].id, `${q} ends with the newest message`);
    }
    const res = await reader.messages(`after_id=${firstId - 1}&limit=500`);
    assert.equal(res.status, 200, res.text);
    assert.equal(res.json.messages.length, 200, "after_id with limit=500");
    assert.equal(res.json.messages[0].id, firstId);
    const exact = await reader.messages("limit=200");
    assert.equal(exact.json.messages.length, 200);
  });

  test("400 for a limit below 1", async () => {
    for (const q of ["limit=0", "limit=-1", "limit=-50"]) {
      assertError(await reader.messages(q), 400, q);
    }
  });

  test("400 for a limit, before_id or after_id that is not a whole number", async () => {
    const bad = [
      "limit=abc",
      "limit=1.5",
      "limit=",
      "limit=5x",
      "limit=1e2",
      "before_id=abc",
      "before_id=1.5",
      "before_id=",
      "before_id=0x10",
      "after_id=abc",
      "after_id=2.5",
      "after_id=",
      "limit=10&before_id=x",
      "limit=y&after_id=3",
    ];
    for (const q of bad) assertError(await reader.messages(q), 400, q);
  });
});
