//! The app state every handler receives.

use std::sync::Arc;

use parley_shared::AppContext;

use crate::realtime::hub::Hub;

/// Shared by every worker thread of one replica.
pub struct ApiState {
    pub ctx: AppContext,
    pub hub: Arc<Hub>,
}
