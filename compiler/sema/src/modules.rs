//! Loading: the root file, the prelude and every imported file, each parsed once.
//!
//! Takes: the root file and a [`Loader`].
//! Gives: the parsed [`Module`]s (index 0 is the prelude, 1 the root) and, for each import
//! item, the module it names; unknown modules are reported (E0102).

use crate::{stdlib, Loader, Module};
use iov_diagnostics::{Code, Diagnostic, SourceMap};
use iov_syntax::ast::Item;
use std::collections::HashMap;

pub struct Loaded {
    pub modules: Vec<Module>,
    /// `(module, item index of the import)` -> imported module.
    pub imports: HashMap<(usize, usize), usize>,
}

fn add(
    files: &mut SourceMap,
    diags: &mut Vec<Diagnostic>,
    name: &str,
    file_name: &str,
    text: &str,
) -> Module {
    let file = files.add(file_name, text);
    let (ast, d) = iov_syntax::parse(file, text);
    diags.extend(d);
    Module {
        name: name.to_string(),
        file,
        ast,
    }
}

pub fn load_all(
    root_name: &str,
    root_text: &str,
    loader: &mut dyn Loader,
    files: &mut SourceMap,
    diags: &mut Vec<Diagnostic>,
) -> Loaded {
    let (prelude_file, prelude_text) = stdlib::get(stdlib::PRELUDE).expect("the prelude exists");
    let mut modules = vec![add(
        files,
        diags,
        stdlib::PRELUDE,
        prelude_file,
        prelude_text,
    )];
    // Checking a standard module itself: load it once, as the root.
    let root_module_name = stdlib::MODULES
        .iter()
        .find(|(_, f, t)| root_name.ends_with(f) && *t == root_text)
        .map(|(n, _, _)| n.to_string())
        .unwrap_or_else(|| root_name.to_string());
    if root_module_name != stdlib::PRELUDE {
        modules.push(add(files, diags, &root_module_name, root_name, root_text));
    }
    let mut by_name: HashMap<String, usize> = modules
        .iter()
        .enumerate()
        .map(|(i, m)| (m.name.clone(), i))
        .collect();
    // Files already loaded, by the name the loader gave them (the root is one of them).
    let mut by_file: HashMap<String, usize> = HashMap::new();
    by_file.insert(root_name.to_string(), modules.len() - 1);
    let mut imports = HashMap::new();
    let mut next = 0;
    while next < modules.len() {
        let importer = next;
        next += 1;
        let wanted: Vec<(usize, Vec<String>, iov_diagnostics::Span)> = modules[importer]
            .ast
            .items
            .iter()
            .enumerate()
            .filter_map(|(i, item)| match item {
                Item::Import(imp) => Some((
                    i,
                    imp.path.iter().map(|p| p.name.clone()).collect(),
                    imp.path[0].span.to(imp.path[imp.path.len() - 1].span),
                )),
                _ => None,
            })
            .collect();
        for (item, path, span) in wanted {
            let dotted = path.join(".");
            let target = if path[0] == "std" {
                match by_name.get(&dotted) {
                    Some(&m) => Some(m),
                    None => match stdlib::get(&dotted) {
                        Some((file_name, text)) => {
                            modules.push(add(files, diags, &dotted, file_name, text));
                            by_name.insert(dotted.clone(), modules.len() - 1);
                            Some(modules.len() - 1)
                        }
                        None => {
                            let known = stdlib::MODULES.iter().map(|(n, _, _)| *n);
                            diags.push(
                                Diagnostic::new(
                                    Code::E0102,
                                    format!("the standard library has no module `{dotted}`"),
                                    span,
                                )
                                .label("unknown module")
                                .suggest(&dotted, known),
                            );
                            None
                        }
                    },
                }
            } else {
                let from = files.get(modules[importer].file).name.clone();
                match loader.load(&from, &path) {
                    Ok((file_name, text)) => match by_file.get(&file_name) {
                        Some(&m) => Some(m),
                        None => {
                            modules.push(add(files, diags, &dotted, &file_name, &text));
                            by_file.insert(file_name, modules.len() - 1);
                            Some(modules.len() - 1)
                        }
                    },
                    Err(why) => {
                        diags.push(
                            Diagnostic::new(
                                Code::E0102,
                                format!("cannot find module `{dotted}`"),
                                span,
                            )
                            .label("imported here")
                            .note(why),
                        );
                        None
                    }
                }
            };
            if let Some(t) = target {
                imports.insert((importer, item), t);
            }
        }
    }
    Loaded { modules, imports }
}
