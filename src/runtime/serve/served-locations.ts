import { Data } from "effect"
import type { IrLocation } from "../../compiler/ir.ts"
import { didYouMean } from "../../compiler/suggest.ts"

/*
 * Which processing locations one `ccat serve` serves, and with which backend (issue 19: the
 * backend comes from the definitions, not from the environment). Each location declares its
 * backend (`backend slurm { … }`, `backend local { … }`); a serve serves the locations it is
 * told to (`--location`, or CCAT_LOCATION), each with the backend it declares. Told none, it
 * serves the locations whose backend is local, and says which others it leaves to a serve of
 * their own: a Slurm location's work never runs as local processes by accident. An explicit
 * override (`--backend local`: a laptop, the demo) runs every location served on this machine,
 * and is said at start.
 */

export type BackendKind = "local" | "slurm"

export interface ServedLocation {
  readonly location: string
  readonly kind: BackendKind
  /** The options of the location's backend block (as declared; an override keeps them). */
  readonly options: Readonly<Record<string, string | number>>
  /** Declared another backend, run with the override. */
  readonly overridden: boolean
}

export interface SkippedLocation {
  readonly location: string
  readonly kind: string
}

export interface Served {
  readonly served: ReadonlyArray<ServedLocation>
  readonly skipped: ReadonlyArray<SkippedLocation>
}

export class UnknownLocation extends Data.TaggedError("UnknownLocation")<{ readonly name: string; readonly known: ReadonlyArray<string> }> {
  override get message(): string {
    const hint = didYouMean(this.name, this.known, { as: "quoted" })
    return `no applied location is named ${JSON.stringify(this.name)}${hint === undefined ? "" : ` (${hint})`}; known: ${this.known.join(", ") || "none"}`
  }
}

export class NothingToServe extends Data.TaggedError("NothingToServe")<{ readonly skipped: ReadonlyArray<SkippedLocation> }> {
  override get message(): string {
    const list = this.skipped.map((s) => `${s.location} (backend ${s.kind})`).join(", ")
    return `no location to serve: none declares backend local, and none was named. Serve one with \`ccat serve --location <name>\` (or CCAT_LOCATION) where its backend can be reached: ${list}`
  }
}

const kindOf = (l: IrLocation): BackendKind | null => (l.backend.kind === "local" || l.backend.kind === "slurm" ? l.backend.kind : null)

/**
 * The locations to serve: `requested` by name (all must exist), else every location whose
 * backend is local; with `override`, every one of them runs on that backend.
 */
export const servedLocations = (
  locations: ReadonlyArray<IrLocation>,
  requested: ReadonlyArray<string>,
  override: BackendKind | null
): Served | UnknownLocation | NothingToServe => {
  const known = locations.map((l) => l.name)
  const unknown = requested.find((name) => !known.includes(name))
  if (unknown !== undefined) return new UnknownLocation({ name: unknown, known })
  const chosen =
    requested.length > 0
      ? locations.filter((l) => requested.includes(l.name))
      : override !== null
        ? locations
        : locations.filter((l) => kindOf(l) === "local")
  const skipped = locations.filter((l) => !chosen.includes(l)).map((l) => ({ location: l.name, kind: l.backend.kind }))
  const served = chosen.map((l): ServedLocation => {
    const declared = kindOf(l)
    const kind = override ?? declared ?? "local"
    return { location: l.name, kind, options: l.backend.options, overridden: override !== null && declared !== override }
  })
  if (served.length === 0 && skipped.length > 0) return new NothingToServe({ skipped })
  return { served, skipped }
}

/** The start-up lines that say what is served and what is not. */
export const servedLines = (s: Served): ReadonlyArray<string> => [
  ...s.served.map(
    (l) =>
      `serving location ${l.location} with the ${l.kind} backend${l.overridden ? " (overridden by --backend: its definition declares another)" : ""}`
  ),
  ...s.skipped.map(
    (l) =>
      `not serving location ${l.location} (backend ${l.kind}): serve it with \`ccat serve --location ${l.location}\` where that backend can be reached`
  )
]
