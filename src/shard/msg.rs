//! What shards send each other: commands to run on an owner shard and their replies.

/// Identifies a connection on its home shard; `id` guards against a reused slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnRef {
    /// Slab index on the home shard.
    pub slot: usize,
    /// The client id (globally unique, never reused).
    pub id: u64,
}

/// Commands copied out of a connection's read buffer, to run on another shard. One arena
/// per hop: the argument bytes of every command back to back.
#[derive(Debug, Default)]
pub struct OwnedCmds {
    /// Argument bytes, concatenated.
    pub data: Vec<u8>,
    /// Each argument as a range of `data`.
    pub args: Vec<(u32, u32)>,
    /// Each command: (command table index, first argument, argument count).
    pub cmds: Vec<(u16, u32, u32)>,
}

impl OwnedCmds {
    /// Appends one command made of `args`.
    pub fn push<'a>(&mut self, spec: u16, args: impl Iterator<Item = &'a [u8]>) {
        let first = self.args.len() as u32;
        for a in args {
            let start = self.data.len() as u32;
            self.data.extend_from_slice(a);
            self.args.push((start, self.data.len() as u32));
        }
        self.cmds
            .push((spec, first, self.args.len() as u32 - first));
    }
}

/// A message between shards.
#[derive(Debug)]
pub enum Msg {
    /// Run `cmds` in order on this (the owner) shard for a connection of shard `from`, in
    /// database `db`, and send back their encoded replies as part `part` of its gather.
    Run {
        from: usize,
        conn: ConnRef,
        part: u32,
        db: u16,
        resp3: bool,
        cmds: OwnedCmds,
    },
    /// The encoded replies of a `Run`.
    Done {
        conn: ConnRef,
        part: u32,
        out: Vec<u8>,
    },
    /// Deliver a published message to this shard's subscribers.
    Publish(std::sync::Arc<crate::pubsub::Message>),
}
