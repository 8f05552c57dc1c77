// Run `layout` once the formulas are typeset (they change widths) and again after the window
// is resized.
const afterTypesetAndResize = layout => {
  window.addEventListener("load", () => {
    const typeset = window.MathJax?.startup?.promise ?? Promise.resolve();
    typeset.then(layout);
    let timer = null;
    window.addEventListener("resize", () => {
      clearTimeout(timer);
      timer = setTimeout(layout, 150);
    });
  });
};

// An inline formula wider than its line (MathJax 3 does not break lines) scrolls in its own
// box, so that on a phone the prose never scrolls sideways. Display math does so by CSS.
afterTypesetAndResize(() => {
  for (const m of document.querySelectorAll("mjx-container:not([display='true'])")) {
    m.classList.remove("ne-wide-math");
    const line = m.parentElement;
    if (line && m.getBoundingClientRect().width > line.clientWidth) {
      m.classList.add("ne-wide-math");
    }
  }
});

// The book's title at the top of the sidebar is a link home that the theme leaves outside
// every landmark (axe-core's "region" rule): it becomes a navigation landmark of its own.
document.addEventListener("DOMContentLoaded", () => {
  const brand = document.querySelector(".sidebar-primary-item:has(> .navbar-brand)");
  if (brand && !brand.closest("nav, [role='navigation']")) {
    brand.setAttribute("role", "navigation");
    brand.setAttribute("aria-label", "Course home");
  }
});

// Opened from disk (file://), a page may not fetch another, so the search lists its results
// without the excerpt it would fetch from each page (the fetch would fail, with an error).
if (location.protocol === "file:" && typeof DOCUMENTATION_OPTIONS !== "undefined") {
  DOCUMENTATION_OPTIONS.SHOW_SEARCH_SUMMARY = false;
}

// A table, formula, code block or output wider than the page scrolls in its own box (see
// node_edu_book.css); keyboard users must be able to reach such a box to scroll it
// (axe-core's "scrollable-region-focusable" rule), so it becomes a tab stop.
const SCROLLING = [".bd-article table", ".pst-scrollable-table-container", ".bd-article pre",
  ".cell_output", ".bd-article mjx-container[display='true']", ".ne-wide-math"].join(", ");
afterTypesetAndResize(() => {
  for (const box of document.querySelectorAll(SCROLLING)) {
    if (box.scrollWidth > box.clientWidth) {
      box.setAttribute("tabindex", "0");
      box.dataset.neScrolls = "";
    } else if ("neScrolls" in box.dataset) {  // only a tab stop this script added
      box.removeAttribute("tabindex");
      delete box.dataset.neScrolls;
    }
  }
});
