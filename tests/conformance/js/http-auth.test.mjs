// PROTOCOL.md §2-§3: accounts and the cookie session
// (POST /api/register, /api/login, /api/logout, GET /api/current_user).

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  Session,
  newUser,
  randName,
  randAlnum,
  randPassword,
  assertError,
  assertUser,
} from "./helpers.mjs";

const LOGIN_401_BODY = { success: false, error: "用户名或密码错误" };

describe("POST /api/register", () => {
  test("201 {success: true, user: User} and the new user is logged in", async () => {
    const s = new Session();
    const name = randName();
    const res = await s.register(name, randPassword());
    assert.equal(res.status, 201, res.text);
    assert.equal(res.json.success, true);
    assertUser(res.json.user, name);
    assert.match(res.headers.get("content-type") || "", /application\/json/i);
    const me = await s.currentUser();
    assert.equal(me.status, 200, me.text);
    assert.deepEqual(me.json, { success: true, user: res.json.user });
  });

  test("400 when a field is missing", async () => {
    for (const body of [{}, { username: randName() }, { password: randPassword() }]) {
      assertError(await new Session().post("/api/register", { json: body }), 400, JSON.stringify(body));
    }
  });

  test("400 when a field is not a string", async () => {
    const bodies = [
      { username: 12345678, password: randPassword() },
      { username: null, password: randPassword() },
      { username: [randName()], password: randPassword() },
      { username: { n: randName() }, password: randPassword() },
      { username: randName(), password: 12345678 },
      { username: randName(), password: null },
      { username: randName(), password: true },
    ];
    for (const body of bodies) {
      assertError(await new Session().post("/api/register", { json: body }), 400, JSON.stringify(body));
    }
  });

  test("400 when the body is not a JSON object", async () => {
    const s = new Session();
    assertError(
      await s.post("/api/register", { body: "{not json", headers: { "Content-Type": "application/json" } }),
      400,
      "malformed JSON",
    );
    assertError(await s.post("/api/register", { json: [randName(), randPassword()] }), 400, "JSON array");
    assertError(await s.post("/api/register", { json: "hello" }), 400, "JSON string");
    assertError(await s.post("/api/register"), 400, "no body");
  });

  test("username bounds: 2 and 20 characters accepted, 1 and 21 refused with 400", async () => {
    const two = randAlnum(2);
    const twenty = "t_" + randAlnum(18);
    // 2-char names may collide across runs against a long-lived server; try a few.
    let ok = false;
    for (let i = 0; i < 5 && !ok; i++) {
      const r = await new Session().register(i ? randAlnum(2) : two, randPassword());
      if (r.status === 201) ok = true;
      else assert.equal(r.status, 409, `2-char name: ${r.status} ${r.text}`);
    }
    assert.ok(ok, "a 2-character username must be accepted");
    const r20 = await new Session().register(twenty, randPassword());
    assert.equal(r20.status, 201, `20-char name: ${r20.text}`);
    assertError(await new Session().register(randAlnum(1), randPassword()), 400, "1-char name");
    assertError(await new Session().register("t_" + randAlnum(19), randPassword()), 400, "21-char name");
  });

  test("username bounds count characters, not bytes: 20 Chinese characters accepted, 21 refused", async () => {
    const han = () => String.fromCodePoint(0x4e00 + Math.floor(Math.random() * 0x5000));
    const name20 = Array.from({ length: 20 }, han).join("");
    const name21 = Array.from({ length: 21 }, han).join("");
    const r = await new Session().register(name20, randPassword());
    assert.equal(r.status, 201, r.text);
    assertUser(r.json.user, name20);
    assertError(await new Session().register(name21, randPassword()), 400, "21 Chinese characters");
  });

  test("username is trimmed before checking and storing", async () => {
    const name = randName();
    const s = new Session();
    const r = await s.register(`  ${name}\t `, "secret-pw");
    assert.equal(r.status, 201, r.text);
    assert.equal(r.json.user.username, name);
    const l = await new Session().login(name, "secret-pw");
    assert.equal(l.status, 200, l.text);
    // 20 characters plus white space fit once trimmed
    const twenty = "t_" + randAlnum(18);
    const r20 = await new Session().register(`   ${twenty}  `, "secret-pw");
    assert.equal(r20.status, 201, `padded 20-char name: ${r20.text}`);
    assert.equal(r20.json.user.username, twenty);
    // 1 character plus white space is still too short after trimming
    assertError(await new Session().register(`  ${randAlnum(1)}   `, randPassword()), 400, "padded 1-char name");
  });

  test("400 for an empty or whitespace-only username", async () => {
    for (const u of ["", "   ", "\t\n  "]) {
      assertError(await new Session().register(u, randPassword()), 400, JSON.stringify(u));
    }
  });

  test("username letters of any script, digits, _ and - are accepted", async () => {
    for (const base of ["Ünïcødé", "Привет", "名字", "اسم", "ΑΒΓ", "日本語かな", "a-b_c"]) {
      const name = base + "_" + randAlnum(4);
      const r = await new Session().register(name, randPassword());
      assert.equal(r.status, 201, `${name}: ${r.text}`);
      assert.equal(r.json.user.username, name);
    }
  });

  test("400 for usernames with spaces, punctuation or symbols", async () => {
    const bad = ["a b", "ab cd", "ab.cd", "ab!", "a@b", "a/b", "a'b", 'a"b', "<ab>", "ab;", "a😀b", "a+b", "a\u0000b", "a\nb"];
    for (const b of bad) {
      const name = b.replace("a", "t" + randAlnum(3));
      assertError(await new Session().register(name, randPassword()), 400, JSON.stringify(name));
    }
  });

  test("password is 6 to 72 bytes: 5 refused, 6 and 72 accepted, 73 refused", async () => {
    assertError(await new Session().register(randName(), "12345"), 400, "5-byte password");
    assertError(await new Session().register(randName(), ""), 400, "empty password");
    const six = await new Session().register(randName(), "123456");
    assert.equal(six.status, 201, six.text);
    const name72 = randName();
    const pw72 = "p".repeat(72);
    const r72 = await new Session().register(name72, pw72);
    assert.equal(r72.status, 201, r72.text);
    assert.equal((await new Session().login(name72, pw72)).status, 200);
    assertError(await new Session().register(randName(), "p".repeat(73)), 400, "73-byte password");
  });

  test("password length counts UTF-8 bytes: 24 Chinese characters (72 bytes) accepted, 25 (75 bytes) refused", async () => {
    const name = randName();
    const pw = "密".repeat(24);
    assert.equal(Buffer.byteLength(pw), 72);
    const r = await new Session().register(name, pw);
    assert.equal(r.status, 201, r.text);
    const l = await new Session().login(name, pw);
    assert.equal(l.status, 200, l.text);
    assertError(await new Session().register(randName(), "密".repeat(25)), 400, "75-byte password");
    // 5 bytes made of multibyte characters: "密" + "ab" = 5 bytes
    assertError(await new Session().register(randName(), "密ab"), 400, "5-byte multibyte password");
    // 2 characters but 6 bytes
    const r6 = await new Session().register(randName(), "密码");
    assert.equal(r6.status, 201, `6-byte (2-character) password: ${r6.text}`);
  });

  test("a password over 72 bytes is never truncated at login", async () => {
    const name = randName();
    const pw = "x".repeat(72);
    assert.equal((await new Session().register(name, pw)).status, 201);
    const longer = await new Session().login(name, pw + "y");
    assert.notEqual(longer.status, 200, "a 73-byte password must not log in as its 72-byte prefix");
    assert.ok([400, 401].includes(longer.status), `got ${longer.status}`);
  });

  test("409 when the username is taken", async () => {
    const { username } = await newUser();
    assertError(await new Session().register(username, randPassword()), 409, "same name");
  });

  test("409 when the username differs only in case from an existing one", async () => {
    const { username } = await newUser("t_");
    assertError(await new Session().register(username.toUpperCase(), randPassword()), 409, "upper case");
    assertError(await new Session().register(username.replace("t_", "T_"), randPassword()), 409, "T_ prefix");
    const cyr = "Жук_" + randAlnum(6);
    assert.equal((await new Session().register(cyr, randPassword())).status, 201);
    assertError(await new Session().register(cyr.toLowerCase(), randPassword()), 409, "Cyrillic lower case");
  });

  test("409 for a taken username with surrounding white space", async () => {
    const { username } = await newUser();
    assertError(await new Session().register(` ${username} `, randPassword()), 409, "padded duplicate");
  });
});

describe("the session cookie", () => {
  function sessionCookie(res) {
    const c = res.setCookies.find((c) => c.name === "session");
    assert.ok(c, `a session cookie must be set: ${JSON.stringify(res.setCookies)}`);
    return c;
  }

  function assertCookieAttributes(c) {
    assert.ok(c.value.length > 0, "the session cookie has a value");
    assert.ok(c.attrs.httponly === true, "the session cookie is HttpOnly");
    assert.equal(String(c.attrs.samesite).toLowerCase(), "lax", "the session cookie is SameSite=Lax");
    if (c.attrs.path !== undefined) assert.equal(c.attrs.path, "/", "the session cookie applies to the whole site");
    const week = 7 * 24 * 3600;
    let lifetime;
    if (c.attrs["max-age"] !== undefined) lifetime = Number(c.attrs["max-age"]);
    else if (c.attrs.expires) lifetime = (Date.parse(c.attrs.expires) - Date.now()) / 1000;
    assert.ok(lifetime !== undefined, "the session cookie is persistent (Max-Age or Expires)");
    assert.ok(Math.abs(lifetime - week) < 3600, `the session cookie lives about 7 days, not ${lifetime} s`);
  }

  test("register sets `session`: HttpOnly, SameSite=Lax, valid about 7 days", async () => {
    const res = await new Session().register(randName(), randPassword());
    assert.equal(res.status, 201);
    assertCookieAttributes(sessionCookie(res));
  });

  test("login sets `session`: HttpOnly, SameSite=Lax, valid about 7 days", async () => {
    const { username, password } = await newUser();
    const res = await new Session().login(username, password);
    assert.equal(res.status, 200);
    assertCookieAttributes(sessionCookie(res));
  });

  test("login issues a fresh session id (no session fixation)", async () => {
    const victim = await newUser();
    // an attacker plants a session id they know in the victim's browser
    const plantedId = "fixated" + randAlnum(24);
    const res = await new Session(plantedId).login(victim.username, victim.password);
    assert.equal(res.status, 200, res.text);
    const issued = sessionCookie(res).value;
    assert.notEqual(issued, plantedId, "login must not keep a planted session id");
    assertError(await new Session(plantedId).currentUser(), 401, "the planted session id after the victim's login");
  });

  test("login replaces a valid session id, and the old id does not become the new user's", async () => {
    const attacker = await newUser();
    const victim = await newUser();
    const oldId = attacker.session.cookie;
    const s = new Session(oldId);
    const res = await s.login(victim.username, victim.password);
    assert.equal(res.status, 200);
    const newId = sessionCookie(res).value;
    assert.notEqual(newId, oldId, "login must issue a fresh session id");
    const withOld = await new Session(oldId).currentUser();
    if (withOld.status === 200) {
      assert.notEqual(withOld.json.user.username, victim.username, "the old session id must not log in as the victim");
    } else {
      assertError(withOld, 401, "old session id");
    }
    const withNew = await new Session(newId).currentUser();
    assert.equal(withNew.status, 200);
    assert.equal(withNew.json.user.username, victim.username);
  });

  test("register issues a fresh session id (no session fixation)", async () => {
    const attacker = await newUser();
    const oldId = attacker.session.cookie;
    const s = new Session(oldId);
    const name = randName();
    const res = await s.register(name, randPassword());
    assert.equal(res.status, 201, res.text);
    const newId = sessionCookie(res).value;
    assert.notEqual(newId, oldId, "register must issue a fresh session id");
    const withOld = await new Session(oldId).currentUser();
    if (withOld.status === 200) assert.notEqual(withOld.json.user.username, name);
    const planted = "fixated" + randAlnum(24);
    const res2 = await new Session(planted).register(randName(), randPassword());
    assert.equal(res2.status, 201);
    assert.notEqual(sessionCookie(res2).value, planted);
  });

  test("a made-up session cookie is not logged in", async () => {
    assertError(await new Session("garbage" + randAlnum(20)).currentUser(), 401, "made-up cookie");
  });
});

describe("POST /api/login", () => {
  test("200 {success: true, user: User} for the right password", async () => {
    const { username, password, user } = await newUser();
    const s = new Session();
    const res = await s.login(username, password);
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(res.json, { success: true, user });
    assertUser(res.json.user, username);
    const me = await s.currentUser();
    assert.equal(me.status, 200);
    assert.equal(me.json.user.id, user.id);
  });

  test('401 {"success": false, "error": "用户名或密码错误"} for a wrong password', async () => {
    const { username } = await newUser();
    const s = new Session();
    const res = await s.login(username, "wrong-password");
    assert.equal(res.status, 401, res.text);
    assert.deepEqual(res.json, LOGIN_401_BODY);
    assert.equal(s.cookie, null, "a failed login does not log in");
    assert.equal((await s.currentUser()).status, 401);
  });

  test("401 with the same answer for an unknown username", async () => {
    const res = await new Session().login(randName(), randPassword());
    assert.equal(res.status, 401, res.text);
    assert.deepEqual(res.json, LOGIN_401_BODY);
  });

  test("login matches the exact stored name (another case is 401)", async () => {
    const { username, password } = await newUser("t_");
    const res = await new Session().login(username.toUpperCase(), password);
    assert.equal(res.status, 401, res.text);
    assert.deepEqual(res.json, LOGIN_401_BODY);
  });

  test("400 for a malformed request", async () => {
    const bodies = [{}, { username: randName() }, { password: "secret-pw" }, { username: 1, password: "secret-pw" }, { username: randName(), password: 123456 }, { username: null, password: null }];
    for (const body of bodies) {
      assertError(await new Session().post("/api/login", { json: body }), 400, JSON.stringify(body));
    }
    assertError(
      await new Session().post("/api/login", { body: "{", headers: { "Content-Type": "application/json" } }),
      400,
      "malformed JSON",
    );
    assertError(await new Session().post("/api/login", { json: ["a", "b"] }), 400, "JSON array");
  });

  test("lockout: after 5 failed logins the 6th attempt gets 429, even with the right password", async () => {
    const { username, password } = await newUser();
    for (let i = 0; i < 5; i++) {
      const r = await new Session().login(username, "wrong-" + i);
      assert.equal(r.status, 401, `failed attempt ${i + 1}: ${r.status}`);
    }
    const s = new Session();
    const sixth = await s.login(username, password);
    assertError(sixth, 429, "6th attempt");
    assert.equal(s.cookie, null, "a refused login does not log in");
    assertError(await new Session().login(username, "wrong-again"), 429, "7th attempt");
  });

  test("lockout is per username: other usernames are unaffected", async () => {
    const locked = await newUser();
    const other = await newUser();
    for (let i = 0; i < 6; i++) await new Session().login(locked.username, "wrong-" + i);
    assertError(await new Session().login(locked.username, locked.password), 429, "locked user");
    const r = await new Session().login(other.username, other.password);
    assert.equal(r.status, 200, `another username must still log in: ${r.text}`);
    const w = await new Session().login(other.username, "wrong");
    assert.equal(w.status, 401, "another username still gets 401, not 429");
  });

  test("lockout: a successful login before the 5th failure resets the count", async () => {
    const { username, password } = await newUser();
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 4; i++) {
        const r = await new Session().login(username, "wrong-" + i);
        assert.equal(r.status, 401, `round ${round} failure ${i + 1}`);
      }
      const ok = await new Session().login(username, password);
      assert.equal(ok.status, 200, `round ${round}: 4 failures then the right password must log in: ${ok.text}`);
    }
  });
});

describe("POST /api/logout", () => {
  test("200 {success: true} and the session is destroyed", async () => {
    const { session } = await newUser();
    const cookie = session.cookie;
    const res = await session.logout();
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(res.json, { success: true });
    assertError(await session.currentUser(), 401, "after logout");
    // the old cookie value, replayed, is dead too (server-side destruction)
    assertError(await new Session(cookie).currentUser(), 401, "replayed cookie after logout");
  });

  test("logout of one session leaves the user's other sessions logged in", async () => {
    const { username, password, session } = await newUser();
    const other = new Session();
    assert.equal((await other.login(username, password)).status, 200);
    assert.equal((await session.logout()).status, 200);
    const me = await other.currentUser();
    assert.equal(me.status, 200, me.text);
    assert.equal(me.json.user.username, username);
  });

  test("logout when not logged in is still 200 {success: true}", async () => {
    const res = await new Session().logout();
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(res.json, { success: true });
    const res2 = await new Session("garbage" + randAlnum(16)).logout();
    assert.equal(res2.status, 200, res2.text);
    assert.deepEqual(res2.json, { success: true });
  });
});

describe("GET /api/current_user", () => {
  test("200 {success: true, user: User} when logged in", async () => {
    const { session, user, username } = await newUser();
    const res = await session.currentUser();
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(res.json, { success: true, user });
    assertUser(res.json.user, username);
  });

  test("401 when not logged in", async () => {
    assertError(await new Session().currentUser(), 401, "no cookie");
  });
});
