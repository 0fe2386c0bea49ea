//! The registry of diagnostic codes. A code, once published, keeps its meaning forever;
//! every code has a page `docs/errors/<CODE>.md` and at least one fixture under
//! `tests/fixtures/` (the tidy test checks both).

use crate::Severity;

macro_rules! codes {
    ($($name:ident: $title:literal,)*) => {
        /// A stable diagnostic code. `E` codes are errors, `W` codes warnings.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Code { $($name,)* }

        impl Code {
            pub const ALL: &'static [Code] = &[$(Code::$name,)*];

            pub fn as_str(self) -> &'static str {
                match self { $(Code::$name => stringify!($name),)* }
            }

            /// A one-line summary of what the code means.
            pub fn title(self) -> &'static str {
                match self { $(Code::$name => $title,)* }
            }
        }
    };
}

codes! {
    // Lexing and parsing.
    E0001: "syntax error",
    E0002: "invalid character or unterminated token",
    E0003: "invalid literal",
    // Names and imports.
    E0100: "unknown name",
    E0101: "duplicate definition",
    E0102: "unknown module in import",
    E0103: "name not found in imported module",
    E0104: "unknown field or member",
    E0105: "unknown parser state",
    E0107: "name used as the wrong kind of thing",
    // Types and expressions.
    E0200: "type mismatch",
    E0201: "implicit width change",
    E0202: "literal does not fit its type",
    E0203: "invalid cast",
    E0204: "arithmetic wider than 64 bits",
    E0205: "wrong number of arguments",
    E0206: "not callable",
    E0207: "assignment to read-only data",
    E0208: "extract into a non-header",
    E0209: "condition is not bool",
    E0210: "invalid bit width",
    E0211: "not assignable",
    E0212: "operator not defined for this type",
    E0213: "bit slice out of range",
    E0214: "invalid type for this position",
    E0215: "a struct contains itself",
    E0216: "value not known at compile time",
    E0217: "constant too large for 128 bits",
    E0218: "reserved name",
    // Parsers.
    E0300: "parser state never reaches accept or reject",
    E0301: "parser loop the verifier cannot bound",
    E0302: "select case does not match the select expression",
    E0303: "parser has no start state",
    E0304: "reserved state name",
    // Tables and actions.
    E0400: "default action not in the table's actions",
    E0401: "entry value does not fit the key",
    E0402: "match kind cannot serve the key's type",
    E0403: "unknown match kind",
    E0404: "action not in the table's actions",
    E0405: "invalid table key",
    E0406: "invalid control-plane parameter type",
    E0407: "more than one lpm key",
    E0408: "entry has the wrong number of keys",
    E0409: "bad action arguments",
    E0410: "invalid or duplicate table property",
    E0411: "table without actions",
    E0412: "size the kernel cannot allocate",
    E0413: "entry added from the data plane where it cannot be",
    E0414: "direct meter executed where no entry of its table runs",
    // Controls and statements.
    E0500: "recursive action calls",
    E0501: "table applied inside an action",
    E0502: "statement not allowed here",
    E0503: "switch case does not name an action of the table",
    E0504: "table applied more than once",
    E0505: "operation the hook cannot perform",
    // The program's entry.
    E0600: "program has no entry",
    E0601: "entry blocks do not fit the hook",
    E0602: "more than one entry",
    // Code generation and loading.
    E0700: "not supported by code generation yet",
    E0701: "the kernel verifier rejected the program",
    E0702: "the program needs more stack than the kernel allows",
    // Warnings.
    W0001: "unreachable parser state",
    W0002: "header extracted but never emitted",
}

impl Code {
    pub fn severity(self) -> Severity {
        if self.as_str().starts_with('W') {
            Severity::Warning
        } else {
            Severity::Error
        }
    }

    pub fn parse(s: &str) -> Option<Code> {
        Code::ALL
            .iter()
            .copied()
            .find(|c| c.as_str().eq_ignore_ascii_case(s))
    }
}

impl std::fmt::Display for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
