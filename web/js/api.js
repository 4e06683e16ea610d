// 与服务器的 HTTP 往来：JSON 请求、错误文字，以及服务器的设置（上传上限）。
import { formatMb } from './util.js';

// GET /api/settings 失败时用的上传上限（服务器 --max-upload-mb 的默认值）。
const FALLBACK_MAX_UPLOAD = 5 * 1024 * 1024;
export const settings = { maxUploadBytes: FALLBACK_MAX_UPLOAD };

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
  let data = null;
  try { data = txt ? JSON.parse(txt) : null; } catch (e) { data = null; }
  return { ok: res.ok && !!data && data.success !== false, status: res.status, data };
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
export function loadSettings() {
  if (!settingsRead) {
    settingsRead = api('GET', '/api/settings').then((r) => {
      const n = r.ok && r.data ? r.data.max_upload_bytes : undefined;
      if (Number.isSafeInteger(n) && n > 0) settings.maxUploadBytes = n;
      else settingsRead = null;
    });
  }
  return settingsRead.then(() => settings.maxUploadBytes);
}
