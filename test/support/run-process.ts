import { execFile } from "node:child_process"

/** How a child process ended and what it printed. */
export interface ProcessResult {
  readonly status: number | null
  readonly stdout: string
  readonly stderr: string
}

/**
 * Runs a program to its end without blocking the test worker's event loop (spawnSync would: a
 * worker blocked past a minute misses vitest's own RPC deadline and fails the whole run, even
 * though every test passed). A non-zero exit is a result here, not an error.
 */
export const runProcess = (
  file: string,
  args: ReadonlyArray<string>,
  options: { readonly cwd: string; readonly env: NodeJS.ProcessEnv; readonly timeoutMs: number }
): Promise<ProcessResult> =>
  new Promise((resolve) => {
    execFile(
      file,
      args,
      { cwd: options.cwd, env: options.env, timeout: options.timeoutMs, encoding: "utf8", maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const status = error === null ? 0 : typeof error.code === "number" ? error.code : null
        resolve({ status, stdout, stderr })
      }
    )
  })
