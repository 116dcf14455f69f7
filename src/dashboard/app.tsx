import { TokenControl } from "./components/token-control.tsx"
import { Link, paths, type Route, useRoute } from "./router.tsx"
import { useStore } from "./store.ts"
import { tokenStore } from "./token.ts"
import { NotFoundView } from "./views/not-found-view.tsx"
import { OverviewView } from "./views/overview-view.tsx"
import { ProductView } from "./views/product-view.tsx"
import { RunView } from "./views/run-view.tsx"
import { RunsView } from "./views/runs-view.tsx"
import { StepView } from "./views/step-view.tsx"
import { WhyView } from "./views/why-view.tsx"

const View = ({ route }: { readonly route: Route }) => {
  switch (route.view) {
    case "overview":
      return <OverviewView />
    case "step":
      return <StepView pipeline={route.pipeline} step={route.step} />
    case "why":
      return <WhyView pipeline={route.pipeline} step={route.step} subGroup={route.subGroup} />
    case "runs":
      return <RunsView query={route.query} />
    case "run":
      return <RunView id={route.id} />
    case "product":
      return <ProductView id={route.id} />
    case "not-found":
      return <NotFoundView path={route.path} />
  }
}

export const App = () => {
  const route = useRoute()
  // A new token may see what the last one could not: every view loads afresh.
  const token = useStore(tokenStore)
  return (
    <>
      <header class="app-header">
        <Link href={paths.overview()} class="brand">
          ccat
        </Link>
        <nav>
          <Link href={paths.overview()} class={route.view === "overview" || route.view === "step" || route.view === "why" ? "active" : ""}>
            Pipelines
          </Link>
          <Link href={paths.runs()} class={route.view === "runs" || route.view === "run" ? "active" : ""}>
            Runs
          </Link>
          <a href="/api/v1/docs" target="_blank" rel="noopener">
            API
          </a>
        </nav>
        <TokenControl />
      </header>
      <main class="app-main" key={token ?? ""}>
        <View route={route} />
      </main>
    </>
  )
}
