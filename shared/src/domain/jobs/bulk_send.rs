//! `bulk_send`: sends a bulk job's messages ([`crate::domain::bulk_run`]).
//! Idempotent by the job's id: a second run resumes where the first one
//! recorded its progress, and its sends answer the messages already made.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::domain::bulk_run;
use crate::domain::context::AppContext;
use crate::domain::jobs::Job;

/// Run the bulk job `job_id` (a row of `bulk_jobs`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BulkSend {
    pub job_id: Uuid,
}

impl Job for BulkSend {
    const NAME: &'static str = "bulk_send";

    fn idempotency_key(&self) -> Uuid {
        self.job_id
    }

    async fn run(&self, ctx: &AppContext) -> anyhow::Result<()> {
        bulk_run::run_job(ctx, self.job_id).await
    }
}
