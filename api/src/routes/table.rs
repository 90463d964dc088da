//! Mounting the routes so that a request meets few path regexes (issue 13).
//!
//! actix-router tries an app's services one after another and matches each
//! dynamic path by its regex (regex-lite's PikeVM). With the dialects'
//! routes at their document's own paths ahead of the native API's, a
//! native send met about sixty of them before its own: 5% of the API's CPU
//! per send (perf, `REPLICAS=1 scripts/bench --scenario direct`). A scope
//! is one prefix check, so the routes of the native API and the dialects'
//! root paths are mounted together in scopes keyed by their leading static
//! segments, and a request meets only the regexes of its own scope.

use actix_web::{Route, web};

/// Where a route can be registered: an actix `ServiceConfig` (or scope's),
/// or a [`RouteTable`] that mounts its routes in scopes.
pub trait RouteSink {
    /// Registers `route` at `path` after the routes registered before it.
    fn route(&mut self, path: &str, route: Route) -> &mut Self;
}

impl RouteSink for web::ServiceConfig {
    fn route(&mut self, path: &str, route: Route) -> &mut Self {
        web::ServiceConfig::route(self, path, route)
    }
}

/// Routes collected in order, mounted by [`RouteTable::mount`].
#[derive(Default)]
pub struct RouteTable {
    routes: Vec<(String, Route)>,
}

impl RouteSink for RouteTable {
    fn route(&mut self, path: &str, route: Route) -> &mut Self {
        self.routes.push((path.to_owned(), route));
        self
    }
}

impl RouteTable {
    /// Mounts the routes in `cfg`: each in the scope of its leading static
    /// segments (at most three), or of a shorter such prefix that another
    /// route has (`/health/live` joins `/health`: a scope holds every path
    /// under its prefix, so one scope inside another's prefix
    /// would never be reached). Within a scope the routes keep their order
    /// (the first that matches answers); routes of different scopes cannot
    /// match the same path, so the order between scopes does not matter.
    pub fn mount(self, cfg: &mut web::ServiceConfig) {
        let keys: Vec<String> = self.routes.iter().map(|(p, _)| scope_key(p)).collect();
        let mut scopes: Vec<(String, Vec<(String, Route)>)> = Vec::new();
        for ((path, route), key) in self.routes.into_iter().zip(&keys) {
            if key.is_empty() {
                cfg.route(&path, route);
                continue;
            }
            let outer = keys
                .iter()
                .filter(|k| !k.is_empty() && is_under(key, k))
                .min_by_key(|k| k.len())
                .unwrap_or(key);
            let rest = path[outer.len()..].to_owned();
            match scopes.iter_mut().find(|(p, _)| p == outer) {
                Some((_, routes)) => routes.push((rest, route)),
                None => scopes.push((outer.clone(), vec![(rest, route)])),
            }
        }
        for (prefix, routes) in scopes {
            let scope = routes
                .into_iter()
                .fold(web::scope(&prefix), |scope, (rest, route)| {
                    scope.route(&rest, route)
                });
            cfg.service(scope);
        }
    }
}

/// The leading static segments of `path`, at most three: `/api/v1/chats`
/// for `/api/v1/chats/{chat_id}`, `/chat/rooms` for `/chat/rooms/{room_id}`
/// and `/chat/rooms/`; empty when the first segment is dynamic.
fn scope_key(path: &str) -> String {
    path.split('/')
        .skip(1)
        .take(3)
        .take_while(|segment| !segment.is_empty() && !segment.contains('{'))
        .fold(String::new(), |key, segment| key + "/" + segment)
}

/// Whether `path` is `prefix` or lies beneath it, segment by segment.
fn is_under(path: &str, prefix: &str) -> bool {
    path.strip_prefix(prefix)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use actix_web::test::{TestRequest, call_service, init_service, read_body};
    use actix_web::{App, HttpResponse};

    use super::*;

    #[test]
    fn routes_are_keyed_by_their_leading_static_segments() {
        assert_eq!(scope_key("/api/v1/chats/{chat_id}"), "/api/v1/chats");
        assert_eq!(scope_key("/api/v1/chats"), "/api/v1/chats");
        assert_eq!(scope_key("/chat/rooms/{room_id}/messages"), "/chat/rooms");
        assert_eq!(scope_key("/chat/rooms/"), "/chat/rooms");
        assert_eq!(scope_key("/health/live"), "/health/live");
        assert_eq!(scope_key("/{x}/y"), "");
        assert!(is_under("/health/live", "/health"));
        assert!(!is_under("/healthz", "/health"));
    }

    fn answer(name: &'static str) -> Route {
        web::route().to(move || async move { HttpResponse::Ok().body(name) })
    }

    #[actix_web::test]
    async fn every_route_answers_where_it_did_and_the_first_registered_wins() {
        let mut table = RouteTable::default();
        table
            .route("/chat/rooms/{room_id}", answer("dialect room"))
            .route("/chat/rooms/", answer("dialect rooms, slash"))
            .route("/chat/rooms", answer("dialect rooms"))
            .route("/api/v1/chats/rooms", answer("dialect chats/rooms"))
            .route("/health", answer("health"))
            .route("/health/live", answer("live"))
            .route("/api/v1/chats", answer("native chats"))
            .route("/api/v1/chats/{chat_id}", answer("native chat"))
            .route("/{anything}/x", answer("root"));
        let app = init_service(App::new().configure(|cfg| table.mount(cfg))).await;
        for (path, expected) in [
            ("/chat/rooms/7", "dialect room"),
            ("/chat/rooms/", "dialect rooms, slash"),
            ("/chat/rooms", "dialect rooms"),
            ("/api/v1/chats/rooms", "dialect chats/rooms"),
            ("/api/v1/chats/9", "native chat"),
            ("/api/v1/chats", "native chats"),
            ("/health", "health"),
            ("/health/live", "live"),
            ("/y/x", "root"),
        ] {
            let response = call_service(&app, TestRequest::get().uri(path).to_request()).await;
            assert!(
                response.status().is_success(),
                "{path}: {}",
                response.status()
            );
            assert_eq!(read_body(response).await, expected, "{path}");
        }
        let missing = call_service(&app, TestRequest::get().uri("/healthz").to_request()).await;
        assert_eq!(missing.status(), 404);
    }
}
