import { afterEach, beforeEach, describe, expect, it, vi } from "vitest"
import type { TextDocuments } from "vscode-languageserver"
import { TextDocument } from "vscode-languageserver-textdocument"
import { WorkspaceState, type Snapshot } from "../src/lsp/workspace-state.ts"

/*
 * When the language server compiles after edits (src/lsp/workspace-state.ts): a change after a
 * pause compiles at once, a burst of changes compiles once when it pauses, and diagnostics that
 * a newer change already made stale are never published.
 */

const uri = "file:///ws/a.ccat"
const text = (priority: number): string => `pipeline p {\n  priority ${priority}\n}\n`

/** A workspace of one open document, edited by `edit`; `published` lists the versions published. */
const setUp = (debounceMs: number) => {
  let doc = TextDocument.create(uri, "ccat", 1, text(1))
  // The two members of TextDocuments the state reads.
  const documents = { all: () => [doc], get: (u: string) => (u === uri ? doc : undefined) } as unknown as TextDocuments<TextDocument>
  const published: Array<number | null | undefined> = []
  const state = new WorkspaceState(documents, {
    debounceMs,
    onCompiled: (snapshot: Snapshot) => void published.push(snapshot.versions.get("/ws/a.ccat")),
    log: () => undefined
  })
  const edit = (): void => {
    doc = TextDocument.create(uri, "ccat", doc.version + 1, text(doc.version + 1))
    state.changed()
  }
  return { state, edit, published }
}

// Fake timers (performance.now included): the test moves time itself, so what it asserts is the
// order of events, never how long a loaded machine took.
beforeEach(() => {
  vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "setImmediate", "clearImmediate", "performance"] })
})
afterEach(() => {
  vi.useRealTimers()
})

describe("when the language server compiles", () => {
  it("compiles a change after a pause at once, without waiting for the debounce", () => {
    const { state, edit, published } = setUp(400)
    state.current()
    vi.advanceTimersByTime(450)
    published.length = 0
    edit()
    // One turn of the event loop, far less than the 400 ms a debounce would wait.
    vi.advanceTimersByTime(1)
    expect(published).toEqual([2])
    state.dispose()
  })

  it("compiles a burst of changes once it pauses, and publishes its last version", () => {
    const { state, edit, published } = setUp(300)
    state.current()
    vi.advanceTimersByTime(350)
    published.length = 0
    // Ten keystrokes 20 ms apart: the first after a pause compiles at once, the rest wait.
    for (let i = 0; i < 10; i++) {
      edit()
      vi.advanceTimersByTime(20)
    }
    expect(published).toEqual([2])
    // Nothing before the burst has paused for the debounce...
    vi.advanceTimersByTime(250)
    expect(published).toEqual([2])
    // ...then its last version, once.
    vi.advanceTimersByTime(100)
    expect(published).toEqual([2, 11])
    state.dispose()
  })

  it("does not publish diagnostics a newer change has made stale", () => {
    const { state, edit, published } = setUp(0)
    state.current()
    vi.advanceTimersByTime(20)
    published.length = 0
    edit()
    // A request compiles version 2; version 3 arrives before its diagnostics go out.
    state.current()
    edit()
    vi.advanceTimersByTime(50)
    expect(published).toEqual([3])
    state.dispose()
  })
})
