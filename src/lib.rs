//! The `iov` package's library: what the command line and the test suite share.
//!
//! Takes: paths on disk.
//! Gives: [`loader::FsLoader`], which reads imported modules for the pure front end, and
//! [`verifier::diagnose`], which turns a verifier log into a diagnostic on an `.iov` line.

pub mod loader;
pub mod verifier;
