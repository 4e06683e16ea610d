// 历史消息：进入聊天室时的首屏、“加载更早的消息”、重连后用 after_id 补齐，
// 以及重连后问断线期间撤回/删除了什么（GET /api/messages/deleted?since=…，PROTOCOL.md §6.7）。
import { $, show, hide, showToast } from './dom.js';
import { api, errorText } from './api.js';
import { state, isCurrent, PAGE_SIZE, CATCHUP_PAGE } from './state.js';
import { onLeave, loginLost } from './session.js';
import { addMessage, applyDeletion, nearBottom, scrollToBottom, showNewPill, keepingPosition } from './render.js';

const loadEarlierBtn = $('load-earlier');
const historyEnd = $('history-end');
const LOAD_EARLIER_TEXT = '加载更早的消息';

function getMessages(query) {
  return api('GET', '/api/messages?' + query);
}

function updateHistoryControls(hasMore) {
  if (hasMore) { show(loadEarlierBtn); hide(historyEnd); }
  else { hide(loadEarlierBtn); if (state.seen.size) show(historyEnd); else hide(historyEnd); }
}

// 连上（或重新连上）服务器之后：第一次取首屏历史，之后补齐断线期间的消息。
export function syncHistory(mySession) {
  if (!state.historyLoaded) loadInitialHistory(mySession);
  else { catchUp(mySession); catchUpDeletions(mySession); }
}

// 各节点、各事件的时间略有先后：从见过的最新时间往前多问几秒，重复的删除无害。
const DELETED_MARGIN_MS = 5000;

// 断线期间撤回/删除的消息：从见过的最新服务器时间起问一次，逐条换成提示。
// 不支持的服务器（Flask 时代，404 等）就算了；401 走“登录已失效”。
async function catchUpDeletions(mySession) {
  const since = state.lastEventAt;
  const q = since ? '?since=' + encodeURIComponent(new Date(since.getTime() - DELETED_MARGIN_MS).toISOString()) : '';
  const r = await api('GET', '/api/messages/deleted' + q);
  if (!isCurrent(mySession)) return;
  if (loginLost(r, mySession)) return;
  if (!r.ok || !r.data || !Array.isArray(r.data.deleted)) return;
  r.data.deleted.forEach((d) => applyDeletion(d));
}

async function loadInitialHistory(mySession) {
  const r = await getMessages('limit=' + PAGE_SIZE);
  if (!isCurrent(mySession) || loginLost(r, mySession)) return;
  if (!r.ok) { showToast(errorText(r, '加载历史消息失败')); return; }
  const msgs = r.data.messages || [];
  state.historyLoaded = true;
  msgs.forEach((m) => addMessage(m, 'history'));
  if (msgs.length) state.oldestId = Math.min(state.oldestId == null ? Infinity : state.oldestId, msgs[0].id);
  updateHistoryControls(msgs.length >= PAGE_SIZE);
  state.stickToBottom = true;
  scrollToBottom();
}

function resetLoadEarlierButton() {
  loadEarlierBtn.disabled = false;
  loadEarlierBtn.textContent = LOAD_EARLIER_TEXT;
}

loadEarlierBtn.addEventListener('click', async () => {
  if (state.loadingEarlier || state.oldestId == null) return;
  state.loadingEarlier = true;
  const mySession = state.session;
  loadEarlierBtn.disabled = true;
  loadEarlierBtn.textContent = '加载中…';
  const r = await getMessages('limit=' + PAGE_SIZE + '&before_id=' + state.oldestId);
  if (!isCurrent(mySession)) return;
  state.loadingEarlier = false;
  resetLoadEarlierButton();
  if (loginLost(r, mySession)) return;
  if (!r.ok) { showToast(errorText(r, '加载更早的消息失败')); return; }
  const msgs = r.data.messages || [];
  state.stickToBottom = false;                 // 用户在看更早的消息
  keepingPosition(() => {
    msgs.forEach((m) => addMessage(m, 'history'));
    if (msgs.length) state.oldestId = Math.min(state.oldestId, msgs[0].id);
    updateHistoryControls(msgs.length >= PAGE_SIZE);
  });
});

// 重连后：取 after_id 之后的所有消息（去重）。
async function catchUp(mySession) {
  if (state.catchingUp) return;
  state.catchingUp = true;
  for (;;) {
    const r = await getMessages('limit=' + CATCHUP_PAGE + '&after_id=' + state.newestId);
    if (!isCurrent(mySession)) return;
    if (!r.ok) {
      state.catchingUp = false;
      loginLost(r, mySession);
      return;
    }
    const msgs = r.data.messages || [];
    let added = 0;
    msgs.forEach((m) => { if (addMessage(m, 'catchup')) added++; });
    if (msgs.length >= CATCHUP_PAGE) continue;
    state.catchingUp = false;
    if (added) { if (state.stickToBottom && nearBottom()) scrollToBottom(); else showNewPill(); }
    if (state.oldestId == null && msgs.length) state.oldestId = msgs[0].id;
    return;
  }
}

onLeave(() => {
  hide(loadEarlierBtn);
  hide(historyEnd);
  resetLoadEarlierButton();
});
