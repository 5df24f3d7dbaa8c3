//! RESP wire format: the zero-copy request parser and the RESP2/RESP3 reply writer. Knows
//! nothing of sockets or threads, so it can be fuzzed and benchmarked on its own.

pub mod parse;
pub mod write;

pub use parse::{ArgRange, ParseLimits, ParseState, Parsed, ProtocolError};
pub use write::Reply;
