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

// ---------- @提及 ----------
// 提及是 “@” 紧跟一个完整的用户名；几个名字都对得上时取最长的（“@小明你好” 提及 小明，
// 有 小明明 这个人时 “@小明明” 提及的是 小明明）。names：可迭代的已知用户名。
// 返回 [{start, end, name}]（start 是 @ 的下标，end 是名字之后的下标）。
export function findMentions(text, names) {
  const list = Array.from(new Set(names)).filter((n) => typeof n === 'string' && n).sort((a, b) => b.length - a.length);
  const out = [];
  if (!list.length || typeof text !== 'string') return out;
  for (let i = text.indexOf('@'); i !== -1; i = text.indexOf('@', i + 1)) {
    const name = list.find((n) => text.startsWith(n, i + 1));
    if (!name) continue;
    out.push({ start: i, end: i + 1 + name.length, name });
    i += name.length;
  }
  return out;
}

// 输入框里光标前正在输入的 “@前缀”：返回 {start, query}，不是就返回 null。
// @ 必须在开头或空白之后，前缀里不能有空白，最长 20 个字符（用户名的上限）。
export function mentionQuery(text, caret) {
  const before = text.slice(0, caret);
  const at = before.lastIndexOf('@');
  if (at === -1) return null;
  if (at > 0 && !/\s/.test(before[at - 1])) return null;
  const query = before.slice(at + 1);
  if (/\s|@/.test(query) || codePoints(query) > 20) return null;
  return { start: at, query };
}

// “正在输入” 的一句话：一人、两人写名字，三人起只写人数。
export function typingText(names) {
  if (!names.length) return '';
  if (names.length === 1) return names[0] + ' 正在输入…';
  if (names.length === 2) return names[0] + '、' + names[1] + ' 正在输入…';
  return names.length + ' 人正在输入…';
}
