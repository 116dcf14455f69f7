import { Data, Effect } from "effect"
import { createHash } from "node:crypto"
import { createReadStream } from "node:fs"
import { chmod, lstat, readdir, realpath } from "node:fs/promises"
import { join, relative, sep } from "node:path"
import { productFolders, runFolders } from "./run-folders.ts"

/*
 * What a finished run left behind (runtime.md §3, "collect"): every regular file in its output
 * folder (a final step's output/, an intermediate step's workspace/<step>/) and in its logs/,
 * with size and a streamed SHA-256, classified by folder:
 *
 *   science/ → SCIENCE (INTERMEDIATE for a step that is not final)   qa/ → QA_METRIC
 *   plots/ → PLOT   statistics/ → STATISTICS   logs/ → LOG   anything else → as science/
 *
 * A symbolic link that points outside the run's folder is refused (the run fails): products
 * must be files the run wrote, not a window onto the rest of the disk. Links inside the folder
 * are skipped; their targets are collected themselves. Collected files are made read-only:
 * downstream runs see them through hard links.
 */

export type ProductType = "SCIENCE" | "QA_METRIC" | "PLOT" | "STATISTICS" | "LOG" | "INTERMEDIATE"

export interface CollectedFile {
  /** Relative to the run folder, with `/`. */
  readonly relativePath: string
  readonly type: ProductType
  readonly sizeBytes: number
  readonly checksum: string
}

export class CollectionFailed extends Data.TaggedError("CollectionFailed")<{ readonly reason: string }> {}

export const sha256File = (path: string): Promise<string> =>
  new Promise((resolvePromise, reject) => {
    const hash = createHash("sha256")
    createReadStream(path)
      .on("data", (chunk) => hash.update(chunk))
      .on("error", reject)
      .on("end", () => resolvePromise(hash.digest("hex")))
  })

const inside = (root: string, path: string): boolean => {
  const r = relative(root, path)
  return r === "" || (!r.startsWith("..") && !r.startsWith(sep) && r !== "..")
}

const walk = async (root: string, dir: string, found: Array<string>): Promise<void> => {
  let entries
  try {
    entries = await readdir(dir, { withFileTypes: true })
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return
    throw e
  }
  for (const entry of entries.sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const path = join(dir, entry.name)
    if (entry.isSymbolicLink()) {
      let target: string
      try {
        target = await realpath(path)
      } catch {
        throw new CollectionFailed({ reason: `${relative(root, path)} is a broken symbolic link` })
      }
      if (!inside(await realpath(root), target)) throw new CollectionFailed({ reason: `${relative(root, path)} links outside the run's folder (to ${target})` })
      continue
    }
    if (entry.isDirectory()) await walk(root, path, found)
    else if (entry.isFile()) found.push(path)
  }
}

const classify = (belowOutput: string, final: boolean): ProductType => {
  const top = belowOutput.split("/")[0] ?? ""
  if (top in productFolders && top !== "science") return productFolders[top as keyof typeof productFolders]
  return final ? "SCIENCE" : "INTERMEDIATE"
}

/** Collect a run's files; `logsOnly` for a failed run (its logs are still worth keeping). */
export const collectOutputs = (runDir: string, step: string, final: boolean, logsOnly: boolean): Effect.Effect<ReadonlyArray<CollectedFile>, CollectionFailed> =>
  Effect.tryPromise({
    try: async () => {
      const folders = runFolders(runDir, step, final)
      const files: Array<{ path: string; type: ProductType }> = []
      const logs: Array<string> = []
      await walk(runDir, folders.logs, logs)
      for (const path of logs) files.push({ path, type: "LOG" })
      if (!logsOnly) {
        const outputs: Array<string> = []
        await walk(runDir, folders.output, outputs)
        for (const path of outputs) files.push({ path, type: classify(relative(folders.output, path).split(sep).join("/"), final) })
      }
      const collected: Array<CollectedFile> = []
      for (const f of files) {
        const stat = await lstat(f.path)
        const checksum = await sha256File(f.path)
        if (f.type !== "LOG") await chmod(f.path, stat.mode & 0o555)
        collected.push({ relativePath: relative(runDir, f.path).split(sep).join("/"), type: f.type, sizeBytes: stat.size, checksum })
      }
      return collected
    },
    catch: (e) => (e instanceof CollectionFailed ? e : new CollectionFailed({ reason: e instanceof Error ? e.message : String(e) }))
  })
