//! A stand-in for a Meilisearch server, because no registry here ships
//! one (STACK.md). It answers the HTTP calls Parley's Meilisearch adapter
//! makes with the shapes a Meilisearch 1.x server answers (the 202 task
//! summaries, `GET /tasks/{uid}`, search results), holds documents in
//! memory, and honours `chat_id IN [...]` filters. It is NOT Meilisearch's
//! matching: a document matches when it holds every token Parley's own
//! tokenizer makes of the query, newest first. So the tests that use it
//! check what Parley does around the engine (what the worker indexes and
//! removes, the chat filter, the visibility check, an outage's 503 and the
//! catch-up after it), not Meilisearch's relevance; the same cases run
//! against a real server when `MEILISEARCH_URL` is set.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use actix_web::{App, HttpResponse, HttpServer, web};
use parley_shared::domain::search_tokens::{document_tokens, matches, query_tokens};
use serde_json::{Value, json};

#[derive(Default)]
struct State {
    docs: BTreeMap<i64, Value>,
    /// Each task's type, by uid.
    tasks: Vec<&'static str>,
    down: bool,
    searches: usize,
}

/// A running fake; stops when dropped.
pub struct FakeMeili {
    pub url: String,
    state: Arc<Mutex<State>>,
    server: actix_web::dev::ServerHandle,
}

impl Drop for FakeMeili {
    fn drop(&mut self) {
        let server = self.server.clone();
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move { server.stop(false).await });
        }
    }
}

impl FakeMeili {
    /// Starts the fake on a free port of 127.0.0.1.
    pub async fn start() -> FakeMeili {
        let state = Arc::new(Mutex::new(State::default()));
        let shared = web::Data::from(state.clone());
        let server = HttpServer::new(move || {
            App::new()
                .app_data(shared.clone())
                .app_data(web::JsonConfig::default().limit(64 << 20))
                .default_service(web::to(handle))
        })
        .workers(1)
        .bind(("127.0.0.1", 0))
        .expect("bind");
        let url = format!("http://{}", server.addrs()[0]);
        let server = server.run();
        let handle = server.handle();
        tokio::spawn(server);
        FakeMeili {
            url,
            state,
            server: handle,
        }
    }

    /// While down, every request gets a 503 that is not a Meilisearch error
    /// body (what a proxy in front of a stopped server answers).
    pub fn set_down(&self, down: bool) {
        self.state.lock().unwrap().down = down;
    }

    /// The document of message `id`, if indexed.
    pub fn doc(&self, id: i64) -> Option<Value> {
        self.state.lock().unwrap().docs.get(&id).cloned()
    }

    /// How many searches it answered.
    pub fn searches(&self) -> usize {
        self.state.lock().unwrap().searches
    }
}

/// The chat ids of a `chat_id IN [1, 2]` filter.
fn chat_ids(filter: &str) -> Vec<i64> {
    filter
        .trim_start_matches("chat_id IN [")
        .trim_end_matches(']')
        .split(',')
        .filter_map(|id| id.trim().parse().ok())
        .collect()
}

fn task(state: &mut State, kind: &'static str) -> HttpResponse {
    state.tasks.push(kind);
    HttpResponse::Accepted().json(json!({
        "taskUid": state.tasks.len() - 1,
        "indexUid": "parley_messages",
        "status": "enqueued",
        "type": kind,
        "enqueuedAt": "2026-11-26T00:00:00Z"
    }))
}

async fn handle(
    req: actix_web::HttpRequest,
    body: web::Bytes,
    state: web::Data<Mutex<State>>,
) -> HttpResponse {
    let mut state = state.lock().unwrap();
    if state.down {
        return HttpResponse::ServiceUnavailable().body("upstream unavailable");
    }
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let path = req.path().to_owned();
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    match (req.method().as_str(), parts.as_slice()) {
        ("GET", ["health"]) => HttpResponse::Ok().json(json!({"status": "available"})),
        ("POST", ["indexes"]) => task(&mut state, "indexCreation"),
        ("PATCH", ["indexes", _, "settings"]) => task(&mut state, "settingsUpdate"),
        ("POST", ["indexes", _, "documents"]) => {
            for doc in body.as_array().into_iter().flatten() {
                state.docs.insert(doc["id"].as_i64().unwrap(), doc.clone());
            }
            task(&mut state, "documentAdditionOrUpdate")
        }
        ("POST", ["indexes", _, "documents", "delete-batch"]) => {
            for id in body.as_array().into_iter().flatten() {
                state.docs.remove(&id.as_i64().unwrap());
            }
            task(&mut state, "documentDeletion")
        }
        ("POST", ["indexes", _, "documents", "delete"]) => {
            let chats = chat_ids(body["filter"].as_str().unwrap_or_default());
            state
                .docs
                .retain(|_, doc| !chats.contains(&doc["chat_id"].as_i64().unwrap()));
            task(&mut state, "documentDeletion")
        }
        ("DELETE", ["indexes", _, "documents"]) => {
            state.docs.clear();
            task(&mut state, "documentDeletion")
        }
        ("POST", ["indexes", _, "search"]) => {
            state.searches += 1;
            let query = query_tokens(body["q"].as_str().unwrap_or_default());
            let chats = chat_ids(body["filter"].as_str().unwrap_or_default());
            let offset = body["offset"].as_u64().unwrap_or(0) as usize;
            let limit = body["limit"].as_u64().unwrap_or(20) as usize;
            let hits: Vec<Value> = state
                .docs
                .values()
                .rev()
                .filter(|doc| chats.contains(&doc["chat_id"].as_i64().unwrap()))
                .filter(|doc| {
                    matches(
                        &document_tokens(doc["text"].as_str().unwrap_or_default()),
                        &query,
                    )
                })
                .skip(offset)
                .take(limit)
                .map(|doc| json!({"id": doc["id"]}))
                .collect();
            HttpResponse::Ok().json(json!({
                "hits": hits,
                "query": body["q"],
                "processingTimeMs": 0,
                "limit": limit,
                "offset": offset,
                "estimatedTotalHits": hits.len()
            }))
        }
        ("GET", ["tasks", uid]) => {
            let uid: usize = uid.parse().unwrap_or(usize::MAX);
            match state.tasks.get(uid) {
                Some(kind) => HttpResponse::Ok().json(json!({
                    "uid": uid,
                    "indexUid": "parley_messages",
                    "status": "succeeded",
                    "type": kind,
                    "error": null,
                    "duration": "PT0.001S",
                    "enqueuedAt": "2026-11-26T00:00:00Z",
                    "startedAt": "2026-11-26T00:00:00Z",
                    "finishedAt": "2026-11-26T00:00:00Z"
                })),
                None => HttpResponse::NotFound().json(json!({
                    "message": format!("Task `{uid}` not found."),
                    "code": "task_not_found",
                    "type": "invalid_request",
                    "link": "https://docs.meilisearch.com/errors#task_not_found"
                })),
            }
        }
        _ => HttpResponse::NotFound().json(json!({
            "message": format!("{} {path} is not part of this fake", req.method()),
            "code": "not_found",
            "type": "invalid_request",
            "link": "https://docs.meilisearch.com/errors"
        })),
    }
}
