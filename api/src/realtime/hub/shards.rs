//! The hub's sharded maps: one lock per shard, so that sockets of
//! different chats do not contend for one lock.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

use parley_shared::infra::bus::Topic;

use super::ConnId;

/// How many locks each map is split into.
const SHARDS: usize = 32;

/// A map split into [`SHARDS`] locks by key.
pub(super) struct Sharded<K, V> {
    shards: Vec<Mutex<HashMap<K, V>>>,
}

/// Where a key's shard is.
pub(super) trait ShardKey {
    fn shard(&self) -> usize;
}

impl ShardKey for ConnId {
    fn shard(&self) -> usize {
        (*self % SHARDS as u64) as usize
    }
}

impl ShardKey for Topic {
    fn shard(&self) -> usize {
        let (id, kind) = match self {
            Topic::Chat(id) => (*id, 0),
            Topic::User(id) => (*id, 1),
        };
        ((id.unsigned_abs() * 2 + kind) % SHARDS as u64) as usize
    }
}

impl<K: ShardKey, V> Sharded<K, V> {
    pub(super) fn new() -> Self {
        Sharded {
            shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
        }
    }

    pub(super) fn lock(&self, key: &K) -> MutexGuard<'_, HashMap<K, V>> {
        lock(&self.shards[key.shard()])
    }

    /// Every shard, one at a time.
    pub(super) fn each(&self, mut f: impl FnMut(&HashMap<K, V>)) {
        for shard in &self.shards {
            f(&lock(shard));
        }
    }
}

pub(super) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock leaves plain maps behind; keep going.
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topics_spread_over_the_shards() {
        let chat = Topic::Chat(5).shard();
        let user = Topic::User(5).shard();
        assert_ne!(chat, user);
        assert!(chat < SHARDS && user < SHARDS);
        assert!(Topic::Chat(-3).shard() < SHARDS);
    }
}
