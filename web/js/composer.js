// 输入区：文字（Enter 发送、Shift+Enter 换行、字数提示）、“正在输入”、@提及候选、
// 表情选择器（方向键、Esc）、发送图片（📷、粘贴、拖放；进度与错误）。
import { $, el, show, hide, showToast } from './dom.js';
import { api, upload, errorText, loadSettings, onSettings, settings } from './api.js';
import { state, isCurrent, MAX_LEN, TYPING_EVERY } from './state.js';
import { onLeave, loginLost } from './session.js';
import { emitMessage, emitTyping, isConnected } from './socket.js';
import { codePoints, isEmojiOnly, formatMb, mentionQuery } from './util.js';

const EMOJI_GROUPS = [
  { name: '表情', list: ['😀', '😃', '😄', '😁', '😆', '😅', '😂', '🤣', '😊', '😇', '🙂', '😉', '😍', '🥰', '😘', '😋', '😜', '🤪', '😎', '🤩', '🥳', '😏', '😢', '😭', '😡', '😱', '🤔', '🤗', '😴', '🙄', '😬', '🤯'] },
  { name: '手势', list: ['👍', '👎', '👌', '✌️', '🤞', '🤟', '🤘', '👏', '🙌', '👐', '🤝', '🙏', '💪', '👋', '✋', '👉', '👈', '👆', '👇', '✍️'] },
  { name: '动物', list: ['🐶', '🐱', '🐭', '🐹', '🐰', '🦊', '🐻', '🐼', '🐨', '🐯', '🦁', '🐮', '🐷', '🐸', '🐵', '🐔', '🐧', '🐦', '🦄', '🐝', '🦋', '🐢', '🐙', '🐳'] },
  { name: '食物', list: ['🍎', '🍊', '🍋', '🍉', '🍇', '🍓', '🍒', '🍑', '🥭', '🍍', '🥝', '🍅', '🍔', '🍟', '🍕', '🌭', '🍜', '🍣', '🍱', '🥟', '🍰', '🎂', '🍦', '☕', '🍵', '🧋', '🍺', '🥂'] },
  { name: '符号', list: ['❤️', '🧡', '💛', '💚', '💙', '💜', '💔', '💯', '✨', '🔥', '🎉', '🎈', '🎁', '⭐', '🌟', '💡', '✅', '❌', '❓', '❗', '💤', '👀', '🌈', '☀️'] },
];

const input = $('message-input');
const composer = $('composer');
const charCount = $('char-count');
const emojiBtn = $('emoji-btn');
const picker = $('emoji-picker');
const imageBtn = $('image-btn');
const imageInput = $('image-input');
const mentionList = $('mention-list');
const progressBox = $('upload-progress');
const progressBar = $('upload-bar');
const progressPct = $('upload-percent');
const messagePane = document.querySelector('.message-pane');
const dropOverlay = $('drop-overlay');
const dropText = $('drop-text');

export function focusInput() { input.focus(); }

// ---------- 文字 ----------
function autoGrow() {
  input.style.height = '';
  if (!input.value) return;               // 空框保持一行（占位文字不撑高）
  input.style.height = Math.min(input.scrollHeight + 3, 160) + 'px';
}

function fitPlaceholder() {
  input.placeholder = window.innerWidth < 560 ? '输入消息…' : '输入消息，Enter 发送，Shift+Enter 换行';
}
fitPlaceholder();
window.addEventListener('resize', fitPlaceholder);

function updateCount() {
  const n = codePoints(input.value.trim());
  if (n > MAX_LEN * 0.9) {
    charCount.textContent = n + '/' + MAX_LEN;
    charCount.classList.toggle('over', n > MAX_LEN);
    show(charCount);
  } else hide(charCount);
}
input.addEventListener('input', () => { autoGrow(); updateCount(); typingInput(); updateMentions(); });

input.addEventListener('keydown', (ev) => {
  if (mentionKey(ev)) return;
  if (ev.key !== 'Enter') return;
  if (ev.shiftKey) return;                                 // Shift+Enter：换行（默认行为）
  if (ev.isComposing || ev.keyCode === 229) return;         // 输入法选词中
  ev.preventDefault();
  sendText();
});
composer.addEventListener('submit', (ev) => { ev.preventDefault(); sendText(); });

function sendText() {
  const raw = input.value;
  const content = raw.trim();
  if (!content) { input.focus(); return; }
  if (state.sending) return;               // 同一段文字正在发送，避免重复
  const type = isEmojiOnly(content) ? 'emoji' : 'text';
  state.sending = true;
  closeMentions();
  emitMessage({ content: raw, message_type: type }, (ok) => {
    state.sending = false;
    // 只在服务器确认成功后清空；发送期间又改动过的内容保留
    if (ok && input.value === raw) { input.value = ''; autoGrow(); updateCount(); }
    if (ok) stopTyping();
    input.focus();
  });
}

// ---------- 正在输入 ----------
// 有字时告诉服务器 typing: true，最多每 TYPING_EVERY 一次（别人那边 6 秒不续就消失）：
// 间隔内的输入不立刻发，到间隔满时框里还有字就补发一次。框被清空或消息发出后
// typing: false（只在说过 true 之后）。间隔从上一次 true 算起，发出消息也不重置：
// 服务器对每人同样每 2 秒只转发一次 true（PROTOCOL.md §6.9），早发的会被它丢掉。
// 比服务器的 2 秒多留一点：网络时快时慢，恰好 2 秒后发出的 true 到服务器时可能还不满
// 2 秒，会被它丢掉，而页面以为说过了，别人就一直看不到。
const TYPING_SPACING = TYPING_EVERY + 300;
let typingSentAt = 0;
let typingOn = false;
let typingTimer = null;

function typingInput() {
  if (!input.value.trim()) { stopTyping(); return; }
  if (typingTimer) return;                       // 已约好间隔满时再发
  const wait = typingSentAt + TYPING_SPACING - Date.now();
  if (wait > 0) { typingTimer = setTimeout(() => { typingTimer = null; if (input.value.trim()) typingInput(); }, wait); return; }
  if (!isConnected()) return;
  typingSentAt = Date.now();
  typingOn = true;
  emitTyping(true);
}

function stopTyping() {
  clearTimeout(typingTimer);
  typingTimer = null;
  if (!typingOn) return;
  typingOn = false;
  emitTyping(false);
}

// ---------- @提及候选 ----------
// 光标前是 “@前缀” 时，列出名字以它开头的在线用户（不含自己）；
// ↑↓ 选择，Enter / Tab 填入，Esc 关闭；也可以用鼠标点。
let mention = null;   // {start, query, names, active}

function closeMentions() {
  mention = null;
  mentionList.textContent = '';
  hide(mentionList);
  input.removeAttribute('aria-activedescendant');
}

function updateMentions() {
  const q = mentionQuery(input.value, input.selectionStart == null ? input.value.length : input.selectionStart);
  const me = state.me ? state.me.username : null;
  if (!q) { closeMentions(); return; }
  const low = q.query.toLowerCase();
  const names = state.online.filter((n) => n !== me && n.toLowerCase().startsWith(low)).slice(0, 8);
  if (!names.length) { closeMentions(); return; }
  const keep = mention && mention.names[mention.active];
  mention = { start: q.start, query: q.query, names, active: Math.max(0, names.indexOf(keep)) };
  renderMentions();
}

function renderMentions() {
  mentionList.textContent = '';
  mention.names.forEach((n, i) => {
    const li = el('li', 'mention-option', '@' + n);
    li.id = 'mention-opt-' + i;
    li.setAttribute('role', 'option');
    li.setAttribute('aria-selected', String(i === mention.active));
    li.dataset.username = n;
    li.setAttribute('data-testid', 'mention-option');
    mentionList.appendChild(li);
  });
  show(mentionList);
  input.setAttribute('aria-activedescendant', 'mention-opt-' + mention.active);
}

function pickMention(name) {
  if (!mention) return;
  const end = mention.start + 1 + mention.query.length;
  input.setRangeText('@' + name + ' ', mention.start, end, 'end');
  closeMentions();
  input.focus();
  autoGrow();
  updateCount();
  typingInput();
}

// 候选列表开着时的按键；处理了就返回 true。
function mentionKey(ev) {
  if (!mention || ev.isComposing) return false;
  const n = mention.names.length;
  if (ev.key === 'ArrowDown' || ev.key === 'ArrowUp') {
    mention.active = (mention.active + (ev.key === 'ArrowDown' ? 1 : n - 1)) % n;
    renderMentions();
  } else if ((ev.key === 'Enter' && !ev.shiftKey) || ev.key === 'Tab') {
    pickMention(mention.names[mention.active]);
  } else if (ev.key === 'Escape') {
    closeMentions();
    ev.stopPropagation();   // 只关候选，不关别的
  } else return false;
  ev.preventDefault();
  return true;
}

mentionList.addEventListener('mousedown', (ev) => { ev.preventDefault(); });   // 不抢输入框焦点
mentionList.addEventListener('click', (ev) => {
  const li = ev.target.closest('.mention-option');
  if (li) pickMention(li.dataset.username);
});
input.addEventListener('click', updateMentions);
input.addEventListener('blur', () => { setTimeout(() => { if (document.activeElement !== input) closeMentions(); }, 0); });

// ---------- 表情 ----------
// 键盘：在按钮上按 Enter/空格打开时焦点进到第一个表情；方向键在格子里移动
// （每行 8 个），Enter 插入，Esc 关上并回到输入框。只有当前那个表情在 Tab 顺序里。
const EMOJI_COLS = 8;
EMOJI_GROUPS.forEach((g, gi) => {
  const sec = el('section', 'emoji-group');
  sec.dataset.group = g.name;
  const title = el('h3', 'emoji-group-title', g.name);
  title.id = 'emoji-group-' + gi;
  sec.appendChild(title);
  const grid = el('div', 'emoji-grid');
  grid.setAttribute('role', 'group');
  grid.setAttribute('aria-labelledby', title.id);
  g.list.forEach((e) => {
    const b = el('button', 'emoji-item', e);
    b.type = 'button';
    b.dataset.emoji = e;
    b.setAttribute('data-testid', 'emoji-item');
    b.title = e;
    b.tabIndex = -1;
    grid.appendChild(b);
  });
  sec.appendChild(grid);
  picker.appendChild(sec);
});
const emojiItems = Array.from(picker.querySelectorAll('.emoji-item'));
let emojiActive = 0;

function setEmojiActive(i, focus) {
  emojiItems[emojiActive].tabIndex = -1;
  emojiActive = Math.max(0, Math.min(emojiItems.length - 1, i));
  const b = emojiItems[emojiActive];
  b.tabIndex = 0;
  if (focus) b.focus();
}
setEmojiActive(0, false);

function openPicker(focusFirst) {
  show(picker);
  emojiBtn.setAttribute('aria-expanded', 'true');
  emojiBtn.classList.add('active');
  if (focusFirst) setEmojiActive(emojiActive, true);
}
function closePicker() { hide(picker); emojiBtn.setAttribute('aria-expanded', 'false'); emojiBtn.classList.remove('active'); }

// Esc：表情选择器开着就关上、把焦点还给输入框，并返回 true。
export function closePickerIfOpen() {
  if (picker.hidden) return false;
  closePicker();
  input.focus();
  return true;
}

emojiBtn.addEventListener('click', (ev) => {
  ev.stopPropagation();
  // detail 为 0：键盘（Enter/空格）按下的，焦点进入选择器
  if (picker.hidden) openPicker(ev.detail === 0); else closePicker();
});
// 按下时不抢走输入框焦点，保持光标位置
picker.addEventListener('mousedown', (ev) => { ev.preventDefault(); });
picker.addEventListener('click', (ev) => {
  ev.stopPropagation();
  const b = ev.target.closest('.emoji-item');
  if (!b) return;
  const fromKeyboard = document.activeElement === b;
  insertAtCursor(b.dataset.emoji, !fromKeyboard);
});
picker.addEventListener('keydown', (ev) => {
  const i = emojiItems.indexOf(document.activeElement);
  if (i === -1) return;
  const moves = { ArrowRight: 1, ArrowLeft: -1, ArrowDown: EMOJI_COLS, ArrowUp: -EMOJI_COLS };
  if (ev.key in moves) { ev.preventDefault(); setEmojiActive(i + moves[ev.key], true); }
  else if (ev.key === 'Home') { ev.preventDefault(); setEmojiActive(0, true); }
  else if (ev.key === 'End') { ev.preventDefault(); setEmojiActive(emojiItems.length - 1, true); }
});
document.addEventListener('click', (ev) => {
  if (!picker.hidden && !picker.contains(ev.target) && ev.target !== emojiBtn) closePicker();
});

let savedCaret = null;   // 焦点进了选择器时输入框的光标位置
input.addEventListener('blur', () => { savedCaret = [input.selectionStart, input.selectionEnd]; });

// focusInput：鼠标点的表情把焦点还给输入框；键盘选的留在选择器里，可以接着选。
function insertAtCursor(text, focusInputAfter = true) {
  const active = document.activeElement === input;
  let start = input.selectionStart == null ? input.value.length : input.selectionStart;
  let end = input.selectionEnd == null ? start : input.selectionEnd;
  if (!active && savedCaret) [start, end] = savedCaret;
  input.setRangeText(text, start, end, 'end');
  savedCaret = [input.selectionStart, input.selectionEnd];
  if (focusInputAfter) input.focus();
  autoGrow();
  updateCount();
  typingInput();
}

// ---------- 图片：📷、粘贴、拖放 ----------
// 先看大小（上限来自服务器，GET /api/settings）和种类，再上传（显示进度），成功后发出。
const IMAGE_TYPES = ['image/png', 'image/jpeg', 'image/gif', 'image/webp'];
let uploading = 0;

function setUploading(busy) {
  uploading = Math.max(0, uploading + (busy ? 1 : -1));
  imageBtn.disabled = uploading > 0;
  imageBtn.classList.toggle('busy', uploading > 0);
  if (!uploading) hide(progressBox);
}

function setProgress(frac) {
  const pct = Math.max(0, Math.min(100, Math.round(frac * 100)));
  progressBar.value = pct;
  progressPct.textContent = pct + '%';
  show(progressBox);
}

function showLimit(s) {
  const t = '发送图片（PNG、JPEG、GIF、WebP，最大 ' + formatMb(s.maxUploadBytes) + '）';
  imageBtn.title = t;
  imageBtn.setAttribute('aria-label', t);
  dropText.textContent = '松开即可发送图片（最大 ' + formatMb(s.maxUploadBytes) + '）';
}
showLimit(settings);
onSettings(showLimit);

async function sendImageFile(file) {
  const mySession = state.session;
  const maxBytes = await loadSettings();   // 上限来自服务器（--max-upload-mb）
  if (!isCurrent(mySession)) return;
  if (file.type && !IMAGE_TYPES.includes(file.type)) { showToast('只能发送 PNG、JPEG、GIF、WebP 格式的图片'); return; }
  if (file.size > maxBytes) { showToast('图片太大（最大 ' + formatMb(maxBytes) + '）'); return; }
  if (!isConnected()) { showToast('尚未连接到服务器，图片未发送'); return; }
  const fd = new FormData();
  fd.append('file', file, file.name || 'image');
  setUploading(true);
  setProgress(0);
  const r = await upload('/api/upload', fd, setProgress);
  if (!isCurrent(mySession)) return;
  setUploading(false);
  if (loginLost(r, mySession)) return;
  if (!r.ok || !r.data || typeof r.data.url !== 'string') { showToast(errorText(r, '图片上传失败')); return; }
  emitMessage({ content: r.data.url, message_type: 'image' }, () => {});
}

// 几张图一张接一张地发，保持顺序。
async function sendImageFiles(files) {
  for (const f of files) await sendImageFile(f);
}

imageBtn.addEventListener('click', () => imageInput.click());
imageInput.addEventListener('change', () => {
  const file = imageInput.files && imageInput.files[0];
  imageInput.value = '';
  if (file) sendImageFile(file);
});

// 粘贴：剪贴板里有文件（截图、复制的图片）就当图片发；只有文字时照常粘贴。
input.addEventListener('paste', (ev) => {
  const files = ev.clipboardData ? Array.from(ev.clipboardData.files || []) : [];
  if (!files.length) return;
  ev.preventDefault();
  sendImageFiles(files);
});

// 拖放：把文件拖进消息区或输入区。
function hasFiles(ev) { return !!ev.dataTransfer && Array.from(ev.dataTransfer.types || []).includes('Files'); }
let dragDepth = 0;
messagePane.addEventListener('dragenter', (ev) => {
  if (!hasFiles(ev)) return;
  ev.preventDefault();
  dragDepth += 1;
  show(dropOverlay);
});
messagePane.addEventListener('dragover', (ev) => {
  if (!hasFiles(ev)) return;
  ev.preventDefault();
  ev.dataTransfer.dropEffect = 'copy';
});
messagePane.addEventListener('dragleave', () => {
  dragDepth = Math.max(0, dragDepth - 1);
  if (!dragDepth) hide(dropOverlay);
});
messagePane.addEventListener('drop', (ev) => {
  dragDepth = 0;
  hide(dropOverlay);
  if (!ev.dataTransfer || !ev.dataTransfer.files || !ev.dataTransfer.files.length) return;
  ev.preventDefault();
  sendImageFiles(Array.from(ev.dataTransfer.files));
});

// ---------- 离开聊天室 ----------
onLeave(() => {
  closePicker();
  closeMentions();
  uploading = 1;
  setUploading(false);
  clearTimeout(typingTimer);
  typingTimer = null;
  typingOn = false;
  typingSentAt = 0;
  dragDepth = 0;
  hide(dropOverlay);
});
