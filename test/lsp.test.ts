import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { pathToFileURL } from "node:url"
import {
  CodeActionRequest,
  CompletionRequest,
  DefinitionRequest,
  DidCloseTextDocumentNotification,
  DocumentFormattingRequest,
  DocumentSymbolRequest,
  FoldingRangeRequest,
  HoverRequest,
  PrepareRenameRequest,
  ReferencesRequest,
  RenameRequest,
  SemanticTokensRequest,
  WorkspaceSymbolRequest,
  type CompletionItem,
  type CompletionList,
  type Diagnostic,
  type DocumentSymbol,
  type Hover,
  type Location,
  type MarkupContent,
  type Range,
  type SymbolInformation,
  type WorkspaceEdit
} from "vscode-languageserver-protocol"
import { TextDocument } from "vscode-languageserver-textdocument"
import { compileSources } from "../src/compiler/compile.ts"
import { formatText } from "../src/compiler/format.ts"
import { bundleServer, LspClient } from "./support/lsp-client.ts"
import { Rng } from "./support/workspace.ts"

/*
 * The language server as an editor meets it: a child process speaking JSON-RPC over stdio,
 * driven by a real protocol client. Each test starts its own server on its own workspace folder.
 */

const aText = `location ramses {
  backend slurm { partition "batch" }
}

software chai_calibration {
  image "docker://ghcr.io/ccatobs/chai-calibration:{version}"
  versions "2.3.1", "2.4.0", "3.0.0"
  command "calibrate --mode {config.calibration_mode}"
}

software chai_baseline {
  image "docker://ghcr.io/ccatobs/chai-baseline:{version}"
  versions "1.0.0"
  command "baseline"
}

grouping chai_archived {
  where RawDataPackage.state == "ARCHIVED"
}
`

const bText = `pipeline chai_standing {
  data chai_archived
  location ramses
  trigger continuous

  step calibrate {
    run chai_calibration ^2.3
    group_by executed_obs_unit
    config { calibration_mode = "hot_cold" }
  }

  step baseline {
    after calibrate
    run chai_baseline ^1.0
    group_by executed_obs_unit
  }
}
`

let bundle = ""
const scratch = mkdtempSync(join(tmpdir(), "ccat-lsp-"))
let counter = 0
const clients: Array<LspClient> = []

beforeAll(async () => {
  bundle = await bundleServer()
}, 60_000)

afterAll(async () => {
  await Promise.all(clients.map((c) => c.stop()))
  rmSync(scratch, { recursive: true, force: true })
  rmSync(bundle, { force: true })
})

interface Workspace {
  readonly client: LspClient
  readonly dir: string
  readonly uri: (name: string) => string
  readonly path: (name: string) => string
}

/** A fresh folder holding `files`, and a server started on it. */
const workspace = async (files: Record<string, string> = { "a.ccat": aText, "b.ccat": bText }, debounceMs = 20): Promise<Workspace> => {
  const dir = join(scratch, `ws-${++counter}`)
  mkdirSync(dir)
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text)
  const { client } = await LspClient.start(bundle, { rootUri: pathToFileURL(dir).href, debounceMs })
  clients.push(client)
  return { client, dir, uri: (name) => pathToFileURL(join(dir, name)).href, path: (name) => join(dir, name) }
}

const textAt = (client: LspClient, uri: string, range: Range): string => client.document(uri).getText(range)
const codes = (ds: ReadonlyArray<Diagnostic>): Array<string> => ds.map((d) => String(d.code))
const hoverText = (h: Hover | null): string => (h === null ? "" : (h.contents as MarkupContent).value)

describe("diagnostics", () => {
  it("publishes the workspace's diagnostics with codes and ranges, and updates them on change", async () => {
    const { client, uri } = await workspace()
    // The files on disk compile clean: every file gets an (empty) list.
    const a = await client.waitForDiagnostics(uri("a.ccat"))
    expect(a.diagnostics).toEqual([])

    await client.open(uri("b.ccat"), bText.replace("run chai_calibration", "run chai_calibraton"))
    const broken = await client.waitForVersion(uri("b.ccat"))
    expect(codes(broken.diagnostics)).toEqual(["E011"])
    const [e011] = broken.diagnostics
    expect(e011!.source).toBe("ccat")
    expect(textAt(client, uri("b.ccat"), e011!.range)).toBe("chai_calibraton")
    expect(e011!.message).toContain("did you mean `chai_calibration`?")
    // The software is now unused: a.ccat gets its warning from a cross-file check.
    const unused = await client.waitForDiagnostics(uri("a.ccat"), (p) => p.diagnostics.length > 0)
    expect(codes(unused.diagnostics)).toEqual(["W003"])

    // Fixing the typo clears both files.
    await client.replace(uri("b.ccat"), bText)
    expect((await client.waitForVersion(uri("b.ccat"))).diagnostics).toEqual([])
    expect((await client.waitForDiagnostics(uri("a.ccat"), (p) => p.diagnostics.length === 0)).diagnostics).toEqual([])

    // An incremental edit that breaks the syntax.
    await client.edit(
      uri("b.ccat"),
      { start: client.positionOf(uri("b.ccat"), "^1.0"), end: client.positionOf(uri("b.ccat"), "^1.0", 4) },
      "^"
    )
    const syntax = await client.waitForVersion(uri("b.ccat"))
    expect(codes(syntax.diagnostics)).toContain("E005")
  })

  it("clears the diagnostics of a file that leaves the workspace when it is closed", async () => {
    const { client, uri } = await workspace()
    await client.open(uri("scratch.ccat"), "pipeline {")
    expect((await client.waitForVersion(uri("scratch.ccat"))).diagnostics.length).toBeGreaterThan(0)
    await client.connection.sendNotification(DidCloseTextDocumentNotification.type, { textDocument: { uri: uri("scratch.ccat") } })
    expect((await client.waitForDiagnostics(uri("scratch.ccat"), (p) => p.diagnostics.length === 0)).version).toBeUndefined()
  })

  it("gives related information for duplicates across files", async () => {
    const { client, uri } = await workspace()
    await client.open(uri("b.ccat"), bText + "\nlocation ramses { backend local }\n")
    const published = await client.waitForVersion(uri("b.ccat"))
    const e010 = published.diagnostics.find((d) => d.code === "E010")!
    expect(e010.relatedInformation?.[0]?.location.uri).toBe(uri("a.ccat"))
    expect(e010.relatedInformation?.[0]?.location.range.start).toEqual({ line: 0, character: 9 })
    expect(e010.message).toContain("help: names are unique per kind")
  })

  it("computes ranges in UTF-16 code units on lines with non-ASCII text", async () => {
    const { client, uri } = await workspace()
    const line = `  where Source.name == "ρ Oph 🌟" and Sourc.name == "x"`
    await client.open(uri("c.ccat"), `grouping rho_oph {\n  from chai_archived\n${line}\n}\n`)
    const published = await client.waitForVersion(uri("c.ccat"))
    const e030 = published.diagnostics.find((d) => d.code === "E030")!
    expect(e030.range.start).toEqual({ line: 2, character: line.indexOf("Sourc.") })
    expect(textAt(client, uri("c.ccat"), e030.range)).toBe("Sourc")
    // And back: hover and definition take UTF-16 positions after the non-ASCII text.
    const hover = await client.connection.sendRequest(HoverRequest.type, {
      textDocument: { uri: uri("c.ccat") },
      position: { line: 2, character: line.indexOf("Source.name") + 8 }
    })
    expect(hoverText(hover)).toContain("Source.name")
  })
})

describe("hover", () => {
  it("explains keywords, references, columns, run ranges and steps", async () => {
    const { client, uri } = await workspace()
    await client.open(uri("b.ccat"), bText)
    await client.open(uri("a.ccat"), aText)
    const hoverAt = async (name: string, needle: string, delta = 1): Promise<string> =>
      hoverText(
        await client.connection.sendRequest(HoverRequest.type, {
          textDocument: { uri: uri(name) },
          position: client.positionOf(uri(name), needle, delta)
        })
      )

    expect(await hoverAt("b.ccat", "group_by")).toContain("execution granularity")
    expect(await hoverAt("b.ccat", "trigger")).toContain("When the pipeline is evaluated")
    const reference = await hoverAt("b.ccat", "chai_archived")
    expect(reference).toContain("**grouping** `chai_archived`")
    expect(reference).toContain('where RawDataPackage.state == "ARCHIVED"')
    const column = await hoverAt("a.ccat", "state")
    expect(column).toContain("`RawDataPackage.state`: enum")
    expect(column).toContain('`"ARCHIVED"`')
    expect(await hoverAt("b.ccat", "^2.3")).toContain("resolves to `chai_calibration` **2.4.0**")
    const step = await hoverAt("b.ccat", "step calibrate", 6)
    expect(step).toContain("Fingerprint inputs")
    expect(step).toContain("`calibrate --mode {config.calibration_mode}`")
    expect(step).toContain('{"calibration_mode":"hot_cold"}')
    expect(await hoverAt("b.ccat", "executed_obs_unit")).toContain("group_by dimension")
    // Nothing there: null, not an error.
    expect(
      await client.connection.sendRequest(HoverRequest.type, { textDocument: { uri: uri("b.ccat") }, position: { line: 4, character: 0 } })
    ).toBeNull()
  })
})

describe("hover on an outputs block", () => {
  it("explains the block, each kind and `min`", async () => {
    const withOutputs = bText.replace(
      "    group_by executed_obs_unit\n  }\n}",
      '    group_by executed_obs_unit\n    outputs { science "*.fits" min 2  qa }\n  }\n}'
    )
    expect(withOutputs).not.toBe(bText)
    const { client, uri } = await workspace({ "a.ccat": aText, "b.ccat": withOutputs })
    await client.open(uri("b.ccat"), withOutputs)
    const hoverAt = async (needle: string, delta = 1): Promise<string> =>
      hoverText(
        await client.connection.sendRequest(HoverRequest.type, {
          textDocument: { uri: uri("b.ccat") },
          position: client.positionOf(uri("b.ccat"), needle, delta)
        })
      )
    const block = await hoverAt("outputs")
    expect(block).toContain("**outputs** (step)")
    expect(block).toContain("NO_OUTPUTS")
    expect(await hoverAt("science")).toContain("**output kind** `science`")
    expect(await hoverAt("qa }")).toContain("Quality-assessment files")
    expect(await hoverAt("min 2")).toContain("at least this many files")
  })
})

describe("hover on retries", () => {
  it("explains the property, `on`, each reason, the resource that grows and its factor", async () => {
    const withRetries = bText.replace(
      "    group_by executed_obs_unit\n  }\n}",
      "    group_by executed_obs_unit\n    resources { memory 16GiB }\n    retries 3 on TIMEOUT, OOM { on OOM memory x2 }\n  }\n}"
    )
    expect(withRetries).not.toBe(bText)
    const { client, uri } = await workspace({ "a.ccat": aText, "b.ccat": withRetries })
    await client.open(uri("b.ccat"), withRetries)
    const hoverAt = async (needle: string, delta = 1): Promise<string> =>
      hoverText(
        await client.connection.sendRequest(HoverRequest.type, {
          textDocument: { uri: uri("b.ccat") },
          position: client.positionOf(uri("b.ccat"), needle, delta)
        })
      )
    const property = await hoverAt("retries 3")
    expect(property).toContain("**retries** (step)")
    expect(property).toContain("Not part of the fingerprint")
    expect(await hoverAt("on TIMEOUT")).toContain("only failures of these reasons are retried")
    expect(await hoverAt("TIMEOUT,")).toContain("**failure reason** `TIMEOUT`")
    expect(await hoverAt("OOM {")).toContain("ran out of memory")
    expect(await hoverAt("on OOM memory")).toContain("multiplied by F")
    expect(await hoverAt("memory x2")).toContain("**memory** (grows on a retry)")
    expect(await hoverAt("x2 }")).toContain("each failure with `OOM` multiplies `memory` by 2")
  })
})

describe("navigation", () => {
  it("goes to definitions and finds references across two files", async () => {
    const { client, uri } = await workspace()
    await client.open(uri("b.ccat"), bText)
    const definition = (await client.connection.sendRequest(DefinitionRequest.type, {
      textDocument: { uri: uri("b.ccat") },
      position: client.positionOf(uri("b.ccat"), "chai_calibration", 3)
    })) as Array<Location>
    expect(definition).toHaveLength(1)
    expect(definition[0]!.uri).toBe(uri("a.ccat"))
    expect(definition[0]!.range).toEqual({ start: { line: 4, character: 9 }, end: { line: 4, character: 25 } })

    // A step reference goes to the step of this pipeline.
    const stepDefinition = (await client.connection.sendRequest(DefinitionRequest.type, {
      textDocument: { uri: uri("b.ccat") },
      position: client.positionOf(uri("b.ccat"), "after calibrate", 8)
    })) as Array<Location>
    expect(stepDefinition[0]!.range.start).toEqual(client.positionOf(uri("b.ccat"), "step calibrate", 5))

    const refs = await client.connection.sendRequest(ReferencesRequest.type, {
      textDocument: { uri: uri("b.ccat") },
      position: client.positionOf(uri("b.ccat"), "ramses", 2),
      context: { includeDeclaration: true }
    })
    expect(refs!.map((r) => [r.uri, r.range.start.line])).toEqual([
      [uri("a.ccat"), 0],
      [uri("b.ccat"), 2]
    ])
  })

  it("renames across two files and refuses clashes and keywords", async () => {
    const { client, uri } = await workspace()
    await client.open(uri("b.ccat"), bText)
    const position = client.positionOf(uri("b.ccat"), "chai_calibration", 2)
    const prepared = await client.connection.sendRequest(PrepareRenameRequest.type, { textDocument: { uri: uri("b.ccat") }, position })
    expect(prepared).toEqual({ start: { line: 6, character: 8 }, end: { line: 6, character: 24 } })

    const edit = (await client.connection.sendRequest(RenameRequest.type, {
      textDocument: { uri: uri("b.ccat") },
      position,
      newName: "calibration"
    })) as WorkspaceEdit
    const changes = edit.changes!
    expect(Object.keys(changes).sort()).toEqual([uri("a.ccat"), uri("b.ccat")].sort())
    const apply = (text: string, fileUri: string): string =>
      TextDocument.applyEdits(TextDocument.create(fileUri, "ccat", 1, text), changes[fileUri]!)
    const renamed = compileSources([
      { path: "a.ccat", text: apply(aText, uri("a.ccat")) },
      { path: "b.ccat", text: apply(bText, uri("b.ccat")) }
    ])
    expect(renamed.diagnostics).toEqual([])
    expect(renamed.checked.software.has("calibration")).toBe(true)

    // A step is renamed in its pipeline only (the declaration and `after`).
    const stepEdit = (await client.connection.sendRequest(RenameRequest.type, {
      textDocument: { uri: uri("b.ccat") },
      position: client.positionOf(uri("b.ccat"), "after calibrate", 7),
      newName: "cal"
    })) as WorkspaceEdit
    expect(stepEdit.changes![uri("b.ccat")]!.map((e) => e.range.start.line)).toEqual([5, 12])

    await expect(
      client.connection.sendRequest(RenameRequest.type, { textDocument: { uri: uri("b.ccat") }, position, newName: "chai_baseline" })
    ).rejects.toThrow(/software named `chai_baseline` already exists/)
    await expect(
      client.connection.sendRequest(RenameRequest.type, {
        textDocument: { uri: uri("b.ccat") },
        position: client.positionOf(uri("b.ccat"), "after calibrate", 7),
        newName: "baseline"
      })
    ).rejects.toThrow(/already exists in pipeline `chai_standing`/)
    await expect(
      client.connection.sendRequest(RenameRequest.type, { textDocument: { uri: uri("b.ccat") }, position, newName: "pipeline" })
    ).rejects.toThrow(/keyword/)
    await expect(
      client.connection.sendRequest(RenameRequest.type, { textDocument: { uri: uri("b.ccat") }, position, newName: "2fast" })
    ).rejects.toThrow(/not a name/)
  })
})

describe("document features", () => {
  it("formats like `ccat fmt`, and not at all with syntax errors", async () => {
    const { client, uri } = await workspace()
    const messy = bText.replace(/\n {2}/g, "\n      ").replace("step baseline {", "step   baseline{")
    await client.open(uri("b.ccat"), messy)
    const edits = await client.connection.sendRequest(DocumentFormattingRequest.type, {
      textDocument: { uri: uri("b.ccat") },
      options: { tabSize: 2, insertSpaces: true }
    })
    const formatted = formatText(messy)
    expect(formatted.ok).toBe(true)
    expect(TextDocument.applyEdits(client.document(uri("b.ccat")), edits!)).toBe(formatted.ok ? formatted.text : "")
    await client.replace(uri("b.ccat"), messy + "\npipeline {")
    expect(
      await client.connection.sendRequest(DocumentFormattingRequest.type, {
        textDocument: { uri: uri("b.ccat") },
        options: { tabSize: 2, insertSpaces: true }
      })
    ).toEqual([])
  })

  it("lists document symbols with steps as children, workspace symbols and folding ranges", async () => {
    const { client, uri } = await workspace()
    await client.open(uri("b.ccat"), bText)
    const symbols = (await client.connection.sendRequest(DocumentSymbolRequest.type, {
      textDocument: { uri: uri("b.ccat") }
    })) as Array<DocumentSymbol>
    expect(symbols.map((s) => [s.name, s.detail, s.children?.map((c) => c.name)])).toEqual([
      ["chai_standing", "pipeline", ["calibrate", "baseline"]]
    ])
    expect(symbols[0]!.range).toEqual({ start: { line: 0, character: 0 }, end: { line: 16, character: 1 } })

    const found = (await client.connection.sendRequest(WorkspaceSymbolRequest.type, { query: "chai_" })) as Array<SymbolInformation>
    expect(found.map((s) => s.name).sort()).toEqual(["chai_archived", "chai_baseline", "chai_calibration", "chai_standing"])

    const folds = await client.connection.sendRequest(FoldingRangeRequest.type, { textDocument: { uri: uri("b.ccat") } })
    expect(folds!.map((f) => [f.startLine, f.endLine])).toEqual(
      expect.arrayContaining([
        [0, 15],
        [5, 8],
        [11, 14]
      ])
    )
  })

  it("offers the 'did you mean' replacement of E011 as a quick fix", async () => {
    const { client, uri } = await workspace()
    await client.open(uri("b.ccat"), bText.replace("after calibrate", "after calbrate"))
    const published = await client.waitForVersion(uri("b.ccat"))
    const e011 = published.diagnostics.find((d) => d.code === "E011")!
    const actions = await client.connection.sendRequest(CodeActionRequest.type, {
      textDocument: { uri: uri("b.ccat") },
      range: e011.range,
      context: { diagnostics: [e011] }
    })
    expect(actions).toHaveLength(1)
    const action = actions![0]! as { title: string; kind: string; edit: WorkspaceEdit }
    expect(action.title).toBe("Replace with `calibrate`")
    expect(action.kind).toBe("quickfix")
    const fixed = TextDocument.applyEdits(client.document(uri("b.ccat")), action.edit.changes![uri("b.ccat")]!)
    expect(fixed).toBe(bText)
  })
})

describe("completion and semantic tokens over the protocol", () => {
  it("offers the steps of this pipeline after `after`, also in a file that does not parse yet", async () => {
    const { client, uri } = await workspace()
    const broken = bText.replace("after calibrate", "after ")
    await client.open(uri("b.ccat"), broken)
    const position = client.positionOf(uri("b.ccat"), "after ", 6)
    const result = (await client.connection.sendRequest(CompletionRequest.type, { textDocument: { uri: uri("b.ccat") }, position })) as
      | Array<CompletionItem>
      | CompletionList
    const labels = (Array.isArray(result) ? result : result.items).map((i) => i.label)
    expect(labels).toContain("calibrate")
    expect(labels).not.toContain("baseline")
  })

  it("offers software versions after `run`", async () => {
    const { client, uri } = await workspace()
    await client.open(uri("b.ccat"), bText)
    const position = client.positionOf(uri("b.ccat"), "chai_calibration ", 17)
    const result = (await client.connection.sendRequest(CompletionRequest.type, { textDocument: { uri: uri("b.ccat") }, position })) as
      | Array<CompletionItem>
      | CompletionList
    const labels = (Array.isArray(result) ? result : result.items).map((i) => i.label)
    expect(labels).toContain("^3.0")
  })

  it("returns semantic tokens for an open document", async () => {
    const { client, uri } = await workspace()
    await client.open(uri("b.ccat"), bText)
    const tokens = await client.connection.sendRequest(SemanticTokensRequest.type, { textDocument: { uri: uri("b.ccat") } })
    expect(tokens?.data.length ?? 0).toBeGreaterThan(0)
    expect((tokens?.data.length ?? 0) % 5).toBe(0)
  })
})

describe("robustness", () => {
  const tokens = [
    "{",
    "}",
    "}",
    "\n",
    " ",
    "  ",
    '"',
    "(",
    ")",
    ",",
    ".",
    "^",
    "~",
    "=",
    "==",
    "/*",
    "*/",
    "//",
    "#",
    "ρ Oph",
    "🌟",
    "step",
    "pipeline",
    "grouping",
    "software",
    "location",
    "run",
    "after",
    "where",
    "group_by",
    "config",
    "resources",
    "calibrate",
    "baseline",
    "chai_calibration",
    "chai_archived",
    "ramses",
    "Source.name",
    "RawDataPackage.state",
    "in",
    "2.3",
    "1.0.0",
    "60s",
    "16GiB",
    "85%",
    "true",
    'trigger cron "0 * * * *"',
    "{config.x}",
    "\\q"
  ]

  it("survives 1500 random edits with requests in between, and ends with fresh diagnostics", async () => {
    const { client, uri, path } = await workspace({ "a.ccat": aText, "b.ccat": bText }, 5)
    const target = uri("b.ccat")
    await client.open(target, bText)
    const rng = new Rng(20260607)
    const pending: Array<Promise<unknown>> = []
    for (let step = 0; step < 1530; step++) {
      // Episodes of 60 edits, each starting from a valid text (b, or a duplicate of a), so that
      // the texts stay close enough to valid for references, steps and ranges to exist.
      if (step % 60 === 0) await client.replace(target, rng.chance(0.8) ? bText : aText)
      const doc = client.document(target)
      const length = doc.getText().length
      const at = rng.int(length + 1)
      const kind = rng.int(10)
      let end = at
      let insert = ""
      if (kind < 4) insert = rng.pick(tokens)
      else if (kind < 6) insert = String.fromCharCode(32 + rng.int(95))
      else if (kind < 8) end = Math.min(length, at + rng.range(1, 6))
      else {
        end = Math.min(length, at + rng.range(0, 3))
        insert = rng.pick(tokens)
      }
      await client.edit(target, { start: doc.positionAt(at), end: doc.positionAt(end) }, insert)
      if (step % 7 === 0) {
        const current = client.document(target)
        const position = current.positionAt(rng.int(current.getText().length + 1))
        const textDocument = { uri: target }
        const requests = [
          () => client.connection.sendRequest(HoverRequest.type, { textDocument, position }),
          () => client.connection.sendRequest(DefinitionRequest.type, { textDocument, position }),
          () => client.connection.sendRequest(ReferencesRequest.type, { textDocument, position, context: { includeDeclaration: true } }),
          () => client.connection.sendRequest(DocumentSymbolRequest.type, { textDocument }),
          () => client.connection.sendRequest(FoldingRangeRequest.type, { textDocument }),
          () =>
            client.connection.sendRequest(DocumentFormattingRequest.type, { textDocument, options: { tabSize: 2, insertSpaces: true } }),
          () =>
            client.connection.sendRequest(CodeActionRequest.type, {
              textDocument,
              range: { start: position, end: position },
              context: { diagnostics: [] }
            }),
          () => client.connection.sendRequest(PrepareRenameRequest.type, { textDocument, position }).catch(() => null),
          () => client.connection.sendRequest(RenameRequest.type, { textDocument, position, newName: "renamed_x" }).catch(() => null),
          () => client.connection.sendRequest(WorkspaceSymbolRequest.type, { query: "a" })
        ]
        pending.push(rng.pick(requests)())
      }
      if (step % 50 === 0) await Promise.all(pending.splice(0))
    }
    await Promise.all(pending)
    expect(client.exitCode).toBeUndefined()

    const final = client.document(target)
    const published = await client.waitForVersion(target, 20_000)
    const expected = compileSources([
      { path: path("a.ccat"), text: aText },
      { path: path("b.ccat"), text: final.getText() }
    ]).diagnostics.filter((d) => d.span.file === path("b.ccat"))
    const summary = (code: string, range: Range, message: string) =>
      `${code} ${range.start.line}:${range.start.character}-${range.end.line}:${range.end.character} ${message.split("\n")[0]}`
    expect(published.diagnostics.map((d) => summary(String(d.code), d.range, d.message))).toEqual(
      expected.map((d) =>
        summary(d.code, { start: final.positionAt(d.span.start), end: final.positionAt(Math.max(d.span.start, d.span.end)) }, d.message)
      )
    )
    // Still answering, and no handler failed along the way.
    expect(await client.connection.sendRequest(DocumentSymbolRequest.type, { textDocument: { uri: target } })).toBeInstanceOf(Array)
    expect(client.logs.filter((l) => l.includes("failed"))).toEqual([])
  }, 60_000)
})
