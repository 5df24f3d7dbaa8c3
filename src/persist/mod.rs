//! What busbar writes for a value outside memory: Redis's RDB encoding (`rdb`), with the
//! pieces it is made of — the listpack layout (`listpack`), LZF compression (`lzf`) and
//! the CRC-64 checksum (`crc64`). DUMP and RESTORE carry values in it today; RDB files
//! and the AOF are the persistence issue's next steps.

pub mod crc64;
pub mod listpack;
pub mod lzf;
pub mod rdb;
