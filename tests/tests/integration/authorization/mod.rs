//! The authorization table: for every route of the native API, the HTTP
//! status each of seven personas gets. One [`Row`] per route (a route may
//! have more than one row, for variants of its query or body), in
//! [`table`]; [`every_route_has_a_row_and_every_row_a_route`] fails when a
//! route of `parley_api::routes::route_list()` (every route `configure()`
//! registers, less the OpenAPI document and its UI) has no row, or a row
//! names no route.
//!
//! Personas, in the order they are asked (`expect` is in this order):
//! anonymous (no token), outsider (logged in, in no chat of the fixture),
//! blocked (logged in, blocked by the owner, not in the group), member,
//! moderator, admin, owner (of the fixture's group).
//!
//! Every row gets a FRESH fixture ([`Fixture`]): new users, a new group
//! owned by `owner` with `member`, `moderator`, `admin` and `target` (a
//! plain member who is not a persona), a message of `target` in it, an
//! invite link made by the owner, and the owner's block of `blocked`. So a
//! row's changes never reach another row. Within one row, though, the
//! personas are asked one after the other in the order above, on the same
//! fixture: an earlier success can shape a later answer (the admin removes
//! `target`, then the owner finds no such member). Bodies are chosen so
//! that this rarely matters (idempotent where the API allows it); where it
//! does, the row's comment says why its later statuses are what they are.
//!
//! Placeholders: `{chat_id}` is the group; `{user_id}` is `target` under
//! `/chats` (member management) and the owner under `/users` (so that the
//! blocked persona meets its blocker); `{id}` is `target`'s message (someone
//! else's message for every persona), except in `GET /api/v1/messages/{id}`,
//! which lists the messages of chat `{id}` (the group); `{link_id}` is the
//! owner's invite link; `{jti}` is the owner's session.
//!
//! A success is checked by its status only; a refusal (4xx, 5xx) must also
//! carry the error envelope `{"detail": string, "code": string}`. `SKIP`
//! in `expect` means "this persona is not asked" (used for the realtime
//! endpoints, which are asked anonymously only).
//!
//! Adding a row: add `route(METHOD, path template, [anonymous, outsider,
//! blocked, member, moderator, admin, owner])` to [`table`], with the path
//! exactly as `route_list()` names it (`/api/v1/chats/{chat_id}/...`), plus
//! `.with_query("?...")` and `.with_body(|f| json!(...))` as needed (the
//! body function is called once per persona, so a body may be unique per
//! request). Read the expected statuses off the domain code
//! (`shared/src/domain/permissions.rs` is the role table), and put a
//! comment on the group saying the rule it encodes.
//!
//! The fixture's users are written straight into the database (one insert
//! of eight users sharing one registered user's password hash, one insert
//! of their sessions, tokens signed with the app's keys as `login` signs
//! them): registering and logging in through the API costs two argon2
//! computations (19 MiB each) per user, which in the unoptimised test
//! build is far too slow for eight users times seventy rows on two cores.
//! Everything after the users (the group, roles, block, message, invite
//! link) goes through the API.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use parley_shared::infra::tokens::TokenKeys;
use parley_tests::{Api, TestApp};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// The personas, in the order they are asked within one fixture.
const PERSONAS: [&str; 7] = [
    "anonymous",
    "outsider",
    "blocked",
    "member",
    "moderator",
    "admin",
    "owner",
];

/// In `expect`: this persona is not asked.
const SKIP: u16 = 0;

/// Rows checked at once, each on its own fixture.
const WORKERS: usize = 4;

mod fixture;
mod table;

use fixture::Fixture;
use table::table;

/// One route (or one variant of it) and what each persona gets.
struct Row {
    /// Upper case, as `route_list()` names it.
    method: &'static str,
    /// The path template, as `route_list()` names it.
    path: &'static str,
    /// Appended to the filled path (`?for_all=true`), or empty.
    query: &'static str,
    /// The JSON body, made for each request; `None` sends `{}` (POST, PUT,
    /// PATCH) or nothing (GET, DELETE).
    body: Option<fn(&Fixture) -> Value>,
    /// The status for each persona, in [`PERSONAS`] order; [`SKIP`] = not asked.
    expect: [u16; 7],
}

fn route(method: &'static str, path: &'static str, expect: [u16; 7]) -> Row {
    Row {
        method,
        path,
        query: "",
        body: None,
        expect,
    }
}

impl Row {
    fn with_query(mut self, query: &'static str) -> Row {
        self.query = query;
        self
    }

    fn with_body(mut self, body: fn(&Fixture) -> Value) -> Row {
        self.body = Some(body);
        self
    }
}

/// `{}`: for the public auth routes, a body that does not fit.
fn empty_body(_: &Fixture) -> Value {
    json!({})
}

#[test]
fn every_route_has_a_row_and_every_row_a_route() {
    let routes: BTreeSet<(String, String)> = parley_api::routes::route_list().into_iter().collect();
    let rows: BTreeSet<(String, String)> = table()
        .into_iter()
        .map(|row| (row.method.to_owned(), row.path.to_owned()))
        .collect();
    let missing: Vec<String> = routes
        .difference(&rows)
        .map(|(method, path)| format!("{method} {path}"))
        .collect();
    let extra: Vec<String> = rows
        .difference(&routes)
        .map(|(method, path)| format!("{method} {path}"))
        .collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "routes without a row: {missing:#?}\nrows without a route: {extra:#?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_persona_gets_the_status_of_its_row() {
    let app = TestApp::spawn().await;
    // The one user registered through the API: its password hash is
    // shared by every fixture user (see the module documentation).
    let seed = app.api.register_and_login("authz_seed").await;
    let rows = Arc::new(table());
    let next = Arc::new(AtomicUsize::new(0));
    let mut workers = Vec::new();
    for _ in 0..WORKERS {
        let api = app.api.clone();
        let rows = Arc::clone(&rows);
        let next = Arc::clone(&next);
        let seed = seed.clone();
        let settings = app.settings();
        let mut conn = app
            .db
            .connect()
            .await
            .expect("connect to the test database");
        workers.push(tokio::spawn(async move {
            let keys = TokenKeys::from_settings(&settings);
            let mut failures = Vec::new();
            loop {
                let index = next.fetch_add(1, Ordering::Relaxed);
                let Some(row) = rows.get(index) else {
                    break;
                };
                let fixture = Fixture::build(&api, &mut conn, &keys, &seed, index).await;
                failures.extend(check(&api, index, row, &fixture).await);
            }
            failures
        }));
    }
    let mut failures = Vec::new();
    for worker in workers {
        failures.extend(worker.await.expect("a worker of the table panicked"));
    }
    failures.sort();
    assert!(
        failures.is_empty(),
        "{} answers differ from the authorization table:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Asks every persona of `row` (in [`PERSONAS`] order) on `f`; returns
/// what differs from the row.
async fn check(api: &Api, index: usize, row: &Row, f: &Fixture) -> Vec<String> {
    let path = fill(row, f);
    let mut failures = Vec::new();
    for (i, persona) in PERSONAS.iter().enumerate() {
        let want = row.expect[i];
        if want == SKIP {
            continue;
        }
        let token = f.persona(i).map(|user| user.access_token.as_str());
        let body = row.body.map(|make| make(f));
        let (status, answer) = send(api, row.method, &path, token, body).await;
        let what = format!(
            "row {index}: {} {}{} ({path}) as {persona}",
            row.method, row.path, row.query
        );
        let enveloped = answer["detail"].is_string() && answer["code"].is_string();
        if status.as_u16() != want {
            failures.push(format!("{what}: expected {want}, got {status}: {answer}"));
        } else if want >= 400 && !enveloped {
            failures.push(format!(
                "{what}: {status} without the error envelope: {answer}"
            ));
        }
    }
    failures
}

/// The row's path with the fixture's ids in it, and its query.
fn fill(row: &Row, f: &Fixture) -> String {
    let user_id = if row.path.starts_with("/api/v1/users/") {
        f.owner.id
    } else {
        f.target.id
    };
    // `GET /messages/{id}` lists the messages of chat `{id}`.
    // `/jobs/{id}`: a job id (the fixture starts none, so nobody's).
    let id = if row.method == "GET" && row.path == "/api/v1/messages/{id}" {
        f.chat_id.to_string()
    } else if row.path.starts_with("/api/v1/jobs/") {
        uuid::Uuid::nil().to_string()
    } else {
        f.message_id.to_string()
    };
    let path = row
        .path
        .replace("{chat_id}", &f.chat_id.to_string())
        .replace("{user_id}", &user_id.to_string())
        .replace("{id}", &id)
        .replace("{link_id}", &f.link_id.to_string())
        .replace("{jti}", &f.owner_session.to_string())
        .replace("{key}", "uploads/1/a.png");
    assert!(
        !path.contains('{'),
        "a placeholder without a value in {}",
        row.path
    );
    format!("{path}{}", row.query)
}

async fn send(
    api: &Api,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let body = body.unwrap_or_else(|| json!({}));
    match method {
        "GET" => api.get(path, token).await,
        "POST" => api.post(path, token, &body).await,
        "PUT" => api.put(path, token, &body).await,
        "PATCH" => api.patch_json(path, token, &body).await,
        "DELETE" => api.delete(path, token).await,
        other => panic!("no client for the method {other}"),
    }
}
