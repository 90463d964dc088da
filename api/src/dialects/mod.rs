//! The dialects (issue 11, API.md "Dialects"): other documents' chat APIs
//! over the same domain, so that a client written against one of them
//! works unchanged. Each folder mounts its routes, converts the request,
//! calls the operation the native API calls, and converts the answer
//! back; none holds SQL or a permission rule of its own (a test below
//! reads every file to hold them to that). docs/dialects.md lists what is
//! served where.

mod caller;
pub mod campus;
pub mod chatrooms;
pub mod focusmate;
mod form;
pub mod school;

use actix_web::web;

use crate::routes::table::RouteTable;

/// Registers every dialect's routes: its prefixed scope in `cfg`, its
/// document's own paths in `root` (mounted with the native API's, ahead of
/// them: see [`crate::routes::table`]).
pub fn configure(cfg: &mut web::ServiceConfig, root: &mut RouteTable) {
    school::configure(cfg, root);
    chatrooms::configure(cfg, root);
    focusmate::configure(cfg, root);
    campus::configure(cfg, root);
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use std::path::Path;

    /// What a dialect may not contain: SQL, the schema, the database
    /// connection, or the permission table.
    const FORBIDDEN: &[&str] = &[
        "diesel",
        "sql_query",
        "schema::",
        "RunQueryDsl",
        "ctx.db",
        "permissions::",
        "Action::",
        "models::",
    ];

    fn files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                files(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }

    #[test]
    fn no_dialect_holds_sql_or_a_permission_rule() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/dialects");
        let mut found = Vec::new();
        files(&root, &mut found);
        assert!(found.len() > 2, "the dialect folders were not read");
        for path in found {
            if path.ends_with("dialects/mod.rs") {
                continue; // this list
            }
            let text = std::fs::read_to_string(&path).unwrap();
            for word in FORBIDDEN {
                assert!(
                    !text.contains(word),
                    "{} uses `{word}`: a dialect calls domain operations only",
                    path.display()
                );
            }
        }
    }
}
