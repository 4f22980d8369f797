// Right to left: keeping left-to-right runs in order inside right-to-left text.

// A run of digits with spaces or dashes (a phone number) inside right-to-left words would be
// drawn in reverse order ("247 2000 0808"): each such run is isolated, left to right.
const NUMBER_RUN = /\+?\d[\d\s().-]*\d/g;
export function withNumbersIsolated(node, text) {
  let last = 0;
  for (const match of text.matchAll(NUMBER_RUN)) {
    if (!/[\s().-]/.test(match[0])) continue;
    node.append(text.slice(last, match.index));
    const run = document.createElement("bdi");
    run.dir = "ltr";
    run.textContent = match[0];
    node.append(run);
    last = match.index + match[0].length;
  }
  node.append(text.slice(last));
  return node;
}
