import { SqlClient, type SqlError } from "@effect/sql"
import { Data, Effect, Either } from "effect"
import { realpath, stat } from "node:fs/promises"
import { basename, extname } from "node:path"
import { confinedPath, isWithin, UNSAFE_PATH } from "../execution/confined-path.ts"
import { UnknownProduct } from "./errors.ts"

/*
 * A product's file on this machine, for a download: the file of one of its PRESENT physical
 * copies, at `<data location folder>/<copy path>` (the collect loop records the copy's path
 * relative to the processing location's base folder, collect-loop.ts `writeProducts`).
 *
 * The paths come from the database, so nothing in them is trusted. Before anything is opened:
 * the copy's path and the product's relative path must stay in their folders as written (no
 * `..` that climbs out, nothing absolute: confined-path.ts), and then the file's real path (every
 * symbolic link followed) must still lie in the real path of the location's folder. Only that
 * real path is handed back, so what is served is what was checked. A copy whose file is not on
 * this machine is skipped for the next PRESENT copy; an escaping one ends the search: that is
 * the data's fault and a person should hear of it, not be served another copy silently.
 */

export interface ProductFile {
  /** The real path of the file (symbolic links resolved), inside its location's folder. */
  readonly path: string
  readonly sizeBytes: number
  readonly contentType: string
  /** The name to offer for saving: the last part of the product's relative path. */
  readonly fileName: string
}

/** The product has no readable file on this machine; `detail` says why and what to do. */
export class ProductFileUnavailable extends Data.TaggedError("ProductFileUnavailable")<{
  readonly productId: number
  readonly detail: string
}> {
  override get message(): string {
    return `data product ${this.productId} ${this.detail}`
  }
}

/** A stored path (or a symbolic link on the way) would lead out of the location's folder: never opened. */
export class UnsafeProductPath extends Data.TaggedError("UnsafeProductPath")<{
  readonly productId: number
  /** The path as stored, or the real path it resolved to. */
  readonly path: string
  /** The folder it had to stay in. */
  readonly folder: string
}> {
  override get message(): string {
    return `${UNSAFE_PATH}: the file of data product ${this.productId} (${JSON.stringify(this.path)}) would leave the folder ${this.folder}; not served`
  }
}

const contentTypes: Readonly<Record<string, string>> = {
  ".png": "image/png",
  ".fits": "application/fits",
  ".fit": "application/fits",
  ".fts": "application/fits",
  ".json": "application/json",
  ".txt": "text/plain; charset=utf-8",
  ".log": "text/plain; charset=utf-8",
  ".csv": "text/csv; charset=utf-8"
}

/** The media type a file is served as, from its extension; unknown ones as bytes. */
export const contentTypeOf = (fileName: string): string => contentTypes[extname(fileName).toLowerCase()] ?? "application/octet-stream"

interface CopyRow {
  readonly relative_path: string
  readonly run_dir: string | null
  readonly copy_id: string | null
  readonly copy_path: string | null
  readonly root_path: string | null
  readonly location: string | null
}

const errnoOf = (e: unknown): string | undefined => (e as NodeJS.ErrnoException | undefined)?.code

/** The real path, or null when nothing is there (ENOENT, or a link to nothing). */
const realPathOrNull = (path: string) =>
  Effect.tryPromise({ try: () => realpath(path), catch: (e) => e }).pipe(
    Effect.map((p): string | null => p),
    Effect.catchAll((e) => (errnoOf(e) === "ENOENT" || errnoOf(e) === "ENOTDIR" ? Effect.succeed(null) : Effect.fail(e)))
  )

export const productFile = (
  id: number
): Effect.Effect<ProductFile, UnknownProduct | ProductFileUnavailable | UnsafeProductPath | SqlError.SqlError, SqlClient.SqlClient> =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const rows = yield* sql<CopyRow>`
      SELECT p.relative_path, r.run_dir, c.id AS copy_id, c.path AS copy_path, l.root_path, l.name AS location
      FROM data_product p
      JOIN executed_reduction_step r ON r.id = p.run_id
      LEFT JOIN physical_copy c ON c.data_product_id = p.id AND c.status = 'PRESENT'
      LEFT JOIN data_location l ON l.id = c.data_location_id
      WHERE p.id = ${id}
      ORDER BY c.id`
    const first = rows[0]
    if (first === undefined) return yield* new UnknownProduct({ what: String(id) })
    const unsafe = (path: string, folder: string) => new UnsafeProductPath({ productId: id, path, folder })
    // The product's own path must not climb out of its run's folder, whatever the copy says.
    if (first.run_dir !== null && Either.isLeft(confinedPath(first.run_dir, first.relative_path, "the product's path")))
      return yield* unsafe(first.relative_path, first.run_dir)
    const copies = rows.filter((r) => r.copy_id !== null && r.copy_path !== null && r.root_path !== null)
    if (copies.length === 0) {
      const [{ statuses } = { statuses: null }] = yield* sql<{ statuses: string | null }>`
        SELECT string_agg(DISTINCT status, ', ' ORDER BY status) AS statuses FROM physical_copy WHERE data_product_id = ${id}`
      return yield* new ProductFileUnavailable({
        productId: id,
        detail:
          statuses === null
            ? "has no recorded copy on disk (its run's collection recorded none): nothing to download"
            : `has no file any more: its copies are ${statuses} (purged to free space; \`ccat lineage ${id}\` names the run that made it)`
      })
    }
    const missing: Array<string> = []
    for (const copy of copies) {
      const root = copy.root_path!
      const stored = confinedPath(root, copy.copy_path!, `the path of physical copy ${copy.copy_id}`)
      if (Either.isLeft(stored)) return yield* unsafe(copy.copy_path!, root)
      const folder = yield* realPathOrNull(root).pipe(
        Effect.mapError(
          (e) =>
            new ProductFileUnavailable({
              productId: id,
              detail: `has a location folder ${root} that cannot be read (${errnoOf(e) ?? String(e)})`
            })
        )
      )
      if (folder === null) {
        missing.push(`${stored.right} (the folder ${root} of ${copy.location} is not on this machine)`)
        continue
      }
      const real = yield* realPathOrNull(stored.right).pipe(
        Effect.mapError(
          (e) =>
            new ProductFileUnavailable({
              productId: id,
              detail: `has a file that cannot be read: ${stored.right} (${errnoOf(e) ?? String(e)})`
            })
        )
      )
      if (real === null) {
        missing.push(stored.right)
        continue
      }
      if (!isWithin(folder, real)) return yield* unsafe(real, folder)
      const info = yield* Effect.tryPromise({
        try: () => stat(real),
        catch: (e) =>
          new ProductFileUnavailable({ productId: id, detail: `has a file that cannot be read: ${real} (${errnoOf(e) ?? String(e)})` })
      })
      if (!info.isFile()) return yield* new ProductFileUnavailable({ productId: id, detail: `is not a regular file: ${real}` })
      return { path: real, sizeBytes: info.size, contentType: contentTypeOf(first.relative_path), fileName: basename(first.relative_path) }
    }
    return yield* new ProductFileUnavailable({
      productId: id,
      detail: `has no file on this machine: not found at ${missing.join("; ")} (ask the ccat serve of the location that holds it, where its folder is mounted)`
    })
  })
