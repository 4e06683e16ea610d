/* 在线聊天室 — 页面脚本（无框架、无构建步骤）。
 * 协议见 PROTOCOL.md。所有用户内容一律以文本渲染（textContent / createElement），
 * 从不把用户数据交给 innerHTML。 */
(function () {
  'use strict';

  var PAGE_SIZE = 50;          // 进入聊天室时加载的历史条数，以及每次“加载更早的消息”的条数
  var CATCHUP_PAGE = 200;      // 重连后补齐消息时每页条数（服务器上限 200）
  var MAX_LEN = 2000;          // 单条消息最大字符数（Unicode 码点）
  var MAX_UPLOAD = 5242880;    // 5 MiB
  var ACK_TIMEOUT = 10000;     // 等待发送确认的时间

  var EMOJI_GROUPS = [
    { name: '表情', list: ['😀', '😃', '😄', '😁', '😆', '😅', '😂', '🤣', '😊', '😇', '🙂', '😉', '😍', '🥰', '😘', '😋', '😜', '🤪', '😎', '🤩', '🥳', '😏', '😢', '😭', '😡', '😱', '🤔', '🤗', '😴', '🙄', '😬', '🤯'] },
    { name: '手势', list: ['👍', '👎', '👌', '✌️', '🤞', '🤟', '🤘', '👏', '🙌', '👐', '🤝', '🙏', '💪', '👋', '✋', '👉', '👈', '👆', '👇', '✍️'] },
    { name: '动物', list: ['🐶', '🐱', '🐭', '🐹', '🐰', '🦊', '🐻', '🐼', '🐨', '🐯', '🦁', '🐮', '🐷', '🐸', '🐵', '🐔', '🐧', '🐦', '🦄', '🐝', '🦋', '🐢', '🐙', '🐳'] },
    { name: '食物', list: ['🍎', '🍊', '🍋', '🍉', '🍇', '🍓', '🍒', '🍑', '🥭', '🍍', '🥝', '🍅', '🍔', '🍟', '🍕', '🌭', '🍜', '🍣', '🍱', '🥟', '🍰', '🎂', '🍦', '☕', '🍵', '🧋', '🍺', '🥂'] },
    { name: '符号', list: ['❤️', '🧡', '💛', '💚', '💙', '💜', '💔', '💯', '✨', '🔥', '🎉', '🎈', '🎁', '⭐', '🌟', '💡', '✅', '❌', '❓', '❗', '💤', '👀', '🌈', '☀️'] }
  ];

  // ---------- 小工具 ----------
  function $(id) { return document.getElementById(id); }
  function el(tag, className, text) {
    var e = document.createElement(tag);
    if (className) e.className = className;
    if (text != null) e.textContent = text;
    return e;
  }
  function show(e) { e.hidden = false; }
  function hide(e) { e.hidden = true; }
  function codePoints(s) { return Array.from(s).length; }

  // 只由 emoji（及空白）组成？需要至少一个图形 emoji，数字、#、* 等不算。
  var EMOJI_ONLY_RE;
  var EMOJI_ANY_RE;
  try {
    EMOJI_ONLY_RE = new RegExp('^(?:\\p{Extended_Pictographic}|[\\u{1F1E6}-\\u{1F1FF}]|[\\u{1F3FB}-\\u{1F3FF}]|[\\u{E0020}-\\u{E007F}]|\\u200D|\\uFE0F|\\uFE0E|\\u20E3|\\s)+$', 'u');
    EMOJI_ANY_RE = new RegExp('\\p{Extended_Pictographic}|[\\u{1F1E6}-\\u{1F1FF}]', 'u');
  } catch (e) { EMOJI_ONLY_RE = null; }
  function isEmojiOnly(s) {
    if (!EMOJI_ONLY_RE) return false;
    var t = s.trim();
    return t.length > 0 && EMOJI_ONLY_RE.test(t) && EMOJI_ANY_RE.test(t);
  }

  // 只渲染本服务器上传得到的图片地址。
  function isUploadUrl(s) {
    return typeof s === 'string' && s.indexOf('/uploads/') === 0 && /^\/uploads\/[^\s"'<>\\?#]+$/.test(s) && s.indexOf('..') === -1;
  }

  // 时间：RFC 3339（UTC，Z 结尾）；无时区的旧数据按 UTC 解析。
  function parseTime(ts) {
    if (typeof ts !== 'string') return null;
    var s = ts.trim();
    if (/^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/.test(s)) s = s.replace(' ', 'T') + 'Z';
    var d = new Date(s);
    return isNaN(d.getTime()) ? null : d;
  }
  function pad(n) { return (n < 10 ? '0' : '') + n; }
  function formatTime(d) {
    if (!d) return '';
    var now = new Date();
    var hm = pad(d.getHours()) + ':' + pad(d.getMinutes());
    if (d.toDateString() === now.toDateString()) return hm;
    var y = new Date(now); y.setDate(now.getDate() - 1);
    if (d.toDateString() === y.toDateString()) return '昨天 ' + hm;
    if (d.getFullYear() === now.getFullYear()) return (d.getMonth() + 1) + '月' + d.getDate() + '日 ' + hm;
    return d.getFullYear() + '年' + (d.getMonth() + 1) + '月' + d.getDate() + '日 ' + hm;
  }
  function formatFull(d) {
    if (!d) return '';
    return d.getFullYear() + '-' + pad(d.getMonth() + 1) + '-' + pad(d.getDate()) + ' ' +
      pad(d.getHours()) + ':' + pad(d.getMinutes()) + ':' + pad(d.getSeconds());
  }

  // 头像颜色：由用户名散列得到。
  function hueOf(name) {
    var h = 0;
    for (var i = 0; i < name.length; i++) h = (h * 31 + name.charCodeAt(i)) >>> 0;
    return h % 360;
  }
  function avatar(name, extra) {
    var a = el('span', 'avatar' + (extra ? ' ' + extra : ''), Array.from(name || '?')[0].toUpperCase());
    var hue = hueOf(name || '?');
    a.style.background = 'linear-gradient(135deg, hsl(' + hue + ',75%,62%), hsl(' + ((hue + 40) % 360) + ',70%,52%))';
    a.setAttribute('aria-hidden', 'true');
    return a;
  }

  // JSON 请求；返回 {ok, status, data}，网络错误时 status 为 0。
  function api(method, url, body, isForm) {
    var opts = { method: method, credentials: 'same-origin', headers: { Accept: 'application/json' } };
    if (body !== undefined) {
      if (isForm) opts.body = body;
      else { opts.body = JSON.stringify(body); opts.headers['Content-Type'] = 'application/json'; }
    }
    return fetch(url, opts).then(function (res) {
      return res.text().then(function (txt) {
        var data = null;
        try { data = txt ? JSON.parse(txt) : null; } catch (e) { data = null; }
        return { ok: res.ok && !!data && data.success !== false, status: res.status, data: data };
      });
    }, function () { return { ok: false, status: 0, data: null }; });
  }
  function errorText(r, fallback) {
    if (r.data && typeof r.data.error === 'string' && r.data.error) return r.data.error;
    if (r.status === 0) return '网络错误，请检查连接后重试';
    if (r.status === 413) return '文件太大（最大 5 MB）';
    if (r.status === 429) return '尝试次数过多，请稍后再试';
    return fallback + '（' + r.status + '）';
  }

  // ---------- 元素 ----------
  var bootScreen = $('boot-screen');
  var authScreen = $('auth-screen');
  var chatScreen = $('chat-screen');
  var loginForm = $('login-form');
  var registerForm = $('register-form');
  var loginError = $('login-error');
  var registerError = $('register-error');
  var statusEl = $('connection-status');
  var onlineCountEl = $('online-count');
  var onlineCountPanel = $('online-count-panel');
  var onlineList = $('online-list');
  var onlineToggle = $('online-toggle');
  var onlinePanel = $('online-panel');
  var scroller = $('message-scroller');
  var list = $('messages');
  var loadEarlierBtn = $('load-earlier');
  var historyEnd = $('history-end');
  var newPill = $('new-messages-pill');
  var input = $('message-input');
  var sendBtn = $('send-btn');
  var composer = $('composer');
  var emojiBtn = $('emoji-btn');
  var picker = $('emoji-picker');
  var imageBtn = $('image-btn');
  var imageInput = $('image-input');
  var toast = $('toast');
  var lightbox = $('lightbox');
  var lightboxImg = $('lightbox-img');
  var lightboxOpen = $('lightbox-open');

  // ---------- 状态 ----------
  var me = null;               // 当前用户
  var socket = null;
  var seen = new Set();        // 已显示的消息 id
  var oldestId = null;         // 已加载的最小 id（翻页用）
  var newestId = 0;            // 见过的最大 id（重连补齐用）
  var historyLoaded = false;   // 是否已加载首屏历史
  var loadingEarlier = false;
  var catchingUp = false;
  var sending = false;         // 有文字消息正在等待确认
  var stickToBottom = true;    // 用户停在底部时，图片加载完也保持在底部
  var session = 0;             // 每次进入聊天室递增，用来丢弃过期的异步结果

  // ---------- 提示 ----------
  var toastTimer = null;
  function showToast(msg, kind) {
    toast.textContent = msg;
    toast.dataset.kind = kind || 'error';
    show(toast);
    toast.classList.remove('toast-in');
    void toast.offsetWidth; // 重新触发动画
    toast.classList.add('toast-in');
    clearTimeout(toastTimer);
    toastTimer = setTimeout(function () { hide(toast); }, kind === 'info' ? 3000 : 5000);
  }
  toast.addEventListener('click', function () { hide(toast); });

  function setStatus(state) {
    var text = { connecting: '连接中', connected: '已连接', reconnecting: '重新连接中', offline: '离线' }[state];
    statusEl.dataset.state = state;
    statusEl.textContent = text;
    sendBtn.disabled = state !== 'connected';
  }

  // ---------- 屏幕切换 ----------
  function showAuth(mode) {
    hide(bootScreen); hide(chatScreen); show(authScreen);
    document.title = '登录 · 在线聊天室';
    if (mode === 'register') { hide(loginForm); show(registerForm); $('register-username').focus(); }
    else { hide(registerForm); show(loginForm); $('login-username').focus(); }
  }
  $('show-register').addEventListener('click', function () { hide(registerError); showAuth('register'); });
  $('show-login').addEventListener('click', function () { hide(loginError); showAuth('login'); });

  function formError(box, msg) { box.textContent = msg; show(box); }

  loginForm.addEventListener('submit', function (ev) {
    ev.preventDefault();
    hide(loginError);
    var username = $('login-username').value.trim();
    var password = $('login-password').value;
    if (!username || !password) { formError(loginError, '请输入用户名和密码'); return; }
    var btn = $('login-submit');
    btn.disabled = true;
    api('POST', '/api/login', { username: username, password: password }).then(function (r) {
      btn.disabled = false;
      if (!r.ok) { formError(loginError, errorText(r, '登录失败')); return; }
      $('login-password').value = '';
      enterRoom(r.data.user);
    });
  });

  registerForm.addEventListener('submit', function (ev) {
    ev.preventDefault();
    hide(registerError);
    var username = $('register-username').value.trim();
    var password = $('register-password').value;
    var confirm = $('register-confirm').value;
    if (!username || !password) { formError(registerError, '请输入用户名和密码'); return; }
    if (codePoints(username) < 2 || codePoints(username) > 20) { formError(registerError, '用户名长度需为 2-20 个字符'); return; }
    if (password.length < 6) { formError(registerError, '密码至少 6 位'); return; }
    if (password !== confirm) { formError(registerError, '两次输入的密码不一致'); return; }
    var btn = $('register-submit');
    btn.disabled = true;
    api('POST', '/api/register', { username: username, password: password }).then(function (r) {
      btn.disabled = false;
      if (!r.ok) { formError(registerError, errorText(r, '注册失败')); return; }
      $('register-password').value = '';
      $('register-confirm').value = '';
      enterRoom(r.data.user);
    });
  });

  $('logout-btn').addEventListener('click', function () {
    var btn = $('logout-btn');
    btn.disabled = true;
    leaveRoom();
    api('POST', '/api/logout').then(function (r) {
      btn.disabled = false;
      showAuth('login');
      if (!r.ok && r.status !== 401) showToast(errorText(r, '退出登录失败'));
    });
  });

  // ---------- 聊天室 ----------
  function resetRoom() {
    seen = new Set();
    oldestId = null;
    newestId = 0;
    historyLoaded = false;
    loadingEarlier = false;
    catchingUp = false;
    sending = false;
    list.textContent = '';
    onlineList.textContent = '';
    onlineCountEl.textContent = '0';
    onlineCountPanel.textContent = '0';
    hide(loadEarlierBtn); hide(historyEnd); hide(newPill);
    closePicker();
  }

  function leaveRoom() {
    session++;
    if (socket) {
      socket.off();
      socket.io.off();
      socket.disconnect();
      socket = null;
    }
    me = null;
    resetRoom();
  }

  function enterRoom(user) {
    leaveRoom();
    me = user;
    var mySession = session;
    hide(bootScreen); hide(authScreen); show(chatScreen);
    document.title = '在线聊天室';
    $('current-username').textContent = user.username;
    var av = $('me-avatar');
    av.textContent = Array.from(user.username)[0].toUpperCase();
    av.style.background = avatar(user.username).style.background;
    setStatus('connecting');
    input.focus();

    if (typeof window.io !== 'function') {
      setStatus('offline');
      showToast('无法加载实时通信组件（/socket.io/socket.io.js）');
      return;
    }
    socket = window.io({ autoConnect: false, reconnectionDelayMax: 5000 });
    var s = socket;

    s.on('connect', function () {
      if (mySession !== session) return;
      setStatus('connected');
      if (!historyLoaded) loadInitialHistory(mySession);
      else catchUp(mySession);
    });
    s.on('connect_error', function (err) {
      if (mySession !== session) return;
      var unauthorized = err && (err.message === 'unauthorized' ||
        (err.data && err.data.message === 'unauthorized'));
      if (unauthorized) {
        leaveRoom();
        showAuth('login');
        showToast('登录已失效，请重新登录');
        return;
      }
      if (!s.active) { setStatus('offline'); showToast('连接被拒绝：' + ((err && err.message) || '未知错误')); }
      else setStatus(navigator.onLine === false ? 'offline' : 'reconnecting');
    });
    s.on('disconnect', function (reason) {
      if (mySession !== session) return;
      if (reason === 'io server disconnect') {
        // 服务器主动断开（例如在别的标签页退出登录）：确认会话是否还有效。
        setStatus('offline');
        api('GET', '/api/current_user').then(function (r) {
          if (mySession !== session) return;
          if (r.status === 401) { leaveRoom(); showAuth('login'); showToast('你已退出登录', 'info'); }
          else { setStatus('reconnecting'); s.connect(); }
        });
      } else if (reason !== 'io client disconnect') {
        setStatus(navigator.onLine === false ? 'offline' : 'reconnecting');
      }
    });
    s.io.on('reconnect_attempt', function () {
      if (mySession === session) setStatus(navigator.onLine === false ? 'offline' : 'reconnecting');
    });
    s.io.on('reconnect_failed', function () { if (mySession === session) setStatus('offline'); });

    s.on('new_message', function (m) { if (mySession === session) addMessage(m, 'live'); });
    s.on('user_joined', function (d) {
      if (mySession !== session || !d) return;
      addSystem(String(d.username) + ' 加入了聊天室', d.timestamp, 'join');
      if (typeof d.online_count === 'number') setOnlineCount(d.online_count);
    });
    s.on('user_left', function (d) {
      if (mySession !== session || !d) return;
      addSystem(String(d.username) + ' 离开了聊天室', d.timestamp, 'leave');
      if (typeof d.online_count === 'number') setOnlineCount(d.online_count);
    });
    s.on('online_users', function (d) {
      if (mySession !== session || !d) return;
      renderOnline(Array.isArray(d.users) ? d.users : [], d.count);
    });
    s.on('error', function (d) {
      if (mySession !== session) return;
      showToast((d && d.message) ? String(d.message) : '发生错误');
    });

    s.connect();
  }

  window.addEventListener('online', function () {
    if (socket && !socket.connected) { setStatus('reconnecting'); socket.connect(); }
  });
  window.addEventListener('offline', function () { if (socket) setStatus('offline'); });

  // ---------- 在线用户 ----------
  function setOnlineCount(n) {
    onlineCountEl.textContent = String(n);
    onlineCountPanel.textContent = String(n);
  }
  function renderOnline(users, count) {
    onlineList.textContent = '';
    users.forEach(function (name) {
      name = String(name);
      var li = el('li', 'online-user');
      li.dataset.username = name;
      li.appendChild(avatar(name, 'avatar-sm'));
      li.appendChild(el('span', 'online-name', name));
      if (me && name === me.username) { li.classList.add('is-me'); li.appendChild(el('span', 'me-tag', '我')); }
      onlineList.appendChild(li);
    });
    setOnlineCount(typeof count === 'number' ? count : users.length);
  }
  onlineToggle.addEventListener('click', function (ev) {
    ev.stopPropagation();
    var open = !onlinePanel.classList.contains('open');
    onlinePanel.classList.toggle('open', open);
    onlineToggle.setAttribute('aria-expanded', String(open));
  });
  document.addEventListener('click', function (ev) {
    if (onlinePanel.classList.contains('open') && !onlinePanel.contains(ev.target) && ev.target !== onlineToggle) {
      onlinePanel.classList.remove('open');
      onlineToggle.setAttribute('aria-expanded', 'false');
    }
  });

  // ---------- 消息列表 ----------
  function nearBottom() {
    return scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 80;
  }
  function scrollToBottom() {
    stickToBottom = true;
    scroller.scrollTop = scroller.scrollHeight;
    lastScrollTop = scroller.scrollTop;
    hide(newPill);
  }
  newPill.addEventListener('click', scrollToBottom);
  // 只有用户向上滚动才解除“贴底”；内容变高（图片加载、输入框变高）不算。
  var lastScrollTop = 0;
  scroller.addEventListener('scroll', function () {
    var top = scroller.scrollTop;
    if (nearBottom()) { stickToBottom = true; hide(newPill); }
    else if (top < lastScrollTop - 2) stickToBottom = false;
    lastScrollTop = top;
  });
  // 内容或可视区大小变化时（图片加载完、输入框变高、手机键盘弹出），保持贴底。
  if (typeof ResizeObserver === 'function') {
    var ro = new ResizeObserver(function () { if (stickToBottom && !loadingEarlier) scrollToBottom(); });
    ro.observe(list);
    ro.observe(scroller);
  }

  function buildMessage(m) {
    var mine = !!me && (m.user_id === me.id);
    var type = m.message_type === 'image' || m.message_type === 'emoji' ? m.message_type : 'text';
    var content = typeof m.content === 'string' ? m.content : String(m.content);
    var row = el('div', 'message ' + (mine ? 'mine' : 'theirs'));
    row.dataset.id = String(m.id);
    row.dataset.type = type;
    row.setAttribute('data-testid', 'message');
    row.dataset.author = String(m.username);

    if (!mine) row.appendChild(avatar(String(m.username)));
    var body = el('div', 'message-body');
    var meta = el('div', 'message-meta');
    meta.appendChild(el('span', 'author', mine ? '我' : String(m.username)));
    var d = parseTime(m.timestamp);
    var t = el('time', 'time', formatTime(d));
    if (d) { t.dateTime = d.toISOString(); t.title = formatFull(d); }
    meta.appendChild(t);
    body.appendChild(meta);

    var bubble = el('div', 'bubble');
    if (type === 'image' && isUploadUrl(content)) {
      bubble.classList.add('bubble-image');
      var img = document.createElement('img');
      img.className = 'chat-image';
      img.alt = String(m.username) + ' 发送的图片';
      img.decoding = 'async';
      img.src = content;
      img.addEventListener('load', function () { if (stickToBottom) scrollToBottom(); });
      img.addEventListener('error', function () {
        bubble.classList.add('bubble-broken');
        bubble.textContent = '[图片无法加载]';
      });
      img.addEventListener('click', function () { openLightbox(content); });
      bubble.appendChild(img);
    } else {
      if (type === 'emoji') bubble.classList.add('bubble-emoji');
      var c = el('div', 'content', content);
      bubble.appendChild(c);
    }
    body.appendChild(bubble);
    row.appendChild(body);
    return row;
  }

  // 按 id 有序插入；同一 id 只显示一次。
  // history：比已有消息都旧的一批，放在最前（紧跟上一条更旧的）；live/catchup：放在第一条更新的消息之前，否则追加到末尾。
  function addMessage(m, how) {
    if (!m || typeof m.id !== 'number' || seen.has(m.id)) return false;
    seen.add(m.id);
    if (m.id > newestId) newestId = m.id;
    var row = buildMessage(m);
    var wasNear = stickToBottom || nearBottom();
    var prev = null, next = null;
    for (var k = list.lastElementChild; k; k = k.previousElementSibling) {
      if (!k.dataset.id) continue;
      if (+k.dataset.id < m.id) { prev = k; break; }
      next = k;
    }
    if (how === 'history') list.insertBefore(row, prev ? prev.nextSibling : list.firstChild);
    else if (next) list.insertBefore(row, next);
    else list.appendChild(row);
    if (how === 'live') {
      var mine = me && m.user_id === me.id;
      if (wasNear || mine) scrollToBottom();
      else show(newPill);
    }
    return true;
  }

  function addSystem(text, ts, kind) {
    var wasNear = stickToBottom || nearBottom();
    var row = el('div', 'message system' + (kind ? ' system-' + kind : ''));
    row.setAttribute('data-testid', 'system-message');
    var d = parseTime(ts) || new Date();
    var pill = el('span', 'system-text', text);
    var t = el('time', 'time', formatTime(d));
    t.dateTime = d.toISOString(); t.title = formatFull(d);
    pill.appendChild(t);
    row.appendChild(pill);
    list.appendChild(row);
    if (wasNear) scrollToBottom();
  }

  // ---------- 历史 ----------
  function loadInitialHistory(mySession) {
    api('GET', '/api/messages?limit=' + PAGE_SIZE).then(function (r) {
      if (mySession !== session) return;
      if (r.status === 401) { leaveRoom(); showAuth('login'); showToast('登录已失效，请重新登录'); return; }
      if (!r.ok) { showToast(errorText(r, '加载历史消息失败')); return; }
      var msgs = r.data.messages || [];
      historyLoaded = true;
      msgs.forEach(function (m) { addMessage(m, 'history'); });
      if (msgs.length) oldestId = Math.min(oldestId == null ? Infinity : oldestId, msgs[0].id);
      updateHistoryControls(msgs.length >= PAGE_SIZE);
      stickToBottom = true;
      scrollToBottom();
    });
  }
  function updateHistoryControls(hasMore) {
    if (hasMore) { show(loadEarlierBtn); hide(historyEnd); }
    else { hide(loadEarlierBtn); if (seen.size) show(historyEnd); else hide(historyEnd); }
  }

  loadEarlierBtn.addEventListener('click', function () {
    if (loadingEarlier || oldestId == null) return;
    loadingEarlier = true;
    var mySession = session;
    loadEarlierBtn.disabled = true;
    loadEarlierBtn.textContent = '加载中…';
    api('GET', '/api/messages?limit=' + PAGE_SIZE + '&before_id=' + oldestId).then(function (r) {
      if (mySession !== session) return;
      loadingEarlier = false;
      loadEarlierBtn.disabled = false;
      loadEarlierBtn.textContent = '加载更早的消息';
      if (!r.ok) { showToast(errorText(r, '加载更早的消息失败')); return; }
      var msgs = r.data.messages || [];
      stickToBottom = false;                 // 用户在看更早的消息
      var before = scroller.scrollHeight - scroller.scrollTop;
      msgs.forEach(function (m) { addMessage(m, 'history'); });
      if (msgs.length) oldestId = Math.min(oldestId, msgs[0].id);
      updateHistoryControls(msgs.length >= PAGE_SIZE);
      scroller.scrollTop = scroller.scrollHeight - before; // 保持当前位置
    });
  });

  // 重连后：取 after_id 之后的所有消息（去重）。
  function catchUp(mySession) {
    if (catchingUp) return;
    catchingUp = true;
    (function page() {
      api('GET', '/api/messages?limit=' + CATCHUP_PAGE + '&after_id=' + newestId).then(function (r) {
        if (mySession !== session) return;
        if (!r.ok) {
          catchingUp = false;
          if (r.status === 401) { leaveRoom(); showAuth('login'); showToast('登录已失效，请重新登录'); }
          return;
        }
        var msgs = r.data.messages || [];
        var added = 0;
        msgs.forEach(function (m) { if (addMessage(m, 'catchup')) added++; });
        if (msgs.length >= CATCHUP_PAGE) page();
        else {
          catchingUp = false;
          if (added) { if (stickToBottom && nearBottom()) scrollToBottom(); else show(newPill); }
          if (oldestId == null && msgs.length) { oldestId = msgs[0].id; }
        }
      });
    })();
  }

  // ---------- 发送 ----------
  function autoGrow() {
    input.style.height = '';
    if (!input.value) return;               // 空框保持一行（占位文字不撑高）
    input.style.height = Math.min(input.scrollHeight + 3, 160) + 'px';
  }
  function fitPlaceholder() {
    input.placeholder = window.innerWidth < 560 ? '输入消息…' : '输入消息，Enter 发送，Shift+Enter 换行';
  }
  fitPlaceholder();
  window.addEventListener('resize', fitPlaceholder);
  var charCount = $('char-count');
  function updateCount() {
    var n = codePoints(input.value.trim());
    if (n > MAX_LEN * 0.9) {
      charCount.textContent = n + '/' + MAX_LEN;
      charCount.classList.toggle('over', n > MAX_LEN);
      show(charCount);
    } else hide(charCount);
  }
  input.addEventListener('input', function () { autoGrow(); updateCount(); });

  input.addEventListener('keydown', function (ev) {
    if (ev.key !== 'Enter') return;
    if (ev.shiftKey) return;                                 // Shift+Enter：换行（默认行为）
    if (ev.isComposing || ev.keyCode === 229) return;         // 输入法选词中
    ev.preventDefault();
    sendText();
  });
  composer.addEventListener('submit', function (ev) { ev.preventDefault(); sendText(); });

  function sendText() {
    var raw = input.value;
    var content = raw.trim();
    if (!content) { input.focus(); return; }
    if (sending) return;                     // 同一段文字正在发送，避免重复
    var type = isEmojiOnly(content) ? 'emoji' : 'text';
    sending = true;
    emitMessage({ content: raw, message_type: type }, function (ok) {
      sending = false;
      // 只在服务器确认成功后清空；发送期间又改动过的内容保留
      if (ok && input.value === raw) { input.value = ''; autoGrow(); updateCount(); }
      input.focus();
    });
  }

  // 发出 send_message，始终带确认回调。done(ok) 恰好调用一次（超时算失败）。
  function emitMessage(payload, done) {
    if (!socket || !socket.connected) {
      showToast('尚未连接到服务器，消息未发送');
      done(false);
      return;
    }
    var mySession = session;
    var finished = false;
    var timer = setTimeout(function () {
      if (finished) return;
      finished = true;
      showToast('发送超时，请重试');
      done(false);
    }, ACK_TIMEOUT);
    socket.emit('send_message', payload, function (res) {
      if (mySession !== session) return;
      clearTimeout(timer);
      var ok = !!(res && res.success === true);
      if (ok && res.message) addMessage(res.message, 'live');
      if (!ok) showToast((res && res.error) ? String(res.error) : '发送失败');
      if (finished) { if (ok) done(true); return; }  // 超时后才到的成功确认
      finished = true;
      done(ok);
    });
  }

  // ---------- 表情 ----------
  (function buildPicker() {
    EMOJI_GROUPS.forEach(function (g) {
      var sec = el('section', 'emoji-group');
      sec.dataset.group = g.name;
      sec.appendChild(el('h3', 'emoji-group-title', g.name));
      var grid = el('div', 'emoji-grid');
      g.list.forEach(function (e) {
        var b = el('button', 'emoji-item', e);
        b.type = 'button';
        b.dataset.emoji = e;
        b.setAttribute('data-testid', 'emoji-item');
        b.title = e;
        grid.appendChild(b);
      });
      sec.appendChild(grid);
      picker.appendChild(sec);
    });
  })();
  function openPicker() { show(picker); emojiBtn.setAttribute('aria-expanded', 'true'); emojiBtn.classList.add('active'); }
  function closePicker() { hide(picker); emojiBtn.setAttribute('aria-expanded', 'false'); emojiBtn.classList.remove('active'); }
  emojiBtn.addEventListener('click', function (ev) {
    ev.stopPropagation();
    if (picker.hidden) openPicker(); else closePicker();
  });
  // 按下时不抢走输入框焦点，保持光标位置
  picker.addEventListener('mousedown', function (ev) { ev.preventDefault(); });
  picker.addEventListener('click', function (ev) {
    ev.stopPropagation();
    var b = ev.target.closest('.emoji-item');
    if (!b) return;
    insertAtCursor(b.dataset.emoji);
  });
  document.addEventListener('click', function (ev) {
    if (!picker.hidden && !picker.contains(ev.target) && ev.target !== emojiBtn) closePicker();
  });
  function insertAtCursor(text) {
    var start = input.selectionStart == null ? input.value.length : input.selectionStart;
    var end = input.selectionEnd == null ? start : input.selectionEnd;
    input.setRangeText(text, start, end, 'end');
    input.focus();
    autoGrow();
  }

  // ---------- 图片 ----------
  imageBtn.addEventListener('click', function () { imageInput.click(); });
  imageInput.addEventListener('change', function () {
    var file = imageInput.files && imageInput.files[0];
    imageInput.value = '';
    if (!file) return;
    if (file.size > MAX_UPLOAD) { showToast('图片太大（最大 5 MB）'); return; }
    if (!socket || !socket.connected) { showToast('尚未连接到服务器，图片未发送'); return; }
    var fd = new FormData();
    fd.append('file', file, file.name || 'image');
    imageBtn.disabled = true;
    imageBtn.classList.add('busy');
    var mySession = session;
    api('POST', '/api/upload', fd, true).then(function (r) {
      if (mySession !== session) return;
      imageBtn.disabled = false;
      imageBtn.classList.remove('busy');
      if (r.status === 401) { leaveRoom(); showAuth('login'); showToast('登录已失效，请重新登录'); return; }
      if (!r.ok || !r.data || typeof r.data.url !== 'string') { showToast(errorText(r, '图片上传失败')); return; }
      emitMessage({ content: r.data.url, message_type: 'image' }, function () {});
    });
  });

  // ---------- 大图 ----------
  function openLightbox(url) {
    lightboxImg.src = url;
    lightboxOpen.href = url;
    show(lightbox);
  }
  function closeLightbox() { hide(lightbox); lightboxImg.removeAttribute('src'); }
  lightbox.addEventListener('click', function (ev) { if (ev.target === lightbox || ev.target === lightboxImg) closeLightbox(); });
  $('lightbox-close').addEventListener('click', closeLightbox);
  document.addEventListener('keydown', function (ev) {
    if (ev.key !== 'Escape') return;
    if (!lightbox.hidden) closeLightbox();
    else if (!picker.hidden) { closePicker(); input.focus(); }
  });

  // ---------- 启动 ----------
  api('GET', '/api/current_user').then(function (r) {
    if (r.ok && r.data && r.data.user) enterRoom(r.data.user);
    else {
      showAuth('login');
      if (r.status === 0) showToast('无法连接服务器');
    }
  });
})();
