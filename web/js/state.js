// 常量与聊天室的共享状态。离开聊天室（退出、登录失效）时 resetRoomState() 把它们清零。

export const PAGE_SIZE = 50;          // 进入聊天室时加载的历史条数，以及每次“加载更早的消息”的条数
export const CATCHUP_PAGE = 200;      // 重连后补齐消息时每页条数（服务器上限 200）
export const MAX_LEN = 2000;          // 单条消息最大字符数（Unicode 码点）
export const ACK_TIMEOUT = 10000;     // 等待发送确认的时间
// 上传上限不写在这里：它来自服务器（GET /api/settings，见 api.js）。

export const state = {
  me: null,               // 当前用户
  session: 0,             // 每次进入/离开聊天室递增，用来丢弃过期的异步结果
  seen: new Set(),        // 已显示的消息 id
  oldestId: null,         // 已加载的最小 id（翻页用）
  newestId: 0,            // 见过的最大 id（重连补齐用）
  historyLoaded: false,   // 是否已加载首屏历史
  loadingEarlier: false,
  catchingUp: false,
  sending: false,         // 有文字消息正在等待确认
  stickToBottom: true,    // 用户停在底部时，图片加载完也保持在底部
};

export function resetRoomState() {
  state.me = null;
  state.seen = new Set();
  state.oldestId = null;
  state.newestId = 0;
  state.historyLoaded = false;
  state.loadingEarlier = false;
  state.catchingUp = false;
  state.sending = false;
}

// 异步结果回来时，发起它的那次“进入聊天室”是否还有效。
export function isCurrent(mySession) { return mySession === state.session; }
