//! Table definitions, written to match `migrations/` (the same on both engines).

diesel::table! {
    /// Local and known remote actors.
    actors (id) {
        id -> BigInt,
        ap_id -> Text,
        kind -> Text,
        username -> Text,
        domain -> Text,
        display_name -> Nullable<Text>,
        summary -> Nullable<Text>,
        profile_url -> Nullable<Text>,
        inbox -> Text,
        shared_inbox -> Nullable<Text>,
        outbox -> Nullable<Text>,
        followers -> Nullable<Text>,
        following -> Nullable<Text>,
        avatar_url -> Nullable<Text>,
        public_key_pem -> Text,
        private_key_pem -> Nullable<Text>,
        manually_approves_followers -> Bool,
        discoverable -> Bool,
        local -> Bool,
        published_at -> Timestamp,
        last_refreshed_at -> Timestamp,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    /// Local accounts.
    users (actor_id) {
        actor_id -> BigInt,
        role -> Text,
        password_hash -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    /// Local support groups.
    support_groups (actor_id) {
        actor_id -> BigInt,
        visibility -> Text,
        join_policy -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    /// Hashed bearer tokens.
    access_tokens (id) {
        id -> BigInt,
        user_id -> BigInt,
        token_sha256 -> Text,
        scopes -> Text,
        created_at -> Timestamp,
        last_used_at -> Nullable<Timestamp>,
    }
}

diesel::joinable!(users -> actors (actor_id));
diesel::joinable!(support_groups -> actors (actor_id));
diesel::joinable!(access_tokens -> users (user_id));
diesel::allow_tables_to_appear_in_same_query!(actors, users, support_groups, access_tokens);
