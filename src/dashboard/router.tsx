import type { ComponentChildren, PartialAnchorHTMLAttributes } from "preact"
import { makeStore, useStore } from "./store.ts"

/*
 * Client-side routes on the History API: every view has its own URL, a reload lands on the same
 * view (the server answers index.html for any page path), and links are real <a href> so a
 * middle-click or "open in new tab" works; only a plain left click stays in the page.
 */

export type Route =
  | { readonly view: "overview" }
  | { readonly view: "step"; readonly pipeline: string; readonly step: string }
  | { readonly view: "why"; readonly pipeline: string; readonly step: string; readonly subGroup: string | undefined }
  | { readonly view: "runs"; readonly query: URLSearchParams }
  | { readonly view: "run"; readonly id: number }
  | { readonly view: "product"; readonly id: number }
  | { readonly view: "not-found"; readonly path: string }

interface Place {
  readonly pathname: string
  readonly search: string
}

const here = (): Place => ({ pathname: window.location.pathname, search: window.location.search })

const placeStore = makeStore<Place>(here())

window.addEventListener("popstate", () => placeStore.set(here()))

export const navigate = (href: string): void => {
  const url = new URL(href, window.location.href)
  if (url.pathname + url.search === window.location.pathname + window.location.search) return
  window.history.pushState(null, "", url.pathname + url.search + url.hash)
  placeStore.set(here())
  window.scrollTo(0, 0)
}

const decode = (part: string): string | null => {
  try {
    return decodeURIComponent(part)
  } catch {
    return null
  }
}

const positiveId = (text: string | undefined): number | null =>
  text !== undefined && /^[1-9][0-9]{0,15}$/.test(text) ? Number(text) : null

export const parseRoute = (pathname: string, search: string): Route => {
  const parts = pathname.split("/").filter((part) => part !== "")
  const query = new URLSearchParams(search)
  const [first, second, third, fourth, fifth] = parts.map(decode)
  if (parts.length === 0) return { view: "overview" }
  if (first === "runs" && parts.length === 1) return { view: "runs", query }
  if (first === "runs" && parts.length === 2) {
    const id = positiveId(parts[1])
    if (id !== null) return { view: "run", id }
  }
  if (first === "products" && parts.length === 2) {
    const id = positiveId(parts[1])
    if (id !== null) return { view: "product", id }
  }
  if (first === "pipelines" && third === "steps" && second && fourth) {
    if (parts.length === 4) return { view: "step", pipeline: second, step: fourth }
    if (parts.length === 5 && fifth === "why")
      return { view: "why", pipeline: second, step: fourth, subGroup: query.get("subGroup") ?? undefined }
  }
  return { view: "not-found", path: pathname }
}

export const useRoute = (): Route => {
  const place = useStore(placeStore)
  return parseRoute(place.pathname, place.search)
}

export const paths = {
  overview: () => "/",
  step: (pipeline: string, step: string) => `/pipelines/${encodeURIComponent(pipeline)}/steps/${encodeURIComponent(step)}`,
  why: (pipeline: string, step: string, subGroup?: string) =>
    `${paths.step(pipeline, step)}/why${subGroup === undefined ? "" : `?subGroup=${encodeURIComponent(subGroup)}`}`,
  runs: (filter: Record<string, string | undefined> = {}) => {
    const search = new URLSearchParams()
    for (const [key, value] of Object.entries(filter)) if (value !== undefined && value !== "") search.set(key, value)
    const text = search.toString()
    return text === "" ? "/runs" : `/runs?${text}`
  },
  run: (id: number) => `/runs/${id}`,
  product: (id: number) => `/products/${id}`
}

type LinkProps = Omit<PartialAnchorHTMLAttributes<HTMLAnchorElement>, "href" | "role"> & {
  readonly href: string
  readonly children?: ComponentChildren
}

/** An <a> that changes the view in place on a plain click and behaves as any link otherwise. */
export const Link = ({ href, onClick, ...rest }: LinkProps) => (
  <a
    {...rest}
    href={href}
    onClick={(event) => {
      if (typeof onClick === "function") onClick(event)
      if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return
      event.preventDefault()
      navigate(href)
    }}
  />
)
