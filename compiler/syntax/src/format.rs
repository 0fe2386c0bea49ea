//! The formatter: one canonical layout for `.iov` source, keeping every comment.
//!
//! Takes: the text of a file that parses without errors.
//! Gives: the same tokens with canonical whitespace: four-space indentation by braces, one
//! statement per line, spaces around binary operators, `{ a, b }` on one line when a brace
//! pair holds no `;`, at most one blank line in a row, comments kept where they were
//! (trailing or on their own line). Only whitespace changes, so the program means the same;
//! formatting twice changes nothing. Files with syntax errors are left alone (`None`).

use crate::lexer::{self, Token};
use iov_diagnostics::FileId;

struct Tok<'a> {
    tok: Token,
    text: &'a str,
    /// Whether the source had whitespace or a comment just before this token.
    spaced: bool,
    /// Comments before this token, and whether a blank line comes right before the token.
    comments: Vec<Comment<'a>>,
    blank_before: bool,
}

/// The comments in the whitespace between two tokens: each with whether it starts its own
/// line and whether a blank line comes before it; and whether a blank line comes right
/// before the next token.
fn gap_trivia(gap: &str) -> (Vec<Comment<'_>>, bool) {
    let mut comments = Vec::new();
    let mut rest = gap;
    loop {
        let next = rest.find("//").into_iter().chain(rest.find("/*")).min();
        let ws = &rest[..next.unwrap_or(rest.len())];
        let newlines = ws.matches('\n').count();
        let Some(at) = next else {
            return (comments, newlines >= 2);
        };
        let after = &rest[at..];
        let len = if after.starts_with("//") {
            after.find('\n').unwrap_or(after.len())
        } else {
            after.find("*/").map_or(after.len(), |e| e + 2)
        };
        comments.push(Comment {
            text: &after[..len],
            own_line: newlines > 0,
            blank_before: newlines >= 2,
        });
        rest = &after[len..];
    }
}

struct Comment<'a> {
    text: &'a str,
    own_line: bool,
    blank_before: bool,
}

fn is_binary(t: &Token) -> bool {
    use Token::*;
    matches!(
        t,
        Assign
            | EqEq
            | Ne
            | Le
            | Ge
            | AndAnd
            | OrOr
            | Amp
            | Pipe
            | Caret
            | Plus
            | Minus
            | Star
            | Slash
            | Percent
            | Shl
            | Concat
            | SatAdd
            | SatSub
            | Mask
            | Question
    )
}

/// Tokens after which a `-`, `!` or `~` is a prefix operator.
fn before_operand(t: Option<&Token>) -> bool {
    use Token::*;
    match t {
        None => true,
        Some(t) => {
            is_binary(t)
                || matches!(
                    t,
                    LParen
                        | LBracket
                        | Comma
                        | Colon
                        | Return
                        | LBrace
                        | Semi
                        | Lt
                        | Gt
                        | GtJoined
                        | Bang
                        | Tilde
                )
        }
    }
}

/// A brace list longer than this (in characters of its tokens) gets one element per line.
const MAX_INLINE: usize = 60;

/// Formats `text`, or `None` when it does not parse.
pub fn format(text: &str) -> Option<String> {
    let (_, diags) = crate::parse(FileId(0), text);
    if !diags.is_empty() {
        return None;
    }
    let mut toks: Vec<Tok> = Vec::new();
    let mut prev_end = 0;
    for (l, t, r) in lexer::tokens(text) {
        let t = t.ok()?;
        if t == Token::BlockComment {
            continue;
        }
        let gap = &text[prev_end..l];
        let (comments, blank) = gap_trivia(gap);
        // As the parser sees it (`lexer::join_angles`): a `>` right before another `>` is
        // one half of a shift `>>` (or of two closing angles), and stays glued to it.
        if t == Token::Gt && gap.is_empty() {
            if let Some(last) = toks.last_mut().filter(|p| p.tok == Token::Gt) {
                last.tok = Token::GtJoined;
            }
        }
        toks.push(Tok {
            tok: t,
            text: &text[l..r],
            spaced: !gap.is_empty(),
            comments,
            blank_before: blank,
        });
        prev_end = r;
    }
    let (end_comments, _) = gap_trivia(&text[prev_end..]);

    // Which `{` open an inline list: no `;` and no nested `{` before their `}`.
    let mut inline = vec![false; toks.len()];
    let mut comma_list = vec![false; toks.len()];
    for i in 0..toks.len() {
        if toks[i].tok == Token::LBrace {
            let mut j = i + 1;
            let mut ok = true;
            let mut width = 0;
            while j < toks.len() && toks[j].tok != Token::RBrace {
                if matches!(toks[j].tok, Token::Semi | Token::LBrace)
                    || !toks[j].comments.is_empty()
                {
                    ok = false;
                    break;
                }
                width += toks[j].text.len() + 1;
                j += 1;
            }
            // Long lists get one element per line.
            inline[i] = ok && width <= MAX_INLINE;
            comma_list[i] = ok && width > MAX_INLINE;
        }
    }

    let mut out = String::new();
    let mut indent: usize = 0;
    let mut line_start = true;
    // Open brackets: whether each brace is inline, and `(`/`[` depth for `;` and `:`.
    let mut braces: Vec<bool> = Vec::new();
    // For each open brace: whether it is a long comma list (break after each `,`).
    let mut lists: Vec<bool> = Vec::new();
    let mut brackets = 0usize;
    let mut angle_depth = 0usize;
    let mut ternaries = 0usize;
    // Inside the `{...}` of an import.
    let mut import_list = false;
    let newline = |out: &mut String, line_start: &mut bool| {
        while out.ends_with(' ') {
            out.pop();
        }
        out.push('\n');
        *line_start = true;
    };
    for i in 0..toks.len() {
        let t = &toks[i];
        let prev = i.checked_sub(1).map(|p| &toks[p].tok);
        let in_inline = braces.last().copied().unwrap_or(false);
        // Comments first: trailing ones stay on their line, others get their own.
        for c in &t.comments {
            // A trailing comment stays at the end of the line we just broke.
            if !c.own_line && line_start && out.ends_with('\n') && !out.ends_with("{\n") {
                out.pop();
                out.push(' ');
                out.push_str(c.text);
                newline(&mut out, &mut line_start);
                continue;
            }
            if c.own_line || line_start {
                if !line_start {
                    newline(&mut out, &mut line_start);
                }
                if c.blank_before
                    && !out.is_empty()
                    && !out.ends_with("{\n")
                    && !out.ends_with("\n\n")
                {
                    out.push('\n');
                }
                let close =
                    usize::from(t.tok == Token::RBrace && !braces.last().copied().unwrap_or(false));
                out.push_str(&"    ".repeat(indent.saturating_sub(close)));
            } else {
                out.push(' ');
            }
            out.push_str(c.text);
            newline(&mut out, &mut line_start);
        }
        if t.tok == Token::RBrace && !braces.last().copied().unwrap_or(false) {
            indent = indent.saturating_sub(1);
            if !line_start {
                newline(&mut out, &mut line_start);
            }
        }
        if line_start {
            if t.blank_before
                && t.comments.is_empty()
                && !out.is_empty()
                && !out.ends_with("{\n")
                && !out.ends_with("\n\n")
                && t.tok != Token::RBrace
            {
                out.push('\n');
            }
            out.push_str(&"    ".repeat(indent));
        } else {
            // Spacing between two tokens on one line.
            use Token::*;
            let p = prev.expect("a previous token on this line");
            let type_angle = matches!(t.tok, Lt) && !t.spaced;
            let space = match (&p, &t.tok) {
                (_, Semi | Comma | RParen | RBracket | Dot) => false,
                (Dot | LParen | LBracket, _) => false,
                (_, LParen) => {
                    is_binary(p) || matches!(p, If | Switch | Comma | Colon | Return | RParen)
                }
                (_, LBracket) => false,
                (_, Lt) if type_angle => false,
                (Lt, _) if !t.spaced && angle_depth > 0 => false,
                (_, Gt | GtJoined) if angle_depth > 0 && !t.spaced => false,
                (GtJoined, Gt) => false,
                (_, DotDot) | (DotDot, _) => false,
                (_, Colon) => ternaries > 0 && brackets == 0,
                (Colon, _) => !(brackets > 0 && ternaries == 0),
                (Bang | Tilde, _) => !before_operand(i.checked_sub(2).map(|q| &toks[q].tok)),
                // Prefix minus: after an operator, or after a cast's `)` when written `(T) -x`.
                (Minus, _)
                    if before_operand(i.checked_sub(2).map(|q| &toks[q].tok))
                        || (i >= 2
                            && toks[i - 2].tok == RParen
                            && toks[i - 1].spaced
                            && !t.spaced) =>
                {
                    false
                }
                // `import a.{x, y}` hugs its braces; other one-line braces breathe.
                (LBrace, _) => !(i >= 2 && toks[i - 2].tok == Dot),
                (_, RBrace) => !import_list,
                _ => true,
            };
            if space {
                out.push(' ');
            }
        }
        out.push_str(t.text);
        line_start = false;
        use Token::*;
        match &t.tok {
            LBrace => {
                import_list = prev == Some(&Dot);
                let inline_here = inline[i];
                braces.push(inline_here);
                lists.push(comma_list[i]);
                if !inline_here {
                    indent += 1;
                    newline(&mut out, &mut line_start);
                }
            }
            RBrace => {
                import_list = false;
                braces.pop();
                lists.pop();
                let next = toks.get(i + 1).map(|n| &n.tok);
                let keep_on_line = matches!(next, Some(Else | Semi | Comma | RParen))
                    || (braces.last().copied().unwrap_or(false));
                let inline_now = braces.last().copied().unwrap_or(false);
                if !keep_on_line && !inline_now {
                    newline(&mut out, &mut line_start);
                }
            }
            Semi if brackets == 0 && !in_inline => newline(&mut out, &mut line_start),
            Comma if brackets == 0 && lists.last().copied().unwrap_or(false) => {
                newline(&mut out, &mut line_start)
            }
            LParen | LBracket => brackets += 1,
            RParen | RBracket => brackets = brackets.saturating_sub(1),
            // An unspaced `<` opens type arguments (`bit<8>`); a spaced one compares.
            Lt if !t.spaced => angle_depth += 1,
            Gt if angle_depth > 0 && !t.spaced => angle_depth -= 1,
            GtJoined if angle_depth > 0 => angle_depth -= 1,
            Question => ternaries += 1,
            Colon if ternaries > 0 && brackets == 0 => ternaries -= 1,
            _ => {}
        }
    }
    for c in end_comments {
        if c.own_line || line_start {
            if !line_start {
                newline(&mut out, &mut line_start);
            }
            if c.blank_before && !out.ends_with("\n\n") {
                out.push('\n');
            }
        } else {
            out.push(' ');
        }
        out.push_str(c.text);
        newline(&mut out, &mut line_start);
    }
    if !line_start {
        newline(&mut out, &mut line_start);
    }
    Some(out)
}
