import { api, productFileUrl } from "../api-client.ts"
import { ErrorNotice, Loading } from "../components/error-notice.tsx"
import { RelativeTime } from "../components/relative-time.tsx"
import { bytes } from "../format.ts"
import { useApi } from "../hooks.ts"
import { Link, paths } from "../router.tsx"
import { useTitle } from "../title.ts"
import { LineageGraph } from "./lineage-graph.tsx"

/* `/products/:id`: one data product — metadata, copies, the file — and its lineage as a graph. */

export const ProductView = ({ id }: { readonly id: number }) => {
  useTitle(`Product ${id}`)
  const product = useApi(String(id), (signal) => api.product(id, signal))
  const lineage = useApi(String(id), (signal) => api.lineage(id, signal))
  const data = product.data
  return (
    <div data-testid="view-product" data-product-id={id}>
      {product.error !== undefined ? <ErrorNotice error={product.error} /> : null}
      {data === undefined ? (
        product.error === undefined ? (
          <Loading />
        ) : null
      ) : (
        <>
          <div class="view-heading">
            <h1>
              Product #{data.id} <span class="tag">{data.type}</span>
            </h1>
            <a href={productFileUrl(data.id)} download data-testid="download-link">
              Download
            </a>
          </div>
          <div class="columns">
            <section class="panel facts" data-testid="product-facts">
              <dl>
                <dt>File</dt>
                <dd class="mono">{data.relativePath}</dd>
                <dt>Size</dt>
                <dd>{bytes(data.sizeBytes)}</dd>
                <dt>Checksum</dt>
                <dd class="mono break">{data.checksum}</dd>
                <dt>Made by</dt>
                <dd>
                  <Link href={paths.run(data.runId)} data-testid="product-run-link">
                    run #{data.runId}
                  </Link>{" "}
                  of <Link href={paths.step(data.pipeline, data.step)}>{`${data.pipeline}.${data.step}`}</Link>{" "}
                  <span class="mono">{data.subGroupKey}</span>, software {data.softwareVersion}
                </dd>
                <dt>Created</dt>
                <dd>
                  <RelativeTime iso={data.createdAt} />
                </dd>
                <dt>Copies</dt>
                <dd>
                  {data.copies.length === 0 ? (
                    <span class="muted">none recorded</span>
                  ) : (
                    <ul class="plain">
                      {data.copies.map((copy) => (
                        <li key={`${copy.location}:${copy.path}`}>
                          {copy.location}: <span class="mono">{copy.path}</span> ({copy.status})
                        </li>
                      ))}
                    </ul>
                  )}
                </dd>
              </dl>
            </section>
            <section class="panel">
              <h2>Quality</h2>
              <pre class="config">{data.quality === null ? "none" : JSON.stringify(data.quality, null, 2)}</pre>
            </section>
          </div>
          {data.type === "PLOT" ? (
            <img class="plot" src={productFileUrl(data.id)} alt={`Plot ${data.relativePath}`} data-testid="plot" />
          ) : null}
        </>
      )}
      <section class="panel" data-testid="lineage">
        <h2>Lineage</h2>
        {lineage.error !== undefined && product.error === undefined ? <ErrorNotice error={lineage.error} /> : null}
        {lineage.data === undefined ? lineage.error === undefined ? <Loading /> : null : <LineageGraph lineage={lineage.data} />}
      </section>
    </div>
  )
}
