//! PostgreSQL types diesel does not name itself.

/// `tsvector` (full-text search documents).
#[derive(Debug, Clone, Copy, diesel::sql_types::SqlType, diesel::query_builder::QueryId)]
#[diesel(postgres_type(name = "tsvector"))]
pub struct Tsvector;
