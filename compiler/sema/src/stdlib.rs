//! The standard library: `.iov` sources under stdlib/, built into the compiler.

/// `(module name, file name, text)` of every standard module.
pub const MODULES: &[(&str, &str, &str)] = &[
    (
        "std.core",
        "std/core.iov",
        include_str!("../../../stdlib/std/core.iov"),
    ),
    (
        "std.net",
        "std/net.iov",
        include_str!("../../../stdlib/std/net.iov"),
    ),
];

/// The prelude: every module sees its names without an import.
pub const PRELUDE: &str = "std.core";

/// The source of a standard module, by dotted name.
pub fn get(name: &str) -> Option<(&'static str, &'static str)> {
    MODULES
        .iter()
        .find(|(n, _, _)| *n == name)
        .map(|(_, file, text)| (*file, *text))
}
