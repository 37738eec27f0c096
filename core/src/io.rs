//! Async IO traits and helpers, re-exported from `futures-util`.
//!
//! These are the same traits the `futures` crate exports, so nothing clashes; one import
//! gives `read`, `write_all`, `read_line`, `split` and friends.

pub use futures_util::io::{
    AsyncBufRead, AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader,
    BufWriter, ReadHalf, WriteHalf, copy,
};
