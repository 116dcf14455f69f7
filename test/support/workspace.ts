import { existsSync, readdirSync, readFileSync, statSync } from "node:fs"
import { join, relative } from "node:path"
import { fileURLToPath } from "node:url"
import type { SourceInput } from "../../src/compiler/compile.ts"

/*
 * Shared helpers of the compiler's property and golden tests: loading fixture workspaces with
 * repository-relative paths, stripping spans for span-insensitive comparisons, and a tiny seeded
 * PRNG so that randomised tests are reproducible.
 */

/** The repository root (where package.json lives). */
export const repoRoot = fileURLToPath(new URL("../../", import.meta.url))

export const validFixturesDir = join(repoRoot, "test", "fixtures", "valid")
export const goldenDir = join(repoRoot, "test", "golden")

/** Names of the valid workspaces under `test/fixtures/valid/`, sorted. */
export const validWorkspaceNames = (): Array<string> =>
  readdirSync(validFixturesDir)
    .filter((name) => statSync(join(validFixturesDir, name)).isDirectory())
    .sort()

/** Every `.ccat` file under a folder (recursively), as compiler inputs with repo-relative paths. */
export const loadCcatFiles = (dir: string): Array<SourceInput> => {
  const out: Array<SourceInput> = []
  const walk = (d: string): void => {
    for (const entry of readdirSync(d).sort()) {
      const full = join(d, entry)
      if (statSync(full).isDirectory()) walk(full)
      else if (entry.endsWith(".ccat")) out.push({ path: relative(repoRoot, full).split("\\").join("/"), text: readFileSync(full, "utf8") })
    }
  }
  if (existsSync(dir)) walk(dir)
  return out
}

/** A valid workspace's files, e.g. `test/fixtures/valid/spec-example/a.ccat`. */
export const loadWorkspace = (name: string): Array<SourceInput> => loadCcatFiles(join(validFixturesDir, name))

/** Every valid fixture file plus every `.ccat` under `pipelines/` (if any). */
export const allValidSources = (): Array<SourceInput> => [
  ...validWorkspaceNames().flatMap(loadWorkspace),
  ...loadCcatFiles(join(repoRoot, "pipelines"))
]

/** A deep copy without any `span` key: for comparing IR or AST modulo source positions. */
export const stripSpans = (value: unknown): unknown => {
  if (Array.isArray(value)) return value.map(stripSpans)
  if (value === null || typeof value !== "object") return value
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(value)) {
    if (k === "span") continue
    out[k] = stripSpans(v)
  }
  return out
}

/** Every `hash` and `fingerprint` in a value, keyed by its JSON path, e.g. `pipelines.0.steps.1.fingerprint`. */
export const collectHashes = (value: unknown): Record<string, string> => {
  const out: Record<string, string> = {}
  const walk = (v: unknown, path: string): void => {
    if (Array.isArray(v)) v.forEach((x, i) => walk(x, `${path}${path === "" ? "" : "."}${i}`))
    else if (v !== null && typeof v === "object") {
      for (const [k, x] of Object.entries(v)) {
        const p = `${path}${path === "" ? "" : "."}${k}`
        if ((k === "hash" || k === "fingerprint") && typeof x === "string") out[p] = x
        else walk(x, p)
      }
    }
  }
  walk(value, "")
  return out
}

/** mulberry32: a small, fast, seeded PRNG. Same seed, same sequence, on every platform. */
export class Rng {
  private state: number
  constructor(seed: number) {
    this.state = seed >>> 0
  }
  /** A float in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0
    let t = this.state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n)
  }
  /** An integer in [lo, hi]. */
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1)
  }
  pick<T>(xs: ReadonlyArray<T>): T {
    if (xs.length === 0) throw new Error("Rng.pick: empty array")
    return xs[this.int(xs.length)]!
  }
  chance(p: number): boolean {
    return this.next() < p
  }
  shuffle<T>(xs: ReadonlyArray<T>): Array<T> {
    const out = [...xs]
    for (let i = out.length - 1; i > 0; i--) {
      const j = this.int(i + 1)
      ;[out[i], out[j]] = [out[j]!, out[i]!]
    }
    return out
  }
}

/** Every permutation of a small array (n! of them: keep n small). */
export const permutations = <T>(xs: ReadonlyArray<T>): Array<Array<T>> => {
  if (xs.length <= 1) return [[...xs]]
  return xs.flatMap((x, i) => permutations([...xs.slice(0, i), ...xs.slice(i + 1)]).map((rest) => [x, ...rest]))
}
