/*
 * <reply-coach>: the suggest-reply button for helpdesk pages. No framework, no build step.
 *
 *   <script src="https://coach.example/widget/reply-coach.js" defer></script>
 *   <reply-coach api-url="https://coach.example" api-key="..."
 *                customer-selector="#customer-message" draft-selector="#reply"
 *                channel="email" language="en" timeout-ms="30000"></reply-coach>
 *
 * - checks the draft as the agent types (debounced POST /v1/check) and underlines
 *   violations in a preview under the draft; each underline is focusable and shows
 *   the reason and a better wording on hover or focus;
 * - "Suggest reply" streams a guarded suggestion from POST /v1/coach (SSE) and shows
 *   the customer's state and the coaching notes; Insert, Copy, Dismiss;
 * - sends /v1/feedback by itself: Dismiss = rejected; Insert or Copy = accepted, or
 *   edited (with the final text) when the agent changes the inserted text;
 * - errors (network, 401, 429, timeout) are shown in a status line; the draft is
 *   never touched except by Insert.
 */
(() => {
  "use strict";

  const CHECK_DEBOUNCE_MS = 400;
  const FEEDBACK_SETTLE_MS = 1500;
  const TIMEOUT_MS = 30000;

  const STYLE = `
    :host { display: block; font: 14px/1.4 system-ui, sans-serif; color: #1d1d1f; }
    .bar { display: flex; gap: .5em; align-items: center; flex-wrap: wrap; margin: .4em 0; }
    button { font: inherit; padding: .35em .8em; border-radius: 6px; border: 1px solid #8a8a8e; background: #fff; cursor: pointer; }
    button.primary { background: #2457c5; border-color: #2457c5; color: #fff; }
    button:disabled { opacity: .5; cursor: default; }
    button:focus-visible, mark:focus-visible { outline: 2px solid #2457c5; outline-offset: 2px; }
    .verdict { font-size: 12px; color: #555; }
    .verdict.blocked { color: #b00020; font-weight: 600; }
    .preview { white-space: pre-wrap; border: 1px dashed #c7c7cc; border-radius: 6px; padding: .5em; margin: .3em 0; min-height: 1.4em; }
    .preview:empty { display: none; }
    mark { background: none; text-decoration: underline wavy #b00020; text-underline-offset: 3px; position: relative; cursor: help; }
    mark.warn { text-decoration-color: #c77700; }
    mark.model { text-decoration-color: #c77700; text-decoration-style: dotted; }
    .tip { display: none; position: absolute; left: 0; top: 1.6em; z-index: 10; width: 22em; background: #1d1d1f; color: #fff;
           padding: .5em .6em; border-radius: 6px; font-size: 12px; white-space: normal; text-decoration: none; }
    mark:hover .tip, mark:focus .tip { display: block; }
    .panel { border: 1px solid #c7c7cc; border-radius: 8px; padding: .6em .8em; margin-top: .4em; }
    .panel[hidden] { display: none; }
    .suggestion { white-space: pre-wrap; margin: .3em 0 .6em; }
    .state { font-size: 12px; color: #444; }
    .notes { font-size: 12px; color: #444; margin: .3em 0 0 1.1em; padding: 0; }
    .status { font-size: 12px; min-height: 1.2em; }
    .status.error { color: #b00020; }
  `;

  const escapeHtml = (s) =>
    s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);

  class ReplyCoach extends HTMLElement {
    static get observedAttributes() {
      return ["api-url", "api-key", "customer-selector", "draft-selector", "channel", "language", "timeout-ms"];
    }

    constructor() {
      super();
      this.root = this.attachShadow({ mode: "open" });
      this.root.innerHTML = `
        <style>${STYLE}</style>
        <div class="bar">
          <button class="primary" part="suggest" data-action="suggest" aria-label="Suggest a reply">Suggest reply</button>
          <span class="verdict" aria-live="polite"></span>
        </div>
        <div class="preview" role="group" aria-label="Draft check: problems are underlined"></div>
        <div class="status" role="alert"></div>
        <section class="panel" hidden aria-label="Suggested reply">
          <div class="state"></div>
          <div class="suggestion" aria-live="polite"></div>
          <div class="bar">
            <button data-action="insert" aria-label="Insert the suggestion into the reply">Insert</button>
            <button data-action="copy" aria-label="Copy the suggestion">Copy</button>
            <button data-action="dismiss" aria-label="Dismiss the suggestion">Dismiss</button>
          </div>
          <ul class="notes" aria-label="Coaching notes"></ul>
        </section>`;
      this.$ = (sel) => this.root.querySelector(sel);
      this.checkTimer = null;
      this.checkSeq = 0;
      this.suggestion = null; // {request_id, text}
      this.inserted = null; // {request_id, text} after Insert/Copy, until feedback is sent
      this.feedbackTimer = null;
      this.onInput = this.onInput.bind(this);
      this.root.addEventListener("click", (e) => {
        const action = e.target.closest("button")?.dataset.action;
        if (action) this[action]();
      });
    }

    connectedCallback() {
      this.bind();
    }

    disconnectedCallback() {
      this.draft?.removeEventListener("input", this.onInput);
      this.flushFeedback();
    }

    attributeChangedCallback() {
      if (this.isConnected) this.bind();
    }

    get apiUrl() {
      return (this.getAttribute("api-url") || "").replace(/\/$/, "");
    }

    bind() {
      this.draft?.removeEventListener("input", this.onInput);
      this.draft = document.querySelector(this.getAttribute("draft-selector") || "textarea");
      this.customer = document.querySelector(this.getAttribute("customer-selector") || "[data-customer-message]");
      if (!this.draft) {
        this.showStatus("reply-coach: no draft field found for " + this.getAttribute("draft-selector"), true);
        return;
      }
      this.draft.addEventListener("input", this.onInput);
      if (this.draft.value.trim()) this.scheduleCheck();
    }

    headers(extra = {}) {
      const h = { "Content-Type": "application/json", ...extra };
      const key = this.getAttribute("api-key");
      if (key) h.Authorization = "Bearer " + key;
      return h;
    }

    async call(path, body, accept) {
      const controller = new AbortController();
      const limit = Number(this.getAttribute("timeout-ms")) || TIMEOUT_MS;
      const timer = setTimeout(() => controller.abort(), limit);
      let response;
      try {
        response = await fetch(this.apiUrl + path, {
          method: "POST",
          headers: this.headers(accept ? { Accept: accept } : {}),
          body: JSON.stringify(body),
          signal: controller.signal,
        });
      } catch (err) {
        clearTimeout(timer);
        throw new Error(err.name === "AbortError" ? "The coach did not answer in time." : "The coach cannot be reached (network).");
      }
      if (!response.ok) {
        clearTimeout(timer);
        let message = "";
        try { message = (await response.json()).error?.message || ""; } catch (_) { /* not JSON */ }
        const known = {
          401: "The coach refused the API key (401).",
          413: "The text is too long for the coach (413).",
          429: "Too many requests: try again in " + (response.headers.get("Retry-After") || "a few") + " s (429).",
          503: "No model answered; try again shortly (503).",
        };
        throw new Error(known[response.status] || `The coach answered ${response.status}${message ? ": " + message : ""}.`);
      }
      return { response, done: () => clearTimeout(timer) };
    }

    showStatus(text, isError = false) {
      const status = this.$(".status");
      status.textContent = text;
      status.classList.toggle("error", isError);
    }

    // --- checking the draft as the agent types ---------------------------
    onInput() {
      this.scheduleCheck();
      if (this.inserted) this.scheduleFeedback();
    }

    scheduleCheck() {
      clearTimeout(this.checkTimer);
      this.checkTimer = setTimeout(() => this.check(), CHECK_DEBOUNCE_MS);
    }

    async check() {
      const text = this.draft.value;
      const seq = ++this.checkSeq;
      if (!text.trim()) {
        this.renderCheck(text, null);
        return;
      }
      try {
        const body = { text };
        const language = this.getAttribute("language");
        if (language) body.language = language;
        // The conversation's language settles short drafts ("Calmez-vous !").
        const customerText = (this.customer?.value ?? this.customer?.textContent ?? "").trim();
        if (customerText) body.customer_message = customerText.slice(0, 8000);
        const { response, done } = await this.call("/v1/check", body);
        const result = await response.json();
        done();
        if (seq === this.checkSeq && this.draft.value === text) {
          this.renderCheck(text, result);
          this.showStatus("");
        }
      } catch (err) {
        this.showStatus(err.message, true);
      }
    }

    renderCheck(text, result) {
      const preview = this.$(".preview");
      const verdict = this.$(".verdict");
      if (!result || !result.violations.length) {
        preview.textContent = "";
        verdict.textContent = result ? "No problems found." : "";
        verdict.classList.remove("blocked");
        this.dataset.passed = result ? "true" : "";
        return;
      }
      const parts = [];
      let at = 0;
      // A rule's span is more precise than the learned layer's sentence: where both
      // overlap the rule is shown; model findings are amber (dotted) whatever their severity.
      const ruled = result.violations.filter((v) => v.source !== "model");
      const learned = result.violations.filter(
        (v) => v.source === "model" && !ruled.some((r) => r.start < v.end && v.start < r.end)
      );
      const spans = [...ruled, ...learned].sort((a, b) => a.start - b.start);
      spans.forEach((v, i) => {
        if (v.start < at) return; // overlapping spans: the first one is shown
        parts.push(escapeHtml(text.slice(at, v.start)));
        const tipId = `rc-tip-${i}`;
        const better = v.suggestion ? `<br><b>Try:</b> ${escapeHtml(v.suggestion)}` : "";
        parts.push(
          `<mark tabindex="0" class="${v.severity}${v.source === "model" ? " model" : ""}" data-source="${escapeHtml(v.source || "rule")}" data-rule="${escapeHtml(v.rule)}" data-category="${escapeHtml(v.category)}"` +
            ` aria-describedby="${tipId}">${escapeHtml(text.slice(v.start, v.end))}` +
            `<span class="tip" role="tooltip" id="${tipId}">${escapeHtml(v.message)}${better}</span></mark>`
        );
        at = v.end;
      });
      parts.push(escapeHtml(text.slice(at)));
      preview.innerHTML = parts.join("");
      const blocks = result.violations.filter((v) => v.severity === "block").length;
      verdict.textContent = blocks
        ? `${blocks} problem(s) to fix before sending`
        : `${result.violations.length} thing(s) to consider`;
      verdict.classList.toggle("blocked", blocks > 0);
      this.dataset.passed = String(result.passed);
    }

    // --- suggesting a reply -------------------------------------------------
    async suggest() {
      const customerText = (this.customer?.value ?? this.customer?.textContent ?? "").trim();
      if (!customerText) {
        this.showStatus("There is no customer message to answer.", true);
        return;
      }
      this.flushFeedback();
      const button = this.$('[data-action="suggest"]');
      button.disabled = true;
      const panel = this.$(".panel");
      const out = this.$(".suggestion");
      out.textContent = "";
      this.$(".notes").innerHTML = "";
      this.$(".state").textContent = "";
      panel.hidden = false;
      this.suggestion = null;
      this.showStatus("Writing a suggestion…");
      const body = {
        customer_message: customerText,
        draft: this.draft.value || null,
        channel: this.getAttribute("channel") || "chat",
      };
      const language = this.getAttribute("language");
      if (language) body.language = language;
      try {
        const { response, done } = await this.call("/v1/coach", body, "text/event-stream");
        const reader = response.body.getReader();
        const decoder = new TextDecoder();
        let buffer = "";
        for (;;) {
          const { value, done: finished } = await reader.read();
          if (finished) break;
          buffer += decoder.decode(value, { stream: true });
          let cut;
          while ((cut = buffer.indexOf("\n\n")) >= 0) {
            this.onEvent(buffer.slice(0, cut));
            buffer = buffer.slice(cut + 2);
          }
        }
        done();
        if (!this.suggestion) throw new Error("The coach's answer ended early.");
        this.showStatus("");
      } catch (err) {
        // A timeout while the stream is being read aborts the reader too.
        const message = err.name === "AbortError" ? "The coach did not answer in time." : err.message;
        this.showStatus(message, true);
        if (!this.suggestion) panel.hidden = true;
      } finally {
        button.disabled = false;
      }
    }

    onEvent(block) {
      let name = "message";
      const data = [];
      for (const line of block.split("\n")) {
        if (line.startsWith("event:")) name = line.slice(6).trim();
        else if (line.startsWith("data:")) data.push(line.slice(5).trim());
      }
      if (!data.length) return;
      const payload = JSON.parse(data.join("\n"));
      const out = this.$(".suggestion");
      if (name === "delta") out.textContent += payload.text;
      else if (name === "reset") out.textContent = "";
      else if (name === "error") throw new Error(payload.error?.message || "The coach failed.");
      else if (name === "result") this.showResult(payload);
    }

    showResult(result) {
      this.suggestion = { request_id: result.request_id, text: result.suggestion };
      this.$(".suggestion").textContent = result.suggestion;
      const s = result.customer_state;
      const triggers = s.triggers.length ? s.triggers.join(", ").replaceAll("_", " ") : "none";
      this.$(".state").textContent =
        `Customer: ${s.emotion}, escalation risk ${Math.round(s.escalation_risk * 100)}%, triggers: ${triggers}` +
        (s.abusive ? ", abusive" : "") + (result.degraded ? " · fallback suggestion" : "");
      this.$(".notes").innerHTML = result.coaching.slice(0, 5).map((n) => `<li>${escapeHtml(n)}</li>`).join("");
      this.dispatchEvent(new CustomEvent("reply-coach:suggestion", { detail: result, bubbles: true }));
    }

    // --- Insert / Copy / Dismiss, and the feedback they imply ----------------
    insert() {
      if (!this.suggestion) return;
      this.draft.value = this.suggestion.text;
      this.draft.dispatchEvent(new Event("input", { bubbles: true }));
      this.inserted = { ...this.suggestion };
      this.$(".panel").hidden = true;
      this.scheduleFeedback();
      this.draft.focus();
    }

    async copy() {
      if (!this.suggestion) return;
      try {
        await navigator.clipboard.writeText(this.suggestion.text);
        this.showStatus("Copied.");
      } catch (_) {
        this.showStatus("Copy is not allowed here; select the text instead.", true);
        return;
      }
      this.sendFeedback(this.suggestion.request_id, "accepted", null);
    }

    dismiss() {
      if (this.suggestion) this.sendFeedback(this.suggestion.request_id, "rejected", null);
      this.suggestion = null;
      this.$(".panel").hidden = true;
    }

    scheduleFeedback() {
      clearTimeout(this.feedbackTimer);
      this.feedbackTimer = setTimeout(() => this.flushFeedback(), FEEDBACK_SETTLE_MS);
    }

    flushFeedback() {
      clearTimeout(this.feedbackTimer);
      if (!this.inserted) return;
      const { request_id, text } = this.inserted;
      this.inserted = null;
      const final = this.draft.value;
      if (final === text) this.sendFeedback(request_id, "accepted", null);
      else this.sendFeedback(request_id, "edited", final);
    }

    async sendFeedback(requestId, action, finalText) {
      try {
        const body = { request_id: requestId, action };
        if (finalText !== null) body.final_text = finalText;
        const { done } = await this.call("/v1/feedback", body);
        done();
        this.dispatchEvent(new CustomEvent("reply-coach:feedback", { detail: body, bubbles: true }));
      } catch (err) {
        this.showStatus("Feedback not saved: " + err.message, true);
      }
    }
  }

  if (!customElements.get("reply-coach")) customElements.define("reply-coach", ReplyCoach);
})();
