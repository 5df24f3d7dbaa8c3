//! What a hop carries as plain data: the commands copied out of a connection's read
//! buffer, and which connection they belong to. A leaf, so the lock table (`tx`) and the
//! connection (`conn`) can hold them without knowing the messages around them
//! (`shard::msg`).

/// Identifies a connection on its home shard; `id` guards against a reused slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnRef {
    /// Slab index on the home shard.
    pub slot: usize,
    /// The client id (globally unique, never reused).
    pub id: u64,
}

/// What an `OwnedCmds` reserves with its first command: about a 16-command pipeline of
/// small commands (key and value of a few dozen bytes each).
const FIRST_DATA_BYTES: usize = 512;
const FIRST_ARGS: usize = 48;
const FIRST_CMDS: usize = 16;

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
    /// Appends every command of `other`.
    pub fn extend_from(&mut self, other: &OwnedCmds) {
        let base = self.data.len() as u32;
        let first_arg = self.args.len() as u32;
        self.data.extend_from_slice(&other.data);
        self.args
            .extend(other.args.iter().map(|&(s, e)| (s + base, e + base)));
        self.cmds.extend(
            other
                .cmds
                .iter()
                .map(|&(spec, first, n)| (spec, first + first_arg, n)),
        );
    }

    /// The commands from the `from`-th on, as a batch of their own (what a hop still has
    /// to run after one of its commands paced its reply).
    pub fn tail(&self, from: usize) -> OwnedCmds {
        let mut rest = OwnedCmds::default();
        for &(spec, first, n) in self.cmds.iter().skip(from) {
            let args = &self.args[first as usize..(first + n) as usize];
            rest.push(
                spec,
                args.iter()
                    .map(|&(s, e)| &self.data[s as usize..e as usize]),
            );
        }
        rest
    }

    /// Appends one command made of `args`.
    pub fn push<'a>(&mut self, spec: u16, args: impl Iterator<Item = &'a [u8]>) {
        if self.cmds.is_empty() {
            // Room for a short pipeline at once, rather than doubling up from nothing.
            self.data.reserve(FIRST_DATA_BYTES);
            self.args.reserve(FIRST_ARGS);
            self.cmds.reserve(FIRST_CMDS);
        }
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
