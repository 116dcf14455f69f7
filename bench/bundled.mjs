// Runs a benchmark the way users run ccat: bundled by esbuild (as dist/ccat.mjs is), not under
// tsx, whose per-closure wrappers would inflate parse times several fold.
//   node bench/bundled.mjs compile
import { build } from "esbuild"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { pathToFileURL } from "node:url"

const name = process.argv[2] ?? "compile"
const outfile = join(tmpdir(), `ccat-bench-${name}-${process.pid}.mjs`)
await build({
  entryPoints: [new URL(`./${name}.ts`, import.meta.url).pathname],
  outfile,
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  logLevel: "warning",
  banner: { js: "import { createRequire as __ccatCreateRequire } from 'node:module'; const require = __ccatCreateRequire(import.meta.url);" }
})
process.env.CCAT_BENCH = "1"
await import(pathToFileURL(outfile).href)
