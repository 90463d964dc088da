//! The web chat page at `/` (issue 12), included in the binary so that it
//! needs no CDN, no other host and no files beside the binary: the HTML and
//! CSS as written in `clients/web/src/`, the script as `npm run build`
//! bundled it (with `@parley/client`) into `api/static/app.js`, committed
//! so that building Parley needs no npm.

use actix_web::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use actix_web::{HttpResponse, web};

/// A file of the page: its path, content type and bytes.
const FILES: [(&str, &str, &str); 3] = [
    (
        "/",
        "text/html; charset=utf-8",
        include_str!("../../../clients/web/src/index.html"),
    ),
    (
        "/app.js",
        "text/javascript; charset=utf-8",
        include_str!("../../static/app.js"),
    ),
    (
        "/app.css",
        "text/css; charset=utf-8",
        include_str!("../../../clients/web/src/app.css"),
    ),
];

/// Registers `GET` (and `HEAD`) `/`, `/app.js` and `/app.css`. Browsers
/// revalidate them (`no-cache`) so that a new release is picked up at the
/// next load.
pub fn configure(cfg: &mut web::ServiceConfig) {
    for (path, content_type, body) in FILES {
        let file = move || async move {
            HttpResponse::Ok()
                .insert_header((CONTENT_TYPE, content_type))
                .insert_header((CACHE_CONTROL, "no-cache"))
                .insert_header(("x-content-type-options", "nosniff"))
                .body(body)
        };
        cfg.service(
            web::resource(path)
                .route(web::get().to(file))
                .route(web::head().to(file)),
        );
    }
}
