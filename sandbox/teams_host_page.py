"""The Teams host page: HTML around the tab's iframe, and the script that plays Teams' part.

The script answers teams-js 2.x's postMessage protocol (internal/communication.ts): a request
is `{id, uuidAsString, func, args, …}`; an answer is `{id, uuidAsString, args}` posted back to
the asking window; a host event is `{func, args}` with no numeric id. Only messages whose
`event.source` is the tab's iframe (from the tab's origin) or the open authentication pop-up
(from the tab's origin or the pop-up start URL's) are answered, and every post names its
target origin. `window.sandboxHost` exposes the log and the theme control to Playwright.
"""

from __future__ import annotations

import json
import re
from typing import Any

__all__ = ["HOST_SCRIPT", "render_error_page", "render_host_page", "script_json"]

HOST_SCRIPT = r"""
(() => {
  "use strict";
  const config = JSON.parse(document.getElementById("sandbox-host-config").textContent);
  const THEMES = ["default", "dark", "contrast"];
  const frame = document.getElementById("tab");
  const select = document.getElementById("theme");
  const state = {
    theme: config.theme,
    popup: null,          // the authentication window while one is open
    popupOrigins: [],     // where its answers may come from: the tab's and the start URL's
    pendingAuth: null,    // the tab's authentication.authenticate request awaiting a result
    watch: 0,
  };
  const host = {
    messages: [],         // func names the tab sent, in order
    popupMessages: [],    // func names the authentication window sent
    unanswered: [],       // requests this host does not implement (teams-js keeps waiting)
    appState: null,       // "loaded" | "success" | "failure" | "expectedFailure"
    failure: null,        // {reason, message} of notifyFailure / notifyExpectedFailure
    tokens: [],           // every SSO token handed out, newest last
    tokenOptions: {},     // merged into the sso-token request, e.g. {expired: true}
    authTokenError: null, // a reason string makes getAuthToken() fail with it
    authResults: [],      // [success, result] of every authenticate answered
    get theme() { return state.theme; },
    setTheme,
  };
  window.sandboxHost = host;

  function runtimeConfig() {
    // Only what this host answers; teams-js's isSupported() checks read this.
    return JSON.stringify({
      apiVersion: 4,
      hostVersionsInfo: {adaptiveCardSchemaVersion: {majorVersion: 1, minorVersion: 5}},
      isLegacyTeams: false,
      supports: {
        appInitialization: {},
        authentication: {},
        teamsCore: {},
        pages: {appButton: {}, tabs: {}, config: {}, backStack: {}, fullTrust: {}},
      },
    });
  }

  function context(frameContext) {
    // The legacy context shape: teams-js turns it into app.Context itself.
    const user = config.user;
    return {
      locale: config.locale,
      theme: state.theme,
      hostClientType: "web",
      hostName: "Teams",
      frameContext,
      tid: config.tenantId,
      userObjectId: user.id,
      userPrincipalName: user.userPrincipalName,
      loginHint: user.userPrincipalName,
      userDisplayName: user.displayName,
      userLicenseType: "Unknown",
      tenantSKU: "enterprise",
      appId: config.appId,
      entityId: "admin",
      appSessionId: config.sessionId,
      sessionId: config.sessionId,
      ringId: "general",
      isFullScreen: false,
      isMultiWindow: false,
    };
  }

  function initializeAnswer(frameContext) {
    return [frameContext, "web", runtimeConfig(), config.sdkVersion];
  }

  function reply(target, origin, request, args) {
    // teams-js matches an answer to its request by id and uuidAsString.
    target.postMessage({id: request.id, uuidAsString: request.uuidAsString, args}, origin);
  }

  function toTab(func, args) {
    // No numeric id: teams-js would take a message with one for an answer.
    if (frame.contentWindow) frame.contentWindow.postMessage({func, args}, config.tabOrigin);
  }

  async function authToken(request, target, origin) {
    if (host.authTokenError) {
      reply(target, origin, request, [false, host.authTokenError]);
      return;
    }
    try {
      const response = await fetch(config.ssoTokenPath, {
        method: "POST",
        headers: {"Content-Type": "application/json"},
        body: JSON.stringify({audience: config.audience, ...host.tokenOptions}),
      });
      const body = await response.json();
      if (!response.ok) throw new Error(body.error || `HTTP ${response.status}`);
      host.tokens.push(body.token);
      reply(target, origin, request, [true, body.token]);
    } catch (err) {
      reply(target, origin, request, [false, String((err && err.message) || err)]);
    }
  }

  function finishAuth(success, result) {
    const pending = state.pendingAuth;
    const popup = state.popup;
    state.pendingAuth = null;
    state.popup = null;
    clearInterval(state.watch);
    if (popup && !popup.closed) popup.close();  // Teams closes the window once it answered
    if (!pending) return;
    host.authResults.push([success, result]);
    reply(frame.contentWindow, config.tabOrigin, pending, [success, result]);
  }

  function authenticate(request) {
    const [url, width, height] = request.args || [];
    const answer = (reason) =>
      reply(frame.contentWindow, config.tabOrigin, request, [false, reason]);
    if (state.pendingAuth) return answer("An authentication window is already open");
    let start;
    try {
      start = new URL(url);
    } catch (_) {
      return answer("Invalid url");
    }
    if (start.protocol !== "https:" && start.protocol !== "http:") return answer("Invalid url");
    const w = Number(width) || 600;
    const h = Number(height) || 400;
    const left = Math.round(window.screenX + Math.max(0, (window.outerWidth - w) / 2));
    const top = Math.round(window.screenY + Math.max(0, (window.outerHeight - h) / 2));
    // No noopener: teams-js in the pop-up talks to window.opener, this page.
    const features = `width=${w},height=${h},left=${left},top=${top}`;
    const popup = window.open(start.href, "_blank", features);
    if (!popup) return answer("FailedToOpenWindow");
    state.popup = popup;
    state.pendingAuth = request;
    state.popupOrigins = [config.tabOrigin, start.origin];
    state.watch = setInterval(() => {
      if (state.popup && state.popup.closed) finishAuth(false, "CancelledByUser");
    }, 250);
  }

  function appInitialization(request) {
    const kind = request.func.slice("appInitialization.".length);
    if (kind === "appLoaded") {
      host.appState = host.appState || "loaded";
    } else if (kind === "success") {
      host.appState = "success";
    } else {
      host.appState = kind;
      host.failure = {reason: request.args[0], message: request.args[1]};
    }
  }

  function fromTab(request) {
    const target = frame.contentWindow;
    const origin = config.tabOrigin;
    switch (request.func) {
      case "initialize": return reply(target, origin, request, initializeAnswer("content"));
      case "getContext": return reply(target, origin, request, [context("content")]);
      case "authentication.getAuthToken": return authToken(request, target, origin);
      case "authentication.authenticate": return authenticate(request);
      case "registerHandler": return;  // themeChange reaches every tab anyway
      case "appInitialization.appLoaded":
      case "appInitialization.success":
      case "appInitialization.failure":
      case "appInitialization.expectedFailure":
        return appInitialization(request);
      default: host.unanswered.push(request.func);
    }
  }

  function fromPopup(request, origin) {
    const target = state.popup;
    switch (request.func) {
      case "initialize": return reply(target, origin, request, initializeAnswer("authentication"));
      case "getContext": return reply(target, origin, request, [context("authentication")]);
      case "authentication.getAuthToken": return authToken(request, target, origin);
      case "authentication.authenticate.success": return finishAuth(true, request.args[0]);
      case "authentication.authenticate.failure": return finishAuth(false, request.args[0]);
      case "registerHandler": return;
      default: host.unanswered.push(request.func);
    }
  }

  window.addEventListener("message", (event) => {
    const data = event.data;
    if (!data || typeof data !== "object" || typeof data.func !== "string") return;
    if (event.source && event.source === frame.contentWindow) {
      if (event.origin !== config.tabOrigin) return;  // the frame navigated elsewhere
      host.messages.push(data.func);
      fromTab(data);
    } else if (state.popup && event.source === state.popup) {
      if (!state.popupOrigins.includes(event.origin)) return;
      host.popupMessages.push(data.func);
      fromPopup(data, event.origin);
    }
  });

  function setTheme(theme) {
    if (!THEMES.includes(theme)) throw new Error(`theme: one of ${THEMES.join(", ")}`);
    state.theme = theme;
    select.value = theme;
    document.body.dataset.theme = theme;
    toTab("themeChange", [theme]);
  }

  select.value = state.theme;
  document.body.dataset.theme = state.theme;
  select.addEventListener("change", () => setTheme(select.value));
  // The src is set only now, so the listener above hears the tab's first message.
  frame.src = config.tab;
})();
"""

_STYLE = """
*{box-sizing:border-box}
html,body{height:100%;margin:0}
body{font-family:"Segoe UI",system-ui,sans-serif;display:flex;flex-direction:column;
background:#f5f5f5;color:#242424}
header{height:48px;flex:none;display:flex;align-items:center;gap:14px;padding:0 16px;
background:#ebebeb;border-bottom:1px solid #d1d1d1}
.brand{font-weight:600;color:#5b5fc7}.app{font-weight:600}
.spacer{flex:1}.who{font-size:13px}
.avatar{width:28px;height:28px;border-radius:50%;background:#5b5fc7;color:#fff;display:grid;
place-items:center;font-size:12px;font-weight:600}
label{font-size:13px}select{font:inherit;margin-left:6px}
iframe{flex:1;width:100%;border:0;display:block;background:#fff}
body[data-theme=dark]{background:#1f1f1f;color:#fff}
body[data-theme=dark] header{background:#0a0a0a;border-color:#333}
body[data-theme=dark] iframe{background:#292929}
body[data-theme=contrast]{background:#000;color:#fff}
body[data-theme=contrast] header{background:#000;border-color:#ffff01}
body[data-theme=contrast] .brand{color:#ffff01}
body[data-theme=contrast] iframe{background:#000}
"""

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>Presence Sync in Teams (sandbox)</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>__STYLE__</style></head>
<body>
<header><span class="brand">Microsoft Teams</span><span class="app">Presence Sync</span>
<span class="spacer"></span>
<label>Theme<select id="theme"><option value="default">Default</option>
<option value="dark">Dark</option><option value="contrast">High contrast</option></select></label>
<span class="who" id="who">__NAME__</span><span class="avatar">__INITIALS__</span></header>
<iframe id="tab" title="Presence Sync tab" allow="clipboard-write"></iframe>
<script type="application/json" id="sandbox-host-config">__CONFIG__</script>
<script>__SCRIPT__</script>
</body></html>
"""

_ERROR_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Teams host: bad request</title></head>
<body style="font-family:system-ui,sans-serif;margin:40px">
<h1>The Teams host cannot start</h1><p id="error">__MESSAGE__</p>
<p>Use <code>/_sandbox/teams/host?user=&lt;email&gt;&amp;tab=&lt;http(s) tab URL&gt;
[&amp;theme=default|dark|contrast]</code>.</p></body></html>
"""


def script_json(value: Any) -> str:
    """`value` as JSON that is safe inside a <script> element."""
    # A `</script>` or `<!--` inside a JSON string would otherwise end the element early.
    text = json.dumps(value)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def render_host_page(config: dict[str, Any], display_name: str) -> str:
    """The host page for one user and tab (`config` from `sandbox.teams_host.host_config`)."""
    initials = "".join(part[0] for part in display_name.split()[:2]).upper() or "?"
    parts = {
        "STYLE": _STYLE,
        "NAME": _escape(display_name),
        "INITIALS": _escape(initials),
        "CONFIG": script_json(config),
        "SCRIPT": HOST_SCRIPT,
    }
    # One pass, so a placeholder-like text inside a value is never substituted again.
    return re.sub(r"__([A-Z]+)__", lambda m: parts[m.group(1)], _PAGE)


def render_error_page(escaped_message: str) -> str:
    """The 400 page; `escaped_message` is already HTML-escaped."""
    return _ERROR_PAGE.replace("__MESSAGE__", escaped_message)
