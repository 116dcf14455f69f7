import { readFileSync } from "node:fs"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { runProcess } from "./support/run-process.ts"
import { repoRoot } from "./support/workspace.ts"

// The README's commands are real: every `ccat …` in its command table and its shell blocks
// names a command that exists and only flags its `--help` lists; every `npm run …` is a script.

const readme = readFileSync(join(repoRoot, "README.md"), "utf8")
const scriptsIn = (dir: string) =>
  Object.keys((JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as { scripts: Record<string, string> }).scripts)

const help = async (words: ReadonlyArray<string>) => {
  const r = await runProcess(process.execPath, [join(repoRoot, "bin", "ccat.js"), ...words, "--help"], {
    cwd: repoRoot,
    env: { ...process.env, NO_COLOR: "1" },
    timeoutMs: 60_000
  })
  return { status: r.status, text: r.stdout + r.stderr }
}

/** `ccat db seed --demo [--more]` → the command words and the flags. */
const parse = (line: string) => {
  const tokens = line.replace(/^(npx )?ccat\s+/, "").split(/\s+/)
  const words: Array<string> = []
  for (const t of tokens) {
    if (!/^[a-z]+$/.test(t)) break
    words.push(t)
  }
  return { words, flags: [...line.matchAll(/--[a-z][a-z-]*/g)].map((m) => m[0]) }
}

const tableCommands = [...readme.matchAll(/^\| `((?:npx )?ccat [^`]+)` \|/gm)].map((m) => m[1]!)
const shellLines = [...readme.matchAll(/```sh\n([\s\S]*?)```/g)]
  .flatMap((m) => m[1]!.split("\n"))
  .map((l) => l.replace(/#.*$/, "").trim())
  .filter((l) => l !== "")

describe("README", () => {
  it("documents every command in its table, and the table's flags exist", async () => {
    expect(tableCommands.length).toBeGreaterThanOrEqual(19)
    const listed = new Set(tableCommands.map((c) => parse(c).words.join(" ")))
    for (const command of [
      "check",
      "compile",
      "fmt",
      "plan",
      "apply",
      "run",
      "why",
      "serve",
      "status",
      "runs",
      "logs",
      "cancel",
      "retry",
      "lineage",
      "demo",
      "db migrate",
      "db status",
      "db seed",
      "lsp",
      "token create",
      "token list",
      "token revoke"
    ]) {
      expect(listed, command).toContain(command)
    }
    for (const command of tableCommands) {
      const { words, flags } = parse(command)
      const { status, text } = await help(words)
      expect(status, `ccat ${words.join(" ")} --help`).toBe(0)
      for (const flag of flags) expect(text, `${command}: ${flag}`).toContain(flag)
    }
  }, 120_000)

  it("runs only real commands in its shell blocks", async () => {
    expect(shellLines.length).toBeGreaterThan(0)
    for (const line of shellLines) {
      let dir = repoRoot
      for (const part of line.split("&&").map((p) => p.trim())) {
        const cd = /^cd (\S+)$/.exec(part)
        if (cd !== null) dir = join(dir, cd[1]!)
        const npmRun = /^npm run ([\w:-]+)/.exec(part)
        if (npmRun !== null) expect(scriptsIn(dir), part).toContain(npmRun[1])
        if (/^(npx )?ccat /.test(part)) {
          const { words, flags } = parse(part)
          const { status, text } = await help(words)
          expect(status, part).toBe(0)
          for (const flag of flags) expect(text, `${part}: ${flag}`).toContain(flag)
        }
      }
    }
  }, 120_000)
})
