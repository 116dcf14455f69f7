import { useState } from "preact/hooks"
import { api } from "../api-client.ts"
import { ErrorNotice, Loading } from "../components/error-notice.tsx"
import { useApi } from "../hooks.ts"
import { Link, paths } from "../router.tsx"
import { useTitle } from "../title.ts"

/*
 * `/pipelines/:pipeline/steps/:step/why[?subGroup=KEY]`: what `ccat why` prints, then each
 * sub-group's decision, linking to that sub-group's own explanation.
 */

const shownAtFirst = 200

export const WhyView = ({
  pipeline,
  step,
  subGroup
}: {
  readonly pipeline: string
  readonly step: string
  readonly subGroup: string | undefined
}) => {
  useTitle(`why ${pipeline}.${step}${subGroup === undefined ? "" : ` ${subGroup}`}`)
  const why = useApi(JSON.stringify([pipeline, step, subGroup ?? null]), (signal) => api.why(pipeline, step, subGroup, signal))
  const [showAll, setShowAll] = useState(false)
  const decisions = why.data?.decisions ?? []
  const shown = showAll ? decisions : decisions.slice(0, shownAtFirst)
  return (
    <div data-testid="view-why" data-sub-group={subGroup ?? ""}>
      <div class="view-heading">
        <h1>
          Why: <Link href={paths.step(pipeline, step)}>{`${pipeline}.${step}`}</Link>
          {subGroup !== undefined ? <span class="mono"> {subGroup}</span> : null}
        </h1>
        {subGroup !== undefined ? <Link href={paths.why(pipeline, step)}>Every sub-group</Link> : null}
        {subGroup !== undefined ? <Link href={paths.runs({ pipeline, step, subGroup })}>Runs of this sub-group</Link> : null}
      </div>
      {why.error !== undefined ? <ErrorNotice error={why.error} /> : null}
      {why.data === undefined ? (
        why.error === undefined ? (
          <Loading />
        ) : null
      ) : (
        <>
          <section class="panel">
            <pre class="why-lines" data-testid="why-lines">
              {why.data.lines.join("\n")}
            </pre>
          </section>
          {Object.keys(why.data.counts).length > 0 ? (
            <p>
              {Object.entries(why.data.counts).map(([reason, n]) => (
                <span key={reason} class="tag mono">
                  {reason} {n}
                </span>
              ))}
            </p>
          ) : null}
          <section class="panel">
            <h2>Decisions ({decisions.length})</h2>
            {decisions.length === 0 ? (
              <p class="muted">No sub-group.</p>
            ) : (
              <div class="table-scroll">
                <table data-testid="why-decisions">
                  <thead>
                    <tr>
                      <th>Sub-group</th>
                      <th>Reason</th>
                      <th>Creates a run</th>
                      <th>Description</th>
                    </tr>
                  </thead>
                  <tbody>
                    {shown.map((decision) => (
                      <tr key={decision.subGroupKey} data-testid="why-decision" data-sub-group={decision.subGroupKey}>
                        <td class="mono">
                          <Link href={paths.why(pipeline, step, decision.subGroupKey)}>{decision.subGroupKey}</Link>
                        </td>
                        <td class="mono">{decision.reason}</td>
                        <td>{decision.creates ? "yes" : "no"}</td>
                        <td>{decision.description}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            )}
            {shown.length < decisions.length ? (
              <button type="button" onClick={() => setShowAll(true)}>
                Show all {decisions.length}
              </button>
            ) : null}
          </section>
        </>
      )}
    </div>
  )
}
