//! The `iov` package's library: what the command line and the test suite share.
//!
//! Takes: paths on disk.
//! Gives: [`loader::FsLoader`], which reads imported modules for the pure front end, and
//! [`verifier::diagnose`], which turns a verifier log into a diagnostic on an `.iov` line;
//! [`values`] and [`control_line`], the one parser (and printer) of the human syntax of
//! control-plane lines and values, shared by `iov test` and `iov table`; [`stf`], the reader
//! of packet-test files; [`decode`], frames read header by header as a program's parser reads
//! them; [`fuzz`], the properties the fuzz targets and the suite's hunt check.

pub mod control_line;
pub mod decode;
pub mod fuzz;
pub mod loader;
pub mod stf;
pub mod values;
pub mod verifier;
