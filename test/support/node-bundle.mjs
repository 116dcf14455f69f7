// esbuild's options for one ES module file that node runs: the language server the tests and
// bench/lsp.ts start, and the benchmarks bench/bundled.mjs runs (as scripts/build.mjs bundles the
// CLI). Plain JS, so that bench/bundled.mjs, which node runs as it is, can import it; it imports
// no esbuild, so that a bundle may hold it (bench/lsp.ts, bundled, loads esbuild at run time).

/**
 * @param {string} entry the entry module's path
 * @param {string} outfile where the bundle goes
 * @returns {import("esbuild").BuildOptions}
 */
export const nodeBundleOptions = (entry, outfile) => ({
  entryPoints: [entry],
  outfile,
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  logLevel: "warning",
  // Some dependencies still call require(); give the ES module bundle one.
  banner: {
    js: "import { createRequire as __bundleCreateRequire } from 'node:module'; const require = __bundleCreateRequire(import.meta.url);"
  }
})
