//! Who wrote a line: one entry per pod and container a view has seen, with its track and
//! the colour slot it keeps for its life, and whether the pod is gone.

use std::collections::HashMap;

use super::line::SourceId;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Track {
    Stable,
    Canary,
    /// A pod without the track label (or one we did not expect).
    Other,
}

impl Track {
    pub fn from_label(v: Option<&str>) -> Track {
        match v {
            Some("stable") => Track::Stable,
            Some("canary") => Track::Canary,
            _ => Track::Other,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Track::Stable => "stable",
            Track::Canary => "canary",
            Track::Other => "-",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    pub pod: String,
    pub container: String,
    pub track: Track,
    /// Index within the track's palette: the n-th pod of that track gets slot n.
    pub colour: usize,
    pub gone: bool,
}

impl Source {
    /// The tag printed before each line: the pod, and the container when the pod has more
    /// than one in view.
    pub fn label(&self, with_container: bool) -> String {
        if with_container {
            format!("{}/{}", self.pod, self.container)
        } else {
            self.pod.clone()
        }
    }
}

#[derive(Debug, Default)]
pub struct SourceTable {
    sources: Vec<Source>,
    by_key: HashMap<(String, String), SourceId>,
    pods_per_track: HashMap<Track, usize>,
    colour_of_pod: HashMap<String, usize>,
    containers_of_pod: HashMap<String, usize>,
}

impl SourceTable {
    /// The id of a pod's container, added on first sight.
    pub fn intern(&mut self, pod: &str, container: &str, track: Track) -> SourceId {
        if let Some(id) = self.by_key.get(&(pod.to_string(), container.to_string())) {
            return *id;
        }
        // One colour per pod, shared by its containers.
        let colour = match self.colour_of_pod.get(pod) {
            Some(c) => *c,
            None => {
                let n = self.pods_per_track.entry(track).or_default();
                let c = *n;
                *n += 1;
                self.colour_of_pod.insert(pod.to_string(), c);
                c
            }
        };
        *self.containers_of_pod.entry(pod.to_string()).or_default() += 1;
        let id = self.sources.len() as SourceId;
        self.sources.push(Source {
            pod: pod.to_string(),
            container: container.to_string(),
            track,
            colour,
            gone: false,
        });
        self.by_key
            .insert((pod.to_string(), container.to_string()), id);
        id
    }

    pub fn get(&self, id: SourceId) -> Option<&Source> {
        self.sources.get(id as usize)
    }

    pub fn mark_gone(&mut self, pod: &str) {
        for s in self.sources.iter_mut().filter(|s| s.pod == pod) {
            s.gone = true;
        }
    }

    /// True when the pod of this source shows more than one container.
    pub fn multi_container(&self, id: SourceId) -> bool {
        self.get(id)
            .and_then(|s| self.containers_of_pod.get(&s.pod))
            .is_some_and(|n| *n > 1)
    }

    pub fn all(&self) -> &[Source] {
        &self.sources
    }

    /// Pod names in the order they were first seen.
    pub fn pods(&self) -> Vec<&str> {
        let mut seen = std::collections::HashSet::new();
        self.sources
            .iter()
            .filter(|s| seen.insert(s.pod.as_str()))
            .map(|s| s.pod.as_str())
            .collect()
    }

    /// Container names, each once.
    pub fn containers(&self) -> Vec<&str> {
        let mut seen = std::collections::HashSet::new();
        self.sources
            .iter()
            .filter(|s| seen.insert(s.container.as_str()))
            .map(|s| s.container.as_str())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_pod_keeps_one_colour_slot_per_track() {
        let mut t = SourceTable::default();
        let a = t.intern("web-a", "app", Track::Stable);
        let b = t.intern("web-b", "app", Track::Stable);
        let c = t.intern("web-canary-x", "app", Track::Canary);
        let a2 = t.intern("web-a", "envoy", Track::Stable);
        assert_eq!(t.intern("web-a", "app", Track::Stable), a);
        let colour = |id| t.get(id).unwrap().colour;
        assert_eq!((colour(a), colour(b), colour(c), colour(a2)), (0, 1, 0, 0));
        assert!(t.multi_container(a) && !t.multi_container(b));
        t.mark_gone("web-a");
        assert!(t.get(a2).unwrap().gone && !t.get(b).unwrap().gone);
        assert_eq!(t.pods(), ["web-a", "web-b", "web-canary-x"]);
    }
}
