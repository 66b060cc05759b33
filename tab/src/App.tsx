/** The app shell: theme, sign-in, the admin check, and navigation between pages. */
import {
  Button,
  FluentProvider,
  Tab,
  TabList,
  Text,
  makeStyles,
  teamsDarkTheme,
  teamsHighContrastTheme,
  teamsLightTheme,
  tokens,
  type Theme,
} from "@fluentui/react-components";
import { useCallback, useEffect, useState } from "react";
import { ApiError, readableError } from "./api/client";
import type { SessionView } from "./api/types";
import { ErrorBoundary } from "./components/ErrorBoundary";
import { ErrorState, Loading } from "./components/states";
import type { ThemeName } from "./host";
import { ActivityPage } from "./pages/ActivityPage";
import { OverviewPage } from "./pages/OverviewPage";
import { PeoplePage } from "./pages/PeoplePage";
import { RulesPage } from "./pages/RulesPage";
import { PAGES, usePage, type PageName } from "./router";
import { AppStateProvider, useApp, type Services } from "./store";

const THEMES: Record<ThemeName, Theme> = {
  default: teamsLightTheme,
  dark: teamsDarkTheme,
  contrast: teamsHighContrastTheme,
};

const useStyles = makeStyles({
  provider: {
    minHeight: "100vh",
    backgroundColor: tokens.colorNeutralBackground2,
    color: tokens.colorNeutralForeground1,
  },
  header: {
    display: "flex",
    alignItems: "center",
    justifyContent: "space-between",
    gap: tokens.spacingHorizontalM,
    flexWrap: "wrap",
    padding: `${tokens.spacingVerticalS} ${tokens.spacingHorizontalXL}`,
    backgroundColor: tokens.colorNeutralBackground1,
    borderBottom: `${tokens.strokeWidthThin} solid ${tokens.colorNeutralStroke2}`,
  },
  brand: { fontWeight: tokens.fontWeightSemibold, fontSize: tokens.fontSizeBase400 },
  user: { display: "flex", alignItems: "center", gap: tokens.spacingHorizontalM },
  nav: { padding: `0 ${tokens.spacingHorizontalM}`, backgroundColor: tokens.colorNeutralBackground1 },
  main: {
    padding: `${tokens.spacingVerticalL} ${tokens.spacingHorizontalXL}`,
    maxWidth: "1200px",
    display: "flex",
    flexDirection: "column",
    gap: tokens.spacingVerticalL,
  },
  gate: {
    maxWidth: "560px",
    margin: "10vh auto 0",
    padding: tokens.spacingHorizontalXXL,
    display: "flex",
    flexDirection: "column",
    gap: tokens.spacingVerticalL,
    backgroundColor: tokens.colorNeutralBackground1,
    borderRadius: tokens.borderRadiusLarge,
    boxShadow: tokens.shadow4,
  },
  h1: { margin: 0, fontSize: tokens.fontSizeBase600, lineHeight: tokens.lineHeightBase600, fontWeight: tokens.fontWeightSemibold },
  marker: { color: tokens.colorPaletteDarkOrangeForeground1, marginInlineStart: tokens.spacingHorizontalXS },
  hidden: {
    position: "absolute",
    width: "1px",
    height: "1px",
    overflow: "hidden",
    clip: "rect(0 0 0 0)",
    whiteSpace: "nowrap",
  },
});

/** The whole tab; `services` are built by main.tsx (or by a test). */
export function App(props: { services: Services; productName?: string }) {
  const { host } = props.services;
  const styles = useStyles();
  const [theme, setTheme] = useState<ThemeName>(host.theme);

  useEffect(() => host.onThemeChange(setTheme), [host]);
  useEffect(() => {
    document.documentElement.dataset.theme = theme;
    document.documentElement.style.colorScheme = theme === "default" ? "light" : "dark";
  }, [theme]);

  return (
    <FluentProvider theme={THEMES[theme]} className={styles.provider} data-theme={theme}>
      <Gate services={props.services} productName={props.productName ?? "Presence Sync"} />
    </FluentProvider>
  );
}

type SessionState =
  | { kind: "loading" }
  | { kind: "signed-out" }
  | { kind: "error"; message: string }
  | { kind: "ready"; session: SessionView };

function Gate(props: { services: Services; productName: string }) {
  const { api, host } = props.services;
  const styles = useStyles();
  const [state, setState] = useState<SessionState>({ kind: "loading" });

  const load = useCallback(() => {
    setState({ kind: "loading" });
    api.session().then(
      (session) => setState({ kind: "ready", session }),
      (err) => {
        if (err instanceof ApiError && err.status === 401 && !host.inTeams) setState({ kind: "signed-out" });
        else setState({ kind: "error", message: readableError(err) });
      },
    );
  }, [api, host]);
  useEffect(load, [load]);

  const signOut = useCallback(async () => {
    try {
      await api.logout();
    } catch {
      // Signed out already, or the cookie is gone: either way show the sign-in screen.
    }
    api.setCsrfToken(null);
    setState({ kind: "signed-out" });
  }, [api]);

  if (state.kind === "loading") return <Loading label="Signing you in…" />;
  if (state.kind === "signed-out") {
    const back = window.location.pathname + window.location.search;
    const href = `/tab/auth/login?return=${encodeURIComponent(back.startsWith("/") && !back.startsWith("//") ? back : "/tab/")}`;
    return (
      <main className={styles.gate}>
        <h1 className={styles.h1}>{props.productName}</h1>
        <Text>Sign in with your Microsoft work account to manage presence sync between Microsoft Teams and RingCentral.</Text>
        <div>
          <Button appearance="primary" onClick={() => host.goTo(href)}>
            Sign in with Microsoft
          </Button>
        </div>
      </main>
    );
  }
  if (state.kind === "error") {
    return (
      <main className={styles.gate}>
        <h1 className={styles.h1}>{props.productName}</h1>
        <ErrorState title="Could not sign you in" message={state.message} onRetry={load} />
      </main>
    );
  }
  const { session } = state;
  if (!session.admin) {
    return (
      <main className={styles.gate}>
        <h1 className={styles.h1}>You can't manage {props.productName}</h1>
        <Text>
          You are signed in as {session.user.name} ({session.user.email}), but this page is for Presence Sync admins only.
        </Text>
        <Text role="alert">{session.reason ?? "Your account is not a Presence Sync admin."}</Text>
        <Text>Ask an admin to add you, or sign in with another account.</Text>
        {!host.inTeams && (
          <div>
            <Button onClick={signOut}>Sign out</Button>
          </div>
        )}
      </main>
    );
  }
  return (
    <AppStateProvider services={props.services} session={session}>
      <Shell productName={props.productName} session={session} onSignOut={host.inTeams ? undefined : signOut} />
    </AppStateProvider>
  );
}

function Shell(props: { productName: string; session: SessionView; onSignOut?: () => void }) {
  const styles = useStyles();
  const [page, go] = usePage();
  const { rulesDirty } = useApp();

  useEffect(() => {
    if (!rulesDirty) return;
    // Leaving the tab (reload, sign-out) would lose the draft; the browser asks first.
    const warn = (event: BeforeUnloadEvent) => event.preventDefault();
    window.addEventListener("beforeunload", warn);
    return () => window.removeEventListener("beforeunload", warn);
  }, [rulesDirty]);

  useEffect(() => {
    const label = PAGES.find((p) => p.name === page)?.label ?? "";
    document.title = `${label} · ${props.productName}`;
  }, [page, props.productName]);

  return (
    <>
      <header className={styles.header}>
        <Text className={styles.brand}>{props.productName}</Text>
        <div className={styles.user}>
          <Text>{props.session.user.name}</Text>
          {props.onSignOut && <Button onClick={props.onSignOut}>Sign out</Button>}
        </div>
      </header>
      <nav className={styles.nav} aria-label="Pages">
        <TabList selectedValue={page} onTabSelect={(_, data) => go(data.value as PageName)}>
          {PAGES.map((p) => (
            <Tab key={p.name} value={p.name}>
              {p.label}
              {p.name === "rules" && rulesDirty && (
                <>
                  <span className={styles.marker} aria-hidden="true" data-testid="rules-unsaved-marker">
                    ●
                  </span>
                  <span className={styles.hidden}> (unsaved changes)</span>
                </>
              )}
            </Tab>
          ))}
        </TabList>
      </nav>
      <main className={styles.main}>
        <ErrorBoundary key={page}>
          {page === "overview" && <OverviewPage />}
          {page === "people" && <PeoplePage />}
          {page === "rules" && <RulesPage />}
          {page === "activity" && <ActivityPage />}
        </ErrorBoundary>
      </main>
    </>
  );
}
