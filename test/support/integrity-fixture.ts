import { createHash } from "node:crypto"
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { compileSources } from "../../src/compiler/compile.ts"
import { repoRoot } from "./workspace.ts"

/*
 * test/fixtures/execution/integrity.ccat, the workspace of the result-integrity and collection
 * tests: one step whose program (bin/ccat-test-program) misbehaves as its config's `mode` says.
 */

const fixture = readFileSync(join(repoRoot, "test", "fixtures", "execution", "integrity.ccat"), "utf8")

export interface ProgramConfig {
  readonly mode: string
  readonly state: string
  readonly bytes?: number
}

/** The fixture with the program's config (and an `outputs` block) of a test, compiled. */
export const compileIntegrity = (program: ProgramConfig, outputs?: string) => {
  let text = fixture.replace(
    'config { mode = "good"  state = "STATE"  bytes = 1024 }',
    `config { mode = ${JSON.stringify(program.mode)}  state = ${JSON.stringify(program.state)}  bytes = ${program.bytes ?? 1024} }`
  )
  if (outputs !== undefined) text = text.replace("retries 1", `retries 1\n    ${outputs}`)
  const result = compileSources([{ path: "integrity.ccat", text }])
  if (result.ir === undefined) throw new Error(result.diagnostics.map((d) => d.message).join("\n"))
  return result.ir
}

/** A file's SHA-256, as collection records it. */
export const sha256 = (path: string): string => createHash("sha256").update(readFileSync(path)).digest("hex")
