// 页面骨架：取元素、造元素、头像、提示条、确认框、连接状态、登录页与聊天室之间的切换、
// 标题里的未读数、设置面板与深浅色主题。
import { hueOf } from './util.js';

export function $(id) { return document.getElementById(id); }

export function el(tag, className, text) {
  const e = document.createElement(tag);
  if (className) e.className = className;
  if (text != null) e.textContent = text;
  return e;
}

export function show(e) { e.hidden = false; }
export function hide(e) { e.hidden = true; }

export function avatar(name, extra) {
  const a = el('span', 'avatar' + (extra ? ' ' + extra : ''), Array.from(name || '?')[0].toUpperCase());
  const hue = hueOf(name || '?');
  a.style.background = 'linear-gradient(135deg, hsl(' + hue + ',75%,62%), hsl(' + ((hue + 40) % 360) + ',70%,52%))';
  a.setAttribute('aria-hidden', 'true');
  return a;
}

// ---------- 提示 ----------
const toast = $('toast');
let toastTimer = null;

export function showToast(msg, kind) {
  toast.textContent = msg;
  toast.dataset.kind = kind || 'error';
  show(toast);
  toast.classList.remove('toast-in');
  void toast.offsetWidth; // 重新触发动画
  toast.classList.add('toast-in');
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => hide(toast), kind === 'info' ? 3000 : 5000);
}
toast.addEventListener('click', () => hide(toast));

// ---------- 确认框 ----------
// 删除消息、封禁用户之前问一句。<dialog>.showModal()：焦点留在框里，Esc 即取消，
// 焦点先落在“取消”上。返回 Promise<boolean>。
const confirmDlg = $('confirm-dialog');
const confirmText = $('confirm-text');
const confirmOk = $('confirm-ok');
let confirmPending = null;

export function confirmAction(text, okLabel) {
  if (confirmPending) { confirmPending(false); confirmPending = null; }
  if (confirmDlg.open) confirmDlg.close('cancel');
  confirmText.textContent = text;
  confirmOk.textContent = okLabel || '确定';
  confirmDlg.returnValue = '';
  return new Promise((resolve) => {
    confirmPending = resolve;
    confirmDlg.showModal();
  });
}
confirmDlg.addEventListener('close', () => {
  const done = confirmPending;
  confirmPending = null;
  if (done) done(confirmDlg.returnValue === 'ok');
});

export function closeConfirm() { if (confirmDlg.open) confirmDlg.close('cancel'); }

// ---------- 标题里的未读数 ----------
const CHAT_TITLE = document.title || '在线聊天室';   // index.html 的 <title>

export function setUnreadTitle(n) {
  document.title = n > 0 ? '(' + n + ') ' + CHAT_TITLE : CHAT_TITLE;
}

// ---------- 设置面板、主题 ----------
const settingsBtn = $('settings-btn');
const settingsPanel = $('settings-panel');

export function setSettingsOpen(open) {
  settingsPanel.hidden = !open;
  settingsBtn.setAttribute('aria-expanded', String(open));
}
settingsBtn.addEventListener('click', (ev) => {
  ev.stopPropagation();
  setSettingsOpen(settingsPanel.hidden);
});
document.addEventListener('click', (ev) => {
  if (!settingsPanel.hidden && !settingsPanel.contains(ev.target) && ev.target !== settingsBtn) setSettingsOpen(false);
});
// Esc：设置面板开着就关上、焦点回到按钮，并返回 true。
export function closeSettingsIfOpen() {
  if (settingsPanel.hidden) return false;
  setSettingsOpen(false);
  settingsBtn.focus();
  return true;
}

// 深色主题：没选过就跟随系统（prefers-color-scheme）；点开关后记在 localStorage。
const THEME_KEY = 'chat-theme';
const themeToggle = $('theme-toggle');
const darkQuery = window.matchMedia ? window.matchMedia('(prefers-color-scheme: dark)') : null;
const themeMeta = document.querySelector('meta[name="theme-color"]');

function storedTheme() {
  try { const t = localStorage.getItem(THEME_KEY); return t === 'dark' || t === 'light' ? t : null; } catch (e) { return null; }
}
export function isDark() {
  const t = document.documentElement.dataset.theme;
  if (t === 'dark' || t === 'light') return t === 'dark';
  return !!(darkQuery && darkQuery.matches);
}
function showTheme() {
  const dark = isDark();
  themeToggle.setAttribute('aria-checked', String(dark));
  if (themeMeta) themeMeta.content = dark ? '#1b1a2e' : '#6d5dfc';
}
function applyTheme() {
  const t = storedTheme();
  if (t) document.documentElement.dataset.theme = t;
  else delete document.documentElement.dataset.theme;
  showTheme();
}
applyTheme();
if (darkQuery && darkQuery.addEventListener) darkQuery.addEventListener('change', showTheme);
window.addEventListener('storage', (ev) => { if (ev.key === THEME_KEY) applyTheme(); });   // 别的标签页改了
themeToggle.addEventListener('click', () => {
  const next = isDark() ? 'light' : 'dark';
  try { localStorage.setItem(THEME_KEY, next); } catch (e) { /* 隐私模式：只在本页生效 */ }
  document.documentElement.dataset.theme = next;
  showTheme();
});

// ---------- 连接状态 ----------
const statusEl = $('connection-status');
const sendBtn = $('send-btn');
const STATUS_TEXT = { connecting: '连接中', connected: '已连接', reconnecting: '重新连接中', offline: '离线', refused: '未连接' };

export function setStatus(state) {
  statusEl.dataset.state = state;
  statusEl.textContent = STATUS_TEXT[state];
  sendBtn.disabled = state !== 'connected';
}

// 断线时该显示“离线”还是“重新连接中”。
export function setStatusWhileDown() {
  setStatus(navigator.onLine === false ? 'offline' : 'reconnecting');
}

// 服务器拒绝连接且不会自己重试（例如同时打开的窗口太多）：横幅一直显示服务器的原话，
// 直到用户点“重试”、连上或离开聊天室——提示条几秒就消失，看不到为什么没连上。
const refusalEl = $('conn-refusal');
const refusalText = $('conn-refusal-text');

export function showRefusal(msg) {
  setStatus('refused');
  refusalText.textContent = msg;
  show(refusalEl);
}

export function hideRefusal() { hide(refusalEl); }

// ---------- 屏幕切换 ----------
const bootScreen = $('boot-screen');
const authScreen = $('auth-screen');
const chatScreen = $('chat-screen');
const loginForm = $('login-form');
const registerForm = $('register-form');

export function showAuth(mode) {
  hide(bootScreen); hide(chatScreen); show(authScreen);
  document.title = '登录 · 在线聊天室';
  if (mode === 'register') { hide(loginForm); show(registerForm); $('register-username').focus(); }
  else { hide(registerForm); show(loginForm); $('login-username').focus(); }
}

export function showChat() {
  hide(bootScreen); hide(authScreen); show(chatScreen);
  document.title = CHAT_TITLE;
}
