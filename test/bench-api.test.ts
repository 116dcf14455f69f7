import { Effect } from "effect"
import { randomBytes } from "node:crypto"
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { adminUrl, withAdmin } from "./support/databases.ts"
import { runProcess } from "./support/run-process.ts"
import { scratchDirs } from "./support/scratch.ts"
import { repoRoot } from "./support/workspace.ts"

// bench/api, as `node bench/bundled.mjs api` runs it, on a small seed: it must keep working as
// the API and the schema change. Times are printed, never asserted; what is asserted is what the
// bench checks itself (every answer 200, lists non-empty, newest first and matching their
// filter), that every endpoint has its row, and that a second run reuses the seeded database.

const tempDir = scratchDirs("ccat-bench-api")
const database = `ccat_bench_api_test_${randomBytes(4).toString("hex")}`
const databaseUrl = (() => {
  const url = new URL(adminUrl)
  url.pathname = `/${database}`
  return url.toString()
})()

afterAll(() => Effect.runPromise(withAdmin((sql) => sql.unsafe(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`))))

const bench = (out: string) =>
  runProcess(
    process.execPath,
    [join(repoRoot, "bench", "bundled.mjs"), "api", "--small", "--requests", "3", "--warmup", "1", "--out", out],
    { cwd: repoRoot, timeoutMs: 120_000, env: { ...process.env, CCAT_BENCH_DATABASE_URL: databaseUrl, NO_COLOR: "1" } }
  )

interface BenchJson {
  readonly runs: number
  readonly products: number
  readonly reused: boolean
  readonly lists: ReadonlyArray<{ readonly name: string; readonly n: number; readonly problem: string | null }>
  readonly previews: ReadonlyArray<{ readonly name: string; readonly problem: string | null }>
}

describe("bench/api", () => {
  it("seeds a small database, times every endpoint with right answers, and reuses the seed the next time", async () => {
    const out = join(tempDir("out"), "api.json")
    const first = await bench(out)
    expect(first.stderr, first.stdout.slice(-3000)).toBe("")
    expect(first.status).toBe(0)
    expect(first.stdout).toContain(`created database ${database}`)
    expect(first.stdout).not.toContain("error:")
    const results = JSON.parse(readFileSync(out, "utf8")) as BenchJson
    expect(results).toMatchObject({ runs: 2000, products: 12_000, reused: false })
    const table = first.stdout.split("\n")
    for (const row of results.lists) {
      expect(row).toMatchObject({ n: 3, problem: null })
      expect(table.some((line) => line.startsWith(`${row.name} `))).toBe(true)
    }
    for (const name of [
      "runs ?status=CANCELLED",
      "runs ?subGroup= (a scan)",
      "products ?pipeline= (3 steps)",
      "products/{id}/lineage (a map product)"
    ])
      expect(results.lists.map((l) => l.name)).toContain(name)
    expect(results.previews.map((p) => [p.name, p.problem])).toEqual([
      ["why ?subGroup= (a scan)", null],
      ["why (a whole step)", null],
      ["pipelines (overview)", null]
    ])

    const second = await bench(out)
    expect(second.status, second.stdout.slice(-3000)).toBe(0)
    expect(second.stdout).toContain(`reusing database ${database}`)
    expect(second.stdout).not.toContain(`seeding ${database}`)
    expect((JSON.parse(readFileSync(out, "utf8")) as BenchJson).reused).toBe(true)
  }, 240_000)
})
