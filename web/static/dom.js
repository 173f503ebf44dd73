// Small DOM helpers shared by the chat (app.js) and the operator desk (desk.js).
// Text always goes in with textContent, never innerHTML.
window.PolicyDom = (function () {
  "use strict";

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function testid(node, id) {
    node.setAttribute("data-testid", id);
    return node;
  }

  return { el: el, testid: testid };
})();
