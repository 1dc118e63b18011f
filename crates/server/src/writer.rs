//! The writer's door. One writer at a time (the ledger appends in order), but not first come,
//! first served: a human decision or an admin change that arrives while ingest chunks queue
//! goes in at the next turn, so an analyst's click waits for at most the chunk being written,
//! never for the chunks queued behind it. Ingest chunks take the turns nobody else wants.

use std::ops::{Deref, DerefMut};
use std::sync::{Condvar, Mutex, MutexGuard};

/// Who is asking for the writer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Turn {
    /// A person's decision, an admin change, refusals and checkpoints: goes first.
    Priority,
    /// An ingest chunk: waits while anyone with priority waits.
    Bulk,
}

#[derive(Debug, Default)]
struct State {
    busy: bool,
    priority_waiting: usize,
}

/// `T` (the server's writer) behind the door.
pub struct Door<T> {
    state: Mutex<State>,
    turn_over: Condvar,
    inside: Mutex<T>,
}

/// What is behind the door while one holds it; dropping it gives the next turn.
pub struct Held<'a, T> {
    door: &'a Door<T>,
    inside: Option<MutexGuard<'a, T>>,
}

impl<T> Door<T> {
    pub fn new(inside: T) -> Door<T> {
        Door {
            state: Mutex::new(State::default()),
            turn_over: Condvar::new(),
            inside: Mutex::new(inside),
        }
    }

    /// Blocks until it is `turn`'s go (call it off the async threads).
    pub fn enter(&self, turn: Turn) -> Held<'_, T> {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if turn == Turn::Priority {
            s.priority_waiting += 1;
        }
        while s.busy || (turn == Turn::Bulk && s.priority_waiting > 0) {
            s = self.turn_over.wait(s).unwrap_or_else(|e| e.into_inner());
        }
        if turn == Turn::Priority {
            s.priority_waiting -= 1;
        }
        s.busy = true;
        drop(s);
        // Only the holder of the turn locks `inside`, so this never waits. A panic while
        // holding it is caught by the caller, which refuses every later write.
        let inside = self.inside.lock().unwrap_or_else(|e| e.into_inner());
        Held {
            door: self,
            inside: Some(inside),
        }
    }

    /// How many with priority are waiting now.
    pub fn priority_waiting(&self) -> usize {
        self.state
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .priority_waiting
    }
}

impl<T> Deref for Held<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        self.inside.as_ref().expect("held until dropped")
    }
}

impl<T> DerefMut for Held<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        self.inside.as_mut().expect("held until dropped")
    }
}

impl<T> Drop for Held<'_, T> {
    fn drop(&mut self) {
        self.inside = None;
        self.door
            .state
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .busy = false;
        self.door.turn_over.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use super::*;

    #[test]
    fn a_priority_turn_goes_before_the_bulk_turns_already_waiting() {
        let door = Arc::new(Door::new(Vec::<&'static str>::new()));
        let first = door.enter(Turn::Bulk);
        let started = Arc::new(AtomicUsize::new(0));
        let bulk: Vec<_> = (0..3)
            .map(|_| {
                let (d, s) = (door.clone(), started.clone());
                std::thread::spawn(move || {
                    s.fetch_add(1, Ordering::SeqCst);
                    d.enter(Turn::Bulk).push("bulk");
                })
            })
            .collect();
        while started.load(Ordering::SeqCst) < 3 {
            std::thread::yield_now();
        }
        // Give the bulk threads time to block on the door (ordering, not timing, is asserted).
        std::thread::sleep(Duration::from_millis(50));
        let d = door.clone();
        let priority = std::thread::spawn(move || d.enter(Turn::Priority).push("priority"));
        while door.priority_waiting() == 0 {
            std::thread::yield_now();
        }
        drop(first);
        priority.join().unwrap();
        for b in bulk {
            b.join().unwrap();
        }
        let log = door.enter(Turn::Priority).clone();
        assert_eq!(log.len(), 4);
        assert_eq!(log[0], "priority", "{log:?}");
    }

    #[test]
    fn bulk_turns_all_get_through_when_nobody_has_priority() {
        let door = Arc::new(Door::new(0u32));
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let d = door.clone();
                std::thread::spawn(move || {
                    for _ in 0..100 {
                        *d.enter(Turn::Bulk) += 1;
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(*door.enter(Turn::Priority), 800);
    }
}
