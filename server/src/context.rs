//! What every connection and request shares: the hub, the store, the configuration
//! and the server-wide shutdown signal. A cheap `Clone`.

use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use crate::Config;
use crate::hub::Hub;
use crate::store::Store;

#[derive(Clone)]
pub(crate) struct Ctx {
    pub hub: Hub,
    pub store: Store,
    pub config: Arc<Config>,
    pub shutdown: CancellationToken,
    /// What HTTP requests share: known tokens, rate limits, metrics.
    pub http: Arc<crate::http::State>,
}
