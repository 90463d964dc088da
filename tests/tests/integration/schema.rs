//! The schema rules (STYLE.md, Database): `shared/src/infra/schema.rs` matches the
//! migrated database column for column; every foreign key has an index and
//! an explicit ON DELETE; every migration reverts and re-applies.

use std::collections::BTreeMap;

use diesel::sql_types::Text;
use diesel_async::RunQueryDsl;
use parley_tests::TestDatabase;

const SCHEMA_RS: &str = include_str!("../../../shared/src/infra/schema.rs");

/// `table -> column -> (udt, nullable)` as declared in schema.rs.
fn declared() -> BTreeMap<String, BTreeMap<String, (String, bool)>> {
    let mut tables = BTreeMap::new();
    let mut current: Option<String> = None;
    let mut sql_name: Option<String> = None;
    for line in SCHEMA_RS.lines().map(str::trim) {
        if let Some(rest) = line.strip_suffix('{')
            && let Some((name, _)) = rest.trim().split_once(" (")
            && !name.contains("table!")
        {
            current = Some(name.trim().to_owned());
            tables.insert(name.trim().to_owned(), BTreeMap::new());
            continue;
        }
        if line.starts_with("#[sql_name") {
            sql_name = line.split('"').nth(1).map(str::to_owned);
            continue;
        }
        if line == "}" {
            current = None;
            continue;
        }
        let (Some(table), Some((column, ty))) = (&current, line.split_once(" -> ")) else {
            continue;
        };
        let ty = ty.trim_end_matches(',');
        let (nullable, inner) = match ty.strip_prefix("Nullable<") {
            Some(inner) => (true, inner.trim_end_matches('>')),
            None => (false, ty),
        };
        let udt = match inner {
            "Int8" => "int8",
            "Int4" => "int4",
            "Array<Text>" => "_text",
            "Tsvector" => "tsvector",
            "Text" => "text",
            "Bool" => "bool",
            "Timestamptz" => "timestamptz",
            "Uuid" => "uuid",
            "Jsonb" => "jsonb",
            other => panic!("unmapped diesel type {other}"),
        };
        let name = sql_name.take().unwrap_or_else(|| column.trim().to_owned());
        tables
            .get_mut(table)
            .unwrap()
            .insert(name, (udt.to_owned(), nullable));
    }
    tables
}

#[derive(diesel::QueryableByName, Debug)]
struct ColumnRow {
    #[diesel(sql_type = Text)]
    table_name: String,
    #[diesel(sql_type = Text)]
    column_name: String,
    #[diesel(sql_type = Text)]
    udt_name: String,
    #[diesel(sql_type = Text)]
    is_nullable: String,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schema_rs_matches_the_migrated_database() {
    let db = TestDatabase::create().await.unwrap();
    let mut conn = db.connect().await.unwrap();
    let rows: Vec<ColumnRow> = diesel::sql_query(
        "SELECT table_name::text, column_name::text, udt_name::text, is_nullable::text \
           FROM information_schema.columns \
          WHERE table_schema = 'public' AND table_name <> '__diesel_schema_migrations'",
    )
    .load(&mut conn)
    .await
    .unwrap();
    let mut actual: BTreeMap<String, BTreeMap<String, (String, bool)>> = BTreeMap::new();
    for row in rows {
        actual
            .entry(row.table_name)
            .or_default()
            .insert(row.column_name, (row.udt_name, row.is_nullable == "YES"));
    }
    assert_eq!(
        declared(),
        actual,
        "shared/src/infra/schema.rs has drifted from migrations/"
    );
}

#[derive(diesel::QueryableByName, Debug)]
struct ForeignKey {
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Text)]
    on_delete: String,
    #[diesel(sql_type = diesel::sql_types::Bool)]
    indexed: bool,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_foreign_key_has_an_index_and_an_on_delete() {
    let db = TestDatabase::create().await.unwrap();
    let mut conn = db.connect().await.unwrap();
    let fks: Vec<ForeignKey> = diesel::sql_query(
        "SELECT c.conname::text AS name, c.confdeltype::text AS on_delete,
                EXISTS (SELECT 1 FROM pg_index i
                         WHERE i.indrelid = c.conrelid
                           AND (i.indkey::int2[])[0:array_length(c.conkey, 1) - 1] = c.conkey::int2[]) AS indexed
           FROM pg_constraint c
          WHERE c.contype = 'f' AND c.connamespace = 'public'::regnamespace",
    )
    .load(&mut conn)
    .await
    .unwrap();
    assert!(
        fks.len() >= 10,
        "expected the schema's foreign keys, got {fks:?}"
    );
    for fk in fks {
        assert!(fk.indexed, "foreign key {} has no index", fk.name);
        assert!(
            fk.on_delete == "c" || fk.on_delete == "n",
            "foreign key {} has no ON DELETE CASCADE / SET NULL ({})",
            fk.name,
            fk.on_delete
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrations_revert_and_reapply() {
    let db = TestDatabase::create_empty().await.unwrap();
    let url = db.url.clone();
    tokio::task::spawn_blocking(move || {
        use diesel::Connection;
        use diesel_async::AsyncPgConnection;
        use diesel_async::async_connection_wrapper::AsyncConnectionWrapper;
        use diesel_migrations::MigrationHarness;
        let mut conn =
            <AsyncConnectionWrapper<AsyncPgConnection> as Connection>::establish(&url).unwrap();
        use parley_shared::infra::db::MIGRATIONS as migrations;
        let applied = conn.run_pending_migrations(migrations).unwrap();
        assert!(!applied.is_empty());
        conn.revert_all_migrations(migrations).unwrap();
        assert!(conn.has_pending_migration(migrations).unwrap());
        conn.run_pending_migrations(migrations).unwrap();
        assert!(!conn.has_pending_migration(migrations).unwrap());
    })
    .await
    .unwrap();
}
