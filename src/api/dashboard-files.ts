import { HttpServerResponse } from "@effect/platform"
import { Effect } from "effect"
import { existsSync } from "node:fs"
import { readFile } from "node:fs/promises"
import { extname, join, normalize, sep } from "node:path"
import { fileURLToPath } from "node:url"

/*
 * The dashboard's files, as the build wrote them (scripts/build-dashboard.mjs → dist/dashboard/).
 * Any path that is not a file is a view of the dashboard's own routing, so it gets index.html.
 * Files are read once and kept: they are small and never change while serve runs.
 */

const contentTypes: Readonly<Record<string, string>> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".map": "application/json",
  ".txt": "text/plain; charset=utf-8"
}

/** dist/dashboard beside the bundle (dist/ccat.mjs), or from the sources (src/api/ → dist/). */
export const dashboardFolder = (): string | null => {
  const here = fileURLToPath(new URL(".", import.meta.url))
  for (const candidate of [join(here, "dashboard"), join(here, "..", "..", "dist", "dashboard")]) {
    if (existsSync(join(candidate, "index.html"))) return candidate
  }
  return null
}

const notBuilt = HttpServerResponse.text(
  "The dashboard is not built here: run `npm run build` (it writes dist/dashboard/). The API is at /api/v1/docs.\n",
  { status: 404 }
)

export const makeDashboardFiles = (folder: string | null) => {
  const cache = new Map<string, Uint8Array | null>()
  const read = (relative: string) =>
    Effect.promise(async () => {
      if (cache.has(relative)) return cache.get(relative)!
      const bytes = await readFile(join(folder!, relative)).catch(() => null)
      cache.set(relative, bytes)
      return bytes
    })
  return (pathname: string) =>
    Effect.gen(function* () {
      if (folder === null) return notBuilt
      // Only names below the folder: `..` and absolute paths never reach the file system.
      const relative = normalize(decodeURIComponent(pathname)).replace(/^[/\\]+/, "")
      const inside = relative !== "" && !relative.split(sep).includes("..") && !relative.includes("\0")
      const asset = inside && extname(relative) !== "" ? yield* read(relative) : null
      if (asset !== null) {
        return HttpServerResponse.uint8Array(asset, {
          contentType: contentTypes[extname(relative)] ?? "application/octet-stream",
          // Assets carry no hash in their names: revalidate, cheaply.
          headers: { "cache-control": "no-cache" }
        })
      }
      if (inside && relative.startsWith("assets")) return HttpServerResponse.text("not found\n", { status: 404 })
      const index = yield* read("index.html")
      return index === null
        ? notBuilt
        : HttpServerResponse.uint8Array(index, { contentType: contentTypes[".html"]!, headers: { "cache-control": "no-cache" } })
    }).pipe(Effect.catchAllDefect(() => Effect.succeed(HttpServerResponse.text("bad path\n", { status: 400 }))))
}
