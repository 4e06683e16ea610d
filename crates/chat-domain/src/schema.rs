// One schema for both backends. The nullable columns are nullable because the
// Flask app declared them so; rows it wrote may hold NULL there.

diesel::table! {
    users (id) {
        id -> Integer,
        username -> Text,
        password_hash -> Text,
        created_at -> Nullable<Timestamp>,
        username_key -> Nullable<Text>,
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
    }
}

diesel::joinable!(messages -> users (user_id));
diesel::allow_tables_to_appear_in_same_query!(users, messages, sessions);
