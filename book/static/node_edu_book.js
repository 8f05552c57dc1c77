// An inline formula wider than its line (MathJax 3 does not break lines) scrolls in its own
// box, so that on a phone the prose never scrolls sideways. Display math does so by CSS.
(() => {
  const fit = () => {
    for (const m of document.querySelectorAll("mjx-container:not([display='true'])")) {
      m.classList.remove("ne-wide-math");
      const line = m.parentElement;
      if (line && m.getBoundingClientRect().width > line.clientWidth) {
        m.classList.add("ne-wide-math");
      }
    }
  };
  window.addEventListener("load", () => {
    const typeset = window.MathJax?.startup?.promise ?? Promise.resolve();
    typeset.then(fit);
    let timer = null;
    window.addEventListener("resize", () => {
      clearTimeout(timer);
      timer = setTimeout(fit, 150);
    });
  });
})();

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
