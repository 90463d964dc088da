//! The fixture each row of the authorization table runs on (see the module
//! documentation of `authorization`).

use std::collections::HashMap;

use diesel::sql_types::{BigInt, Text};
use diesel_async::AsyncPgConnection;
use parley_shared::infra::tokens::{TokenKeys, TokenKind};
use parley_tests::{Api, TestUser};
use reqwest::StatusCode;
use serde_json::json;
use uuid::Uuid;

/// The users of a fixture, in the order [`create_users`] returns them.
const ROLES: [&str; 8] = [
    "owner",
    "outsider",
    "blocked",
    "member",
    "moderator",
    "admin",
    "target",
    "candidate",
];

/// What one row runs on (see the module documentation).
pub(super) struct Fixture {
    pub(super) owner: TestUser,
    pub(super) outsider: TestUser,
    pub(super) blocked: TestUser,
    pub(super) member: TestUser,
    pub(super) moderator: TestUser,
    pub(super) admin: TestUser,
    /// A plain member, not a persona: `{user_id}` of member management and
    /// the sender of `{id}`.
    pub(super) target: TestUser,
    /// A user in no chat, not a persona: whom `POST /members` adds.
    pub(super) candidate: TestUser,
    pub(super) chat_id: i64,
    /// `target`'s message in the group: `{id}`.
    pub(super) message_id: i64,
    /// The owner's invite link: `{link_id}` and its token.
    pub(super) link_id: i64,
    pub(super) link_token: String,
    /// The owner's session: `{jti}`.
    pub(super) owner_session: Uuid,
}

impl Fixture {
    /// New users (named after `index`, the row's), the group, the roles,
    /// the block, the message and the invite link.
    pub(super) async fn build(
        api: &Api,
        conn: &mut AsyncPgConnection,
        keys: &TokenKeys,
        seed: &TestUser,
        index: usize,
    ) -> Fixture {
        let users: [(TestUser, Uuid); 8] = create_users(conn, keys, seed, index)
            .await
            .try_into()
            .expect("one user per role");
        let [
            (owner, owner_session),
            (outsider, _),
            (blocked, _),
            (member, _),
            (moderator, _),
            (admin, _),
            (target, _),
            (candidate, _),
        ] = users;
        let owner_token = Some(owner.access_token.as_str());
        let chat_id = api
            .group(&owner, &[&member, &moderator, &admin, &target])
            .await;
        for (user, role) in [(&moderator, "moderator"), (&admin, "admin")] {
            let (status, answer) = api
                .patch_json(
                    &format!("/api/v1/chats/{chat_id}/members/{}/role", user.id),
                    owner_token,
                    &json!({"role": role}),
                )
                .await;
            assert_eq!(status, StatusCode::OK, "make the {role}: {answer}");
        }
        let (status, answer) = api
            .post(
                &format!("/api/v1/users/{}/block", blocked.id),
                owner_token,
                &json!({}),
            )
            .await;
        assert_eq!(status, StatusCode::NO_CONTENT, "block: {answer}");
        let message = api
            .send_text(&target, chat_id, &format!("Fixture message of row {index}"))
            .await;
        let message_id = message["id"].as_i64().expect("message id");
        let (status, invite) = api
            .post(
                &format!("/api/v1/chats/{chat_id}/invite-link"),
                owner_token,
                &json!({}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "invite link: {invite}");
        let link_id = invite["id"].as_i64().expect("invite link id");
        let link_token = invite["token"]
            .as_str()
            .expect("invite link token")
            .to_owned();
        Fixture {
            owner,
            outsider,
            blocked,
            member,
            moderator,
            admin,
            target,
            candidate,
            chat_id,
            message_id,
            link_id,
            link_token,
            owner_session,
        }
    }

    /// The persona at `index` of [`PERSONAS`]; `None` for anonymous.
    pub(super) fn persona(&self, index: usize) -> Option<&TestUser> {
        match index {
            0 => None,
            1 => Some(&self.outsider),
            2 => Some(&self.blocked),
            3 => Some(&self.member),
            4 => Some(&self.moderator),
            5 => Some(&self.admin),
            _ => Some(&self.owner),
        }
    }
}

#[derive(diesel::QueryableByName)]
struct CreatedUser {
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = Text)]
    username: String,
}

/// The users of row `index`, in [`ROLES`] order (`r{index}_{role}`), each
/// with an active session of its own and that session's id: what register
/// and login would make, without their two argon2 computations (the
/// password hash is the seed's, so `password` is the seed's too).
async fn create_users(
    conn: &mut AsyncPgConnection,
    keys: &TokenKeys,
    seed: &TestUser,
    index: usize,
) -> Vec<(TestUser, Uuid)> {
    let values = ROLES
        .iter()
        .map(|role| format!("('r{index}_{role}@example.com', '{role} {index}', 'r{index}_{role}')"))
        .collect::<Vec<String>>()
        .join(", ");
    let seed_id = seed.id;
    let sql = format!(
        "INSERT INTO users (email, name, username, password_hash) \
         SELECT v.email, v.name, v.username, s.password_hash \
           FROM (VALUES {values}) AS v (email, name, username) \
           JOIN users s ON s.id = {seed_id} \
         RETURNING id, username"
    );
    let created: Vec<CreatedUser> =
        diesel_async::RunQueryDsl::load(diesel::sql_query(sql), &mut *conn)
            .await
            .expect("insert the fixture's users");
    let ids: HashMap<String, i64> = created
        .into_iter()
        .map(|user| (user.username, user.id))
        .collect();
    let mut users = Vec::new();
    let mut sessions = Vec::new();
    for role in ROLES {
        let username = format!("r{index}_{role}");
        let id = ids[&username];
        let sid = Uuid::new_v4();
        let refresh_jti = Uuid::new_v4();
        sessions.push(format!(
            "('{sid}', {id}, '{refresh_jti}', now() + interval '1 day')"
        ));
        let user = TestUser {
            id,
            email: format!("{username}@example.com"),
            password: seed.password.clone(),
            access_token: keys
                .sign(id, sid, Uuid::new_v4(), TokenKind::Access)
                .expect("sign an access token"),
            refresh_token: keys
                .sign(id, sid, refresh_jti, TokenKind::Refresh)
                .expect("sign a refresh token"),
        };
        users.push((user, sid));
    }
    let sessions = sessions.join(", ");
    diesel_async::RunQueryDsl::execute(
        diesel::sql_query(format!(
            "INSERT INTO sessions (jti, user_id, refresh_jti, expires_at) VALUES {sessions}"
        )),
        &mut *conn,
    )
    .await
    .expect("insert the fixture's sessions");
    users
}
