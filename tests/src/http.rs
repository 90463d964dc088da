//! The HTTP client of the API ([`Api`]), registered test users and
//! [`wait_until`].

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use uuid::Uuid;

use crate::realtime::WsClient;

/// An HTTP client for one API base URL. Answers are `(status, json)`; a
/// body that is not JSON comes back as `Value::Null`.
#[derive(Clone)]
pub struct Api {
    pub base: String,
    pub client: reqwest::Client,
}

impl Api {
    pub fn new(base: impl Into<String>) -> Api {
        Api {
            base: base.into(),
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .expect("reqwest client"),
        }
    }

    async fn send(&self, req: reqwest::RequestBuilder) -> (StatusCode, Value) {
        let resp = req.send().await.expect("request failed to send");
        let status = resp.status();
        let bytes = resp.bytes().await.unwrap_or_default();
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }

    fn with_token(req: reqwest::RequestBuilder, token: Option<&str>) -> reqwest::RequestBuilder {
        match token {
            Some(token) => req.bearer_auth(token),
            None => req,
        }
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> (StatusCode, Value) {
        let req = self.client.get(format!("{}{path}", self.base));
        self.send(Self::with_token(req, token)).await
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: &Value) -> (StatusCode, Value) {
        let req = self.client.post(format!("{}{path}", self.base)).json(body);
        self.send(Self::with_token(req, token)).await
    }

    pub async fn put(&self, path: &str, token: Option<&str>, body: &Value) -> (StatusCode, Value) {
        let req = self.client.put(format!("{}{path}", self.base)).json(body);
        self.send(Self::with_token(req, token)).await
    }

    pub async fn patch_json(
        &self,
        path: &str,
        token: Option<&str>,
        body: &Value,
    ) -> (StatusCode, Value) {
        let req = self.client.patch(format!("{}{path}", self.base)).json(body);
        self.send(Self::with_token(req, token)).await
    }

    pub async fn delete(&self, path: &str, token: Option<&str>) -> (StatusCode, Value) {
        let req = self.client.delete(format!("{}{path}", self.base));
        self.send(Self::with_token(req, token)).await
    }

    /// A DELETE with a JSON body (seed 003's deletes name who deletes).
    pub async fn delete_json(
        &self,
        path: &str,
        token: Option<&str>,
        body: &Value,
    ) -> (StatusCode, Value) {
        let req = self
            .client
            .delete(format!("{}{path}", self.base))
            .json(body);
        self.send(Self::with_token(req, token)).await
    }

    /// A POST with a raw body and content type.
    pub async fn post_raw(
        &self,
        path: &str,
        token: Option<&str>,
        content_type: &str,
        body: Vec<u8>,
    ) -> (StatusCode, Value) {
        let req = self
            .client
            .post(format!("{}{path}", self.base))
            .header("content-type", content_type)
            .body(body);
        self.send(Self::with_token(req, token)).await
    }

    /// Registers `username` (email `<username>@example.com`, password
    /// `password-<username>`) and logs in.
    pub async fn register_and_login(&self, username: &str) -> TestUser {
        let email = format!("{username}@example.com");
        let password = format!("password-{username}");
        let (status, body) = self
            .post(
                "/api/v1/auth/register",
                None,
                &json!({ "email": email, "name": username, "username": username, "password": password }),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "register {username}: {body}");
        let id = body["user"]["id"].as_i64().expect("user id");
        let tokens = self.login(&email, &password).await;
        TestUser {
            id,
            email,
            password,
            access_token: tokens["access_token"].as_str().expect("access").to_owned(),
            refresh_token: tokens["refresh_token"]
                .as_str()
                .expect("refresh")
                .to_owned(),
        }
    }

    /// Logs in; panics unless 200.
    pub async fn login(&self, email: &str, password: &str) -> Value {
        let (status, body) = self
            .post(
                "/api/v1/auth/login",
                None,
                &json!({ "email": email, "password": password }),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "login {email}: {body}");
        body
    }

    /// Two new users and their private chat: `(a, b, chat_id)`.
    pub async fn pair(&self, a: &str, b: &str) -> (TestUser, TestUser, i64) {
        let a = self.register_and_login(a).await;
        let b = self.register_and_login(b).await;
        let chat = self.private_chat(&a, &b).await;
        (a, b, chat)
    }

    /// Creates a private chat of `a` with `b`; returns its id.
    pub async fn private_chat(&self, a: &TestUser, b: &TestUser) -> i64 {
        let (status, body) = self
            .post(
                "/api/v1/chats",
                Some(&a.access_token),
                &json!({ "type": "private", "member_ids": [b.id] }),
            )
            .await;
        assert!(status.is_success(), "create chat: {status} {body}");
        body["id"].as_i64().expect("chat id")
    }

    /// Creates a group titled "Crew" owned by `owner` with `members`;
    /// returns its id.
    pub async fn group(&self, owner: &TestUser, members: &[&TestUser]) -> i64 {
        let ids: Vec<i64> = members.iter().map(|m| m.id).collect();
        let (status, chat) = self
            .post(
                "/api/v1/chats",
                Some(&owner.access_token),
                &json!({"type": "group", "title": "Crew", "member_ids": ids}),
            )
            .await;
        assert!(status.is_success(), "create group: {status} {chat}");
        chat["id"].as_i64().expect("chat id")
    }

    /// Sends a text message; returns the `MessageRead`.
    pub async fn send_text(&self, user: &TestUser, chat_id: i64, text: &str) -> Value {
        let (status, body) = self
            .post(
                "/api/v1/messages",
                Some(&user.access_token),
                &json!({ "chat_id": chat_id, "text": text, "client_message_id": Uuid::new_v4().to_string() }),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "send: {body}");
        body
    }

    /// The WebSocket URL of this API.
    pub fn ws_url(&self) -> String {
        format!("{}/api/v1/ws", self.base.replacen("http", "ws", 1))
    }

    /// Connects a socket with `Authorization: Bearer` and waits for `ready`.
    pub async fn connect_ws(&self, token: &str) -> WsClient {
        let mut request = self.ws_url().into_client_request().expect("ws request");
        request.headers_mut().insert(
            "authorization",
            HeaderValue::from_str(&format!("Bearer {token}")).expect("header"),
        );
        let (stream, _) = tokio_tungstenite::connect_async(request)
            .await
            .expect("websocket connect");
        let mut client = WsClient { stream };
        let ready = client
            .next_json(Duration::from_secs(10))
            .await
            .expect("ready frame");
        assert_eq!(ready["type"], "ready", "first frame: {ready}");
        client
    }
}

impl Api {
    /// Opens a WebSocket at `path` (a dialect's socket; the query string
    /// included) with `headers`, without waiting for any frame; a refused
    /// upgrade is `Err((status, JSON body))`.
    pub async fn open_ws(
        &self,
        path: &str,
        headers: &[(&str, &str)],
    ) -> Result<WsClient, (StatusCode, Value)> {
        let url = format!("{}{path}", self.base.replacen("http", "ws", 1));
        let mut request = url.into_client_request().expect("ws request");
        for (name, value) in headers {
            request.headers_mut().insert(
                tokio_tungstenite::tungstenite::http::HeaderName::from_bytes(name.as_bytes())
                    .expect("header name"),
                HeaderValue::from_str(value).expect("header"),
            );
        }
        match tokio_tungstenite::connect_async(request).await {
            Ok((stream, _)) => Ok(WsClient { stream }),
            Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
                let status = StatusCode::from_u16(response.status().as_u16()).expect("status");
                let body = response
                    .body()
                    .as_deref()
                    .and_then(|b| serde_json::from_slice(b).ok())
                    .unwrap_or(Value::Null);
                Err((status, body))
            }
            Err(err) => panic!("websocket connect to {path}: {err}"),
        }
    }
}

/// Polls `condition` every 50 ms until it holds; panics with `what` when it
/// still does not after `timeout`. For state that has no event to wait on
/// (a row written by another process, a counter); frames are awaited with
/// [`WsClient::next_json`] instead.
pub async fn wait_until<F, Fut>(what: &str, timeout: Duration, mut condition: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    while !condition().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{what}: not within {timeout:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A registered, logged-in user.
#[derive(Debug, Clone)]
pub struct TestUser {
    pub id: i64,
    pub email: String,
    pub password: String,
    pub access_token: String,
    pub refresh_token: String,
}

/// `user`'s access token as the [`Api`] methods take it.
pub fn tok(user: &TestUser) -> Option<&str> {
    Some(user.access_token.as_str())
}

/// Asserts that `answer` is the error envelope `{"detail", "code"}` with
/// `status` and `code`; `what` names the case in the failure message.
pub fn assert_refused(what: &str, answer: (StatusCode, Value), status: StatusCode, code: &str) {
    let (got, err) = answer;
    assert_eq!(got, status, "{what}: {err}");
    assert_eq!(err["code"], code, "{what}: {err}");
    assert!(err["detail"].is_string(), "{what}: {err}");
}
