// 页面骨架：取元素、造元素、头像、提示条、连接状态、登录页与聊天室之间的切换。
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
  document.title = '在线聊天室';
}
