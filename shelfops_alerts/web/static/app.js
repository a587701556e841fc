// ShelfOps alerts dashboard: the live list (/alerts) and one alert (/alerts/{id}).
// Plain browser JavaScript; no framework, no build step. Every value from the server is
// put into the page with textContent, never as HTML.
"use strict";
(function () {
  const $ = (selector, root = document) => root.querySelector(selector);
  const meta = (name) => { const tag = $(`meta[name="${name}"]`); return tag ? tag.content : null; };
  const CSRF = meta("csrf-token");
  const vocabulary = JSON.parse((($("#vocabulary") || {}).textContent) || "{}");
  const RANK = { low: 0, medium: 1, high: 2, critical: 3 };
  const ACTIVE = new Set(["open", "acknowledged"]);
  const ACTOR_KEY = "shelfops.actor";
  const typeLabel = (type) => (vocabulary.type_labels || {})[type] || type;
  const outcomeLabel = (outcome) => (vocabulary.outcome_labels || {})[outcome] || outcome;

  // ---- the HTTP API, with the session cookie and its CSRF token
  async function api(method, path, body) {
    const headers = { Accept: "application/json" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (method !== "GET") headers["X-CSRF-Token"] = CSRF;
    const response = await fetch(path, {
      method, headers, credentials: "same-origin",
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (response.status === 401) {
      location.assign("/login?next=" + encodeURIComponent(location.pathname + location.search));
      throw new Error("Your session has ended; log in again.");
    }
    const data = await response.json().catch(() => ({}));
    if (!response.ok) {
      const detail = Array.isArray(data.detail)
        ? data.detail.map((d) => `${(d.loc || []).slice(-1)[0]}: ${d.msg}`).join("; ")
        : data.detail;
      throw new Error(detail || `The request failed (${response.status}).`);
    }
    return data;
  }

  // A background refresh that fails (offline) is retried by the next one; say nothing.
  const quietly = (promise) => promise.catch(() => undefined);

  function ago(iso) {
    const seconds = Math.max(0, (Date.now() - Date.parse(iso)) / 1000);
    if (seconds < 45) return "just now";
    if (seconds < 3600) return `${Math.round(seconds / 60)} min ago`;
    if (seconds < 86400) return `${Math.round(seconds / 3600)} h ago`;
    return `${Math.round(seconds / 86400)} d ago`;
  }

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  // ---- the live indicator
  function setLive(state) {
    const live = $("#live");
    document.body.dataset.live = state;
    if (!live) return;
    live.className = `live live-${state}`;
    live.lastElementChild.textContent = { on: "Live", connecting: "Connecting…", off: "Reconnecting…" }[state];
  }

  // ---- the stream: replay from the last event seen, then live; reconnects with backoff
  function openStream({ since, onChange, onReset, onRetry }) {
    const heartbeatMs = (parseFloat(meta("heartbeat-s")) || 15) * 1000;
    let lastEventId = since;
    let retries = 0;
    let watchdog = null;
    let socket = null;
    const connect = () => {
      setLive("connecting");
      const scheme = location.protocol === "https:" ? "wss" : "ws";
      const query = lastEventId ? `?since=${encodeURIComponent(lastEventId)}` : "";
      socket = new WebSocket(`${scheme}://${location.host}/v1/stream${query}`);
      const kick = () => {
        clearTimeout(watchdog);
        watchdog = setTimeout(() => socket.close(), heartbeatMs * 2 + 5000);
      };
      socket.onopen = kick;
      socket.onmessage = (event) => {
        kick();
        const message = JSON.parse(event.data);
        if (message.type === "ready") {
          if (!lastEventId) lastEventId = message.last_event_id;
          retries = 0;
          setLive("on");
        } else if (message.type === "reset") {
          onReset();
        } else if (message.event_id) {
          lastEventId = message.event_id;
          onChange(message);
        }
      };
      socket.onclose = () => {
        clearTimeout(watchdog);
        setLive("off");
        const delay = Math.min(500 * 2 ** retries, 15000);
        retries += 1;
        if (onRetry) onRetry();
        setTimeout(connect, delay);
      };
    };
    connect();
    return { lastEventId: () => lastEventId, close: () => socket && socket.close() };
  }

  // ---- acknowledge and resolve dialogs (both pages)
  function setupDialogs(onDone) {
    for (const kind of ["ack", "resolve"]) {
      const dialog = $(`#${kind}-dialog`);
      const form = $(`#${kind}-form`);
      dialog.querySelectorAll("[data-close]").forEach((b) => b.addEventListener("click", () => dialog.close()));
      form.addEventListener("submit", async (event) => {
        event.preventDefault();
        const fields = new FormData(form);
        const by = String(fields.get("by") || "").trim();
        localStorage.setItem(ACTOR_KEY, by);
        const body = { by, note: String(fields.get("note") || "").trim() || null };
        if (kind === "ack") body.outcome = fields.get("outcome") || null;
        const submit = $("button[type=submit]", form);
        const error = $("[data-fill=error]", form);
        submit.disabled = true;
        error.hidden = true;
        try {
          const alert = await api("POST", `/v1/alerts/${dialog.dataset.alert}/${kind}`, body);
          dialog.close();
          onDone(alert);
        } catch (failure) {
          error.textContent = failure.message;
          error.hidden = false;
        } finally {
          submit.disabled = false;
        }
      });
    }
  }

  function openDialog(kind, alert) {
    const dialog = $(`#${kind}-dialog`);
    const form = $(`#${kind}-form`);
    form.reset();
    dialog.dataset.alert = alert.alert_id;
    $("[data-fill=summary]", dialog).textContent =
      `#${alert.alert_id} · ${typeLabel(alert.alert_type)} · ${alert.store_id} / ${alert.product_id}`;
    $("[data-fill=error]", dialog).hidden = true;
    form.elements.by.value = localStorage.getItem(ACTOR_KEY) || "";
    dialog.showModal();
    (form.elements.by.value ? (form.elements.outcome || form.elements.note) : form.elements.by).focus();
  }

  // ---- /alerts: the live list
  function alertsPage() {
    const tbody = $("#alert-rows");
    const alerts = new Map();
    const fresh = new Set();
    let filters = readFilters();
    let loading = null;
    let buffered = [];
    let countsTimer = null;

    function readFilters() {
      const query = new URLSearchParams(location.search);
      return { severity: query.get("severity") || "", type: query.get("type") || "", store: query.get("store") || "" };
    }
    function matches(alert) {
      return ACTIVE.has(alert.status)
        && (!filters.severity || alert.severity === filters.severity)
        && (!filters.type || alert.alert_type === filters.type)
        && (!filters.store || alert.store_id === filters.store);
    }
    function query(extra) {
      const params = new URLSearchParams(extra);
      for (const [key, value] of Object.entries(filters)) if (value) params.set(key, value);
      return params;
    }

    async function load() {
      const found = new Map();
      const params = query({ status: "active", limit: "500" });
      let cursor = null;
      for (let page = 0; page < 10; page += 1) {
        if (cursor) params.set("cursor", cursor);
        const result = await api("GET", `/v1/alerts?${params}`);
        result.alerts.forEach((alert) => found.set(alert.alert_id, alert));
        cursor = result.next_cursor;
        if (!cursor) break;
      }
      alerts.clear();
      found.forEach((alert, id) => alerts.set(id, alert));
      $("#loading").hidden = true;
      render();
      quietly(refreshCounts());
    }
    function reload() {
      if (!loading) {
        loading = load().finally(() => {
          loading = null;
          const changes = buffered;
          buffered = [];
          changes.forEach(apply);
        });
      }
      return loading;
    }

    function apply(change) {
      if (loading) { buffered.push(change); return; }
      const { event_id: eventId, ...fields } = change;
      if (eventId && change.event === "acknowledged") {
        // The stream says what changed, not who acknowledged it or why: ask for that.
        api("GET", `/v1/alerts/${change.alert_id}`).then((alert) => {
          if (alerts.has(alert.alert_id) && ACTIVE.has(alert.status)) apply(alert);
        }).catch(() => {});
      }
      if (ACTIVE.has(change.status)) {
        alerts.set(change.alert_id, { ...(alerts.get(change.alert_id) || {}), ...fields });
        fresh.add(change.alert_id);
        render();
      } else if (alerts.has(change.alert_id)) {
        const row = tbody.querySelector(`tr[data-alert-id="${change.alert_id}"]`);
        alerts.delete(change.alert_id);
        if (row) { row.classList.add("leaving"); setTimeout(render, 700); } else render();
      }
      clearTimeout(countsTimer);
      countsTimer = setTimeout(() => quietly(refreshCounts()), 250);
    }

    async function refreshCounts() {
      const params = new URLSearchParams();
      if (filters.type) params.set("type", filters.type);
      if (filters.store) params.set("store", filters.store);
      const counts = await api("GET", `/v1/alerts/counts?${params}`);
      for (const severity of Object.keys(RANK)) {
        const open = counts.open[severity] || 0;
        const acknowledged = counts.acknowledged[severity] || 0;
        $(`#count-${severity}`).textContent = open + acknowledged;
        $(`#count-ack-${severity}`).textContent = acknowledged ? `${acknowledged} acknowledged` : "";
        $(`.count[data-severity="${severity}"]`).setAttribute("aria-pressed", String(filters.severity === severity));
      }
    }

    function row(alert) {
      const tr = el("tr", `sev-row-${alert.severity}${fresh.has(alert.alert_id) ? " fresh" : ""}`);
      tr.dataset.alertId = alert.alert_id;
      tr.dataset.status = alert.status;
      const severity = el("td");
      severity.append(el("span", `badge sev-${alert.severity}`, alert.severity));
      const message = el("td", "message");
      const link = el("a", "", alert.message);
      link.href = `/alerts/${alert.alert_id}`;
      message.append(link);
      const status = el("td", `status status-${alert.status}`, alert.status === "open" ? "Open" : "Acknowledged");
      if (alert.status === "acknowledged" && alert.acknowledged_by) {
        const by = alert.acknowledged_outcome ? `${alert.acknowledged_by} · ${outcomeLabel(alert.acknowledged_outcome)}` : alert.acknowledged_by;
        status.append(el("small", "", by));
      }
      if (alert.silenced) status.append(el("small", "", "silenced"));
      const when = el("td", "when", ago(alert.updated_at));
      when.title = alert.updated_at;
      const actions = el("td", "actions");
      if (alert.status === "open") {
        const ack = el("button", "primary", "Acknowledge");
        ack.type = "button";
        ack.addEventListener("click", () => openDialog("ack", alert));
        actions.append(ack);
      }
      const resolve = el("button", "secondary", "Resolve");
      resolve.type = "button";
      resolve.addEventListener("click", () => openDialog("resolve", alert));
      actions.append(resolve);
      tr.append(
        severity, el("td", "", typeLabel(alert.alert_type)), el("td", "sku-id", alert.store_id),
        el("td", "sku-id", alert.product_id), message, status, when, actions,
      );
      return tr;
    }

    function render() {
      const shown = [...alerts.values()].filter(matches).sort((a, b) =>
        (RANK[b.severity] - RANK[a.severity]) || (a.status === b.status ? 0 : a.status === "open" ? -1 : 1)
        || b.updated_at.localeCompare(a.updated_at));
      tbody.replaceChildren(...shown.map(row));
      fresh.clear();
      $("#empty").hidden = shown.length > 0 || !$("#loading").hidden;
      $("#shown").textContent = `${shown.length} shown`;
    }

    function setFilters(next) {
      filters = next;
      const params = query({});
      history.replaceState(null, "", `/alerts${params.toString() ? `?${params}` : ""}`);
      const form = $("#filters");
      for (const [key, value] of Object.entries(filters)) form.elements[key].value = value;
      quietly(reload());
    }

    const form = $("#filters");
    for (const [key, value] of Object.entries(filters)) form.elements[key].value = value;
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      setFilters({ severity: form.elements.severity.value, type: form.elements.type.value, store: form.elements.store.value.trim() });
    });
    $("#clear-filters").addEventListener("click", () => setFilters({ severity: "", type: "", store: "" }));
    document.querySelectorAll(".count").forEach((button) => button.addEventListener("click", () => {
      const severity = button.dataset.severity;
      setFilters({ ...filters, severity: filters.severity === severity ? "" : severity });
    }));
    setupDialogs((alert) => apply(alert));
    setInterval(render, 30000);

    reload().then(() => {
      const stream = openStream({
        since: meta("stream-since"),
        onChange: apply,
        onReset: () => quietly(reload()),
        // While the stream is down, this finds out whether the session has ended (→ /login).
        onRetry: () => quietly(refreshCounts()),
      });
      window.shelfops = { lastEventId: stream.lastEventId, dropStream: stream.close };
    }).catch((failure) => {
      $("#loading").textContent = `Could not load the alerts (${failure.message}). Reload the page to try again.`;
    });
  }

  // ---- /alerts/{id}: one alert; reloads when it changes
  function alertPage() {
    const alertId = Number(meta("alert-id"));
    setupDialogs(() => location.reload());
    document.querySelectorAll("[data-action]").forEach((button) => button.addEventListener("click", () => {
      const [type, sku] = [$("h1").firstChild.textContent.trim(), $("h1 .sku").textContent.split(" / ")];
      openDialog(button.dataset.action, { alert_id: alertId, alert_type: type, store_id: sku[0], product_id: sku[1] });
    }));
    openStream({
      since: null,
      onChange: (change) => { if (change.alert_id === alertId) location.reload(); },
      onReset: () => location.reload(),
    });
  }

  const page = document.body.dataset.page;
  if (page === "alerts") alertsPage();
  if (page === "alert") alertPage();
})();
