//! iov-lsp: the language server, spoken over stdio (`iov lsp`).
//!
//! Takes: documents from the editor (open, change, close) and requests about positions.
//! Gives: the same diagnostics as `iov check` (codes, spans, messages) on every change, hover
//! (expression types, header layouts with bit offsets, declarations), go to definition, find
//! references, signature help, rename (refused, with the reason, when it would change the program), document
//! and workspace symbols, completion, semantic tokens, folding ranges and formatting (the
//! formatter of `iov fmt`). It builds on the front end alone (iov-syntax,
//! iov-sema), never on code generation, so it builds and starts fast. Reading imported files
//! and writing the standard library's sources where an editor can open them is its only IO.

mod analysis;
mod complete;
mod position;
mod signature;
mod tokens;

use analysis::Analysis;
use std::collections::HashMap;
use std::sync::Mutex;
use tower_lsp_server::jsonrpc::Result;
use tower_lsp_server::lsp_types::*;
use tower_lsp_server::{Client, LanguageServer, LspService, Server, UriExt};

/// Makes the loader that finds imported files (the command line's file loader).
pub type MakeLoader = fn() -> Box<dyn iov_sema::Loader>;

pub struct Backend {
    client: Client,
    /// Open documents by URI, with their latest text.
    docs: Mutex<HashMap<Uri, String>>,
    make_loader: MakeLoader,
}

impl Backend {
    fn new(client: Client, make_loader: MakeLoader) -> Backend {
        Backend {
            client,
            docs: Mutex::new(HashMap::new()),
            make_loader,
        }
    }

    fn analyze(&self, uri: &Uri) -> Option<Analysis> {
        let text = self.docs.lock().ok()?.get(uri).cloned()?;
        let path = uri.to_file_path().map(|p| p.into_owned());
        Some(Analysis::new(
            path.as_deref(),
            &text,
            &mut *(self.make_loader)(),
        ))
    }

    async fn publish(&self, uri: Uri) {
        let Some(diags) = isolated("diagnostics", || {
            self.analyze(&uri).map(|a| a.diagnostics(&uri))
        }) else {
            return;
        };
        self.client.publish_diagnostics(uri, diags, None).await;
    }
}

impl LanguageServer for Backend {
    async fn initialize(&self, _: InitializeParams) -> Result<InitializeResult> {
        Ok(InitializeResult {
            server_info: Some(ServerInfo {
                name: "iov".into(),
                version: Some(env!("CARGO_PKG_VERSION").into()),
            }),
            capabilities: ServerCapabilities {
                text_document_sync: Some(TextDocumentSyncCapability::Kind(
                    TextDocumentSyncKind::FULL,
                )),
                hover_provider: Some(HoverProviderCapability::Simple(true)),
                definition_provider: Some(OneOf::Left(true)),
                references_provider: Some(OneOf::Left(true)),
                document_symbol_provider: Some(OneOf::Left(true)),
                document_formatting_provider: Some(OneOf::Left(true)),
                rename_provider: Some(OneOf::Left(true)),
                signature_help_provider: Some(SignatureHelpOptions {
                    trigger_characters: Some(vec!["(".into(), ",".into()]),
                    ..SignatureHelpOptions::default()
                }),
                workspace_symbol_provider: Some(OneOf::Left(true)),
                folding_range_provider: Some(FoldingRangeProviderCapability::Simple(true)),
                semantic_tokens_provider: Some(
                    SemanticTokensServerCapabilities::SemanticTokensOptions(
                        SemanticTokensOptions {
                            legend: SemanticTokensLegend {
                                token_types: tokens::LEGEND.to_vec(),
                                token_modifiers: vec![],
                            },
                            full: Some(SemanticTokensFullOptions::Bool(true)),
                            ..SemanticTokensOptions::default()
                        },
                    ),
                ),
                completion_provider: Some(CompletionOptions {
                    trigger_characters: Some(vec![".".into(), ":".into(), " ".into()]),
                    ..CompletionOptions::default()
                }),
                ..ServerCapabilities::default()
            },
        })
    }

    async fn shutdown(&self) -> Result<()> {
        Ok(())
    }

    async fn did_open(&self, params: DidOpenTextDocumentParams) {
        let uri = params.text_document.uri;
        if let Ok(mut docs) = self.docs.lock() {
            docs.insert(uri.clone(), params.text_document.text);
        }
        self.publish(uri).await;
    }

    async fn did_change(&self, params: DidChangeTextDocumentParams) {
        let uri = params.text_document.uri;
        // Full synchronisation: the last change holds the whole text.
        if let (Some(change), Ok(mut docs)) =
            (params.content_changes.into_iter().last(), self.docs.lock())
        {
            docs.insert(uri.clone(), change.text);
        }
        self.publish(uri).await;
    }

    async fn did_close(&self, params: DidCloseTextDocumentParams) {
        let uri = params.text_document.uri;
        if let Ok(mut docs) = self.docs.lock() {
            docs.remove(&uri);
        }
        self.client.publish_diagnostics(uri, Vec::new(), None).await;
    }

    async fn hover(&self, params: HoverParams) -> Result<Option<Hover>> {
        let pos = params.text_document_position_params;
        Ok(isolated("hover", || {
            self.analyze(&pos.text_document.uri)
                .and_then(|a| a.hover(pos.position))
        }))
    }

    async fn goto_definition(
        &self,
        params: GotoDefinitionParams,
    ) -> Result<Option<GotoDefinitionResponse>> {
        let pos = params.text_document_position_params;
        Ok(isolated("definition", || {
            self.analyze(&pos.text_document.uri)
                .and_then(|a| a.definition(&pos.text_document.uri, pos.position))
                .map(GotoDefinitionResponse::Scalar)
        }))
    }

    async fn references(&self, params: ReferenceParams) -> Result<Option<Vec<Location>>> {
        let pos = params.text_document_position;
        Ok(isolated("references", || {
            self.analyze(&pos.text_document.uri).map(|a| {
                a.references(
                    &pos.text_document.uri,
                    pos.position,
                    params.context.include_declaration,
                )
            })
        }))
    }

    async fn completion(&self, params: CompletionParams) -> Result<Option<CompletionResponse>> {
        let pos = params.text_document_position;
        Ok(isolated("completion", || {
            self.analyze(&pos.text_document.uri)
                .map(|a| CompletionResponse::Array(a.completion(pos.position)))
        }))
    }

    async fn formatting(&self, params: DocumentFormattingParams) -> Result<Option<Vec<TextEdit>>> {
        let Some(text) = self
            .docs
            .lock()
            .ok()
            .and_then(|d| d.get(&params.text_document.uri).cloned())
        else {
            return Ok(None);
        };
        // The same formatter as `iov fmt`: one edit replacing the whole document.
        Ok(isolated("formatting", || {
            iov_syntax::format::format(&text)
                .filter(|f| *f != text)
                .map(|f| {
                    let end = position::position(&text, text.len());
                    vec![TextEdit::new(Range::new(Position::new(0, 0), end), f)]
                })
        }))
    }

    async fn semantic_tokens_full(
        &self,
        params: SemanticTokensParams,
    ) -> Result<Option<SemanticTokensResult>> {
        Ok(isolated("semantic tokens", || {
            self.analyze(&params.text_document.uri).map(|a| {
                SemanticTokensResult::Tokens(SemanticTokens {
                    result_id: None,
                    data: a.semantic_tokens(),
                })
            })
        }))
    }

    async fn folding_range(&self, params: FoldingRangeParams) -> Result<Option<Vec<FoldingRange>>> {
        Ok(isolated("folding", || {
            self.analyze(&params.text_document.uri)
                .map(|a| a.folding_ranges())
        }))
    }

    async fn signature_help(&self, params: SignatureHelpParams) -> Result<Option<SignatureHelp>> {
        let pos = params.text_document_position_params;
        Ok(isolated("signature help", || {
            self.analyze(&pos.text_document.uri)
                .and_then(|a| a.signature_help(pos.position))
        }))
    }

    async fn rename(&self, params: RenameParams) -> Result<Option<WorkspaceEdit>> {
        let pos = params.text_document_position;
        let renamed = isolated("rename", || {
            self.analyze(&pos.text_document.uri)
                .map(|a| a.rename(&pos.text_document.uri, pos.position, &params.new_name))
        });
        match renamed {
            None => Ok(None),
            Some(r) => r
                .map(Some)
                .map_err(tower_lsp_server::jsonrpc::Error::invalid_params),
        }
    }

    async fn symbol(
        &self,
        params: WorkspaceSymbolParams,
    ) -> Result<Option<OneOf<Vec<SymbolInformation>, Vec<WorkspaceSymbol>>>> {
        let query = params.query.to_lowercase();
        let uris: Vec<Uri> = self
            .docs
            .lock()
            .map(|d| d.keys().cloned().collect())
            .unwrap_or_default();
        let mut found = Vec::new();
        for uri in uris {
            let Some(mut stack) = isolated("workspace symbols", || {
                self.analyze(&uri).map(|a| a.symbols())
            }) else {
                continue;
            };
            while let Some(s) = stack.pop() {
                if s.name.to_lowercase().contains(&query) {
                    found.push(WorkspaceSymbol {
                        name: s.name.clone(),
                        kind: s.kind,
                        tags: None,
                        container_name: None,
                        location: OneOf::Left(Location::new(uri.clone(), s.selection_range)),
                        data: None,
                    });
                }
                stack.extend(s.children.unwrap_or_default());
            }
        }
        found.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(Some(OneOf::Right(found)))
    }

    async fn document_symbol(
        &self,
        params: DocumentSymbolParams,
    ) -> Result<Option<DocumentSymbolResponse>> {
        Ok(isolated("document symbols", || {
            self.analyze(&params.text_document.uri)
                .map(|a| DocumentSymbolResponse::Nested(a.symbols()))
        }))
    }
}

/// Runs one request's work; a panic in it (a bug) is reported on stderr, the request gets
/// an empty answer, and the server goes on serving: an editor must never lose its server.
fn isolated<T: Default>(what: &str, f: impl FnOnce() -> T) -> T {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).unwrap_or_else(|_| {
        eprintln!("iov lsp: {what} failed on an internal error; the answer is empty");
        T::default()
    })
}

/// Serves the language server on stdin and stdout until the editor exits.
pub async fn serve_stdio(make_loader: MakeLoader) {
    let (service, socket) = LspService::new(move |client| Backend::new(client, make_loader));
    Server::new(tokio::io::stdin(), tokio::io::stdout(), socket)
        .serve(service)
        .await;
}
