// The example's live demo page: plain JavaScript, no build step, no dependency.
//
// Every API call sends "Authorization: Bearer <access token>". The notification stream is
// read with fetch() and a stream reader, because EventSource cannot send that header.
"use strict";

(() => {
  const config = JSON.parse(document.getElementById("demo-config").textContent);
  const $ = (id) => document.getElementById(id);
  const PAGE_SIZE = 5;
  const DEFAULT_RETRY_MS = 3000;

  const state = {
    token: null,
    role: null,
    page: 1,
    // Bumped on every sign-in and on a refused token: a stream loop of an older
    // generation stops instead of reconnecting.
    generation: 0,
    streamAbort: null,
    notifications: new Map(),
  };

  class AuthError extends Error {}

  // --- messages -------------------------------------------------------------------

  function notice(kind, text) {
    const box = $("notice");
    box.dataset.kind = kind;
    box.textContent = text;
    box.hidden = false;
  }

  function clearNotice(kind) {
    const box = $("notice");
    if (!kind || box.dataset.kind === kind) {
      box.hidden = true;
      box.textContent = "";
      delete box.dataset.kind;
    }
  }

  function setStreamState(value, label) {
    const status = $("stream-status");
    status.dataset.state = value;
    status.textContent = label || value;
  }

  // --- the API ----------------------------------------------------------------------

  // The message of an error answer: {"detail", "code"}, with "errors" per field for
  // invalid input.
  async function detailOf(response) {
    let body;
    try {
      body = await response.json();
    } catch {
      return `HTTP ${response.status}`;
    }
    const errors = body && body.errors;
    if (errors && typeof errors === "object" && !Array.isArray(errors)) {
      if (typeof errors.detail === "string") return errors.detail;
      const fields = Object.entries(errors).map(([field, messages]) => {
        return `${field}: ${[].concat(messages).join(" ")}`;
      });
      return `${body.detail} ${fields.join("; ")}`;
    }
    return (body && body.detail) || `HTTP ${response.status}`;
  }

  function tokenRefused(detail) {
    state.generation += 1;
    if (state.streamAbort) state.streamAbort.abort();
    setStreamState("closed");
    const again = config.debug ? "Pick a user and sign in again" : "Paste a new access token";
    notice("expired", `Your access token has expired or was refused: ${detail} ${again}.`);
  }

  async function api(path, { method = "GET", body } = {}) {
    const headers = { Authorization: `Bearer ${state.token}`, Accept: "application/json" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: "no-store",
    });
    if (response.status === 401) {
      tokenRefused(await detailOf(response));
      throw new AuthError();
    }
    if (!response.ok) {
      const error = new Error(await detailOf(response));
      error.status = response.status;
      throw error;
    }
    return response.json();
  }

  // Run an action; a refused token is already reported, anything else is shown.
  async function guarded(action) {
    try {
      await action();
    } catch (error) {
      if (!(error instanceof AuthError)) notice("error", error.message);
    }
  }

  // --- profile ----------------------------------------------------------------------

  function tokenExpiry(token) {
    try {
      const payload = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
      return new Date(JSON.parse(atob(payload)).exp * 1000);
    } catch {
      return null;
    }
  }

  async function loadProfile() {
    const profile = await api("/api/auth/profile/");
    $("profile-email").textContent = profile.email;
    $("profile-org").textContent = profile.organization ? profile.organization.name : "none";
    $("profile-role").textContent = profile.role || "none";
    $("campaigns-org").textContent = profile.organization ? profile.organization.name : "";
    const expiry = tokenExpiry(state.token);
    $("token-expiry").textContent = expiry ? expiry.toLocaleTimeString() : "unknown";
    state.role = profile.role;
    const canCreate = profile.role === "admin" || profile.role === "manager";
    $("create-denied").hidden = canCreate;
    for (const field of $("create-form").querySelectorAll("input, select, textarea, button")) {
      field.disabled = !canCreate;
    }
  }

  // --- campaigns --------------------------------------------------------------------

  function campaignRow(campaign) {
    const row = document.createElement("tr");
    row.dataset.id = campaign.id;
    const cells = [
      ["name", campaign.name],
      ["status", campaign.status],
      ["votes num", String(campaign.vote_count)],
    ];
    for (const [cls, text] of cells) {
      const cell = document.createElement("td");
      cell.className = cls;
      cell.textContent = text;
      row.append(cell);
    }
    const action = document.createElement("td");
    const button = document.createElement("button");
    button.type = "button";
    button.className = "vote";
    button.textContent = "Vote";
    button.addEventListener("click", () => vote(campaign.id, row, button));
    action.append(button);
    row.append(action);
    return row;
  }

  async function loadCampaigns(page) {
    const data = await api(`/api/campaigns/?page=${page}&page_size=${PAGE_SIZE}`);
    state.page = data.page;
    $("campaign-rows").replaceChildren(...data.results.map(campaignRow));
    const pages = Math.max(1, Math.ceil(data.count / data.page_size));
    const about = data.count_is_estimate ? "about " : "";
    $("page-info").textContent = `page ${data.page} of ${about}${pages} (${about}${data.count} campaigns)`;
    $("prev-page").disabled = !data.previous;
    $("next-page").disabled = !data.next;
  }

  async function vote(id, row, button) {
    button.disabled = true;
    await guarded(async () => {
      const result = await api(`/api/campaigns/${id}/vote/`, { method: "POST" });
      const votes = row.querySelector(".votes");
      votes.textContent = String(result.vote_count);
      const name = row.querySelector(".name").textContent;
      notice("voted", `One vote for "${name}": it now has ${result.vote_count}.`);
      votes.classList.remove("flash");
      void votes.offsetWidth; // restart the highlight
      votes.classList.add("flash");
    });
    button.disabled = false;
  }

  async function createCampaign(event) {
    event.preventDefault();
    const name = $("new-name").value.trim();
    const body = { name, status: $("new-status").value };
    const description = $("new-description").value.trim();
    if (description) body.description = description;
    await guarded(async () => {
      const campaign = await api("/api/campaigns/", { method: "POST", body });
      $("create-form").reset();
      notice(
        "created",
        `Created "${campaign.name}". The other members of your organization are notified.`,
      );
      await loadCampaigns(1); // newest first: it is on the first page
    });
  }

  // --- notifications ----------------------------------------------------------------

  function updateUnread() {
    let unread = 0;
    for (const item of state.notifications.values()) if (!item.is_read) unread += 1;
    $("unread-count").textContent = String(unread);
  }

  function notificationItem(notification) {
    const item = document.createElement("li");
    item.dataset.id = notification.id;
    item.dataset.kind = notification.kind;
    const title = document.createElement("span");
    title.className = "title";
    title.textContent = notification.title;
    const kind = document.createElement("small");
    kind.textContent = notification.kind.replace(/_/g, " ");
    item.append(title, kind);
    if (notification.is_read) {
      item.classList.add("read");
    } else {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "mark-read";
      button.textContent = "mark read";
      button.addEventListener("click", () => markRead(notification.id));
      item.append(button);
    }
    return item;
  }

  function showNotification(notification, { live = false } = {}) {
    state.notifications.set(notification.id, notification);
    const list = $("notification-list");
    const item = notificationItem(notification);
    if (live) item.classList.add("live");
    const existing = list.querySelector(`li[data-id="${CSS.escape(notification.id)}"]`);
    if (existing) existing.replaceWith(item);
    else list.prepend(item);
    updateUnread();
  }

  async function loadNotifications() {
    const data = await api("/api/notifications/");
    state.notifications.clear();
    $("notification-list").replaceChildren();
    for (const notification of data.results.slice().reverse()) showNotification(notification);
  }

  async function markRead(id) {
    await guarded(async () => {
      showNotification(await api(`/api/notifications/${id}/read/`, { method: "POST" }));
    });
  }

  async function markAllRead() {
    await guarded(async () => {
      await api("/api/notifications/read-all/", { method: "POST" });
      await loadNotifications();
    });
  }

  // --- the event stream -------------------------------------------------------------

  // One server-sent event block: returns what it carried.
  function parseFrame(frame) {
    const event = { comments: [], type: "message", data: [] };
    for (const line of frame.split(/\r?\n/)) {
      if (line.startsWith(":")) {
        event.comments.push(line.slice(1).trim());
        continue;
      }
      const colon = line.indexOf(":");
      const field = colon < 0 ? line : line.slice(0, colon);
      let value = colon < 0 ? "" : line.slice(colon + 1);
      if (value.startsWith(" ")) value = value.slice(1);
      if (field === "event") event.type = value;
      else if (field === "data") event.data.push(value);
      else if (field === "retry" && /^\d+$/.test(value)) event.retry = Number(value);
    }
    return event;
  }

  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

  async function runStream(generation) {
    let retry = DEFAULT_RETRY_MS;
    let dropped = false;
    while (generation === state.generation) {
      const abort = new AbortController();
      state.streamAbort = abort;
      setStreamState("connecting");
      try {
        const response = await fetch("/api/notifications/stream/", {
          headers: { Authorization: `Bearer ${state.token}`, Accept: "text/event-stream" },
          cache: "no-store",
          signal: abort.signal,
        });
        if (response.status === 401) {
          tokenRefused(await detailOf(response));
          return;
        }
        if (!response.ok) throw new Error(await detailOf(response));
        const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
        let buffer = "";
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer += value;
          let end;
          while ((end = buffer.search(/\r?\n\r?\n/)) >= 0) {
            const frame = buffer.slice(0, end);
            buffer = buffer.slice(end).replace(/^\r?\n\r?\n/, "");
            const event = parseFrame(frame);
            if (event.retry !== undefined) retry = event.retry;
            if (event.comments.includes("stream open")) {
              setStreamState("live");
              if (dropped) {
                dropped = false;
                notice("stream-reconnected", "Reconnected: notifications are live again.");
                // Whatever arrived while the stream was down is in the feed.
                await guarded(loadNotifications);
              }
            }
            if (event.type === "notification" && event.data.length) {
              const notification = JSON.parse(event.data.join("\n"));
              showNotification({ ...notification, is_read: false }, { live: true });
              if (notification.kind === "campaign_created") {
                guarded(() => loadCampaigns(state.page)); // show the new campaign too
              }
            }
          }
        }
      } catch (error) {
        if (generation !== state.generation) return; // signed out or in as someone else
      }
      if (generation !== state.generation) return;
      dropped = true;
      setStreamState("reconnecting");
      notice(
        "stream-dropped",
        `The notification stream dropped; reconnecting every ${Math.round(retry / 1000)} s...`,
      );
      await sleep(retry);
    }
  }

  // --- signing in -------------------------------------------------------------------

  async function start(token) {
    state.generation += 1;
    if (state.streamAbort) state.streamAbort.abort();
    state.token = token;
    clearNotice();
    try {
      await loadProfile();
      await Promise.all([loadCampaigns(1), loadNotifications()]);
    } catch (error) {
      if (!(error instanceof AuthError)) notice("error", error.message);
      return;
    }
    $("app").hidden = false;
    runStream(state.generation);
  }

  async function signIn(event) {
    event.preventDefault();
    if (!config.debug) {
      await start($("token-input").value.trim());
      return;
    }
    const response = await fetch(config.tokenUrl, {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-CSRFToken": config.csrfToken },
      body: JSON.stringify({
        email: $("user-picker").value,
        lifetime: Number($("token-lifetime").value),
      }),
    });
    if (!response.ok) {
      notice("error", await detailOf(response));
      return;
    }
    await start((await response.json()).access_token);
  }

  $("signin").addEventListener("submit", signIn);
  $("create-form").addEventListener("submit", createCampaign);
  $("prev-page").addEventListener("click", () => guarded(() => loadCampaigns(state.page - 1)));
  $("next-page").addEventListener("click", () => guarded(() => loadCampaigns(state.page + 1)));
  $("refresh").addEventListener("click", () => guarded(() => loadCampaigns(state.page)));
  $("mark-all-read").addEventListener("click", markAllRead);
})();
