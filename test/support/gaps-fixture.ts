import { join } from "node:path"
import { compileSources } from "../../src/compiler/compile.ts"
import type { IrWorkspace } from "../../src/compiler/ir.ts"
import { loadCcatFiles, repoRoot } from "./workspace.ts"

/*
 * The small gaps fixture (test/fixtures/gaps/common: a grouping of six NGC1068 scans and two DR21
 * scans of CHAI) that a test adds one pipeline of its own to.
 */

/** The fixture workspace plus one pipeline file, compiled; throws with the diagnostics where it does not compile. */
export const fixtureWithPipeline = (path: string, text: string): IrWorkspace => {
  const files = [...loadCcatFiles(join(repoRoot, "test", "fixtures", "gaps", "common")), { path, text }]
  const result = compileSources(files)
  if (result.ir === undefined) throw new Error(result.diagnostics.map((d) => d.message).join("; "))
  return result.ir
}
