//! The Meilisearch adapter (issue 10, ARCHITECTURE §5): one index of
//! message documents (`id`, `chat_id`, `text`, `created_at`) with
//! `chat_id` filterable, searched with a filter naming the caller's chats.
//! It knows nothing of visibility beyond that filter: the domain
//! ([`crate::domain::search`]) checks every hit against PostgreSQL, and
//! the worker ([`crate::domain::search_index`]) decides what to index.
//!
//! This module must not import `diesel_async::RunQueryDsl`: its
//! `execute` would shadow the SDK's (`SearchQuery::execute::<T>()`).

use std::time::Duration;

use meilisearch_sdk::client::Client;
use meilisearch_sdk::documents::DocumentDeletionQuery;
use meilisearch_sdk::errors::{Error, ErrorCode};
use meilisearch_sdk::indexes::Index;
use meilisearch_sdk::search::{SearchResults, Selectors};
use meilisearch_sdk::settings::Settings;
use meilisearch_sdk::task_info::TaskInfo;
use meilisearch_sdk::tasks::Task;
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};

use crate::config::SearchSettings;

/// One message as Meilisearch holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageDoc {
    pub id: i64,
    pub chat_id: i64,
    pub text: String,
    /// Unix seconds.
    pub created_at: i64,
}

/// What a search reads back of each hit: only its id.
#[derive(Debug, Clone, Deserialize)]
struct HitId {
    id: i64,
}

/// Meilisearch failed, was unreachable, or did not answer in time.
#[derive(Debug, thiserror::Error)]
#[error("search engine unavailable: {0}")]
pub struct MeiliError(String);

impl From<Error> for MeiliError {
    fn from(err: Error) -> Self {
        MeiliError(err.to_string())
    }
}

/// How long the worker waits for Meilisearch to apply one batch before it
/// tries again on its next pass.
const TASK_TIMEOUT: Duration = Duration::from_secs(60);
const TASK_POLL: Duration = Duration::from_millis(50);

/// The index of message documents on one Meilisearch server.
#[derive(Clone)]
pub struct MeiliIndex {
    client: Client,
    index: Index,
    timeout: Duration,
}

impl MeiliIndex {
    /// A handle on `MEILISEARCH_INDEX` at `MEILISEARCH_URL` (no request is
    /// sent yet); `None` when no URL is configured.
    ///
    /// Errors: the HTTP client could not be built.
    pub fn from_settings(settings: &SearchSettings) -> anyhow::Result<Option<MeiliIndex>> {
        let Some(url) = &settings.meilisearch_url else {
            return Ok(None);
        };
        let key = settings
            .meilisearch_api_key
            .as_ref()
            .map(|k| k.expose_secret().to_owned());
        let client = Client::new(url.trim_end_matches('/'), key)?;
        let index = client.index(&settings.meilisearch_index);
        Ok(Some(MeiliIndex {
            client,
            index,
            timeout: Duration::from_millis(settings.timeout_ms),
        }))
    }

    /// Creates the index if it is missing and applies [`index_settings`],
    /// waiting until Meilisearch has done both. Run by the worker at start
    /// and by `parley-admin reindex`.
    ///
    /// Errors: Meilisearch refused or is unreachable.
    pub async fn apply_settings(&self) -> Result<(), MeiliError> {
        let created = self
            .client
            .create_index(&self.index.uid, Some("id"))
            .await?;
        let done = created
            .wait_for_completion(&self.client, Some(TASK_POLL), Some(TASK_TIMEOUT))
            .await?;
        if let Task::Failed { content } = done
            && content.error.error_code != ErrorCode::IndexAlreadyExists
        {
            return Err(MeiliError(content.error.error_message));
        }
        let task = self.index.set_settings(&index_settings()).await?;
        self.wait(task).await
    }

    /// Adds or replaces `docs` and waits until they are searchable.
    ///
    /// Errors: Meilisearch refused or is unreachable.
    pub async fn upsert(&self, docs: &[MessageDoc]) -> Result<(), MeiliError> {
        if docs.is_empty() {
            return Ok(());
        }
        let task = self.index.add_or_replace(docs, Some("id")).await?;
        self.wait(task).await
    }

    /// Removes the documents with these message ids (absent ones are no
    /// error) and waits.
    ///
    /// Errors: Meilisearch refused or is unreachable.
    pub async fn remove(&self, ids: &[i64]) -> Result<(), MeiliError> {
        if ids.is_empty() {
            return Ok(());
        }
        let task = self.index.delete_documents(ids).await?;
        self.wait(task).await
    }

    /// Removes every document of a chat and waits.
    ///
    /// Errors: Meilisearch refused or is unreachable.
    pub async fn remove_chat(&self, chat_id: i64) -> Result<(), MeiliError> {
        let filter = chat_filter(&[chat_id]);
        let mut query = DocumentDeletionQuery::new(&self.index);
        query.with_filter(&filter);
        let task = self.index.delete_documents_with(&query).await?;
        self.wait(task).await
    }

    /// Removes every document (before a rebuild) and waits.
    ///
    /// Errors: Meilisearch refused or is unreachable.
    pub async fn clear(&self) -> Result<(), MeiliError> {
        let task = self.index.delete_all_documents().await?;
        self.wait(task).await
    }

    /// The ids of messages in `chat_ids` that match `query`, best first,
    /// from `offset`, at most `limit`. Waits at most `SEARCH_TIMEOUT_MS`.
    ///
    /// Errors: Meilisearch refused, is unreachable or too slow.
    pub async fn search(
        &self,
        query: &str,
        chat_ids: &[i64],
        offset: usize,
        limit: usize,
    ) -> Result<Vec<i64>, MeiliError> {
        if chat_ids.is_empty() {
            return Ok(Vec::new());
        }
        let filter = chat_filter(chat_ids);
        let mut request = self.index.search();
        request
            .with_query(query)
            .with_filter(&filter)
            .with_offset(offset)
            .with_limit(limit)
            .with_attributes_to_retrieve(Selectors::Some(&["id"][..]));
        let results = tokio::time::timeout(self.timeout, request.execute::<HitId>())
            .await
            .map_err(|_| MeiliError("Meilisearch did not answer in time".into()))??;
        Ok(hit_ids(results))
    }

    async fn wait(&self, task: TaskInfo) -> Result<(), MeiliError> {
        match task
            .wait_for_completion(&self.client, Some(TASK_POLL), Some(TASK_TIMEOUT))
            .await?
        {
            Task::Failed { content } => Err(MeiliError(content.error.error_message)),
            _ => Ok(()),
        }
    }
}

/// The index's settings: only `text` is searched, `chat_id` filters, and
/// among equally relevant hits the newest (highest id) comes first.
pub fn index_settings() -> Settings {
    Settings::new()
        .with_searchable_attributes(["text"])
        .with_filterable_attributes(["chat_id"])
        .with_ranking_rules([
            "words",
            "typo",
            "proximity",
            "attribute",
            "sort",
            "exactness",
            "id:desc",
        ])
}

/// The filter that keeps a search inside these chats: `chat_id IN [1, 2]`.
/// Built from the caller's memberships on every query, so it is right
/// the moment a member joins or leaves (no token to revoke).
pub fn chat_filter(chat_ids: &[i64]) -> String {
    let ids: Vec<String> = chat_ids.iter().map(i64::to_string).collect();
    format!("chat_id IN [{}]", ids.join(", "))
}

/// The hits' ids in Meilisearch's order.
fn hit_ids(results: SearchResults<HitId>) -> Vec<i64> {
    results.hits.into_iter().map(|hit| hit.result.id).collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn the_filter_names_every_chat() {
        assert_eq!(chat_filter(&[7]), "chat_id IN [7]");
        assert_eq!(chat_filter(&[1, 22, 333]), "chat_id IN [1, 22, 333]");
    }

    #[test]
    fn settings_search_text_filter_chats_and_rank_newest_last() {
        let json = serde_json::to_value(index_settings()).unwrap();
        assert_eq!(json["searchableAttributes"], serde_json::json!(["text"]));
        assert_eq!(json["filterableAttributes"], serde_json::json!(["chat_id"]));
        assert_eq!(json["rankingRules"][6], "id:desc");
    }

    /// A response recorded from Meilisearch 1.x (`POST /indexes/{uid}/search`
    /// with `attributesToRetrieve: ["id"]`).
    #[test]
    fn hits_map_to_ids_in_order() {
        let recorded = serde_json::json!({
            "hits": [{"id": 42}, {"id": 7}],
            "query": "회의",
            "processingTimeMs": 1,
            "limit": 20,
            "offset": 0,
            "estimatedTotalHits": 2
        });
        let results: SearchResults<HitId> = serde_json::from_value(recorded).unwrap();
        assert_eq!(hit_ids(results), [42, 7]);
    }

    #[test]
    fn a_document_is_what_the_index_settings_name() {
        let doc = MessageDoc {
            id: 1,
            chat_id: 2,
            text: "안녕".into(),
            created_at: 1_700_000_000,
        };
        assert_eq!(
            serde_json::to_value(&doc).unwrap(),
            serde_json::json!({"id": 1, "chat_id": 2, "text": "안녕", "created_at": 1_700_000_000})
        );
    }
}
