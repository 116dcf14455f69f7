import { FileSystem, Path } from "@effect/platform"
import { Data, Effect } from "effect"
import { sourceFromBytes } from "../compiler/compile.ts"

/*
 * Turns command-line paths into the `.ccat` sources of one workspace: a folder means every
 * `.ccat` file under it (hidden folders and node_modules skipped), a file means itself. A file
 * that is not UTF-8 text is still a source: the compiler reports it once (E104) and checks the rest.
 */

export class WorkspacePathError extends Data.TaggedError("WorkspacePathError")<{ readonly path: string; readonly reason: string }> {
  override get message(): string {
    return `${this.path}: ${this.reason}`
  }
}

const skipped = (name: string): boolean => name.startsWith(".") || name === "node_modules"

export const listCcatFiles = (paths: ReadonlyArray<string>) =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const found = new Set<string>()
    const walk = (dir: string): Effect.Effect<void, WorkspacePathError> =>
      Effect.gen(function* () {
        const entries = yield* fs.readDirectory(dir).pipe(Effect.mapError((e) => new WorkspacePathError({ path: dir, reason: e.message })))
        for (const name of entries.sort()) {
          if (skipped(name)) continue
          const full = path.join(dir, name)
          const info = yield* fs.stat(full).pipe(Effect.option)
          if (info._tag === "None") continue
          if (info.value.type === "Directory") yield* walk(full)
          else if (name.endsWith(".ccat")) found.add(full)
        }
      })
    for (const p of paths.length === 0 ? ["."] : paths) {
      // @effect/cli passes unknown flags through as arguments; a path never starts with "-".
      if (p.startsWith("-")) return yield* new WorkspacePathError({ path: p, reason: "unknown option (see `ccat <command> --help`)" })
      const info = yield* fs.stat(p).pipe(Effect.mapError(() => new WorkspacePathError({ path: p, reason: "no such file or folder" })))
      if (info.type === "Directory") yield* walk(p)
      else found.add(path.normalize(p))
    }
    if (found.size === 0) {
      return yield* new WorkspacePathError({ path: paths.join(" ") || ".", reason: "no .ccat files found" })
    }
    return [...found].sort()
  })

export const readSources = (paths: ReadonlyArray<string>) =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const files = yield* listCcatFiles(paths)
    return yield* Effect.forEach(files, (file) =>
      fs.readFile(file).pipe(
        Effect.map((bytes) => sourceFromBytes(file, bytes)),
        Effect.mapError((e) => new WorkspacePathError({ path: file, reason: e.message }))
      )
    )
  })
