//! The few cross-thread primitives, in one place: a shard's mailbox (a lock-free queue of
//! message batches plus the mio Waker that wakes its event loop).
//!
//! Senders batch per turn: at most one `push` and one `wake` per destination shard per
//! turn, however many connections sent work there.

use crossbeam_queue::SegQueue;
use mio::Waker;

use crate::shard::msg::Msg;

/// A shard's inbound queue. Written by every other shard, read only by its owner.
pub struct Mailbox {
    queue: SegQueue<Vec<Msg>>,
    waker: Waker,
}

impl Mailbox {
    /// A mailbox whose `wake` interrupts the owner's `Poll` through `waker`.
    pub fn new(waker: Waker) -> Self {
        Self { queue: SegQueue::new(), waker }
    }

    /// Hands a batch to the owner and wakes it. Called once per destination per turn.
    pub fn send(&self, batch: Vec<Msg>) {
        self.queue.push(batch);
        self.wake();
    }

    /// Wakes the owner without a message (shutdown).
    pub fn wake(&self) {
        // A failed wake means the eventfd is gone, i.e. the shard already exited.
        let _ = self.waker.wake();
    }

    /// Takes the next batch, if any. Owner only.
    pub fn recv(&self) -> Option<Vec<Msg>> {
        self.queue.pop()
    }

    /// True when no batch is waiting.
    pub fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }
}
