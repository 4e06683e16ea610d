// 登录、注册、退出登录，以及进入聊天室。
import { $, show, hide, showToast, setStatus, showAuth, showChat, avatar } from './dom.js';
import { api, errorText } from './api.js';
import { state } from './state.js';
import { leaveRoom } from './session.js';
import { connect } from './socket.js';
import { focusInput } from './composer.js';
import { codePoints } from './util.js';

const loginForm = $('login-form');
const registerForm = $('register-form');
const loginError = $('login-error');
const registerError = $('register-error');

export function enterRoom(user) {
  leaveRoom();
  state.me = user;
  hide(loginError);                 // 上一次的“已被封禁”等不再显示
  showChat();
  $('current-username').textContent = user.username;
  const av = $('me-avatar');
  av.textContent = Array.from(user.username)[0].toUpperCase();
  av.style.background = avatar(user.username).style.background;
  setStatus('connecting');
  focusInput();
  connect(state.session);
}

$('show-register').addEventListener('click', () => { hide(registerError); showAuth('register'); });
$('show-login').addEventListener('click', () => { hide(loginError); showAuth('login'); });

function formError(box, msg) { box.textContent = msg; show(box); }

loginForm.addEventListener('submit', async (ev) => {
  ev.preventDefault();
  hide(loginError);
  const username = $('login-username').value.trim();
  const password = $('login-password').value;
  if (!username || !password) { formError(loginError, '请输入用户名和密码'); return; }
  const btn = $('login-submit');
  btn.disabled = true;
  const r = await api('POST', '/api/login', { username, password });
  btn.disabled = false;
  if (!r.ok) { formError(loginError, errorText(r, '登录失败')); return; }
  $('login-password').value = '';
  enterRoom(r.data.user);
});

registerForm.addEventListener('submit', async (ev) => {
  ev.preventDefault();
  hide(registerError);
  const username = $('register-username').value.trim();
  const password = $('register-password').value;
  const confirm = $('register-confirm').value;
  if (!username || !password) { formError(registerError, '请输入用户名和密码'); return; }
  if (codePoints(username) < 2 || codePoints(username) > 20) { formError(registerError, '用户名长度需为 2-20 个字符'); return; }
  if (password.length < 6) { formError(registerError, '密码至少 6 位'); return; }
  if (password !== confirm) { formError(registerError, '两次输入的密码不一致'); return; }
  const btn = $('register-submit');
  btn.disabled = true;
  const r = await api('POST', '/api/register', { username, password });
  btn.disabled = false;
  if (!r.ok) { formError(registerError, errorText(r, '注册失败')); return; }
  $('register-password').value = '';
  $('register-confirm').value = '';
  enterRoom(r.data.user);
});

$('logout-btn').addEventListener('click', async () => {
  const btn = $('logout-btn');
  btn.disabled = true;
  leaveRoom();
  const r = await api('POST', '/api/logout');
  btn.disabled = false;
  showAuth('login');
  if (!r.ok && r.status !== 401) showToast(errorText(r, '退出登录失败'));
});
