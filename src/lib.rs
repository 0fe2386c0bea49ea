//! The `iov` package's library: what the command line and the test suite share.
//!
//! Takes: paths on disk.
//! Gives: [`loader::FsLoader`], which reads imported modules for the pure front end.

pub mod loader;
