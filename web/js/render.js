// 画面：消息气泡、系统提示、在线用户、滚动与“有新消息”、图片大图。
// 所有用户内容一律以文本渲染（textContent / createElement），从不交给 innerHTML。
import { $, el, show, hide, avatar } from './dom.js';
import { state } from './state.js';
import { onLeave } from './session.js';
import { isUploadUrl, parseTime, formatTime, formatFull } from './util.js';

const scroller = $('message-scroller');
const list = $('messages');
const newPill = $('new-messages-pill');
const onlineCountEl = $('online-count');
const onlineCountPanel = $('online-count-panel');
const onlineList = $('online-list');
const onlineToggle = $('online-toggle');
const onlinePanel = $('online-panel');
const lightbox = $('lightbox');
const lightboxImg = $('lightbox-img');
const lightboxOpen = $('lightbox-open');

// ---------- 滚动 ----------
export function nearBottom() {
  return scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 80;
}

// 只有用户向上滚动才解除“贴底”；内容变高（图片加载、输入框变高）不算。
let lastScrollTop = 0;

export function scrollToBottom() {
  state.stickToBottom = true;
  scroller.scrollTop = scroller.scrollHeight;
  lastScrollTop = scroller.scrollTop;
  hide(newPill);
}

export function showNewPill() { show(newPill); }

// 在列表顶部插入更早的消息，并保持用户眼前的位置不动。
export function keepingPosition(insert) {
  const before = scroller.scrollHeight - scroller.scrollTop;
  insert();
  scroller.scrollTop = scroller.scrollHeight - before;
}

newPill.addEventListener('click', scrollToBottom);
scroller.addEventListener('scroll', () => {
  const top = scroller.scrollTop;
  if (nearBottom()) { state.stickToBottom = true; hide(newPill); }
  else if (top < lastScrollTop - 2) state.stickToBottom = false;
  lastScrollTop = top;
});
// 内容或可视区大小变化时（图片加载完、输入框变高、手机键盘弹出），保持贴底。
if (typeof ResizeObserver === 'function') {
  const ro = new ResizeObserver(() => { if (state.stickToBottom && !state.loadingEarlier) scrollToBottom(); });
  ro.observe(list);
  ro.observe(scroller);
}

// ---------- 消息 ----------
function buildMessage(m) {
  const me = state.me;
  const mine = !!me && (m.user_id === me.id);
  const type = m.message_type === 'image' || m.message_type === 'emoji' ? m.message_type : 'text';
  const content = typeof m.content === 'string' ? m.content : String(m.content);
  const row = el('div', 'message ' + (mine ? 'mine' : 'theirs'));
  row.dataset.id = String(m.id);
  row.dataset.type = type;
  row.setAttribute('data-testid', 'message');
  row.dataset.author = String(m.username);

  if (!mine) row.appendChild(avatar(String(m.username)));
  const body = el('div', 'message-body');
  const meta = el('div', 'message-meta');
  meta.appendChild(el('span', 'author', mine ? '我' : String(m.username)));
  const d = parseTime(m.timestamp);
  const t = el('time', 'time', formatTime(d));
  if (d) { t.dateTime = d.toISOString(); t.title = formatFull(d); }
  meta.appendChild(t);
  body.appendChild(meta);

  const bubble = el('div', 'bubble');
  if (type === 'image' && isUploadUrl(content)) {
    bubble.classList.add('bubble-image');
    const img = document.createElement('img');
    img.className = 'chat-image';
    img.alt = String(m.username) + ' 发送的图片';
    img.decoding = 'async';
    img.src = content;
    img.addEventListener('load', () => { if (state.stickToBottom) scrollToBottom(); });
    img.addEventListener('error', () => {
      bubble.classList.add('bubble-broken');
      bubble.textContent = '[图片无法加载]';
    });
    img.addEventListener('click', () => openLightbox(content));
    bubble.appendChild(img);
  } else {
    if (type === 'emoji') bubble.classList.add('bubble-emoji');
    bubble.appendChild(el('div', 'content', content));
  }
  body.appendChild(bubble);
  row.appendChild(body);
  return row;
}

// 按 id 有序插入；同一 id 只显示一次。
// history：比已有消息都旧的一批，放在最前（紧跟上一条更旧的）；live/catchup：放在第一条更新的消息之前，否则追加到末尾。
export function addMessage(m, how) {
  if (!m || typeof m.id !== 'number' || state.seen.has(m.id)) return false;
  state.seen.add(m.id);
  if (m.id > state.newestId) state.newestId = m.id;
  const row = buildMessage(m);
  const wasNear = state.stickToBottom || nearBottom();
  let prev = null;
  let next = null;
  for (let k = list.lastElementChild; k; k = k.previousElementSibling) {
    if (!k.dataset.id) continue;
    if (+k.dataset.id < m.id) { prev = k; break; }
    next = k;
  }
  if (how === 'history') list.insertBefore(row, prev ? prev.nextSibling : list.firstChild);
  else if (next) list.insertBefore(row, next);
  else list.appendChild(row);
  if (how === 'live') {
    const mine = state.me && m.user_id === state.me.id;
    if (wasNear || mine) scrollToBottom();
    else show(newPill);
  }
  return true;
}

export function addSystem(text, ts, kind) {
  const wasNear = state.stickToBottom || nearBottom();
  const row = el('div', 'message system' + (kind ? ' system-' + kind : ''));
  row.setAttribute('data-testid', 'system-message');
  const d = parseTime(ts) || new Date();
  const pill = el('span', 'system-text', text);
  const t = el('time', 'time', formatTime(d));
  t.dateTime = d.toISOString(); t.title = formatFull(d);
  pill.appendChild(t);
  row.appendChild(pill);
  list.appendChild(row);
  if (wasNear) scrollToBottom();
}

// ---------- 在线用户 ----------
export function setOnlineCount(n) {
  onlineCountEl.textContent = String(n);
  onlineCountPanel.textContent = String(n);
}

export function renderOnline(users, count) {
  onlineList.textContent = '';
  users.forEach((u) => {
    const name = String(u);
    const li = el('li', 'online-user');
    li.dataset.username = name;
    li.appendChild(avatar(name, 'avatar-sm'));
    li.appendChild(el('span', 'online-name', name));
    if (state.me && name === state.me.username) { li.classList.add('is-me'); li.appendChild(el('span', 'me-tag', '我')); }
    onlineList.appendChild(li);
  });
  setOnlineCount(typeof count === 'number' ? count : users.length);
}

onlineToggle.addEventListener('click', (ev) => {
  ev.stopPropagation();
  const open = !onlinePanel.classList.contains('open');
  onlinePanel.classList.toggle('open', open);
  onlineToggle.setAttribute('aria-expanded', String(open));
});
document.addEventListener('click', (ev) => {
  if (onlinePanel.classList.contains('open') && !onlinePanel.contains(ev.target) && ev.target !== onlineToggle) {
    onlinePanel.classList.remove('open');
    onlineToggle.setAttribute('aria-expanded', 'false');
  }
});

// ---------- 大图 ----------
function openLightbox(url) {
  lightboxImg.src = url;
  lightboxOpen.href = url;
  show(lightbox);
}

function closeLightbox() { hide(lightbox); lightboxImg.removeAttribute('src'); }

// Esc：大图开着就关上并返回 true。
export function closeLightboxIfOpen() {
  if (lightbox.hidden) return false;
  closeLightbox();
  return true;
}

lightbox.addEventListener('click', (ev) => { if (ev.target === lightbox || ev.target === lightboxImg) closeLightbox(); });
$('lightbox-close').addEventListener('click', closeLightbox);

// ---------- 离开聊天室 ----------
onLeave(() => {
  list.textContent = '';
  onlineList.textContent = '';
  setOnlineCount(0);
  hide(newPill);
});
