//! Leases: one holder at a time per name, for as long as it keeps renewing (the agent's
//! election, DESIGN.md §6 `flightdeck agent`). In etcd the key `leases/<name>` is bound to
//! an etcd lease, so a holder that dies lets go after the TTL by itself; in memory the
//! table below does the same for the one process that shares the store.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The key a lease lives under, relative to the store prefix.
pub fn lease_key(name: &str) -> String {
    format!("leases/{name}")
}

/// The in-memory backend's leases: holder and expiry per name.
#[derive(Default)]
pub struct MemoryLeases(Mutex<HashMap<String, (String, Instant)>>);

impl MemoryLeases {
    pub fn hold(&self, name: &str, holder: &str, ttl: Duration) -> String {
        let now = Instant::now();
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        match map.get(name) {
            Some((h, until)) if *until > now && h != holder => h.clone(),
            _ => {
                map.insert(name.to_string(), (holder.to_string(), now + ttl));
                holder.to_string()
            }
        }
    }

    pub fn holder(&self, name: &str) -> Option<String> {
        let map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        map.get(name)
            .filter(|(_, until)| *until > Instant::now())
            .map(|(h, _)| h.clone())
    }

    pub fn release(&self, name: &str, holder: &str) {
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if map.get(name).is_some_and(|(h, _)| h == holder) {
            map.remove(name);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_holder_until_it_lets_go_or_expires() {
        let l = MemoryLeases::default();
        let ttl = Duration::from_millis(50);
        assert_eq!(l.hold("agent", "a", ttl), "a");
        assert_eq!(l.hold("agent", "b", ttl), "a");
        assert_eq!(l.hold("agent", "a", ttl), "a");
        l.release("agent", "b");
        assert_eq!(l.holder("agent").as_deref(), Some("a"));
        std::thread::sleep(Duration::from_millis(60));
        assert_eq!(l.holder("agent"), None);
        assert_eq!(l.hold("agent", "b", ttl), "b");
        l.release("agent", "b");
        assert_eq!(l.holder("agent"), None);
    }
}
