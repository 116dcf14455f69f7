import { spawnSync } from "node:child_process"
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Either } from "effect"
import { describe, expect, it } from "vitest"
import { decodeIrWorkspace } from "../src/compiler/ir.ts"

// The CLI as a person runs it: a child process, its output and its exit code.
const ccat = (args: ReadonlyArray<string>, cwd = process.cwd()) => {
  const r = spawnSync(process.execPath, [join(process.cwd(), "bin/ccat.js"), ...args], {
    cwd,
    encoding: "utf8",
    env: { ...process.env, NO_COLOR: "1" }
  })
  return { code: r.status, stdout: r.stdout, stderr: r.stderr }
}

const scratch = (): string => mkdtempSync(join(tmpdir(), "ccat-cli-"))

const badWorkspace = `location here {
  backend local
}

software tool {
  image "docker://example/tool:{version}"
  versions "1.0.0"
  command "tool"
}

grouping everything {
  where RawDataPackage.state == "ARCHIVED"
}

pipeline p {
  data everything
  location here
  trigger continuous
  step reduce {
    run tol ^1.0
    group_by executed_obs_unit
  }
}
`

describe("ccat CLI", () => {
  it("prints help listing its commands and exits 0", () => {
    const r = ccat(["--help"])
    expect(r.code).toBe(0)
    for (const command of ["check", "compile", "fmt"]) expect(r.stdout).toContain(command)
  })

  it("checks the example pipelines cleanly", () => {
    const r = ccat(["check", "pipelines"])
    expect(r.stdout).toMatch(/^ok: \d+ files checked, no problems$/m)
    expect(r.code).toBe(0)
  })

  it("reports an error as file:line:col, the source line, a caret and a suggestion, and exits 1", () => {
    const dir = scratch()
    writeFileSync(join(dir, "bad.ccat"), badWorkspace)
    const r = ccat(["check", "bad.ccat"], dir)
    expect(r.code).toBe(1)
    const lines = r.stdout.split("\n")
    const at = lines.findIndex((l) => l.startsWith("bad.ccat:20:9: error[E011]: unknown software `tol`"))
    expect(at).toBeGreaterThanOrEqual(0)
    expect(lines[at + 1]).toBe(" 20 |     run tol ^1.0")
    expect(lines[at + 2]).toBe("    |         ^^^")
    expect(lines[at + 3]).toBe("    = help: did you mean `tool`?")
    expect(r.stdout).toMatch(/^1 error, 1 warning in 1 file$/m)
  })

  it("gives machines the same diagnostics as JSON", () => {
    const dir = scratch()
    writeFileSync(join(dir, "bad.ccat"), badWorkspace)
    const r = ccat(["check", "--json", "bad.ccat"], dir)
    expect(r.code).toBe(1)
    const report = JSON.parse(r.stdout)
    expect(report.summary).toEqual({ files: 1, errors: 1, warnings: 1 })
    const error = report.diagnostics.find((d: { code: string }) => d.code === "E011")
    expect(error.span).toEqual({
      file: "bad.ccat",
      line: 20,
      column: 9,
      endLine: 20,
      endColumn: 12,
      start: expect.any(Number),
      end: expect.any(Number)
    })
    expect(error.fixes).toEqual([{ title: "Replace with `tool`", replacement: "tool", span: error.span }])
  })

  it("exits 2 with a one-line message for a path that does not exist or an unknown flag", () => {
    const missing = ccat(["check", "no/such/folder"])
    expect(missing.code).toBe(2)
    expect(missing.stderr.trim()).toBe("error: no/such/folder: no such file or folder")
    const flag = ccat(["check", "--bogus"])
    expect(flag.code).toBe(2)
    expect(flag.stderr).toContain("unknown option")
  })

  it("compiles to an IR file that decodes with the IR schema", () => {
    const dir = scratch()
    const out = join(dir, "out", "ir.json")
    const r = ccat(["compile", "pipelines", "--out", out])
    expect(r.code).toBe(0)
    const decoded = decodeIrWorkspace(JSON.parse(readFileSync(out, "utf8")))
    expect(Either.isRight(decoded)).toBe(true)
    if (Either.isRight(decoded)) expect(decoded.right.pipelines.length).toBeGreaterThan(0)
  })

  it("refuses to compile a workspace with errors and writes nothing", () => {
    const dir = scratch()
    writeFileSync(join(dir, "bad.ccat"), badWorkspace)
    const r = ccat(["compile", "bad.ccat", "--out", "ir.json"], dir)
    expect(r.code).toBe(1)
    expect(r.stdout).toBe("")
    expect(() => readFileSync(join(dir, "ir.json"))).toThrow()
  })

  it("formats files in place; --check lists unformatted files and exits 1", () => {
    const dir = scratch()
    cpSync("pipelines", join(dir, "pipelines"), { recursive: true })
    const messy = join(dir, "pipelines", "messy.ccat")
    writeFileSync(messy, 'location   spare{ backend local   site "cologne"}\n')
    const check = ccat(["fmt", "--check", "pipelines"], dir)
    expect(check.code).toBe(1)
    expect(check.stdout.trim()).toBe(join("pipelines", "messy.ccat"))
    const fix = ccat(["fmt", "pipelines"], dir)
    expect(fix.code).toBe(0)
    expect(readFileSync(messy, "utf8")).toBe('location spare {\n  backend local\n  site "cologne"\n}\n')
    expect(ccat(["fmt", "--check", "pipelines"], dir).code).toBe(0)
  })
})
