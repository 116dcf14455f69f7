import { build } from "esbuild"
import { mkdirSync } from "node:fs"
import { join } from "node:path"
import { repoRoot } from "./workspace.ts"

/*
 * The language server with the faulty compiler of `faulty-compiler.ts` (given through
 * `ServerOptions.compile`), bundled as `bundleServer` bundles the real one, to run as a child
 * process with `LspClient.start`.
 */

const bundleDir = join(repoRoot, "node_modules", ".cache", "ccat-tests")

export const bundleFaultyServer = async (): Promise<string> => {
  mkdirSync(bundleDir, { recursive: true })
  const outfile = join(bundleDir, `lsp-faulty-server-${process.pid}.mjs`)
  await build({
    entryPoints: [join(repoRoot, "test", "support", "faulty-lsp-server-main.ts")],
    outfile,
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    logLevel: "warning",
    // Some dependencies still call require(); give the ES module bundle one (as scripts/build.mjs does).
    banner: { js: "import { createRequire as __lspCreateRequire } from 'node:module'; const require = __lspCreateRequire(import.meta.url);" }
  })
  return outfile
}
