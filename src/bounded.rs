//! Maps that grow with traffic (users' sessions, a store's tokens and locks), kept to what is in
//! use: dead entries are swept out as new ones come in, and the map gives memory back when it
//! shrinks, so a service that runs for months holds what it uses now, not everything it ever saw.

use std::collections::HashMap;

/// The smallest map that is swept or shrunk: below it, sweeping costs more than it frees.
pub(crate) const SWEEP_FLOOR: usize = 64;

/// A map by string key whose dead entries are swept out when it has doubled since the last sweep
/// (so each insertion costs O(1) amortized), and which gives memory back once it holds under a
/// quarter of its room.
pub(crate) struct Bounded<V> {
    pub(crate) map: HashMap<String, V>,
    /// The size from which the next sweep runs.
    sweep_at: usize,
}

impl<V> Default for Bounded<V> {
    fn default() -> Self {
        Bounded {
            map: HashMap::new(),
            sweep_at: SWEEP_FLOOR,
        }
    }
}

impl<V> Bounded<V> {
    /// Before an insertion: once the map has doubled since the last sweep, keeps only the
    /// entries `live` accepts.
    pub(crate) fn sweep(&mut self, mut live: impl FnMut(&V) -> bool) {
        if self.map.len() < self.sweep_at {
            return;
        }
        self.map.retain(|_, value| live(value));
        self.sweep_at = (self.map.len() * 2).max(SWEEP_FLOOR);
        self.shrink();
    }

    /// Removes `key`, giving memory back if the map became small for its room.
    pub(crate) fn remove(&mut self, key: &str) -> Option<V> {
        let removed = self.map.remove(key);
        if removed.is_some() {
            self.shrink();
        }
        removed
    }

    fn shrink(&mut self) {
        let len = self.map.len();
        if self.map.capacity() > SWEEP_FLOOR && len < self.map.capacity() / 4 {
            let room = (len * 2).max(SWEEP_FLOOR);
            self.map.shrink_to(room);
            self.sweep_at = self.sweep_at.min(room);
        }
    }
}
