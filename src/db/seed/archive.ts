import { FileSystem } from "@effect/platform"
import { Config, Effect, Option } from "effect"
import { join, resolve } from "node:path"
import { DatabaseConfig } from "../config.ts"
import { ArchiveWriteError } from "./errors.ts"

/*
 * The demo archive on disk: the folder behind the `cologne_archive` data location. Files are
 * written before the transaction that records them commits. Each write is atomic (a temporary
 * name, then a rename) and the content at a path is a pure function of the path, so a file left
 * behind by a failed seed is byte for byte the file a later seed writes there; the seed also
 * removes the files it newly created when its transaction fails.
 */

/** `CCAT_ARCHIVE_DIR`, else `archive/` in the database's folder (CCAT_DATA_DIR, else the nearest `.ccat/`), as an absolute path. */
export const archiveDirConfig = Effect.gen(function* () {
  const explicit = yield* Config.option(Config.string("CCAT_ARCHIVE_DIR"))
  if (Option.isSome(explicit) && explicit.value !== "") return resolve(explicit.value)
  // Beside the database the command uses: the nearest .ccat/ holding one, as every command finds it.
  return join((yield* DatabaseConfig).dataDir, "archive")
})

/**
 * Writes a package's files into `folder` under `root`; returns the absolute paths of the files
 * that are new (so that a failed seed can take them back).
 */
export const writeArchiveFiles = (
  root: string,
  folder: string,
  files: ReadonlyArray<{ readonly name: string; readonly bytes: Uint8Array }>
) =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const fail = (path: string) => (e: { readonly message: string }) => new ArchiveWriteError({ path, reason: e.message })
    const dir = join(root, folder)
    yield* fs.makeDirectory(dir, { recursive: true }).pipe(Effect.mapError(fail(dir)))
    const created: Array<string> = []
    for (const f of files) {
      const full = join(dir, f.name)
      if (!(yield* fs.exists(full).pipe(Effect.mapError(fail(full))))) created.push(full)
      // The pid keeps two processes seeding the same folder from sharing a temporary file.
      const temporary = `${full}.tmp-${process.pid}`
      yield* fs.writeFile(temporary, f.bytes).pipe(Effect.mapError(fail(full)))
      yield* fs.rename(temporary, full).pipe(Effect.mapError(fail(full)))
    }
    return created
  })

/** Best effort: what cannot be removed is harmless (see above), so errors are ignored. */
export const removeArchiveFiles = (paths: ReadonlyArray<string>) =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    for (const p of paths) yield* fs.remove(p).pipe(Effect.ignore)
  })
