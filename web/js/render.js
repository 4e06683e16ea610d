// 画面：消息气泡（@提及高亮、撤回/删除按钮）、撤回/删除后的提示、系统提示、在线用户
// （管理员的封禁按钮）、“正在输入”、滚动与“有新消息”、图片大图、标题未读数与桌面通知。
// 所有用户内容一律以文本渲染（textContent / createElement），从不交给 innerHTML。
// 按钮只报告“用户要做什么”（onAction），和服务器打交道的是 socket.js。
import { $, el, show, hide, avatar, setUnreadTitle } from './dom.js';
import { settings } from './api.js';
import { state, serverNow, noteServerTime } from './state.js';
import { onLeave } from './session.js';
import { isUploadUrl, parseTime, formatTime, formatFull, findMentions, typingText } from './util.js';

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
const typingEl = $('typing-indicator');

// 用户点了消息或在线列表上的按钮：{action: 'recall'|'delete'|'ban'|'unban', id?, username?}。
let actionHandler = () => {};
export function onAction(fn) { actionHandler = fn; }

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
function isMine(m) { return !!state.me && m.user_id === state.me.id; }

// 谁都可能被提及：在线的人、见过的作者，以及我自己。
function mentionNames() {
  const names = new Set(state.knownNames);
  state.online.forEach((n) => names.add(n));
  if (state.me) names.add(state.me.username);
  return names;
}

// 文字内容：@提及 包在 <span class="mention"> 里（仍是文本节点），返回是否提及了我。
function fillContent(box, content) {
  const found = findMentions(content, mentionNames());
  let at = 0;
  let mentionsMe = false;
  found.forEach((f) => {
    if (f.start > at) box.appendChild(document.createTextNode(content.slice(at, f.start)));
    const span = el('span', 'mention', content.slice(f.start, f.end));
    if (state.me && f.name === state.me.username) { span.classList.add('mention-me'); mentionsMe = true; }
    box.appendChild(span);
    at = f.end;
  });
  if (at < content.length) box.appendChild(document.createTextNode(content.slice(at)));
  return mentionsMe;
}

// 还能撤回到什么时候（毫秒，服务器时钟）；不是我的或没有时间的消息为 null。
function recallDeadline(row) {
  if (row.dataset.mine !== '1' || !row.dataset.ts) return null;
  return Date.parse(row.dataset.ts) + settings.recallSeconds * 1000;
}

const recallTimers = new Map();   // id → 撤回时限到时刷新按钮的定时器

function actionButton(action, label, title) {
  const b = el('button', 'msg-action msg-action-' + action, label);
  b.type = 'button';
  b.dataset.action = action;
  b.setAttribute('data-testid', 'message-' + action);
  b.setAttribute('aria-label', title);
  b.title = title;
  return b;
}

// 消息旁的按钮：我的消息在时限内可“撤回”；管理员对任何消息可“删除”（自己的消息过了时限也是删除）。
function refreshActions(row) {
  const id = +row.dataset.id;
  clearTimeout(recallTimers.get(id));
  recallTimers.delete(id);
  const bar = row.querySelector('.message-actions');
  if (!bar) return;
  bar.textContent = '';
  const deadline = recallDeadline(row);
  const left = deadline == null ? -1 : deadline - serverNow();
  const who = row.dataset.mine === '1' ? '我' : row.dataset.author;
  if (left > 0) {
    bar.appendChild(actionButton('recall', '撤回', '撤回这条消息'));
    recallTimers.set(id, setTimeout(() => { if (row.isConnected) refreshActions(row); }, Math.min(left + 50, 2147483000)));
  } else if (state.me && state.me.is_admin === true) {
    bar.appendChild(actionButton('delete', '删除', '删除 ' + who + ' 的这条消息'));
  }
  bar.hidden = !bar.firstChild;
}

function buildMessage(m) {
  const mine = isMine(m);
  const type = m.message_type === 'image' || m.message_type === 'emoji' ? m.message_type : 'text';
  const content = typeof m.content === 'string' ? m.content : String(m.content);
  const row = el('div', 'message ' + (mine ? 'mine' : 'theirs'));
  row.dataset.id = String(m.id);
  row.dataset.type = type;
  row.setAttribute('data-testid', 'message');
  row.dataset.author = String(m.username);
  if (mine) row.dataset.mine = '1';

  if (!mine) row.appendChild(avatar(String(m.username)));
  const body = el('div', 'message-body');
  const meta = el('div', 'message-meta');
  meta.appendChild(el('span', 'author', mine ? '我' : String(m.username)));
  const d = parseTime(m.timestamp);
  const t = el('time', 'time', formatTime(d));
  if (d) { t.dateTime = d.toISOString(); t.title = formatFull(d); row.dataset.ts = d.toISOString(); }
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
    // 图片放在按钮里：鼠标点、键盘 Enter/空格都能看大图。
    const open = el('button', 'image-open');
    open.type = 'button';
    open.title = '查看大图';
    open.appendChild(img);
    open.addEventListener('click', () => openLightbox(content, open));
    bubble.appendChild(open);
  } else {
    if (type === 'emoji') bubble.classList.add('bubble-emoji');
    const box = el('div', 'content');
    if (fillContent(box, content) && !mine) {
      row.classList.add('mentions-me');
      row.dataset.mentionsMe = '1';
    }
    bubble.appendChild(box);
  }
  const line = el('div', 'bubble-line');
  line.appendChild(bubble);
  const bar = el('div', 'message-actions');
  line.appendChild(bar);
  body.appendChild(line);
  row.appendChild(body);
  refreshActions(row);
  return row;
}

// 按 id 有序插入；同一 id 只显示一次；已撤回/删除的不再显示。
// history：比已有消息都旧的一批，放在最前（紧跟上一条更旧的）；live/catchup：放在第一条更新的消息之前，否则追加到末尾。
export function addMessage(m, how) {
  if (!m || typeof m.id !== 'number' || state.seen.has(m.id) || state.deleted.has(m.id)) return false;
  state.seen.add(m.id);
  if (m.id > state.newestId) state.newestId = m.id;
  if (typeof m.username === 'string') state.knownNames.add(m.username);
  noteServerTime(parseTime(m.timestamp));
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
    const mine = isMine(m);
    if (wasNear || mine) scrollToBottom();
    else show(newPill);
    if (!mine) alertNew(m, row.dataset.mentionsMe === '1');
  }
  return true;
}

// 撤回/删除（message_deleted，或重连后 GET /api/messages/deleted 的一项）：
// 消息原地变成一行小字；作者自己撤回的写“X 撤回了一条消息”，否则“管理员删除了一条消息”。
// 没显示过的 id 也记下，之后历史里再来也不显示。返回是否改了画面。
export function applyDeletion(d) {
  if (!d || typeof d.id !== 'number') return false;
  state.deleted.add(d.id);
  clearTimeout(recallTimers.get(d.id));
  recallTimers.delete(d.id);
  const when = parseTime(d.timestamp);
  noteServerTime(when);
  const row = list.querySelector('.message[data-id="' + d.id + '"]');
  if (!row || row.dataset.deleted === '1') return false;
  const author = row.dataset.author;
  const text = d.username === author ? author + ' 撤回了一条消息' : '管理员删除了一条消息';
  const img = row.querySelector('img.chat-image');
  if (img && !lightbox.hidden && lightboxImg.getAttribute('src') === img.getAttribute('src')) closeLightbox();
  row.className = 'message system system-deleted';
  row.dataset.deleted = '1';
  row.setAttribute('data-testid', 'deleted-notice');
  row.textContent = '';
  row.appendChild(systemPill(text, when || new Date()));
  return true;
}

function systemPill(text, d) {
  const pill = el('span', 'system-text', text);
  const t = el('time', 'time', formatTime(d));
  t.dateTime = d.toISOString(); t.title = formatFull(d);
  pill.appendChild(t);
  return pill;
}

// 系统提示。action：{action, username, label, title}，在提示里加一个按钮（管理员的“解除封禁”）。
export function addSystem(text, ts, kind, action) {
  const wasNear = state.stickToBottom || nearBottom();
  const row = el('div', 'message system' + (kind ? ' system-' + kind : ''));
  row.setAttribute('data-testid', 'system-message');
  const d = parseTime(ts) || new Date();
  noteServerTime(parseTime(ts));
  const pill = systemPill(text, d);
  if (action) {
    const b = el('button', 'link-btn system-action', action.label);
    b.type = 'button';
    b.dataset.action = action.action;
    b.dataset.username = action.username;
    b.setAttribute('data-testid', 'system-' + action.action);
    if (action.title) { b.title = action.title; b.setAttribute('aria-label', action.title); }
    pill.appendChild(b);
  }
  row.appendChild(pill);
  list.appendChild(row);
  if (wasNear) scrollToBottom();
  return row;
}

list.addEventListener('click', (ev) => {
  const b = ev.target.closest('button[data-action]');
  if (!b || !list.contains(b)) return;
  const row = b.closest('.message');
  actionHandler({
    action: b.dataset.action,
    id: row && row.dataset.id ? +row.dataset.id : undefined,
    username: b.dataset.username || (row ? row.dataset.author : undefined),
    button: b,
  });
});

// ---------- 在线用户 ----------
export function setOnlineCount(n) {
  onlineCountEl.textContent = String(n);
  onlineCountPanel.textContent = String(n);
}

export function renderOnline(users, count) {
  state.online = users.map(String);
  onlineList.textContent = '';
  const admin = !!state.me && state.me.is_admin === true;
  state.online.forEach((name) => {
    state.knownNames.add(name);
    const li = el('li', 'online-user');
    li.dataset.username = name;
    li.appendChild(avatar(name, 'avatar-sm'));
    li.appendChild(el('span', 'online-name', name));
    if (state.me && name === state.me.username) { li.classList.add('is-me'); li.appendChild(el('span', 'me-tag', '我')); }
    else if (admin) {
      const b = el('button', 'ban-btn', '封禁');
      b.type = 'button';
      b.dataset.action = 'ban';
      b.dataset.username = name;
      b.setAttribute('data-testid', 'ban-button');
      b.setAttribute('aria-label', '封禁 ' + name);
      b.title = '封禁 ' + name;
      li.appendChild(b);
    }
    onlineList.appendChild(li);
  });
  setOnlineCount(typeof count === 'number' ? count : users.length);
}

onlineList.addEventListener('click', (ev) => {
  const b = ev.target.closest('button[data-action]');
  if (!b) return;
  ev.stopPropagation();
  actionHandler({ action: b.dataset.action, username: b.dataset.username, button: b });
});

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

// ---------- 正在输入 ----------
// 谁在输入（插入顺序）→ 到期定时器；TYPING_TTL 内没续上就去掉。我自己从不显示。
const typers = new Map();

function showTyping() {
  const text = typingText(Array.from(typers.keys()));
  typingEl.textContent = text;
  typingEl.hidden = !text;
}

export function setTyping(name, typing, ttl) {
  if (typeof name !== 'string' || !name || (state.me && name === state.me.username)) return;
  clearTimeout(typers.get(name));
  if (typing) typers.set(name, setTimeout(() => { typers.delete(name); showTyping(); }, ttl));
  else typers.delete(name);
  showTyping();
}

function clearTyping() {
  typers.forEach((t) => clearTimeout(t));
  typers.clear();
  showTyping();
}

// ---------- 提醒：标题里的未读数、提及我的桌面通知 ----------
// 标签页在后台时，每条别人的新消息让标题变成“(N) 在线聊天室”；回到前台清零。
// 桌面通知只在用户点过“开启通知”（并得到浏览器许可）之后，且只为提及我的消息。
let unread = 0;
let notifyEnabled = false;

export function setNotifyEnabled(on) { notifyEnabled = !!on; }

function alertNew(m, mentionsMe) {
  if (!document.hidden) return;
  unread += 1;
  setUnreadTitle(unread);
  if (mentionsMe && notifyEnabled && typeof Notification === 'function' && Notification.permission === 'granted') {
    try {
      const n = new Notification(String(m.username) + ' 在聊天室提到了你', {
        body: String(m.content).slice(0, 140),
        tag: 'chat-mention-' + m.id,
      });
      n.onclick = () => { window.focus(); n.close(); };
    } catch (e) { /* 某些浏览器只允许 Service Worker 发通知：放弃这一条 */ }
  }
}

document.addEventListener('visibilitychange', () => {
  if (!document.hidden && unread) { unread = 0; setUnreadTitle(0); }
});

// ---------- 大图 ----------
let lightboxOpener = null;   // 关上大图后焦点回到哪里

function openLightbox(url, opener) {
  lightboxImg.src = url;
  lightboxOpen.href = url;
  lightboxOpener = opener || null;
  show(lightbox);
  $('lightbox-close').focus();
}

function closeLightbox() {
  hide(lightbox);
  lightboxImg.removeAttribute('src');
  if (lightboxOpener && lightboxOpener.isConnected) lightboxOpener.focus();
  lightboxOpener = null;
}

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
  recallTimers.forEach((t) => clearTimeout(t));
  recallTimers.clear();
  clearTyping();
  list.textContent = '';
  onlineList.textContent = '';
  setOnlineCount(0);
  hide(newPill);
  unread = 0;
});
