// 「按单位/时限查」: the operator desk next to the chat. Plain JS, no build step.
// Which tasks a unit leads or is responsible for, due when: a month-by-month count, a table
// with paging, CSV download and printing. Everything from a document or a user goes on the
// page with textContent / createElement, never innerHTML.
//
// The page's address follows the desk: /?tab=desk&unit=…&city=…&due_before=… opens the tab with
// those filters and runs the query (the chat's list answers link here with the same parameters).
(function () {
  "use strict";

  const PAGE_SIZE = 50;       // table rows per page
  const FETCH_SIZE = 500;     // /api/clauses limit maximum
  const MAX_FETCH = 5000;     // stop paging through the API after this many clauses
  const SHORT = 60;           // characters of a task shown before 「…」
  const FILTERS = ["unit", "role", "city", "due_after", "due_before", "recurring", "q", "source"];

  const $ = function (id) { return document.getElementById(id); };
  const tabs = Array.prototype.slice.call(document.querySelectorAll(".tabs [role=tab]"));
  const form = $("desk-form");
  const unitInput = $("desk-unit");
  const unitList = $("desk-units");
  const roleSelect = $("desk-role");
  const citySelect = $("desk-city");
  const fromInput = $("desk-from");
  const toInput = $("desk-to");
  const qInput = $("desk-q");
  const recurringBox = $("desk-recurring");
  const searchButton = $("desk-search");
  const status = $("desk-status");
  const resultsBox = $("desk-results");
  const totalText = $("desk-total");
  const descText = $("desk-desc");
  const csvLink = $("desk-csv");
  const monthList = $("desk-months");
  const rowsBody = $("desk-rows");
  const tableBox = resultsBox.querySelector(".table-scroll");
  const pager = resultsBox.querySelector(".pager");
  const prevButton = $("desk-prev");
  const nextButton = $("desk-next");
  const pageInfo = $("desk-page");
  if (!form || !tabs.length) return;

  let extraSource = null;   // a source (document) filter that came with the address; no control for it
  let querySeq = 0;         // answers to an older query are dropped
  let state = null;         // {params, total, results, page, expanded, spellings}

  // --- small DOM helpers ---------------------------------------------------------------------

  const el = window.PolicyDom.el;          // web/static/dom.js
  const testid = window.PolicyDom.testid;

  function currentTab() {
    const on = tabs.filter(function (t) { return t.getAttribute("aria-selected") === "true"; })[0];
    return on ? on.getAttribute("data-tab") : "chat";
  }

  // --- tabs ----------------------------------------------------------------------------------

  function showTab(name) {
    tabs.forEach(function (tab) {
      const on = tab.getAttribute("data-tab") === name;
      tab.setAttribute("aria-selected", String(on));
      tab.tabIndex = on ? 0 : -1;
      const panel = $(tab.getAttribute("aria-controls"));
      if (panel) panel.hidden = !on;
    });
    document.body.classList.toggle("desk-mode", name === "desk");
    if (name === "desk") fillUnitList();
    writeAddress();
  }

  tabs.forEach(function (tab, i) {
    tab.addEventListener("click", function () { showTab(tab.getAttribute("data-tab")); });
    tab.addEventListener("keydown", function (event) {
      let next = null;
      if (event.key === "ArrowRight" || event.key === "ArrowDown") next = tabs[(i + 1) % tabs.length];
      else if (event.key === "ArrowLeft" || event.key === "ArrowUp") next = tabs[(i - 1 + tabs.length) % tabs.length];
      else if (event.key === "Home") next = tabs[0];
      else if (event.key === "End") next = tabs[tabs.length - 1];
      if (!next) return;
      event.preventDefault();
      next.focus();
      showTab(next.getAttribute("data-tab"));
    });
  });

  // The address shows the open tab and the desk's last query, so it can be bookmarked or shared.
  function writeAddress() {
    let url = location.pathname;
    if (currentTab() === "desk") {
      const query = state ? state.params.toString() : "";
      url += "?tab=desk" + (query ? "&" + query : "");
    }
    if (url !== location.pathname + location.search) history.replaceState(null, "", url + location.hash);
  }

  // 「/」 on the desk goes to the unit box (on the chat, app.js sends it to the question box).
  document.addEventListener("keydown", function (event) {
    if (event.key !== "/" || event.ctrlKey || event.metaKey || event.altKey) return;
    if (currentTab() !== "desk") return;
    const target = event.target;
    if (target instanceof Element && (target.closest("input, textarea, select") || target.isContentEditable)) return;
    event.preventDefault();
    unitInput.focus();
  });

  // --- the unit picker: a datalist of the chosen city's units ---------------------------------

  const unitCache = new Map();  // city ("" for all) → Promise of the /api/units list

  function loadUnits(city) {
    if (!unitCache.has(city)) {
      const url = "/api/units" + (city ? "?city=" + encodeURIComponent(city) : "");
      const promise = fetch(url, { headers: { "Accept": "application/json" } })
        .then(function (r) { return r.ok ? r.json() : { units: [] }; })
        .then(function (data) { return (data && data.units) || []; })
        .catch(function () { unitCache.delete(city); return []; });
      unitCache.set(city, promise);
    }
    return unitCache.get(city);
  }

  function fillUnitList() {
    const city = citySelect.value;
    loadUnits(city).then(function (units) {
      if (citySelect.value !== city) return;  // the city changed again meanwhile
      const byName = new Map();
      units.forEach(function (u) {
        let entry = byName.get(u.name);
        if (!entry) byName.set(u.name, entry = { cities: [], aliases: [], lead: 0, resp: 0 });
        if (u.city && entry.cities.indexOf(u.city) < 0) entry.cities.push(u.city);
        (u.aliases || []).forEach(function (a) {
          if (a !== u.name && entry.aliases.indexOf(a) < 0) entry.aliases.push(a);
        });
        entry.lead += u.lead_count || 0;
        entry.resp += u.responsible_count || 0;
      });
      const frag = document.createDocumentFragment();
      byName.forEach(function (entry, name) {
        const option = el("option");
        option.value = name;
        const parts = [];
        if (!city && entry.cities.length) parts.push(entry.cities.join("、"));
        if (entry.lead) parts.push("牵头" + entry.lead + "项");
        if (entry.resp) parts.push("责任" + entry.resp + "项");
        if (entry.aliases.length) parts.push("又作" + entry.aliases.join("、"));  // typed aliases match the label
        option.label = parts.join(" · ");
        frag.append(option);
      });
      unitList.textContent = "";
      unitList.append(frag);
      unitInput.placeholder = byName.size ? "输入或选择单位（" + byName.size + " 个），如 市市场监管局"
                                          : "输入单位名称，如 市市场监管局";
    });
  }

  // Every spelling of the units a name refers to, to mark them in the unit columns.
  function spellingsOf(name, units) {
    const out = new Set();
    if (!name) return out;
    out.add(name);
    units.forEach(function (u) {
      const aliases = u.aliases || [u.name];
      if (u.name === name || aliases.indexOf(name) >= 0) aliases.forEach(function (a) { out.add(a); });
    });
    return out;
  }

  citySelect.addEventListener("change", fillUnitList);

  // --- the form ------------------------------------------------------------------------------

  function formParams() {
    const p = new URLSearchParams();
    const unit = unitInput.value.trim();
    if (unit) {
      p.set("unit", unit);
      if (roleSelect.value !== "any") p.set("role", roleSelect.value);
    }
    if (citySelect.value) p.set("city", citySelect.value);
    if (extraSource) p.set("source", extraSource);
    if (fromInput.value) p.set("due_after", fromInput.value);
    if (toInput.value) p.set("due_before", toInput.value);
    if (recurringBox.checked) p.set("recurring", "true");
    const q = qInput.value.trim();
    if (q) p.set("q", q);
    return p;
  }

  function setForm(p) {
    unitInput.value = p.get("unit") || "";
    roleSelect.value = ["lead", "responsible"].indexOf(p.get("role")) >= 0 ? p.get("role") : "any";
    const city = p.get("city") || "";
    const known = Array.prototype.some.call(citySelect.options, function (o) { return o.value === city; });
    citySelect.value = known ? city : "";
    fromInput.value = /^\d{4}-\d{2}-\d{2}$/.test(p.get("due_after") || "") ? p.get("due_after") : "";
    toInput.value = /^\d{4}-\d{2}-\d{2}$/.test(p.get("due_before") || "") ? p.get("due_before") : "";
    recurringBox.checked = /^(true|1|yes)$/i.test(p.get("recurring") || "");
    qInput.value = p.get("q") || "";
    extraSource = p.get("source") || null;
  }

  function hasFilters(p) {
    return FILTERS.some(function (k) { return p.get(k); });
  }

  function describe(p, spellings, units, total) {
    const parts = [];
    const roles = { lead: "牵头", responsible: "责任" };
    const unit = p.get("unit");
    if (unit) parts.push("单位：" + unit + (roles[p.get("role")] ? "（" + roles[p.get("role")] + "）" : "（牵头或责任）"));
    parts.push("城市：" + (p.get("city") || "全部"));
    if (p.get("source")) parts.push("文件：" + p.get("source"));
    const from = p.get("due_after"), to = p.get("due_before");
    if (from || to) parts.push("截止日期：" + (from || "不限") + " 至 " + (to || "不限"));
    if (p.get("recurring")) parts.push("只看长期/持续推进");
    if (p.get("q")) parts.push("关键词：" + p.get("q"));
    let text = parts.join("；");
    if (unit && !total && !units.some(function (u) { return spellings.has(u.name); })) {
      text += "。单位名录里没有「" + unit + "」，请从下拉列表里选一个单位名称";
    }
    return text;
  }

  function errorText(status, data) {
    const detail = data && data.detail;
    let message = "";
    if (typeof detail === "string") message = detail;
    else if (Array.isArray(detail)) message = detail.map(function (d) {
      const where = d && Array.isArray(d.loc) ? d.loc[d.loc.length - 1] + "：" : "";
      return where + ((d && d.msg) || JSON.stringify(d));
    }).join("；");
    else if (detail && typeof detail === "object") message = detail.problem || detail.message || JSON.stringify(detail);
    return "查询出错（" + status + "）：" + (message || "服务器没有说明原因");
  }

  async function getJSON(url) {
    let response, data = null;
    try {
      response = await fetch(url, { headers: { "Accept": "application/json" } });
    } catch (err) {
      throw new Error("网络连接失败，请稍后再试。");
    }
    try { data = await response.json(); } catch (err) { data = null; }
    if (!response.ok || !data) throw new Error(errorText(response.status, data));
    return data;
  }

  function pageURL(params, offset) {
    const p = new URLSearchParams(params);
    p.set("limit", String(FETCH_SIZE));
    p.set("offset", String(offset));
    return "/api/clauses?" + p.toString();
  }

  function setStatus(text, kind) {
    status.textContent = text;
    status.className = "desk-status" + (kind ? " " + kind : "");
  }

  async function runQuery(params) {
    const from = params.get("due_after"), to = params.get("due_before");
    if (from && to && from > to) {
      setStatus("截止日期「从」" + from + " 晚于「到」" + to + "，请改一下日期。", "error");
      return;
    }
    const seq = ++querySeq;
    searchButton.disabled = true;
    resultsBox.setAttribute("aria-busy", "true");
    setStatus("正在查询…", "waiting");
    try {
      const unitsPromise = loadUnits(params.get("city") || "");
      const first = await getJSON(pageURL(params, 0));
      let results = first.results || [];
      while (results.length < first.total && results.length < MAX_FETCH) {
        const more = await getJSON(pageURL(params, results.length));
        if (!more.results || !more.results.length) break;
        results = results.concat(more.results);
      }
      const units = await unitsPromise;
      if (seq !== querySeq) return;
      const spellings = spellingsOf(params.get("unit"), units);
      state = { params: params, total: first.total, results: results, page: 0, expanded: new Set(),
                spellings: spellings, desc: describe(params, spellings, units, first.total) };
      render();
      writeAddress();
    } catch (err) {
      if (seq !== querySeq) return;
      setStatus(err.message, "error");
      resultsBox.hidden = true;
    } finally {
      if (seq === querySeq) {
        searchButton.disabled = false;
        resultsBox.removeAttribute("aria-busy");
      }
    }
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    runQuery(formParams());
  });

  $("desk-clear").addEventListener("click", function () {
    form.reset();
    extraSource = null;
    fillUnitList();
    unitInput.focus();
  });

  // --- rendering -----------------------------------------------------------------------------

  function render() {
    const s = state;
    resultsBox.hidden = false;
    const shown = s.results.length;
    totalText.textContent = "共 " + s.total + " 条" + (shown < s.total ? "（只取了前 " + shown + " 条）" : "");
    descText.textContent = s.desc;
    const query = s.params.toString();
    csvLink.href = "/api/clauses.csv" + (query ? "?" + query : "");
    setStatus(s.total ? "找到 " + s.total + " 条。" : "没有符合条件的条款。试试放宽截止日期，或把职责改为「任意」。",
              s.total ? "done" : "empty");
    renderMonths(s.results);
    renderRows(false);
  }

  function lastDay(month) {
    const parts = month.split("-").map(Number);
    const day = new Date(parts[0], parts[1], 0).getDate();  // day 0 of the next month
    return month + "-" + String(day).padStart(2, "0");
  }

  function monthItem(label, count, max, month) {
    const li = el("li", "month" + (month ? "" : " other"));
    li.setAttribute("data-count", String(count));
    const node = month ? el("button", "month-button") : el("div", "month-button");
    if (month) {
      li.setAttribute("data-month", month);
      node.type = "button";
      node.title = "只看 " + month + " 到期的任务";
    } else {
      li.setAttribute("data-kind", label);
    }
    node.append(el("span", "month-label", label));
    const bar = el("span", "month-bar");
    const fill = el("span", "month-fill");
    fill.style.width = Math.max(2, Math.round(count / max * 100)) + "%";
    bar.append(fill);
    node.append(bar, el("span", "month-count", count));
    li.append(node);
    if (month) {
      node.addEventListener("click", function () {
        fromInput.value = month + "-01";
        toInput.value = lastDay(month);
        recurringBox.checked = false;
        runQuery(formParams());
      });
    }
    return li;
  }

  function renderMonths(results) {
    const months = new Map();
    let recurring = 0, undated = 0;
    results.forEach(function (c) {
      const d = c.fields && c.fields.deadline;
      if (d && d.date) {
        const m = d.date.slice(0, 7);
        months.set(m, (months.get(m) || 0) + 1);
      } else if (d && d.recurring) recurring += 1;
      else undated += 1;
    });
    const keys = Array.from(months.keys()).sort();
    const max = Math.max(1, recurring, undated, ...keys.map(function (k) { return months.get(k); }));
    monthList.textContent = "";
    keys.forEach(function (k) { monthList.append(monthItem(k, months.get(k), max, k)); });
    if (recurring) monthList.append(monthItem("长期/持续", recurring, max, null));
    if (undated) monthList.append(monthItem("未写时限", undated, max, null));
    monthList.closest(".months").hidden = !results.length;
  }

  function unitCell(className, names, spellings) {
    const td = el("td", className);
    if (!names || !names.length) {
      td.append(el("span", "muted", "—"));
      return td;
    }
    names.forEach(function (name, i) {
      if (i) td.append("、");
      td.append(spellings.has(name) ? el("strong", "hit", name) : document.createTextNode(name));
    });
    return td;
  }

  function shortText(text) {
    return text.length > SHORT ? text.slice(0, SHORT) + "…" : text;
  }

  function clauseRow(c, index, full) {
    const f = c.fields || {};
    const detailId = "desk-detail-" + index;
    const expanded = !full && state.expanded.has(c.id);
    const tr = testid(el("tr", "row" + (expanded ? " open" : "")), "desk-row");
    tr.setAttribute("data-id", c.id);

    const doc = el("td", "c-doc");
    doc.append(el("span", "doc-title", c.title));
    const meta = [c.city, c.year].filter(Boolean).join(" · ");
    if (meta) doc.append(el("span", "doc-meta", meta));
    tr.append(doc);

    const no = el("td", "c-no");
    no.append(el("span", "clause-no", c.label || c.number || c.id));
    if (c.number) no.append(el("code", "clause-id", c.id));
    tr.append(no);

    const task = el("td", "c-task");
    if (full) {
      task.append(el("span", "task-text", c.text));
    } else {
      const toggle = el("button", "task-toggle", shortText(c.text || ""));
      toggle.type = "button";
      toggle.setAttribute("aria-expanded", String(expanded));
      toggle.setAttribute("aria-controls", detailId);
      toggle.title = expanded ? "收起" : "展开全文";
      task.append(toggle);
    }
    tr.append(task);

    tr.append(unitCell("c-lead", f.lead_units, state.spellings));
    tr.append(unitCell("c-resp", f.responsible_units, state.spellings));

    const d = f.deadline;
    const due = el("td", "c-due");
    if (d) {
      due.setAttribute("data-date", d.date || "");
      due.append(el("span", "due-text", d.text));
      if (d.date && d.date !== d.text) due.append(el("span", "due-date", "≤ " + d.date));
    } else {
      due.setAttribute("data-date", "");
      due.append(el("span", "muted", "—"));
    }
    tr.append(due);

    if (full) return [tr];

    const detail = testid(el("tr", "detail"), "desk-detail");
    detail.id = detailId;
    detail.hidden = !expanded;
    const cell = el("td");
    cell.colSpan = 6;
    const inner = el("div", "detail-inner");  // stays in view when the table is scrolled sideways
    if (c.path && c.path.length) inner.append(el("p", "detail-path", c.path.join(" › ")));
    inner.append(testid(el("p", "detail-text", c.text), "desk-fulltext"));
    const facts = ["条款编号 " + c.id];
    if (f.leaders && f.leaders.length) facts.push("牵头领导：" + f.leaders.join("、"));
    if (d) facts.push("完成时限：" + d.text + (d.date ? "（" + d.date + " 前）" : ""));
    inner.append(el("p", "detail-meta", facts.join("　")));
    cell.append(inner);
    detail.append(cell);
    return [tr, detail];
  }

  function pageCount() {
    return Math.max(1, Math.ceil(state.results.length / PAGE_SIZE));
  }

  // full: every result with its whole text (for printing); otherwise the current page.
  function renderRows(full) {
    const s = state;
    if (!s) return;
    const start = full ? 0 : s.page * PAGE_SIZE;
    const slice = full ? s.results : s.results.slice(start, start + PAGE_SIZE);
    const frag = document.createDocumentFragment();
    slice.forEach(function (c, i) {
      clauseRow(c, start + i, full).forEach(function (row) { frag.append(row); });
    });
    rowsBody.textContent = "";
    rowsBody.append(frag);
    tableBox.hidden = !s.results.length;

    const pages = pageCount();
    pager.hidden = full || pages <= 1;
    prevButton.disabled = s.page <= 0;
    nextButton.disabled = s.page >= pages - 1;
    const last = Math.min(s.results.length, start + PAGE_SIZE);
    pageInfo.textContent = "第 " + (s.page + 1) + " / " + pages + " 页（" + (start + 1) + "–" + last + " 条）";
  }

  function toggleRow(tr) {
    const id = tr.getAttribute("data-id");
    const open = !state.expanded.has(id);
    if (open) state.expanded.add(id); else state.expanded.delete(id);
    tr.classList.toggle("open", open);
    const toggle = tr.querySelector(".task-toggle");
    if (toggle) {
      toggle.setAttribute("aria-expanded", String(open));
      toggle.title = open ? "收起" : "展开全文";
      const detail = $(toggle.getAttribute("aria-controls"));
      if (detail) detail.hidden = !open;
    }
  }

  rowsBody.addEventListener("click", function (event) {
    const tr = event.target.closest("tr.row");
    if (!tr || !state) return;
    // Selecting text to copy it is not a click on the row.
    const selection = window.getSelection && String(window.getSelection());
    if (selection && !event.target.closest("button")) return;
    toggleRow(tr);
  });

  function goToPage(page) {
    if (!state) return;
    state.page = Math.min(Math.max(0, page), pageCount() - 1);
    renderRows(false);
    tableBox.scrollIntoView({ block: "start" });
  }

  prevButton.addEventListener("click", function () { goToPage(state.page - 1); });
  nextButton.addEventListener("click", function () { goToPage(state.page + 1); });

  // --- printing: every result, whole texts, no controls (see @media print) ----------------------

  window.addEventListener("beforeprint", function () { if (state && currentTab() === "desk") renderRows(true); });
  window.addEventListener("afterprint", function () { if (state) renderRows(false); });
  $("desk-print").addEventListener("click", function () { window.print(); });

  // --- opening the desk from an address (/?tab=desk&unit=…) -----------------------------------

  function open(url) {
    let parsed;
    try { parsed = new URL(url, location.href); } catch (err) { return false; }
    if (parsed.origin !== location.origin) return false;
    const p = parsed.searchParams;
    setForm(p);
    showTab("desk");
    if (hasFilters(p)) runQuery(formParams());
    return true;
  }

  window.PolicyDesk = { open: open, showTab: showTab };

  if (new URLSearchParams(location.search).get("tab") === "desk") open(location.href);
})();
