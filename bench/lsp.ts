/*
 * Language server latency benchmark. Generates realistic workspaces of about 1k and 5k lines
 * (the compile bench's generator, files of about 500 lines), plus the 5k lines as one single
 * file, writes them to a temporary folder, starts the server as a child process (the bundle of
 * src/lsp/stdio-main.ts, as test/support/lsp-client.ts does) and drives it over stdio with a
 * real JSON-RPC client, the way an editor does:
 *
 *   node bench/bundled.mjs lsp      # or: npx tsx bench/lsp.ts
 *
 * It measures, per size:
 * - diagnostics: a small edit (`didChange`) in one open file until `publishDiagnostics` for
 *   that version arrives; once with the debounce set to 0 (the cost of the recompile and
 *   publish) and twice with the default debounce: edits back to back (each sent the moment the
 *   previous diagnostics arrive, a burst faster than typing, which the server coalesces) and
 *   edits at a typing pace (one every TYPING_PAUSE_MS after the previous diagnostics, as a
 *   brisk typist's keystrokes, which the server compiles at once);
 * - completion: a `textDocument/completion` request inside a step (after `run `), on a warm
 *   workspace, and right after an edit (the request then compiles the workspace itself);
 * - hover: a `textDocument/hover` request on a reference (the pipeline's `data` grouping).
 *
 * It prints median and p95 per measure; nothing is asserted. Goals (issue 6): diagnostics p95
 * < 50 ms and completion p95 < 20 ms on the 5k-line file.
 */
import { createRequire } from "node:module"
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { dirname, join } from "node:path"
import { performance } from "node:perf_hooks"
import { pathToFileURL } from "node:url"
import { CompletionRequest, HoverRequest, type CompletionItem, type CompletionList } from "vscode-languageserver-protocol"
import type { SourceInput } from "../src/compiler/compile.ts"
import { LspClient } from "../test/support/lsp-client.ts"
import { nodeBundleOptions } from "../test/support/node-bundle.mjs"

const EDITS = 50
const COMPLETIONS = 200
const HOVERS = 200
const EDIT_THEN_COMPLETE = 50
const WARMUP = 5
// A keystroke every 100 ms is 10 keys a second, a brisk typist's pace.
const TYPING_PAUSE_MS = 100

// Captured before anything else runs: bench/compile.ts runs its own main on import when
// CCAT_BENCH is set, so main() imports it with the variable cleared.
const runMain = process.argv[1]?.endsWith("lsp.ts") === true || process.env.CCAT_BENCH === "1"

/** The repository root: bundled, this module lives in the temporary folder, so look from the cwd. */
const findRoot = (): string => {
  for (let dir = process.cwd(); ; dir = dirname(dir)) {
    if (existsSync(join(dir, "src", "lsp", "stdio-main.ts"))) return dir
    if (dirname(dir) === dir) throw new Error("bench/lsp: run it from the ccat repository (src/lsp/stdio-main.ts not found)")
  }
}

/** Bundles the server entry the way the tests do (test/support/lsp-client.ts). */
const bundleServer = async (root: string, outDir: string): Promise<string> => {
  // esbuild from the repository's node_modules, loaded at run time: bench/bundled.mjs bundles
  // this file, and esbuild's JS API cannot run from inside a bundle.
  const { build } = createRequire(join(root, "package.json"))("esbuild") as typeof import("esbuild")
  const outfile = join(outDir, "lsp-server.mjs")
  await build(nodeBundleOptions(join(root, "src", "lsp", "stdio-main.ts"), outfile))
  return outfile
}

const countLines = (text: string): number => text.split("\n").length - (text.endsWith("\n") ? 1 : 0)

const percentile = (xs: ReadonlyArray<number>, p: number): number => {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!
}

interface Case {
  readonly label: string
  readonly files: ReadonlyArray<SourceInput>
}

interface Measure {
  readonly size: string
  readonly name: string
  readonly samples: ReadonlyArray<number>
}

/** A server on a fresh folder holding `files`, all of them opened; resolves when diagnostics are in. */
const startOn = async (bundle: string, scratch: string, files: ReadonlyArray<SourceInput>, debounceMs: number | undefined) => {
  const dir = mkdtempSync(join(scratch, "ws-"))
  const uris: Array<string> = []
  for (const f of files) {
    const path = join(dir, f.path.split("/").pop()!)
    writeFileSync(path, f.text)
    uris.push(pathToFileURL(path).href)
  }
  const { client } = await LspClient.start(bundle, {
    rootUri: pathToFileURL(dir).href,
    ...(debounceMs === undefined ? {} : { debounceMs })
  })
  for (const [i, f] of files.entries()) await client.open(uris[i]!, f.text)
  for (const uri of uris) await client.waitForVersion(uri, 60_000)
  const errors = [...client.diagnostics.values()].flatMap((p) => p.diagnostics).filter((d) => d.severity === 1)
  if (errors.length > 0)
    throw new Error(`bench/lsp: the generated workspace has ${errors.length} errors, e.g. ${errors[0]!.code} ${errors[0]!.message}`)
  // The file that is edited: one in the middle with a pipeline, a step and its `data`.
  const candidates = files
    .map((f, i) => ({ f, i }))
    .filter(({ f }) => f.text.includes("\n  priority ") && f.text.includes("    run ") && f.text.includes("\n  data "))
  const target = uris[candidates[Math.floor(candidates.length / 2)]!.i]!
  return { client, target }
}

/** A small edit that keeps the file valid: the pipeline's priority alternates between two values. */
const editPriority = async (client: LspClient, uri: string, iteration: number): Promise<void> => {
  const start = client.positionOf(uri, "\n  priority ", "\n  priority ".length)
  const line = client.document(uri).getText({ start, end: { line: start.line + 1, character: 0 } })
  const digits = /^\d+/.exec(line)![0]
  await client.edit(
    uri,
    { start, end: { line: start.line, character: start.character + digits.length } },
    String(iteration % 2 === 0 ? 21 : 7)
  )
}

const timed = async (fn: () => Promise<unknown>): Promise<number> => {
  const start = performance.now()
  await fn()
  return performance.now() - start
}

/** The times `measure` gives for runs WARMUP + 1 to WARMUP + n (it is told the run's index). */
const samples = async (n: number, measure: (i: number) => Promise<number>): Promise<Array<number>> => {
  const out: Array<number> = []
  for (let i = 0; i < WARMUP + n; i++) {
    const ms = await measure(i)
    if (i >= WARMUP) out.push(ms)
  }
  return out
}

/** The time from an edit until its diagnostics arrive. */
const editAndWait = (client: LspClient, uri: string, iteration: number): Promise<number> =>
  timed(async () => {
    await editPriority(client, uri, iteration)
    await client.waitForVersion(uri)
  })

const complete = (client: LspClient, uri: string) =>
  client.connection.sendRequest(CompletionRequest.type, {
    textDocument: { uri },
    position: client.positionOf(uri, "    run ", "    run ".length)
  })

const hover = (client: LspClient, uri: string) =>
  client.connection.sendRequest(HoverRequest.type, {
    textDocument: { uri },
    position: client.positionOf(uri, "\n  data ", "\n  data ".length + 2)
  })

const itemsOf = (r: CompletionItem[] | CompletionList | null): number => (r === null ? 0 : Array.isArray(r) ? r.length : r.items.length)

const measureCase = async (bundle: string, scratch: string, c: Case): Promise<Array<Measure>> => {
  const out: Array<Measure> = []
  const push = (name: string, times: ReadonlyArray<number>): void => void out.push({ size: c.label, name, samples: times })

  // Server 1, no debounce: the cost of recompiling and publishing, of completion and of hover.
  {
    const { client, target } = await startOn(bundle, scratch, c.files, 0)
    try {
      push("diagnostics after edit (debounce 0)", await samples(EDITS, (i) => editAndWait(client, target, i)))

      const first = await complete(client, target)
      if (itemsOf(first) === 0) throw new Error("bench/lsp: completion after `run ` offered nothing")
      push("completion (warm)", await samples(COMPLETIONS, () => timed(() => complete(client, target))))

      const firstHover = await hover(client, target)
      if (firstHover === null) throw new Error("bench/lsp: hover on the `data` reference returned nothing")
      push("hover on a reference", await samples(HOVERS, () => timed(() => hover(client, target))))
    } finally {
      await client.stop()
    }
  }

  // Server 2, the default debounce: what an editor sees.
  {
    const { client, target } = await startOn(bundle, scratch, c.files, undefined)
    try {
      push("diagnostics after edit (default debounce)", await samples(EDITS, (i) => editAndWait(client, target, i)))

      const typing = await samples(EDITS, async (i) => {
        await new Promise((resolve) => setTimeout(resolve, TYPING_PAUSE_MS))
        return editAndWait(client, target, i)
      })
      push(`diagnostics after edit, typing pace (default debounce)`, typing)

      // Typing then asking: the completion request compiles the edited workspace itself.
      const afterEdit = await samples(EDIT_THEN_COMPLETE, async (i) => {
        await editPriority(client, target, i)
        const ms = await timed(() => complete(client, target))
        await client.waitForVersion(target)
        return ms
      })
      push("completion right after an edit", afterEdit)
    } finally {
      await client.stop()
    }
  }
  return out
}

const printTable = (measures: ReadonlyArray<Measure>): void => {
  const header = ["size", "measure", "n", "median ms", "p95 ms", "max ms"]
  const body = measures.map((m) => [
    m.size,
    m.name,
    String(m.samples.length),
    percentile(m.samples, 50).toFixed(1),
    percentile(m.samples, 95).toFixed(1),
    Math.max(...m.samples).toFixed(1)
  ])
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((r) => r[i]!.length)))
  const line = (cells: ReadonlyArray<string>): string =>
    cells.map((cell, i) => (i < 2 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join("  ")
  console.log(line(header))
  console.log(widths.map((w) => "-".repeat(w)).join("  "))
  for (const r of body) console.log(line(r))
}

const main = async (): Promise<void> => {
  const saved = process.env.CCAT_BENCH
  delete process.env.CCAT_BENCH
  const { generateWorkspace } = await import("./compile.ts")
  if (saved !== undefined) process.env.CCAT_BENCH = saved

  const root = findRoot()
  const scratch = mkdtempSync(join(tmpdir(), "ccat-bench-lsp-"))
  try {
    mkdirSync(scratch, { recursive: true })
    const bundle = await bundleServer(root, scratch)
    const one = generateWorkspace(1_000, 0xccad + 1_000)
    const five = generateWorkspace(5_000, 0xccad + 5_000)
    const cases: Array<Case> = [
      { label: "1k", files: one },
      { label: "5k", files: five },
      { label: "5k, one file", files: [{ path: "bench/ws/all.ccat", text: five.map((f) => f.text).join("\n") }] }
    ]
    // CCAT_BENCH_LSP_CASES=one (a substring of the labels) runs only the matching cases.
    const only = process.env.CCAT_BENCH_LSP_CASES
    const measures: Array<Measure> = []
    for (const c of cases.filter((c) => only === undefined || c.label.includes(only))) {
      const lines = c.files.reduce((n, f) => n + countLines(f.text), 0)
      console.log(`${c.label}: ${lines} lines in ${c.files.length} file(s), all open`)
      measures.push(...(await measureCase(bundle, scratch, c)))
    }
    console.log()
    console.log(
      `${EDITS} edits, ${COMPLETIONS} completions, ${HOVERS} hovers, ${EDIT_THEN_COMPLETE} edit+completion per size after ${WARMUP} warm-ups; node ${process.version}`
    )
    printTable(measures)
  } finally {
    rmSync(scratch, { recursive: true, force: true })
  }
}

if (runMain) {
  main().catch((error: unknown) => {
    console.error(error)
    process.exit(1)
  })
}
