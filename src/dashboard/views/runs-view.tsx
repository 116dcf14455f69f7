import { useEffect, useState } from "preact/hooks"
import { api } from "../api-client.ts"
import type { RunFilter } from "../api-types.ts"
import { runStatuses } from "../api-types.ts"
import { ErrorNotice, Loading } from "../components/error-notice.tsx"
import { RunsTable } from "../components/runs-table.tsx"
import { useApi, useRunsChanged } from "../hooks.ts"
import { Link, navigate, paths } from "../router.tsx"
import { useTitle } from "../title.ts"

/*
 * `/runs`: runs newest first, 50 a page, filtered by what the URL's query says (so a filtered
 * view can be bookmarked and shared); "Older" follows the page's cursor. The first page follows
 * run changes live; an older page stays as it was read.
 */

const pageSize = 50

const filterKeys = ["pipeline", "step", "status", "subGroup", "reason", "since"] as const
type FilterKey = (typeof filterKeys)[number]
type Filters = Record<FilterKey, string>

const filtersOf = (query: URLSearchParams): Filters => Object.fromEntries(filterKeys.map((key) => [key, query.get(key) ?? ""])) as Filters

// <input type="datetime-local"> speaks local wall time; the URL and the API speak ISO instants.
const isoToLocalInput = (iso: string): string => {
  const at = new Date(iso)
  if (Number.isNaN(at.getTime())) return ""
  const local = new Date(at.getTime() - at.getTimezoneOffset() * 60_000)
  return local.toISOString().slice(0, 16)
}
const localInputToIso = (local: string): string => {
  const at = new Date(local)
  return Number.isNaN(at.getTime()) ? "" : at.toISOString()
}

const FilterForm = ({ applied }: { readonly applied: Filters }) => {
  const [draft, setDraft] = useState(applied)
  useEffect(() => setDraft(applied), [JSON.stringify(applied)])
  const overview = useApi("overview", (signal) => api.overview(signal))
  const pipelines = overview.data?.pipelines ?? []
  const steps = pipelines.find((p) => p.name === draft.pipeline)?.steps ?? pipelines.flatMap((p) => p.steps)
  const field = (key: FilterKey) => ({
    name: key,
    value: draft[key],
    onInput: (event: { currentTarget: { value: string } }) => {
      const value = event.currentTarget.value
      setDraft((old) => ({ ...old, [key]: value }))
    }
  })
  return (
    <form
      class="filters"
      data-testid="run-filters"
      onSubmit={(event) => {
        event.preventDefault()
        navigate(paths.runs(draft))
      }}
    >
      <label>
        Pipeline
        <input list="filter-pipelines" data-testid="filter-pipeline" {...field("pipeline")} />
        <datalist id="filter-pipelines">
          {pipelines.map((p) => (
            <option key={p.name} value={p.name} />
          ))}
        </datalist>
      </label>
      <label>
        Step
        <input list="filter-steps" data-testid="filter-step" {...field("step")} />
        <datalist id="filter-steps">
          {[...new Set(steps.map((s) => s.name))].map((name) => (
            <option key={name} value={name} />
          ))}
        </datalist>
      </label>
      <label>
        Status
        <select data-testid="filter-status" {...field("status")}>
          <option value="">any</option>
          {runStatuses.map((status) => (
            <option key={status} value={status}>
              {status}
            </option>
          ))}
        </select>
      </label>
      <label>
        Sub-group
        <input data-testid="filter-sub-group" {...field("subGroup")} />
      </label>
      <label>
        Reason
        <input data-testid="filter-reason" placeholder="NEW_DATA, …" {...field("reason")} />
      </label>
      <label>
        Since
        <input
          type="datetime-local"
          data-testid="filter-since"
          name="since"
          value={isoToLocalInput(draft.since)}
          onInput={(event) => {
            const value = localInputToIso(event.currentTarget.value)
            setDraft((old) => ({ ...old, since: value }))
          }}
        />
      </label>
      <div class="buttons">
        <button type="submit" data-testid="filter-apply">
          Filter
        </button>
        <Link href={paths.runs()} class="button-link">
          Clear
        </Link>
      </div>
    </form>
  )
}

export const RunsView = ({ query }: { readonly query: URLSearchParams }) => {
  useTitle("Runs")
  const applied = filtersOf(query)
  const cursor = query.get("cursor") ?? ""
  const filter: RunFilter = { ...applied, ...(cursor === "" ? {} : { cursor }) }
  const page = useApi(JSON.stringify(filter), (signal) => api.runs({ ...filter, limit: pageSize }, signal))
  useRunsChanged(page.reload, 1000, cursor === "")
  return (
    <div data-testid="view-runs">
      <div class="view-heading">
        <h1>Runs</h1>
        {cursor !== "" ? <span class="muted">older than run #{cursor}</span> : <span class="muted">newest first, live</span>}
      </div>
      <FilterForm applied={applied} />
      {page.error !== undefined ? <ErrorNotice error={page.error} /> : null}
      {page.data === undefined ? (
        page.error === undefined ? (
          <Loading />
        ) : null
      ) : (
        <section class="panel">
          <RunsTable runs={page.data.runs} />
          <nav class="pager">
            {cursor !== "" ? (
              <Link href={paths.runs(applied)} data-testid="runs-newest">
                Newest
              </Link>
            ) : null}
            {page.data.nextCursor !== null ? (
              <Link href={paths.runs({ ...applied, cursor: String(page.data.nextCursor) })} data-testid="runs-older">
                Older
              </Link>
            ) : null}
          </nav>
        </section>
      )}
    </div>
  )
}
