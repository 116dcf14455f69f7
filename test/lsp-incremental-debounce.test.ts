import { describe, expect, it } from "vitest"
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

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

describe("when the language server compiles", () => {
  it("compiles a change after a pause at once, without waiting for the debounce", async () => {
    const { state, edit, published } = setUp(400)
    state.current()
    await sleep(450)
    published.length = 0
    const start = performance.now()
    edit()
    while (published.length === 0 && performance.now() - start < 2_000) await sleep(5)
    expect(published).toEqual([2])
    expect(performance.now() - start).toBeLessThan(300)
    state.dispose()
  })

  it("compiles a burst of changes once it pauses, and publishes its last version", async () => {
    const { state, edit, published } = setUp(300)
    state.current()
    await sleep(350)
    published.length = 0
    // Ten keystrokes 20 ms apart: the first after a pause compiles at once, the rest wait.
    for (let i = 0; i < 10; i++) {
      edit()
      await sleep(20)
    }
    expect(published.length).toBeLessThanOrEqual(1)
    await sleep(600)
    expect(published[published.length - 1]).toBe(11)
    expect(published.length).toBeLessThanOrEqual(2)
    state.dispose()
  })

  it("does not publish diagnostics a newer change has made stale", async () => {
    const { state, edit, published } = setUp(0)
    state.current()
    await sleep(20)
    published.length = 0
    edit()
    // A request compiles version 2; version 3 arrives before its diagnostics go out.
    state.current()
    edit()
    await sleep(50)
    expect(published).toEqual([3])
    state.dispose()
  })
})
