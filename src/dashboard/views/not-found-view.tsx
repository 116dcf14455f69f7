import { Link, paths } from "../router.tsx"
import { useTitle } from "../title.ts"

export const NotFoundView = ({ path }: { readonly path: string }) => {
  useTitle("Not found")
  return (
    <div data-testid="view-not-found">
      <h1>No such page</h1>
      <p>
        Nothing lives at <span class="mono">{path}</span>. <Link href={paths.overview()}>Back to the pipelines</Link>.
      </p>
    </div>
  )
}
