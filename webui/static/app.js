// The receivers page. It talks only to the /v1-webhooks API of the origin that served it, with URLs relative
// to its own (so it works behind Rancher's proxy), and passes the page's ?projectId= on. Everything received
// is put into the page as text (textContent, text nodes, attribute values): never as HTML.
"use strict";

(() => {
  const POLL_MS = 2000;
  const EXECUTION_LIMIT = 50;

  const DRIVER_TITLES = {
    scaleService: "Scale a service",
    scaleHost: "Scale hosts",
    serviceUpgrade: "Upgrade services when an image is pushed",
    forwardPost: "Forward the request to a service",
  };
  const DRIVER_ORDER = ["scaleService", "scaleHost", "serviceUpgrade", "forwardPost"];

  // The order of each driver's fields in the form; fields the schema has beyond these follow, sorted.
  const FIELD_ORDER = {
    scaleService: ["serviceId", "action", "amount", "min", "max", "cooldownSeconds", "onResolved"],
    scaleHost: ["hostSelector", "hostTemplateId", "action", "amount", "min", "max", "deleteOption", "onResolved"],
    serviceUpgrade: ["serviceSelector", "payloadFormat", "addressType", "tagPolicy", "tag", "tagPattern",
      "registryAliases", "batchSize", "intervalMillis", "startFirst", "secret", "finishTimeoutSeconds",
      "unhealthyGraceSeconds", "rollbackOnFailure"],
    forwardPost: ["projectId", "serviceName", "port", "path"],
  };
  // Members of a config that are not typed in: the resource's own and the rendered-only ones.
  const NOT_INPUT = new Set(["id", "type", "links", "actions", "secretSet"]);

  const LABELS = {
    serviceId: "Service ID", action: "Action", amount: "Amount", min: "Minimum scale", max: "Maximum scale",
    cooldownSeconds: "Cooldown (seconds)", onResolved: "On a resolved alert",
    hostSelector: "Host selector", hostTemplateId: "Host template ID", deleteOption: "Hosts removed first",
    serviceSelector: "Service selector", payloadFormat: "Payload format", addressType: "Address type",
    tagPolicy: "Tag policy", tag: "Tag", tagPattern: "Tag pattern", registryAliases: "Registry aliases",
    batchSize: "Batch size", intervalMillis: "Batch interval", startFirst: "Start new containers first",
    secret: "Signature secret", finishTimeoutSeconds: "Finish timeout (seconds)",
    unhealthyGraceSeconds: "Unhealthy grace (seconds)", rollbackOnFailure: "Roll a failed upgrade back",
    projectId: "Environment ID", serviceName: "Service name", port: "Port", path: "Path",
  };
  const HINTS = {
    serviceId: "The API id of the service, e.g. 1s12.",
    amount: "How many to add or remove per trigger.",
    cooldownSeconds: "After a scale, further triggers are held back this long (0: none).",
    onResolved: "What an Alertmanager \"resolved\" notification does.",
    hostSelector: "One host label per line, as key=value.",
    hostTemplateId: "Create new hosts from this host template.",
    deleteOption: "Only when scaling down.",
    serviceSelector: "One service label per line, as key=value.",
    addressType: "Only for the alicloud format.",
    tag: "For the exact policy: the pushed tag that upgrades.",
    tagPattern: "For the glob and regex policies: matched against the whole tag.",
    registryAliases: "One per line, as registry host reported=host services pull from.",
    intervalMillis: "Milliseconds between batches; values below 100 are seconds.",
    secret: "Deliveries must carry an X-Hub-Signature-256 made with it (ghcr, custom and auto formats).",
    finishTimeoutSeconds: "From the start of an upgrade to its finish.",
    unhealthyGraceSeconds: "How long new containers may be unhealthy.",
    projectId: "Empty: this environment.",
    path: "Path on the service, starting with /.",
  };
  const OUTCOMES = new Set(["queued", "running", "done", "ignored", "failed", "rejected", "accepted",
    "rolled-back", "timed-out"]);

  // --- small helpers ---

  const byId = (id) => document.getElementById(id);

  // el builds an element; attribute values and children are always text.
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k === "text") node.textContent = String(v);
      else if (k === "hidden") node.hidden = true;
      else node.setAttribute(k, v === true ? "" : String(v));
    }
    for (const c of children) {
      if (c === undefined || c === null || c === false) continue;
      node.append(c instanceof Node ? c : String(c));
    }
    return node;
  }

  const arr = (v) => (Array.isArray(v) ? v : []);
  const obj = (v) => (v !== null && typeof v === "object" && !Array.isArray(v) ? v : {});
  const str = (v) => (typeof v === "string" ? v : v === undefined || v === null ? "" : String(v));

  function humanize(name) {
    const words = name.replace(/([a-z0-9])([A-Z])/g, "$1 $2").toLowerCase();
    return words.charAt(0).toUpperCase() + words.slice(1);
  }

  function formatTime(iso) {
    const d = new Date(iso);
    return Number.isNaN(d.getTime()) ? str(iso) : d.toLocaleString();
  }

  function formatClock(iso) {
    const d = new Date(iso);
    return Number.isNaN(d.getTime()) ? str(iso) : d.toLocaleTimeString();
  }

  function mapLines(m) {
    return Object.keys(obj(m)).sort().map((k) => k + "=" + str(m[k])).join("\n");
  }

  function mapText(m) {
    const keys = Object.keys(obj(m)).sort();
    return keys.length ? keys.map((k) => k + "=" + str(m[k])).join(", ") : "(none)";
  }

  // --- the API ---

  const params = new URLSearchParams(window.location.search);
  const projectId = params.get("projectId") || "";
  // The page is served at <api>/ui/, so the API is one level up, wherever a proxy mounts it.
  const apiBase = new URL("../", window.location.href);

  function apiURL(path, query) {
    const u = new URL(path, apiBase);
    if (projectId) u.searchParams.set("projectId", projectId);
    for (const [k, v] of Object.entries(query || {})) {
      if (v !== undefined && v !== null && v !== "") u.searchParams.set(k, String(v));
    }
    return u.toString();
  }

  class APIError extends Error {
    constructor(status, message) {
      super(message);
      this.status = status;
    }
  }

  // call makes one API request. A non-2xx answer throws an APIError with the API's message as it is.
  async function call(method, url, body, headers) {
    const init = {
      method,
      cache: "no-store",
      credentials: "same-origin",
      headers: Object.assign({ Accept: "application/json" }, headers || {}),
    };
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    let resp;
    try {
      resp = await fetch(url, init);
    } catch (err) {
      throw new APIError(0, "The service did not answer: " + err.message);
    }
    if (resp.status === 204 || resp.status === 304) return { status: resp.status, headers: resp.headers, data: null };
    const text = await resp.text();
    let data = null;
    if (text !== "") {
      try {
        data = JSON.parse(text);
      } catch (err) {
        data = null;
      }
    }
    if (!resp.ok) {
      const message = data && typeof data.message === "string" && data.message !== ""
        ? data.message : "HTTP " + resp.status + (text ? ": " + text.slice(0, 300) : "");
      throw new APIError(resp.status, message);
    }
    if (data === null || typeof data !== "object") throw new APIError(resp.status, "The service did not answer JSON");
    return { status: resp.status, headers: resp.headers, data };
  }

  function showError(node, err) {
    node.textContent = err instanceof APIError && err.status > 0
      ? err.message + " (HTTP " + err.status + ")" : str(err && err.message ? err.message : err);
  }

  // --- page state ---

  const state = {
    schemas: {},
    fields: {}, // driver -> fields of its fieldset
    receivers: [],
    editing: null, // the receiver being edited, null when creating
    confirming: "", // id of the receiver whose deletion waits for confirmation
    etag: "",
    filter: "",
    pollTimer: 0,
    seen: null, // ids of the executions shown, null before the first listing
    openDetails: new Set(),
  };

  // --- the form, built from the API's schemas ---

  function fieldNames(driver, fields) {
    const known = (FIELD_ORDER[driver] || []).filter((n) => fields[n] && fields[n].create);
    const rest = Object.keys(fields).filter((n) => !known.includes(n) && !NOT_INPUT.has(n) && fields[n].create).sort();
    return known.concat(rest);
  }

  function makeField(driver, name, def) {
    const id = "f-" + driver + "-" + name;
    const hintId = id + "-hint";
    const hint = HINTS[name] || "";
    const wrapper = el("div", { class: "field" });
    const label = el("label", { for: id }, LABELS[name] || humanize(name));
    const describedBy = hint ? hintId : undefined;
    let input;
    let kind;
    switch (def.type) {
      case "int":
        kind = "int";
        input = el("input", { type: "number", id, step: "1", inputmode: "numeric", "aria-describedby": describedBy });
        break;
      case "enum":
        kind = "enum";
        input = el("select", { id, "aria-describedby": describedBy },
          el("option", { value: "" }, def.default !== undefined ? "(not set: " + def.default + ")" : "(choose)"),
          ...arr(def.options).map((o) => el("option", { value: str(o) }, str(o))));
        break;
      case "bool":
        kind = "bool";
        input = el("input", { type: "checkbox", id, "aria-describedby": describedBy });
        break;
      case "map[string]":
        kind = "map";
        input = el("textarea", { id, rows: "3", spellcheck: "false", "aria-describedby": describedBy });
        break;
      case "password":
        kind = "secret";
        input = el("input", { type: "password", id, autocomplete: "new-password", "aria-describedby": describedBy });
        break;
      default:
        kind = "string";
        input = el("input", { type: "text", id, autocomplete: "off", spellcheck: "false", "aria-describedby": describedBy });
    }
    if (kind === "bool") {
      wrapper.classList.add("check");
      wrapper.append(input, label);
    } else {
      wrapper.append(label, input);
    }
    if (hint) wrapper.append(el("p", { id: hintId, class: "hint" }, hint));
    const field = { name, kind, def, input, label: LABELS[name] || humanize(name) };
    if (kind === "secret") {
      const removeId = id + "-remove";
      field.stored = el("p", { class: "hint", hidden: true }, "A secret is stored: leave the field empty to keep it.");
      field.remove = el("input", { type: "checkbox", id: removeId });
      field.removeWrap = el("div", { class: "check", hidden: true }, field.remove,
        el("label", { for: removeId }, "Remove the stored secret"));
      wrapper.append(field.stored, field.removeWrap);
    }
    return { field, wrapper };
  }

  function buildForm() {
    const receiverSchema = obj(state.schemas.receiver);
    const driverField = obj(obj(receiverSchema.resourceFields).driver);
    const offered = arr(driverField.options).map(str);
    const drivers = DRIVER_ORDER.filter((d) => offered.includes(d)).concat(offered.filter((d) => !DRIVER_ORDER.includes(d)));
    const select = byId("f-driver");
    select.replaceChildren(...drivers.map((d) => el("option", { value: d }, d + ": " + (DRIVER_TITLES[d] || humanize(d)))));
    const box = byId("driver-configs");
    box.replaceChildren();
    state.fields = {};
    for (const d of drivers) {
      const fields = obj(obj(state.schemas[d]).resourceFields);
      const fieldset = el("fieldset", { id: "config-" + d }, el("legend", {}, (DRIVER_TITLES[d] || humanize(d)) + " (" + d + "Config)"));
      state.fields[d] = [];
      for (const name of fieldNames(d, fields)) {
        const { field, wrapper } = makeField(d, name, obj(fields[name]));
        state.fields[d].push(field);
        fieldset.append(wrapper);
      }
      box.append(fieldset);
    }
    select.addEventListener("change", showDriver);
    resetForm();
  }

  function showDriver() {
    const driver = byId("f-driver").value;
    for (const d of Object.keys(state.fields)) byId("config-" + d).hidden = d !== driver;
  }

  // fillConfig puts a config into a driver's fields; without one it puts the schema's defaults, as Rancher's
  // form does for a new receiver.
  function fillConfig(driver, config) {
    for (const f of state.fields[driver] || []) {
      const v = config ? config[f.name] : f.def.default;
      switch (f.kind) {
        case "bool":
          f.input.checked = config ? (v === undefined ? f.def.default === true : v === true) : v === true;
          break;
        case "map":
          f.input.value = mapLines(v);
          break;
        case "secret":
          f.input.value = "";
          f.remove.checked = false;
          f.stored.hidden = !(config && config.secretSet === true);
          f.removeWrap.hidden = f.stored.hidden;
          break;
        default:
          f.input.value = v === undefined || v === null ? "" : str(v);
      }
    }
  }

  function resetForm() {
    state.editing = null;
    byId("form-heading").textContent = "Create a receiver";
    byId("f-submit").textContent = "Create receiver";
    byId("f-cancel").hidden = true;
    byId("f-name").value = "";
    byId("form-error").textContent = "";
    const select = byId("f-driver");
    if (Array.from(select.options).some((o) => o.value === "scaleService")) select.value = "scaleService";
    for (const d of Object.keys(state.fields)) fillConfig(d, null);
    showDriver();
  }

  function editReceiver(r) {
    state.editing = r;
    byId("form-heading").textContent = "Edit receiver " + r.name;
    byId("f-submit").textContent = "Save changes";
    byId("f-cancel").hidden = false;
    byId("form-error").textContent = "";
    byId("form-status").textContent = "";
    byId("f-name").value = str(r.name);
    byId("f-driver").value = str(r.driver);
    for (const d of Object.keys(state.fields)) fillConfig(d, d === r.driver ? obj(r[d + "Config"]) : null);
    showDriver();
    byId("form-heading").scrollIntoView();
    byId("f-name").focus();
  }

  function parseMap(f) {
    const out = {};
    const lines = f.input.value.split("\n");
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i].trim();
      if (line === "") continue;
      const eq = line.indexOf("=");
      if (eq <= 0) throw new Error(f.label + ", line " + (i + 1) + ": write key=value");
      const key = line.slice(0, eq).trim();
      if (Object.prototype.hasOwnProperty.call(out, key)) throw new Error(f.label + ": " + key + " is given twice");
      out[key] = line.slice(eq + 1).trim();
    }
    return out;
  }

  // readConfig turns a driver's fields into its config. Empty fields are left out: the API decides what an
  // absent member means and answers with its own validation message.
  function readConfig(driver) {
    const config = {};
    for (const f of state.fields[driver] || []) {
      switch (f.kind) {
        case "bool":
          config[f.name] = f.input.checked;
          break;
        case "int":
          if (f.input.validity.badInput) throw new Error(f.label + ": not a whole number");
          if (f.input.value !== "") config[f.name] = Number(f.input.value);
          break;
        case "map": {
          const m = parseMap(f);
          if (Object.keys(m).length) config[f.name] = m;
          break;
        }
        case "secret":
          if (f.remove.checked) config[f.name] = "";
          else if (f.input.value !== "") config[f.name] = f.input.value;
          break;
        default:
          if (f.input.value !== "") config[f.name] = f.input.value;
      }
    }
    return config;
  }

  async function submitForm(ev) {
    ev.preventDefault();
    const errorBox = byId("form-error");
    const status = byId("form-status");
    errorBox.textContent = "";
    status.textContent = "";
    const driver = byId("f-driver").value;
    let body;
    try {
      body = { name: byId("f-name").value, driver };
      body[driver + "Config"] = readConfig(driver);
    } catch (err) {
      errorBox.textContent = err.message;
      return;
    }
    const submit = byId("f-submit");
    submit.disabled = true;
    try {
      const editing = state.editing;
      const r = editing
        ? await call("PUT", apiURL("receivers/" + encodeURIComponent(editing.id)), body)
        : await call("POST", apiURL("receivers"), body);
      const saved = obj(r.data);
      resetForm();
      status.textContent = editing
        ? "Saved receiver " + str(saved.name) + (saved.id !== editing.id ? " (its id is now " + str(saved.id) + ")" : "") + "."
        : "Created receiver " + str(saved.name) + ".";
      await loadReceivers();
    } catch (err) {
      showError(errorBox, err);
    } finally {
      submit.disabled = false;
    }
  }

  // --- the receivers table ---

  function describe(r) {
    const c = obj(r[r.driver + "Config"]);
    const range = " (min " + str(c.min) + ", max " + str(c.max) + ")";
    let text;
    switch (r.driver) {
      case "scaleService":
        text = "Scale service " + str(c.serviceId) + " " + str(c.action) + " by " + str(c.amount) + range;
        if (c.cooldownSeconds) text += ", cooldown " + c.cooldownSeconds + " s";
        break;
      case "scaleHost":
        text = "Scale hosts " + (c.hostSelector ? mapText(c.hostSelector) : "of template " + str(c.hostTemplateId)) +
          " " + str(c.action) + " by " + str(c.amount) + range;
        break;
      case "serviceUpgrade": {
        const policy = c.tagPolicy || "exact";
        const which = policy === "exact" ? "tag " + str(c.tag) : policy + " " + str(c.tagPattern);
        text = "Upgrade services " + mapText(c.serviceSelector) + " on a push of " + which + " (" + (c.payloadFormat || "dockerhub") + ")";
        if (c.secretSet) text += ", signed";
        break;
      }
      case "forwardPost":
        text = "Forward to " + str(c.serviceName) + ":" + str(c.port) + str(c.path);
        break;
      default:
        text = str(r.driver);
    }
    const n = obj(r.notify);
    const told = [];
    if (n.webhook) told.push("webhook " + str(obj(n.webhook).url));
    if (n.email) told.push("e-mail");
    if (told.length) text += "; notifies by " + told.join(" and ");
    return text;
  }

  function receiverRow(r) {
    const name = str(r.name);
    const urlCell = el("td", { class: "url" });
    if (r.url) {
      const inputId = "url-" + r.id;
      const input = el("input", { type: "text", id: inputId, readonly: true, value: str(r.url), "aria-label": "Trigger URL of " + name, spellcheck: "false" });
      const copy = el("button", { type: "button", "aria-label": "Copy the trigger URL of " + name }, "Copy");
      copy.addEventListener("click", () => copyURL(input, name));
      urlCell.append(input, " ", copy);
    } else {
      urlCell.append("hidden for a read-only role");
    }
    const actions = el("td", { class: "actions" });
    if (state.confirming === r.id) {
      const yes = el("button", { type: "button", class: "danger", "aria-label": "Yes, delete " + name }, "Yes, delete");
      const no = el("button", { type: "button", "aria-label": "Keep " + name }, "Keep it");
      yes.addEventListener("click", () => deleteReceiver(r));
      no.addEventListener("click", () => { state.confirming = ""; renderReceivers(); });
      actions.append(el("span", {}, "Delete " + name + "? "), yes, " ", no);
      // Move focus to the question's answer, so a keyboard user does not lose their place.
      queueMicrotask(() => yes.focus());
    } else {
      const edit = el("button", { type: "button", "aria-label": "Edit " + name }, "Edit");
      const del = el("button", { type: "button", "aria-label": "Delete " + name }, "Delete");
      edit.addEventListener("click", () => editReceiver(r));
      del.addEventListener("click", () => { state.confirming = r.id; renderReceivers(); });
      actions.append(edit, " ", del);
    }
    return el("tr", { "data-id": str(r.id) },
      el("th", { scope: "row" }, name, el("br"), el("span", { class: "id" }, str(r.id))),
      el("td", {}, str(r.driver)),
      el("td", {}, describe(r)),
      urlCell,
      actions);
  }

  function renderReceivers() {
    const body = byId("receivers-body");
    if (state.receivers.length === 0) {
      body.replaceChildren(el("tr", {}, el("td", { colspan: "5" }, "No receivers yet: create one below.")));
    } else {
      body.replaceChildren(...state.receivers.map(receiverRow));
    }
    const filter = byId("executions-filter");
    const current = filter.value;
    filter.replaceChildren(el("option", { value: "" }, "every receiver"),
      ...state.receivers.map((r) => el("option", { value: str(r.id) }, str(r.name) + " (" + str(r.id) + ")")));
    filter.value = state.receivers.some((r) => r.id === current) ? current : "";
    if (filter.value !== current) setFilter("");
  }

  async function loadReceivers() {
    const status = byId("receivers-status");
    const errorBox = byId("receivers-error");
    status.textContent = "Loading…";
    try {
      const r = await call("GET", apiURL("receivers"));
      state.receivers = arr(r.data.data).filter((x) => x && typeof x.id === "string")
        .sort((a, b) => str(a.name).localeCompare(str(b.name)));
      errorBox.textContent = "";
      status.textContent = state.receivers.length + (state.receivers.length === 1 ? " receiver" : " receivers");
      renderReceivers();
    } catch (err) {
      status.textContent = "";
      showError(errorBox, err);
    }
  }

  async function deleteReceiver(r) {
    const errorBox = byId("receivers-error");
    try {
      await call("DELETE", apiURL("receivers/" + encodeURIComponent(r.id)));
      state.confirming = "";
      if (state.editing && state.editing.id === r.id) resetForm();
      byId("form-status").textContent = "";
      byId("copy-status").textContent = "Deleted receiver " + str(r.name) + ": its trigger URL no longer works.";
      await loadReceivers();
    } catch (err) {
      showError(errorBox, err);
    }
  }

  async function copyURL(input, name) {
    const status = byId("copy-status");
    let copied = false;
    if (navigator.clipboard && window.isSecureContext) {
      try {
        await navigator.clipboard.writeText(input.value);
        copied = true;
      } catch (err) {
        copied = false;
      }
    }
    if (!copied) {
      // Plain HTTP behind a proxy has no clipboard API: select the text and use the older command.
      input.focus();
      input.select();
      try {
        copied = document.execCommand("copy");
      } catch (err) {
        copied = false;
      }
    }
    status.textContent = copied
      ? "Copied the trigger URL of " + name + "."
      : "Could not copy: the URL of " + name + " is selected, copy it with the keyboard.";
  }

  // --- the executions table, polled ---

  function outcomeBadge(outcome) {
    const o = str(outcome);
    return el("span", { class: "outcome outcome-" + (OUTCOMES.has(o) ? o : "other") }, o || "unknown");
  }

  function executionRow(x) {
    const details = el("td", {});
    const dl = el("dl", {});
    const add = (term, value) => {
      if (value) dl.append(el("dt", {}, term), el("dd", {}, value));
    };
    add("Input", str(x.input));
    add("Decision", str(x.decision));
    const img = obj(x.image);
    if (img.new) add("Image", (img.old ? str(img.old) + " → " : "") + str(img.new) + (img.digest ? " (" + str(img.digest) + ")" : ""));
    add("Target", str(x.target));
    add("Error", str(x.error));
    const timing = [];
    if (typeof x.queuedMillis === "number") timing.push("queued " + x.queuedMillis + " ms");
    if (typeof x.runMillis === "number" && x.finished) timing.push("ran " + x.runMillis + " ms");
    add("Timing", timing.join(", "));
    details.append(dl);

    const progress = el("td", {});
    const steps = arr(x.steps);
    if (steps.length) {
      progress.append(el("ol", { class: "steps", "aria-label": "Steps of execution " + str(x.id) },
        ...steps.map((s) => el("li", {}, el("time", { datetime: str(obj(s).time) }, formatClock(obj(s).time)), " ", str(obj(s).message)))));
      if (x.stepsOmitted) progress.append(el("p", { class: "hint" }, x.stepsOmitted + " more steps not kept"));
    }
    const calls = arr(x.calls);
    if (calls.length) {
      const box = el("details", { "data-id": str(x.id) },
        el("summary", {}, calls.length + (calls.length === 1 ? " Cattle call" : " Cattle calls")),
        el("ol", { class: "calls" }, ...calls.map((c) => {
          const cc = obj(c);
          let line = str(cc.method) + " " + str(cc.target) + " → " + (cc.status ? cc.status : "no answer");
          if (typeof cc.millis === "number") line += " (" + cc.millis + " ms)";
          if (cc.error) line += ": " + str(cc.error);
          return el("li", {}, line);
        })));
      box.open = state.openDetails.has(x.id);
      box.addEventListener("toggle", () => {
        if (box.open) state.openDetails.add(x.id);
        else state.openDetails.delete(x.id);
      });
      progress.append(box);
    }
    if (!steps.length && !calls.length) progress.append("none");

    return el("tr", { "data-id": str(x.id), "data-outcome": str(x.outcome) },
      el("td", {}, el("time", { datetime: str(x.received) }, formatTime(x.received)), el("br"), el("span", { class: "id" }, str(x.id))),
      el("th", { scope: "row" }, str(x.receiverName) || str(x.receiverId), el("br"), el("span", { class: "id" }, str(x.driver))),
      el("td", {}, outcomeBadge(x.outcome)),
      details,
      progress);
  }

  function renderExecutions(list) {
    const body = byId("executions-body");
    if (list.length === 0) {
      body.replaceChildren(el("tr", {}, el("td", { colspan: "5" }, "No executions yet: they appear here when a trigger URL is called.")));
    } else {
      body.replaceChildren(...list.map(executionRow));
    }
    const ids = new Set(list.map((x) => x.id));
    if (state.seen !== null) {
      const fresh = list.filter((x) => !state.seen.has(x.id));
      if (fresh.length === 1) {
        byId("executions-announce").textContent = "New execution " + str(fresh[0].id) + " of " +
          str(fresh[0].receiverName) + ": " + str(fresh[0].outcome) + ".";
      } else if (fresh.length > 1) {
        byId("executions-announce").textContent = fresh.length + " new executions.";
      }
    }
    state.seen = ids;
  }

  async function pollExecutions() {
    state.pollTimer = 0;
    const errorBox = byId("executions-error");
    const filter = state.filter;
    try {
      const headers = state.etag ? { "If-None-Match": state.etag } : {};
      const r = await call("GET", apiURL("executions", { limit: EXECUTION_LIMIT, receiverId: filter }), undefined, headers);
      // An answer for a filter changed meanwhile is dropped; the poll setFilter started shows the new one.
      if (filter !== state.filter) return;
      if (r.status !== 304) {
        state.etag = r.headers.get("ETag") || "";
        renderExecutions(arr(r.data.data).filter((x) => x && typeof x.id === "string"));
      }
      errorBox.textContent = "";
      byId("executions-state").textContent = "Live, checked at " + new Date().toLocaleTimeString() + ".";
    } catch (err) {
      showError(errorBox, err);
      byId("executions-state").textContent = "Retrying every " + POLL_MS / 1000 + " seconds.";
    }
    schedulePoll();
  }

  function schedulePoll() {
    if (state.pollTimer) window.clearTimeout(state.pollTimer);
    state.pollTimer = 0;
    if (document.hidden) {
      byId("executions-state").textContent = "Paused while the page is hidden.";
      return;
    }
    state.pollTimer = window.setTimeout(pollExecutions, POLL_MS);
  }

  function pollNow() {
    if (state.pollTimer) window.clearTimeout(state.pollTimer);
    state.pollTimer = window.setTimeout(pollExecutions, 0);
  }

  function setFilter(value) {
    state.filter = value;
    state.etag = "";
    state.seen = null;
    pollNow();
  }

  // --- start ---

  async function start() {
    byId("project").textContent = projectId
      ? "Project " + projectId
      : "Project: the one Rancher's proxy names (no ?projectId= in this page's address)";
    byId("receiver-form").addEventListener("submit", submitForm);
    byId("f-cancel").addEventListener("click", () => {
      resetForm();
      byId("form-status").textContent = "Editing cancelled.";
    });
    byId("refresh-receivers").addEventListener("click", loadReceivers);
    byId("executions-filter").addEventListener("change", (ev) => setFilter(ev.target.value));
    document.addEventListener("visibilitychange", () => {
      if (!document.hidden) pollNow();
      else schedulePoll();
    });
    try {
      const r = await call("GET", apiURL("schemas"));
      for (const s of arr(r.data.data)) {
        if (s && typeof s.id === "string") state.schemas[s.id] = s;
      }
      buildForm();
    } catch (err) {
      showError(byId("form-error"), err);
    }
    await loadReceivers();
    pollNow();
  }

  start();
})();
