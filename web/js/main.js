// 在线聊天室 — 页面入口（ES 模块，无框架、无构建步骤）。协议见 PROTOCOL.md。
//   util.js     纯函数：文字、emoji、时间、大小、@提及、“正在输入”的一句话
//   dom.js      取/造元素、提示条、确认框、连接状态、屏幕切换、标题未读数、设置面板与主题
//   state.js    常量与聊天室共享状态
//   api.js      HTTP 请求、带进度的上传、错误文字、服务器设置（上传上限、撤回时限）
//   session.js  离开聊天室；“登录已失效”（含被封禁）的唯一处理路径
//   render.js   消息、撤回/删除提示、系统提示、在线用户、正在输入、滚动、大图、未读与通知
//   history.js  首屏历史、加载更早的消息、重连补齐（消息与删除）
//   socket.js   socket.io 连接与事件、发送消息、撤回/删除/封禁、正在输入
//   composer.js 输入框、@提及候选、表情、图片（📷、粘贴、拖放）
//   auth.js     登录、注册、退出、进入聊天室
import { $, show, hide, showAuth, showToast, closeSettingsIfOpen, setSettingsOpen, closeConfirm } from './dom.js';
import { api, loadSettings } from './api.js';
import { onLeave } from './session.js';
import { closeLightboxIfOpen, setNotifyEnabled } from './render.js';
import { closePickerIfOpen } from './composer.js';
import { enterRoom } from './auth.js';

// Esc 先关大图，再关表情选择器，再关设置面板（确认框和 @候选 自己处理 Esc）。
document.addEventListener('keydown', (ev) => {
  if (ev.key !== 'Escape') return;
  if (!closeLightboxIfOpen() && !closePickerIfOpen()) closeSettingsIfOpen();
});

// ---------- 桌面通知 ----------
// 从不在加载时请求权限：只有用户在设置里点了“开启通知”才问浏览器。开启与否记在
// localStorage。浏览器只在安全连接（HTTPS、本机地址）上给通知：否则没有按钮，只有一句原因。
const NOTIFY_KEY = 'chat-notify';
const notifyBtn = $('notify-btn');
const notifyState = $('notify-state');

function notifyWanted() {
  try { return localStorage.getItem(NOTIFY_KEY) === '1'; } catch (e) { return false; }
}
function setNotifyWanted(on) {
  try { if (on) localStorage.setItem(NOTIFY_KEY, '1'); else localStorage.removeItem(NOTIFY_KEY); } catch (e) { /* 只在本页生效 */ }
}

function showNotifyState() {
  let why = '';
  if (!window.isSecureContext) why = '桌面通知只能在安全连接（HTTPS）下使用，当前页面不是。';
  else if (typeof Notification !== 'function') why = '这个浏览器不支持桌面通知。';
  else if (Notification.permission === 'denied') why = '浏览器已拒绝本站的通知，可在浏览器的网站设置里允许。';
  if (why) {
    setNotifyEnabled(false);
    hide(notifyBtn);
    notifyState.textContent = why;
    return;
  }
  const on = notifyWanted() && Notification.permission === 'granted';
  setNotifyEnabled(on);
  notifyBtn.textContent = on ? '关闭通知' : '开启通知';
  notifyBtn.setAttribute('aria-pressed', String(on));
  notifyState.textContent = on ? '已开启：标签页在后台时，有人 @ 你会提醒' : '';
  show(notifyBtn);
}

notifyBtn.addEventListener('click', async () => {
  if (notifyWanted() && Notification.permission === 'granted') { setNotifyWanted(false); showNotifyState(); return; }
  let p = Notification.permission;
  if (p !== 'granted') {
    try { p = await Notification.requestPermission(); } catch (e) { p = 'denied'; }
  }
  setNotifyWanted(p === 'granted');
  showNotifyState();
});
showNotifyState();

onLeave(() => { setSettingsOpen(false); closeConfirm(); });

// ---------- 启动 ----------
loadSettings();
api('GET', '/api/current_user').then((r) => {
  if (r.ok && r.data && r.data.user) enterRoom(r.data.user);
  else {
    showAuth('login');
    if (r.status === 0) showToast('无法连接服务器');
  }
});
