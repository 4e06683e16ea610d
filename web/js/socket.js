// 实时连接（socket.io）：连接、断线重连、服务器推送的事件，带确认的 send_message，
// 撤回/删除消息与封禁/解封（PROTOCOL.md §6.7、§6.8），以及“正在输入”。
// 服务器不认识的事件（Flask 时代的服务器没有 typing、delete_message）它会忽略；
// 页面也只听自己认识的事件，其余一概不理。
import { $, showToast, setStatus, setStatusWhileDown, showRefusal, hideRefusal, confirmAction } from './dom.js';
import { api } from './api.js';
import { state, isCurrent, ACK_TIMEOUT, TYPING_TTL, noteClock } from './state.js';
import { onLeave, endLogin } from './session.js';
import { addMessage, addSystem, setOnlineCount, renderOnline, applyDeletion, setTyping, onAction } from './render.js';
import { syncHistory } from './history.js';
import { parseTime } from './util.js';

let socket = null;

// 服务器因“同时打开的窗口太多”（--sockets-per-user）拒绝握手时，消息以这句话开头。
const TOO_MANY_TABS = '同时打开的窗口太多';
// 被封禁的账号再握手时的理由（PROTOCOL.md §6.8）。
const BANNED = '你的账号已被封禁';

export function isConnected() { return !!socket && socket.connected; }

// 进入聊天室时调用一次；mySession 是这次进入的编号。
export function connect(mySession) {
  if (typeof window.io !== 'function') {
    setStatus('offline');
    showToast('无法加载实时通信组件（/socket.io/socket.io.js）');
    return;
  }
  const s = window.io({ autoConnect: false, reconnectionDelayMax: 5000 });
  socket = s;

  s.on('connect', () => {
    if (!isCurrent(mySession)) return;
    hideRefusal();
    setStatus('connected');
    syncHistory(mySession);
  });
  s.on('connect_error', (err) => {
    if (!isCurrent(mySession)) return;
    const unauthorized = err && (err.message === 'unauthorized' ||
      (err.data && err.data.message === 'unauthorized'));
    if (unauthorized) { endLogin(mySession); return; }
    const msg = String((err && err.message) || '');
    if (msg === BANNED) { s.disconnect(); endLogin(mySession, 'banned', msg); return; }
    if (msg.startsWith(TOO_MANY_TABS)) {
      // 原话显示在横幅里，不自动重试：名额要等用户关掉别的标签页才会空出来，
      // 定时重试只会一次次被拒、白占服务器的握手。用户点“重试”或刷新页面再连。
      s.disconnect();   // 万一客户端还在重连，也停下
      showRefusal(msg);
      return;
    }
    if (!s.active) { setStatus('offline'); showToast('连接被拒绝：' + ((err && err.message) || '未知错误')); }
    else setStatusWhileDown();
  });
  s.on('disconnect', async (reason) => {
    if (!isCurrent(mySession)) return;
    if (reason === 'io server disconnect') {
      // 服务器主动断开（例如在别的标签页退出登录）：确认会话是否还有效。
      setStatus('offline');
      const r = await api('GET', '/api/current_user');
      if (!isCurrent(mySession)) return;
      if (r.status === 401) endLogin(mySession, 'logged-out');
      else { setStatus('reconnecting'); s.connect(); }
    } else if (reason !== 'io client disconnect') {
      setStatusWhileDown();
    }
  });
  s.io.on('reconnect_attempt', () => { if (isCurrent(mySession)) setStatusWhileDown(); });
  s.io.on('reconnect_failed', () => { if (isCurrent(mySession)) setStatus('offline'); });

  s.on('new_message', (m) => {
    if (!isCurrent(mySession) || !m) return;
    noteClock(parseTime(m.timestamp));
    setTyping(m.username, false);            // 发出来了，就不再“正在输入”
    addMessage(m, 'live');
  });
  s.on('user_joined', (d) => {
    if (!isCurrent(mySession) || !d) return;
    addSystem(String(d.username) + ' 加入了聊天室', d.timestamp, 'join');
    if (typeof d.online_count === 'number') setOnlineCount(d.online_count);
  });
  s.on('user_left', (d) => {
    if (!isCurrent(mySession) || !d) return;
    setTyping(d.username, false);
    addSystem(String(d.username) + ' 离开了聊天室', d.timestamp, 'leave');
    if (typeof d.online_count === 'number') setOnlineCount(d.online_count);
  });
  s.on('message_deleted', (d) => { if (isCurrent(mySession)) applyDeletion(d); });
  s.on('user_banned', (d) => {
    if (!isCurrent(mySession) || !d || typeof d.username !== 'string') return;
    setTyping(d.username, false);
    const by = typeof d.by === 'string' && d.by ? d.by : '管理员';
    const admin = state.me && state.me.is_admin === true;
    addSystem(d.username + ' 已被 ' + by + ' 封禁', d.timestamp, 'ban',
      admin ? { action: 'unban', username: d.username, label: '解除封禁', title: '解除对 ' + d.username + ' 的封禁' } : null);
  });
  s.on('user_typing', (d) => {
    if (!isCurrent(mySession) || !d || typeof d.username !== 'string') return;
    setTyping(d.username, d.typing === true, TYPING_TTL);
  });
  s.on('online_users', (d) => {
    if (!isCurrent(mySession) || !d) return;
    renderOnline(Array.isArray(d.users) ? d.users : [], d.count);
  });
  s.on('error', (d) => {
    if (!isCurrent(mySession)) return;
    // 被封禁时服务器先发这句、再断开连接（PROTOCOL.md §6.8）：
    // 说明原因，而不是当成在别处退出登录。
    if (d && d.message === BANNED) { s.disconnect(); endLogin(mySession, 'banned', BANNED); return; }
    showToast((d && d.message) ? String(d.message) : '发生错误');
  });

  s.connect();
}

// 发出 send_message，始终带确认回调。done(ok) 恰好调用一次（超时算失败；
// 超时后才到的成功确认会再调用一次 done(true)，让输入框照样清空）。
export function emitMessage(payload, done) {
  if (!isConnected()) {
    showToast('尚未连接到服务器，消息未发送');
    done(false);
    return;
  }
  const mySession = state.session;
  let finished = false;
  const timer = setTimeout(() => {
    if (finished) return;
    finished = true;
    showToast('发送超时，请重试');
    done(false);
  }, ACK_TIMEOUT);
  socket.emit('send_message', payload, (res) => {
    if (!isCurrent(mySession)) return;
    clearTimeout(timer);
    const ok = !!(res && res.success === true);
    if (ok && res.message) { noteClock(parseTime(res.message.timestamp)); addMessage(res.message, 'live'); }
    if (!ok) showToast((res && res.error) ? String(res.error) : '发送失败');
    if (finished) { if (ok) done(true); return; }  // 超时后才到的成功确认
    finished = true;
    done(ok);
  });
}

// 发一个带确认的事件；返回 Promise<{success, error?}>（未连接、超时也算失败，带一句话）。
function request(event, payload) {
  if (!isConnected()) return Promise.resolve({ success: false, error: '尚未连接到服务器' });
  const s = socket;
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve({ success: false, error: '服务器没有回应，请重试' }), ACK_TIMEOUT);
    s.emit(event, payload, (res) => {
      clearTimeout(timer);
      resolve(res && typeof res === 'object' ? res : { success: false, error: '服务器的回答无法识别' });
    });
  });
}

// 消息和在线列表上的按钮（render.js 报告过来）。
async function onUserAction(what) {
  const { button } = what;
  if (button && button.disabled) return;
  if (button) button.disabled = true;             // 等回答时不再重复提交
  try { await userAction(what); } finally { if (button && button.isConnected && !button.dataset.done) button.disabled = false; }
}

async function userAction({ action, id, username, button }) {
  const mySession = state.session;
  let res;
  if (action === 'recall') {
    res = await request('delete_message', { id });
  } else if (action === 'delete') {
    if (!(await confirmAction('删除这条消息？所有人都将看不到它。', '删除'))) return;
    if (!isCurrent(mySession)) return;
    res = await request('delete_message', { id });
  } else if (action === 'ban') {
    if (!(await confirmAction('封禁 ' + username + '？TA 会立即被移出聊天室，且不能再登录。', '封禁'))) return;
    if (!isCurrent(mySession)) return;
    res = await request('ban_user', { username });
    if (res.success === true) showToast('已封禁 ' + username, 'info');
  } else if (action === 'unban') {
    res = await request('unban_user', { username });
    if (res.success === true) {
      showToast('已解除对 ' + username + ' 的封禁', 'info');
      if (button && button.isConnected) { button.dataset.done = '1'; button.textContent = '已解除封禁'; }
    }
  } else return;
  if (!isCurrent(mySession)) return;
  if (res.success !== true) { showToast(res.error ? String(res.error) : '操作失败'); return; }
  // 撤回/删除成功：message_deleted 随后就到；先在本页换掉，不必等它。
  if ((action === 'recall' || action === 'delete') && state.me) {
    applyDeletion({ id, username: state.me.username, timestamp: new Date(Date.now() - (state.clockSkew || 0)).toISOString() });
  }
}
onAction(onUserAction);

// “正在输入”：typing {typing: bool}，不要确认。未连接时不发（重连后下一次输入会再发）。
export function emitTyping(typing) {
  if (isConnected()) socket.emit('typing', { typing: !!typing });
}

// 横幅上的“重试”：再握手一次；仍被拒时横幅带着服务器的原话再出现。
$('conn-retry').addEventListener('click', () => {
  if (!socket || socket.connected) return;
  hideRefusal();
  setStatus('connecting');
  socket.connect();
});

window.addEventListener('online', () => {
  if (socket && !socket.connected) { setStatus('reconnecting'); socket.connect(); }
});
window.addEventListener('offline', () => { if (socket) setStatus('offline'); });

onLeave(() => {
  hideRefusal();
  if (!socket) return;
  socket.off();
  socket.io.off();
  socket.disconnect();
  socket = null;
});
