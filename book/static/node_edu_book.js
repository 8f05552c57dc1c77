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
