// Enhances the server-rendered pages. Everything here also works without JavaScript:
// dialogs then render as part of the page and buttons lead to plain pages.
(() => {
  "use strict";

  const showModal = (dialog) => {
    // A dialog rendered open (for pages without JavaScript) becomes modal. Dropping the
    // attribute, unlike close(), fires no close event.
    if (dialog.open) dialog.removeAttribute("open");
    dialog.showModal();
    const target = dialog.querySelector("[autofocus], input:not([type=hidden]), textarea, button");
    if (target) target.focus();
  };

  // Dialogs the server rendered open become modal: focus stays inside, Escape closes.
  document.querySelectorAll("dialog[data-show-modal]").forEach(showModal);

  // A control whose plain form leads to a page opens the same content as a dialog instead.
  document.querySelectorAll("form[data-opens-dialog]").forEach((form) => {
    form.addEventListener("submit", (event) => {
      const dialog = document.getElementById(form.dataset.opensDialog);
      if (!dialog) return;
      event.preventDefault();
      showModal(dialog);
    });
  });

  // Cancel and Done links close their dialog; without JavaScript they lead to the list. They
  // ask to close as Escape does (a cancel event), so a dialog may ask first.
  document.addEventListener("click", (event) => {
    const closer = event.target.closest("[data-close-dialog]");
    const dialog = closer && closer.closest("dialog");
    if (dialog && dialog.matches(":modal")) {
      event.preventDefault();
      if (dialog.dispatchEvent(new Event("cancel", { cancelable: true }))) dialog.close();
    }
  });

  // The reveal came from the POST that generated the token. Point this history entry at the
  // list so that reload and Back fetch the list, and drop the value once closed.
  const reveal = document.querySelector("dialog[data-reveal]");
  if (reveal) {
    history.replaceState(null, "", reveal.dataset.listUrl);
    const question = reveal.querySelector("[data-discard-confirm]");
    const actions = reveal.querySelector("[data-reveal-actions]");
    // Copied with the Copy button, or by hand (Ctrl+C, a context menu) once it selected it.
    let copied = false;
    reveal.addEventListener("token-copied", () => { copied = true; });
    reveal.addEventListener("copy", () => { copied = true; });

    const ask = () => {
      question.hidden = false;
      actions.hidden = true;
      question.querySelector("[data-keep-token]").focus();
    };
    const keep = () => {
      question.hidden = true;
      actions.hidden = false;
      reveal.querySelector("#token-value").focus();
    };
    // Escape, Done: an uncopied value is gone for good once closed, so ask first; Escape
    // again goes back to the value. Escape is taken at keydown: browsers may refuse to let a
    // page cancel a close request that no click preceded.
    reveal.addEventListener("keydown", (event) => {
      if (event.key !== "Escape" || copied) return;
      event.preventDefault();
      if (question.hidden) ask(); else keep();
    });
    reveal.addEventListener("cancel", (event) => {
      if (copied) return;
      event.preventDefault();
      ask();
    });
    question.querySelector("[data-keep-token]").addEventListener("click", keep);
    question.querySelector("[data-discard-token]").addEventListener("click", () => reveal.close());

    const forget = () => {
      reveal.querySelectorAll("input, textarea").forEach((field) => { field.value = ""; });
      reveal.remove();
    };
    reveal.addEventListener("close", () => {
      forget();
      // Back where the token is: its row's name (the list), else the page's content.
      const row = document.querySelector(`a[data-token-id="${reveal.dataset.tokenId}"]`);
      (row || document.getElementById("main")).focus();
    });
    window.addEventListener("pagehide", forget);
  }

  // Destructive actions ask for confirmation in a dialog; without JavaScript, on a page.
  document.querySelectorAll("form[data-confirm]").forEach((form) => {
    form.addEventListener("submit", (event) => {
      const dialog = document.getElementById(form.dataset.confirm);
      if (!dialog) return;
      event.preventDefault();
      dialog.querySelector("form").action = form.action;
      const name = dialog.querySelector("[data-token-name]");
      if (name) name.textContent = form.dataset.tokenName || "";
      // What this action does to this token in particular, e.g. the new expiry on rotation.
      const detail = dialog.querySelector("[data-detail]");
      if (detail) {
        detail.textContent = form.dataset.detail || "";
        detail.hidden = !form.dataset.detail;
      }
      showModal(dialog);
      // The safe choice has the focus, so a stray Enter does nothing harmful.
      dialog.querySelector("[data-close-dialog]").focus();
    });
  });

  // The expiry date only matters for "On a date…".
  document.querySelectorAll("[data-expiry]").forEach((row) => {
    const choice = row.querySelector("select");
    const date = row.querySelector("input[type=date]");
    if (!choice || !date) return;
    const field = date.closest(".field");
    const sync = () => { field.hidden = choice.value !== "custom"; };
    choice.addEventListener("change", () => { sync(); if (!field.hidden) date.focus(); });
    sync();
  });

  // A SIEM agent's port follows its TLS box while it holds the other conventional port (or
  // none): 6514 for syslog over TLS, 514 without. A port someone typed is left alone.
  document.querySelectorAll("input[data-tls-port]").forEach((port) => {
    const tls = port.form && port.form.elements.namedItem("tls");
    if (!tls) return;
    tls.addEventListener("change", () => {
      const { tlsPort, plainPort } = port.dataset;
      const [from, to] = tls.checked ? [plainPort, tlsPort] : [tlsPort, plainPort];
      if (port.value === from || port.value === "") port.value = to;
    });
  });

  // Copy buttons: the Clipboard API, else select the text so the user can copy it. They are
  // rendered hidden, as without JavaScript they could do nothing.
  document.querySelectorAll("[data-copy-target]").forEach((button) => {
    button.hidden = false;
    const label = button.textContent;
    button.addEventListener("click", async () => {
      const input = document.getElementById(button.dataset.copyTarget);
      const status = button.parentElement.parentElement.querySelector(".copy-status");
      try {
        await navigator.clipboard.writeText(input.value);
        button.dispatchEvent(new Event("token-copied", { bubbles: true }));
        button.textContent = "Copied";
        if (status) status.textContent = "Copied to the clipboard.";
        setTimeout(() => { button.textContent = label; }, 2500);
      } catch {
        input.focus();
        input.select();
        if (status) status.textContent = "Selected: press Ctrl+C (⌘C on a Mac) to copy.";
      }
    });
  });

  // Usage charts: each day's bar is named by its date and figures. Here a chart becomes one
  // Tab stop (the latest day first) whose arrow keys, Home and End move from day to day, and
  // the day focused, pointed at or tapped shows its figures beside its bar. Without
  // JavaScript every bar is a Tab stop with its figures on hover, and the table has them all.
  document.querySelectorAll("[data-chart]").forEach((chart) => {
    const frame = chart.querySelector(".chart-frame");
    const tip = chart.querySelector("[data-chart-tip]");
    const days = [...chart.querySelectorAll(".chart-day")];
    if (!frame || !tip || !days.length) return;
    days.forEach((day) => {
      // The name moves from <title> to aria-label: the tip replaces the browser's tooltip.
      const title = day.querySelector("title");
      day.setAttribute("aria-label", title.textContent);
      title.remove();
      day.tabIndex = -1;
    });
    let current = days[days.length - 1];
    current.tabIndex = 0;

    const show = (day) => {
      days.forEach((each) => each.classList.toggle("is-selected", each === day));
      tip.textContent = day.getAttribute("aria-label");
      tip.hidden = false;
      const box = frame.getBoundingClientRect();
      const bar = day.getBoundingClientRect();
      // Beside the bar, on the side with more room, so that it never hides the bar itself.
      const onLeft = bar.left + bar.width / 2 - box.left > box.width / 2;
      tip.style.left = onLeft ? "auto" : `${bar.right - box.left}px`;
      tip.style.right = onLeft ? `${box.right - bar.left}px` : "auto";
    };
    const hide = () => {
      tip.hidden = true;
      days.forEach((each) => each.classList.remove("is-selected"));
    };
    const focused = () => days.find((day) => day === document.activeElement);

    days.forEach((day) => {
      day.addEventListener("focus", () => {
        current.tabIndex = -1;
        current = day;
        day.tabIndex = 0;
        show(day);
      });
      day.addEventListener("pointerenter", () => show(day));
      day.addEventListener("click", () => day.focus()); // a tap keeps the day shown
      day.addEventListener("blur", () => { if (!focused()) hide(); });
    });
    frame.addEventListener("pointerleave", () => {
      const day = focused();
      if (day) show(day);
      else hide();
    });
    frame.addEventListener("keydown", (event) => {
      const index = days.indexOf(current);
      const next = {
        ArrowLeft: index - 1, ArrowRight: index + 1, Home: 0, End: days.length - 1,
      }[event.key];
      if (event.key === "Escape") hide();
      if (next === undefined || !days[next]) return;
      event.preventDefault();
      days[next].focus();
    });
  });

  // Menus: one open at a time; a click elsewhere or Escape closes them.
  const menus = [...document.querySelectorAll("details[data-menu]")];
  menus.forEach((menu) => menu.addEventListener("toggle", () => {
    if (menu.open) menus.forEach((other) => { if (other !== menu) other.open = false; });
  }));
  document.addEventListener("click", (event) => {
    menus.forEach((menu) => { if (menu.open && !menu.contains(event.target)) menu.open = false; });
  });
  document.addEventListener("keydown", (event) => {
    if (event.key !== "Escape") return;
    menus.forEach((menu) => {
      if (menu.open) {
        menu.open = false;
        menu.querySelector("summary").focus();
      }
    });
  });
})();
