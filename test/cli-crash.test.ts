import { build } from "esbuild"
import { spawn } from "node:child_process"
import { mkdirSync, rmSync } from "node:fs"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { nodeBundleOptions } from "./support/node-bundle.mjs"
import { repoRoot } from "./support/workspace.ts"

/*
 * A bug in ccat (a thrown error, a stack overflow, an Effect `die`) must never end a command
 * silently: it prints one paragraph naming the command, its input and the error, says that it
 * is a bug and what a report needs, and exits 70 (EX_SOFTWARE). Each case runs a process.
 *
 * The faults are injected (test/fixtures/cli-crash/faulty-cli.ts): the inputs that crashed the
 * compiler (a `from` chain 20 000 groupings deep overflowed the stack in lower.ts) now stop at
 * the compiler's limits (E100…), and no other real input reaches a throw.
 */

// Asynchronous: the test worker keeps answering vitest while a slow process runs.
const run = (
  args: ReadonlyArray<string>,
  env: Record<string, string> = {}
): Promise<{ code: number | null; stdout: string; stderr: string }> =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: repoRoot, env: { ...process.env, NO_COLOR: "1", CCAT_DEBUG: "", ...env } })
    let stdout = ""
    let stderr = ""
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk))
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk))
    child.on("error", reject)
    child.on("close", (code) => resolve({ code, stdout, stderr }))
  })

// A CLI around commands that fail as a bug makes ccat fail, inside ccat's own process wrapper;
// bundled once, as the real CLI is, so that each run starts in well under a second.
const faultyCliBundle = join(repoRoot, "node_modules", ".cache", "ccat-tests", `faulty-cli-${process.pid}.mjs`)

beforeAll(async () => {
  mkdirSync(join(faultyCliBundle, ".."), { recursive: true })
  await build(nodeBundleOptions(join(repoRoot, "test", "fixtures", "cli-crash", "faulty-cli.ts"), faultyCliBundle))
}, 60_000)

afterAll(() => rmSync(faultyCliBundle, { force: true }))

const faultyCli = (args: ReadonlyArray<string>, env: Record<string, string> = {}) => run([faultyCliBundle, ...args], env)

const reportLine = /^ccat: internal error: `ccat [a-z-]+` .* This is a bug in ccat, .*$/m

describe("a bug in ccat", () => {
  it("(crash injected) a defect in a command prints one paragraph with the command, its input and the error, says it is a bug in ccat, and exits 70", async () => {
    const r = await faultyCli(["die", "pipelines/chai.ccat", "--json"])
    expect(r.code).toBe(70)
    expect(r.stdout).toBe("")
    const lines = r.stderr.trimEnd().split("\n")
    expect(lines).toHaveLength(1)
    expect(lines[0]).toMatch(reportLine)
    expect(lines[0]).toContain('`ccat die` with "pipelines/chai.ccat" "--json"')
    expect(lines[0]).toContain("RangeError: Maximum call stack size exceeded")
    expect(lines[0]).toContain("the ccat version (0.0.0-test)")
    expect(lines[0]).toContain("CCAT_DEBUG=1")
    expect(r.stderr).not.toMatch(/^\s+at /m)
  })

  it("(crash injected) an error thrown inside a command is reported the same way, exit 70", async () => {
    const r = await faultyCli(["throw", "a.ccat"])
    expect(r.code).toBe(70)
    expect(r.stderr).toMatch(reportLine)
    expect(r.stderr).toContain("TypeError: Cannot read properties of undefined (reading 'span')")
  })

  it("(crash injected) shows hostile input escaped and long input shortened, never passed to the terminal", async () => {
    const hostile = "evil\u001b[2J\u001b]0;owned\u0007name\u202e.ccat\nsecond line"
    const long = "x".repeat(500)
    const r = await faultyCli(["die", hostile, long, ...Array.from({ length: 12 }, (_, i) => `f${i}.ccat`)])
    expect(r.code).toBe(70)
    expect(r.stderr.trimEnd().split("\n")).toHaveLength(1)
    expect(r.stderr).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f\u202e]/)
    expect(r.stderr).toContain('"evil\\u{1b}[2J\\u{1b}]0;owned\\u{7}name\\u{202e}.ccat\\nsecond line"')
    expect(r.stderr).toContain("(500 characters)")
    expect(r.stderr).not.toContain("x".repeat(100))
    expect(r.stderr).toContain("and 6 more arguments")
  })

  it("(crash injected) CCAT_DEBUG=1 adds the stack trace after the paragraph", async () => {
    const r = await faultyCli(["die", "a.ccat"], { CCAT_DEBUG: "1" })
    expect(r.code).toBe(70)
    const [paragraph, ...rest] = r.stderr.split("\n")
    expect(paragraph).toMatch(reportLine)
    expect(paragraph).toContain("the stack trace to include follows")
    expect(rest.join("\n")).toMatch(/RangeError: Maximum call stack size exceeded\n\s+at /)
  })

  it("(crash injected) an exception thrown outside the command (in a timer) gets the same report and exit 70", async () => {
    const r = await faultyCli(["throw-later", "a.ccat"])
    expect(r.code).toBe(70)
    expect(r.stderr.trimEnd().split("\n")).toHaveLength(1)
    expect(r.stderr).toMatch(reportLine)
    expect(r.stderr).toContain('`ccat throw-later` with "a.ccat"')
    expect(r.stderr).toContain("Error: thrown in a timer")
  })

  it("(crash injected) a promise rejection nobody handles gets the same report and exit 70", async () => {
    const r = await faultyCli(["reject"])
    expect(r.code).toBe(70)
    expect(r.stderr).toMatch(reportLine)
    expect(r.stderr).toContain("`ccat reject` with no arguments")
    expect(r.stderr).toContain("Error: rejected and never awaited")
  })
})
