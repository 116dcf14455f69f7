import { Data, Either } from "effect"
import { isAbsolute, relative, resolve, sep } from "node:path"

/*
 * Every name that becomes a path (an archive file or package name, a sub-group key, a step or
 * pipeline name, a product's path read back from the database) is joined to its folder HERE,
 * and only here: the joined path is resolved first, then it must be the folder itself or below
 * it. A name with `..` that climbs out, an absolute name, or one with a NUL byte (which the file
 * system calls would reject half-way through) is an escape. The check is lexical, on purpose:
 * it runs before anything is created, so it cannot depend on what the file system holds.
 *
 * An escape is the data's fault, not the run's: asking again gives the same answer, so the
 * reason word UNSAFE_PATH is never retried (retry-policy.ts).
 */

/** The word that starts the detail of a failure caused by an escaping name. */
export const UNSAFE_PATH = "UNSAFE_PATH"

export class PathEscape extends Data.TaggedError("PathEscape")<{
  /** Which name it is, for a person: `the name of raw data package 1f2e…`. */
  readonly what: string
  /** The name as stored. */
  readonly name: string
  /** The folder it had to stay in. */
  readonly folder: string
  readonly why: "climbs out of" | "is absolute, outside" | "has a NUL byte, not allowed below"
}> {
  override get message(): string {
    return `${UNSAFE_PATH}: ${this.what} ${JSON.stringify(this.name)} ${this.why === "climbs out of" ? "would leave" : this.why} the folder ${this.folder}`
  }
}

/** Whether `path` (resolved) is `folder` (resolved) or below it. */
export const isWithin = (folder: string, path: string): boolean => {
  const rel = relative(resolve(folder), resolve(path))
  return rel === "" || (rel !== ".." && !rel.startsWith(`..${sep}`) && !isAbsolute(rel))
}

/** `folder/name`, resolved, when that stays in `folder`; else the PathEscape that says why not. */
export const confinedPath = (folder: string, name: string, what: string): Either.Either<string, PathEscape> => {
  if (name.includes("\0")) return Either.left(new PathEscape({ what, name, folder, why: "has a NUL byte, not allowed below" }))
  if (isAbsolute(name)) return Either.left(new PathEscape({ what, name, folder, why: "is absolute, outside" }))
  const path = resolve(folder, name)
  return isWithin(folder, path)
    ? Either.right(path)
    : Either.left(new PathEscape({ what, name, folder: resolve(folder), why: "climbs out of" }))
}
