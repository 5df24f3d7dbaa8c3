//! Command errors, rendered to RESP in one place with Redis's exact texts.
//!
//! Protocol errors (which close the connection) live in `resp::parse::ProtocolError`.

use std::borrow::Cow;

/// An error reply to a command. The connection stays open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CmdError {
    /// `WRONGTYPE Operation against a key holding the wrong kind of value`
    WrongType,
    /// `ERR value is not an integer or out of range`
    NotInteger,
    /// `ERR value is not a valid float`
    NotFloat,
    /// `ERR syntax error`
    Syntax,
    /// `ERR no such key`
    NoSuchKey,
    /// `ERR wrong number of arguments for '<name>' command`
    Arity(String),
    /// Any other error; the text after `-`, starting with its code (`ERR ...`).
    Msg(Cow<'static, str>),
    /// An error whose text quotes client bytes verbatim (unknown subcommand).
    Bytes(Vec<u8>),
}

/// Shorthand for a command result.
pub type CmdResult<T = ()> = Result<T, CmdError>;

impl CmdError {
    /// A fixed error text (starting with its code, e.g. `ERR ...`).
    pub const fn msg(text: &'static str) -> Self {
        CmdError::Msg(Cow::Borrowed(text))
    }

    /// A formatted error text (starting with its code).
    pub fn owned(text: String) -> Self {
        CmdError::Msg(Cow::Owned(text))
    }

    /// The reply text after the leading `-`.
    pub fn text(&self) -> Cow<'_, str> {
        match self {
            CmdError::WrongType => {
                "WRONGTYPE Operation against a key holding the wrong kind of value".into()
            }
            CmdError::NotInteger => "ERR value is not an integer or out of range".into(),
            CmdError::NotFloat => "ERR value is not a valid float".into(),
            CmdError::Syntax => "ERR syntax error".into(),
            CmdError::NoSuchKey => "ERR no such key".into(),
            CmdError::Arity(name) => {
                format!("ERR wrong number of arguments for '{name}' command").into()
            }
            CmdError::Msg(m) => Cow::Borrowed(m.as_ref()),
            CmdError::Bytes(b) => String::from_utf8_lossy(b),
        }
    }

    /// Writes the error reply (client bytes kept as they are).
    pub fn write(&self, out: &mut crate::resp::Reply) {
        match self {
            CmdError::Bytes(b) => out.error_bytes(b),
            other => out.error(&other.text()),
        }
    }
}
