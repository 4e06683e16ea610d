// One schema for both backends. The nullable columns are nullable because the
// Flask app declared them so; rows it wrote may hold NULL there.

diesel::table! {
    users (id) {
        id -> Integer,
        username -> Text,
        password_hash -> Text,
        created_at -> Nullable<Timestamp>,
        username_key -> Nullable<Text>,
        /// When the account was banned (NULL: not banned).
        banned_at -> Nullable<Timestamp>,
        /// Who banned it (a user id; NULL for the operator's chat-admin).
        banned_by -> Nullable<Integer>,
        /// The last login or socket.
        last_seen_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    messages (id) {
        id -> BigInt,
        user_id -> Integer,
        content -> Text,
        message_type -> Nullable<Text>,
        timestamp -> Nullable<Timestamp>,
        /// When the message was deleted (recalled or removed by an admin).
        deleted_at -> Nullable<Timestamp>,
        /// Who deleted it (a user id).
        deleted_by -> Nullable<Integer>,
    }
}

diesel::table! {
    sessions (id) {
        id -> Text,
        data -> Text,
        expiry_date -> Timestamp,
        /// The logged-in user (NULL before login).
        user_id -> Nullable<Integer>,
    }
}

diesel::table! {
    /// What chat-admin did, for running servers to apply to their sockets.
    admin_events (id) {
        id -> BigInt,
        kind -> Text,
        user_id -> Nullable<Integer>,
        message_id -> Nullable<BigInt>,
        actor -> Text,
        created_at -> Timestamp,
    }
}

diesel::joinable!(messages -> users (user_id));
diesel::allow_tables_to_appear_in_same_query!(users, messages, sessions, admin_events);
