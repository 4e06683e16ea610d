// 在线聊天室 — 页面入口（ES 模块，无框架、无构建步骤）。协议见 PROTOCOL.md。
//   util.js     纯函数：文字、emoji、时间、大小
//   dom.js      取/造元素、提示条、连接状态、屏幕切换
//   state.js    常量与聊天室共享状态
//   api.js      HTTP 请求、错误文字、服务器设置（上传上限）
//   session.js  离开聊天室；“登录已失效”的唯一处理路径
//   render.js   消息、系统提示、在线用户、滚动、大图
//   history.js  首屏历史、加载更早的消息、重连补齐
//   socket.js   socket.io 连接与事件、发送消息
//   composer.js 输入框、表情、图片
//   auth.js     登录、注册、退出、进入聊天室
import { showAuth, showToast } from './dom.js';
import { api, loadSettings } from './api.js';
import { closeLightboxIfOpen } from './render.js';
import { closePickerIfOpen } from './composer.js';
import { enterRoom } from './auth.js';

// Esc 先关大图，再关表情选择器。
document.addEventListener('keydown', (ev) => {
  if (ev.key !== 'Escape') return;
  if (!closeLightboxIfOpen()) closePickerIfOpen();
});

// ---------- 启动 ----------
loadSettings();
api('GET', '/api/current_user').then((r) => {
  if (r.ok && r.data && r.data.user) enterRoom(r.data.user);
  else {
    showAuth('login');
    if (r.status === 0) showToast('无法连接服务器');
  }
});
