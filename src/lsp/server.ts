import {
  CodeActionKind,
  MarkupContent,
  DidChangeWatchedFilesNotification,
  FileChangeType,
  TextDocumentSyncKind,
  TextDocuments,
  type Connection,
  type InitializeResult
} from "vscode-languageserver"
import { TextDocument } from "vscode-languageserver-textdocument"
import { fileURLToPath } from "node:url"
import type { compileSources } from "../compiler/compile.ts"
import { codeActions } from "./code-actions.ts"
import { candidates } from "./completion.ts"
import { completionContext } from "./completion-context.ts"
import { semanticTokens, semanticTokensLegend } from "./semantic-tokens.ts"
import { DiagnosticsPublisher } from "./diagnostics.ts"
import { formatDocument } from "./formatting.ts"
import { hover, hoveredGrouping } from "./hover.ts"
import { groupingHoverLine, hasLiveValues, liveDataFromEnvironment, type LiveData } from "./live-data.ts"
import { definition, prepareRename, references, rename } from "./navigation.ts"
import { positionToOffset } from "./positions.ts"
import { documentSymbols, foldingRanges, workspaceSymbols } from "./symbols.ts"
import { isCcatUri, WorkspaceState } from "./workspace-state.ts"
import { ccatVersion } from "../version.ts"

/*
 * The `.ccat` language server. Every feature reads the compiler's result for the whole
 * workspace; nothing here parses. Every handler is guarded: a failure is logged to the client's
 * output and answered with an empty result, never a crash.
 */

export interface ServerOptions {
  /** Delay between an edit and the recompilation it causes (default 50 ms). */
  readonly debounceMs?: number
  /** Live data from the ops database (default: as configured by the environment). */
  readonly liveData?: LiveData
  /**
   * The compiler (default: `compileSources`). The crash tests give one that throws, to check
   * that a compiler bug leaves the server up and says so in the editor.
   */
  readonly compile?: typeof compileSources
}

export interface RunningServer {
  readonly state: WorkspaceState
  /** Resolves when the client sends `exit` or the connection closes. */
  readonly closed: Promise<void>
}

export const defaultDebounceMs = 50

const rootsOf = (params: {
  workspaceFolders?: ReadonlyArray<{ uri: string }> | null
  rootUri?: string | null
  rootPath?: string | null
}): Array<string> => {
  const uris = params.workspaceFolders?.map((f) => f.uri) ?? (params.rootUri ? [params.rootUri] : [])
  const roots = uris.flatMap((uri) => {
    try {
      return uri.startsWith("file:") ? [fileURLToPath(uri)] : []
    } catch {
      return []
    }
  })
  if (roots.length === 0 && typeof params.rootPath === "string" && params.rootPath !== "") roots.push(params.rootPath)
  return roots
}

export const startServer = (connection: Connection, options: ServerOptions = {}): RunningServer => {
  const documents = new TextDocuments(TextDocument)
  const log = (message: string): void => {
    try {
      connection.console.error(message)
    } catch {
      // The connection is gone: nobody to tell.
    }
  }
  // Each needs the other, through closures called only after both exist (on a compile, on a publish).
  const publisher = new DiagnosticsPublisher(connection, (path) => state.uriOf(path), log)
  const state: WorkspaceState = new WorkspaceState(documents, {
    debounceMs: options.debounceMs ?? defaultDebounceMs,
    onCompiled: (snapshot) => publisher.publish(snapshot),
    log,
    ...(options.compile === undefined ? {} : { compile: options.compile })
  })
  let roots: Array<string> = []

  /** Wraps a handler: exceptions are logged and answered with `empty`. */
  const guard =
    <P, R>(name: string, empty: R, handler: (params: P) => R) =>
    (params: P): R => {
      try {
        return handler(params)
      } catch (error) {
        log(`ccat: ${name} failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`)
        return empty
      }
    }

  // --- live data: hover counts and column values (src/lsp/live-data.ts) ---
  // Created now, connects on first use; every call answers within ~1 s, undefined without a database.
  const liveData: LiveData = options.liveData ?? liveDataFromEnvironment(log)
  /** Like `guard`, for handlers that wait for live data. */
  const guardAsync =
    <P, R>(name: string, empty: R, handler: (params: P) => Promise<R>) =>
    async (params: P): Promise<R> => {
      try {
        return await handler(params)
      } catch (error) {
        log(`ccat: ${name} failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`)
        return empty
      }
    }
  // --- end live data ---

  /** The current compilation and the compiler's path of a document. */
  const at = (uri: string) => ({ snapshot: state.current(), path: state.pathOf(uri) })
  const offsetIn = (
    snapshot: ReturnType<WorkspaceState["current"]>,
    path: string,
    position: { line: number; character: number }
  ): number | undefined => {
    const doc = snapshot.docs.get(path)
    return doc === undefined ? undefined : positionToOffset(doc, position)
  }
  const uriOf = (path: string): string => state.uriOf(path)

  connection.onInitialize(
    guard("initialize", { capabilities: {} } as InitializeResult, (params): InitializeResult => {
      const debounce = (params.initializationOptions as { debounceMs?: unknown } | undefined)?.debounceMs
      if (typeof debounce === "number" && debounce >= 0) state.setDebounce(debounce)
      roots = rootsOf(params)
      state.loadRoots(roots)
      return {
        capabilities: {
          textDocumentSync: { openClose: true, change: TextDocumentSyncKind.Incremental, save: { includeText: false } },
          hoverProvider: true,
          definitionProvider: true,
          referencesProvider: true,
          renameProvider: { prepareProvider: true },
          documentSymbolProvider: true,
          workspaceSymbolProvider: true,
          foldingRangeProvider: true,
          documentFormattingProvider: true,
          codeActionProvider: { codeActionKinds: [CodeActionKind.QuickFix] },
          completionProvider: { triggerCharacters: [".", " ", "(", "^", "~", "=", ","] },
          semanticTokensProvider: { legend: semanticTokensLegend, full: true }
        },
        serverInfo: { name: "ccat", version: ccatVersion }
      }
    })
  )

  connection.onInitialized(() => {
    try {
      // Ask for file events when the client can send them (files changed outside the editor).
      void connection.client
        .register(DidChangeWatchedFilesNotification.type, { watchers: [{ globPattern: "**/*.ccat" }] })
        .then(undefined, () => undefined)
    } catch (error) {
      log(`ccat: cannot watch files: ${String(error)}`)
    }
  })

  documents.onDidChangeContent(() => state.changed())
  documents.onDidClose(() => state.changed())
  documents.onDidSave((event) => {
    try {
      const path = state.pathOf(event.document.uri)
      if (event.document.uri.startsWith("file:") && roots.some((r) => path.startsWith(r))) state.diskChanged(event.document.uri, false)
    } catch (error) {
      log(`ccat: save failed: ${String(error)}`)
    }
  })
  connection.onDidChangeWatchedFiles((params) => {
    try {
      for (const change of params.changes) {
        if (isCcatUri(change.uri)) state.diskChanged(change.uri, change.type === FileChangeType.Deleted)
      }
    } catch (error) {
      log(`ccat: file change failed: ${String(error)}`)
    }
  })

  connection.onHover(
    guardAsync("hover", null, async (params) => {
      const { snapshot, path } = at(params.textDocument.uri)
      const offset = offsetIn(snapshot, path, params.position)
      const result = offset === undefined ? null : hover(snapshot, path, offset)
      // Live data: on a grouping's name, how much it selects right now (when the database answers in time).
      const grouping = result === null || offset === undefined ? undefined : hoveredGrouping(snapshot, path, offset)
      if (result === null || grouping === undefined || !MarkupContent.is(result.contents)) return result
      const line = await groupingHoverLine(liveData, snapshot.result.ir, grouping)
      return line === undefined ? result : { ...result, contents: { ...result.contents, value: `${result.contents.value}\n\n${line}` } }
    })
  )
  connection.onDefinition(
    guard("definition", [], (params) => {
      const { snapshot, path } = at(params.textDocument.uri)
      const offset = offsetIn(snapshot, path, params.position)
      return offset === undefined ? [] : definition(snapshot, uriOf, path, offset)
    })
  )
  connection.onReferences(
    guard("references", [], (params) => {
      const { snapshot, path } = at(params.textDocument.uri)
      const offset = offsetIn(snapshot, path, params.position)
      return offset === undefined ? [] : references(snapshot, uriOf, path, offset, params.context.includeDeclaration)
    })
  )
  connection.onPrepareRename(
    guard("prepareRename", null, (params) => {
      const { snapshot, path } = at(params.textDocument.uri)
      const offset = offsetIn(snapshot, path, params.position)
      return offset === undefined ? null : prepareRename(snapshot, path, offset)
    })
  )
  connection.onRenameRequest(
    guard("rename", null, (params) => {
      const { snapshot, path } = at(params.textDocument.uri)
      const offset = offsetIn(snapshot, path, params.position)
      return offset === undefined ? null : rename(snapshot, uriOf, path, offset, params.newName)
    })
  )
  connection.onDocumentSymbol(
    guard("documentSymbol", [], (params) => {
      const { snapshot, path } = at(params.textDocument.uri)
      return documentSymbols(snapshot, path)
    })
  )
  connection.onWorkspaceSymbol(guard("workspaceSymbol", [], (params) => workspaceSymbols(state.current(), uriOf, params.query)))
  connection.onFoldingRanges(
    guard("foldingRange", [], (params) => {
      const { snapshot, path } = at(params.textDocument.uri)
      return foldingRanges(snapshot, path)
    })
  )
  connection.onDocumentFormatting(
    guard("formatting", [], (params) => {
      const doc = documents.get(params.textDocument.uri)
      return doc === undefined ? [] : formatDocument(doc)
    })
  )
  connection.onCodeAction(
    guard("codeAction", [], (params) => {
      const { snapshot, path } = at(params.textDocument.uri)
      return codeActions(snapshot, uriOf, path, params.range)
    })
  )

  connection.onCompletion(
    guardAsync("completion", [], async (params) => {
      const doc = documents.get(params.textDocument.uri)
      if (doc === undefined) return []
      const input = {
        text: doc.getText(),
        offset: doc.offsetAt(params.position),
        workspace: state.current().result,
        uri: params.textDocument.uri
      }
      // Live data: after `Table.column ==` / `in (` on a string column, wait (≤ 1 s, then cached) for the values in the database.
      const slot = completionContext(input.text, input.offset)
      if (slot.kind !== "enumValue" || !hasLiveValues(slot.table, slot.column)) return candidates(slot, input)
      const values = (await liveData.columnValues(slot.table, slot.column)) ?? []
      return candidates(slot, { ...input, liveValues: (table, column) => (table === slot.table && column === slot.column ? values : []) })
    })
  )
  connection.languages.semanticTokens.on(
    guard("semanticTokens", { data: [] }, (params) => {
      const doc = documents.get(params.textDocument.uri)
      return { data: doc === undefined ? [] : semanticTokens(doc.getText()) }
    })
  )

  const closed = new Promise<void>((resolve) => {
    connection.onExit(() => {
      state.dispose()
      resolve()
    })
    connection.onShutdown(() => {
      state.dispose()
      // Not awaited (shutdown answers at once), but never left to reject unhandled: that ends the process.
      liveData.dispose().then(undefined, (error: unknown) => log(`ccat: closing live data failed: ${String(error)}`))
    })
  })

  documents.listen(connection)
  connection.listen()
  return { state, closed }
}
