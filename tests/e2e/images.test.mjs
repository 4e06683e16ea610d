// End-to-end tests of sending images without the 📷 button: pasting one into the
// composer (a screenshot in the clipboard) and dropping a file onto the room. The
// upload shows its progress; a refused file gets a clear sentence (the page's own for
// a file that is no image or too big — the limit comes from GET /api/settings — and the
// server's for bytes that are no image). The other user sees each image arrive.
// Clipboard and drag-and-drop are played with the browser's own DataTransfer and
// ClipboardEvent/DragEvent, as the browser hands them to the page.
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  browserPerFile, CHAT_URL, uniqueName, until, waitText, registerViaApi, messages, makePng,
} from './helpers.mjs';

const chromium = browserPerFile();

async function person(prefix) {
  const { context, page } = await chromium.open();
  await registerViaApi(context, page, uniqueName(prefix));
  page.uploads = [];
  page.on('request', (r) => { if (new URL(r.url()).pathname === '/api/upload') page.uploads.push(r.method()); });
  return page;
}

// Paste files into the composer, as the browser does for a copied image. A file is
// {name, type, bytes, pad}: `pad` zero bytes follow `bytes` (made in the page, not copied over).
function paste(page, files) {
  return page.evaluate((files) => {
    const dt = new DataTransfer();
    for (const f of files) dt.items.add(new File([new Uint8Array(f.bytes), new Uint8Array(f.pad || 0)], f.name, { type: f.type }));
    const ev = new ClipboardEvent('paste', { clipboardData: dt, bubbles: true, cancelable: true });
    document.getElementById('message-input').dispatchEvent(ev);
    return ev.defaultPrevented;
  }, files.map((f) => ({ ...f, bytes: [...f.bytes] })));
}
// Drag files over the room and drop them (dragenter, dragover, then drop or dragleave).
async function drag(page, files, { drop = true, check } = {}) {
  const dt = await page.evaluateHandle((files) => {
    const dt = new DataTransfer();
    for (const f of files) dt.items.add(new File([new Uint8Array(f.bytes), new Uint8Array(f.pad || 0)], f.name, { type: f.type }));
    return dt;
  }, files.map((f) => ({ ...f, bytes: [...f.bytes] })));
  await page.dispatchEvent('#message-scroller', 'dragenter', { dataTransfer: dt });
  await page.dispatchEvent('#message-scroller', 'dragover', { dataTransfer: dt });
  if (check) await check();
  await page.dispatchEvent('#message-scroller', drop ? 'drop' : 'dragleave', { dataTransfer: dt });
}

async function newImage(page, afterId) {
  return until(async () => (await messages(page)).find((m) => m.img && m.id > afterId), 'a new image message');
}
const lastId = async (page) => Math.max(0, ...(await messages(page)).map((m) => m.id ?? 0));

test('paste and drop an image: uploaded with progress, sent, and seen by the other user; refused files say why', async () => {
  const a = await person('贴图');
  const b = await person('看图');
  const { max_upload_bytes: limit } = await (await fetch(CHAT_URL + '/api/settings')).json();
  const mb = Math.round(limit / 104857.6) / 10;
  assert.equal(await a.getAttribute('#image-btn', 'aria-label'), `发送图片（PNG、JPEG、GIF、WebP，最大 ${mb} MB）`, 'the limit shown is the server\'s');

  // paste, over an upload slowed to 1 MiB/s so that the progress is seen moving
  await a.evaluate(() => {
    window.__progress = [];
    const pct = document.getElementById('upload-percent');
    const box = document.getElementById('upload-progress');
    new MutationObserver(() => { if (!box.hidden) window.__progress.push(pct.textContent); })
      .observe(pct, { childList: true, characterData: true, subtree: true });
  });
  const cdp = await a.context().newCDPSession(a);
  await cdp.send('Network.enable');
  await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: 1024 * 1024 });
  let since = await lastId(b);
  assert.equal(await paste(a, [{ name: 'screenshot.png', type: 'image/png', bytes: makePng(200, 120), pad: 1536 * 1024 }]), true,
    'the paste was taken as an image');
  await a.locator('#upload-progress').waitFor({ state: 'visible' });
  assert.equal(await a.isDisabled('#image-btn'), true, 'one upload at a time from the button');
  const pasted = await newImage(b, since);
  assert.equal(pasted.cls, 'theirs');
  await a.locator('#upload-progress').waitFor({ state: 'hidden' });
  await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 });
  const progress = (await a.evaluate(() => window.__progress)).map((p) => parseInt(p, 10));
  assert.ok(progress.some((p) => p > 0 && p < 100), `the progress moved: ${JSON.stringify(progress)}`);
  assert.deepEqual(progress, [...progress].sort((x, y) => x - y), 'and only forward');
  assert.equal(progress.at(-1), 100);
  await until(() => b.$eval(`#messages > .message[data-id="${pasted.id}"] img`, (i) => i.complete && i.naturalWidth === 200), 'the pasted image decodes');

  // drop: the room shows where to drop (with the server's limit), then sends
  since = await lastId(b);
  await drag(a, [{ name: 'photo.png', type: 'image/png', bytes: makePng(150, 90) }], {
    check: async () => {
      await a.locator('#drop-overlay').waitFor({ state: 'visible' });
      assert.equal((await a.textContent('#drop-overlay')).trim(), `松开即可发送图片（最大 ${mb} MB）`);
    },
  });
  assert.equal(await a.isVisible('#drop-overlay'), false);
  const dropped = await newImage(b, since);
  await until(() => b.$eval(`#messages > .message[data-id="${dropped.id}"] img`, (i) => i.complete && i.naturalWidth === 150), 'the dropped image decodes');
  // dragging out again leaves nothing behind
  await drag(a, [{ name: 'photo.png', type: 'image/png', bytes: makePng(10, 10) }], { drop: false });
  assert.equal(await a.isVisible('#drop-overlay'), false);

  // refused: not an image, too big (both before any upload), bytes that are no image (the server's sentence)
  const uploads = a.uploads.length;
  await drag(a, [{ name: 'notes.txt', type: 'text/plain', bytes: Buffer.from('hello') }]);
  await waitText(a.locator('#toast'), '只能发送 PNG、JPEG、GIF、WebP 格式的图片', 'a text file is refused');
  const png = makePng(16, 16);
  await paste(a, [{ name: 'huge.png', type: 'image/png', bytes: png, pad: limit + 1 - png.length }]);
  await waitText(a.locator('#toast'), `图片太大（最大 ${mb} MB）`, 'a file over the server\'s limit is refused');
  assert.equal(a.uploads.length, uploads, 'neither was uploaded');
  await paste(a, [{ name: 'fake.png', type: 'image/png', bytes: Buffer.from('this is not a png at all') }]);
  await waitText(a.locator('#toast'), '只支持 PNG、JPEG、GIF、WebP 格式的图片', 'the server refuses bytes that are no image');
  assert.equal(a.uploads.length, uploads + 1);
  await a.locator('#upload-progress').waitFor({ state: 'hidden' });
  assert.equal(await a.isDisabled('#image-btn'), false, 'the button is back');
  await a.waitForTimeout(300);
  assert.equal((await messages(b)).filter((m) => m.img && m.id > dropped.id).length, 0, 'nothing more was sent');
  assert.deepEqual([...a.errors, ...b.errors], []);
});
