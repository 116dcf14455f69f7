import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll } from "vitest"

/** A temporary-folder maker whose folders are removed when the test file is done. */
export const scratchDirs = (prefix: string): ((name: string) => string) => {
  const dirs: Array<string> = []
  afterAll(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
  })
  return (name) => {
    const dir = mkdtempSync(join(tmpdir(), `${prefix}-${name}-`))
    dirs.push(dir)
    return dir
  }
}
