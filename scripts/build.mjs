// Bundles the CLI into dist/ccat.mjs, run by `npm ci`/`npm install` (the `prepare` script).
// One file loads in a fraction of the time of hundreds of ES modules: `ccat --help` in ~0.5 s.
// Then the web dashboard `ccat serve` ships (dist/dashboard/, scripts/build-dashboard.mjs).
import { build } from "esbuild"
import { buildDashboard } from "./build-dashboard.mjs"

await build({
  entryPoints: [new URL("../src/cli/main.ts", import.meta.url).pathname],
  outfile: new URL("../dist/ccat.mjs", import.meta.url).pathname,
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  sourcemap: "linked",
  logLevel: "warning",
  // PGlite loads its WebAssembly and data files relative to its own module: keep it in node_modules.
  external: ["@electric-sql/pglite", "@electric-sql/pglite-socket"],
  // Some dependencies still call require(); give the ES module bundle one.
  banner: {
    js: "import { createRequire as __ccatCreateRequire } from 'node:module'; const require = __ccatCreateRequire(import.meta.url);"
  }
})

await buildDashboard()
