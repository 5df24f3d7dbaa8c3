//! Numbers read and printed the way Redis does: strict integers (`string2ll`), doubles
//! from a client (`string2ld`), the C library's lenient readers (`cnum`), `%.17g` output,
//! and the x87 `long double` INCRBYFLOAT computes in (`ldouble`). A leaf: it imports
//! nothing from the rest of the crate, so every layer may use it.

pub mod cnum;
mod double;
mod float;
mod int;
pub mod ldouble;

pub use double::{format_double, DoubleBuf};
pub use float::parse_float;
pub use int::parse_i64;
