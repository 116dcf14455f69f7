import { Data, Effect } from "effect"
import { createHash } from "node:crypto"
import { constants, createReadStream, type BigIntStats } from "node:fs"
import { lstat, open, readdir, realpath, type FileHandle } from "node:fs/promises"
import { join, relative, sep } from "node:path"
import { productFolders, runFolders } from "./run-folders.ts"

/*
 * What a finished run left behind (docs/design/runtime.md §3.10): every regular file in its output
 * folder (a final step's output/, an intermediate step's workspace/<step>/) and in its logs/,
 * with size and a streamed SHA-256, classified by folder:
 *
 *   science/ → SCIENCE (INTERMEDIATE for a step that is not final)   qa/ → QA_METRIC
 *   plots/ → PLOT   statistics/ → STATISTICS   logs/ → LOG   anything else → as science/
 *
 * Products must be files the run wrote, not a window onto the rest of the disk, so the run fails
 * (COLLECT_FAILED) for:
 *   - a symbolic link that points outside the run's folder (links inside are skipped; their
 *     targets are collected themselves);
 *   - a hard link (more than one name for the file): the other name may be anyone's file, and
 *     recording it, or making it read-only, would claim or change a file outside the run;
 *   - a file or folder on another file system than the folder it was found in (a mount inside
 *     the run's folder).
 * All of it is checked before any file's mode changes. Each file is checked and hashed through a
 * descriptor opened without following a link, and made read-only through another only while it
 * is still that file (device and inode): a name swapped for a link in between cannot redirect
 * the chmod, and collection never changes the mode of a file that is not the run's.
 *
 * A process the job left behind could still write to a product after its checksum was taken
 * (the local backend ends the job's process group, which a process in a session of its own
 * escapes; Slurm ends them all only with proctrack/cgroup). So after every checksum is
 * computed, each file's size, modification time and inode are read again: any change fails the
 * run, naming the file. A write after that last look cannot be seen by collection at all; the
 * read-only mode does not stop the files' owner either.
 *
 * Collected products (not logs) are made read-only.
 */

export type ProductType = "SCIENCE" | "QA_METRIC" | "PLOT" | "STATISTICS" | "LOG" | "INTERMEDIATE"

/** The products a downstream step reads from its upstream runs. */
export const stepInputProductTypes: ReadonlyArray<ProductType> = ["SCIENCE", "INTERMEDIATE"]

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

/** The SHA-256 of an open file, read from its start; the handle stays open. */
const sha256Handle = (handle: FileHandle): Promise<string> =>
  new Promise((resolvePromise, reject) => {
    const hash = createHash("sha256")
    handle
      .createReadStream({ start: 0, autoClose: false })
      .on("data", (chunk) => hash.update(chunk))
      .on("error", reject)
      .on("end", () => resolvePromise(hash.digest("hex")))
  })

const inside = (root: string, path: string): boolean => {
  const r = relative(root, path)
  return r === "" || (!r.startsWith("..") && !r.startsWith(sep) && r !== "..")
}

const failed = (reason: string) => new CollectionFailed({ reason })

/** Why a regular file is not the run's own, or null when it is: `device` is that of the folder it was found in. */
const notOwn = (name: string, stat: BigIntStats, device: bigint): string | null => {
  if (stat.dev !== device)
    return `${name} is on another file system than the run's folder (a mount inside it?): a product must be a file the run wrote`
  if (stat.nlink > 1n)
    return `${name} is a hard link (${stat.nlink} names for one file): a product must be a file the run wrote, not another name for a file that may be outside the run's folder`
  return null
}

interface Found {
  readonly path: string
  /** The file system of the folder it was found in. */
  readonly device: bigint
}

interface Walk {
  /** The run's folder: names in reasons are relative to it. */
  readonly root: string
  /** The file system of the folder walked. */
  readonly device: bigint
}

const walk = async (at: Walk, dir: string, found: Array<Found>): Promise<void> => {
  let entries
  try {
    entries = await readdir(dir, { withFileTypes: true })
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return
    throw e
  }
  for (const entry of entries.sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const path = join(dir, entry.name)
    const name = relative(at.root, path)
    if (entry.isSymbolicLink()) {
      let target: string
      try {
        target = await realpath(path)
      } catch {
        throw failed(`${name} is a broken symbolic link`)
      }
      if (!inside(await realpath(at.root), target)) throw failed(`${name} links outside the run's folder (to ${target})`)
      continue
    }
    if (!entry.isDirectory() && !entry.isFile()) continue
    const stat = await lstat(path, { bigint: true })
    if (entry.isDirectory()) {
      if (stat.dev !== at.device)
        throw failed(`${name}/ is on another file system than the run's folder (a mount inside it?): products must be files the run wrote`)
      await walk(at, path, found)
      continue
    }
    const problem = notOwn(name, stat, at.device)
    if (problem !== null) throw failed(problem)
    found.push({ path, device: at.device })
  }
}

/** Every regular file below `folder` (none when it does not exist), each checked to be the run's own. */
const filesBelow = async (root: string, folder: string): Promise<Array<Found>> => {
  let device: bigint
  try {
    device = (await lstat(folder, { bigint: true })).dev
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return []
    throw e
  }
  const found: Array<Found> = []
  await walk({ root, device }, folder, found)
  return found
}

const classify = (belowOutput: string, final: boolean): ProductType => {
  const top = belowOutput.split("/")[0] ?? ""
  if (top in productFolders && top !== "science") return productFolders[top as keyof typeof productFolders]
  return final ? "SCIENCE" : "INTERMEDIATE"
}

/**
 * Open a file without following a link; O_NONBLOCK so that a name swapped for a FIFO after the
 * walk fails the check below instead of hanging collection.
 */
const openFile = (path: string): Promise<FileHandle> => open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK)

interface Checksummed {
  readonly path: string
  readonly name: string
  readonly type: ProductType
  /** The file as it was when its checksum was taken. */
  readonly stat: BigIntStats
  readonly checksum: string
}

const sameFile = (a: BigIntStats, b: BigIntStats): boolean => a.dev === b.dev && a.ino === b.ino

/** What changed in a file since its checksum was taken, or null. */
const changeOf = (before: BigIntStats, now: BigIntStats): string | null => {
  if (!sameFile(before, now)) return "it is another file now"
  if (now.size !== before.size) return `${before.size} bytes then, ${now.size} now`
  if (now.mtimeNs !== before.mtimeNs) return "written again"
  return null
}

const changedReason = (name: string, change: string): string =>
  `${name} changed after it was checksummed (${change}): a process the job left behind may still be writing to it`

/** Collect a run's files; `logsOnly` for a failed run (its logs are still worth keeping). */
export const collectOutputs = (
  runDir: string,
  step: string,
  final: boolean,
  logsOnly: boolean
): Effect.Effect<ReadonlyArray<CollectedFile>, CollectionFailed> =>
  Effect.tryPromise({
    try: async () => {
      const folders = runFolders(runDir, step, final)
      const files: Array<Found & { readonly type: ProductType }> = []
      for (const found of await filesBelow(runDir, folders.logs)) files.push({ ...found, type: "LOG" })
      if (!logsOnly) {
        for (const found of await filesBelow(runDir, folders.output)) {
          files.push({ ...found, type: classify(relative(folders.output, found.path).split(sep).join("/"), final) })
        }
      }

      const checksummed: Array<Checksummed> = []
      for (const f of files) {
        const name = relative(runDir, f.path)
        const handle = await openFile(f.path)
        try {
          const stat = await handle.stat({ bigint: true })
          if (!stat.isFile()) throw failed(`${name} is no longer a regular file`)
          // Checked again on the open file: the name may have been swapped since the walk.
          const problem = notOwn(name, stat, f.device)
          if (problem !== null) throw failed(problem)
          checksummed.push({ path: f.path, name, type: f.type, stat, checksum: await sha256Handle(handle) })
        } finally {
          await handle.close()
        }
      }

      // Read-only through a descriptor of the very file that was checked and hashed.
      for (const f of checksummed) {
        if (f.type === "LOG") continue
        const handle = await openFile(f.path).catch(() => null)
        if (handle === null) throw failed(changedReason(f.name, "it is gone"))
        try {
          const now = await handle.stat({ bigint: true })
          if (!sameFile(f.stat, now)) throw failed(changedReason(f.name, "it is another file now"))
          await handle.chmod(Number(f.stat.mode) & 0o555)
        } finally {
          await handle.close()
        }
      }

      // The last look, after every checksum: a product written since is not what was recorded.
      for (const f of checksummed) {
        const now = await lstat(f.path, { bigint: true }).catch(() => null)
        const change = now === null ? "it is gone" : changeOf(f.stat, now)
        if (change !== null) throw failed(changedReason(f.name, change))
      }

      return checksummed.map(
        (f): CollectedFile => ({
          relativePath: relative(runDir, f.path).split(sep).join("/"),
          type: f.type,
          sizeBytes: Number(f.stat.size),
          checksum: f.checksum
        })
      )
    },
    catch: (e) => (e instanceof CollectionFailed ? e : new CollectionFailed({ reason: e instanceof Error ? e.message : String(e) }))
  })
