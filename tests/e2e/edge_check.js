// Text that sits flush against the left or right edge of the screen (less than 8 px of padding): returns
// [{text, left, right}] for each visible text node's element. Run with page.evaluate(script).
(() => {
  const minGap = 8;
  const width = document.documentElement.clientWidth;
  const out = [];
  const walker = document.createTreeWalker(document.querySelector("main") || document.body, NodeFilter.SHOW_TEXT);
  const range = document.createRange();
  while (walker.nextNode()) {
    const node = walker.currentNode;
    if (!node.textContent.trim()) { continue; }
    const el = node.parentElement;
    if (!el || el.closest("[hidden], .visually-hidden, .engage-table-wrap, [data-edge-ok]")) { continue; }
    const style = getComputedStyle(el);
    if (style.visibility === "hidden" || style.display === "none") { continue; }
    range.selectNodeContents(node);
    for (const rect of range.getClientRects()) {
      if (rect.width < 1 || rect.height < 1) { continue; }
      if (rect.left < minGap || rect.right > width - minGap) {
        out.push({ text: node.textContent.trim().slice(0, 40), left: Math.round(rect.left),
                   right: Math.round(width - rect.right), tag: el.tagName.toLowerCase() + "." + el.className });
        break;
      }
    }
  }
  return out;
})()
