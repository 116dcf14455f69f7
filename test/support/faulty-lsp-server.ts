import { join } from "node:path"
import { bundleServer } from "./lsp-client.ts"
import { repoRoot } from "./workspace.ts"

/*
 * The language server with the faulty compiler of `faulty-compiler.ts` (given through
 * `ServerOptions.compile`), bundled as the real one is, to run as a child process with
 * `LspClient.start`.
 */
export const bundleFaultyServer = (): Promise<string> =>
  bundleServer(join(repoRoot, "test", "support", "faulty-lsp-server-main.ts"), "lsp-faulty-server")
