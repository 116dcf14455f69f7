/*
 * Does the compiler stay linear in the size of one file? Generates single files of growing size,
 * each of one shape (steps in a chain of `after`, independent steps, groupings inheriting in
 * chains of `from` as deep as the limit allows, a file of nothing but errors), and prints the
 * CPU time and the heap per unit for each size: linear means the per-unit numbers stay flat as
 * the size doubles. CPU time, not wall time, so a busy machine blurs it less.
 *
 *   node bench/bundled.mjs compile-sizes            # bundled, as users run it
 *   node bench/bundled.mjs compile-sizes 100000     # up to 100k units (default 50k)
 *
 * Nothing is asserted; see bench/README.md ("Sizes") for what was measured.
 */
import { compileSources } from "../src/compiler/compile.ts"
import { maxNesting } from "../src/compiler/limits.ts"

const head = `location here { site "cologne" backend local base_dir "/data" }
software tool { image "docker://example.org/tool:{version}" versions "1.0.0" command "run {config.a}" }
grouping archived { where RawDataPackage.state == "ARCHIVED" }
`

const shapes: Record<string, (n: number) => string> = {
  "steps in a chain of after": (n) =>
    `${head}pipeline reduce {\n  data archived location here trigger continuous\n${Array.from(
      { length: n },
      (_, i) => `  step s${i} {${i > 0 ? ` after s${i - 1}` : ""} run tool 1.0.0 group_by all config { a = ${i} } }`
    ).join("\n")}\n}\n`,
  "independent steps": (n) =>
    `${head}pipeline reduce {\n  data archived location here trigger continuous\n${Array.from(
      { length: n },
      (_, i) => `  step s${i} { run tool 1.0.0 group_by all config { a = ${i} } }`
    ).join("\n")}\n}\n`,
  // Chains as deep as the limit: each grouping's selection holds its ancestors' rules.
  "groupings in chains of from": (n) =>
    `${head}${Array.from({ length: n }, (_, i) =>
      i % maxNesting === 0
        ? `grouping g${i} { where Source.name != "s${i}" }`
        : `grouping g${i} { from g${i - 1} where Source.name != "s${i}" }`
    ).join("\n")}\n`,
  "errors only": (n) => Array.from({ length: n }, (_, i) => (i % 2 === 0 ? "; " : "@ ")).join("")
}

const cpuMs = (): number => {
  const u = process.cpuUsage()
  return (u.user + u.system) / 1000
}

const largest =
  process.argv
    .slice(2)
    .map(Number)
    .find((x) => Number.isFinite(x)) ?? 50_000
const sizes: Array<number> = []
for (let n = Math.max(1000, Math.floor(largest / 8)); n <= largest; n *= 2) sizes.push(n)

for (const [shape, generate] of Object.entries(shapes)) {
  console.log(`\n${shape}`)
  console.log("units      MB   cpu ms   µs/unit   heap MB   diagnostics")
  for (const n of sizes) {
    const text = generate(n)
    globalThis.gc?.()
    const heapBefore = process.memoryUsage().heapUsed
    const start = cpuMs()
    const result = compileSources([{ path: "size.ccat", text }])
    const cpu = cpuMs() - start
    const heap = (process.memoryUsage().heapUsed - heapBefore) / 1e6
    console.log(
      `${String(n).padStart(6)} ${(text.length / 1e6).toFixed(1).padStart(6)} ${cpu.toFixed(0).padStart(8)} ${((cpu * 1000) / n).toFixed(1).padStart(9)} ${heap.toFixed(0).padStart(9)}   ${result.diagnostics.length}`
    )
  }
}
