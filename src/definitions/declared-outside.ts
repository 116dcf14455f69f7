import { FileSystem, Path } from "@effect/platform"
import { SqlClient, type SqlError } from "@effect/sql"
import { Effect, Option } from "effect"
import { parseSource } from "../compiler/compile.ts"
import { DiagnosticSink } from "../compiler/diagnostics.ts"
import { maxFileLength } from "../compiler/limits.ts"
import { retiredPipelineNames } from "./busy-retirements.ts"
import type { Plan } from "./plan.ts"

/*
 * Planning part of a workspace: `ccat plan pipelines/chai` when `pipelines` was applied retires
 * every pipeline declared beside it. The applied IR knows where each pipeline came from (its
 * span's file, the path as it was given when compiled); a retired pipeline whose file still
 * exists outside the planned folder and still declares it was not removed on purpose, it was
 * left out. Found from the file names alone, without walking or compiling anything else: a
 * relative file name is tried against the planned folder and the working folder and each of
 * their parents, since the apply may have run from another folder.
 */

export interface DeclaredOutside {
  readonly pipeline: string
  /** The file that declares it, relative to the working folder when below it. */
  readonly file: string
}

export interface OutsideRetirements {
  /** The folder (or file) planned, as given. */
  readonly planned: string
  /** The folder holding the planned one and every file below: what to plan instead. */
  readonly workspace: string
  readonly declarations: ReadonlyArray<DeclaredOutside>
}

/** The file each retired pipeline came from, per the newest generation's IR (one query, no decoding). */
const appliedFiles = (names: ReadonlyArray<string>) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    return yield* sql<{ name: string; file: string | null }>`
      SELECT p->>'name' AS name, p->'span'->>'file' AS file
      FROM definitions_generation g CROSS JOIN LATERAL jsonb_array_elements(g.ir->'pipelines') p
      WHERE g.id = (SELECT max(id) FROM definitions_generation) AND p->>'name' IN ${sql.in(names)}
      ORDER BY 1`
  })

const ancestors = (path: Path.Path, from: string): Array<string> => {
  const out = [from]
  for (let dir = path.dirname(from); dir !== out[out.length - 1]; dir = path.dirname(dir)) out.push(dir)
  return out
}

const isWithin = (path: Path.Path, inner: string, outer: string): boolean => {
  const rel = path.relative(outer, inner)
  return rel === "" || (!rel.startsWith("..") && !path.isAbsolute(rel))
}

export const retirementsDeclaredOutside = (
  plan: Plan,
  planned: string
): Effect.Effect<OutsideRetirements | null, SqlError.SqlError, SqlClient.SqlClient | FileSystem.FileSystem | Path.Path> =>
  Effect.gen(function* () {
    const names = retiredPipelineNames(plan)
    if (names.length === 0) return null
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const cwd = path.resolve(".")
    const plannedAbs = path.resolve(planned)
    const plannedIsDir = yield* fs.stat(plannedAbs).pipe(
      Effect.map((info) => info.type === "Directory"),
      Effect.orElseSucceed(() => true)
    )
    const bases = [...new Set([...ancestors(path, plannedIsDir ? plannedAbs : path.dirname(plannedAbs)), ...ancestors(path, cwd)])]

    // The pipelines each file declares, parsed once however many retirements name it.
    const declaredIn = new Map<string, ReadonlySet<string>>()
    const pipelinesOf = (file: string) =>
      Effect.gen(function* () {
        const known = declaredIn.get(file)
        if (known !== undefined) return known
        const info = yield* fs.stat(file).pipe(Effect.option)
        const text =
          Option.isSome(info) && info.value.type === "File" && Number(info.value.size) <= maxFileLength
            ? yield* fs.readFileString(file).pipe(Effect.option)
            : Option.none()
        const found = Option.match(text, {
          onNone: () => new Set<string>(),
          onSome: (t) =>
            new Set(
              parseSource({ path: file, text: t }, new DiagnosticSink()).file.declarations.flatMap((d) =>
                d.kind === "pipeline" && d.name !== undefined ? [d.name.text] : []
              )
            )
        })
        declaredIn.set(file, found)
        return found
      })

    const found: Array<{ readonly pipeline: string; readonly absolute: string }> = []
    for (const row of yield* appliedFiles(names)) {
      if (row.file === null) continue
      const candidates = path.isAbsolute(row.file) ? [row.file] : bases.map((base) => path.resolve(base, row.file!))
      for (const candidate of candidates) {
        if (!(yield* pipelinesOf(candidate)).has(row.name)) continue
        if (!isWithin(path, candidate, plannedAbs)) found.push({ pipeline: row.name, absolute: candidate })
        break
      }
    }
    if (found.length === 0) return null

    let workspace = plannedIsDir ? plannedAbs : path.dirname(plannedAbs)
    for (const f of found) while (!isWithin(path, f.absolute, workspace)) workspace = path.dirname(workspace)
    const shown = (p: string): string => (isWithin(path, p, cwd) ? path.relative(cwd, p) || "." : p)
    return {
      planned,
      workspace: shown(workspace),
      declarations: found.map((f) => ({ pipeline: f.pipeline, file: shown(f.absolute) }))
    }
  })

/** The warning's text (without `Warning: `), one sentence per fact. */
export const outsideRetirementsText = (o: OutsideRetirements): string => {
  const files = [...new Set(o.declarations.map((d) => d.file))]
  const pipelines = o.declarations.map((d) => d.pipeline)
  const planned = o.planned === "." ? "the current folder" : o.planned
  return (
    `you planned ${planned}, but the applied definitions also come from files outside it (${files.join(", ")}): ` +
    `this plan would retire ${pipelines.length === 1 ? "pipeline" : "pipelines"} ${pipelines.join(", ")}. ` +
    `Plan the whole workspace (ccat plan ${o.workspace}) to keep ${pipelines.length === 1 ? "it" : "them"}.`
  )
}
