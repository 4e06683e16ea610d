//! Accounts over HTTP: register, login, logout, current user; the session
//! cookie through axum-login + tower-sessions over the database store.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use crate::protocol::{AccountUser, Done, Success, UserBody};
use axum::extract::{ConnectInfo, FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use axum_login::{AuthUser, AuthnBackend, UserId};
use chat_domain::{Accounts, DomainError, PublicUser, User};
use tower_sessions::Session;

use crate::error::{AppError, AppResult};
use crate::json::JsonObject;
use crate::socket_server::SocketServer;
use crate::state::AppState;
use crate::{limits, telemetry};

/// The session cookie's name (PROTOCOL.md §3: the Flask room's `session`).
pub const SESSION_COOKIE: &str = "session";

/// Where the logged-in user's id is kept in the session; the store files the
/// session under it, which is how the socket handshake finds the account.
pub use chat_domain::session_store::SESSION_USER_KEY;

/// The account behind a session.
#[derive(Debug, Clone)]
pub struct SessionUser(pub User);

impl AuthUser for SessionUser {
    type Id = i32;

    fn id(&self) -> i32 {
        self.0.id
    }

    fn session_auth_hash(&self) -> &[u8] {
        self.0.password_hash.as_bytes()
    }
}

#[derive(Debug, Clone)]
pub struct AuthBackend {
    accounts: Accounts,
}

impl AuthBackend {
    pub fn new(accounts: Accounts) -> Self {
        Self { accounts }
    }
}

pub struct Credentials {
    pub username: String,
    pub password: String,
}

impl AuthnBackend for AuthBackend {
    type User = SessionUser;
    type Credentials = Credentials;
    type Error = DomainError;

    async fn authenticate(&self, c: Credentials) -> Result<Option<SessionUser>, DomainError> {
        Ok(self
            .accounts
            .authenticate(&c.username, &c.password)
            .await?
            .map(SessionUser))
    }

    /// A banned account's sessions are ended when it is banned; one that a
    /// node still caches in a request counts as logged out all the same.
    async fn get_user(&self, id: &UserId<Self>) -> Result<Option<SessionUser>, DomainError> {
        Ok(self
            .accounts
            .find(*id)
            .await?
            .filter(|u| !u.is_banned())
            .map(SessionUser))
    }
}

pub type AuthSession = axum_login::AuthSession<AuthBackend>;

fn auth_error(e: axum_login::Error<AuthBackend>) -> AppError {
    match e {
        axum_login::Error::Backend(e) => AppError::from(e),
        axum_login::Error::Session(e) => AppError::internal(e),
    }
}

/// The logged-in user, or 401.
pub struct CurrentUser(pub User);

impl<S: Send + Sync> FromRequestParts<S> for CurrentUser {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AppError> {
        let session = AuthSession::from_request_parts(parts, state)
            .await
            .map_err(|_| AppError::internal("session layer missing"))?;
        session
            .user
            .map(|u| CurrentUser(u.0))
            .ok_or(AppError::Unauthorized)
    }
}

fn user_body(state: &AppState, user: &User) -> Json<UserBody> {
    Json(UserBody {
        success: Success,
        user: AccountUser {
            user: PublicUser::from(user),
            is_admin: state.config.is_admin(&user.username),
        },
    })
}

/// Logs the user in on this request's session: a fresh session id (no
/// fixation), and the id the socket handshake reads.
async fn start_session(auth: &mut AuthSession, session: &Session, user: &User) -> AppResult<()> {
    // axum-login cycles the id only when the session held no login yet; a
    // login over an existing one must get a fresh id too.
    session.cycle_id().await.map_err(AppError::internal)?;
    auth.login(&SessionUser(user.clone()))
        .await
        .map_err(auth_error)?;
    session
        .insert(SESSION_USER_KEY, user.id)
        .await
        .map_err(AppError::internal)?;
    Ok(())
}

/// `POST /api/register`
pub async fn register(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    mut auth: AuthSession,
    session: Session,
    body: JsonObject,
) -> AppResult<(StatusCode, Json<UserBody>)> {
    let (username, password) = (body.string("username")?, body.string("password")?);
    // The place is taken before bcrypt's work (a burst cannot all pass the
    // check) and given back when no account is created.
    let address = address_key(client_ip(&headers, peer.ip(), state.config.behind_proxy));
    let counters = state.counters.as_ref();
    let place = limits::reserve(counters, state.budgets.register.as_ref(), &address, 1).await?;
    let registered = state.accounts.register(username, password).await;
    if registered.is_err() {
        limits::release(counters, place).await;
    }
    let user = registered?;
    tracing::info!(user_id = user.id, username = %user.username, client = %address, "registered");
    start_session(&mut auth, &session, &user).await?;
    Ok((StatusCode::CREATED, user_body(&state, &user)))
}

/// The client's address: the peer's, or behind a trusted proxy the one it reports.
pub fn client_ip(headers: &HeaderMap, peer: IpAddr, behind_proxy: bool) -> IpAddr {
    if !behind_proxy {
        return peer;
    }
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    header("x-real-ip")
        .and_then(|v| v.trim().parse().ok())
        .or_else(|| {
            header("x-forwarded-for")
                .and_then(|v| v.rsplit(',').next())
                .and_then(|v| v.trim().parse().ok())
        })
        .unwrap_or(peer)
}

/// What limits count an address by: an IPv4 address, or an IPv6 /64 (one
/// host usually holds a whole /64).
pub fn address_key(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
    }
}

/// `POST /api/login`
pub async fn login(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    mut auth: AuthSession,
    session: Session,
    body: JsonObject,
) -> AppResult<Json<UserBody>> {
    let (username, password) = (body.string("username")?, body.string("password")?);
    // Failures are counted per name and address: guessing is slowed down
    // without letting anyone lock a user out from elsewhere.
    let ip = address_key(client_ip(&headers, peer.ip(), state.config.behind_proxy));
    let key = format!(
        "{}|{}",
        chat_domain::users::username_key(username.trim()),
        ip
    );
    let lockout = &state.lockout;
    if let Some(left) = lockout.locked_for(&key).await.map_err(AppError::internal)? {
        metrics::counter!(telemetry::LOGINS, "result" => "locked").increment(1);
        return Err(AppError::LockedOut(left));
    }
    // Guessing over many names from one address is bounded too.
    let failures = state.budgets.login_failures.as_ref();
    if let Err(e) = limits::ensure_room(state.counters.as_ref(), failures, &ip, 1).await {
        metrics::counter!(telemetry::LOGINS, "result" => "locked").increment(1);
        return Err(e);
    }
    let creds = Credentials {
        username: username.to_owned(),
        password: password.to_owned(),
    };
    let Some(SessionUser(user)) = auth.authenticate(creds).await.map_err(auth_error)? else {
        metrics::counter!(telemetry::LOGINS, "result" => "failure").increment(1);
        lockout
            .record_failure(&key)
            .await
            .map_err(AppError::internal)?;
        limits::spend(state.counters.as_ref(), failures, &ip, 1).await?;
        tracing::info!(username = %username.trim(), client = %ip, "login failed");
        return Err(AppError::BadCredentials);
    };
    lockout.clear(&key).await.map_err(AppError::internal)?;
    // The right password of a banned account: 403, so that the page can say
    // so (a wrong one stays 401 above).
    if user.is_banned() {
        metrics::counter!(telemetry::LOGINS, "result" => "banned").increment(1);
        tracing::info!(user_id = user.id, client = %ip, "login of a banned user refused");
        return Err(AppError::Banned);
    }
    metrics::counter!(telemetry::LOGINS, "result" => "success").increment(1);
    start_session(&mut auth, &session, &user).await?;
    tracing::info!(user_id = user.id, "logged in");
    seen(&state, user.id);
    Ok(user_body(&state, &user))
}

/// Records that the user was seen now (a login, a socket joining or
/// leaving), for `chat-admin users`: written with the others of the second
/// (`last_seen`).
pub fn seen(state: &AppState, user_id: i32) {
    state.last_seen.record(user_id);
}

/// `POST /api/logout`: the session is destroyed and its sockets disconnected.
pub async fn logout(
    State(sockets): State<Arc<dyn SocketServer>>,
    mut auth: AuthSession,
    session: Session,
) -> AppResult<Json<Done>> {
    let id = session.id();
    auth.logout().await.map_err(auth_error)?;
    if let Some(id) = id {
        sockets.disconnect_session(&id.to_string()).await;
    }
    Ok(Json(Done { success: Success }))
}

/// `GET /api/current_user`
pub async fn current_user(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
) -> Json<UserBody> {
    user_body(&state, &user)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_counted_by_ipv4_or_ipv6_slash_64() {
        let key = |s: &str| address_key(s.parse().unwrap());
        assert_eq!(key("203.0.113.7"), "203.0.113.7");
        assert_eq!(key("::ffff:203.0.113.7"), "203.0.113.7");
        assert_eq!(key("2001:db8:1:2:aaaa::1"), "2001:db8:1:2::/64");
        assert_eq!(key("2001:db8:1:2:bbbb::9"), key("2001:db8:1:2:aaaa::1"));
        assert_ne!(key("2001:db8:1:3::1"), key("2001:db8:1:2::1"));
    }

    #[test]
    fn the_client_address_comes_from_the_proxy_only_when_trusted() {
        let peer: IpAddr = "127.0.0.1".parse().unwrap();
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", "10.0.0.9, 203.0.113.7".parse().unwrap());
        assert_eq!(client_ip(&h, peer, false), peer);
        assert_eq!(
            client_ip(&h, peer, true),
            "203.0.113.7".parse::<IpAddr>().unwrap()
        );
        h.insert("x-real-ip", "198.51.100.4".parse().unwrap());
        assert_eq!(
            client_ip(&h, peer, true),
            "198.51.100.4".parse::<IpAddr>().unwrap()
        );
        h.insert("x-real-ip", "garbage".parse().unwrap());
        assert_eq!(
            client_ip(&h, peer, true),
            "203.0.113.7".parse::<IpAddr>().unwrap()
        );
    }
}
