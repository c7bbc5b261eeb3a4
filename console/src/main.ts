/** The console's entry: renders the shell into the page's #app (replacing its loading notice). */
import { render } from 'preact';
import { App } from './app';
import { html } from './html';

const root = document.getElementById('app');
if (root !== null) {
  root.textContent = '';
  render(html`<${App} />`, root);
}
