import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { mkdirSync, rmSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { pathToFileURL } from "node:url"
import {
  CompletionRequest,
  DefinitionRequest,
  DocumentFormattingRequest,
  DocumentSymbolRequest,
  FoldingRangeRequest,
  HoverRequest,
  SemanticTokensRequest,
  type Diagnostic
} from "vscode-languageserver-protocol"
import { crashMarker } from "./support/faulty-compiler.ts"
import { bundleFaultyServer } from "./support/faulty-lsp-server.ts"
import { LspClient } from "./support/lsp-client.ts"
import { scratchDirs } from "./support/scratch.ts"

/*
 * A compiler bug must not take the editor's language server down, nor leave the editor showing
 * a file as if it had been checked. The server runs as a child process with a compiler that
 * overflows its stack on files holding `crashMarker` (injected: see support/faulty-compiler.ts).
 */

const brokenGrouping = `grouping rho_oph {
  where Sourc.name == "rho Oph"
}
`
const cleanGrouping = `grouping archived {
  where RawDataPackage.state == "ARCHIVED"
}
`

let bundle = ""
const scratch = scratchDirs("ccat-lsp-crash")
const clients: Array<LspClient> = []

beforeAll(async () => {
  bundle = await bundleFaultyServer()
}, 60_000)

afterAll(async () => {
  await Promise.all(clients.map((c) => c.stop()))
  rmSync(bundle, { force: true })
})

const start = async (files: Record<string, string> = {}) => {
  const dir = scratch("ws")
  mkdirSync(dir, { recursive: true })
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text)
  const { client } = await LspClient.start(bundle, { rootUri: pathToFileURL(dir).href, debounceMs: 0 })
  clients.push(client)
  return { client, uri: (name: string) => pathToFileURL(join(dir, name)).href }
}

const codes = (ds: ReadonlyArray<Diagnostic>): Array<string> => ds.map((d) => String(d.code))
const unchecked = (ds: ReadonlyArray<Diagnostic>): Diagnostic | undefined => ds.find((d) => d.code === "E900")

describe("the language server when the compiler crashes (crash injected)", () => {
  it("keeps a file's last diagnostics, adds one saying it could not be checked and why, and recovers when the file changes (crash injected)", async () => {
    const { client, uri } = await start()
    const file = uri("grouping.ccat")
    await client.open(file, brokenGrouping)
    expect(codes((await client.waitForVersion(file)).diagnostics)).toContain("E030")

    await client.replace(file, `${brokenGrouping}${crashMarker}\n`)
    const crashed = await client.waitForVersion(file)
    expect(codes(crashed.diagnostics)).toContain("E030")
    const notice = unchecked(crashed.diagnostics)
    expect(notice).toBeDefined()
    expect(notice!.severity).toBe(1)
    expect(notice!.range.start).toEqual({ line: 0, character: 0 })
    expect(notice!.message).toContain("ccat could not check this file")
    expect(notice!.message).toContain("RangeError: Maximum call stack size exceeded")
    expect(notice!.message).toContain("bug in ccat")
    expect(client.logs.join("\n")).toContain("the compiler failed")

    await client.replace(file, cleanGrouping)
    const recovered = await client.waitForVersion(file)
    expect(unchecked(recovered.diagnostics)).toBeUndefined()
    expect(codes(recovered.diagnostics)).not.toContain("E030")
    expect(client.exitCode).toBeUndefined()
  })

  it("answers every other request on a file the compiler crashes on, and stays up (crash injected)", async () => {
    const { client, uri } = await start()
    const file = uri("crashing.ccat")
    await client.open(file, `${cleanGrouping}${crashMarker}\n`)
    expect(unchecked((await client.waitForVersion(file)).diagnostics)).toBeDefined()

    const textDocument = { uri: file }
    const position = client.positionOf(file, "RawDataPackage", 3)
    const send = client.connection.sendRequest.bind(client.connection)
    const answers = await Promise.all([
      send(HoverRequest.type, { textDocument, position }),
      send(CompletionRequest.type, { textDocument, position }),
      send(DefinitionRequest.type, { textDocument, position }),
      send(DocumentSymbolRequest.type, { textDocument }),
      send(FoldingRangeRequest.type, { textDocument }),
      send(DocumentFormattingRequest.type, { textDocument, options: { tabSize: 2, insertSpaces: true } }),
      send(SemanticTokensRequest.type, { textDocument })
    ])
    expect(answers).toHaveLength(7)
    // Semantic tokens come from the text, not the compiler: still highlighted.
    expect((answers[6] as { data: Array<number> }).data.length).toBeGreaterThan(0)

    // Still up and still publishing: a document opened next gets its diagnostics, the crashing one stays marked.
    const other = uri("other.ccat")
    await client.open(other, brokenGrouping)
    expect(unchecked((await client.waitForVersion(other)).diagnostics)).toBeUndefined()
    expect(unchecked(client.diagnostics.get(file)!.diagnostics)).toBeDefined()
    expect(client.exitCode).toBeUndefined()
  })

  it("marks only the file that crashes the compiler as unchecked, in a workspace loaded from disk (crash injected)", async () => {
    const { client, uri } = await start({ "clean.ccat": cleanGrouping, "crashing.ccat": `${brokenGrouping}${crashMarker}\n` })
    const crashing = await client.waitForDiagnostics(uri("crashing.ccat"))
    expect(codes(crashing.diagnostics)).toEqual(["E900"])
    const clean = await client.waitForDiagnostics(uri("clean.ccat"))
    expect(unchecked(clean.diagnostics)).toBeUndefined()

    // Opening the crashing file without the fault checks the workspace again, both files.
    await client.open(uri("crashing.ccat"), brokenGrouping)
    const fixed = await client.waitForVersion(uri("crashing.ccat"))
    expect(codes(fixed.diagnostics)).toContain("E030")
    expect(unchecked(fixed.diagnostics)).toBeUndefined()
  })
})
