import { spawn } from "node:child_process"
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { repoRoot } from "./support/workspace.ts"

// The Quick start's demo end to end, as a newcomer runs it (`ccat demo`, embedded database,
// local backend), twice: the first run produces every CHAI map with its lineage and plot; the
// second reuses everything and runs nothing.

const cwd = mkdtempSync(join(tmpdir(), "ccat-demo-"))
afterAll(() => rmSync(cwd, { recursive: true, force: true }))

const demo = () =>
  new Promise<{ status: number | null; stdout: string; stderr: string; seconds: number }>((resolve) => {
    const started = Date.now()
    const child = spawn(process.execPath, [join(repoRoot, "bin", "ccat.js"), "demo", "--dir", join(repoRoot, "pipelines")], {
      cwd,
      env: { ...process.env, NO_COLOR: "1", CCAT_DATABASE_URL: "", CCAT_DATA_DIR: "", CCAT_BASE_DIR: "", CCAT_SOFTWARE_PATH: "" }
    })
    let stdout = ""
    let stderr = ""
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()))
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()))
    child.on("exit", (status) => resolve({ status, stdout, stderr, seconds: (Date.now() - started) / 1000 }))
  })

/** The `runs of this serve` tables of the output, as [step, runs, completed, failed]. */
const serveTables = (out: string) =>
  [...out.matchAll(/runs of this serve:\n[^\n]*\n((?:\w+ +\d+ +\d+ +\d+ +\d+ +\d+ s\n)+)/g)].map((m) =>
    m[1]!
      .trim()
      .split("\n")
      .map((line) => line.split(/ +/).slice(0, 4))
  )

describe("ccat demo", () => {
  it("produces the CHAI maps with lineage and a plot, processes only the new night, plans a config change; a second run does nothing", async () => {
    const first = await demo()
    expect(first.status, first.stderr).toBe(0)
    const [all, more] = serveTables(first.stdout)
    // Every scan calibrated and baselined, every source and line mapped, nothing failed.
    expect(all!.map((r) => r[0])).toEqual(["calibrate", "baseline", "map"])
    for (const [step, runs, completed, failed] of all!) {
      expect(Number(runs), step).toBeGreaterThan(0)
      expect(completed, step).toBe(runs)
      expect(failed, step).toBe("0")
    }
    // The new night: its twelve scans only.
    expect(more).toEqual([
      ["calibrate", "12", "12", "0"],
      ["baseline", "12", "12", "0"],
      ["map", "0", "0", "0"]
    ])
    // The lineage tree reaches raw packages through every step.
    const tree = first.stdout.slice(first.stdout.indexOf("== 3."), first.stdout.indexOf("== 4."))
    expect(tree).toMatch(/chai_standing\.map/)
    expect(tree).toMatch(/chai_standing\.baseline/)
    expect(tree).toMatch(/chai_standing\.calibrate/)
    expect(tree).toMatch(/raw package chai_(lfa|hfa)_\d{8}_\d{3}/)
    const plot = /Its plot: (\S+\.png)/.exec(first.stdout)![1]!
    const png = readFileSync(join(cwd, plot))
    expect(png.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))
    expect(png.subarray(12, 16).toString("latin1")).toBe("IHDR")
    // The planned config change reprocesses every scan, and says why.
    expect(first.stdout).toMatch(/config\.tsys_max_k: 4000 → 3500/)
    expect(first.stdout).toMatch(/calibrate +\d+ runs +CONFIG_CHANGED \d+/)
    expect(existsSync(join(cwd, ".ccat", "runs", "chai_standing", "map"))).toBe(true)
    console.log(`first demo run: ${first.seconds.toFixed(1)} s`)

    const second = await demo()
    expect(second.status, second.stderr).toBe(0)
    expect(second.stdout).toContain("The demo observatory is already seeded.")
    expect(second.stdout).toMatch(/is applied already \(generation 1\)/)
    expect(second.stdout).toContain("The extra night was added on an earlier run")
    // Nothing ran again: speed comes from doing nothing, measured and printed, not asserted.
    for (const table of serveTables(second.stdout)) for (const [, runs] of table) expect(runs).toBe("0")
    console.log(`second demo run: ${second.seconds.toFixed(1)} s`)
  }, 900_000)
})
