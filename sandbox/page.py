"""GET /_sandbox/: a live page with every user's presence on both sides, readable at a glance.

The page is static HTML with a small script that polls `/_sandbox/state` every two seconds;
large orgs are filtered and capped (`?q=` and `?limit=` on the state call) so it stays fast.
"""

from __future__ import annotations

from aiohttp import web

from sandbox.context import SandboxContext

__all__ = ["PAGE", "setup"]

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>Presence Sync sandbox</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
:root{--ok:#13a10e;--busy:#c50f1f;--dnd:#a4262c;--away:#eaa300;--off:#8a8886;--ink:#242424}
body{font-family:"Segoe UI",system-ui,sans-serif;margin:0;background:#f5f5f5;color:var(--ink)}
header{background:#464eb8;color:#fff;padding:12px 20px;display:flex;gap:24px;align-items:center;
flex-wrap:wrap}
header h1{font-size:18px;margin:0;font-weight:600}
.stat{font-size:13px;opacity:.95}.stat b{font-size:16px}
.bar{padding:10px 20px;display:flex;gap:12px;align-items:center;flex-wrap:wrap}
input{padding:6px 10px;font-size:14px;width:260px;border:1px solid #ccc;border-radius:4px}
table{border-collapse:collapse;width:calc(100% - 40px);margin:0 20px 20px;background:#fff;
box-shadow:0 1px 3px rgba(0,0,0,.12)}
th,td{padding:6px 10px;border-bottom:1px solid #eee;text-align:left;font-size:13px;
vertical-align:middle}
th{background:#fafafa;font-weight:600;position:sticky;top:0}
.badge{display:inline-flex;align-items:center;gap:6px;padding:2px 10px;border-radius:12px;
color:#fff;font-weight:600;font-size:12px;white-space:nowrap}
.badge::before{content:"";width:8px;height:8px;border-radius:50%;background:#fff;opacity:.85}
.Available,.TakeAllCalls{background:var(--ok)}.Busy,.CallConnected,.Ringing,.OnHold{background:var(--busy)}
.DoNotDisturb,.DoNotAcceptAnyCalls{background:var(--dnd)}
.Away,.BeRightBack,.DoNotAcceptDepartmentCalls,.TakeDepartmentCallsOnly{background:var(--away)}
.Offline,.PresenceUnknown,.NoCall,.none{background:var(--off)}
.sub{color:#616161;font-size:12px}.muted{color:#a0a0a0}
.tag{display:inline-block;font-size:11px;padding:1px 6px;border-radius:3px;background:#e8e8e8;
margin-left:4px}
.warn{background:#fde7e9;color:#a4262c}
</style></head><body>
<header><h1>Presence Sync sandbox</h1>
<span class="stat">people <b id="n">-</b></span>
<span class="stat">API calls <b id="calls">-</b></span>
<span class="stat">429s served <b id="throttled">-</b></span>
<span class="stat">consent <b id="consent">-</b></span>
<span class="stat">faults <b id="faults">-</b></span>
<span class="stat">time x<b id="scale">1</b></span>
</header>
<div class="bar"><input id="q" placeholder="filter by email or name" autocomplete="off">
<span class="sub" id="updated">loading…</span></div>
<div class="bar sub" id="routes"></div>
<table><thead><tr><th>Person</th><th>Teams</th><th>Teams activity</th>
<th>RingCentral</th><th>DND</th><th>Telephony</th></tr></thead>
<tbody id="rows"></tbody></table>
<script>
const esc = s => String(s ?? "").replace(/[&<>"']/g, c => ({"&":"&amp;","<":"&lt;",">":"&gt;",
  '"':"&quot;","'":"&#39;"}[c]));
const badge = v => v ? `<span class="badge ${esc(v)}">${esc(v)}</span>` :
  '<span class="muted">—</span>';
let s_mode = "legacy";
function row(p) {
  const t = p.teams, r = p.ringcentral, tp = t && t.presence, rp = r && r.presence;
  const tags = [];
  for (const role of (t && t.roles) || []) tags.push(`<span class="tag">${esc(role)}</span>`);
  if (!t) tags.push('<span class="tag warn">RingCentral only</span>');
  if (!r) tags.push('<span class="tag warn">Teams only</span>');
  if (t && !t.accountEnabled) tags.push('<span class="tag warn">Teams disabled</span>');
  if (r && r.status !== "Enabled") tags.push(`<span class="tag warn">RC ${esc(r.status)}</span>`);
  const sessions = tp && tp.sessions ? tp.sessions.length : 0;
  const chs = rp && rp.dndStatusPersonal && s_mode === "chs";
  const dnd = rp ? (chs ? rp.dndStatusPersonal : rp.dndStatus) : null;
  const pref = tp && tp.preferred ? ", preferred set" : "";
  const user = rp && rp.userStatus ? `<div class="sub">userStatus ${esc(rp.userStatus)}</div>` : "";
  return `<tr><td><b>${esc(p.display_name)}</b>${tags.join("")}
     <div class="sub">${esc(p.email)}</div></td>
   <td>${t ? badge(tp && tp.availability) : badge(null)}</td>
   <td>${t ? esc(tp && tp.activity) : ""}<div class="sub">${sessions} session(s)${pref}</div></td>
   <td>${r ? badge(rp && (rp.presenceStatus || rp.userStatus)) : badge(null)}${user}</td>
   <td>${r ? badge(dnd) : badge(null)}</td>
   <td>${r ? badge(rp && rp.telephonyStatus) : badge(null)}</td></tr>`;
}
async function refresh() {
  const q = document.getElementById("q").value.trim();
  try {
    const res = await fetch(`/_sandbox/state?limit=300&q=${encodeURIComponent(q)}`);
    const s = await res.json();
    s_mode = s.rc_mode;
    document.getElementById("rows").innerHTML = s.users.map(row).join("");
    document.getElementById("n").textContent = s.total_people ?? s.users.length;
    document.getElementById("calls").textContent = s.requests.total;
    document.getElementById("throttled").textContent = s.requests.throttled;
    document.getElementById("consent").textContent = s.consent.granted ? "granted" : "not granted";
    document.getElementById("faults").textContent = s.faults.length + s.revoked.length;
    document.getElementById("scale").textContent = s.time_scale;
    const counts = await (await fetch("/_sandbox/requests")).json();
    const top = Object.entries(counts.calls).sort((a, b) => b[1] - a[1]).slice(0, 6);
    document.getElementById("routes").innerHTML = top.map(([route, n]) => {
      const t = counts.throttled[route];
      return `<span class="tag">${esc(route)}: ${n}${t ? ` <b>(${t} x 429)</b>` : ""}</span>`;
    }).join(" ");
    document.getElementById("updated").textContent = "updated " + new Date().toLocaleTimeString() +
      (s.users.length < (s.matching ?? 0) ? ` — showing ${s.users.length} of ${s.matching}` : "");
  } catch (e) {
    document.getElementById("updated").textContent = "sandbox not answering: " + e;
  }
}
document.getElementById("q").addEventListener("input", refresh);
refresh(); setInterval(refresh, 2000);
</script></body></html>
"""


async def sandbox_page(request: web.Request) -> web.Response:
    """GET /_sandbox/: the live presence page."""
    del request
    return web.Response(text=PAGE, content_type="text/html")


def setup(app: web.Application, ctx: SandboxContext) -> None:
    """Mount the page at /_sandbox/ (and /_sandbox)."""
    del ctx
    app.router.add_get("/_sandbox/", sandbox_page)
    app.router.add_get("/_sandbox", sandbox_page)
