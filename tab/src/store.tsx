/**
 * App-level state that must outlive a page: the services, the call presence rules draft
 * (unsaved changes survive switching pages) and the job being followed.
 */
import { createContext, useCallback, useContext, useMemo, useState, type ReactNode } from "react";
import type { ApiClient } from "./api/client";
import type { JobWatcher } from "./api/jobs";
import type { Job, Rules, SessionView } from "./api/types";
import type { Host } from "./host";
import { draftOf, sameDraft, type RulesDraft } from "./rules";

export interface Services {
  api: ApiClient;
  host: Host;
  watchJob: JobWatcher;
}

interface RulesState {
  /** The rules as last read from or saved to the server. */
  base: Rules | null;
  /** The admin's edits; null while there are none. */
  draft: RulesDraft | null;
}

interface AppState {
  services: Services;
  session: SessionView | null;
  rules: RulesState;
  rulesDirty: boolean;
  /** Replaces what the server holds; keeps the draft unless `discardDraft`. */
  setRulesBase(rules: Rules, discardDraft?: boolean): void;
  setRulesDraft(draft: RulesDraft | null): void;
  /** The job the admin started last (or found running), followed across pages. */
  activeJob: Job | null;
  setActiveJob(job: Job | null): void;
}

const AppContext = createContext<AppState | null>(null);

export function AppStateProvider(props: { services: Services; session: SessionView | null; children: ReactNode }) {
  const [rules, setRules] = useState<RulesState>({ base: null, draft: null });
  const [activeJob, setActiveJob] = useState<Job | null>(null);

  const setRulesBase = useCallback((base: Rules, discardDraft = false) => {
    setRules((prev) => {
      const draft = discardDraft || !prev.draft || sameDraft(prev.draft, draftOf(base)) ? null : prev.draft;
      return { base, draft };
    });
  }, []);

  const setRulesDraft = useCallback((draft: RulesDraft | null) => {
    setRules((prev) => ({ base: prev.base, draft: draft && prev.base && sameDraft(draft, draftOf(prev.base)) ? null : draft }));
  }, []);

  const value = useMemo<AppState>(
    () => ({
      services: props.services,
      session: props.session,
      rules,
      rulesDirty: rules.draft !== null,
      setRulesBase,
      setRulesDraft,
      activeJob,
      setActiveJob,
    }),
    [props.services, props.session, rules, setRulesBase, setRulesDraft, activeJob],
  );
  return <AppContext.Provider value={value}>{props.children}</AppContext.Provider>;
}

export function useApp(): AppState {
  const state = useContext(AppContext);
  if (!state) throw new Error("useApp() needs an <AppStateProvider> above it");
  return state;
}

export function useServices(): Services {
  return useApp().services;
}
