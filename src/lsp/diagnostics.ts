import {
  DiagnosticSeverity,
  type Connection,
  type Diagnostic as LspDiagnostic,
  type DiagnosticRelatedInformation
} from "vscode-languageserver"
import type { Diagnostic } from "../compiler/diagnostics.ts"
import { spanToRange } from "./positions.ts"
import type { Snapshot } from "./workspace-state.ts"

/*
 * Compiler diagnostics as LSP diagnostics: the same codes as `ccat check`, `source: "ccat"`,
 * related spans as related information, help and notes appended to the message (editors show
 * the message in full; related information needs a place to point at).
 */

export const toLspDiagnostic = (d: Diagnostic, snapshot: Snapshot, uriOf: (path: string) => string): LspDiagnostic | undefined => {
  const doc = snapshot.docs.get(d.span.file)
  if (doc === undefined) return undefined
  const extra = [...(d.label === undefined ? [] : [d.label]).filter((l) => !d.message.includes(l)).map((l) => `(${l})`)]
  const lines = [
    d.message + (extra.length > 0 ? ` ${extra.join(" ")}` : ""),
    ...d.help.map((h) => `help: ${h}`),
    ...d.notes.map((n) => `note: ${n}`)
  ]
  const related: Array<DiagnosticRelatedInformation> = []
  for (const r of d.related) {
    const relatedDoc = snapshot.docs.get(r.span.file)
    if (relatedDoc === undefined) continue
    related.push({ location: { uri: uriOf(r.span.file), range: spanToRange(relatedDoc, r.span) }, message: r.message })
  }
  return {
    range: spanToRange(doc, d.span),
    severity: d.severity === "error" ? DiagnosticSeverity.Error : DiagnosticSeverity.Warning,
    code: d.code,
    source: "ccat",
    message: lines.join("\n"),
    ...(related.length > 0 ? { relatedInformation: related } : {})
  }
}

/** LSP diagnostics of every file of a snapshot (files without problems map to `[]`). */
export const diagnosticsByPath = (snapshot: Snapshot, uriOf: (path: string) => string): Map<string, Array<LspDiagnostic>> => {
  const byPath = new Map<string, Array<LspDiagnostic>>([...snapshot.docs.keys()].map((p) => [p, []]))
  for (const d of snapshot.result.diagnostics) {
    const lsp = toLspDiagnostic(d, snapshot, uriOf)
    if (lsp !== undefined) byPath.get(d.span.file)?.push(lsp)
  }
  return byPath
}

/**
 * Publishes after each compilation: every file whose diagnostics (or open version) changed, and
 * an empty list for files that left the workspace, so nothing stale stays in the editor.
 */
export class DiagnosticsPublisher {
  private readonly published = new Map<string, string>()

  constructor(
    private readonly connection: Connection,
    private readonly uriOf: (path: string) => string,
    private readonly log: (message: string) => void = () => undefined
  ) {}

  private send(params: { uri: string; diagnostics: Array<LspDiagnostic>; version?: number }): void {
    this.connection
      .sendDiagnostics(params)
      .then(undefined, (error: unknown) => this.log(`ccat: cannot publish diagnostics: ${String(error)}`))
  }

  publish(snapshot: Snapshot): void {
    const byPath = diagnosticsByPath(snapshot, this.uriOf)
    const seen = new Set<string>()
    for (const [path, diagnostics] of byPath) {
      const uri = this.uriOf(path)
      seen.add(uri)
      const version = snapshot.versions.get(path) ?? null
      const key = JSON.stringify([version, diagnostics])
      if (this.published.get(uri) === key) continue
      this.published.set(uri, key)
      this.send({ uri, diagnostics, ...(version === null ? {} : { version }) })
    }
    for (const uri of [...this.published.keys()]) {
      if (seen.has(uri)) continue
      this.published.delete(uri)
      this.send({ uri, diagnostics: [] })
    }
  }
}
