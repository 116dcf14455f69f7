import { Command } from "@effect/cli"
import { NodeContext } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll } from "vitest"
import type { TextDocuments } from "vscode-languageserver"
import type { TextDocument } from "vscode-languageserver-textdocument"
import { checkCommand } from "../src/cli/check-command.ts"
import { fmtCommand } from "../src/cli/fmt-command.ts"
import { sourceFromBytes } from "../src/compiler/compile.ts"
import { WorkspaceState } from "../src/lsp/workspace-state.ts"
import { runCaptured } from "./support/cli-capture.ts"

/*
 * A `.ccat` file that is not UTF-8 text (an image, a Latin-1 file) is one error at its start
 * (E104), for `ccat check` and the language server alike, and the other files are still checked.
 */

// A 1×1 PNG: its first byte, 0x89, cannot start a UTF-8 sequence; NUL bytes follow.
const png = Buffer.from("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==", "base64")
// "café" in Latin-1: é is the single byte 0xE9, at offset 6.
const latin1 = Buffer.concat([Buffer.from("// caf"), Buffer.from([0xe9]), Buffer.from("\nlocation here { backend local }\n")])

const dir = mkdtempSync(join(tmpdir(), "ccat-binary-"))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
writeFileSync(join(dir, "x.ccat"), png)
writeFileSync(join(dir, "latin.ccat"), latin1)
writeFileSync(join(dir, "good.ccat"), "location there { backend lokal }\n")

const check = Command.run(checkCommand, { name: "ccat check", version: "test" })
const notText = (file: string, what: string) =>
  `not a text file: ${file} is not UTF-8 text (it holds ${what}); a .ccat file must be UTF-8 text`

describe("a .ccat file that is not UTF-8 text", () => {
  it.effect("is one error each in `ccat check`, and the rest of the workspace is still checked", () =>
    Effect.gen(function* () {
      const result = yield* runCaptured(check, ["--json", dir], "check")
      expect(result.code).toBe(1)
      const report = JSON.parse(result.stdout) as {
        diagnostics: Array<{ code: string; message: string; span: { file: string; line: number; column: number } }>
      }
      const errors = report.diagnostics.map((d) => ({
        code: d.code,
        file: d.span.file,
        at: `${d.span.line}:${d.span.column}`,
        message: d.message
      }))
      expect(errors).toEqual([
        expect.objectContaining({ code: "W005", file: join(dir, "good.ccat") }),
        expect.objectContaining({ code: "E090", file: join(dir, "good.ccat") }),
        {
          code: "E104",
          file: join(dir, "latin.ccat"),
          at: "1:1",
          message: notText(join(dir, "latin.ccat"), "an invalid UTF-8 sequence at offset 6")
        },
        {
          code: "E104",
          file: join(dir, "x.ccat"),
          at: "1:1",
          message: notText(join(dir, "x.ccat"), "an invalid UTF-8 sequence at offset 0")
        }
      ])

      const text = yield* runCaptured(check, [join(dir, "x.ccat")], "check")
      expect(text.code).toBe(1)
      expect(text.stdout).toContain(`error[E104]: ${notText(join(dir, "x.ccat"), "an invalid UTF-8 sequence at offset 0")}`)
      expect(text.stdout.split("\n").at(-1)).toBe("1 error in 1 file")
    }).pipe(Effect.provide(NodeContext.layer))
  )

  it("is one error in the language server too, for a file read from disk", () => {
    const documents = { all: () => [], get: () => undefined } as unknown as TextDocuments<TextDocument>
    const state = new WorkspaceState(documents, { debounceMs: 0, onCompiled: () => undefined, log: () => undefined })
    state.loadRoots([dir])
    const diagnostics = state.current().result.diagnostics
    state.dispose()
    expect(diagnostics.filter((d) => d.span.file !== join(dir, "good.ccat")).map((d) => `${d.span.file} ${d.code}`)).toEqual([
      `${join(dir, "latin.ccat")} E104`,
      `${join(dir, "x.ccat")} E104`
    ])
  })

  it("tells a NUL byte (UTF-16) from an invalid sequence, and reads UTF-8 with or without a byte order mark", () => {
    expect(sourceFromBytes("u16.ccat", Buffer.from("location", "utf16le")).notText).toEqual({ problem: "a NUL byte", offset: 1 })
    // Valid UTF-8 up to a NUL: the NUL is what is reported; an overlong "/" (0xC0 0xAF) before it wins.
    expect(sourceFromBytes("a.ccat", Buffer.from([0x61, 0xc3, 0xa9, 0x00, 0xc0])).notText).toEqual({ problem: "a NUL byte", offset: 3 })
    expect(sourceFromBytes("a.ccat", Buffer.from([0x61, 0xc0, 0xaf, 0x00])).notText).toEqual({
      problem: "an invalid UTF-8 sequence",
      offset: 1
    })
    // A sequence cut off by the end of the file.
    expect(sourceFromBytes("a.ccat", Buffer.from([0x61, 0xe2, 0x82])).notText).toEqual({ problem: "an invalid UTF-8 sequence", offset: 1 })
    expect(sourceFromBytes("a.ccat", Buffer.from("\ufeff// café 😀\n"))).toEqual({ path: "a.ccat", text: "// café 😀\n" })
  })
})

describe("`ccat fmt` of a file that is not UTF-8 text", () => {
  it.effect("refuses it and leaves its bytes as they were (decoding it would replace é and lose it)", () =>
    Effect.gen(function* () {
      const fmt = Command.run(fmtCommand, { name: "ccat fmt", version: "test" })
      const file = join(dir, "latin.ccat")
      const result = yield* runCaptured(fmt, [file], "fmt")
      expect(result.code).toBe(1)
      expect(result.stderr).toBe(
        `${file}: not formatted: not a text file (it holds an invalid UTF-8 sequence at offset 6); a .ccat file must be UTF-8 text`
      )
      expect(readFileSync(file).equals(latin1)).toBe(true)
    }).pipe(Effect.provide(NodeContext.layer))
  )
})
