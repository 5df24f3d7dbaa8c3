//! What busbar writes for a value outside memory: Redis's RDB encoding (`rdb`), with the
//! pieces it is made of — the listpack layout (`listpack`), LZF compression (`lzf`) and
//! the CRC-64 checksum (`crc64`) — and RDB files (`file`: shard segments assembled into
//! one `dump.rdb`, and loading one). DUMP, RESTORE, SAVE and the shutdown save use it;
//! and the append-only file's formats (`aof`: RESP commands, the reader that replays
//! them, the manifest).

pub mod aof;
pub mod crc64;
pub mod file;
pub mod listpack;
pub mod lzf;
pub mod rdb;
