//! The few cross-thread primitives, in one place: a shard's mailbox (a lock-free queue of
//! message batches plus the mio Waker that wakes its event loop).
//!
//! Senders batch per turn: at most one `push` and one `wake` per destination shard per
//! turn, however many connections sent work there.
//!
//! Generic over the message type (`shard::msg::Msg` in the server), so this module imports
//! nothing above it.

use std::sync::atomic::{AtomicBool, Ordering::SeqCst};

use crossbeam_queue::SegQueue;
use mio::Waker;

/// A shard's inbound queue. Written by every other shard, read only by its owner.
///
/// Wakes are elided while the owner is awake: the owner raises `sleeping` before it blocks
/// in `poll` (then re-checks the queue), and a sender wakes it only if it takes the flag
/// down. Both sides use SeqCst so that either the owner sees the new batch or the sender
/// sees the flag (the Dekker pattern); a busy shard therefore costs its senders no syscall.
pub struct Mailbox<M> {
    queue: SegQueue<Vec<M>>,
    waker: Waker,
    /// True while the owner is (about to be) blocked in `poll`.
    sleeping: AtomicBool,
}

impl<M> Mailbox<M> {
    /// A mailbox whose `wake` interrupts the owner's `Poll` through `waker`.
    pub fn new(waker: Waker) -> Self {
        Self {
            queue: SegQueue::new(),
            waker,
            sleeping: AtomicBool::new(false),
        }
    }

    /// Hands a batch to the owner, waking it if it sleeps. Called at most once per
    /// destination per turn.
    pub fn send(&self, batch: Vec<M>) {
        self.queue.push(batch);
        if self.sleeping.swap(false, SeqCst) {
            self.wake();
        }
    }

    /// Owner only: announces that it is about to block. Returns false (and stays awake)
    /// if a batch arrived meanwhile, in which case the owner must not block.
    pub fn prepare_sleep(&self) -> bool {
        self.sleeping.store(true, SeqCst);
        if self.queue.is_empty() {
            true
        } else {
            self.sleeping.store(false, SeqCst);
            false
        }
    }

    /// Owner only: back from `poll`.
    pub fn awake(&self) {
        self.sleeping.store(false, SeqCst);
    }

    /// Wakes the owner without a message (shutdown).
    pub fn wake(&self) {
        // A failed wake means the eventfd is gone, i.e. the shard already exited.
        let _ = self.waker.wake();
    }

    /// Takes the next batch, if any. Owner only.
    pub fn recv(&self) -> Option<Vec<M>> {
        self.queue.pop()
    }

    /// True when no batch is waiting.
    pub fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }
}
