// 实时连接（socket.io）：连接、断线重连、服务器推送的事件，以及带确认的 send_message。
import { $, showToast, setStatus, setStatusWhileDown, showRefusal, hideRefusal } from './dom.js';
import { api } from './api.js';
import { state, isCurrent, ACK_TIMEOUT } from './state.js';
import { onLeave, endLogin } from './session.js';
import { addMessage, addSystem, setOnlineCount, renderOnline } from './render.js';
import { syncHistory } from './history.js';

let socket = null;

// 服务器因“同时打开的窗口太多”（--sockets-per-user）拒绝握手时，消息以这句话开头。
const TOO_MANY_TABS = '同时打开的窗口太多';

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

  s.on('new_message', (m) => { if (isCurrent(mySession)) addMessage(m, 'live'); });
  s.on('user_joined', (d) => {
    if (!isCurrent(mySession) || !d) return;
    addSystem(String(d.username) + ' 加入了聊天室', d.timestamp, 'join');
    if (typeof d.online_count === 'number') setOnlineCount(d.online_count);
  });
  s.on('user_left', (d) => {
    if (!isCurrent(mySession) || !d) return;
    addSystem(String(d.username) + ' 离开了聊天室', d.timestamp, 'leave');
    if (typeof d.online_count === 'number') setOnlineCount(d.online_count);
  });
  s.on('online_users', (d) => {
    if (!isCurrent(mySession) || !d) return;
    renderOnline(Array.isArray(d.users) ? d.users : [], d.count);
  });
  s.on('error', (d) => {
    if (!isCurrent(mySession)) return;
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
    if (ok && res.message) addMessage(res.message, 'live');
    if (!ok) showToast((res && res.error) ? String(res.error) : '发送失败');
    if (finished) { if (ok) done(true); return; }  // 超时后才到的成功确认
    finished = true;
    done(ok);
  });
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
