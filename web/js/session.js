// 离开聊天室，以及“登录已失效”的唯一处理路径。
// 各模块用 onLeave() 登记自己要清理的东西（连接、消息列表、输入框……），
// leaveRoom() 一次全部执行；登录失效（HTTP 401、连接被拒为 unauthorized、
// 在别处退出登录、账号被封禁）一律走 endLogin()：离开聊天室 → 登录页 → 一条提示。
import { $, show, showAuth, showToast } from './dom.js';
import { state, resetRoomState, isCurrent } from './state.js';

const leaveHandlers = [];

export function onLeave(fn) { leaveHandlers.push(fn); }

export function leaveRoom() {
  state.session++;
  leaveHandlers.forEach((fn) => fn());
  resetRoomState();
}

const ENDINGS = {
  expired: { text: '登录已失效，请重新登录', kind: 'error' },
  'logged-out': { text: '你已退出登录', kind: 'info' },   // 在别的标签页退出了登录
  // 账号被管理员封禁：这句话留在登录表单里（提示条几秒就消失，用户会以为只是掉线了）。
  banned: { text: '你的账号已被封禁', kind: 'error', inForm: true },
};

// 登录没了：回到登录页并提示一次。mySession 已过期（早已离开聊天室）时什么也不做。
// text：服务器的原话（有就用它，例如连接被拒的理由）。
export function endLogin(mySession, why = 'expired', text) {
  if (!isCurrent(mySession)) return;
  const ending = ENDINGS[why] || ENDINGS.expired;
  leaveRoom();
  showAuth('login');
  if (ending.inForm) {
    const box = $('login-error');
    box.textContent = text || ending.text;
    show(box);
  } else showToast(text || ending.text, ending.kind);
}

// 聊天室里的请求回来了：是 401 就走 endLogin() 并返回 true，调用方随即停止。
export function loginLost(r, mySession) {
  if (r.status !== 401) return false;
  endLogin(mySession);
  return true;
}
