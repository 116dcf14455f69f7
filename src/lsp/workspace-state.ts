import { readdirSync, readFileSync, statSync } from "node:fs"
import { join } from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"
import type { TextDocuments } from "vscode-languageserver"
import { TextDocument } from "vscode-languageserver-textdocument"
import {
  compileSources,
  sourceFromBytes,
  type CachedParse,
  type CompileResult,
  type NotText,
  type SourceInput
} from "../compiler/compile.ts"
import { describeFailure, detachedDiagnostics, failedSnapshot, uncheckedFiles, type LastGood } from "./compiler-failure.ts"
import { IncrementalParser } from "./incremental-parse.ts"

/*
 * What the server knows: the open documents, the other `.ccat` files of the workspace folders
 * (read from disk), and the last compilation of all of them together, as `ccat check <folder>`
 * compiles them. A request that needs fresh results (hover, rename, ...) compiles at once if
 * something changed since.
 *
 * When a change compiles (an editor sends one per keystroke): a change after a pause compiles
 * at once, so a keystroke's diagnostics take only the compilation; a change within `debounceMs`
 * of the previous one, or while the previous one is still unanswered, is part of a burst and
 * compiles once the burst pauses for `debounceMs`, so fast typing (or key repeat) does not
 * compile on every keystroke. Diagnostics are published on the next turn of the event loop,
 * and not at all when a newer change has arrived by then: they would already be stale, and the
 * newer change's compilation publishes.
 *
 * When the compiler throws (a bug in ccat), the server stays up: requests read the last good
 * compilation, and the editor gets its diagnostics plus one per file that could not be checked
 * (src/lsp/compiler-failure.ts).
 */

/** One compilation and the exact texts it saw: spans convert to positions through these. */
export interface Snapshot {
  readonly result: CompileResult
  /** Path → a document holding the compiled text (the open document's version, or the disk text). */
  readonly docs: ReadonlyMap<string, TextDocument>
  /** Path → the open document's version, `null` for files read from disk. */
  readonly versions: ReadonlyMap<string, number | null>
}

export interface WorkspaceStateOptions {
  /** Within a burst of changes, the pause that ends it and compiles (0: every change compiles at once). */
  readonly debounceMs: number
  /** Called after a compilation (debounced or forced) whose texts are still current. */
  readonly onCompiled: (snapshot: Snapshot) => void
  readonly log: (message: string) => void
  /** The compiler (default: `compileSources`); the crash tests give one that throws. */
  readonly compile?: typeof compileSources
}

const skipped = (name: string): boolean => name.startsWith(".") || name === "node_modules"

/** Every `.ccat` file under `root`, as `ccat check <folder>` finds them. */
export const listCcatFiles = (root: string): Array<string> => {
  const found: Array<string> = []
  const walk = (dir: string): void => {
    let entries: Array<string>
    try {
      entries = readdirSync(dir).sort()
    } catch {
      return
    }
    for (const name of entries) {
      if (skipped(name)) continue
      const full = join(dir, name)
      try {
        const info = statSync(full)
        if (info.isDirectory()) walk(full)
        else if (name.endsWith(".ccat")) found.push(full)
      } catch {
        // Vanished or unreadable: not part of the workspace.
      }
    }
  }
  walk(root)
  return found
}

export const isCcatUri = (uri: string): boolean => uri.endsWith(".ccat")

export class WorkspaceState {
  // As `ccat check` reads them: a file that is not UTF-8 text is one E104, not thousands of errors.
  private readonly disk = new Map<string, SourceInput>()
  private readonly uriByPath = new Map<string, string>()
  // An edit re-parses only the file it touched; the others' ASTs are reused.
  private readonly parseCache = new Map<string, CachedParse>()
  // ... and within that file, only the declarations it touched. The pieces it moves move in
  // place, so a snapshot is only read until the next compilation replaces it.
  private readonly parser = new IncrementalParser()
  private snapshot: Snapshot | undefined
  private lastGood: LastGood | undefined
  /** The snapshot waiting to be published: a newer compilation replaces it, and it is dropped. */
  private pending: Snapshot | undefined
  private dirty = true
  private timer: ReturnType<typeof setTimeout> | undefined
  private immediate: ReturnType<typeof setImmediate> | undefined
  /** A compilation waits to be published (on the next turn of the event loop). */
  private publishing = false
  private lastChangeAt = Number.NEGATIVE_INFINITY
  private debounceMs: number

  constructor(
    readonly documents: TextDocuments<TextDocument>,
    private readonly options: WorkspaceStateOptions
  ) {
    this.debounceMs = options.debounceMs
  }

  setDebounce(ms: number): void {
    this.debounceMs = ms
  }

  /** Reads every `.ccat` file under the workspace folders (file system paths). */
  loadRoots(roots: ReadonlyArray<string>): void {
    for (const root of roots) {
      for (const file of listCcatFiles(root)) this.readDiskFile(file)
    }
    this.changed()
  }

  /** A file changed, appeared or vanished on disk (`workspace/didChangeWatchedFiles`). */
  diskChanged(uri: string, deleted: boolean): void {
    const path = this.pathOf(uri)
    if (deleted) this.disk.delete(path)
    else this.readDiskFile(path)
    this.changed()
  }

  private readDiskFile(path: string): void {
    try {
      this.disk.set(path, sourceFromBytes(path, readFileSync(path)))
    } catch (error) {
      this.disk.delete(path)
      this.options.log(`ccat: cannot read ${path}: ${String(error)}`)
    }
  }

  /** The compiler's name for a document: its file system path, or the URI itself (untitled:). */
  pathOf(uri: string): string {
    let path = uri
    if (uri.startsWith("file:")) {
      try {
        path = fileURLToPath(uri)
      } catch {
        path = uri
      }
    }
    if (!this.uriByPath.has(path)) this.uriByPath.set(path, uri)
    return path
  }

  /** The URI for a compiler path; the client's own spelling when it sent one. */
  uriOf(path: string): string {
    const known = this.uriByPath.get(path)
    if (known !== undefined) return known
    const uri = path.includes("://") || path.startsWith("untitled:") ? path : pathToFileURL(path).href
    this.uriByPath.set(path, uri)
    return uri
  }

  /** Something changed: compile at once after a pause, at the end of a burst otherwise. */
  changed(): void {
    const now = performance.now()
    const sincePrevious = now - this.lastChangeAt
    this.lastChangeAt = now
    // Unanswered: a compilation is scheduled, or its diagnostics are not out yet.
    const unanswered = this.timer !== undefined || this.immediate !== undefined || this.publishing
    this.dirty = true
    this.cancelScheduled()
    if (this.debounceMs === 0 || (!unanswered && sincePrevious >= this.debounceMs)) {
      // The next turn, not now: changes already received in the same read are compiled together.
      this.immediate = setImmediate(() => {
        this.immediate = undefined
        this.compileIfDirty()
      })
    } else {
      this.timer = setTimeout(() => {
        this.timer = undefined
        this.compileIfDirty()
      }, this.debounceMs)
    }
  }

  // Called from a timer: nothing may escape it, an uncaught exception ends the server.
  private compileIfDirty(): void {
    try {
      if (this.dirty) this.compile()
    } catch (error) {
      this.options.log(`ccat: compiling failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`)
    }
  }

  private cancelScheduled(): void {
    if (this.timer !== undefined) clearTimeout(this.timer)
    if (this.immediate !== undefined) clearImmediate(this.immediate)
    this.timer = undefined
    this.immediate = undefined
  }

  /** The compilation of the current texts, compiling now if anything changed since the last. */
  current(): Snapshot {
    if (this.dirty || this.snapshot === undefined) {
      this.cancelScheduled()
      this.compile()
    }
    return this.snapshot!
  }

  /** The last compilation, without compiling. */
  last(): Snapshot | undefined {
    return this.snapshot
  }

  private inputs(): { inputs: Array<SourceInput>; docs: Map<string, TextDocument>; versions: Map<string, number | null> } {
    const docs = new Map<string, TextDocument>()
    const versions = new Map<string, number | null>()
    const notText = new Map<string, NotText>()
    // The last snapshot's copy when the text is the same: a document computes its line starts
    // (to turn offsets into positions) once, not at every compilation.
    const copyOf = (path: string, uri: string, version: number, text: string): TextDocument => {
      const last = this.snapshot?.docs.get(path)
      return last !== undefined && last.uri === uri && last.version === version && last.getText() === text
        ? last
        : TextDocument.create(uri, "ccat", version, text)
    }
    for (const [path, source] of this.disk) {
      docs.set(path, copyOf(path, this.uriOf(path), 0, source.text))
      versions.set(path, null)
      if (source.notText !== undefined) notText.set(path, source.notText)
    }
    for (const doc of this.documents.all()) {
      if (!isCcatUri(doc.uri) && doc.languageId !== "ccat") continue
      const path = this.pathOf(doc.uri)
      // A snapshot copy: the live document changes under later edits, the spans do not.
      docs.set(path, copyOf(path, doc.uri, doc.version, doc.getText()))
      versions.set(path, doc.version)
      // The editor decoded the open document itself: its text is what there is to check.
      notText.delete(path)
    }
    const inputs = [...docs].map(([path, doc]): SourceInput => {
      const problem = notText.get(path)
      return problem === undefined ? { path, text: doc.getText() } : { path, text: doc.getText(), notText: problem }
    })
    return { inputs, docs, versions }
  }

  private compile(): void {
    this.dirty = false
    const { inputs, docs, versions } = this.inputs()
    const compile = this.options.compile ?? compileSources
    let published: Snapshot
    try {
      // Diagnostics do not need the IR: it is lowered when a hover first reads it.
      const result = compile(inputs, { parseCache: this.parseCache, parse: this.parser.parse, lazyIr: true })
      this.parser.retain(new Set(inputs.map((i) => i.path)))
      published = { result, docs, versions }
      this.snapshot = published
      this.lastGood = { snapshot: published, diagnostics: detachedDiagnostics(result.diagnostics) }
    } catch (error) {
      // A compiler bug must not take the editor down: requests keep reading the last good
      // compilation, and the editor is told which files could not be checked and why.
      this.options.log(`ccat: the compiler failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`)
      // A parse that threw half-way may have left pieces moved: the next one starts afresh.
      this.parseCache.clear()
      this.parser.retain(new Set())
      const unchecked = uncheckedFiles(inputs, this.lastGood, (alone) => compile(alone, { lazyIr: true }))
      published = failedSnapshot(this.lastGood, { docs, versions }, unchecked, describeFailure(error))
      this.snapshot ??= { result: published.result, docs, versions }
    }
    const snapshot = published
    this.pending = snapshot
    this.publishing = true
    // On the next turn: a change received meanwhile (it arrived during the compilation) makes
    // this snapshot stale, and a newer snapshot publishes for itself.
    setImmediate(() => {
      if (this.pending !== snapshot) return
      this.pending = undefined
      this.publishing = false
      if (this.dirty || this.disposed) return
      try {
        this.options.onCompiled(snapshot)
      } catch (error) {
        this.options.log(`ccat: publishing failed: ${String(error)}`)
      }
    })
  }

  private disposed = false

  dispose(): void {
    this.disposed = true
    this.cancelScheduled()
  }
}
