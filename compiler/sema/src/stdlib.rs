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

/// The standard module (other than the prelude) that declares `name` at top level, for
/// "add `import std.net.x;`" help. Parses the modules once, on first use.
pub fn module_declaring(name: &str) -> Option<&'static str> {
    use iov_syntax::ast::Item;
    static NAMES: std::sync::OnceLock<Vec<(&'static str, Vec<String>)>> =
        std::sync::OnceLock::new();
    let table = NAMES.get_or_init(|| {
        MODULES
            .iter()
            .filter(|(n, _, _)| *n != PRELUDE)
            .map(|(module, _, text)| {
                let (ast, _) = iov_syntax::parse(iov_diagnostics::FileId(0), text);
                let names = ast
                    .items
                    .iter()
                    .filter_map(|item| match item {
                        Item::Const(c) => Some(c.name.name.clone()),
                        Item::Struct(s) => Some(s.name.name.clone()),
                        Item::Enum(e) => Some(e.name.name.clone()),
                        Item::Typedef(t) => Some(t.name.name.clone()),
                        Item::Extern(e) => Some(e.name.name.clone()),
                        Item::ExternFn(f) => Some(f.name.name.clone()),
                        _ => None,
                    })
                    .collect();
                (*module, names)
            })
            .collect()
    });
    table
        .iter()
        .find(|(_, names)| names.iter().any(|n| n == name))
        .map(|(m, _)| *m)
}
