// Runs a benchmark the way users run ccat: bundled by esbuild (as dist/ccat.mjs is), not under
// tsx, whose per-closure wrappers would inflate parse times several fold.
//   node bench/bundled.mjs compile      (or lsp, gaps, api: bench/<name>.ts)
import { build } from "esbuild"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"
import { nodeBundleOptions } from "../test/support/node-bundle.mjs"

const name = process.argv[2] ?? "compile"
const outfile = join(tmpdir(), `ccat-bench-${name}-${process.pid}.mjs`)
await build(nodeBundleOptions(new URL(`./${name}.ts`, import.meta.url).pathname, outfile))
process.env.CCAT_BENCH = "1"
// The bundle runs from a temporary file: where bench/ is, for what a bench writes next to itself.
process.env.CCAT_BENCH_DIR = fileURLToPath(new URL(".", import.meta.url))
await import(pathToFileURL(outfile).href)
