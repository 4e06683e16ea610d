// 输入区：文字（Enter 发送、Shift+Enter 换行、字数提示）、表情选择器、发送图片。
import { $, el, show, hide, showToast } from './dom.js';
import { api, errorText, loadSettings } from './api.js';
import { state, isCurrent, MAX_LEN } from './state.js';
import { onLeave, loginLost } from './session.js';
import { emitMessage, isConnected } from './socket.js';
import { codePoints, isEmojiOnly, formatMb } from './util.js';

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
input.addEventListener('input', () => { autoGrow(); updateCount(); });

input.addEventListener('keydown', (ev) => {
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
  emitMessage({ content: raw, message_type: type }, (ok) => {
    state.sending = false;
    // 只在服务器确认成功后清空；发送期间又改动过的内容保留
    if (ok && input.value === raw) { input.value = ''; autoGrow(); updateCount(); }
    input.focus();
  });
}

// ---------- 表情 ----------
EMOJI_GROUPS.forEach((g) => {
  const sec = el('section', 'emoji-group');
  sec.dataset.group = g.name;
  sec.appendChild(el('h3', 'emoji-group-title', g.name));
  const grid = el('div', 'emoji-grid');
  g.list.forEach((e) => {
    const b = el('button', 'emoji-item', e);
    b.type = 'button';
    b.dataset.emoji = e;
    b.setAttribute('data-testid', 'emoji-item');
    b.title = e;
    grid.appendChild(b);
  });
  sec.appendChild(grid);
  picker.appendChild(sec);
});

function openPicker() { show(picker); emojiBtn.setAttribute('aria-expanded', 'true'); emojiBtn.classList.add('active'); }
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
  if (picker.hidden) openPicker(); else closePicker();
});
// 按下时不抢走输入框焦点，保持光标位置
picker.addEventListener('mousedown', (ev) => { ev.preventDefault(); });
picker.addEventListener('click', (ev) => {
  ev.stopPropagation();
  const b = ev.target.closest('.emoji-item');
  if (!b) return;
  insertAtCursor(b.dataset.emoji);
});
document.addEventListener('click', (ev) => {
  if (!picker.hidden && !picker.contains(ev.target) && ev.target !== emojiBtn) closePicker();
});

function insertAtCursor(text) {
  const start = input.selectionStart == null ? input.value.length : input.selectionStart;
  const end = input.selectionEnd == null ? start : input.selectionEnd;
  input.setRangeText(text, start, end, 'end');
  input.focus();
  autoGrow();
}

// ---------- 图片 ----------
function setUploading(busy) {
  imageBtn.disabled = busy;
  imageBtn.classList.toggle('busy', busy);
}

imageBtn.addEventListener('click', () => imageInput.click());
imageInput.addEventListener('change', async () => {
  const file = imageInput.files && imageInput.files[0];
  imageInput.value = '';
  if (!file) return;
  const mySession = state.session;
  const maxBytes = await loadSettings();   // 上限来自服务器（--max-upload-mb）
  if (!isCurrent(mySession)) return;
  if (file.size > maxBytes) { showToast('图片太大（最大 ' + formatMb(maxBytes) + '）'); return; }
  if (!isConnected()) { showToast('尚未连接到服务器，图片未发送'); return; }
  const fd = new FormData();
  fd.append('file', file, file.name || 'image');
  setUploading(true);
  const r = await api('POST', '/api/upload', fd, true);
  if (!isCurrent(mySession)) return;
  setUploading(false);
  if (loginLost(r, mySession)) return;
  if (!r.ok || !r.data || typeof r.data.url !== 'string') { showToast(errorText(r, '图片上传失败')); return; }
  emitMessage({ content: r.data.url, message_type: 'image' }, () => {});
});

// ---------- 离开聊天室 ----------
onLeave(() => {
  closePicker();
  setUploading(false);
});
