//! What HTTP requests share across connections: the tokens already looked up (a
//! request carries its token each time; reading it from the database every time would
//! cost a read per request), each token's rate limit, and the server's metrics.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use chit_protocol::ErrorCode;
use tokio::time::Instant;

use crate::auth::{Principal, hash_token};
use crate::error::Refusal;
use crate::limits::RateLimiter;
use crate::metrics::Metrics;
use crate::store::Store;

/// Tokens kept at most; past this the cache starts over (it only saves reads).
const MAX_CACHED: usize = 10_000;

pub(crate) struct State {
    pub metrics: Arc<Metrics>,
    tokens: Mutex<HashMap<String, Arc<Principal>>>,
    limiters: Mutex<HashMap<i64, RateLimiter>>,
}

impl State {
    pub fn new(metrics: Arc<Metrics>) -> State {
        State {
            metrics,
            tokens: Mutex::default(),
            limiters: Mutex::default(),
        }
    }

    /// Who `token` speaks for. A revoked token is forgotten within a second (see
    /// [`forget`](State::forget)), and every read and write checks it is still live in
    /// its own transaction, so a cached entry never outlives a revocation.
    pub async fn authenticate(
        &self,
        store: &Store,
        token: &str,
    ) -> Result<Arc<Principal>, Refusal> {
        // Kept by the token itself, so that a request known before costs no hashing; a
        // token is in this process's memory anyway while its requests are served.
        let token = token.trim();
        if let Some(who) = self.tokens.lock().unwrap().get(token) {
            return Ok(who.clone());
        }
        let hash = hash_token(token);
        let found = store.token_by_hash(hash).await?;
        let Some(who) = found else {
            return Err(Refusal::new(
                ErrorCode::Unauthorized,
                "unknown or revoked token",
            ));
        };
        let who = Arc::new(who);
        let mut tokens = self.tokens.lock().unwrap();
        if tokens.len() >= MAX_CACHED {
            tokens.clear();
        }
        tokens.insert(token.to_string(), who.clone());
        Ok(who)
    }

    /// Drops revoked tokens from the cache and their rate limits.
    pub fn forget(&self, revoked: &HashSet<i64>) {
        self.tokens
            .lock()
            .unwrap()
            .retain(|_, who| !revoked.contains(&who.token_id));
        self.limiters
            .lock()
            .unwrap()
            .retain(|id, _| !revoked.contains(id));
    }

    /// Whether one more request of `token_id` is within `rate` a second (bursts of
    /// `burst`); a rate of 0 allows everything.
    pub fn allow(&self, token_id: i64, rate: u32, burst: u32) -> bool {
        if rate == 0 {
            return true;
        }
        self.limiters
            .lock()
            .unwrap()
            .entry(token_id)
            .or_insert_with(|| RateLimiter::new(rate, burst))
            .allow(Instant::now())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::new_token;

    #[tokio::test]
    async fn a_known_token_is_not_read_again_until_it_is_forgotten() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("chit.db");
        let store = Store::open(&db, crate::store::StoreConfig::default(), |_, _| {}).unwrap();
        let token = new_token();
        let who = Principal {
            token_id: 0,
            role: chit_protocol::Role::Kitchen,
            restaurant: Some("r1".into()),
            rider: None,
            customer: None,
            label: None,
        };
        let conn = crate::store::open_connection(&db, true).unwrap();
        let id = crate::store::queries::insert_token(&conn, &hash_token(&token), &who, 0).unwrap();
        let state = State::new(Arc::new(Metrics::new()));
        let first = state
            .authenticate(&store, &format!(" {token}\n"))
            .await
            .unwrap();
        assert_eq!(first.token_id, id);
        // Gone from the table: a second request is still known, from memory.
        conn.execute("DELETE FROM tokens", []).unwrap();
        let again = state.authenticate(&store, &token).await.unwrap();
        assert!(Arc::ptr_eq(&first, &again));
        state.forget(&HashSet::from([id]));
        let refused = state.authenticate(&store, &token).await.unwrap_err();
        assert_eq!(refused.code, ErrorCode::Unauthorized);
        store.close().await;
    }
}
