import { NodeContext } from "@effect/platform-node"
import { SqlClient } from "@effect/sql"
import { Effect, Layer, ManagedRuntime, Option, Redacted } from "effect"
import { spawnSync } from "node:child_process"
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { createServer, type AddressInfo, type Socket } from "node:net"
import { join } from "node:path"
import { pathToFileURL } from "node:url"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { CompletionRequest, HoverRequest, type CompletionItem, type MarkupContent } from "vscode-languageserver-protocol"
import { compileSources } from "../src/compiler/compile.ts"
import type { IrWorkspace } from "../src/compiler/ir.ts"
import { connectionLayer } from "../src/db/database.ts"
import { seedDemo } from "../src/db/seed/index.ts"
import { groupingGroupBy, makeLiveData, type LiveData } from "../src/lsp/live-data.ts"
import { selectionQuery, subGroupKey } from "../src/runtime/selection/index.ts"
import { testBackends, testDatabase, type TestBackend } from "./support/databases.ts"
import { bundleServer, LspClient } from "./support/lsp-client.ts"
import { loadCcatFiles, repoRoot } from "./support/workspace.ts"

// Live data for the language server (src/lsp/live-data.ts): the counts and values it reads agree
// with the selection engine on the demo seed, on both backends; it connects by URL and as a guest
// of a running embedded owner; without a database it answers undefined fast, quietly, and never
// touches an embedded data dir. One protocol-level check runs the bundled server against postgres.

const temps: Array<string> = []
const temp = (prefix: string): string => {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  temps.push(dir)
  return dir
}
afterAll(() => {
  for (const dir of temps) rmSync(dir, { recursive: true, force: true })
})

const pipelinesDir = join(repoRoot, "pipelines")
const workspace = (): IrWorkspace => {
  const ir = compileSources(loadCcatFiles(pipelinesDir)).ir
  if (ir === null || ir === undefined) throw new Error("pipelines/ does not compile")
  return ir
}

/** What the selection engine itself says: distinct packages and distinct sub-group keys. */
const direct = (ir: IrWorkspace, name: string, groupBy: ReadonlyArray<string>) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const grouping = ir.groupings.find((g) => g.name === name)!
    const rows = yield* selectionQuery(sql, grouping.selection, { groupBy })
    return {
      packages: new Set(rows.map((r) => r.id)).size,
      subGroups: new Set(rows.map((r) => subGroupKey(groupBy, r as unknown as Record<string, string | null>))).size
    }
  })

const sourceNames = Effect.flatMap(SqlClient.SqlClient, (sql) => sql<{ readonly name: string }>`SELECT DISTINCT name FROM source`).pipe(
  Effect.map((rows) => rows.map((r) => r.name).sort())
)

const backendSuite = (backend: TestBackend) =>
  describe(`live data on ${backend}`, () => {
    let runtime: ManagedRuntime.ManagedRuntime<Layer.Layer.Success<ReturnType<typeof testDatabase>> | NodeContext.NodeContext, never>
    let live: LiveData
    const ir = workspace()

    beforeAll(async () => {
      runtime = ManagedRuntime.make(Layer.merge(testDatabase(backend), NodeContext.layer))
      const t0 = performance.now()
      await runtime.runPromise(seedDemo({ archiveDir: temp("ccat-live-archive-") }))
      console.log(`[${backend}] seed ${Math.round(performance.now() - t0)} ms`)
      const sql = await runtime.runPromise(SqlClient.SqlClient)
      // A generous budget: the assertions here are about the answers (the budget is tested below).
      live = makeLiveData({ layer: Layer.succeed(SqlClient.SqlClient, sql), timeoutMs: 10_000 })
    }, 60_000)
    afterAll(async () => {
      await live?.dispose()
      await runtime?.dispose()
    })

    it("counts chai_archived's packages and sub-groups as the selection engine does", async () => {
      const first = groupingGroupBy(ir, "chai_archived")
      expect(first).toBeDefined()
      expect(first!.groupBy.length).toBeGreaterThan(0)
      const grouping = ir.groupings.find((g) => g.name === "chai_archived")!
      const expected = await runtime.runPromise(direct(ir, "chai_archived", first!.groupBy))
      expect(expected.packages).toBeGreaterThan(0)
      expect(await live.groupingCounts(grouping, first!.groupBy)).toEqual(expected)
      // Without a group_by: no sub-groups; with `all`: one.
      expect(await live.groupingCounts(grouping)).toEqual({ packages: expected.packages, subGroups: undefined })
      expect(await live.groupingCounts(grouping, ["all"])).toEqual({ packages: expected.packages, subGroups: 1 })
      // Every grouping of pipelines/, with a multi-dimension group_by too.
      for (const g of ir.groupings) {
        const want = await runtime.runPromise(direct(ir, g.name, ["source", "instrument_module"]))
        expect(await live.groupingCounts(g, ["source", "instrument_module"]), g.name).toEqual(want)
      }
    })

    it("lists the seeded source names, and nothing for columns that are not strings", async () => {
      const names = await runtime.runPromise(sourceNames)
      expect(names).toContain("NGC253")
      expect(await live.columnValues("Source", "name")).toEqual(names)
      expect(await live.columnValues("Source", "kind")).toBeUndefined()
      expect(await live.columnValues("RawDataPackage", "state")).toBeUndefined()
      expect(await live.columnValues("Nope", "name")).toBeUndefined()
      // At most 200, sorted.
      const packages = await live.columnValues("RawDataPackage", "name")
      expect(packages!.length).toBe(200)
      expect([...packages!].sort()).toEqual(packages)
    })

    if (backend === "postgres") {
      it("connects by CCAT_DATABASE_URL, and the language server shows it in hover and completion", async () => {
        const database = await runtime.runPromise(
          Effect.flatMap(SqlClient.SqlClient, (sql) => sql<{ readonly db: string }>`SELECT current_database() AS db`)
        )
        const url = new URL(process.env["CCAT_TEST_POSTGRES_URL"] ?? "postgres://postgres@127.0.0.1:5432/postgres")
        url.pathname = `/${database[0]!.db}`
        const byUrl = makeLiveData({ config: { url: Option.some(Redacted.make(url.toString())), dataDir: temp("ccat-live-unused-") } })
        try {
          expect(await byUrl.columnValues("Source", "name")).toEqual(await runtime.runPromise(sourceNames))
        } finally {
          await byUrl.dispose()
        }

        // The bundled server, started with CCAT_DATABASE_URL in its environment.
        const bundle = await bundleServer()
        const saved = process.env["CCAT_DATABASE_URL"]
        process.env["CCAT_DATABASE_URL"] = url.toString()
        let client: LspClient
        try {
          client = (await LspClient.start(bundle, { rootUri: pathToFileURL(pipelinesDir).href, debounceMs: 0 })).client
        } finally {
          if (saved === undefined) delete process.env["CCAT_DATABASE_URL"]
          else process.env["CCAT_DATABASE_URL"] = saved
        }
        try {
          const standing = pathToFileURL(join(pipelinesDir, "chai", "standing.ccat")).href
          await client.open(standing, readFileSync(join(pipelinesDir, "chai", "standing.ccat"), "utf8"))
          await client.waitForVersion(standing)
          const first = groupingGroupBy(ir, "chai_archived")!
          const counts = await runtime.runPromise(direct(ir, "chai_archived", first.groupBy))
          const hover = await client.connection.sendRequest(HoverRequest.type, {
            textDocument: { uri: standing },
            position: client.positionOf(standing, "data chai_archived", 6)
          })
          const text = (hover!.contents as MarkupContent).value
          expect(text).toContain("**grouping** `chai_archived`")
          expect(text).toContain(
            `**Matches now:** ${counts.packages} raw data packages in ${counts.subGroups} sub-groups (\`group_by ${first.groupBy.join(", ")}\` of step \`${first.pipeline}.${first.step}\`)`
          )

          const scratch = pathToFileURL(join(pipelinesDir, "zz-live-data-scratch.ccat")).href
          await client.open(scratch, "grouping scratch {\n  where Source.name == \n}\n")
          const result = await client.connection.sendRequest(CompletionRequest.type, {
            textDocument: { uri: scratch },
            position: { line: 1, character: 23 }
          })
          const items: ReadonlyArray<CompletionItem> = Array.isArray(result) ? result : (result?.items ?? [])
          expect(items.map((i) => i.label)).toEqual(expect.arrayContaining(['"NGC253"', '"Orion-KL"']))
          expect(items.find((i) => i.label === '"NGC253"')?.detail).toContain("in the database")
          expect(client.logs.filter((l) => l.includes("live data"))).toEqual([])
        } finally {
          await client.stop()
        }
      }, 30_000)
    }
  })

for (const backend of testBackends) backendSuite(backend)

describe("live data without a database", () => {
  const unreachable = "postgres://postgres@127.0.0.1:1/x"

  /** Runs `f` and returns its result and how long it took. */
  const timed = async <A>(f: () => Promise<A>): Promise<{ value: A; ms: number }> => {
    const started = performance.now()
    const value = await f()
    return { value, ms: performance.now() - started }
  }

  it("answers undefined within the budget for an unreachable URL, logs once, throws nothing", async () => {
    const logs: Array<string> = []
    const live = makeLiveData({
      config: { url: Option.some(Redacted.make(unreachable)), dataDir: temp("ccat-live-unused-") },
      log: (m) => logs.push(m)
    })
    const ir = workspace()
    const grouping = ir.groupings.find((g) => g.name === "chai_archived")!
    try {
      const calls: ReadonlyArray<() => Promise<unknown>> = [
        () => live.groupingCounts(grouping, ["source"]),
        () => live.columnValues("Source", "name"),
        () => live.groupingCounts(grouping)
      ]
      for (const call of calls) {
        const { value, ms } = await timed(call)
        expect(value).toBeUndefined()
        expect(ms).toBeLessThan(1500)
      }
      // Together too: one connection attempt, all answer.
      const all = await timed(() =>
        Promise.all([live.columnValues("Source", "name"), live.groupingCounts(grouping), live.columnValues("ObsUnit", "name")])
      )
      expect(all.value).toEqual([undefined, undefined, undefined])
      expect(all.ms).toBeLessThan(1500)
      expect(logs).toHaveLength(1)
      expect(logs[0]).toContain("live data off")
      expect(logs[0]).not.toContain("failed")
    } finally {
      await live.dispose()
    }
  })

  it("answers undefined within the budget for a server that accepts but never speaks", async () => {
    // Connecting succeeds, the PostgreSQL handshake never completes: only the budget ends the wait.
    const sockets: Array<Socket> = []
    const silent = createServer((socket) => void sockets.push(socket))
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve))
    const port = (silent.address() as AddressInfo).port
    const live = makeLiveData({
      config: { url: Option.some(Redacted.make(`postgres://postgres@127.0.0.1:${port}/x`)), dataDir: temp("ccat-live-unused-") }
    })
    try {
      const { value, ms } = await timed(() => live.columnValues("Source", "name"))
      expect(value).toBeUndefined()
      expect(ms).toBeGreaterThanOrEqual(900)
      expect(ms).toBeLessThan(1500)
      // Still connecting in the background: the next call waits for the same attempt, within the budget again.
      const again = await timed(() => live.columnValues("Source", "name"))
      expect(again.value).toBeUndefined()
      expect(again.ms).toBeLessThan(1500)
    } finally {
      await live.dispose()
      for (const socket of sockets) socket.destroy()
      await new Promise<void>((resolve) => silent.close(() => resolve()))
    }
  })

  it("never creates files in an embedded data dir without a running owner", async () => {
    const empty = temp("ccat-live-embedded-")
    const missing = join(temp("ccat-live-embedded-"), "not-there")
    // A dead owner's leftovers: a server.json whose pid no longer runs.
    const stale = temp("ccat-live-embedded-")
    const deadPid = spawnSync(process.execPath, ["-e", ""]).pid
    const record = JSON.stringify({ host: "127.0.0.1", port: 1, pid: deadPid, startedAt: new Date().toISOString() })
    writeFileSync(join(stale, "server.json"), record)
    const ir = workspace()
    const grouping = ir.groupings.find((g) => g.name === "chai_archived")!
    for (const dataDir of [empty, missing, stale]) {
      const logs: Array<string> = []
      const live = makeLiveData({ config: { url: Option.none(), dataDir }, log: (m) => logs.push(m) })
      const { value, ms } = await timed(() => Promise.all([live.groupingCounts(grouping, ["source"]), live.columnValues("Source", "name")]))
      expect(value).toEqual([undefined, undefined])
      expect(ms).toBeLessThan(1500)
      expect(logs).toHaveLength(1)
      await live.dispose()
    }
    expect(readdirSync(empty)).toEqual([])
    expect(existsSync(missing)).toBe(false)
    expect(readdirSync(stale)).toEqual(["server.json"])
    expect(readFileSync(join(stale, "server.json"), "utf8")).toBe(record)
  })

  it("connects as a guest of a running embedded owner, and retries after the owner appears", async () => {
    const dataDir = join(temp("ccat-live-owner-"), "data")
    mkdirSync(dataDir)
    // Before the owner: nothing (and no retry within retryMs).
    const live = makeLiveData({ config: { url: Option.none(), dataDir }, retryMs: 0, timeoutMs: 5_000 })
    try {
      expect(await live.columnValues("Source", "name")).toBeUndefined()
      expect(readdirSync(dataDir)).toEqual([])
      // This test process becomes the owner (and so serves the folder), as `ccat serve` would.
      const owner = ManagedRuntime.make(connectionLayer({ url: Option.none(), dataDir }))
      try {
        // Just the one table the question reads (the full migrations take seconds on PGlite).
        await owner.runPromise(
          Effect.flatMap(SqlClient.SqlClient, (sql) =>
            Effect.andThen(
              sql`CREATE TABLE source (id serial PRIMARY KEY, name text)`,
              sql`INSERT INTO source (name) VALUES ('ρ Oph'), ('NGC253'), ('NGC253'), (NULL)`
            )
          )
        )
        expect(await live.columnValues("Source", "name")).toEqual(["NGC253", "ρ Oph"])
      } finally {
        await owner.dispose()
      }
    } finally {
      await live.dispose()
    }
  }, 60_000)
})
