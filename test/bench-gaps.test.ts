import { Effect } from "effect"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { adminUrl, withAdmin } from "./support/databases.ts"
import { runProcess } from "./support/run-process.ts"
import { repoRoot } from "./support/workspace.ts"

// bench/gaps, as `npm run bench:gaps` runs it (bundled), on a tiny archive: it must keep
// working as the code it times changes. Times are printed, never asserted; what is asserted is
// what the bench checks about itself while it times: a settled archive creates no runs, the plan
// preview from memory creates what the loop's pass then creates (its "warning:" lines), every
// measure has a row, and its database is dropped afterwards.

const bench = (...args: Array<string>) =>
  runProcess(process.execPath, [join(repoRoot, "bench", "bundled.mjs"), "gaps", ...args], {
    cwd: repoRoot,
    timeoutMs: 400_000,
    env: { ...process.env, CCAT_BENCH_POSTGRES_URL: adminUrl, NO_COLOR: "1" }
  })

const databaseExists = (name: string) =>
  Effect.runPromise(
    withAdmin((sql) => sql<{ n: number }>`SELECT count(*)::int AS n FROM pg_database WHERE datname = ${name}`).pipe(
      Effect.map((rows) => (rows[0]?.n ?? 0) > 0)
    )
  )

describe("bench/gaps", () => {
  it("times every measure on a small archive, finds nothing amiss, and drops its database", async () => {
    const { status, stdout, stderr } = await bench("--sizes", "200")
    expect(stderr, stdout.slice(-2000)).toBe("")
    expect(status).toBe(0)
    const created = /created database (ccat_bench_[0-9a-f]+)/.exec(stdout)?.[1]
    expect(created).toBeDefined()
    expect(stdout).toContain(`dropped database ${created}`)
    expect(await databaseExists(created!)).toBe(false)
    // The bench's own checks: a settled archive creates nothing; preview and pass agree.
    expect(stdout.split("\n").filter((l) => l.includes("warning:"))).toEqual([])
    for (const measure of [
      "first pass:",
      "full pass median",
      "unchanged pass (remembering) median",
      "incremental pass median",
      "plan preview from the loop's memory median"
    ]) {
      expect(stdout, measure).toContain(measure)
    }
    const header = stdout.split("\n").findIndex((l) => l.startsWith("size ") && l.includes("full pass median"))
    expect(header).toBeGreaterThan(0)
    const row = stdout.split("\n")[header + 2] ?? ""
    expect(row).toMatch(/^200\s+\S/)
    expect(row).not.toMatch(/failed|interrupted/)
  }, 420_000)

  it("refuses a size it cannot read, before creating anything", async () => {
    const { status, stdout, stderr } = await bench("--sizes", "10x")
    expect(status).toBe(2)
    expect(stderr.trim()).toBe('bench/gaps: not a package count: "10x" (use e.g. 10000, 100k or 1M)')
    expect(stdout).not.toContain("created database")
  }, 60_000)
})
