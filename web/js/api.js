// 与服务器的 HTTP 往来：JSON 请求、带进度的上传、错误文字，以及服务器的设置（上传上限、撤回时限）。
import { formatMb } from './util.js';

// GET /api/settings 失败时用的上传上限（服务器 --max-upload-mb 的默认值）。
const FALLBACK_MAX_UPLOAD = 5 * 1024 * 1024;
// 撤回时限：服务器的 --recall-seconds。GET /api/settings 目前不给它（PROTOCOL.md §6.1），
// 给了就用服务器的，否则用它的默认值 120 秒；超时的撤回由服务器拒绝，页面显示它的原话。
const FALLBACK_RECALL_SECONDS = 120;
export const settings = { maxUploadBytes: FALLBACK_MAX_UPLOAD, recallSeconds: FALLBACK_RECALL_SECONDS };

// JSON 请求；返回 {ok, status, data}，网络错误时 status 为 0。isForm：body 是 FormData。
export async function api(method, url, body, isForm) {
  const opts = { method, credentials: 'same-origin', headers: { Accept: 'application/json' } };
  if (body !== undefined) {
    if (isForm) opts.body = body;
    else { opts.body = JSON.stringify(body); opts.headers['Content-Type'] = 'application/json'; }
  }
  let res;
  let txt;
  try {
    res = await fetch(url, opts);
    txt = await res.text();
  } catch (e) {
    return { ok: false, status: 0, data: null };
  }
  const data = parseJson(txt);
  return { ok: res.ok && !!data && data.success !== false, status: res.status, data };
}

function parseJson(txt) {
  try { return txt ? JSON.parse(txt) : null; } catch (e) { return null; }
}

// 上传一个文件（multipart，字段 file），onProgress(0..1) 报告已发出的比例。
// 返回与 api() 相同的 {ok, status, data}。
export function upload(url, formData, onProgress) {
  return new Promise((resolve) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', url);
    xhr.withCredentials = true;
    xhr.setRequestHeader('Accept', 'application/json');
    xhr.upload.addEventListener('progress', (ev) => {
      if (ev.lengthComputable && ev.total > 0 && onProgress) onProgress(ev.loaded / ev.total);
    });
    xhr.addEventListener('load', () => {
      const data = parseJson(xhr.responseText);
      resolve({ ok: xhr.status >= 200 && xhr.status < 300 && !!data && data.success !== false, status: xhr.status, data });
    });
    const failed = () => resolve({ ok: false, status: 0, data: null });
    xhr.addEventListener('error', failed);
    xhr.addEventListener('abort', failed);
    xhr.addEventListener('timeout', failed);
    xhr.send(formData);
  });
}

export function errorText(r, fallback) {
  if (r.data && typeof r.data.error === 'string' && r.data.error) return r.data.error;
  if (r.status === 0) return '网络错误，请检查连接后重试';
  if (r.status === 413) return '文件太大（最大 ' + formatMb(settings.maxUploadBytes) + '）';
  if (r.status === 429) return '尝试次数过多，请稍后再试';
  return fallback + '（' + r.status + '）';
}

// 读一次服务器的设置；失败时先用默认值，下次需要时再问。返回上传上限（字节）。
let settingsRead = null;
const settingsListeners = [];
export function onSettings(fn) { settingsListeners.push(fn); }
export function loadSettings() {
  if (!settingsRead) {
    settingsRead = api('GET', '/api/settings').then((r) => {
      const n = r.ok && r.data ? r.data.max_upload_bytes : undefined;
      if (Number.isSafeInteger(n) && n > 0) settings.maxUploadBytes = n;
      else settingsRead = null;
      const rs = r.ok && r.data ? r.data.recall_seconds : undefined;
      if (Number.isSafeInteger(rs) && rs >= 0) settings.recallSeconds = rs;
      settingsListeners.forEach((fn) => fn(settings));
    });
  }
  return settingsRead.then(() => settings.maxUploadBytes);
}
