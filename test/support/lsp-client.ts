import { build } from "esbuild"
import { spawn, type ChildProcess } from "node:child_process"
import { mkdirSync } from "node:fs"
import { join } from "node:path"
import { createMessageConnection, StreamMessageReader, StreamMessageWriter, type MessageConnection } from "vscode-jsonrpc/node.js"
import {
  DidChangeTextDocumentNotification,
  DidOpenTextDocumentNotification,
  ExitNotification,
  InitializedNotification,
  InitializeRequest,
  LogMessageNotification,
  PublishDiagnosticsNotification,
  ShutdownRequest,
  type InitializeResult,
  type PublishDiagnosticsParams,
  type Range
} from "vscode-languageserver-protocol"
import { TextDocument } from "vscode-languageserver-textdocument"
import { nodeBundleOptions } from "./node-bundle.mjs"
import { repoRoot } from "./workspace.ts"

/*
 * A real LSP client for the tests: the server runs as a child process (`node <bundle> --stdio`)
 * and this side speaks JSON-RPC to it over its stdin/stdout. The server entry is bundled once
 * with esbuild (as the CLI is): through tsx, loading the compiler's modules takes seconds.
 */

const bundleDir = join(repoRoot, "node_modules", ".cache", "ccat-tests")

/**
 * Bundles a language server's entry (default `src/lsp/stdio-main.ts`; the crash tests give one
 * with a faulty compiler) and returns the bundle's path.
 */
export const bundleServer = async (entry: string = join(repoRoot, "src", "lsp", "stdio-main.ts"), name = "lsp-server"): Promise<string> => {
  mkdirSync(bundleDir, { recursive: true })
  const outfile = join(bundleDir, `${name}-${process.pid}.mjs`)
  await build(nodeBundleOptions(entry, outfile))
  return outfile
}

export interface StartOptions {
  readonly rootUri: string | null
  readonly debounceMs?: number
}

export class LspClient {
  /** The latest diagnostics published per URI. */
  readonly diagnostics = new Map<string, PublishDiagnosticsParams>()
  /** Everything the server logged (window/logMessage) and wrote to stderr. */
  readonly logs: Array<string> = []
  private readonly docs = new Map<string, TextDocument>()
  private waiters: Array<() => void> = []
  exitCode: number | null | undefined = undefined

  private constructor(
    readonly child: ChildProcess,
    readonly connection: MessageConnection
  ) {
    connection.onNotification(PublishDiagnosticsNotification.type, (params) => {
      this.diagnostics.set(params.uri, params)
      this.notify()
    })
    connection.onNotification(LogMessageNotification.type, (params) => this.logs.push(params.message))
    // The server asks to register file watchers; accept.
    connection.onRequest("client/registerCapability", () => null)
    connection.onRequest("workspace/configuration", () => [])
    child.stderr?.on("data", (chunk: Buffer) => this.logs.push(chunk.toString()))
    child.on("exit", (code) => {
      this.exitCode = code
      this.notify()
    })
  }

  static async start(bundle: string, options: StartOptions): Promise<{ client: LspClient; initialize: InitializeResult }> {
    const child = spawn(process.execPath, [bundle, "--stdio"], { stdio: ["pipe", "pipe", "pipe"] })
    const connection = createMessageConnection(new StreamMessageReader(child.stdout), new StreamMessageWriter(child.stdin))
    const client = new LspClient(child, connection)
    connection.listen()
    const initialize = await connection.sendRequest(InitializeRequest.type, {
      processId: process.pid,
      rootUri: options.rootUri,
      capabilities: {},
      workspaceFolders: options.rootUri === null ? null : [{ uri: options.rootUri, name: "workspace" }],
      initializationOptions: options.debounceMs === undefined ? undefined : { debounceMs: options.debounceMs }
    })
    await connection.sendNotification(InitializedNotification.type, {})
    return { client, initialize }
  }

  private notify(): void {
    const waiters = this.waiters
    this.waiters = []
    for (const w of waiters) w()
  }

  /** Waits until the latest diagnostics of `uri` satisfy `predicate`. */
  async waitForDiagnostics(
    uri: string,
    predicate: (p: PublishDiagnosticsParams) => boolean = () => true,
    timeoutMs = 10_000
  ): Promise<PublishDiagnosticsParams> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const latest = this.diagnostics.get(uri)
      if (latest !== undefined && predicate(latest)) return latest
      if (this.exitCode !== undefined) throw new Error(`the server exited (${this.exitCode}): ${this.logs.join("\n")}`)
      const left = deadline - Date.now()
      if (left <= 0) throw new Error(`no matching diagnostics for ${uri}; latest: ${JSON.stringify(latest)}`)
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left)
        this.waiters.push(() => {
          clearTimeout(timer)
          resolve()
        })
      })
    }
  }

  /** Waits for the diagnostics of the document's current version. */
  waitForVersion(uri: string, timeoutMs?: number): Promise<PublishDiagnosticsParams> {
    const version = this.document(uri).version
    return this.waitForDiagnostics(uri, (p) => p.version === version, timeoutMs)
  }

  document(uri: string): TextDocument {
    const doc = this.docs.get(uri)
    if (doc === undefined) throw new Error(`${uri} is not open`)
    return doc
  }

  async open(uri: string, text: string): Promise<void> {
    this.docs.set(uri, TextDocument.create(uri, "ccat", 1, text))
    await this.connection.sendNotification(DidOpenTextDocumentNotification.type, {
      textDocument: { uri, languageId: "ccat", version: 1, text }
    })
  }

  /** Replaces the whole text. */
  async replace(uri: string, text: string): Promise<void> {
    const doc = this.document(uri)
    const version = doc.version + 1
    this.docs.set(uri, TextDocument.update(doc, [{ text }], version))
    await this.connection.sendNotification(DidChangeTextDocumentNotification.type, {
      textDocument: { uri, version },
      contentChanges: [{ text }]
    })
  }

  /** An incremental edit: replace `range` by `text`. */
  async edit(uri: string, range: Range, text: string): Promise<void> {
    const doc = this.document(uri)
    const version = doc.version + 1
    this.docs.set(uri, TextDocument.update(doc, [{ range, text }], version))
    await this.connection.sendNotification(DidChangeTextDocumentNotification.type, {
      textDocument: { uri, version },
      contentChanges: [{ range, text }]
    })
  }

  /** The position of the `n`th occurrence of `needle` in the open document (plus `delta` characters). */
  positionOf(uri: string, needle: string, delta = 0, n = 0): { line: number; character: number } {
    const text = this.document(uri).getText()
    let index = -1
    for (let i = 0; i <= n; i++) {
      index = text.indexOf(needle, index + 1)
      if (index < 0) throw new Error(`\`${needle}\` (#${n}) not found in ${uri}`)
    }
    return this.document(uri).positionAt(index + delta)
  }

  async stop(): Promise<void> {
    if (this.exitCode === undefined) {
      try {
        await this.connection.sendRequest(ShutdownRequest.type)
        await this.connection.sendNotification(ExitNotification.type)
      } catch {
        // Already gone.
      }
      await new Promise<void>((resolve) => {
        if (this.exitCode !== undefined) return resolve()
        const timer = setTimeout(() => {
          this.child.kill()
          resolve()
        }, 2_000)
        this.child.once("exit", () => {
          clearTimeout(timer)
          resolve()
        })
      })
    }
    this.connection.dispose()
  }
}
