// "Print this page" buttons, on the printable case summary: <div data-module="app-print"
// hidden><button ...></div>.
//
// The button is hidden in the HTML and shown here, so without JavaScript the page only says
// to use the browser's print command. A file, not an inline script: the Content Security
// Policy allows no inline scripts.
for (const container of document.querySelectorAll('[data-module="app-print"]')) {
  const button = container.querySelector('button')
  if (button) {
    container.hidden = false
    button.addEventListener('click', () => window.print())
  }
}
