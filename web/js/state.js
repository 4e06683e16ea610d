// 常量与聊天室的共享状态。离开聊天室（退出、登录失效）时 resetRoomState() 把它们清零。

export const PAGE_SIZE = 50;          // 进入聊天室时加载的历史条数，以及每次“加载更早的消息”的条数
export const CATCHUP_PAGE = 200;      // 重连后补齐消息时每页条数（服务器上限 200）
export const MAX_LEN = 2000;          // 单条消息最大字符数（Unicode 码点）
export const ACK_TIMEOUT = 10000;     // 等待发送确认的时间
export const TYPING_EVERY = 2000;     // “正在输入”最多每 2 秒告诉服务器一次
export const TYPING_TTL = 6000;       // 别人的“正在输入”6 秒没有续上就不再显示
// 上传上限与撤回时限不写在这里：它们来自服务器（GET /api/settings，见 api.js）。

export const state = {
  me: null,               // 当前用户（含 is_admin）
  session: 0,             // 每次进入/离开聊天室递增，用来丢弃过期的异步结果
  seen: new Set(),        // 已显示的消息 id
  deleted: new Set(),     // 已撤回/删除的消息 id（之后再从历史里来也不显示）
  oldestId: null,         // 已加载的最小 id（翻页用）
  newestId: 0,            // 见过的最大 id（重连补齐用）
  lastEventAt: null,      // 见过的最新服务器时间（Date），重连后据此问“期间删了什么”
  clockSkew: null,        // 本机时钟 − 服务器时钟（毫秒）的估计，判断还能不能撤回用
  knownNames: new Set(),  // 见过的用户名（在线列表、消息作者），识别 @提及 用
  online: [],             // 最新的在线用户名单
  historyLoaded: false,   // 是否已加载首屏历史
  loadingEarlier: false,
  catchingUp: false,
  sending: false,         // 有文字消息正在等待确认
  stickToBottom: true,    // 用户停在底部时，图片加载完也保持在底部
};

export function resetRoomState() {
  state.me = null;
  state.seen = new Set();
  state.deleted = new Set();
  state.oldestId = null;
  state.newestId = 0;
  state.lastEventAt = null;
  state.clockSkew = null;
  state.knownNames = new Set();
  state.online = [];
  state.historyLoaded = false;
  state.loadingEarlier = false;
  state.catchingUp = false;
  state.sending = false;
}

// 异步结果回来时，发起它的那次“进入聊天室”是否还有效。
export function isCurrent(mySession) { return mySession === state.session; }

// 记下服务器发来的一个时间（事件或消息的 timestamp）：最新的那个是重连后问删除的起点。
export function noteServerTime(d) {
  if (!d) return;
  if (!state.lastEventAt || d > state.lastEventAt) state.lastEventAt = d;
}

// 刚收到的服务器时间 d：估计时钟差（网络延迟只会让差值变大，取见过的最小值）。
export function noteClock(d) {
  if (!d) return;
  const skew = Date.now() - d.getTime();
  if (state.clockSkew == null || skew < state.clockSkew) state.clockSkew = skew;
}

// 按服务器时钟估计的“现在”（毫秒）。
export function serverNow() { return Date.now() - (state.clockSkew || 0); }
