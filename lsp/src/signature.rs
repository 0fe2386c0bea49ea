//! Signature help: the parameters of the action, function or method being called.
//!
//! Takes: the checked program, the document's text and a byte offset inside a call's `( )`.
//! Gives: the callee's signature, with the parameter the cursor is on.

use iov_sema::types::Ty;
use iov_sema::Program;
use iov_syntax::ast::{self, Item, Local};
use tower_lsp_server::lsp_types::{
    ParameterInformation, ParameterLabel, SignatureHelp, SignatureInformation,
};

/// A parameter as written: `in bit<32> index`.
pub fn param_label(p: &Program, q: &iov_sema::types::ParamDef) -> String {
    let dir = q
        .direction
        .map(|d| format!("{} ", d.as_str()))
        .unwrap_or_default();
    format!("{dir}{} {}", p.type_to_string(&q.ty), q.name)
}

/// A function's signature: `bit<16> ipv4_checksum(in T0 hdr)`.
pub fn function_label(p: &Program, f: &iov_sema::types::FnDef) -> String {
    let params: Vec<String> = f.params.iter().map(|q| param_label(p, q)).collect();
    format!(
        "{} {}({})",
        p.type_to_string(&f.ret),
        f.name,
        params.join(", ")
    )
}

/// The `(` of the call the cursor is in, and how many commas precede the cursor in it.
fn open_call(text: &str, at: usize) -> Option<(usize, u32)> {
    let (mut depth, mut commas) = (0i32, 0u32);
    for (i, c) in text[..at].char_indices().rev() {
        match c {
            ')' => depth += 1,
            '(' if depth == 0 => return Some((i, commas)),
            '(' => depth -= 1,
            ',' if depth == 0 => commas += 1,
            ';' | '{' | '}' => return None,
            _ => {}
        }
    }
    None
}

fn signature(label: String, params: Vec<String>, active: u32) -> SignatureHelp {
    SignatureHelp {
        signatures: vec![SignatureInformation {
            label,
            documentation: None,
            parameters: Some(
                params
                    .into_iter()
                    .map(|p| ParameterInformation {
                        label: ParameterLabel::Simple(p),
                        documentation: None,
                    })
                    .collect(),
            ),
            active_parameter: Some(active),
        }],
        active_signature: Some(0),
        active_parameter: Some(active),
    }
}

fn param_text(p: &ast::Param, text: &str) -> String {
    text.get(p.span.start as usize..p.span.end as usize)
        .unwrap_or(&p.name.name)
        .to_string()
}

pub fn help(
    p: &Program,
    file: iov_diagnostics::FileId,
    text: &str,
    at: usize,
) -> Option<SignatureHelp> {
    let (paren, active) = open_call(text, at)?;
    let before = text[..paren].trim_end();
    let start = crate::complete::start_of_run(before, before.len(), |c| {
        c.is_ascii_alphanumeric() || c == '_' || c == '.'
    });
    let chain = &before[start..];
    let (object, name) = match chain.rsplit_once('.') {
        Some((o, n)) => (Some(o), n),
        None => (None, chain),
    };
    if let Some(object) = object {
        // A method: the object's type from the same expression elsewhere in the file.
        let ty = crate::complete::same_expression(p, file, text, object, paren)?;
        let Ty::Extern(x, _) = ty else { return None };
        let m = p.externs[*x].methods.iter().find(|m| m.name == name)?;
        let params: Vec<String> = m
            .params
            .iter()
            .map(|q| format!("{} {}", p.type_to_string(&q.ty), q.name))
            .collect();
        let label = format!(
            "{} {}.{}({})",
            p.type_to_string(&m.ret),
            p.externs[*x].name,
            m.name,
            params.join(", ")
        );
        return Some(signature(label, params, active));
    }
    if let Some(f) = p.fns.iter().find(|f| f.name == name) {
        let label = function_label(p, f);
        let params = f.params.iter().map(|q| param_label(p, q)).collect();
        return Some(signature(label, params, active));
    }
    // An action of this file, local to a control or at top level.
    let module = p.modules.iter().find(|m| m.file == file)?;
    let action = module.ast.items.iter().find_map(|i| match i {
        Item::Action(a) if a.name.name == name => Some(a),
        Item::Control(c) => c.locals.iter().find_map(|l| match l {
            Local::Action(a) if a.name.name == name => Some(a),
            _ => None,
        }),
        _ => None,
    })?;
    let params: Vec<String> = action.params.iter().map(|q| param_text(q, text)).collect();
    let label = format!("action {}({})", name, params.join(", "));
    Some(signature(label, params, active))
}
