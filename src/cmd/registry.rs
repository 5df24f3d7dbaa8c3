//! The command registry: every command busbar serves, as `build.rs` generates it from
//! `commands/*.toml` (one file per Redis command group). Each entry holds everything about
//! its command: what Redis reports (arity, flags, ACL categories, key specs, tips, COMMAND
//! DOCS) and what busbar needs to run it (route, merge, handler, lock scope ...). The table
//! is `static` data; only the name index is built, once, on first use.

use std::sync::OnceLock;

use crate::cmd::docs::{ArgDoc, ArgKind, CmdDoc};
use crate::cmd::{
    flag, AllMerge, Args, Ctx, KeySpec, LockScope, NativeKeys, Route, Spec, SplitMerge, Table,
    TxnCmd,
};
use crate::error::{CmdError, CmdResult};

include!(concat!(env!("OUT_DIR"), "/commands.rs"));

/// One key spec as COMMAND INFO reports it (Redis 7's `key_specs`): where a command's keys
/// are and how it uses them. Cluster clients read these to find keys; `cmd::getkeys`
/// answers COMMAND GETKEYS from them.
pub struct KeySpecDoc {
    /// Optional explanation.
    pub notes: Option<&'static str>,
    /// Access flags (`RO`, `RW`, `OW`, `RM`, `access`, `update`, ...).
    pub flags: &'static [&'static str],
    /// `begin_search` index.
    pub begin_index: i64,
    /// `begin_search` of type `keyword` instead of `index`: (keyword, startfrom).
    pub begin_keyword: Option<(&'static str, i64)>,
    /// `find_keys` range: last key relative to the first (-1 = to the end).
    pub lastkey: i64,
    /// Distance between keys.
    pub keystep: i64,
    /// Limit divisor (0 = none).
    pub limit: i64,
    /// `find_keys` of type `keynum` instead of `range`: (keynumidx, firstkey, keystep).
    pub keynum: Option<(i64, i64, i64)>,
}

/// The handler of a container (CLIENT, CONFIG ...), which resolves to a subcommand before
/// anything runs; never called.
pub fn container(_: &mut Ctx, _: &Args) -> CmdResult {
    Err(CmdError::Syntax)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_indexes_and_names_unique() {
        let mut names = std::collections::HashSet::new();
        for (i, s) in TABLE.specs.iter().enumerate() {
            assert_eq!(s.id as usize, i);
            assert!(names.insert(s.name), "duplicate {}", s.name);
            for &sub in s.subs {
                assert!(TABLE.specs[sub as usize].name.starts_with(s.name));
            }
        }
    }
}
