//! The bounded queue between the pub/sub connections and the application.
//!
//! Overflow: when `capacity` items wait, a new message is dropped (the connections never stop
//! reading, so a slow application cannot make the server cut the connection for its output
//! buffer) and counted in one [`PubSubItem::Dropped`] item queued where the messages would
//! have been, so the application always knows that messages were lost, and where.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use tokio::sync::Notify;

use super::PubSubItem;

#[derive(Debug)]
pub(crate) struct Inbox {
    state: Mutex<State>,
    notify: Notify,
    capacity: usize,
    /// Subscriptions the application holds (for the counts in confirmations).
    pub(crate) count: AtomicUsize,
}

#[derive(Debug, Default)]
struct State {
    items: VecDeque<PubSubItem>,
    closed: bool,
}

impl Inbox {
    pub(crate) fn new(capacity: usize) -> Inbox {
        Inbox {
            state: Mutex::new(State::default()),
            notify: Notify::new(),
            capacity: capacity.max(1),
            count: AtomicUsize::new(0),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Queues an item; a message is dropped (and counted) when the queue is full. Events
    /// (confirmations, resubscriptions) are always queued: there are few of them and losing
    /// one would hide an interruption.
    pub(crate) fn push(&self, item: PubSubItem) {
        {
            let mut s = self.lock();
            if s.closed {
                return;
            }
            if matches!(item, PubSubItem::Message { .. }) && s.items.len() >= self.capacity {
                // One marker past the capacity counts every message dropped in a row.
                match s.items.back_mut() {
                    Some(PubSubItem::Dropped { count }) => *count += 1,
                    _ => s.items.push_back(PubSubItem::Dropped { count: 1 }),
                }
                return;
            }
            s.items.push_back(item);
        }
        self.notify.notify_one();
    }

    /// The next item without waiting; `Ok(None)` when none is queued, `Err(())` once closed
    /// and drained.
    pub(crate) fn try_pop(&self) -> Result<Option<PubSubItem>, ()> {
        let mut s = self.lock();
        match s.items.pop_front() {
            Some(i) => Ok(Some(i)),
            None if s.closed => Err(()),
            None => Ok(None),
        }
    }

    /// Waits for the next item; `None` once closed and drained.
    pub(crate) async fn pop(&self) -> Option<PubSubItem> {
        loop {
            let notified = self.notify.notified();
            match self.try_pop() {
                Ok(Some(i)) => {
                    // Another waiter may be able to take the next one.
                    if !self.lock().items.is_empty() {
                        self.notify.notify_one();
                    }
                    return Some(i);
                }
                Ok(None) => notified.await,
                Err(()) => return None,
            }
        }
    }

    /// No more items will be queued; waiters wake up and see the end once drained.
    pub(crate) fn close(&self) {
        self.lock().closed = true;
        self.notify.notify_waiters();
        self.notify.notify_one();
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.lock().closed
    }

    pub(crate) fn set_count(&self, n: usize) {
        self.count.store(n, Ordering::Release);
    }

    pub(crate) fn count(&self) -> usize {
        self.count.load(Ordering::Acquire)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn msg(i: u8) -> PubSubItem {
        PubSubItem::Message {
            kind: super::super::Kind::Channel,
            channel: Bytes::from_static(b"c"),
            pattern: None,
            payload: Bytes::from(vec![i]),
        }
    }

    #[test]
    fn a_full_queue_drops_new_messages_and_says_how_many() {
        let q = Inbox::new(2);
        for i in 0..5 {
            q.push(msg(i));
        }
        assert_eq!(q.try_pop(), Ok(Some(msg(0))));
        assert_eq!(q.try_pop(), Ok(Some(msg(1))));
        q.push(msg(5)); // room again: queued after the marker
        assert_eq!(q.try_pop(), Ok(Some(PubSubItem::Dropped { count: 3 })));
        assert_eq!(q.try_pop(), Ok(Some(msg(5))));
        assert_eq!(q.try_pop(), Ok(None));
        q.close();
        assert_eq!(q.try_pop(), Err(()));
    }
}
