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
        /// Header image: its remote URL, or the served file of a local person.
        header_url -> Nullable<Text>,
        /// Remote actors: token of the avatar's copy served here (`remote_media.token`).
        avatar_proxy -> Nullable<Text>,
        /// Remote actors: token of the header's copy served here.
        header_proxy -> Nullable<Text>,
        /// Profile fields, a JSON array of `{"name", "value"}` (value HTML).
        fields -> Text,
        /// A clinician's attestation (`clinicianAttestation`, JSON): issued here, or verified.
        clinician -> Nullable<Text>,
        /// Whether this instance trusts the clinic that issued it.
        clinician_trusted -> Bool,
    }
}

diesel::table! {
    /// Local accounts.
    users (actor_id) {
        actor_id -> BigInt,
        role -> Text,
        password_hash -> Text,
        created_at -> Timestamp,
        /// False while the account waits for a moderator's approval.
        approved -> Bool,
        sign_up_reason -> Nullable<Text>,
        email -> Nullable<Text>,
        agreed_at -> Nullable<Timestamp>,
        locale -> Nullable<Text>,
        invite_id -> Nullable<BigInt>,
        /// The bio as typed.
        note_source -> Nullable<Text>,
        default_privacy -> Text,
        default_sensitive -> Bool,
        default_language -> Nullable<Text>,
        /// When a moderator suspended the account.
        suspended_at -> Nullable<Timestamp>,
        /// When a moderator limited the account.
        limited_at -> Nullable<Timestamp>,
        /// When a moderator had the account's posts shown as sensitive.
        sensitized_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    /// Local support groups.
    support_groups (actor_id) {
        actor_id -> BigInt,
        visibility -> Text,
        join_policy -> Text,
        created_at -> Timestamp,
        owner_id -> Nullable<BigInt>,
        rules -> Text,
        /// The content warning given to posts into the group that carry none; empty: none.
        content_warning -> Text,
        /// How many days the group keeps its posts; NULL: for ever.
        retention_days -> Nullable<Integer>,
    }
}

diesel::table! {
    /// Hashed bearer tokens and browser sessions.
    access_tokens (id) {
        id -> BigInt,
        /// NULL for an app's own (client-credentials) token.
        user_id -> Nullable<BigInt>,
        token_sha256 -> Text,
        scopes -> Text,
        created_at -> Timestamp,
        last_used_at -> Nullable<Timestamp>,
        app_id -> Nullable<BigInt>,
        refresh_sha256 -> Nullable<Text>,
        /// `cli`, `app` or `session`.
        kind -> Text,
        expires_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    /// Apps registered through `POST /api/v1/apps`.
    oauth_apps (id) {
        id -> BigInt,
        client_id -> Text,
        client_secret_sha256 -> Text,
        name -> Text,
        website -> Nullable<Text>,
        redirect_uris -> Text,
        scopes -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    /// Authorization codes waiting to be exchanged for a token.
    oauth_codes (code_sha256) {
        code_sha256 -> Text,
        app_id -> BigInt,
        user_id -> BigInt,
        redirect_uri -> Text,
        scopes -> Text,
        code_challenge -> Nullable<Text>,
        expires_at -> Timestamp,
    }
}

diesel::table! {
    /// Follows of people and memberships of groups.
    follows (id) {
        id -> BigInt,
        ap_id -> Text,
        follower_id -> BigInt,
        target_id -> BigInt,
        accepted -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        /// Where the follower's deliveries go (its server's shared inbox, else its inbox);
        /// NULL for a local follower. Kept by triggers from `actors`.
        delivery_inbox -> Nullable<Text>,
    }
}

diesel::table! {
    /// Moderators of local groups.
    group_moderators (group_id, actor_id) {
        group_id -> BigInt,
        actor_id -> BigInt,
        created_at -> Timestamp,
    }
}

diesel::table! {
    /// Actors banned from local groups.
    group_bans (group_id, actor_id) {
        group_id -> BigInt,
        actor_id -> BigInt,
        created_at -> Timestamp,
    }
}

diesel::table! {
    /// Posts written here or delivered here.
    posts (id) {
        id -> BigInt,
        ap_id -> Text,
        kind -> Text,
        author_id -> BigInt,
        group_id -> Nullable<BigInt>,
        in_reply_to_ap_id -> Nullable<Text>,
        in_reply_to_id -> Nullable<BigInt>,
        name -> Nullable<Text>,
        content -> Text,
        spoiler_text -> Text,
        sensitive -> Bool,
        visibility -> Text,
        url -> Nullable<Text>,
        local -> Bool,
        published_at -> Timestamp,
        edited_at -> Nullable<Timestamp>,
        deleted_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        /// The text a local post was written as.
        source_text -> Nullable<Text>,
        /// ISO 639 code of the post's language.
        language -> Nullable<Text>,
    }
}

diesel::table! {
    /// Posts people keep for later.
    bookmarks (id) {
        id -> BigInt,
        actor_id -> BigInt,
        post_id -> BigInt,
        created_at -> Timestamp,
    }
}

diesel::table! {
    /// Posts people show first on their profile.
    pins (actor_id, post_id) {
        actor_id -> BigInt,
        post_id -> BigInt,
        created_at -> Timestamp,
    }
}

diesel::table! {
    /// Earlier versions of edited posts.
    post_edits (id) {
        id -> BigInt,
        post_id -> BigInt,
        content -> Text,
        spoiler_text -> Text,
        sensitive -> Bool,
        created_at -> Timestamp,
    }
}

diesel::table! {
    /// Who a post mentions or is addressed to.
    post_mentions (post_id, actor_id) {
        post_id -> BigInt,
        actor_id -> BigInt,
    }
}

diesel::table! {
    /// Likes (favourites).
    likes (id) {
        id -> BigInt,
        ap_id -> Text,
        actor_id -> BigInt,
        post_id -> BigInt,
        created_at -> Timestamp,
    }
}

diesel::table! {
    /// Ids of activities already received.
    received_activities (ap_id) {
        ap_id -> Text,
        received_at -> Timestamp,
    }
}

diesel::table! {
    /// The outbox: each activity to deliver, once, with the servers it goes to.
    outbox (id) {
        id -> BigInt,
        created_at -> Timestamp,
        /// The actor whose key signs the requests.
        signer_id -> BigInt,
        /// `activity`, `object`, or NULL for every server.
        form -> Nullable<Text>,
        /// `' host host:port '`: the servers it goes to.
        hosts -> Text,
        /// The inbox URLs, one per line.
        inboxes -> Text,
        ap_id -> Text,
        body -> Text,
    }
}

diesel::table! {
    /// Receiving servers: their software and how delivering to them goes.
    servers (host) {
        host -> Text,
        software -> Nullable<Text>,
        software_checked_at -> Nullable<Timestamp>,
        next_attempt_at -> Timestamp,
        failures -> Integer,
        failing_since -> Nullable<Timestamp>,
        unreachable_since -> Nullable<Timestamp>,
        last_success_at -> Nullable<Timestamp>,
        last_error -> Nullable<Text>,
        claimed_until -> Nullable<Timestamp>,
        /// Its cursor: every outbox entry for it up to this id is delivered or given up.
        delivered_up_to -> BigInt,
        /// Whether outbox entries past its cursor may wait for it.
        waiting -> Bool,
    }
}

diesel::table! {
    /// Uploaded images (re-encoded, without metadata), and the post each belongs to.
    media_attachments (id) {
        id -> BigInt,
        owner_id -> BigInt,
        /// NULL until a post uses it.
        post_id -> Nullable<BigInt>,
        content_type -> Text,
        file_name -> Text,
        thumbnail_file_name -> Text,
        width -> Integer,
        height -> Integer,
        thumbnail_width -> Integer,
        thumbnail_height -> Integer,
        blurhash -> Text,
        /// Alt text.
        description -> Nullable<Text>,
        focus_x -> Double,
        focus_y -> Double,
        byte_size -> BigInt,
        created_at -> Timestamp,
        /// `avatar` or `header` when a person uses the upload as such.
        profile -> Nullable<Text>,
    }
}

diesel::table! {
    /// Images of other servers served here under a random token (`service/media_proxy.rs`).
    remote_media (id) {
        id -> BigInt,
        token -> Text,
        remote_url -> Text,
        /// `avatar`, `header` or `attachment`.
        purpose -> Text,
        post_id -> Nullable<BigInt>,
        actor_id -> Nullable<BigInt>,
        description -> Nullable<Text>,
        blurhash -> Nullable<Text>,
        width -> Nullable<Integer>,
        height -> Nullable<Integer>,
        focus_x -> Double,
        focus_y -> Double,
        /// NULL until the original has been fetched and stored.
        file_name -> Nullable<Text>,
        thumbnail_file_name -> Nullable<Text>,
        content_type -> Nullable<Text>,
        thumbnail_width -> Nullable<Integer>,
        thumbnail_height -> Nullable<Integer>,
        byte_size -> Nullable<BigInt>,
        fetched_at -> Nullable<Timestamp>,
        failed_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    /// Notifications of local people (`service/notifications.rs` decides who gets which).
    notifications (id) {
        id -> BigInt,
        recipient_id -> BigInt,
        /// `mention`, `follow`, `follow_request`, `favourite` or `reblog`.
        kind -> Text,
        /// The account whose act it is.
        from_id -> BigInt,
        post_id -> Nullable<BigInt>,
        /// The follow (or request) announced; the notification goes with it.
        follow_id -> Nullable<BigInt>,
        /// The like announced; the notification goes with it.
        like_id -> Nullable<BigInt>,
        created_at -> Timestamp,
        /// The report announced (`admin.report`); the notification goes with it.
        report_id -> Nullable<BigInt>,
        /// The clinic's announcement (`hearth:announcement`); the notification goes with it.
        announcement_id -> Nullable<BigInt>,
    }
}

diesel::table! {
    /// Where a person stopped reading a timeline (`home` or `notifications`).
    markers (actor_id, timeline) {
        actor_id -> BigInt,
        timeline -> Text,
        last_read_id -> BigInt,
        version -> BigInt,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    /// `actor_id` blocks `target_id` (a local person's block, or a remote actor's of one).
    blocks (id) {
        id -> BigInt,
        /// The Block activity's id.
        ap_id -> Text,
        actor_id -> BigInt,
        target_id -> BigInt,
        created_at -> Timestamp,
    }
}

diesel::table! {
    /// `actor_id` mutes `target_id` until `expires_at` (NULL: for good).
    mutes (id) {
        id -> BigInt,
        actor_id -> BigInt,
        target_id -> BigInt,
        /// Whether notifications from the muted account are hidden too.
        notifications -> Bool,
        expires_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    /// Reports filed by local people, for the moderators.
    reports (id) {
        id -> BigInt,
        reporter_id -> BigInt,
        target_id -> BigInt,
        comment -> Text,
        /// `misinformation`, `crisis`, `privacy`, `harassment`, `spam`, `other`, or
        /// `violation` (rules cited).
        category -> Text,
        /// The numbers of the instance rules cited, space-separated.
        rule_ids -> Text,
        /// Whether the reporter asked for it to go to the target's server.
        forward -> Bool,
        created_at -> Timestamp,
        action_taken_at -> Nullable<Timestamp>,
        /// The moderator who resolved it (`None`: unresolved, or the command line).
        action_taken_by_id -> Nullable<BigInt>,
        resolution_note -> Nullable<Text>,
    }
}

diesel::table! {
    /// The posts a report points at.
    report_posts (report_id, post_id) {
        report_id -> BigInt,
        post_id -> BigInt,
    }
}

diesel::table! {
    /// Hashtags, by lower-cased name.
    tags (id) {
        id -> BigInt,
        name -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    /// Which posts carry which tags.
    post_tags (tag_id, post_id) {
        tag_id -> BigInt,
        post_id -> BigInt,
    }
}

diesel::table! {
    /// Local people's direct conversations: one per thread and set of other participants.
    conversations (id) {
        id -> BigInt,
        actor_id -> BigInt,
        root_id -> BigInt,
        /// The other participants' actor ids, ascending, comma-separated.
        participant_ids -> Text,
        last_post_id -> BigInt,
        unread -> Bool,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    /// `Idempotency-Key`s of new posts (as SHA-256), kept an hour.
    idempotency_keys (actor_id, key_sha256) {
        actor_id -> BigInt,
        key_sha256 -> Text,
        post_id -> BigInt,
        created_at -> Timestamp,
    }
}

diesel::table! {
    /// People's boosts: `actor_id` shares `post_id` (its `Announce` is `ap_id`).
    reblogs (id) {
        id -> BigInt,
        ap_id -> Text,
        actor_id -> BigInt,
        post_id -> BigInt,
        /// `public` or `unlisted`.
        visibility -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    /// Posts each actor wrote, posts in each group (not deleted), accepted followers and
    /// follows: kept by triggers.
    actor_stats (actor_id) {
        actor_id -> BigInt,
        posts_count -> BigInt,
        group_posts_count -> BigInt,
        followers_count -> BigInt,
        following_count -> BigInt,
    }
}

diesel::table! {
    /// Settings admins set at run time (the crisis resources text), one row per name.
    instance_settings (name) {
        name -> Text,
        value -> Text,
        updated_at -> Timestamp,
    }
}

diesel::joinable!(users -> actors (actor_id));
diesel::joinable!(support_groups -> actors (actor_id));
diesel::joinable!(access_tokens -> users (user_id));
diesel::joinable!(access_tokens -> oauth_apps (app_id));
diesel::joinable!(posts -> actors (author_id));
diesel::joinable!(likes -> posts (post_id));
diesel::joinable!(reblogs -> posts (post_id));
diesel::joinable!(post_mentions -> posts (post_id));
diesel::joinable!(post_tags -> posts (post_id));
diesel::joinable!(post_tags -> tags (tag_id));
diesel::allow_tables_to_appear_in_same_query!(
    actors,
    users,
    support_groups,
    access_tokens,
    oauth_apps,
    oauth_codes,
    follows,
    group_moderators,
    group_bans,
    posts,
    bookmarks,
    pins,
    post_edits,
    post_mentions,
    likes,
    reblogs,
    actor_stats,
    received_activities,
    outbox,
    servers,
    media_attachments,
    remote_media,
    notifications,
    markers,
    blocks,
    mutes,
    reports,
    report_posts,
    tags,
    post_tags,
    conversations,
    idempotency_keys,
);

diesel::table! {
    /// Invite codes (as their hash) and how often they were used.
    invites (id) {
        id -> BigInt,
        code_sha256 -> Text,
        created_by -> Nullable<BigInt>,
        max_uses -> Nullable<Integer>,
        uses -> Integer,
        expires_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    /// The audit log: admin and moderator acts, hash-chained (see `service::audit`).
    audit_log (id) {
        id -> BigInt,
        created_at -> Timestamp,
        actor_id -> Nullable<BigInt>,
        actor_name -> Text,
        actor_role -> Text,
        action -> Text,
        target_kind -> Text,
        target_id -> Text,
        target_name -> Text,
        detail -> Text,
        reason -> Nullable<Text>,
        prev_hash -> Text,
        hash -> Text,
    }
}

diesel::table! {
    /// The end of the audit chain: one row.
    audit_head (id) {
        id -> Integer,
        last_id -> BigInt,
        last_hash -> Text,
    }
}

diesel::table! {
    /// The federation mode and its version (one row; see `service::policy`).
    federation_policy (id) {
        id -> Integer,
        /// `open`, `blocklist` or `allowlist`.
        mode -> Text,
        /// Whether `/api/v1/instance/domain_blocks` lists the blocks.
        public_list -> Bool,
        /// Bumped by every change of the mode or of a domain rule.
        version -> BigInt,
    }
}

diesel::table! {
    /// Domain blocks, as Mastodon has them.
    domain_blocks (id) {
        id -> BigInt,
        domain -> Text,
        /// `noop`, `silence` or `suspend`.
        severity -> Text,
        reject_media -> Bool,
        reject_reports -> Bool,
        private_comment -> Nullable<Text>,
        public_comment -> Nullable<Text>,
        obfuscate -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    /// Domains federated with in allowlist mode.
    domain_allows (id) {
        id -> BigInt,
        domain -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    /// Handles of deleted local accounts (hashed), not to be taken again before `until`.
    retired_handles (handle_sha256) {
        handle_sha256 -> Text,
        until -> Timestamp,
    }
}

diesel::table! {
    /// Clinic announcements, as Mastodon's (`content` HTML).
    announcements (id) {
        id -> BigInt,
        content -> Text,
        starts_at -> Nullable<Timestamp>,
        ends_at -> Nullable<Timestamp>,
        all_day -> Bool,
        urgent -> Bool,
        published_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    /// Who dismissed which announcement.
    announcement_reads (announcement_id, actor_id) {
        announcement_id -> BigInt,
        actor_id -> BigInt,
    }
}

diesel::table! {
    /// Reactions to announcements.
    announcement_reactions (announcement_id, actor_id, name) {
        announcement_id -> BigInt,
        actor_id -> BigInt,
        name -> Text,
    }
}

diesel::table! {
    /// A person's data archives, prepared in the background.
    exports (id) {
        id -> BigInt,
        person_id -> BigInt,
        state -> Text,
        done -> BigInt,
        total -> BigInt,
        file_name -> Nullable<Text>,
        byte_size -> Nullable<BigInt>,
        requested_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    /// The posts an urgent announcement was posted as.
    announcement_posts (announcement_id, post_id) {
        announcement_id -> BigInt,
        post_id -> BigInt,
    }
}
