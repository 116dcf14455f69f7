import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { dirname, join } from "node:path"
import { pathToFileURL } from "node:url"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { CompletionRequest } from "vscode-languageserver-protocol"
import { TextDocument } from "vscode-languageserver-textdocument"
import { cases, cursor, shared } from "./support/completion-cases.ts"
import { bundleServer, LspClient } from "./support/lsp-client.ts"

/*
 * The completion table again, this time as an editor asks: one server, a child process over
 * JSON-RPC, on a folder holding the shared declarations; each case is typed into an open
 * document and completion is requested at its cursor. Cases that need live database values are
 * left to the pure test (no database here).
 */

let scratch = ""
let client: LspClient
const editUri = (): string => pathToFileURL(join(scratch, "edit.ccat")).href

beforeAll(async () => {
  scratch = mkdtempSync(join(tmpdir(), "ccat-completion-"))
  for (const f of shared) {
    const path = join(scratch, f.path)
    mkdirSync(dirname(path), { recursive: true })
    writeFileSync(path, f.text)
  }
  const bundle = await bundleServer()
  client = (await LspClient.start(bundle, { rootUri: pathToFileURL(scratch).href, debounceMs: 0 })).client
  await client.open(editUri(), "")
}, 60_000)

afterAll(async () => {
  await client?.stop()
  rmSync(scratch, { recursive: true, force: true })
})

describe("completion over the protocol", () => {
  const protocolCases = cases.filter((c) => c.live !== true)
  it.each(protocolCases.map((c) => [c.name, c] as const))("%s", async (_name, c) => {
    const { text, offset } = cursor(c.src)
    await client.replace(editUri(), text)
    const position = TextDocument.create(editUri(), "ccat", 1, text).positionAt(offset)
    const result = await client.connection.sendRequest(CompletionRequest.type, { textDocument: { uri: editUri() }, position })
    const labels = (result === null ? [] : Array.isArray(result) ? result : result.items).map((i) => i.label)
    for (const l of c.has ?? []) expect(labels, `${c.name}: expected ${l} in ${labels.join(", ")}`).toContain(l)
    for (const l of c.not ?? []) expect(labels, `${c.name}: did not expect ${l}`).not.toContain(l)
  })
})
