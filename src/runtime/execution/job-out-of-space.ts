import { Effect } from "effect"
import { open, readdir, stat } from "node:fs/promises"
import { join } from "node:path"
import { freeSpaceAt, mentionsOutOfSpace } from "./disk-space.ts"
import { runFolders } from "./run-folders.ts"

/*
 * Whether a job that failed ran out of disk space (disk-space.ts says what follows: the run
 * waits for room, the attempt not counted): read from its own output and from its file system.
 */

/** The last bytes of a file, or "" when it cannot be read. */
const tail = async (path: string, bytes = 64 * 1024): Promise<string> => {
  try {
    const file = await open(path, "r")
    try {
      const { size } = await file.stat()
      const length = Math.min(size, bytes)
      const buffer = Buffer.alloc(length)
      await file.read(buffer, 0, length, size - length)
      return buffer.toString("utf8")
    } finally {
      await file.close()
    }
  } catch {
    return ""
  }
}

/** Bytes below a folder (regular files), for how much room an interrupted job needed. */
export const folderBytes = async (dir: string): Promise<number> => {
  let total = 0
  const entries = await readdir(dir, { withFileTypes: true, recursive: true }).catch(() => [])
  for (const e of entries) {
    if (!e.isFile()) continue
    total += (await stat(join(e.parentPath, e.name)).catch(() => ({ size: 0 }))).size
  }
  return total
}

/**
 * Did this failed job fail because the disk filled up? Its file system has no room left now, or
 * the job's own output says so and less is free than it had written and read (a program that
 * fills some other disk, or its quota, would otherwise be retried forever).
 */
export const ranOutOfSpace = (runDir: string, usedBytes: number): Effect.Effect<boolean> =>
  Effect.promise(async () => {
    let free
    try {
      free = freeSpaceAt(runDir)
    } catch {
      return false
    }
    if (free.bytes < 1024 * 1024 || free.inodes === 0) return true
    const folders = runFolders(runDir, "", false)
    const said = mentionsOutOfSpace(await tail(folders.stderr)) || mentionsOutOfSpace(await tail(folders.stdout))
    return said && free.bytes < usedBytes + 64 * 1024 * 1024
  })
