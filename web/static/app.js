// 政策问答 chat page. Plain JS, no build step.
// Everything that comes from a user or a document is put on the page with textContent /
// createElement, never innerHTML, so markup in a question or a clause is shown as text.
(function () {
  "use strict";

  const form = document.getElementById("ask-form");
  const input = document.getElementById("question");
  const citySelect = document.getElementById("city");
  const sendButton = document.getElementById("send");
  const conversation = document.getElementById("conversation");
  const resetButton = document.getElementById("reset");

  const MAX_HISTORY = 20;      // AskRequest.history max_length
  const MAX_ANSWER = 5000;     // Turn.answer max_length
  const LOW_CONFIDENCE = 0.5;  // below this the answer gets a 「请核对原文」 caution
  const history = [];          // {question, answer} of the answered turns on the page, oldest first
  let busy = false;

  // --- small DOM helpers ---------------------------------------------------------------------

  const el = window.PolicyDom.el;          // web/static/dom.js
  const testid = window.PolicyDom.testid;

  const finePointer = window.matchMedia && window.matchMedia("(pointer: fine)").matches;

  // --- how a clause is cited: the server's label (附件第70项, （十七）), else its id -------------

  function clauseLabel(c) {
    return c.label || c.id;
  }

  // --- the clause text with the answering words in <mark> ------------------------------------

  function mergedRanges(ranges, length) {
    const clean = (ranges || [])
      .map(function (r) { return [Math.max(0, r[0] | 0), Math.min(length, r[1] | 0)]; })
      .filter(function (r) { return r[1] > r[0]; })
      .sort(function (a, b) { return a[0] - b[0] || a[1] - b[1]; });
    const out = [];
    clean.forEach(function (r) {
      const last = out[out.length - 1];
      if (last && r[0] <= last[1]) last[1] = Math.max(last[1], r[1]);
      else out.push(r.slice());
    });
    return out;
  }

  function highlighted(text, ranges) {
    // Ranges are [start, end) offsets into text; the texts are BMP Chinese, so JS string
    // indices (UTF-16 code units) are the same as the server's character offsets.
    const frag = document.createDocumentFragment();
    let pos = 0;
    mergedRanges(ranges, text.length).forEach(function (r) {
      if (r[0] > pos) frag.append(text.slice(pos, r[0]));
      frag.append(el("mark", null, text.slice(r[0], r[1])));
      pos = r[1];
    });
    if (pos < text.length) frag.append(text.slice(pos));
    return frag;
  }

  // --- rendering a turn ----------------------------------------------------------------------

  function questionBlock(question, city) {
    const block = el("div", "ask");
    block.append(el("span", "badge-q", "问"));
    const text = el("p", "ask-text", question);
    testid(text, "asked");
    block.append(text);
    if (city) block.append(el("span", "tag", "限" + city));
    return block;
  }

  function answerText(answer) {
    // 「有2份文件涉及这个问题：①…②…」 reads better with each document's answer on its own line.
    const node = testid(el("div", "answer"), "answer");
    answer.split(/(?=[①②③④⑤])/).forEach(function (part) {
      node.append(el("p", null, part));
    });
    return node;
  }

  function fieldsTable(f) {
    f = f || {};
    const rows = [
      ["牵头单位", (f.lead_units || []).join("、")],
      ["责任单位", (f.responsible_units || []).join("、")],
      ["完成时限", f.deadline ? f.deadline.text : ""],
    ].filter(function (row) { return row[1]; });
    if (!rows.length) return null;
    const table = el("table", "fields");
    const body = el("tbody");
    rows.forEach(function (row) {
      const tr = el("tr");
      tr.append(el("th", null, row[0]), el("td", null, row[1]));
      body.append(tr);
    });
    table.append(body);
    return table;
  }

  function citationCard(c, index) {
    const card = testid(el("article", "citation"), "citation");

    const head = el("header", "cite-head");
    head.append(el("span", "cite-no", String(index + 1)));
    head.append(el("h3", "cite-title", "《" + c.title + "》"));
    const score = el("span", "score" + (c.score >= 0.5 ? " high" : ""),
                     "匹配 " + Math.round(c.score * 100) + "%");
    score.title = "这一条回答该问题的估计概率";
    head.append(score);
    card.append(head);

    const meta = el("div", "cite-meta");
    if (c.city) meta.append(testid(el("span", "tag city", c.city + (c.year ? " · " + c.year : "")), "cite-city"));
    meta.append(el("span", "cite-label", clauseLabel(c)));
    const id = el("code", "cite-id", c.id);
    id.title = "条款编号";
    meta.append(id);
    if (c.path && c.path.length) meta.append(el("span", "cite-path", c.path.join(" › ")));
    card.append(meta);

    const text = el("p", "cite-text");
    text.append(highlighted(c.text || "", c.highlights));
    card.append(text);
    const table = fieldsTable(c.fields);
    if (table) card.append(table);
    return card;
  }

  function copyTextOf(data) {
    const lines = ["答复：" + data.answer];
    if (!data.refused) {
      data.citations.filter(function (c) { return c.answering; }).forEach(function (c) {
        lines.push("来源：《" + c.title + "》" + clauseLabel(c) + (c.city ? "（" + c.city + "）" : ""));
      });
    }
    return lines.join("\n");
  }

  function copyButton(text) {
    const button = testid(el("button", "copy", "复制答复"), "copy");
    button.type = "button";
    button.addEventListener("click", function () {
      writeClipboard(text).then(function (ok) {
        button.textContent = ok ? "已复制" : "复制失败";
        button.classList.toggle("done", ok);
        setTimeout(function () {
          button.textContent = "复制答复";
          button.classList.remove("done");
        }, 1600);
      });
    });
    return button;
  }

  function replyBlock(data) {
    const reply = el("div", data.refused ? "reply refused" : "reply");
    const top = el("div", "reply-top");
    top.append(el("span", "badge-a", data.refused ? "未找到依据" : "答"));
    if (data.resolved_question && data.resolved_question !== data.question) {
      top.append(el("span", "resolved", "结合上文，按「" + data.resolved_question + "」查找"));
    }
    reply.append(top);
    reply.append(answerText(data.answer));
    if (!data.refused && data.confidence < LOW_CONFIDENCE) {
      reply.append(testid(el("p", "caution", "把握不大：请先核对下面的原文条款再答复。"), "caution"));
    }
    if (data.note) reply.append(el("p", "note", data.note));
    const listing = listingLink(data.listing);
    if (listing) reply.append(listing);

    const actions = el("div", "actions");
    actions.append(copyButton(copyTextOf(data)));
    reply.append(actions);

    if (!data.refused && data.citations.length) {
      const list = el("section", "citations");
      list.append(el("h2", "citations-title", "依据条款（" + data.citations.length + "）"));
      data.citations.forEach(function (c, i) { list.append(citationCard(c, i)); });
      reply.append(list);
    }
    return reply;
  }

  // A list answer (「市市场监管局负责哪些任务」) links to the whole list on the 按单位/时限查 tab.
  function listingLink(listing) {
    if (!listing || typeof listing.url !== "string" || !/^\/\?tab=desk(&|$)/.test(listing.url)) return null;
    const p = el("p", "listing");
    const link = testid(el("a", "listing-link", "在「按单位/时限查」里看全部 " + listing.total + " 项"), "listing-link");
    link.href = listing.url;
    link.addEventListener("click", function (event) {
      // Open the tab in place, so the conversation stays on the page.
      if (window.PolicyDesk && !event.ctrlKey && !event.metaKey && !event.shiftKey && window.PolicyDesk.open(listing.url)) {
        event.preventDefault();
        window.scrollTo(0, 0);
      }
    });
    p.append(link);
    return p;
  }

  function errorText(status, data) {
    const detail = data && data.detail;
    let message = "";
    if (typeof detail === "string") message = detail;
    else if (Array.isArray(detail)) message = detail.map(function (d) { return (d && d.msg) || JSON.stringify(d); }).join("；");
    else if (detail && typeof detail === "object") message = detail.problem || detail.message || JSON.stringify(detail);
    return "出错了（" + status + "）：" + (message || "服务器没有说明原因");
  }

  // --- asking --------------------------------------------------------------------------------

  function setBusy(value) {
    busy = value;
    sendButton.disabled = value;
    form.setAttribute("aria-busy", String(value));
  }

  async function ask(raw) {
    const question = (raw || "").trim();
    if (!question || busy) return;
    const city = citySelect.value;
    setBusy(true);

    const turn = testid(el("section", "turn"), "turn");
    turn.append(questionBlock(question, city));
    const waiting = testid(el("p", "waiting", "正在查找…"), "waiting");
    turn.append(waiting);
    conversation.append(turn);
    resetButton.hidden = false;
    input.value = "";
    turn.scrollIntoView({ block: "nearest" });

    const body = { question: question, history: history.slice(-MAX_HISTORY) };
    if (city) body.city = city;
    try {
      let response, data = null;
      try {
        response = await fetch("/api/ask", {
          method: "POST",
          headers: { "Content-Type": "application/json", "Accept": "application/json" },
          body: JSON.stringify(body),
        });
      } catch (err) {
        throw new Error("网络连接失败，请稍后再试。");
      }
      try { data = await response.json(); } catch (err) { data = null; }
      if (!response.ok || !data) throw new Error(errorText(response.status, data));
      waiting.replaceWith(replyBlock(data));
      history.push({ question: question, answer: data.answer.slice(0, MAX_ANSWER) });
    } catch (err) {
      waiting.replaceWith(testid(el("p", "error", err.message), "error"));
      if (!input.value) input.value = question;  // let them try again
    } finally {
      setBusy(false);
      turn.scrollIntoView({ block: "start" });
      if (finePointer) input.focus({ preventScroll: true });
    }
  }

  function clearConversation() {
    history.length = 0;
    conversation.textContent = "";
    resetButton.hidden = true;
    input.focus({ preventScroll: true });
  }

  // --- wiring --------------------------------------------------------------------------------

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    ask(input.value);
  });

  input.addEventListener("keydown", function (event) {
    if (event.key !== "Enter") return;
    if (event.isComposing) return;           // Enter that picks an IME candidate: not a send
    event.preventDefault();
    if (event.keyCode === 229) return;       // Safari: the Enter that just ended composition
    ask(input.value);
  });

  // 「/」 anywhere focuses the question box, unless the user is typing somewhere.
  document.addEventListener("keydown", function (event) {
    if (event.key !== "/" || event.ctrlKey || event.metaKey || event.altKey) return;
    const target = event.target;
    if (target instanceof Element && (target.closest("input, textarea, select") || target.isContentEditable)) return;
    if (input.closest("[hidden]")) return;  // the chat tab is not shown (desk.js handles 「/」 there)
    event.preventDefault();
    input.focus({ preventScroll: true });
  });

  document.querySelectorAll("[data-question]").forEach(function (chip) {
    chip.addEventListener("click", function () {
      if (busy) return;
      input.value = chip.getAttribute("data-question");
      ask(input.value);
    });
  });

  resetButton.addEventListener("click", clearConversation);

  if (finePointer) input.focus({ preventScroll: true });

  // Copy with the async clipboard API, or a hidden textarea where it is missing or refused
  // (plain http on a LAN address is not a secure context).
  function writeClipboard(text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text).then(
        function () { return true; },
        function () { return copyWithTextarea(text); });
    }
    return Promise.resolve(copyWithTextarea(text));
  }

  function copyWithTextarea(text) {
    const area = el("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.style.position = "fixed";
    area.style.top = "0";
    area.style.opacity = "0";
    document.body.append(area);
    area.select();
    let ok = false;
    try { ok = document.execCommand("copy"); } catch (err) { ok = false; }
    area.remove();
    return ok;
  }
})();
