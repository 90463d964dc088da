//! The layering rules of `parley-shared` (docs/architecture.md), checked
//! by reading every `crate::` path in the sources:
//!
//! - `infra` imports nothing from `domain` or `wire`;
//! - `wire` imports from `domain` only what it renders: the closed sets
//!   (`domain::kinds`), domain events, replays and live events
//!   ([`WIRE_RENDERS`]);
//! - `domain` never imports `wire`: it returns domain types (views,
//!   snapshots, events) and the transports render them;
//! - no import cycle between modules (`infra`, `wire`, `config`,
//!   `telemetry`, and each `domain::<module>`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The domain modules whose results `wire` renders (and may import).
const WIRE_RENDERS: &[&str] = &[
    "domain::kinds",
    "domain::events",
    "domain::live",
    "domain::views",
    "domain::models",
    "domain::two_factor",
    "domain::invites",
];

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The module a source file belongs to, as the rules name it.
fn unit_of_file(rel: &str) -> Option<String> {
    let rel = rel.trim_end_matches(".rs");
    let parts: Vec<&str> = rel.split('/').collect();
    match parts.as_slice() {
        ["lib"] | ["layers"] => None,
        ["infra", ..] => Some("infra".into()),
        ["wire", ..] => Some("wire".into()),
        ["domain", "mod"] => Some("domain".into()),
        ["domain", module, ..] => Some(format!("domain::{module}")),
        [root] => Some((*root).into()),
        _ => None,
    }
}

/// The module a `crate::` path (without `crate::`) points into.
fn unit_of_path(path: &str) -> Option<String> {
    let parts: Vec<&str> = path.split("::").map(str::trim).collect();
    match parts.as_slice() {
        ["infra", ..] => Some("infra".into()),
        ["wire", ..] => Some("wire".into()),
        ["domain", module, ..] if !module.is_empty() => Some(format!("domain::{module}")),
        ["AppError" | "AppResult", ..] => Some("domain::error".into()),
        ["AppContext", ..] => Some("domain::context".into()),
        ["Settings", ..] | ["config", ..] => Some("config".into()),
        ["transaction", ..] => Some("domain::transaction".into()),
        ["text_enum", ..] => Some("infra".into()),
        ["telemetry", ..] => Some("telemetry".into()),
        _ => None,
    }
}

/// Expands `a::{b, c::{d, e}}` into `a::b`, `a::c::d`, `a::c::e`.
fn expand(path: &str) -> Vec<String> {
    let Some(open) = path.find('{') else {
        return vec![path.trim().to_owned()];
    };
    let prefix = &path[..open];
    let inner = &path[open + 1..path.rfind('}').unwrap_or(path.len())];
    let mut items = Vec::new();
    let (mut depth, mut start) = (0, 0);
    for (i, ch) in inner.char_indices() {
        match ch {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                items.push(&inner[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    items.push(&inner[start..]);
    items
        .into_iter()
        .filter(|i| !i.trim().is_empty())
        .flat_map(|i| expand(&format!("{prefix}{}", i.trim())))
        .collect()
}

/// Every `crate::` path of a source file, comments left out.
fn crate_paths(text: &str) -> Vec<String> {
    let code: String = text
        .lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n");
    let mut paths = Vec::new();
    let mut rest = code.as_str();
    while let Some(at) = rest.find("crate::") {
        let after = &rest[at + "crate::".len()..];
        let (mut depth, mut end) = (0i32, after.len());
        for (i, ch) in after.char_indices() {
            match ch {
                '{' => depth += 1,
                '}' if depth > 0 => depth -= 1,
                c if depth == 0 && !(c.is_alphanumeric() || c == '_' || c == ':') => {
                    end = i;
                    break;
                }
                _ => {}
            }
        }
        paths.extend(expand(&after[..end]));
        rest = &after[end..];
    }
    paths
}

fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in files {
        let rel = file
            .strip_prefix(&src)
            .map(|p| p.to_string_lossy().replace('\\', "/"))
            .unwrap_or_default();
        let Some(from) = unit_of_file(&rel) else {
            continue;
        };
        let text = std::fs::read_to_string(&file).unwrap_or_default();
        let targets = edges.entry(from.clone()).or_default();
        for path in crate_paths(&text) {
            if let Some(to) = unit_of_path(&path)
                && to != from
            {
                targets.insert(to);
            }
        }
    }
    edges
}

fn cycles(edges: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    fn visit(
        node: &str,
        edges: &BTreeMap<String, BTreeSet<String>>,
        stack: &mut Vec<String>,
        done: &mut BTreeSet<String>,
        found: &mut Vec<Vec<String>>,
    ) {
        if let Some(i) = stack.iter().position(|n| n == node) {
            found.push(stack[i..].to_vec());
            return;
        }
        if done.contains(node) {
            return;
        }
        stack.push(node.to_owned());
        for next in edges.get(node).into_iter().flatten() {
            visit(next, edges, stack, done, found);
        }
        stack.pop();
        done.insert(node.to_owned());
    }
    let (mut done, mut found) = (BTreeSet::new(), Vec::new());
    for node in edges.keys() {
        visit(node, edges, &mut Vec::new(), &mut done, &mut found);
    }
    found
}

#[test]
fn paths_are_read_and_expanded() {
    let paths = crate_paths(
        "use crate::domain::{chats::require_member, models::{Chat, event}};\n\
         // crate::wire::native::dto in a comment\n\
         let x = crate::infra::db::ping(&pool);",
    );
    assert_eq!(
        paths,
        [
            "domain::chats::require_member",
            "domain::models::Chat",
            "domain::models::event",
            "infra::db::ping",
        ]
    );
    assert_eq!(
        unit_of_path("domain::models::Chat").as_deref(),
        Some("domain::models")
    );
    assert_eq!(
        unit_of_file("domain/models/chat.rs").as_deref(),
        Some("domain::models")
    );
    let looped = BTreeMap::from([
        ("a".to_owned(), BTreeSet::from(["b".to_owned()])),
        ("b".to_owned(), BTreeSet::from(["a".to_owned()])),
    ]);
    assert_eq!(cycles(&looped).len(), 1);
}

#[test]
fn layers_point_only_downwards_and_never_in_a_circle() {
    let edges = graph();
    let mut forbidden = Vec::new();
    for (from, targets) in &edges {
        for to in targets {
            let wrong = match (from.as_str(), to.as_str()) {
                ("infra", to) => to.starts_with("domain") || to == "wire",
                ("wire", to) => to.starts_with("domain") && !WIRE_RENDERS.contains(&to),
                (from, "wire") => from.starts_with("domain"),
                _ => false,
            };
            if wrong {
                forbidden.push(format!("{from} -> {to}"));
            }
        }
    }
    assert!(forbidden.is_empty(), "forbidden imports: {forbidden:#?}");
    let found = cycles(&edges);
    assert!(found.is_empty(), "import cycles: {found:#?}");
}
