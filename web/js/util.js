// 纯函数小工具：文字长度、emoji、图片地址、时间、头像颜色、文件大小。不碰 DOM。

export function codePoints(s) { return Array.from(s).length; }

// 只由 emoji（及空白）组成？需要至少一个图形 emoji，数字、#、* 等不算。
let EMOJI_ONLY_RE = null;
let EMOJI_ANY_RE = null;
try {
  EMOJI_ONLY_RE = new RegExp('^(?:\\p{Extended_Pictographic}|[\\u{1F1E6}-\\u{1F1FF}]|[\\u{1F3FB}-\\u{1F3FF}]|[\\u{E0020}-\\u{E007F}]|\\u200D|\\uFE0F|\\uFE0E|\\u20E3|\\s)+$', 'u');
  EMOJI_ANY_RE = new RegExp('\\p{Extended_Pictographic}|[\\u{1F1E6}-\\u{1F1FF}]', 'u');
} catch (e) { EMOJI_ONLY_RE = null; }

export function isEmojiOnly(s) {
  if (!EMOJI_ONLY_RE) return false;
  const t = s.trim();
  return t.length > 0 && EMOJI_ONLY_RE.test(t) && EMOJI_ANY_RE.test(t);
}

// 只渲染本服务器上传得到的图片地址。
export function isUploadUrl(s) {
  return typeof s === 'string' && s.indexOf('/uploads/') === 0 && /^\/uploads\/[^\s"'<>\\?#]+$/.test(s) && s.indexOf('..') === -1;
}

// 时间：RFC 3339（UTC，Z 结尾）；无时区的旧数据按 UTC 解析。
export function parseTime(ts) {
  if (typeof ts !== 'string') return null;
  let s = ts.trim();
  if (/^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/.test(s)) s = s.replace(' ', 'T') + 'Z';
  const d = new Date(s);
  return isNaN(d.getTime()) ? null : d;
}

function pad(n) { return (n < 10 ? '0' : '') + n; }

export function formatTime(d) {
  if (!d) return '';
  const now = new Date();
  const hm = pad(d.getHours()) + ':' + pad(d.getMinutes());
  if (d.toDateString() === now.toDateString()) return hm;
  const y = new Date(now); y.setDate(now.getDate() - 1);
  if (d.toDateString() === y.toDateString()) return '昨天 ' + hm;
  if (d.getFullYear() === now.getFullYear()) return (d.getMonth() + 1) + '月' + d.getDate() + '日 ' + hm;
  return d.getFullYear() + '年' + (d.getMonth() + 1) + '月' + d.getDate() + '日 ' + hm;
}

export function formatFull(d) {
  if (!d) return '';
  return d.getFullYear() + '-' + pad(d.getMonth() + 1) + '-' + pad(d.getDate()) + ' ' +
    pad(d.getHours()) + ':' + pad(d.getMinutes()) + ':' + pad(d.getSeconds());
}

// 头像颜色：由用户名散列得到。
export function hueOf(name) {
  let h = 0;
  for (let i = 0; i < name.length; i++) h = (h * 31 + name.charCodeAt(i)) >>> 0;
  return h % 360;
}

// 字节数 → “5 MB”（1 MB = 1024 × 1024 字节，与服务器的 --max-upload-mb 一致）。
export function formatMb(bytes) {
  return (Math.round(bytes / 104857.6) / 10) + ' MB';
}
